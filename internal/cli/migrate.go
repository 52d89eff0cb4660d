package cli

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"
)

func migrateCommand() *cli.Command {
	return &cli.Command{
		Name:  "migrate",
		Usage: "bring the database schema up to date",
		Action: func(ctx context.Context, cmd *cli.Command) error {
			e, err := openEnv(ctx, cmd, true)
			if err != nil {
				return err
			}
			defer e.Close()
			v, err := e.db.SchemaVersion(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.Root().Writer, "database schema is at version %d (%s)\n", v, e.cfg.Redacted())
			return nil
		},
	}
}
