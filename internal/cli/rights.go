package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/urfave/cli/v3"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/records"
	"github.com/consento/consento/internal/rights"
)

// operator is the actor of changes made with the consento command.
var operator = audit.Actor{Type: "system", ID: "cli"}

func importRecordsCommand() *cli.Command {
	return &cli.Command{
		Name:      "import-records",
		Usage:     "imports activities or business records (orders, invoices) of existing persons from CSV",
		ArgsUsage: "FILE.csv (- for standard input)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "kind", Required: true, Usage: "activities or business_records"},
			&cli.BoolFlag{Name: "dry-run", Usage: "check every row, store nothing"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Len() != 1 {
				return fmt.Errorf("name one input file (or - for standard input)")
			}
			e, err := openEnv(ctx, cmd, false)
			if err != nil {
				return err
			}
			defer e.Close()
			var in io.Reader = os.Stdin
			if name := cmd.Args().First(); name != "-" {
				f, err := os.Open(name)
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			rep, err := records.New(e.db).Import(ctx, operator, cmd.String("kind"), in, cmd.Bool("dry-run"))
			if err != nil {
				return err
			}
			out := cmd.Root().Writer
			verb := "imported"
			if cmd.Bool("dry-run") {
				verb = "would import (dry run)"
			}
			fmt.Fprintf(out, "%d rows read, %s %d, rejected %d\n", rep.Rows, verb, rep.Imported, len(rep.Rejected))
			for _, r := range rep.Rejected {
				fmt.Fprintf(out, "line %d: %s\n", r.Line, r.Reason)
			}
			return nil
		},
	}
}

func rightsCommand() *cli.Command {
	return &cli.Command{
		Name:  "rights",
		Usage: "data-subject request cases: list them by deadline, or send due reminders and escalations",
		Commands: []*cli.Command{{
			Name:  "list",
			Usage: "lists request cases, most urgent first",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "state", Value: "open", Usage: "open, closed, overdue, due_soon or all"},
				&cli.BoolFlag{Name: "json", Usage: "print JSON"},
			},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				e, err := openEnv(ctx, cmd, false)
				if err != nil {
					return err
				}
				defer e.Close()
				rs, err := rights.New(e.ledger).Requests(ctx, rights.RequestFilter{State: cmd.String("state")})
				if err != nil {
					return err
				}
				out := cmd.Root().Writer
				if cmd.Bool("json") {
					enc := json.NewEncoder(out)
					enc.SetIndent("", "  ")
					return enc.Encode(rs)
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tTYPE\tSTATUS\tRECEIVED\tDEADLINE\tDAYS LEFT")
				for _, r := range rs {
					flag := ""
					if r.Overdue {
						flag = " OVERDUE"
					}
					fmt.Fprintf(tw, "%d\t%s (%s)\t%s\t%s\t%s\t%d%s\n", r.ID, r.Type, r.Article, r.Status, r.ReceivedOn, r.Deadline, r.DaysLeft, flag)
				}
				return tw.Flush()
			},
		}, {
			Name:  "sweep",
			Usage: "marks cases due within 7 days as reminded and escalates overdue ones to a privacy officer (serve does this hourly)",
			Action: func(ctx context.Context, cmd *cli.Command) error {
				e, err := openEnv(ctx, cmd, false)
				if err != nil {
					return err
				}
				defer e.Close()
				reminded, escalated, err := rights.New(e.ledger).Sweep(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.Root().Writer, "%d reminded, %d escalated\n", reminded, escalated)
				return nil
			},
		}},
	}
}
