// Command consento is the GDPR consent ledger: server, migrations and tools.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/consento/consento/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
