package auth

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/consento/consento/internal/ratelimit"
	"github.com/consento/consento/internal/store"
)

// LoginLimits throttle staff logins (OWASP authentication cheat sheet):
// every limit lives in the database, so instances behind a load balancer
// share it, and every attempt is counted before its password is hashed.
type LoginLimits struct {
	// Pair is the back-off per account and client address: a few free
	// attempts, then growing waits. A success clears it.
	Pair ratelimit.Backoff
	// Account is the looser limit per account over all addresses. It
	// delays (a wait of at most one interval), it never locks; an address
	// the account signed in from within Remember is exempt, so guesses
	// from elsewhere never keep the owner out.
	Account ratelimit.Rate
	// Address is the limit per client address over all accounts.
	Address ratelimit.Rate
	// Remember is how long a successful login exempts its address from the
	// per-account limit.
	Remember time.Duration
}

// DefaultLoginLimits are the limits of the server (README, "Staff UI").
func DefaultLoginLimits() LoginLimits {
	return LoginLimits{
		Pair:     ratelimit.Backoff{Free: 5, First: time.Second, Max: 15 * time.Minute},
		Account:  ratelimit.Rate{Every: 30 * time.Second, Burst: 20},
		Address:  ratelimit.Rate{Every: 15 * time.Second, Burst: 20},
		Remember: 30 * 24 * time.Hour,
	}
}

// SetClock replaces the clock of the login limits (tests).
func (s *Service) SetClock(now func() time.Time) { s.limiter.SetClock(now) }

// MaxConcurrentHashes bounds the argon2id work of one instance: each hash
// takes 64 MiB for its moment, so logins wait for one of these slots
// (at most hashQueueWait, then they are answered "try again in 1 s")
// instead of growing the server by 64 MiB per simultaneous attempt.
const MaxConcurrentHashes = 2

const hashQueueWait = 2 * time.Second

// hashSlot waits for a slot to hash a password in; ok=false when none
// came free within hashQueueWait.
func (s *Service) hashSlot(ctx context.Context) (release func(), ok bool) {
	release = s.releaseHashSlot
	select {
	case s.hashSlots <- struct{}{}:
		return release, true
	default:
	}
	t := time.NewTimer(hashQueueWait)
	defer t.Stop()
	select {
	case s.hashSlots <- struct{}{}:
		return release, true
	case <-t.C:
	case <-ctx.Done():
	}
	return nil, false
}

// hashPassword is HashPassword in a hash slot, waiting as long as ctx.
func (s *Service) hashPassword(ctx context.Context, pw string) (string, error) {
	select {
	case s.hashSlots <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer s.releaseHashSlot()
	return HashPassword(pw)
}

func (s *Service) releaseHashSlot() {
	// Hand the hash's 64 MiB back before the next hash asks for its own,
	// rather than letting the heap grow to twice the live size.
	runtime.GC()
	<-s.hashSlots
}

// loginReservation is an attempt counted before its password is checked.
type loginReservation struct {
	ok                     bool
	wait                   time.Duration // when !ok
	pair, account, address [32]byte
	accountTaken           bool // the per-account limit was charged
}

// reserveLogin counts a login attempt under all three limits in one
// transaction, or under none when one of them refuses it.
func (s *Service) reserveLogin(ctx context.Context, email, client string) (*loginReservation, error) {
	r := &loginReservation{}
	var err error
	if r.pair, err = s.limiter.Key(ctx, "login/pair", email+"\x00"+client); err != nil {
		return nil, err
	}
	if r.account, err = s.limiter.Key(ctx, "login/account", email); err != nil {
		return nil, err
	}
	if r.address, err = s.limiter.Key(ctx, "login/address", client); err != nil {
		return nil, err
	}
	lim := s.loginLimits
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		r.ok, r.wait, r.accountTaken = false, 0, false // a write may run twice
		if err := s.limiter.MaybeSweepTx(tx); err != nil {
			return err
		}
		if _, err := tx.Exec(`SAVEPOINT login_limits`); err != nil {
			return fmt.Errorf("auth: login limits: %w", err)
		}
		if err := s.takeLoginTx(tx, r, lim); err != nil {
			return err
		}
		if !r.ok { // count nothing of a refused attempt
			if _, err := tx.Exec(`ROLLBACK TO SAVEPOINT login_limits`); err != nil {
				return fmt.Errorf("auth: login limits: %w", err)
			}
		}
		if _, err := tx.Exec(`RELEASE SAVEPOINT login_limits`); err != nil {
			return fmt.Errorf("auth: login limits: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (s *Service) takeLoginTx(tx *store.Tx, r *loginReservation, lim LoginLimits) error {
	st, err := s.limiter.AttemptTx(tx, r.pair, lim.Pair)
	if err != nil || !st.OK {
		r.wait = st.Wait
		return err
	}
	if !st.Known {
		ok, wait, err := s.limiter.TakeTx(tx, r.account, lim.Account)
		if err != nil || !ok {
			r.wait = wait
			return err
		}
		r.accountTaken = true
	}
	ok, wait, err := s.limiter.TakeTx(tx, r.address, lim.Address)
	if err != nil || !ok {
		r.wait = wait
		return err
	}
	r.ok = true
	return nil
}

// loginSucceeded clears the pair's failures, remembers the address for
// the account and gives back what the attempt took from the per-account
// and per-address limits: they count guesses, not the owner's logins.
func (s *Service) loginSucceeded(ctx context.Context, r *loginReservation) error {
	lim := s.loginLimits
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if err := s.limiter.SucceededTx(tx, r.pair, lim.Remember); err != nil {
			return err
		}
		if r.accountTaken {
			if err := s.limiter.RefundTx(tx, r.account, lim.Account); err != nil {
				return err
			}
		}
		return s.limiter.RefundTx(tx, r.address, lim.Address)
	})
}
