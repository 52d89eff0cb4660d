package cli_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/consento/consento/internal/storetest"
)

// A server starting while an operator creates the first API token opens
// a fresh database from two processes at once: both migrate it (one
// waits for the other) and both succeed, with one master key between
// them. Each round starts the processes
// on a new empty data directory (and database).
func TestConcurrentProcessesOnAFreshDatabase(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		rounds := 6 // the race is lost in about half of the rounds without the lock
		if e == storetest.Postgres {
			rounds = 1 // slow to migrate; an advisory lock has always guarded it
		}
		for round := range rounds {
			opts := storetest.Options(t, e)
			env := append(os.Environ(), asCLI+"=1", "CONSENTO_DATA_DIR="+opts.DataDir, "CONSENTO_DATABASE_URL="+opts.DatabaseURL,
				"CONSENTO_MASTER_KEY=", "CONSENTO_MASTER_KEY_FILE=")
			cmds := [][]string{{"migrate"}, {"token", "create", "--name", "a"}, {"token", "create", "--name", "b"}}
			var wg sync.WaitGroup
			fails := make([]string, len(cmds))
			for i, args := range cmds {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := exec.Command(os.Args[0], args...)
					c.Env = env
					var out bytes.Buffer
					c.Stdout, c.Stderr = &out, &out
					if err := c.Run(); err != nil {
						fails[i] = fmt.Sprintf("%v: %v\n%s", args, err, out.String())
					}
				}()
			}
			wg.Wait()
			for _, f := range fails {
				if f != "" {
					t.Errorf("round %d: %s", round, f)
				}
			}
		}
	})
}
