package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/urfave/cli/v3"
)

func benchCheckCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "stream every person's e-mail as text/csv to POST /api/v1/consent-checks over loopback HTTP and time it end to end",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "purpose", Value: benchPurpose},
			&cli.IntFlag{Name: "persons", Usage: "check only the first N persons (default: all)"},
			&cli.StringFlag{Name: "accept", Value: "text/csv", Usage: "response format: text/csv or application/x-ndjson"},
			profileFlag,
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			e, err := openEnv(ctx, cmd, false)
			if err != nil {
				return err
			}
			defer e.Close()
			// The list to check: the persons' primary e-mail addresses in
			// the order they were created, read before the clock starts.
			limit := ""
			if p := cmd.Int("persons"); p > 0 {
				limit = " LIMIT " + strconv.Itoa(int(p))
			}
			emails, err := column[string](ctx, e.db, `SELECT email FROM person_emails WHERE is_primary = 1 ORDER BY person_id`+limit)
			if err != nil {
				return err
			}
			n := len(emails)
			if n == 0 {
				return fmt.Errorf("no persons to check: run `consento bench seed` or `consento bench import` first")
			}
			srv, err := startBenchServer(ctx, e, "127.0.0.1:0")
			if err != nil {
				return err
			}
			defer srv.Close()
			stop, err := startProfile(cmd)
			if err != nil {
				return err
			}
			// A file upload: the body's length is known, as with curl --data-binary.
			var body bytes.Buffer
			body.WriteString("email\n")
			for _, em := range emails {
				body.WriteString(em)
				body.WriteByte('\n')
			}
			req := srv.request(ctx, "POST", "/api/v1/consent-checks?purpose="+cmd.String("purpose"), "text/csv", bytes.NewReader(body.Bytes()))
			req.Header.Set("Accept", cmd.String("accept"))
			start := time.Now()
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				stop()
				return err
			}
			first := time.Since(start)
			lines, allowed := 0, 0
			rd := bufio.NewReaderSize(res.Body, 256<<10)
			for {
				line, err := rd.ReadSlice('\n')
				if len(line) > 0 {
					lines++
					if bytes.Contains(line, []byte(",true,")) || bytes.Contains(line, []byte(`"allowed":true`)) {
						allowed++
					}
				}
				if err != nil {
					if err != io.EOF {
						stop()
						return err
					}
					break
				}
			}
			res.Body.Close()
			d := time.Since(start)
			stop()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("consent check: HTTP %d", res.StatusCode)
			}
			if msg := res.Trailer.Get("Consento-Error"); msg != "" {
				return fmt.Errorf("consent check stopped: %s", msg)
			}
			out := cmd.Root().Writer
			fmt.Fprintf(out, "check (%s, %s over HTTP): persons %s\n", e.db.Dialect, cmd.String("accept"), rate(n, d))
			fmt.Fprintf(out, "  first response byte after %s; %d response lines; allowed %d, server says total %s allowed %s denied %s\n",
				first.Round(time.Millisecond), lines, allowed, res.Trailer.Get("Consento-Total"), res.Trailer.Get("Consento-Allowed"), res.Trailer.Get("Consento-Denied"))
			return nil
		},
	}
}
