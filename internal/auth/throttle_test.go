package auth_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

const goodPassword = "correct horse battery staple"

// twoInstances is one fresh database opened twice, as by two servers
// behind a load balancer, each with its own auth service. Their clocks
// stand still, so no back-off runs out while a test runs.
func twoInstances(t *testing.T, e storetest.Engine) (*auth.Service, *auth.Service, *store.DB) {
	t.Helper()
	ctx := context.Background()
	opts := storetest.Options(t, e)
	var dbs []*store.DB
	for range 2 {
		db, err := store.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		dbs = append(dbs, db)
	}
	a, b := auth.New(dbs[0]), auth.New(dbs[1])
	now := time.Now()
	a.SetClock(func() time.Time { return now })
	b.SetClock(func() time.Time { return now })
	return a, b, dbs[0]
}

type outcome struct{ ok, bad, throttled int }

func (o *outcome) add(t *testing.T, mu *sync.Mutex, u *auth.User, err error) {
	mu.Lock()
	defer mu.Unlock()
	switch {
	case err == nil && u != nil:
		o.ok++
	case errors.Is(err, auth.ErrBadLogin):
		o.bad++
	case errors.Is(err, auth.ErrThrottled):
		var te *auth.ThrottledError
		if !errors.As(err, &te) || te.RetryAfter <= 0 {
			t.Errorf("a throttled login without its wait: %v", err)
		}
		o.throttled++
	default:
		t.Errorf("login: %v", err)
	}
}

// 200 simultaneous attempts on one account from one address, spread over
// two instances, the right password among them: at most five are checked
// at all (the free attempts of the pair), the rest are refused before
// hashing. Before, every one was hashed and the right one got in after 19
// wrong ones.
func TestSimultaneousLoginsCannotPassTheLimit(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		a, b, _ := twoInstances(t, e)
		if _, err := a.CreateUser(ctx, audit.System, "po@example.com", "Pia", auth.RolePrivacyOfficer, goodPassword); err != nil {
			t.Fatal(err)
		}
		free := auth.DefaultLoginLimits().Pair.Free
		var mu sync.Mutex
		var o outcome
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 200 {
			pw := fmt.Sprintf("wrong password %d", i)
			if i == 150 {
				pw = goodPassword
			}
			svc := []*auth.Service{a, b}[i%2]
			wg.Go(func() {
				<-start
				u, err := svc.Authenticate(ctx, "po@example.com", pw, "203.0.113.9")
				o.add(t, &mu, u, err)
			})
		}
		close(start)
		wg.Wait()
		if o.ok+o.bad > free || o.throttled < 200-free {
			t.Fatalf("%d passwords checked (%d right), %d refused; at most %d may be checked", o.ok+o.bad, o.ok, o.throttled, free)
		}
	})
}

// An attacker hammering the privacy officer's account from their address
// neither locks the officer out of her own address nor, when many
// addresses guess at once, out of the address she signed in from before;
// a new address is delayed by seconds, not locked for minutes.
func TestOwnerLogsInWhileOthersGuess(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		a, b, _ := twoInstances(t, e)
		if _, err := a.CreateUser(ctx, audit.System, "po@example.com", "Pia", auth.RolePrivacyOfficer, goodPassword); err != nil {
			t.Fatal(err)
		}
		lim := auth.DefaultLoginLimits()
		var mu sync.Mutex
		var o outcome
		for i := range 30 {
			svc := []*auth.Service{a, b}[i%2]
			u, err := svc.Authenticate(ctx, "po@example.com", fmt.Sprintf("guess %d", i), "203.0.113.9")
			o.add(t, &mu, u, err)
		}
		if o.ok != 0 || o.bad != lim.Pair.Free || o.throttled != 30-lim.Pair.Free {
			t.Fatalf("the attacker's address: %+v", o)
		}
		if u, err := b.Authenticate(ctx, "po@example.com", goodPassword, "198.51.100.7"); err != nil || u.Email != "po@example.com" {
			t.Fatalf("the owner is locked out by another address's guesses: %v", err)
		}
		// A guess from each of 40 addresses spends the per-account limit.
		o = outcome{}
		for i := range 40 {
			svc := []*auth.Service{a, b}[i%2]
			u, err := svc.Authenticate(ctx, "po@example.com", "guess", fmt.Sprintf("192.0.2.%d", i+1))
			o.add(t, &mu, u, err)
		}
		if o.ok != 0 || o.bad+lim.Pair.Free > lim.Account.Burst || o.throttled == 0 {
			t.Fatalf("40 addresses guessing one account: %+v", o)
		}
		_, err := a.Authenticate(ctx, "po@example.com", goodPassword, "198.18.0.1")
		var te *auth.ThrottledError
		if !errors.As(err, &te) || te.RetryAfter > lim.Account.Every {
			t.Fatalf("a new address while the account is attacked: %v; want a wait of at most %s", err, lim.Account.Every)
		}
		if u, err := a.Authenticate(ctx, "po@example.com", goodPassword, "198.51.100.7"); err != nil || u.Email != "po@example.com" {
			t.Fatalf("the owner's known address is locked out by many addresses' guesses: %v", err)
		}
	})
}

