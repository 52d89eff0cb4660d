package cli

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/consento/consento/internal/api"
	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/receipt"
	"github.com/consento/consento/internal/store"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name: "bench",
		Usage: "measure Consento's performance on this machine; run it on a throwaway database " +
			"(a fresh --data-dir, or a PostgreSQL database made for it): seed first, then check, read, record, verify",
		Commands: []*cli.Command{
			benchSeedCommand(), benchCheckCommand(), benchReadCommand(), benchRecordCommand(), benchVerifyCommand(),
			benchImportCommand(),
		},
	}
}

const (
	benchPurpose = "e_marketing"
	// benchSetting counts the persons bench seed created (person1…personN).
	benchSetting = "bench_persons"
)

func benchEmail(i int) string { return "person" + strconv.Itoa(i) + "@bench.example" }

// benchKind is the seeded e_marketing history of person i: 80 % granted,
// 10 % granted then withdrawn, 10 % nothing.
func benchKind(i int) []ledger.EventKind {
	switch i % 10 {
	case 0:
		return nil
	case 1:
		return []ledger.EventKind{ledger.Granted, ledger.Withdrawn}
	}
	return []ledger.EventKind{ledger.Granted}
}

func benchSeeded(ctx context.Context, db *store.DB) (int, error) {
	var v string
	err := db.QueryRow(ctx, `SELECT value FROM settings WHERE key = ?`, benchSetting).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(v)
}

func auditHead(ctx context.Context, db *store.DB) (seq int64) {
	db.QueryRow(ctx, `SELECT seq FROM audit_head WHERE id = 1`).Scan(&seq)
	return seq
}

// Flags and helpers shared by the bench commands.

var profileFlag = &cli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile of the whole run (client and server) to `FILE`"}

func startProfile(cmd *cli.Command) (stop func(), err error) {
	name := cmd.String("cpuprofile")
	if name == "" {
		return func() {}, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func rate(n int, d time.Duration) string {
	return fmt.Sprintf("%d in %.3f s = %.0f/s", n, d.Seconds(), float64(n)/d.Seconds())
}

// percentile of sorted durations, p in [0,1].
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// benchServer is the real API server on a loopback listener, in process.
type benchServer struct {
	URL   string
	Token string
	hs    *http.Server
}

func startBenchServer(ctx context.Context, e *env, addr string) (*benchServer, error) {
	signer, err := receipt.Load(ctx, e.db)
	if err != nil {
		return nil, err
	}
	srv := api.New(e.db, e.ledger, e.auth, signer, receipt.Controller{Name: "Bench", Jurisdiction: "EU", Issuer: e.cfg.PublicURL}, e.log)
	_, token, err := e.auth.CreateToken(ctx, cliActor, "bench", auth.Scopes, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	return &benchServer{URL: "http://" + ln.Addr().String(), Token: token, hs: hs}, nil
}

func (b *benchServer) Close() { b.hs.Close() }

func (b *benchServer) request(ctx context.Context, method, path, ct string, body io.Reader) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, method, b.URL+path, body)
	req.Header.Set("Authorization", "Bearer "+b.Token)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	return req
}

// bench seed

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

// bench check

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

// bench read

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

// bench record

func benchRecordCommand() *cli.Command {
	return &cli.Command{
		Name:  "record",
		Usage: "concurrent HTTP clients POST consent events (re-grants of granted e_marketing consents); reports durable events/s",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "clients", Value: 32, Usage: "concurrent clients"},
			&cli.IntFlag{Name: "events", Value: 20000, Usage: "events to record"},
			profileFlag,
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			e, err := openEnv(ctx, cmd, false)
			if err != nil {
				return err
			}
			defer e.Close()
			// Re-granting a granted consent adds history without changing
			// the verdicts bench check expects.
			ids, err := column[int64](ctx, e.db, `SELECT c.person_id FROM consents c JOIN purposes pu ON pu.id = c.purpose_id WHERE pu.key = ? AND c.kind = 'granted' LIMIT 100000`, benchPurpose)
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				return fmt.Errorf("no granted consents: run `consento bench seed` first")
			}
			srv, err := startBenchServer(ctx, e, "127.0.0.1:0")
			if err != nil {
				return err
			}
			defer srv.Close()
			clients, total := max(1, int(cmd.Int("clients"))), int(cmd.Int("events"))
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
			stop, err := startProfile(cmd)
			if err != nil {
				return err
			}
			var next, failed atomic.Int64
			var firstErr atomic.Value
			lat := make([][]time.Duration, clients)
			var wg sync.WaitGroup
			start := time.Now()
			for c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for int(next.Add(1)) <= total {
						body := fmt.Sprintf(`{"person_id":%d,"purpose":%q,"kind":"granted","source":"api"}`, ids[rand.IntN(len(ids))], benchPurpose)
						t := time.Now()
						res, err := client.Do(srv.request(ctx, "POST", "/api/v1/consent-events", "application/json", strings.NewReader(body)))
						if err == nil {
							io.Copy(io.Discard, res.Body)
							res.Body.Close()
							if res.StatusCode != http.StatusCreated {
								err = fmt.Errorf("HTTP %d", res.StatusCode)
							}
						}
						if err != nil {
							failed.Add(1)
							firstErr.CompareAndSwap(nil, err)
							continue
						}
						lat[c] = append(lat[c], time.Since(t))
					}
				}()
			}
			wg.Wait()
			d := time.Since(start)
			stop()
			all := slices.Concat(lat...)
			slices.Sort(all)
			out := cmd.Root().Writer
			fmt.Fprintf(out, "record (%s, %d clients over HTTP): durable events %s\n", e.db.Dialect, clients, rate(len(all), d))
			fmt.Fprintf(out, "  latency p50 %s p99 %s max %s; failed %d\n", percentile(all, .5).Round(10*time.Microsecond),
				percentile(all, .99).Round(10*time.Microsecond), percentile(all, 1).Round(10*time.Microsecond), failed.Load())
			if err, ok := firstErr.Load().(error); ok {
				return fmt.Errorf("%d requests failed, first: %w", failed.Load(), err)
			}
			return nil
		},
	}
}

// bench verify

func benchVerifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "verify the whole audit hash chain and report events/s",
		Flags: []cli.Flag{profileFlag},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			e, err := openEnv(ctx, cmd, false)
			if err != nil {
				return err
			}
			defer e.Close()
			stop, err := startProfile(cmd)
			if err != nil {
				return err
			}
			start := time.Now()
			rep, err := audit.Verify(ctx, e.db)
			d := time.Since(start)
			stop()
			if err != nil {
				return err
			}
			out := cmd.Root().Writer
			fmt.Fprintf(out, "verify (%s): audit events %s; ok=%v\n", e.db.Dialect, rate(int(rep.Events), d), rep.OK)
			if !rep.OK {
				return fmt.Errorf("audit chain broken at event %d: %s", rep.FirstBad, rep.Problem)
			}
			return nil
		},
	}
}

// column reads the one column of a query's rows.
func column[T any](ctx context.Context, db *store.DB, q string, args ...any) ([]T, error) {
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
