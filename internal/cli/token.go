package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
)

func tokenCommand() *cli.Command {
	return &cli.Command{
		Name:  "token",
		Usage: "manage API tokens",
		Commands: []*cli.Command{{
			Name:  "create",
			Usage: "issue an API token; its secret is printed once, on standard output",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "name", Required: true, Usage: "what the token is for"},
				&cli.StringSliceFlag{Name: "scope", Usage: "scope to grant (repeat); one of " + strings.Join(auth.Scopes, ", ") + "; default: all"},
				&cli.DurationFlag{Name: "ttl", Usage: "lifetime, e.g. 720h (default: no expiry)"},
			},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				e, err := openEnv(ctx, cmd, true)
				if err != nil {
					return err
				}
				defer e.Close()
				scopes := cmd.StringSlice("scope")
				if len(scopes) == 0 {
					scopes = auth.Scopes
				}
				var expanded []string
				for _, s := range scopes {
					expanded = append(expanded, strings.Split(s, ",")...)
				}
				t, secret, err := e.auth.CreateToken(ctx, cliActor, cmd.String("name"), expanded, cmd.Duration("ttl"))
				if err != nil {
					return describe(err)
				}
				fmt.Fprintln(cmd.Root().Writer, secret)
				exp := "never"
				if t.ExpiresAt != nil {
					exp = t.ExpiresAt.Format(time.RFC3339)
				}
				fmt.Fprintf(cmd.Root().ErrWriter, "token %d %q with scopes %s; expires %s\n", t.ID, t.Name, strings.Join(t.Scopes, " "), exp)
				return nil
			},
		}, {
			Name:  "list",
			Usage: "list API tokens (never their secrets)",
			Action: func(ctx context.Context, cmd *cli.Command) error {
				e, err := openEnv(ctx, cmd, false)
				if err != nil {
					return err
				}
				defer e.Close()
				ts, err := e.auth.Tokens(ctx)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(cmd.Root().Writer, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tNAME\tPREFIX\tSCOPES\tCREATED\tSTATE")
				for _, t := range ts {
					state := "active"
					switch {
					case t.RevokedAt != nil:
						state = "revoked " + t.RevokedAt.Format(time.RFC3339)
					case t.ExpiresAt != nil && t.ExpiresAt.Before(time.Now()):
						state = "expired " + t.ExpiresAt.Format(time.RFC3339)
					case t.ExpiresAt != nil:
						state = "expires " + t.ExpiresAt.Format(time.RFC3339)
					}
					fmt.Fprintf(w, "%d\t%s\t%s…\t%s\t%s\t%s\n", t.ID, t.Name, t.Prefix, strings.Join(t.Scopes, " "), t.CreatedAt.Format(time.RFC3339), state)
				}
				return w.Flush()
			},
		}, {
			Name:      "revoke",
			Usage:     "revoke an API token at once",
			ArgsUsage: "ID",
			Action: func(ctx context.Context, cmd *cli.Command) error {
				id, err := strconv.ParseInt(cmd.Args().First(), 10, 64)
				if err != nil || cmd.Args().Len() != 1 {
					return fmt.Errorf("name the id of the token to revoke (see consento token list)")
				}
				e, err := openEnv(ctx, cmd, false)
				if err != nil {
					return err
				}
				defer e.Close()
				if err := e.auth.RevokeToken(ctx, cliActor, id); err != nil {
					return describe(err)
				}
				fmt.Fprintf(cmd.Root().Writer, "token %d revoked\n", id)
				return nil
			},
		}},
	}
}

// describe turns a domain error into a message listing the bad fields.
func describe(err error) error {
	de, ok := ledger.AsError(err)
	if !ok {
		return err
	}
	msg := de.Message
	for _, f := range de.Fields {
		if strings.Contains(de.Message, f.Message) {
			continue // the message says it already (a whole-file error)
		}
		msg += fmt.Sprintf("\n  %s: %s", f.Field, f.Message)
	}
	return fmt.Errorf("%s", msg)
}
