package mail

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"golang.org/x/time/rate"

	"github.com/consento/consento/internal/store"
)

// Config tunes the worker.
type Config struct {
	SMTP *SMTP  // nil: capture mail instead of sending it
	From string // sender address
	// Rate is the most mails sent per second (default 10).
	Rate float64
	// MaxAttempts before a mail goes dead (default 8).
	MaxAttempts int
	// Poll is how often the worker looks for due mail (default 2 s).
	Poll time.Duration
	// Batch is how many mails one claim takes (default 50).
	Batch int
	// Retention: sent, captured and failed mails older than this are
	// deleted (storage limitation, GDPR Art. 5(1)(e)); 0 keeps them.
	Retention time.Duration
}

// Worker delivers the outbox.
type Worker struct {
	db     *store.DB
	cfg    Config
	sender Sender // nil: capture
	log    *slog.Logger
	now    func() time.Time
}

// NewWorker returns a worker over db.
func NewWorker(db *store.DB, cfg Config, log *slog.Logger) *Worker {
	if cfg.Rate <= 0 {
		cfg.Rate = 10
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 50
		if cfg.SMTP == nil {
			cfg.Batch = 500 // capturing has no server to pace it
		}
	}
	w := &Worker{db: db, cfg: cfg, log: log, now: func() time.Time { return time.Now().UTC() }}
	if cfg.SMTP != nil {
		lim := rate.NewLimiter(rate.Limit(cfg.Rate), max(1, int(math.Ceil(cfg.Rate))))
		w.sender = &smtpSender{cfg: cfg.SMTP, from: cfg.From, wait: lim.Wait}
	}
	return w
}

// SetSender replaces the delivery (nil captures).
func (w *Worker) SetSender(s Sender) { w.sender = s }

// SetClock replaces the clock (for tests of the backoff).
func (w *Worker) SetClock(now func() time.Time) { w.now = now }

// Run delivers due mail until ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	var purged time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := w.Drain(ctx); err != nil && ctx.Err() == nil {
			w.log.Error("mail worker", "err", err)
		}
		if w.cfg.Retention > 0 && time.Since(purged) > time.Hour {
			purged = time.Now()
			if n, err := w.Purge(ctx); err != nil && ctx.Err() == nil {
				w.log.Error("mail retention", "err", err)
			} else if n > 0 {
				w.log.Info("old mails deleted", "count", n)
			}
		}
		t.Reset(w.cfg.Poll)
	}
}

// Drain sends due mail batch by batch until none is due and returns how
// many mails it handled (sent, captured or failed). The outcome of a batch
// is written in the same transaction that claims the next one.
func (w *Worker) Drain(ctx context.Context) (int, error) {
	total := 0
	var done []outcome
	for {
		batch, err := w.claim(ctx, done)
		if err != nil || len(batch) == 0 {
			if err == nil {
				err = ctx.Err()
			}
			return total, err
		}
		done = w.deliver(ctx, batch)
		total += len(batch)
	}
}

// lease is how long a claimed mail stays with one worker before another
// may take it (a crashed worker's mail is retried).
const lease = 5 * time.Minute

// claim records the outcome of the last batch and, unless ctx ended,
// takes the next due mails.
func (w *Worker) claim(ctx context.Context, done []outcome) ([]Outgoing, error) {
	var out []Outgoing
	// The outcome is written even when ctx ended: the mail left already.
	err := w.db.Write(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		out = out[:0]
		if err := w.record(tx, done); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		now := store.Micros(w.now())
		lock := ""
		if tx.Dialect() == store.Postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		// A mail whose worker died while sending is due again.
		if _, err := tx.Exec(`UPDATE mail_outbox SET status = 'queued' WHERE status = 'sending' AND locked_until < ?`, now); err != nil {
			return fmt.Errorf("mail: reclaim: %w", err)
		}
		rows, err := tx.Query(`UPDATE mail_outbox SET status = 'sending', locked_until = ?, attempts = attempts + 1 WHERE id IN (
			SELECT id FROM mail_outbox WHERE status = 'queued' AND next_attempt_at <= ?
			AND NOT EXISTS (SELECT 1 FROM mail_blocks b WHERE b.person_id = mail_outbox.person_id)
			AND NOT EXISTS (SELECT 1 FROM persons p WHERE p.id = mail_outbox.person_id AND p.status = 'restricted')
			ORDER BY next_attempt_at, id LIMIT ?`+lock+`)
			RETURNING id, recipient, subject, text_body, html_body, unsubscribe`, now+lease.Microseconds(), now, w.cfg.Batch)
		if err != nil {
			return fmt.Errorf("mail: claim: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var o Outgoing
			if err := rows.Scan(&o.ID, &o.To, &o.Subject, &o.Text, &o.HTML, &o.Unsubscribe); err != nil {
				return err
			}
			out = append(out, o)
		}
		if err := rows.Err(); err != nil || w.sender == nil {
			return err
		}
		rows.Close()
		return loadAttachments(tx, out)
	})
	return out, err
}

