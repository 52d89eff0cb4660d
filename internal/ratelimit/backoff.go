package ratelimit

import (
	"fmt"
	"time"

	"github.com/consento/consento/internal/store"
)

// Backoff is exponential back-off of failed attempts for one key: Free
// attempts, then after the n-th the next waits First·2^(n-Free), at most
// Max. A key left alone for BackoffForget starts afresh.
type Backoff struct {
	Free  int
	First time.Duration
	Max   time.Duration
}

// BackoffForget is how long a key must rest before its failures are
// forgotten.
const BackoffForget = 24 * time.Hour

// Delay is the wait after the n-th attempt.
func (b Backoff) Delay(n int) time.Duration {
	if n < b.Free {
		return 0
	}
	d := b.First
	for i := b.Free; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// BackoffState is what an attempt found.
type BackoffState struct {
	OK    bool          // the attempt may go ahead (it is counted as a failure until Succeeded)
	Wait  time.Duration // when !OK: until the next attempt is allowed
	Known bool          // the key succeeded before and is still remembered
}

// AttemptTx reserves an attempt under key: counted before it is made, so
// simultaneous attempts cannot all slip under the limit. The row is
// locked until the transaction ends.
func (l *Limiter) AttemptTx(tx *store.Tx, key [32]byte, b Backoff) (BackoffState, error) {
	now := l.now().UnixMicro()
	if _, err := tx.Exec(`INSERT INTO login_backoff (key, failures, next_at, seen_at, known_until) VALUES (?, 0, 0, ?, 0) ON CONFLICT (key) DO NOTHING`, key[:], now); err != nil {
		return BackoffState{}, fmt.Errorf("ratelimit: attempt: %w", err)
	}
	q := `SELECT failures, next_at, seen_at, known_until FROM login_backoff WHERE key = ?`
	if tx.Dialect() == store.Postgres {
		q += ` FOR UPDATE` // SQLite: the write transaction holds the database already
	}
	var failures, next, seen, known int64
	if err := tx.QueryRow(q, key[:]).Scan(&failures, &next, &seen, &known); err != nil {
		return BackoffState{}, fmt.Errorf("ratelimit: attempt: %w", err)
	}
	st := BackoffState{Known: known > now}
	if next > now {
		st.Wait = time.Duration(next-now) * time.Microsecond
		return st, nil
	}
	if seen < now-BackoffForget.Microseconds() {
		failures = 0
	}
	failures++
	next = now + b.Delay(int(failures)).Microseconds()
	if _, err := tx.Exec(`UPDATE login_backoff SET failures = ?, next_at = ?, seen_at = ? WHERE key = ?`, failures, next, now, key[:]); err != nil {
		return BackoffState{}, fmt.Errorf("ratelimit: attempt: %w", err)
	}
	st.OK = true
	return st, nil
}

// SucceededTx clears the failures of key and remembers its success for
// remember.
func (l *Limiter) SucceededTx(tx *store.Tx, key [32]byte, remember time.Duration) error {
	now := l.now().UnixMicro()
	if _, err := tx.Exec(`UPDATE login_backoff SET failures = 0, next_at = 0, seen_at = ?, known_until = ? WHERE key = ?`, now, now+remember.Microseconds(), key[:]); err != nil {
		return fmt.Errorf("ratelimit: success: %w", err)
	}
	return nil
}
