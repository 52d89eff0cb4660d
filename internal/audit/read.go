package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
)

// Filter narrows List.
type Filter struct {
	PersonID   int64
	ObjectType string
	ObjectID   string
	Action     string
	ActorID    string
	Since      time.Time
	Until      time.Time
	// After is the cursor: only events with seq below it (newest first).
	Before int64
	Limit  int
}

const eventColumns = `e.seq, e.at, e.actor_type, e.actor_id, e.action, e.object_type, e.object_id, e.person_id, e.payload, e.hash`

// List returns events newest first, with sealed payloads opened when the
// person's key still exists.
func List(ctx context.Context, db *store.DB, f Filter) ([]Event, error) {
	for _, x := range []struct{ field, v string }{{"object_type", f.ObjectType}, {"object_id", f.ObjectID}, {"action", f.Action}, {"actor_id", f.ActorID}} {
		if bad := textcheck.Line(x.v, textcheck.MaxShort); bad != textcheck.OK {
			return nil, &store.TextError{Field: x.field, Message: bad.Message(textcheck.MaxShort)}
		}
	}
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.PersonID != 0 {
		add("e.person_id = ?", f.PersonID)
	}
	if f.ObjectType != "" {
		add("e.object_type = ?", f.ObjectType)
	}
	if f.ObjectID != "" {
		add("e.object_id = ?", f.ObjectID)
	}
	if f.Action != "" {
		add("e.action = ?", f.Action)
	}
	if f.ActorID != "" {
		add("e.actor_id = ?", f.ActorID)
	}
	if !f.Since.IsZero() {
		add("e.at >= ?", store.Micros(f.Since))
	}
	if !f.Until.IsZero() {
		add("e.at < ?", store.Micros(f.Until))
	}
	if f.Before > 0 {
		add("e.seq < ?", f.Before)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := `SELECT ` + eventColumns + `, k.key FROM audit_events e LEFT JOIN person_keys k ON k.person_id = e.person_id`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY e.seq DESC LIMIT %d", limit)
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var ev Event
		var key []byte
		if err := scanEvent(rows, &ev, &key); err != nil {
			return nil, err
		}
		ev.Hash = hex.EncodeToString(ev.hash)
		if err := ev.openPayload(key); err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

func (ev *Event) openPayload(key []byte) error {
	raw := ev.raw
	if ev.Sealed {
		if len(key) == 0 {
			ev.Shredded = true
			return nil
		}
		var err error
		if raw, err = open(key, ev.Seq, raw); err != nil {
			return fmt.Errorf("audit: open event %d: %w", ev.Seq, err)
		}
	}
	var p Payload
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("audit: decode event %d: %w", ev.Seq, err)
	}
	ev.Payload = &p
	return nil
}

type scanner interface{ Scan(...any) error }

func scanEvent(s scanner, ev *Event, extra ...any) error {
	var at int64
	var pid sql.NullInt64
	dest := []any{&ev.Seq, &at, &ev.Actor.Type, &ev.Actor.ID, &ev.Action, &ev.ObjectType, &ev.ObjectID, &pid, &ev.raw, &ev.hash}
	if err := s.Scan(append(dest, extra...)...); err != nil {
		return fmt.Errorf("audit: scan: %w", err)
	}
	ev.At = store.FromMicros(at)
	if pid.Valid {
		v := pid.Int64
		ev.PersonID = &v
	}
	ev.Sealed = pid.Valid
	return nil
}

// Report is the outcome of Verify.
type Report struct {
	OK       bool   `json:"ok"`
	Events   int64  `json:"events"`
	HeadSeq  int64  `json:"head_seq"`
	HeadHash string `json:"head_hash"`
	// FirstBad is the first event that does not verify (0 when OK).
	FirstBad int64  `json:"first_bad_seq,omitempty"`
	Problem  string `json:"problem,omitempty"`
	Elapsed  string `json:"elapsed"`
}

// Verify walks the whole chain and proves that no event was altered,
// removed or reordered: every event's hash is recomputed from its stored
// bytes and its predecessor's stored hash, sequence numbers must follow
// each other without gaps, and the last event must be the head. The chain
// is read in slices of sequence numbers, one per CPU and connection, in
// parallel; each slice starts from the stored hash of the event before it.
func Verify(ctx context.Context, db *store.DB) (Report, error) {
	start := time.Now()
	var headSeq int64
	var headHash []byte
	if err := db.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		return Report{}, fmt.Errorf("audit: read head: %w", err)
	}
	parts := int64(max(1, runtime.NumCPU()))
	if headSeq < 10000 {
		parts = 1
	}
	res := make([]slice, parts)
	var wg sync.WaitGroup
	for i := range parts {
		lo, hi := headSeq*i/parts, headSeq*(i+1)/parts
		if i == parts-1 {
			hi = -1 // the last slice also reads events beyond the head
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = verifySlice(ctx, db, lo, hi)
		}()
	}
	wg.Wait()

	rep := Report{HeadSeq: headSeq, HeadHash: hex.EncodeToString(headHash)}
	var lastSeq int64
	var lastHash []byte
	hashBad, linkBad, linkProblem := int64(0), int64(0), ""
	for _, r := range res {
		if r.err != nil {
			return Report{}, fmt.Errorf("audit: verify: %w", r.err)
		}
		rep.Events += r.events
		if r.linkBad != 0 && (linkBad == 0 || r.linkBad < linkBad) {
			linkBad, linkProblem = r.linkBad, r.linkProblem
		}
		if r.hashBad != 0 && (hashBad == 0 || r.hashBad < hashBad) {
			hashBad = r.hashBad
		}
		if r.events > 0 {
			lastSeq, lastHash = r.lastSeq, r.lastHash
		}
	}
	rep.Elapsed = time.Since(start).Round(time.Millisecond).String()
	switch {
	case hashBad != 0 && (linkBad == 0 || hashBad <= linkBad):
		rep.FirstBad, rep.Problem = hashBad, fmt.Sprintf("event %d was altered: its content does not match its hash", hashBad)
	case linkBad != 0:
		rep.FirstBad, rep.Problem = linkBad, linkProblem
	case lastSeq != headSeq || !bytes.Equal(lastHash, headHash):
		rep.FirstBad, rep.Problem = lastSeq+1, fmt.Sprintf("the chain ends at event %d but the head is event %d: events were removed from the end", lastSeq, headSeq)
		if lastSeq > headSeq {
			rep.FirstBad, rep.Problem = headSeq+1, fmt.Sprintf("event %d and later are not covered by the head (head is %d)", headSeq+1, headSeq)
		}
	default:
		rep.OK = true
	}
	return rep, nil
}

