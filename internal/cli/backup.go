package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/urfave/cli/v3"
)

func backupCommand() *cli.Command {
	return &cli.Command{
		Name:  "backup",
		Usage: "write a consistent copy of the database while Consento runs",
		Flags: []cli.Flag{&cli.StringFlag{Name: "out", Required: true, Usage: "file to write (SQLite database, or pg_dump custom format for PostgreSQL)"}},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			e, err := openEnv(ctx, cmd, false)
			if err != nil {
				return err
			}
			defer e.Close()
			out := cmd.String("out")
			if _, err := os.Stat(out); err == nil {
				return fmt.Errorf("%s exists already; choose a new file", out)
			}
			if err := e.db.Backup(ctx, out); err != nil {
				return err
			}
			st, err := os.Stat(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.Root().Writer, "backup written to %s (%d bytes)\n", out, st.Size())
			return nil
		},
	}
}
