package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/consento/consento/internal/api"
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
			benchConsentRequestCommand(), benchPreferencesCommand(),
			benchWebhooksCommand(),
			benchRotateCommand(),
			benchRetentionCommand(),
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
