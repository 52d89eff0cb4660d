package cli

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v3"
)

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
