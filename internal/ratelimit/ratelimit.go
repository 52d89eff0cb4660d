// Package ratelimit keeps rate limits in the database, so that every
// instance behind a load balancer counts against the same limit: N
// instances give an attacker no more tries than one.
//
// A limit is a GCRA bucket (generic cell rate algorithm): Burst requests
// at once, then one per Every. Each request is one conditional UPSERT of
// one small row per key, atomic on SQLite and PostgreSQL alike. Keys are
// stored only as HMAC-SHA-256 under a random key of the database, never
// the address, link or e-mail address they count. Rows whose time has
// passed are swept.
package ratelimit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/consento/consento/internal/store"
)

// Rate is a limit: Burst requests at once, then one every Every.
type Rate struct {
	Every time.Duration
	Burst int
}

// PerSecond is the rate of n requests a second with the given burst.
func PerSecond(n float64, burst int) Rate {
	return Rate{Every: time.Duration(float64(time.Second) / n), Burst: max(1, burst)}
}

func (r Rate) tau() int64 { return int64(r.Burst-1) * r.Every.Microseconds() }

// Limiter takes requests from the database-backed limits.
type Limiter struct {
	db  *store.DB
	now func() time.Time

	keyMu sync.Mutex
	key   []byte // HMAC key of the row keys, loaded on first use

	swept atomic.Int64 // when this instance last swept, µs

	denyMu sync.Mutex
	denied map[[32]byte]int64 // row key -> denied until (µs): no database trip before
}

// New returns a limiter over db.
func New(db *store.DB) *Limiter {
	return &Limiter{db: db, now: time.Now, denied: map[[32]byte]int64{}}
}

// SetClock replaces the clock (tests).
func (l *Limiter) SetClock(now func() time.Time) { l.now = now }

// Now is the limiter's clock.
func (l *Limiter) Now() time.Time { return l.now() }

// DB is the database the limits live in.
func (l *Limiter) DB() *store.DB { return l.db }

const keySetting = "rate_limit_key"

// Key hashes what a limit counts (name: the limit, value: an address, a
// link, an e-mail address) into the key of its row.
func (l *Limiter) Key(ctx context.Context, name, value string) ([32]byte, error) {
	k, err := l.hmacKey(ctx)
	if err != nil {
		return [32]byte{}, err
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write([]byte(value))
	var out [32]byte
	copy(out[:], m.Sum(nil))
	return out, nil
}

func (l *Limiter) hmacKey(ctx context.Context) ([]byte, error) {
	l.keyMu.Lock()
	defer l.keyMu.Unlock()
	if l.key != nil {
		return l.key, nil
	}
	var v string
	if err := l.db.QueryRow(ctx, `SELECT value FROM settings WHERE key = ?`, keySetting).Scan(&v); err != nil {
		return nil, fmt.Errorf("ratelimit: key: %w", err)
	}
	k, err := hex.DecodeString(v)
	if err != nil || len(k) < 16 {
		return nil, errors.New("ratelimit: the stored rate limit key is malformed")
	}
	l.key = k
	return k, nil
}

// Take spends one request of value under the limit name at rate r. When
// the limit is spent it returns ok=false and how long until the next
// request is allowed.
func (l *Limiter) Take(ctx context.Context, name string, r Rate, value string) (ok bool, wait time.Duration, err error) {
	key, err := l.Key(ctx, name, value)
	if err != nil {
		return false, 0, err
	}
	now := l.now().UnixMicro()
	if until := l.deniedUntil(key, now); until > now {
		return false, time.Duration(until-now) * time.Microsecond, nil
	}
	var res takeResult
	err = l.db.Write(ctx, func(tx *store.Tx) error {
		// Read the clock inside the transaction, which every instance's
		// writes pass one at a time: a request that commits later never
		// carries an earlier time.
		now = l.now().UnixMicro()
		var err error
		res, err = l.takeTx(tx, key, r, now)
		if err != nil {
			return err
		}
		return l.maybeSweepTx(tx, now)
	})
	if err != nil {
		return false, 0, err
	}
	if !res.ok {
		l.deny(key, now+res.wait.Microseconds())
	}
	return res.ok, res.wait, nil
}

type takeResult struct {
	ok   bool
	wait time.Duration
}

var gcraSQL = map[store.Dialect]string{
	store.SQLite: `INSERT INTO rate_limits (key, tat) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET tat = max(rate_limits.tat, ?) + ?
		WHERE rate_limits.tat <= ? RETURNING tat`,
	store.Postgres: `INSERT INTO rate_limits (key, tat) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET tat = GREATEST(rate_limits.tat, ?) + ?
		WHERE rate_limits.tat <= ? RETURNING tat`,
}

// TakeTx is Take inside a write transaction (with other limits of the
// same decision), without the cache of denials.
func (l *Limiter) TakeTx(tx *store.Tx, key [32]byte, r Rate) (ok bool, wait time.Duration, err error) {
	res, err := l.takeTx(tx, key, r, l.now().UnixMicro())
	return res.ok, res.wait, err
}

func (l *Limiter) takeTx(tx *store.Tx, key [32]byte, r Rate, now int64) (takeResult, error) {
	every := max(r.Every.Microseconds(), 1)
	tau := r.tau()
	var tat int64
	err := tx.QueryRow(gcraSQL[tx.Dialect()], key[:], now+every, now, every, now+tau).Scan(&tat)
	if err == nil {
		return takeResult{ok: true}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return takeResult{}, fmt.Errorf("ratelimit: take: %w", err)
	}
	// Refused: the row stays as it was; tell when it allows again.
	if err := tx.QueryRow(`SELECT tat FROM rate_limits WHERE key = ?`, key[:]).Scan(&tat); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return takeResult{}, fmt.Errorf("ratelimit: take: %w", err)
	}
	wait := time.Duration(tat-tau-now) * time.Microsecond
	return takeResult{wait: max(wait, time.Millisecond)}, nil
}

