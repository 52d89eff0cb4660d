package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/consento/consento/internal/store"
)

// Ref names a person in a bulk check: by id or by e-mail address, which
// finds the person in any spelling of the mailbox.
type Ref struct {
	// Input is the reference as given (an id or an e-mail address).
	Input string
	id    int64
	email string // the mailbox key
	bad   bool
}

// ParseRef reads "123" as a person id and anything else as an e-mail.
func ParseRef(s string) Ref {
	s = strings.TrimSpace(s)
	r := Ref{Input: s}
	if s == "" {
		r.bad = true
		return r
	}
	if c := s[0]; c >= '0' && c <= '9' || c == '+' || c == '-' {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 {
			r.id = id
			return r
		}
	}
	if e, ok := NormalizeEmail(s); ok {
		r.email = MailboxKey(e)
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

const checkChunk = 5000

// Check decides, for every reference next yields, whether the person may
// be processed for purpose, and hands the verdicts to emit in input order.
// It streams: memory stays flat however many references come in.
// sizeHint estimates how many references will come (0: unknown); it only
// decides how they are looked up.
func (s *Service) Check(ctx context.Context, purpose string, sizeHint int, next func() (Ref, bool, error), emit func(Verdict) error) (CheckSummary, error) {
	sum := CheckSummary{Purpose: purpose, Reasons: map[string]int{}}
	p, err := s.Purpose(ctx, purpose)
	if err != nil {
		return sum, err
	}
	now := store.Micros(s.now())
	type batch struct {
		refs     []Ref
		snap     bool // answer from the snapshot
		verdicts []Verdict
		err      error
		done     chan struct{}
	}
	// Past this many references, a snapshot of the purpose answers faster
	// than looking each one up (see checkSnapshot).
	worth, err := s.snapshotWorth(ctx, sizeHint)
	if err != nil {
		return sum, err
	}
	var snapOnce sync.Once
	var snap *checkSnapshot
	var snapErr error
	// One worker per CPU: on SQLite the lookups run in this process, and
	// more workers than CPUs only contend for SQLite's locks.
	workers := runtime.NumCPU()
	if s.db.Dialect == store.Postgres {
		workers = 4
	}
	queue := make(chan *batch, workers)
	work := make(chan *batch, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &checker{s: s, p: p, now: now}
			defer c.close()
			for b := range work {
				if b.snap {
					snapOnce.Do(func() { snap, snapErr = s.loadSnapshot(ctx, p) })
					if b.err = snapErr; b.err == nil {
						b.verdicts = verdicts(b.refs, p, now, snap.row)
					}
				} else {
					b.verdicts, b.err = c.checkBatch(ctx, b.refs)
				}
				close(b.done)
			}
		}()
	}
	readErr := make(chan error, 1)
	go func() {
		defer close(queue)
		defer close(work)
		seen := 0
		for {
			b := &batch{refs: make([]Ref, 0, checkChunk), snap: seen >= worth, done: make(chan struct{})}
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
			seen += len(b.refs)
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

// checker is one Check worker: it keeps a connection and reuses the
// prepared statements of full chunks, which saves parsing a statement
// with thousands of parameters for every chunk.
type checker struct {
	s     *Service
	p     *Purpose
	now   int64
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
}

func (c *checker) close() {
	for _, st := range c.stmts {
		st.Close()
	}
	if c.conn != nil {
		c.conn.Close()
	}
}

func (c *checker) query(ctx context.Context, q string, args []any) (*sql.Rows, error) {
	if c.conn == nil {
		conn, err := c.s.db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		c.conn, c.stmts = conn, map[string]*sql.Stmt{}
	}
	q = c.s.db.Q(q)
	if len(args) != checkChunk+1 {
		return c.conn.QueryContext(ctx, q, args...)
	}
	st := c.stmts[q]
	if st == nil {
		var err error
		if st, err = c.conn.PrepareContext(ctx, q); err != nil {
			return nil, err
		}
		c.stmts[q] = st
	}
	return st.QueryContext(ctx, args...)
}

func (c *checker) checkBatch(ctx context.Context, refs []Ref) ([]Verdict, error) {
	p, now := c.p, c.now
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
		rows, err := c.query(ctx, `SELECT `+cols+` WHERE p.id IN (`+store.Placeholders(len(ids))+`)`, append([]any{p.ID}, ids...))
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
		rows, err := c.query(ctx, `SELECT pe.mailbox, `+cols+` JOIN person_emails pe ON pe.person_id = p.id WHERE pe.mailbox IN (`+store.Placeholders(len(emails))+`)`, append([]any{p.ID}, emails...))
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
			if old, ok := byEmail[e]; !ok || r.id < old.id {
				byEmail[e] = r // persons sharing a mailbox: the oldest, as the snapshot
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return verdicts(refs, p, now, func(ref Ref) (checkRow, bool) {
		if ref.id != 0 {
			row, ok := byID[ref.id]
			return row, ok
		}
		row, ok := byEmail[ref.email]
		return row, ok
	}), nil
}

// verdicts decides each reference with the rows lookup finds.
func verdicts(refs []Ref, p *Purpose, now int64, lookup func(Ref) (checkRow, bool)) []Verdict {
	out := make([]Verdict, len(refs))
	for i, ref := range refs {
		v := Verdict{Ref: ref.Input}
		if ref.bad {
			v.Reason = ReasonInvalid
			out[i] = v
			continue
		}
		row, ok := lookup(ref)
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
	return out
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