// slice is what Verify found among the events with lo < seq <= hi.
type slice struct {
	events           int64
	lastSeq          int64
	lastHash         []byte
	linkBad, hashBad int64 // first problem inside the slice
	linkProblem      string
	err              error
}

// verifySlice checks the events lo < seq <= hi (hi < 0: to the end): each
// must follow the one before with the next sequence number, and its hash
// must be the hash of its columns and of the stored hash before it.
func verifySlice(ctx context.Context, db *store.DB, lo, hi int64) (r slice) {
	r.lastSeq, r.lastHash = lo, []byte{}
	if lo > 0 {
		// A missing event lo is reported by the slice that ends with it.
		if err := db.QueryRow(ctx, `SELECT hash FROM audit_events WHERE seq = ?`, lo).Scan(&r.lastHash); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return slice{err: err}
		}
	}
	q, args := `SELECT `+eventColumns+` FROM audit_events e WHERE e.seq > ?`, []any{lo}
	if hi >= 0 {
		q, args = q+` AND e.seq <= ?`, append(args, hi)
	}
	q += ` ORDER BY e.seq`
	h := sha256.New()
	var sum []byte
	missing := func(want, got int64) {
		if r.linkBad == 0 {
			r.linkBad, r.linkProblem = want, fmt.Sprintf("event %d is missing or out of order (next stored event is %d)", want, got)
			if got < 0 {
				r.linkProblem = fmt.Sprintf("event %d is missing", want)
			}
		}
	}
	// check takes one event's columns as stored, without copies.
	check := func(seq, at int64, actorType, actorID, action, objType, objID []byte, pid int64, sealed bool, raw, hash []byte) {
		r.events++
		if seq != r.lastSeq+1 {
			missing(r.lastSeq+1, seq)
		}
		if r.hashBad == 0 {
			sum = hashFields(h, sum[:0], r.lastHash, seq, at, actorType, actorID, action, objType, objID, pid, sealed, raw)
			if !bytes.Equal(sum, hash) {
				r.hashBad = seq
			}
		}
		r.lastSeq, r.lastHash = seq, append(r.lastHash[:0], hash...)
	}
	if db.Dialect == store.Postgres {
		r.err = db.RawRows(ctx, q, args, func(v [][]byte) error {
			seq, _ := store.RawInt(v[0])
			at, _ := store.RawInt(v[1])
			pid, sealed := store.RawInt(v[7])
			if !sealed {
				pid = -1
			}
			check(seq, at, v[2], v[3], v[4], v[5], v[6], pid, sealed, v[8], v[9])
			return nil
		})
	} else {
		r.err = scanSQLite(ctx, db, q, args, check)
	}
	if r.err == nil && hi >= 0 && r.lastSeq != hi {
		missing(r.lastSeq+1, -1)
	}
	return r
}

func scanSQLite(ctx context.Context, db *store.DB, q string, args []any, check func(seq, at int64, actorType, actorID, action, objType, objID []byte, pid int64, sealed bool, raw, hash []byte)) error {
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		seq, at                                    int64
		pid                                        sql.NullInt64
		actorType, actorID, action, objType, objID sql.RawBytes
		raw, hash                                  sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&seq, &at, &actorType, &actorID, &action, &objType, &objID, &pid, &raw, &hash); err != nil {
			return err
		}
		personID := int64(-1)
		if pid.Valid {
			personID = pid.Int64
		}
		check(seq, at, actorType, actorID, action, objType, objID, personID, pid.Valid, raw, hash)
	}
	return rows.Err()
}
