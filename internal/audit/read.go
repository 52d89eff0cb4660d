package audit

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/consento/consento/internal/store"
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

const eventColumns = `e.seq, e.at, e.actor_type, e.actor_id, e.action, e.object_type, e.object_id, e.person_id, e.sealed, e.payload, e.prev_hash, e.hash`

// List returns events newest first, with sealed payloads opened when the
// person's key still exists.
func List(ctx context.Context, db *store.DB, f Filter) ([]Event, error) {
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
	var sealed int64
	dest := []any{&ev.Seq, &at, &ev.Actor.Type, &ev.Actor.ID, &ev.Action, &ev.ObjectType, &ev.ObjectID, &pid, &sealed, &ev.raw, &ev.prevHash, &ev.hash}
	if err := s.Scan(append(dest, extra...)...); err != nil {
		return fmt.Errorf("audit: scan: %w", err)
	}
	ev.At = store.FromMicros(at)
	if pid.Valid {
		v := pid.Int64
		ev.PersonID = &v
	}
	ev.Sealed = sealed != 0
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
// bytes (in parallel), every event must link to its predecessor's hash
// with the next sequence number, and the last event must be the head.
func Verify(ctx context.Context, db *store.DB) (Report, error) {
	start := time.Now()
	conn, err := db.Conn(ctx)
	if err != nil {
		return Report{}, err
	}
	defer conn.Close()
	var headSeq int64
	var headHash []byte
	if err := conn.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		return Report{}, fmt.Errorf("audit: read head: %w", err)
	}
	rows, err := conn.QueryContext(ctx, `SELECT `+eventColumns+` FROM audit_events e ORDER BY e.seq`)
	if err != nil {
		return Report{}, fmt.Errorf("audit: verify: %w", err)
	}
	defer rows.Close()

	type chunk struct{ events []Event }
	var badMu sync.Mutex
	hashBad := int64(0) // lowest seq whose hash is wrong
	const chunkSize = 2048
	workers := max(1, runtime.NumCPU())
	todo := make(chan *chunk, workers*2)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range todo {
				for i := range c.events {
					ev := &c.events[i]
					if !bytes.Equal(ev.computeHash(), ev.hash) {
						badMu.Lock()
						if hashBad == 0 || ev.Seq < hashBad {
							hashBad = ev.Seq
						}
						badMu.Unlock()
						break
					}
				}
			}
		}()
	}

	rep := Report{HeadSeq: headSeq, HeadHash: hex.EncodeToString(headHash)}
	cur := &chunk{events: make([]Event, 0, chunkSize)}
	var prevSeq int64
	var prevHash []byte
	linkBad := int64(0)
	linkProblem := ""
	for rows.Next() {
		var ev Event
		if err := scanEvent(rows, &ev); err != nil {
			close(todo)
			wg.Wait()
			return Report{}, err
		}
		rep.Events++
		if linkBad == 0 {
			switch {
			case ev.Seq != prevSeq+1:
				linkBad, linkProblem = prevSeq+1, fmt.Sprintf("event %d is missing or out of order (next stored event is %d)", prevSeq+1, ev.Seq)
			case !bytes.Equal(ev.prevHash, prevHash):
				linkBad, linkProblem = ev.Seq, fmt.Sprintf("event %d does not link to the hash of event %d", ev.Seq, prevSeq)
			}
		}
		prevSeq, prevHash = ev.Seq, ev.hash
		cur.events = append(cur.events, ev)
		if len(cur.events) == chunkSize {
			todo <- cur
			cur = &chunk{events: make([]Event, 0, chunkSize)}
		}
	}
	err = rows.Err()
	if len(cur.events) > 0 {
		todo <- cur
	}
	close(todo)
	wg.Wait()
	if err != nil {
		return Report{}, fmt.Errorf("audit: verify: %w", err)
	}
	rep.Elapsed = time.Since(start).Round(time.Millisecond).String()
	switch {
	case hashBad != 0 && (linkBad == 0 || hashBad <= linkBad):
		rep.FirstBad, rep.Problem = hashBad, fmt.Sprintf("event %d was altered: its content does not match its hash", hashBad)
	case linkBad != 0:
		rep.FirstBad, rep.Problem = linkBad, linkProblem
	case prevSeq != headSeq || !bytes.Equal(prevHash, headHash):
		rep.FirstBad, rep.Problem = prevSeq+1, fmt.Sprintf("the chain ends at event %d but the head is event %d: events were removed from the end", prevSeq, headSeq)
		if prevSeq > headSeq {
			rep.FirstBad, rep.Problem = headSeq+1, fmt.Sprintf("event %d and later are not covered by the head (head is %d)", headSeq+1, headSeq)
		}
	default:
		rep.OK = true
	}
	return rep, nil
}
