package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/consento/consento/internal/retention"
)

// parseInterval reads a duration such as 24h; "0" is 0, anything
// unreadable -1 (rejected by the configuration's validation).
func parseInterval(s string) time.Duration {
	if s == "0" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return -1
	}
	return d
}

func (e *env) retention() *retention.Service { return retention.New(e.ledger, retention.Instance()) }

// scheduleRetention runs the retention sweep every configured interval
// (when the retention settings switch it on) until ctx ends.
func (e *env) scheduleRetention(ctx context.Context) {
	if e.cfg.RetentionInterval <= 0 {
		return
	}
	e.retention().Schedule(ctx, e.cfg.RetentionInterval, func(rep *retention.Report, err error) {
		if err != nil {
			e.log.Error("retention sweep", "err", err)
			return
		}
		e.log.Info("retention sweep", "sweep", rep.ID, "examined", rep.Examined, "expired", rep.Expired,
			"anonymized", rep.Anonymized, "deleted", rep.Deleted, "skipped", rep.Skipped)
	})
}

func retentionCommand() *cli.Command {
	return &cli.Command{
		Name:  "retention",
		Usage: "retention periods: list who has expired and why, then anonymize or delete them",
		Commands: []*cli.Command{{
			Name: "run",
			Usage: "sweeps once: lists every expired person with the rule that expired them, then anonymizes or deletes " +
				"them as the retention settings say (safe beside other instances; recorded in the audit log)",
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "dry-run", Usage: "list who has expired and why, change nothing"},
				&cli.StringFlag{Name: "format", Value: "table", Usage: "table or json"},
			},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				format := cmd.String("format")
				if format != "table" && format != "json" {
					return fmt.Errorf("--format must be table or json")
				}
				e, err := openEnv(ctx, cmd, false)
				if err != nil {
					return err
				}
				defer e.Close()
				dry := cmd.Bool("dry-run")
				rep, err := e.retention().Run(ctx, operator, dry)
				if err != nil {
					return describe(err)
				}
				// Person ids, never names: this output ends up in cron
				// mail and logs.
				for i := range rep.Persons {
					rep.Persons[i].FirstName, rep.Persons[i].LastName = "", ""
				}
				out := cmd.Root().Writer
				if format == "json" {
					if !dry {
						rep.Persons = nil
					}
					enc := json.NewEncoder(out)
					enc.SetIndent("", "  ")
					return enc.Encode(rep)
				}
				if dry {
					tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "PERSON\tWHY\tSKIPPED")
					for _, p := range rep.Persons {
						fmt.Fprintf(tw, "%d\t%s\t%s\n", p.PersonID, p.Why(), p.Skip)
					}
					if err := tw.Flush(); err != nil {
						return err
					}
					fmt.Fprintf(out, "dry run (sweep %d): examined %d, expired %d, would %s %d, skipped %d\n",
						rep.ID, rep.Examined, rep.Expired, rep.Action, rep.Expired-rep.Skipped, rep.Skipped)
					return nil
				}
				fmt.Fprintf(out, "sweep %d: examined %d, expired %d, anonymized %d, deleted %d, skipped %d, handled by another sweep %d\n",
					rep.ID, rep.Examined, rep.Expired, rep.Anonymized, rep.Deleted, rep.Skipped, rep.Elsewhere)
				return nil
			},
		}},
	}
}
