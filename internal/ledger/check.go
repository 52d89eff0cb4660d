package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/consento/consento/internal/store"
)

// Ref names a person in a bulk check: by id or by e-mail address.
type Ref struct {
	// Input is the reference as given (an id or an e-mail address).
	Input string
	id    int64
	email string
	bad   bool
}

// ParseRef reads "123" as a person id and anything else as an e-mail.
func ParseRef(s string) Ref {
	s = strings.TrimSpace(s)
	r := Ref{Input: s}
	if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 {
		r.id = id
		return r
	}
	if e, ok := NormalizeEmail(s); ok {
		r.email = e
		return r
	}
	r.bad = true
	return r
}

// Verdict reasons.
const (
	ReasonAllowed    = "allowed"
	ReasonNoConsent  = "no_consent"
	ReasonWithdrawn  = "withdrawn"
	ReasonRefused    = "refused"
	ReasonObjected   = "objected"
	ReasonRestricted = "restricted"
	ReasonExpired    = "expired"
	ReasonUnknown    = "unknown"
	ReasonInvalid    = "invalid"
)

// Verdict answers whether a person may be processed for a purpose.
type Verdict struct {
	Ref      string `json:"ref"`
	PersonID int64  `json:"person_id,omitempty"`
	Allowed  bool   `json:"allowed"`
	Reason   string `json:"reason"`
}

// CheckSummary counts a bulk check's verdicts.
type CheckSummary struct {
	Purpose string         `json:"purpose"`
	Total   int            `json:"total"`
	Allowed int            `json:"allowed"`
	Denied  int            `json:"denied"`
	Reasons map[string]int `json:"reasons"`
}

const checkChunk = 2000

// Check decides, for every reference next yields, whether the person may
// be processed for purpose, and hands the verdicts to emit in input order.
// It streams: memory stays flat however many references come in.
func (s *Service) Check(ctx context.Context, purpose string, next func() (Ref, bool, error), emit func(Verdict) error) (CheckSummary, error) {
	sum := CheckSummary{Purpose: purpose, Reasons: map[string]int{}}
	p, err := s.Purpose(ctx, purpose)
	if err != nil {
		return sum, err
	}
	now := store.Micros(s.now())
	type batch struct {
		refs     []Ref
		verdicts []Verdict
		err      error
		done     chan struct{}
	}
	workers := 3
	queue := make(chan *batch, workers)
	work := make(chan *batch, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				b.verdicts, b.err = s.checkBatch(ctx, p, now, b.refs)
				close(b.done)
			}
		}()
	}
	readErr := make(chan error, 1)
	go func() {
		defer close(queue)
		defer close(work)
		for {
			b := &batch{refs: make([]Ref, 0, checkChunk), done: make(chan struct{})}
			for len(b.refs) < checkChunk {
				r, ok, err := next()
				if err != nil {
					readErr <- err
					return
				}
				if !ok {
					break
				}
				b.refs = append(b.refs, r)
			}
			if len(b.refs) == 0 {
				return
			}
			select {
			case queue <- b:
			case <-ctx.Done():
				return
			}
			work <- b
			if len(b.refs) < checkChunk {
				return
			}
		}
	}()
	var outErr error
	for b := range queue {
		<-b.done
		if outErr != nil {
			continue
		}
		if b.err != nil {
			outErr = b.err
			continue
		}
		for _, v := range b.verdicts {
			sum.Total++
			sum.Reasons[v.Reason]++
			if v.Allowed {
				sum.Allowed++
			} else {
				sum.Denied++
			}
			if err := emit(v); err != nil {
				outErr = err
				break
			}
		}
	}
	wg.Wait()
	select {
	case err := <-readErr:
		if outErr == nil {
			outErr = err
		}
	default:
	}
	return sum, outErr
}

type checkRow struct {
	id         int64
	status     string
	kind       sql.NullString
	validUntil sql.NullInt64
}

func (s *Service) checkBatch(ctx context.Context, p *Purpose, now int64, refs []Ref) ([]Verdict, error) {
	var ids, emails []any
	for _, r := range refs {
		switch {
		case r.id != 0:
			ids = append(ids, r.id)
		case r.email != "":
			emails = append(emails, r.email)
		}
	}
	byID := map[int64]checkRow{}
	byEmail := map[string]checkRow{}
	const cols = `p.id, p.status, c.kind, c.valid_until FROM persons p LEFT JOIN consents c ON c.person_id = p.id AND c.purpose_id = ?`
	if len(ids) > 0 {
		rows, err := s.db.Query(ctx, `SELECT `+cols+` WHERE p.id IN (`+store.Placeholders(len(ids))+`)`, append([]any{p.ID}, ids...)...)
		if err != nil {
			return nil, fmt.Errorf("ledger: check: %w", err)
		}
		for rows.Next() {
			var r checkRow
			if err := rows.Scan(&r.id, &r.status, &r.kind, &r.validUntil); err != nil {
				rows.Close()
				return nil, err
			}
			byID[r.id] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if len(emails) > 0 {
		rows, err := s.db.Query(ctx, `SELECT pe.email, `+cols+` JOIN person_emails pe ON pe.person_id = p.id WHERE pe.email IN (`+store.Placeholders(len(emails))+`)`, append([]any{p.ID}, emails...)...)
		if err != nil {
			return nil, fmt.Errorf("ledger: check: %w", err)
		}
		for rows.Next() {
			var r checkRow
			var e string
			if err := rows.Scan(&e, &r.id, &r.status, &r.kind, &r.validUntil); err != nil {
				rows.Close()
				return nil, err
			}
			byEmail[e] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	out := make([]Verdict, len(refs))
	for i, ref := range refs {
		v := Verdict{Ref: ref.Input}
		var row checkRow
		var ok bool
		switch {
		case ref.bad:
			v.Reason = ReasonInvalid
			out[i] = v
			continue
		case ref.id != 0:
			row, ok = byID[ref.id]
		default:
			row, ok = byEmail[ref.email]
		}
		if !ok || row.status == StatusAnonymized {
			v.Reason = ReasonUnknown
			out[i] = v
			continue
		}
		v.PersonID = row.id
		v.Reason = verdictReason(row, p, now)
		v.Allowed = v.Reason == ReasonAllowed
		out[i] = v
	}
	return out, nil
}

func verdictReason(r checkRow, p *Purpose, now int64) string {
	if r.status == StatusRestricted {
		return ReasonRestricted
	}
	if p.Archived {
		return ReasonNoConsent
	}
	switch EventKind(r.kind.String) {
	case Granted:
		if r.validUntil.Valid && r.validUntil.Int64 <= now {
			return ReasonExpired
		}
		return ReasonAllowed
	case Withdrawn:
		return ReasonWithdrawn
	case Refused:
		return ReasonRefused
	case Objected:
		return ReasonObjected
	case Expired:
		return ReasonExpired
	}
	return ReasonNoConsent
}
