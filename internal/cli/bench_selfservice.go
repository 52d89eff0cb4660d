package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/selfservice"
	"github.com/consento/consento/internal/store"
)

// benchRequestPurpose is a consent purpose nobody has answered yet, so a
// consent request reaches every person.
const benchRequestPurpose = "bench_request"

func benchConsentRequestCommand() *cli.Command {
	return &cli.Command{
		Name:  "consent-request",
		Usage: "queue a consent request e-mail to every person (after bench import or seed), then drain the outbox (captured, or sent to CONSENTO_SMTP_URL) and report time and memory",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "drain", Value: true, Usage: "drain the outbox after queuing"}, profileFlag},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			e, err := openEnv(ctx, cmd, true)
			if err != nil {
				return err
			}
			defer e.Close()
			svc, err := e.outreach(ctx)
			if err != nil {
				return err
			}
			if _, err := e.ledger.Purpose(ctx, benchRequestPurpose); err != nil {
				texts := map[string]ledger.Text{}
				for _, l := range ledger.Languages {
					texts[l] = ledger.Text{Name: "Bench newsletter", Description: "Bench", ConsentText: "Yes, send me the bench newsletter."}
				}
				if _, err := e.ledger.CreatePurpose(ctx, cliActor, ledger.PurposeInput{Key: benchRequestPurpose, DefaultLegalBasis: ledger.Consent,
					AllowedLegalBases: []ledger.LegalBasis{ledger.Consent}, ConsentRequired: true, Texts: texts}); err != nil {
					return describe(err)
				}
			}
			out := cmd.Root().Writer
			stopProfile, err := startProfile(cmd)
			if err != nil {
				return err
			}
			start := time.Now()
			r, err := svc.RequestConsent(ctx, cliActor, benchRequestPurpose, nil)
			stopProfile()
			if err != nil {
				return describe(err)
			}
			fmt.Fprintf(out, "consent request (%s): %d e-mails queued in %.2f s (%s)\n", e.db.Dialect, r.Recipients, time.Since(start).Seconds(), rate(r.Recipients, time.Since(start)))
			if !cmd.Bool("drain") {
				return nil
			}
			w := e.mailWorker()
			peak, stop := sampleHeap()
			start = time.Now()
			n, err := w.Drain(ctx)
			d := time.Since(start)
			stop()
			if err != nil {
				return err
			}
			how := "captured"
			if e.cfg.SMTPURL != "" {
				how = "sent"
			}
			fmt.Fprintf(out, "outbox drained (%s): %d mails %s in %.1f s (%s); peak Go heap %d MB\n", e.db.Dialect, n, how, d.Seconds(), rate(n, d), *peak>>20)
			return nil
		},
	}
}

// sampleHeap records the largest Go heap seen until stop is called.
func sampleHeap() (*uint64, func()) {
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return &peak, func() { close(done); wg.Wait() }
}

func benchPreferencesCommand() *cli.Command {
	return &cli.Command{
		Name:  "preferences",
		Usage: "serve personal preference pages to concurrent clients over HTTP (after bench import or seed) and report requests/s and latency",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "persons", Value: 1000, Usage: "how many persons' pages to request"},
			&cli.IntFlag{Name: "clients", Value: 16, Usage: "concurrent clients"},
			&cli.DurationFlag{Name: "duration", Value: 10 * time.Second, Usage: "how long to run"},
			profileFlag,
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			e, err := openEnv(ctx, cmd, true)
			if err != nil {
				return err
			}
			defer e.Close()
			svc, err := e.outreach(ctx)
			if err != nil {
				return err
			}
			var tokens []string
			err = e.db.Write(ctx, func(tx *store.Tx) error {
				tokens = tokens[:0]
				rows, err := tx.Query(`SELECT id FROM persons WHERE status = 'active' ORDER BY id LIMIT ?`, cmd.Int("persons"))
				if err != nil {
					return err
				}
				var ids []int64
				for rows.Next() {
					var id int64
					if err := rows.Scan(&id); err != nil {
						rows.Close()
						return err
					}
					ids = append(ids, id)
				}
				rows.Close()
				for _, id := range ids {
					tok, err := svc.IssueTokenTx(tx, id)
					if err != nil {
						return err
					}
					tokens = append(tokens, tok)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if len(tokens) == 0 {
				return fmt.Errorf("no persons: run bench import or bench seed first")
			}
			h, err := selfservice.New(svc, slog.New(slog.NewTextHandler(io.Discard, nil)), selfservice.Options{PerIP: -1, PerToken: -1})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			hs := &http.Server{Handler: h}
			go hs.Serve(ln)
			defer hs.Close()
			base := "http://" + ln.Addr().String() + "/p/"
			clients := max(1, int(cmd.Int("clients")))
			tr := &http.Transport{MaxIdleConnsPerHost: clients}
			client := &http.Client{Transport: tr}
			stopProfile, err := startProfile(cmd)
			if err != nil {
				return err
			}
			defer stopProfile()
			deadline := time.Now().Add(cmd.Duration("duration"))
			var next atomic.Int64
			var failed atomic.Int64
			lat := make([][]time.Duration, clients)
			var wg sync.WaitGroup
			start := time.Now()
			for c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for time.Now().Before(deadline) {
						tok := tokens[int(next.Add(1))%len(tokens)]
						t0 := time.Now()
						res, err := client.Get(base + tok)
						if err != nil {
							failed.Add(1)
							continue
						}
						io.Copy(io.Discard, res.Body)
						res.Body.Close()
						if res.StatusCode != 200 {
							failed.Add(1)
						}
						lat[c] = append(lat[c], time.Since(t0))
					}
				}()
			}
			wg.Wait()
			d := time.Since(start)
			all := slices.Concat(lat...)
			slices.Sort(all)
			if len(all) == 0 {
				return fmt.Errorf("no request succeeded")
			}
			pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000 }
			fmt.Fprintf(cmd.Root().Writer, "preference page (%s): %d requests in %.1f s with %d clients: %.0f req/s, p50 %.2f ms, p99 %.2f ms, %d failed\n",
				e.db.Dialect, len(all), d.Seconds(), clients, float64(len(all))/d.Seconds(), pct(0.5), pct(0.99), failed.Load())
			return nil
		},
	}
}