// RefundTx gives back one request taken under r (a login that turned out
// to be the account's owner).
func (l *Limiter) RefundTx(tx *store.Tx, key [32]byte, r Rate) error {
	if _, err := tx.Exec(`UPDATE rate_limits SET tat = tat - ? WHERE key = ?`, max(r.Every.Microseconds(), 1), key[:]); err != nil {
		return fmt.Errorf("ratelimit: refund: %w", err)
	}
	return nil
}

// SweepInterval is how often an instance deletes expired rows.
const SweepInterval = time.Minute

// MaybeSweepTx sweeps expired rows if this instance has not for a while.
func (l *Limiter) MaybeSweepTx(tx *store.Tx) error { return l.maybeSweepTx(tx, l.now().UnixMicro()) }

// maybeSweepTx deletes expired rows, at most once a SweepInterval per
// instance: a bucket whose time has passed is the same as none.
func (l *Limiter) maybeSweepTx(tx *store.Tx, now int64) error {
	last := l.swept.Load()
	if now-last < SweepInterval.Microseconds() || !l.swept.CompareAndSwap(last, now) {
		return nil
	}
	return l.SweepTx(tx, now)
}

// SweepTx deletes the rows that no longer limit anything at now (µs).
func (l *Limiter) SweepTx(tx *store.Tx, now int64) error {
	if _, err := tx.Exec(`DELETE FROM rate_limits WHERE tat < ?`, now); err != nil {
		return fmt.Errorf("ratelimit: sweep: %w", err)
	}
	if _, err := tx.Exec(`DELETE FROM login_backoff WHERE seen_at < ? AND known_until < ? AND next_at < ?`, now-BackoffForget.Microseconds(), now, now); err != nil {
		return fmt.Errorf("ratelimit: sweep: %w", err)
	}
	l.denyMu.Lock()
	for k, until := range l.denied {
		if until <= now {
			delete(l.denied, k)
		}
	}
	l.denyMu.Unlock()
	return nil
}

// The cache of denials spares the database a flood: once the database
// said a key is spent until t, every instance would say so until t
// (only a refund moves t earlier, and refunds are not for flooders).
const maxDenied = 100_000

func (l *Limiter) deniedUntil(key [32]byte, now int64) int64 {
	l.denyMu.Lock()
	defer l.denyMu.Unlock()
	until, ok := l.denied[key]
	if ok && until <= now {
		delete(l.denied, key)
		return 0
	}
	return until
}

func (l *Limiter) deny(key [32]byte, until int64) {
	l.denyMu.Lock()
	defer l.denyMu.Unlock()
	if len(l.denied) >= maxDenied {
		clear(l.denied)
	}
	l.denied[key] = until
}
