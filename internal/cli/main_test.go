package cli_test

import (
	"context"
	"os"
	"testing"

	"github.com/consento/consento/internal/cli"
)

// asCLI, set in a child process's environment, makes the test binary run
// as the consento command with the arguments it was started with: tests
// start real processes of it (see TestConcurrentProcessesOnAFreshDatabase).
const asCLI = "CONSENTO_TEST_RUN_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(asCLI) == "1" {
		os.Exit(cli.Run(context.Background(), append([]string{"consento"}, os.Args[1:]...), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