type outcome struct {
	id  int64
	err error
}

// deliver sends (or captures) a batch and returns each mail's outcome.
func (w *Worker) deliver(ctx context.Context, batch []Outgoing) []outcome {
	results := make([]outcome, 0, len(batch))
	if w.sender == nil {
		for _, o := range batch {
			results = append(results, outcome{id: o.ID})
		}
		return results
	}
	sendErr := w.sender.Send(ctx, batch, func(i int, err error) { results = append(results, outcome{batch[i].ID, err}) })
	if sendErr != nil { // the rest of the batch failed with the connection
		w.log.Warn("mail delivery failed", "err", sendErr, "mails", len(batch)-len(results))
		for _, o := range batch[len(results):] {
			results = append(results, outcome{o.ID, sendErr})
		}
	}
	return results
}

// record writes what became of each mail: sent (or captured), queued
// again after a backoff, or dead after the last attempt.
func (w *Worker) record(tx *store.Tx, results []outcome) error {
	if len(results) == 0 {
		return nil
	}
	done := StatusSent
	if w.sender == nil {
		done = StatusCaptured
	}
	now := w.now()
	var ok []any
	for _, r := range results {
		if r.err == nil {
			ok = append(ok, r.id)
		}
	}
	if len(ok) > 0 {
		args := append([]any{done, store.Micros(now)}, ok...)
		if _, err := tx.Exec(`UPDATE mail_outbox SET status = ?, sent_at = ?, locked_until = NULL, last_error = '' WHERE id IN (`+store.Placeholders(len(ok))+`)`, args...); err != nil {
			return err
		}
	}
	for _, r := range results {
		if r.err == nil {
			continue
		}
		var attempts int
		if err := tx.QueryRow(`SELECT attempts FROM mail_outbox WHERE id = ?`, r.id).Scan(&attempts); err != nil {
			return err
		}
		status, next := StatusQueued, now.Add(Backoff(attempts))
		if attempts >= w.cfg.MaxAttempts {
			status = StatusDead
		}
		msg := r.err.Error()
		if len(msg) > 500 {
			msg = msg[:500]
		}
		if _, err := tx.Exec(`UPDATE mail_outbox SET status = ?, next_attempt_at = ?, locked_until = NULL, last_error = ? WHERE id = ?`,
			status, store.Micros(next), msg, r.id); err != nil {
			return err
		}
	}
	return nil
}

// Purge deletes sent, captured and failed mails older than the retention,
// a thousand per transaction, and returns how many it deleted.
func (w *Worker) Purge(ctx context.Context) (int, error) {
	if w.cfg.Retention <= 0 {
		return 0, nil
	}
	cutoff := store.Micros(w.now().Add(-w.cfg.Retention))
	total := 0
	for ctx.Err() == nil {
		n := int64(0)
		err := w.db.Write(ctx, func(tx *store.Tx) error {
			res, err := tx.Exec(`DELETE FROM mail_outbox WHERE id IN (SELECT id FROM mail_outbox WHERE status IN ('sent', 'captured', 'dead') AND created_at < ? LIMIT 1000)`, cutoff)
			if err != nil {
				return fmt.Errorf("mail: purge: %w", err)
			}
			n, _ = res.RowsAffected()
			return nil
		})
		if err != nil {
			return total, err
		}
		total += int(n)
		if n < 1000 {
			return total, nil
		}
	}
	return total, ctx.Err()
}

// Backoff is the wait after the n-th failed attempt: 30 s doubling each
// time, at most 6 hours.
func Backoff(n int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < n && d < 6*time.Hour; i++ {
		d *= 2
	}
	return min(d, 6*time.Hour)
}
