package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/secrets"
	"github.com/consento/consento/internal/store"
)

func benchRotateCommand() *cli.Command {
	return &cli.Command{
		Name: "rotate",
		Usage: "store --values encrypted sensitive values (national ID and bank account of bare persons it adds) " +
			"unless there are so many already, then rotate the key and report the re-encryption time",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "values", Value: 1_000_000, Usage: "how many encrypted values to rotate"},
			&cli.IntFlag{Name: "batch", Value: secrets.DefaultBatch, Usage: "values per transaction"},
			profileFlag,
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			e, err := openEnv(ctx, cmd, true)
			if err != nil {
				return err
			}
			defer e.Close()
			if e.secrets == nil {
				return errors.New("no master key: set CONSENTO_MASTER_KEY")
			}
			out := cmd.Root().Writer
			want, batch := cmd.Int("values"), cmd.Int("batch")
			if err := benchSeedSecrets(ctx, e, want, out); err != nil {
				return err
			}
			if err := e.secrets.RunJobs(ctx, secrets.RunOptions{}); err != nil { // an earlier, interrupted run
				return err
			}
			stop, err := startProfile(cmd)
			if err != nil {
				return err
			}
			start := time.Now()
			if _, err := e.secrets.Rotate(ctx, cliActor); err != nil {
				return err
			}
			var n int
			err = e.secrets.RunJobs(ctx, secrets.RunOptions{Batch: batch, Progress: func(_ *secrets.Job, rows int) { n += rows }})
			d := time.Since(start)
			stop()
			if err != nil {
				return err
			}
			st, err := e.secrets.Status(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "rotate (%s): %d values re-encrypted in %s (%s, batch %d); %d keys, %d values left under old keys\n",
				e.db.Dialect, n, d.Round(time.Millisecond), rate(n, d), batch, len(st.Keys), st.Stale)
			if st.Stale != 0 {
				return fmt.Errorf("%d values are still under an old key", st.Stale)
			}
			return nil
		},
	}
}

// benchSeedSecrets adds bare persons with a national ID and a bank
// account each until the database holds want encrypted values.
func benchSeedSecrets(ctx context.Context, e *env, want int, out io.Writer) error {
	var have int
	if err := e.db.QueryRow(ctx, `SELECT COUNT(*) FROM person_secrets`).Scan(&have); err != nil {
		return err
	}
	if have >= want {
		return nil
	}
	fs, err := e.ledger.SensitiveFields(ctx)
	if err != nil {
		return err
	}
	var fields []ledger.CustomField
	for _, f := range fs {
		if f.Key == "national_id" || f.Key == "bank_account" {
			fields = append(fields, f)
		}
	}
	if len(fields) != 2 {
		return errors.New("the fields national_id and bank_account are not both sensitive here")
	}
	start := time.Now()
	added := 0
	now := store.Micros(time.Now())
	for have < want {
		persons := min(2500, (want-have+1)/2)
		err := e.db.WriteAlone(ctx, func(tx *store.Tx) error {
			vs := make([]secrets.Value, 0, 2*persons)
			for i := 0; i < persons; i++ {
				id, err := tx.InsertID(`INSERT INTO persons (first_name, last_name, created_at, created_by, updated_at, updated_by) VALUES ('Bench', 'Rotate', ?, 'bench', ?, 'bench')`, now, now)
				if err != nil {
					return err
				}
				vs = append(vs,
					secrets.Value{PersonID: id, Field: fields[0], Text: fmt.Sprintf("%09d-%d", id, id%97)},
					secrets.Value{PersonID: id, Field: fields[1], Text: fmt.Sprintf("DE%02d 3704 0044 %010d", id%89+10, id)})
			}
			if have+len(vs) > want {
				vs = vs[:want-have]
			}
			return e.secrets.StoreManyTx(tx, vs)
		})
		if err != nil {
			return err
		}
		n := min(2*persons, want-have)
		have += n
		added += n
	}
	fmt.Fprintf(out, "seeded %d encrypted values in %s\n", added, time.Since(start).Round(time.Millisecond))
	return nil
}
