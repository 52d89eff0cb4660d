package ratelimit_test

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consento/consento/internal/ratelimit"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// twoInstances opens the same fresh database twice, as two servers behind
// a load balancer would.
func twoInstances(t *testing.T, e storetest.Engine) (*store.DB, *store.DB) {
	t.Helper()
	ctx := context.Background()
	opts := storetest.Options(t, e)
	a, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// A limit of ten holds across two instances on one database under 60
// simultaneous requests: exactly ten pass, and the refused ones learn how
// long to wait.
func TestLimitHoldsAcrossInstances(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		dbA, dbB := twoInstances(t, e)
		lims := []*ratelimit.Limiter{ratelimit.New(dbA), ratelimit.New(dbB)}
		r := ratelimit.Rate{Every: time.Hour, Burst: 10}
		var mu sync.Mutex
		allowed, refused := 0, 0
		var wg sync.WaitGroup
		for i := range 60 {
			wg.Go(func() {
				ok, wait, err := lims[i%2].Take(ctx, "test", r, "203.0.113.9")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Error(err)
				case ok:
					allowed++
				default:
					refused++
					if wait <= 0 || wait > time.Hour {
						t.Errorf("refused with wait %s", wait)
					}
				}
			})
		}
		wg.Wait()
		if allowed != 10 || refused != 50 {
			t.Fatalf("allowed %d, refused %d; want 10 and 50", allowed, refused)
		}
		// Another key has its own budget; the stored keys reveal no address.
		if ok, _, err := lims[1].Take(ctx, "test", r, "198.51.100.7"); err != nil || !ok {
			t.Fatalf("another address is limited too: %v %v", ok, err)
		}
		rows, err := dbA.Query(ctx, `SELECT key FROM rate_limits`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var k []byte
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			if len(k) != 32 || bytes.Contains(k, []byte("203.0.113")) || bytes.Contains(k, []byte("198.51")) {
				t.Fatalf("a stored key is not a hash: %q", k)
			}
			n++
		}
		if n != 2 {
			t.Fatalf("%d rows for two keys", n)
		}
	})
}

// The bucket refills at its rate, and swept rows are gone without
// changing any answer.
func TestLimitRefillsAndSweeps(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		db := storetest.Open(t, e)
		l := ratelimit.New(db)
		now := time.Now()
		l.SetClock(func() time.Time { return now })
		r := ratelimit.Rate{Every: 10 * time.Second, Burst: 3}
		for i := range 3 {
			if ok, _, err := l.Take(ctx, "t", r, "k"); err != nil || !ok {
				t.Fatalf("request %d of the burst refused: %v", i+1, err)
			}
		}
		ok, wait, err := l.Take(ctx, "t", r, "k")
		if err != nil || ok || wait != 10*time.Second {
			t.Fatalf("past the burst: ok=%v wait=%s err=%v", ok, wait, err)
		}
		now = now.Add(10 * time.Second)
		if ok, _, _ := l.Take(ctx, "t", r, "k"); !ok {
			t.Fatal("not refilled after one interval")
		}
		if ok, _, _ := l.Take(ctx, "t", r, "k"); ok {
			t.Fatal("refilled more than one request in one interval")
		}
		now = now.Add(time.Hour)
		if err := db.Write(ctx, func(tx *store.Tx) error { return l.SweepTx(tx, now.UnixMicro()) }); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM rate_limits`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d rows after the sweep (%v)", n, err)
		}
		for i := range 3 {
			if ok, _, _ := l.Take(ctx, "t", r, "k"); !ok {
				t.Fatalf("request %d after an hour refused", i+1)
			}
		}
	})
}

func TestBackoffDelays(t *testing.T) {
	b := ratelimit.Backoff{Free: 5, First: time.Second, Max: 15 * time.Minute}
	want := map[int]time.Duration{1: 0, 4: 0, 5: time.Second, 6: 2 * time.Second, 7: 4 * time.Second, 14: 512 * time.Second, 15: 15 * time.Minute, 100: 15 * time.Minute}
	for n, d := range want {
		if got := b.Delay(n); got != d {
			t.Errorf("delay after %d failures: %s, want %s", n, got, d)
		}
	}
}

// BenchmarkTake is the cost a rate limit adds to a public page: one
// conditional UPSERT through the batching writer, from parallel clients
// over 1,000 addresses.
func BenchmarkTake(b *testing.B) {
	for _, e := range []storetest.Engine{storetest.SQLite, storetest.Postgres} {
		b.Run(string(e), func(b *testing.B) {
			db := storetest.Open(b, e)
			l := ratelimit.New(db)
			r := ratelimit.PerSecond(1e6, 1e6)
			ctx := context.Background()
			var n atomic.Int64
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := l.Take(ctx, "bench", r, strconv.FormatInt(n.Add(1)%1000, 10)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
