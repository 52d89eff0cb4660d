package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v3"
)

func benchReadCommand() *cli.Command {
	return &cli.Command{
		Name:  "read",
		Usage: "serve the API on loopback for wrk against GET /api/v1/persons/{id}/consents/e_marketing (--wrk runs wrk itself)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:0", Usage: "loopback address to serve on"},
			&cli.BoolFlag{Name: "wrk", Usage: "run wrk, print its output and stop"},
			&cli.IntFlag{Name: "threads", Value: 2, Usage: "wrk -t"},
			&cli.IntFlag{Name: "connections", Value: 32, Usage: "wrk -c"},
			&cli.DurationFlag{Name: "duration", Value: 10 * time.Second, Usage: "wrk -d"},
			profileFlag,
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			e, err := openEnv(ctx, cmd, false)
			if err != nil {
				return err
			}
			defer e.Close()
			var lo, hi int64
			if err := e.db.QueryRow(ctx, `SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM persons`).Scan(&lo, &hi); err != nil {
				return err
			}
			if hi == 0 {
				return fmt.Errorf("no persons: run `consento bench seed` first")
			}
			srv, err := startBenchServer(ctx, e, cmd.String("listen"))
			if err != nil {
				return err
			}
			defer srv.Close()
			// A wrk script that asks for a random person on every request.
			script := filepath.Join(os.TempDir(), "consento-bench-read.lua")
			lua := fmt.Sprintf("math.randomseed(os.time())\nrequest = function()\n  return wrk.format(nil, \"/api/v1/persons/\" .. math.random(%d, %d) .. \"/consents/%s\")\nend\n", lo, hi, benchPurpose)
			if err := os.WriteFile(script, []byte(lua), 0o600); err != nil {
				return err
			}
			args := []string{
				"-t" + strconv.Itoa(int(cmd.Int("threads"))), "-c" + strconv.Itoa(int(cmd.Int("connections"))),
				"-d" + cmd.Duration("duration").String(), "--latency", "-s", script,
				"-H", "Authorization: Bearer " + srv.Token, srv.URL,
			}
			out := cmd.Root().Writer
			fmt.Fprintf(out, "serving %s (%s), persons %d..%d\ntoken: %s\nexample: curl -H 'Authorization: Bearer %s' %s/api/v1/persons/%d/consents/%s\nwrk command:\n  wrk %s\n",
				srv.URL, e.db.Dialect, lo, hi, srv.Token, srv.Token, srv.URL, lo, benchPurpose, shellJoin(args))
			if !cmd.Bool("wrk") {
				fmt.Fprintln(out, "press Ctrl-C to stop")
				<-ctx.Done()
				return nil
			}
			if _, err := exec.LookPath("wrk"); err != nil {
				return fmt.Errorf("wrk is not installed (Debian: apt-get install -y wrk)")
			}
			stop, err := startProfile(cmd)
			if err != nil {
				return err
			}
			defer stop()
			w := exec.CommandContext(ctx, "wrk", args...)
			w.Stdout, w.Stderr = out, cmd.Root().ErrWriter
			return w.Run()
		},
	}
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " '\"$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}
