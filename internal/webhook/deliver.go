package webhook

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/consento/consento/internal/store"
)

// job is a claimed delivery.
type job struct {
	id, subID, lease int64
	msgID, url       string
	payload          []byte
	retry            int
	secrets          []string
}

// lease is how long a claim holds a delivery: time to wait for a worker
// and to send. Another instance takes the delivery over only after it.
func (s *Service) lease() time.Duration { return 20*s.opts.Timeout + 30*time.Second }

// claim takes up to limit due deliveries of active subscriptions for this
// worker. On PostgreSQL, FOR UPDATE SKIP LOCKED keeps two instances from
// claiming the same rows; the lease keeps them from taking a claimed one.
func (s *Service) claim(ctx context.Context, limit int) ([]job, error) {
	var out []job
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		out = out[:0]
		now := s.now()
		lease := rand.Int64N(1<<62) + 1
		// An ordered range of the due index, whatever the backlog: the
		// deliveries of inactive subscriptions are parked (see paused).
		pick := `SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_at <= ? AND locked_until <= ? ORDER BY next_at LIMIT ` + strconv.Itoa(limit)
		if tx.Dialect() == store.Postgres {
			pick += ` FOR UPDATE SKIP LOCKED`
		}
		rows, err := tx.Query(`UPDATE webhook_deliveries SET lease = ?, locked_until = ? WHERE id IN (`+pick+`)
			RETURNING id, subscription_id, msg_id, payload, retry`, lease, store.Micros(now.Add(s.lease())), store.Micros(now), store.Micros(now))
		if err != nil {
			return fmt.Errorf("webhook: claim: %w", err)
		}
		for rows.Next() {
			j := job{lease: lease}
			var payload string
			if err := rows.Scan(&j.id, &j.subID, &j.msgID, &payload, &j.retry); err != nil {
				rows.Close()
				return fmt.Errorf("webhook: claim: %w", err)
			}
			j.payload = []byte(payload)
			out = append(out, j)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(out) == 0 {
			return err
		}
		type target struct {
			url     string
			secrets []string
		}
		targets := map[int64]target{}
		srows, err := tx.Query(`SELECT id, url, secret, previous_secret, previous_until FROM webhook_subscriptions WHERE active = 1`)
		if err != nil {
			return fmt.Errorf("webhook: claim: %w", err)
		}
		defer srows.Close()
		for srows.Next() {
			var id int64
			var u, secret, prev string
			var until sql.NullInt64
			if err := srows.Scan(&id, &u, &secret, &prev, &until); err != nil {
				return err
			}
			t := target{url: u, secrets: []string{secret}}
			if prev != "" && until.Valid && until.Int64 > store.Micros(now) {
				t.secrets = append(t.secrets, prev)
			}
			targets[id] = t
		}
		if err := srows.Err(); err != nil {
			return err
		}
		srows.Close()
		kept := out[:0]
		for _, j := range out {
			t, ok := targets[j.subID]
			if !ok { // deactivated since: park it
				if _, err := tx.Exec(`UPDATE webhook_deliveries SET lease = 0, locked_until = 0, next_at = ? WHERE id = ?`, paused, j.id); err != nil {
					return err
				}
				continue
			}
			j.url, j.secrets = t.url, t.secrets
			kept = append(kept, j)
		}
		out = kept
		return nil
	})
	return out, err
}

// paused is the next_at of the pending deliveries of an inactive
// subscription: they wait, out of the due range, until it is activated.
const paused int64 = 1 << 62

// park moves a subscription's pending deliveries out of the due range
// (active=false) or back into it, due now.
func park(tx *store.Tx, subID int64, active bool, now int64) error {
	q := `UPDATE webhook_deliveries SET next_at = ? WHERE subscription_id = ? AND status = 'pending' AND next_at <> ?`
	args := []any{paused, subID, paused}
	if active {
		q = `UPDATE webhook_deliveries SET next_at = ? WHERE subscription_id = ? AND status = 'pending' AND next_at = ?`
		args = []any{now, subID, paused}
	}
	if _, err := tx.Exec(q, args...); err != nil {
		return fmt.Errorf("webhook: park deliveries: %w", err)
	}
	return nil
}

// outcome is what one attempt found.
type outcome struct {
	at       time.Time
	code     int
	duration time.Duration
	err      string
	response string
}

