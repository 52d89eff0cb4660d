package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/consento/consento/internal/retention"
	"github.com/consento/consento/internal/store"
)

func benchRetentionCommand() *cli.Command {
	return &cli.Command{
		Name: "retention",
		Usage: "after bench seed or bench import: backdate every Nth person's last interaction by 800 days, set every purpose to 730 days and " +
			"persons without a purpose to 365 days, then time a dry run and a real retention sweep (once per seed: " +
			"the expired persons are erased)",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "every", Value: 20, Usage: "backdate every Nth person (20: 5 %)"},
			&cli.StringFlag{Name: "action", Value: retention.ActionAnonymize, Usage: "anonymize or delete"},
			&cli.IntFlag{Name: "batch", Value: 200, Usage: "persons per write transaction"},
			profileFlag,
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			e, err := openEnv(ctx, cmd, false)
			if err != nil {
				return err
			}
			defer e.Close()
			every := max(1, int(cmd.Int("every")))
			n, err := benchSeeded(ctx, e.db)
			if err != nil {
				return err
			}
			if n == 0 { // made by bench import
				if err := e.db.QueryRow(ctx, `SELECT COUNT(*) FROM persons`).Scan(&n); err != nil {
					return err
				}
			}
			if n == 0 {
				return fmt.Errorf("no persons: run consento bench seed or bench import first")
			}
			out := cmd.Root().Writer
			old := store.Micros(time.Now().AddDate(0, 0, -800))
			start := time.Now()
			err = e.db.WriteAlone(ctx, func(tx *store.Tx) error {
				for _, st := range []struct {
					q    string
					args []any
				}{
					{`UPDATE persons SET created_at = ?, updated_at = ? WHERE id % ? = 0 AND status = 'active'`, []any{old, old, every}},
					{`UPDATE consent_events SET occurred_at = ? WHERE person_id % ? = 0`, []any{old, every}},
					{`UPDATE consents SET occurred_at = ? WHERE person_id % ? = 0`, []any{old, every}},
				} {
					if _, err := tx.Exec(st.q, st.args...); err != nil {
						return err
					}
				}
				if _, err := tx.Exec(`UPDATE purposes SET retention_days = 730`); err != nil {
					return err
				}
				_, err := tx.Exec(`UPDATE retention_settings SET inactive_days = 365, action = ?`, cmd.String("action"))
				return err
			})
			if err != nil {
				return err
			}
			if e.db.Dialect == store.Postgres {
				// Statistics, as autovacuum would gather them: without any,
				// PostgreSQL plans "person_id IN (…)" of a batch as a scan
				// of the whole table.
				if err := e.db.Write(ctx, func(tx *store.Tx) error { _, err := tx.Exec(`ANALYZE`); return err }); err != nil {
					return err
				}
			}
			fmt.Fprintf(out, "retention (%s): %d bench persons, every %d. backdated in %.1f s\n", e.db.Dialect, n, every, time.Since(start).Seconds())
			s := e.retention()
			s.SetBatch(int(cmd.Int("batch")))
			stop, err := startProfile(cmd)
			if err != nil {
				return err
			}
			defer stop()
			start = time.Now()
			dry, err := s.Run(ctx, cliActor, true)
			if err != nil {
				return err
			}
			d := time.Since(start)
			fmt.Fprintf(out, "dry run: examined %s; expired %d (skipped %d)\n", rate(dry.Examined, d), dry.Expired, dry.Skipped)
			start = time.Now()
			rep, err := s.Run(ctx, cliActor, false)
			if err != nil {
				return err
			}
			d = time.Since(start)
			fmt.Fprintf(out, "sweep (%s): examined %d, expired %d, erased %s (anonymized %d, deleted %d), skipped %d; whole sweep %.1f s\n",
				rep.Action, rep.Examined, rep.Expired, rate(rep.Anonymized+rep.Deleted, d), rep.Anonymized, rep.Deleted, rep.Skipped, d.Seconds())
			return nil
		},
	}
}
