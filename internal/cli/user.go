package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v3"
	"golang.org/x/term"

	"github.com/consento/consento/internal/audit"
)

// cliActor is the audit actor of changes made on the command line.
var cliActor = audit.Actor{Type: "system", ID: "cli"}

func userCommand() *cli.Command {
	return &cli.Command{
		Name:  "user",
		Usage: "manage staff users",
		Commands: []*cli.Command{{
			Name:  "create",
			Usage: "create a staff user (the first one should be an admin)",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "email", Required: true, Usage: "login e-mail address"},
				&cli.StringFlag{Name: "name", Usage: "display name"},
				&cli.StringFlag{Name: "role", Value: "admin", Usage: "admin, privacy_officer, staff or marketing"},
				&cli.StringFlag{Name: "password-file", Usage: "read the password from this file (else from standard input, or generated)"},
			},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				e, err := openEnv(ctx, cmd, true)
				if err != nil {
					return err
				}
				defer e.Close()
				pw, generated, err := readPassword(cmd.String("password-file"))
				if err != nil {
					return err
				}
				u, err := e.auth.CreateUser(ctx, cliActor, cmd.String("email"), cmd.String("name"), cmd.String("role"), pw)
				if err != nil {
					return describe(err)
				}
				out := cmd.Root().Writer
				fmt.Fprintf(out, "created %s user %s (id %d)\n", u.Role, u.Email, u.ID)
				if generated {
					fmt.Fprintf(out, "password (shown once, store it now): %s\n", pw)
				}
				return nil
			},
		}},
	}
}

// readPassword takes the password from a file, from piped standard input,
// or generates a strong one when standard input is a terminal.
func readPassword(file string) (string, bool, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", false, fmt.Errorf("password file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), false, nil
	}
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		// A password piped in; with nothing piped in, one is generated.
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		if line = strings.TrimRight(line, "\r\n"); line != "" {
			return line, false, nil
		}
	}
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", false, err
	}
	return base64.RawURLEncoding.EncodeToString(b), true, nil
}
