package outreach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
)

// Public requests: what the public pages are asked to do for an e-mail
// address (mail its preference link, take a web form submission) is
// checked, written to public_requests and answered at once. Writing that
// row costs the same whether the address is known, so how long the answer
// takes tells a visitor nothing; a worker (RunPublicRequests) then looks
// the address up and does the work, in the transaction that deletes the
// row, so each request is done once even with several instances.

// Kinds of queued public request.
const (
	publicLink = "link"
	publicForm = "form"
)

// publicMaxAttempts is how often a public request is tried before it is
// dropped (with the address it holds).
const publicMaxAttempts = 8

// QueueLinkRequest checks the address's form and queues a preference link
// for it (RequestLink's work, done by the worker).
func (s *Service) QueueLinkRequest(ctx context.Context, email string) error {
	norm, ok := ledger.NormalizeEmail(email)
	if !ok {
		return &InputError{Fields: map[string]string{"email": "invalid"}}
	}
	return s.queuePublic(ctx, publicLink, map[string]string{"email": norm})
}

// QueueSubmission checks a web form submission and queues it (Submit's
// work, done by the worker). Invalid input is reported at once: checking
// it does not depend on whether the address is known.
func (s *Service) QueueSubmission(ctx context.Context, formKey string, sub Submission) error {
	job, err := s.prepareSubmission(ctx, formKey, sub)
	if err != nil {
		return err
	}
	return s.queuePublic(ctx, publicForm, job)
}

func (s *Service) queuePublic(ctx context.Context, kind string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("outreach: queue %s request: %w", kind, err)
	}
	now := store.Micros(s.now())
	return s.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(`INSERT INTO public_requests (kind, payload, run_after, created_at) VALUES (?, ?, ?, ?)`, kind, string(b), now, now)
		if err != nil {
			return fmt.Errorf("outreach: queue %s request: %w", kind, err)
		}
		return nil
	})
}

// PendingPublicRequests counts the queued public requests.
func (s *Service) PendingPublicRequests(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM public_requests`).Scan(&n)
	return n, err
}

// RunPublicRequests does the queued public requests every poll until ctx
// ends; report gets the errors (they name no address).
func (s *Service) RunPublicRequests(ctx context.Context, poll time.Duration, report func(error)) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.DrainPublicRequests(ctx); err != nil && ctx.Err() == nil {
			report(err)
		}
		t.Reset(poll)
	}
}

// DrainPublicRequests does the due public requests, one transaction each,
// and returns how many it handled. A request whose work fails is tried
// again later (30 s, doubling) and dropped after publicMaxAttempts; the
// others go on, and the failures come back joined.
func (s *Service) DrainPublicRequests(ctx context.Context) (int, error) {
	done := 0
	var failed []error
	for ctx.Err() == nil {
		// A read first: an idle queue never takes the writer.
		var due int
		if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM public_requests WHERE run_after <= ? LIMIT 1) d`, store.Micros(s.now())).Scan(&due); err != nil {
			return done, fmt.Errorf("outreach: public requests: %w", err)
		}
		if due == 0 {
			break
		}
		found, fail, err := s.runPublicRequest(ctx)
		if err != nil {
			return done, errors.Join(append(failed, err)...)
		}
		if !found {
			break
		}
		if fail != nil {
			failed = append(failed, fail)
			continue
		}
		done++
	}
	return done, errors.Join(failed...)
}

// runPublicRequest does the oldest due request; found is false when none
// was due. fail is the request's own failure (it was rescheduled or
// dropped), err one of the queue itself.
func (s *Service) runPublicRequest(ctx context.Context) (found bool, fail, err error) {
	var id int64
	var kind string
	var attempts int
	var workErr error
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		found, workErr = false, nil
		lock := ""
		if tx.Dialect() == store.Postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		var payload string
		err := tx.QueryRow(`SELECT id, kind, payload, attempts FROM public_requests WHERE run_after <= ? ORDER BY run_after, id LIMIT 1`+lock, store.Micros(s.now())).
			Scan(&id, &kind, &payload, &attempts)
		if isNoRows(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("outreach: claim public request: %w", err)
		}
		found = true
		if workErr = s.doPublicRequest(tx, kind, payload); workErr != nil {
			return workErr // rolls the work back; the request stays
		}
		_, err = tx.Exec(`DELETE FROM public_requests WHERE id = ?`, id)
		return err
	})
	if workErr == nil || ctx.Err() != nil {
		if err != nil {
			err = fmt.Errorf("outreach: public request: %w", err)
		}
		return found, nil, err
	}
	// The work failed: try again later, or drop the request.
	last := attempts+1 >= publicMaxAttempts
	next := s.now().Add(publicBackoff(attempts + 1))
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if last {
			_, err := tx.Exec(`DELETE FROM public_requests WHERE id = ?`, id)
			return err
		}
		_, err := tx.Exec(`UPDATE public_requests SET attempts = attempts + 1, run_after = ? WHERE id = ?`, store.Micros(next), id)
		return err
	})
	if err != nil {
		return true, nil, fmt.Errorf("outreach: reschedule public request %d: %w", id, err)
	}
	what := "will be retried"
	if last {
		what = "dropped"
	}
	return true, fmt.Errorf("outreach: public %s request %d failed on attempt %d, %s: %w", kind, id, attempts+1, what, workErr), nil
}

// doPublicRequest is the work of one request, in tx.
func (s *Service) doPublicRequest(tx *store.Tx, kind, payload string) error {
	switch kind {
	case publicLink:
		var p struct {
			Email string `json:"email"`
		}
		if err := json.Unmarshal([]byte(payload), &p); err != nil {
			return fmt.Errorf("outreach: link request payload: %w", err)
		}
		return s.requestLinkTx(tx, p.Email)
	case publicForm:
		var j submissionJob
		if err := json.Unmarshal([]byte(payload), &j); err != nil {
			return fmt.Errorf("outreach: form submission payload: %w", err)
		}
		return s.applySubmission(tx, &j)
	}
	return fmt.Errorf("outreach: unknown public request kind %q", kind)
}

// publicBackoff is the wait after the n-th failed attempt: 30 s doubling,
// at most an hour.
func publicBackoff(n int) time.Duration {
	d := 30 * time.Second << min(n-1, 7)
	return min(d, time.Hour)
}