// send makes one attempt: a signed POST of the stored body.
func (s *Service) send(ctx context.Context, j job) outcome {
	at := s.now()
	o := outcome{at: at}
	ts := at.Unix()
	var sigs []string
	for _, secret := range j.secrets {
		sig, err := Sign(secret, j.msgID, ts, j.payload)
		if err != nil {
			o.err = "the subscription's secret is not valid"
			return o
		}
		sigs = append(sigs, sig)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.url, bytes.NewReader(j.payload))
	if err != nil {
		o.err = "invalid receiver URL"
		return o
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Consento-Webhooks/1")
	req.Header.Set(HeaderID, j.msgID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, strings.Join(sigs, " "))
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		o.duration = time.Since(start)
		// The URL may hold a token in its query: report the cause only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		o.err = truncate(err.Error(), 500)
		return o
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	o.duration, o.code = time.Since(start), resp.StatusCode
	o.response = strings.ToValidUTF8(string(body), "\uFFFD")
	return o
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// result is an attempt to record.
type result struct {
	j job
	o outcome
}

// maxRecord is the most attempts one transaction records.
const maxRecord = 256

// record logs attempts and moves their deliveries on, in one transaction
// with a few multi-row statements: delivered on 2xx, failed (and the
// subscription disabled) on 410 Gone, else retried after the next wait of
// Schedule until it runs out. A delivery whose lease was taken over (the
// attempt outlived it) keeps its new state; the attempt is logged anyway.
func (s *Service) record(ctx context.Context, rs []result) error {
	for len(rs) > 0 {
		n := min(len(rs), maxRecord)
		if err := s.db.Write(ctx, func(tx *store.Tx) error { return s.recordTx(tx, rs[:n]) }); err != nil {
			return err
		}
		rs = rs[n:]
	}
	return nil
}

func (s *Service) recordTx(tx *store.Tx, rs []result) error {
	nowT := s.now()
	now := store.Micros(nowT)
	pg := tx.Dialect() == store.Postgres
	attempts := make([]any, 0, len(rs)*6)
	updates := make([]any, 0, len(rs)*7)
	for _, r := range rs {
		j, o := r.j, r.o
		attempts = append(attempts, j.id, store.Micros(o.at), o.code, o.duration.Microseconds(), o.err, o.response)
		status, retry, next := StatusPending, j.retry, now
		switch {
		case o.code >= 200 && o.code < 300:
			status = StatusDelivered
		case o.code == http.StatusGone:
			status = StatusFailed
			if _, err := tx.Exec(`UPDATE webhook_subscriptions SET active = 0, disabled_reason = 'gone', updated_at = ? WHERE id = ?`, now, j.subID); err != nil {
				return fmt.Errorf("webhook: disable subscription: %w", err)
			}
			if err := park(tx, j.subID, false, now); err != nil {
				return err
			}
		case j.retry < len(Schedule):
			retry++
			next = store.Micros(nowT.Add(s.jitter(Schedule[j.retry])))
		default:
			status = StatusFailed
		}
		lastErr := o.err
		if lastErr == "" && status != StatusDelivered {
			lastErr = "HTTP " + strconv.Itoa(o.code)
		}
		updates = append(updates, j.id, j.lease, status, retry, next, o.code, lastErr)
	}
	row := "(" + store.Placeholders(6) + ")"
	if _, err := tx.Exec(`INSERT INTO webhook_attempts (delivery_id, at, status_code, duration_us, error, response) VALUES `+
		strings.Repeat(row+",", len(rs)-1)+row, attempts...); err != nil {
		return fmt.Errorf("webhook: log attempts: %w", err)
	}
	row = "(" + store.Placeholders(7) + ")"
	if pg { // parameters in VALUES need their types
		row = "(?::bigint, ?::bigint, ?::text, ?::bigint, ?::bigint, ?::bigint, ?::text)"
	}
	_, err := tx.Exec(`WITH v (id, lease, status, retry, next_at, code, err) AS (VALUES `+strings.Repeat(row+",", len(rs)-1)+row+`)
		UPDATE webhook_deliveries SET status = v.status, attempts = webhook_deliveries.attempts + 1, retry = v.retry, next_at = v.next_at,
		lease = 0, locked_until = 0, last_code = v.code, last_error = v.err, updated_at = ?
		FROM v WHERE webhook_deliveries.id = v.id AND webhook_deliveries.lease = v.lease`, append(updates, now)...)
	if err != nil {
		return fmt.Errorf("webhook: record attempts: %w", err)
	}
	return nil
}

// DeliverDue dispatches new events and sends every due delivery, Workers
// at a time, until none is due; it returns the number of attempts.
func (s *Service) DeliverDue(ctx context.Context) (int, error) {
	total := 0
	for {
		if _, err := s.Dispatch(ctx); err != nil {
			return total, err
		}
		jobs, err := s.claim(ctx, s.opts.Workers*4)
		if err != nil || len(jobs) == 0 {
			return total, err
		}
		ch := make(chan int)
		rs := make([]result, len(jobs))
		var wg sync.WaitGroup
		for range min(s.opts.Workers, len(jobs)) {
			wg.Go(func() {
				for i := range ch {
					rs[i] = result{jobs[i], s.send(ctx, jobs[i])}
				}
			})
		}
		for i := range jobs {
			ch <- i
		}
		close(ch)
		wg.Wait()
		if err := s.record(ctx, rs); err != nil {
			return total, err
		}
		total += len(jobs)
	}
}

// Run dispatches and delivers until ctx ends: Workers goroutines send
// from a queue the loop keeps filled with claimed deliveries, and a
// recorder logs finished attempts in batches. At shutdown, queued
// deliveries are released, and attempts under way are finished (each is
// bounded by Timeout) and recorded.
func (s *Service) Run(ctx context.Context) {
	work := make(chan job, 8*s.opts.Workers)
	results := make(chan result, 8*s.opts.Workers)
	detached := context.WithoutCancel(ctx)
	var workers sync.WaitGroup
	for range s.opts.Workers {
		workers.Go(func() {
			for j := range work {
				results <- result{j, s.send(detached, j)}
			}
		})
	}
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		batch := make([]result, 0, maxRecord)
		for r := range results {
			batch = append(batch[:0], r)
		drain:
			for len(batch) < maxRecord {
				select {
				case r, ok := <-results:
					if !ok {
						break drain
					}
					batch = append(batch, r)
				default:
					break drain
				}
			}
			if err := s.record(detached, batch); err != nil {
				s.log.Error("webhook record", "attempts", len(batch), "err", err)
			}
		}
	}()
	var unsent []job
	defer func() {
		for {
			select {
			case j := <-work:
				unsent = append(unsent, j)
				continue
			default:
			}
			break
		}
		s.release(detached, unsent)
		close(work)
		workers.Wait()
		close(results)
		<-recorded
	}()
	poll := time.NewTimer(0)
	defer poll.Stop()
	var cleaned time.Time
	for {
		if behind, err := s.behind(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("webhook dispatch", "err", err)
		} else if behind {
			if _, err := s.Dispatch(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("webhook dispatch", "err", err)
			}
		}
		jobs, err := s.claim(ctx, 8*s.opts.Workers)
		if err != nil && ctx.Err() == nil {
			s.log.Error("webhook claim", "err", err)
		}
		for i, j := range jobs {
			select {
			case work <- j:
			case <-ctx.Done():
				unsent = jobs[i:]
				return
			}
		}
		if time.Since(cleaned) > time.Hour {
			cleaned = time.Now()
			if n, err := s.Cleanup(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("webhook cleanup", "err", err)
			} else if n > 0 {
				s.log.Info("webhook deliveries deleted after retention", "count", n)
			}
		}
		if len(jobs) > 0 {
			continue
		}
		poll.Reset(s.opts.Poll)
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		}
	}
}

