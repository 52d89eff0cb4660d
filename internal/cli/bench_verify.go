package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/consento/consento/internal/audit"
)

func benchVerifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "verify the whole audit hash chain and report events/s",
		Flags: []cli.Flag{profileFlag},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			e, err := openEnv(ctx, cmd, false)
			if err != nil {
				return err
			}
			defer e.Close()
			stop, err := startProfile(cmd)
			if err != nil {
				return err
			}
			start := time.Now()
			rep, err := audit.Verify(ctx, e.db)
			d := time.Since(start)
			stop()
			if err != nil {
				return err
			}
			out := cmd.Root().Writer
			fmt.Fprintf(out, "verify (%s): audit events %s; ok=%v\n", e.db.Dialect, rate(int(rep.Events), d), rep.OK)
			if !rep.OK {
				return fmt.Errorf("audit chain broken at event %d: %s", rep.FirstBad, rep.Problem)
			}
			return nil
		},
	}
}
