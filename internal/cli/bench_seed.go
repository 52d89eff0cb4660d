package cli

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
)

func benchSeedCommand() *cli.Command {
	return &cli.Command{
		Name:  "seed",
		Usage: "add N bench persons (person<i>@bench.example) with e_marketing consents: 80% granted, 10% withdrawn, 10% none",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "persons", Value: 100000, Usage: "how many persons to add"},
			&cli.IntFlag{Name: "batch", Value: 2000, Usage: "persons per write transaction"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			e, err := openEnv(ctx, cmd, true)
			if err != nil {
				return err
			}
			defer e.Close()
			have, err := benchSeeded(ctx, e.db)
			if err != nil {
				return err
			}
			n, batch := int(cmd.Int("persons")), max(1, int(cmd.Int("batch")))
			out := cmd.Root().Writer
			fmt.Fprintf(out, "seeding persons %d..%d on %s\n", have+1, have+n, e.db.Dialect)
			start, seq0, step, consents := time.Now(), auditHead(ctx, e.db), max(batch, n/10), 0
			for lo := have + 1; lo <= have+n; lo += batch {
				hi := min(lo+batch-1, have+n)
				err := e.db.Write(ctx, func(tx *store.Tx) error {
					for i := lo; i <= hi; i++ {
						id, err := e.ledger.CreatePersonTx(tx, cliActor, ledger.PersonInput{
							FirstName: "Bench", LastName: "Person " + strconv.Itoa(i), Emails: []string{benchEmail(i)}, Source: "import",
						})
						if err != nil {
							return fmt.Errorf("person %d: %w", i, err)
						}
						for _, k := range benchKind(i) {
							if _, err := e.ledger.RecordConsentTx(tx, cliActor, ledger.ConsentInput{PersonID: id, Purpose: benchPurpose, Kind: k, Source: "import"}); err != nil {
								return fmt.Errorf("consent of person %d: %w", i, err)
							}
							consents++
						}
					}
					_, err := tx.Exec(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, benchSetting, strconv.Itoa(hi))
					return err
				})
				if err != nil {
					return describe(err)
				}
				if done := hi - have; done/step != (done-(hi-lo+1))/step || hi == have+n {
					fmt.Fprintf(cmd.Root().ErrWriter, "  %d/%d persons, %.0f/s\n", done, n, float64(done)/time.Since(start).Seconds())
				}
			}
			d := time.Since(start)
			// Fresh statistics, or PostgreSQL plans bulk checks as for the
			// empty tables it last saw (autovacuum catches up only later).
			if e.db.Dialect == store.Postgres {
				if err := e.db.Write(ctx, func(tx *store.Tx) error { _, err := tx.Exec(`ANALYZE`); return err }); err != nil {
					return err
				}
			}
			seq := auditHead(ctx, e.db)
			fmt.Fprintf(out, "seed (%s): persons %s; consent events %d; audit events %s\n", e.db.Dialect, rate(n, d), consents, rate(int(seq-seq0), d))
			fmt.Fprintf(out, "  bench persons now %d, audit events now %d\n", have+n, seq)
			return nil
		},
	}
}