// behind reports, from the read pool, whether audit events were recorded
// since the last dispatch: most loops need no write transaction for it.
func (s *Service) behind(ctx context.Context) (bool, error) {
	var head, cursor int64
	err := s.db.QueryRow(ctx, `SELECT (SELECT seq FROM audit_head WHERE id = 1), (SELECT seq FROM webhook_cursor WHERE id = 1)`).Scan(&head, &cursor)
	return head > cursor, err
}

// release gives claimed but unsent deliveries back at shutdown.
func (s *Service) release(ctx context.Context, jobs []job) {
	if len(jobs) == 0 {
		return
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		for _, j := range jobs {
			if _, err := tx.Exec(`UPDATE webhook_deliveries SET lease = 0, locked_until = 0 WHERE id = ? AND lease = ? AND status = 'pending'`, j.id, j.lease); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log.Warn("webhook release", "err", err)
	}
}

// Cleanup deletes delivered and failed deliveries (with their attempts)
// last changed before the retention period, and returns how many.
func (s *Service) Cleanup(ctx context.Context) (int, error) {
	if s.opts.Retention < 0 {
		return 0, nil
	}
	cutoff := store.Micros(s.now().Add(-s.opts.Retention))
	total := 0
	for {
		var n int64
		err := s.db.Write(ctx, func(tx *store.Tx) error {
			pick := `SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND updated_at < ? ORDER BY updated_at LIMIT 1000`
			if _, err := tx.Exec(`DELETE FROM webhook_attempts WHERE delivery_id IN (`+pick+`)`, cutoff); err != nil {
				return err
			}
			res, err := tx.Exec(`DELETE FROM webhook_deliveries WHERE id IN (`+pick+`)`, cutoff)
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("webhook: cleanup: %w", err)
		}
		total += int(n)
		if n < 1000 {
			return total, nil
		}
	}
}