// One address guessing across accounts runs into the per-address limit,
// on both instances alike.
func TestOneAddressGuessingManyAccounts(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		a, b, db := twoInstances(t, e)
		lim := auth.DefaultLoginLimits()
		var mu sync.Mutex
		var o outcome
		for i := range lim.Address.Burst + 10 {
			svc := []*auth.Service{a, b}[i%2]
			u, err := svc.Authenticate(ctx, fmt.Sprintf("user%d@example.com", i), "guess", "203.0.113.9")
			o.add(t, &mu, u, err)
		}
		if o.bad != lim.Address.Burst || o.throttled != 10 {
			t.Fatalf("one address over %d accounts: %+v", lim.Address.Burst+10, o)
		}
		// Nothing stored names an address or an e-mail address.
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM login_backoff`).Scan(&n); err != nil || n == 0 {
			t.Fatalf("no back-off rows: %d %v", n, err)
		}
		for _, q := range []string{`SELECT key FROM login_backoff`, `SELECT key FROM rate_limits`} {
			rows, err := db.Query(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var k []byte
				rows.Scan(&k)
				if len(k) != 32 {
					t.Errorf("stored key %q is not a 32-byte hash", k)
				}
			}
			rows.Close()
		}
	})
}

// Waiting out the back-off lets the right password in: a delay, not a
// lock; each further failure doubles the delay.
func TestBackoffIsADelay(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		a, _, _ := twoInstances(t, e)
		now := time.Now()
		a.SetClock(func() time.Time { return now })
		if _, err := a.CreateUser(ctx, audit.System, "staff@example.com", "Sam", auth.RoleStaff, goodPassword); err != nil {
			t.Fatal(err)
		}
		free := auth.DefaultLoginLimits().Pair.Free
		for i := range free {
			if _, err := a.Authenticate(ctx, "staff@example.com", fmt.Sprint("guess", i), "203.0.113.9"); !errors.Is(err, auth.ErrBadLogin) {
				t.Fatalf("free attempt %d: %v", i+1, err)
			}
		}
		for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
			_, err := a.Authenticate(ctx, "staff@example.com", goodPassword, "203.0.113.9")
			var te *auth.ThrottledError
			if !errors.As(err, &te) || te.RetryAfter != want {
				t.Fatalf("after the free attempts: %v; want a wait of %s", err, want)
			}
			now = now.Add(want)
			if _, err := a.Authenticate(ctx, "staff@example.com", "another guess", "203.0.113.9"); !errors.Is(err, auth.ErrBadLogin) {
				t.Fatalf("a guess after waiting %s: %v", want, err)
			}
		}
		now = now.Add(8 * time.Second)
		if u, err := a.Authenticate(ctx, "staff@example.com", goodPassword, "203.0.113.9"); err != nil || u == nil {
			t.Fatalf("the right password after the delay: %v", err)
		}
		// The success clears the back-off.
		for i := range free {
			if _, err := a.Authenticate(ctx, "staff@example.com", fmt.Sprint("typo", i), "203.0.113.9"); !errors.Is(err, auth.ErrBadLogin) {
				t.Fatalf("attempt %d after a success: %v", i+1, err)
			}
		}
	})
}
