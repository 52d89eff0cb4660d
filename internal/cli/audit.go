package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/consento/consento/internal/audit"
)

func auditCommand() *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "inspect the audit trail",
		Commands: []*cli.Command{{
			Name:  "verify",
			Usage: "prove that no audit event was altered, removed or reordered",
			Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"}},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				e, err := openEnv(ctx, cmd, false)
				if err != nil {
					return err
				}
				defer e.Close()
				rep, err := audit.Verify(ctx, e.db)
				if err != nil {
					return err
				}
				out := cmd.Root().Writer
				if cmd.Bool("json") {
					b, _ := json.MarshalIndent(rep, "", "  ")
					fmt.Fprintln(out, string(b))
				} else if rep.OK {
					fmt.Fprintf(out, "audit chain OK: %d events verified in %s; head %d %s\n", rep.Events, rep.Elapsed, rep.HeadSeq, rep.HeadHash)
				} else {
					fmt.Fprintf(out, "audit chain BROKEN at event %d: %s\n", rep.FirstBad, rep.Problem)
				}
				if !rep.OK {
					return reported(2)
				}
				return nil
			},
		}},
	}
}
