package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/webhook"
)

func benchWebhooksCommand() *cli.Command {
	return &cli.Command{
		Name: "webhooks",
		Usage: "fan out consent events to webhook subscriptions on a local receiver (which checks every signature) " +
			"and report deliveries/s; creates persons, consents and subscriptions, so use a throwaway database",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "events", Value: 2000, Usage: "consent events to record"},
			&cli.IntFlag{Name: "subscriptions", Value: 5, Usage: "subscriptions, each receiving every event"},
			&cli.IntFlag{Name: "workers", Value: 16, Usage: "deliveries sent at once"},
			profileFlag,
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			e, err := openEnv(ctx, cmd, true)
			if err != nil {
				return err
			}
			defer e.Close()
			out := cmd.Root().Writer
			nEvents, nSubs := int(cmd.Int("events")), int(cmd.Int("subscriptions"))
			if nEvents < 1 || nSubs < 1 {
				return fmt.Errorf("--events and --subscriptions must be at least 1")
			}
			want := int64(nEvents * nSubs)

			// The receiver: checks each signature, counts, answers 204.
			var got, bad atomic.Int64
			done := make(chan struct{})
			secrets := map[string]string{} // path → secret
			var secretsMu sync.RWMutex
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			rs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				secretsMu.RLock()
				secret := secrets[r.URL.Path]
				secretsMu.RUnlock()
				ts, _ := strconv.ParseInt(r.Header.Get(webhook.HeaderTimestamp), 10, 64)
				if !webhook.Verify(secret, r.Header.Get(webhook.HeaderID), ts, body, r.Header.Get(webhook.HeaderSignature)) {
					bad.Add(1)
				}
				w.WriteHeader(http.StatusNoContent)
				if got.Add(1) == want {
					close(done)
				}
			}), ReadHeaderTimeout: 10 * time.Second}
			go rs.Serve(ln)
			defer rs.Close()

			// The receiver is on loopback: allowed here explicitly.
			svc := webhook.New(e.db, webhook.Options{AllowPrivate: true, Workers: int(cmd.Int("workers")), Log: e.log})
			for i := range nSubs {
				path := "/hook/" + strconv.Itoa(i)
				_, secret, err := svc.Create(ctx, cliActor, webhook.SubscriptionInput{URL: "http://" + ln.Addr().String() + path,
					Description: "bench", EventTypes: []string{"consent.granted"}})
				if err != nil {
					return describe(err)
				}
				secretsMu.Lock()
				secrets[path] = secret
				secretsMu.Unlock()
			}

			// The events: one consent each for new persons, recorded by
			// concurrent writers as an application would.
			start := time.Now()
			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, 32)
			for range 32 {
				wg.Go(func() {
					for {
						i := next.Add(1)
						if i > int64(nEvents) {
							return
						}
						p, err := e.ledger.CreatePerson(ctx, cliActor, ledger.PersonInput{FirstName: "Webhook", LastName: "Bench" + strconv.FormatInt(i, 10)})
						if err == nil {
							_, err = e.ledger.RecordConsent(ctx, cliActor, ledger.ConsentInput{PersonID: p.ID, Purpose: benchPurpose, Kind: ledger.Granted})
						}
						if err != nil {
							select {
							case errs <- err:
							default:
							}
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			if err := <-errs; err != nil {
				return describe(err)
			}
			fmt.Fprintf(out, "webhooks (%s): %d consent events recorded in %.2f s\n", e.db.Dialect, nEvents, time.Since(start).Seconds())

			stopProfile, err := startProfile(cmd)
			if err != nil {
				return err
			}
			start = time.Now()
			n, err := svc.Dispatch(ctx)
			if err != nil {
				stopProfile()
				return err
			}
			dispatched := time.Since(start)
			rctx, cancel := context.WithCancel(ctx)
			ran := make(chan struct{})
			go func() { defer close(ran); svc.Run(rctx) }()
			select {
			case <-done:
			case <-ctx.Done():
			}
			total := time.Since(start)
			cancel()
			<-ran
			stopProfile()
			fmt.Fprintf(out, "webhooks (%s): %d events × %d subscriptions, dispatch (deliveries written): %s\n", e.db.Dialect, nEvents, nSubs, rate(n, dispatched))
			fmt.Fprintf(out, "webhooks (%s): fan-out end to end (dispatch, sign, POST, log): %s, %d workers, %d bad signatures\n",
				e.db.Dialect, rate(int(got.Load()), total), cmd.Int("workers"), bad.Load())
			return ctx.Err()
		},
	}
}
