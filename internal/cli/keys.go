package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v3"

	"github.com/consento/consento/internal/config"
	"github.com/consento/consento/internal/secrets"
	"github.com/consento/consento/internal/store"
)

// openSecrets opens the keysets of the sensitive fields with the master
// key: CONSENTO_MASTER_KEY, else (SQLite) the key file beside the
// database, generated on first use. On PostgreSQL without a master key it
// returns nil (sensitive fields cannot be written), or an error when
// sensitive values are stored already.
func openSecrets(ctx context.Context, cfg config.Config, db *store.DB, log *slog.Logger) (*secrets.Service, error) {
	var key []byte
	switch {
	case cfg.MasterKey != "":
		k, err := secrets.ParseMasterKey(cfg.MasterKey)
		if err != nil {
			return nil, fmt.Errorf("--master-key / CONSENTO_MASTER_KEY: %w", err)
		}
		key = k
	case db.Dialect == store.SQLite:
		// Keysets first, the file second: a process that starts beside
		// this one writes the file before its keysets, so keysets without
		// the file mean the file is lost, not that it is being created.
		path := filepath.Join(cfg.DataDir, secrets.MasterKeyFile)
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM secret_keysets`).Scan(&n); err != nil {
			return nil, err
		}
		if _, err := os.Stat(path); n > 0 && errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("the master key file %s is missing but the database holds keysets encrypted under it: restore the file from your backup or set CONSENTO_MASTER_KEY", path)
		}
		k, path, created, err := secrets.MasterKeyFromFile(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		if created {
			log.Info("master key for sensitive fields created; back it up apart from the database", "file", path)
		}
		key = k
	default:
		has, err := secrets.HasValues(ctx, db)
		if err != nil {
			return nil, err
		}
		if has {
			return nil, secrets.ErrNoMasterKey
		}
		log.Warn("sensitive fields are disabled: set CONSENTO_MASTER_KEY (base64 of 32 random bytes) to store them")
		return nil, nil
	}
	return secrets.Open(ctx, db, key, log)
}

func keysCommand() *cli.Command {
	return &cli.Command{
		Name:  "keys",
		Usage: "manage the keys that encrypt the sensitive fields",
		Commands: []*cli.Command{
			{
				Name: "rotate",
				Usage: "add a new key, make it primary and re-encrypt every sensitive value under it, in batches; " +
					"servers keep running (they read old and new keys); stopped, it resumes with --resume or in a running server",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "resume", Usage: "add no key: finish the open rotation (and other open jobs)"},
					&cli.IntFlag{Name: "batch", Value: secrets.DefaultBatch, Usage: "values per transaction"},
				},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					e, err := openKeysEnv(ctx, cmd)
					if err != nil {
						return err
					}
					defer e.Close()
					out := cmd.Root().Writer
					if !cmd.Bool("resume") {
						job, err := e.secrets.Rotate(ctx, cliActor)
						if err != nil {
							return err
						}
						fmt.Fprintf(out, "New primary key %d; re-encrypting (job %d).\n", job.KeyID, job.ID)
					}
					return runJobs(ctx, e.secrets, cmd.Int("batch"), out)
				},
			},
			{
				Name:  "status",
				Usage: "show the keys, how many values each encrypts and the open jobs",
				Action: func(ctx context.Context, cmd *cli.Command) error {
					e, err := openKeysEnv(ctx, cmd)
					if err != nil {
						return err
					}
					defer e.Close()
					st, err := e.secrets.Status(ctx)
					if err != nil {
						return err
					}
					printKeyStatus(cmd.Root().Writer, st)
					return nil
				},
			},
		},
	}
}

func openKeysEnv(ctx context.Context, cmd *cli.Command) (*env, error) {
	e, err := openEnv(ctx, cmd, false)
	if err != nil {
		return nil, err
	}
	if e.secrets == nil {
		e.Close()
		return nil, errors.New("no master key: set CONSENTO_MASTER_KEY (base64 of 32 random bytes)")
	}
	return e, nil
}

func printKeyStatus(w io.Writer, st *secrets.Status) {
	fmt.Fprintf(w, "%d sensitive values, %d not under the primary key\n", st.Total, st.Stale)
	for _, k := range st.Keys {
		mark := " "
		if k.Primary {
			mark = "*"
		}
		fmt.Fprintf(w, "%s key %-10d %-8s %d values\n", mark, k.ID, k.Status, st.Values[k.ID])
	}
	for _, j := range st.Jobs {
		fmt.Fprintf(w, "open job %d: %s, %d values done, started %s\n", j.ID, j.Kind, j.Processed, j.StartedAt.Format(time.RFC3339))
	}
}

// runJobs runs the open jobs with a progress bar over the stale values.
func runJobs(ctx context.Context, s *secrets.Service, batch int, out io.Writer) error {
	st, err := s.Status(ctx)
	if err != nil {
		return err
	}
	bar := progressbar.NewOptions64(st.Stale,
		progressbar.OptionSetDescription("re-encrypting"),
		progressbar.OptionSetWriter(out),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
	)
	start := time.Now()
	var n int64
	err = s.RunJobs(ctx, secrets.RunOptions{Batch: batch, Progress: func(_ *secrets.Job, rows int) {
		n += int64(rows)
		bar.Add(rows)
	}})
	bar.Finish()
	fmt.Fprintln(out)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(out, "Stopped after %d values; run `consento keys rotate --resume` (or start the server) to finish.\n", n)
		}
		return err
	}
	fmt.Fprintf(out, "Done: %d values re-encrypted in %s.\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}
