package ledger

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/store"
)

// Withdrawal is one person's withdrawal of purposes (WithdrawBatchTx).
type Withdrawal struct {
	PersonID int64
	Purposes []string
	Reason   string
	// Source is what caused the withdrawals (SourceErasure,
	// SourceRetention); "" records the actor's default source.
	Source string
}

// withdrawChunk is the most rows one multi-row statement writes: 14
// parameters a consent event, far below the parameter limits.
const withdrawChunk = 500

// WithdrawBatchTx records the withdrawals of many persons in tx with the
// same consent events, current states, counts and audit events as
// RecordConsentTx called for every purpose of every person in turn (Kind
// Withdrawn, no evidence), but written with one statement per table for
// up to 500 events. after(i) is called once person i's events hold their
// places in the audit chain, so that the caller can chain its own events
// of that person (audit.Prepare) before the next person's.
func (s *Service) WithdrawBatchTx(tx *store.Tx, actor Actor, in []Withdrawal, after func(i int) error) error {
	now := s.now().Truncate(time.Microsecond)
	var ids []int64
	for _, w := range in {
		if len(w.Purposes) > 0 {
			ids = append(ids, w.PersonID)
		}
	}
	// The persons, their audit keys and current states, in one read per chunk.
	type prev struct {
		kind, basis string
		at          int64
	}
	type person struct {
		status, lang string
		key          []byte
		states       map[int64]prev
	}
	persons := map[int64]*person{}
	for lo := 0; lo < len(ids); lo += withdrawChunk {
		c := ids[lo:min(lo+withdrawChunk, len(ids))]
		args := make([]any, len(c))
		for i, id := range c {
			args[i] = id
		}
		rows, err := tx.Query(`SELECT p.id, p.status, p.language, k.key, c.purpose_id, c.kind, c.legal_basis, c.occurred_at FROM persons p
			LEFT JOIN person_keys k ON k.person_id = p.id LEFT JOIN consents c ON c.person_id = p.id
			WHERE p.id IN (`+store.Placeholders(len(c))+`)`, args...)
		if err != nil {
			return fmt.Errorf("ledger: withdraw: %w", err)
		}
		for rows.Next() {
			var id int64
			var status, lang string
			var key []byte
			var purpose, at sql.NullInt64
			var kind, basis sql.NullString
			if err := rows.Scan(&id, &status, &lang, &key, &purpose, &kind, &basis, &at); err != nil {
				rows.Close()
				return fmt.Errorf("ledger: withdraw: %w", err)
			}
			p := persons[id]
			if p == nil {
				p = &person{status: status, lang: lang, key: key, states: map[int64]prev{}}
				persons[id] = p
			}
			if purpose.Valid {
				p.states[purpose.Int64] = prev{kind.String, basis.String, at.Int64}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("ledger: withdraw: %w", err)
		}
	}
	var nextID int64 // SQLite: the rowids it would give
	if tx.Dialect() == store.SQLite {
		if err := tx.QueryRow(`SELECT COALESCE(MAX(id), 0) FROM consent_events`).Scan(&nextID); err != nil {
			return fmt.Errorf("ledger: withdraw: %w", err)
		}
	}
	var events, states, audits [][]any
	grants := map[int64]int64{}
	var order []int64 // persons whose grant count moves, in order
	for i, w := range in {
		for _, key := range w.Purposes {
			cin := ConsentInput{PersonID: w.PersonID, Purpose: key, Kind: Withdrawn, Reason: w.Reason}
			if err := cin.precheck(); err != nil {
				return err
			}
			p, err := purposeTx(tx, key)
			if err != nil {
				return err
			}
			pe := persons[w.PersonID]
			if pe == nil {
				return notFound("unknown-person", "there is no such person")
			}
			if err := writable(&Person{Status: pe.status}); err != nil {
				return err
			}
			pv, had := pe.states[p.ID]
			var before *ConsentState
			if had {
				before = &ConsentState{Purpose: p.Key, State: EventKind(pv.kind), LegalBasis: LegalBasis(pv.basis)}
			}
			basis, version, err := p.resolve(Withdrawn, "", 0)
			if err != nil {
				return err
			}
			source := w.Source
			if source == "" {
				if source = defaultSourceFor(actor); source == "" {
					return invalid("source-required", "name the source of the withdrawals", FieldError{Field: "source", Message: "is required"})
				}
			}
			srcID, err := sourceID(tx, source)
			if err != nil {
				return err
			}
			ev := &ConsentEvent{PersonID: w.PersonID, Purpose: p.Key, Kind: Withdrawn, LegalBasis: basis, Source: source, TextVersion: version,
				Language: pe.lang, OccurredAt: now, RecordedAt: now, Actor: actor}
			ev.Evidence.Files = []File{}
			evidence, _ := json.Marshal(ev.Evidence)
			if tx.Dialect() == store.Postgres {
				if ev.ID, err = s.eventIDs.take(tx); err != nil {
					return err
				}
			} else {
				nextID++
				ev.ID = nextID
			}
			events = append(events, []any{ev.ID, ev.PersonID, p.ID, string(ev.Kind), string(ev.LegalBasis), srcID, ev.TextVersion, ev.Language,
				store.Micros(now), store.Micros(now), nil, ev.Actor.Type, ev.Actor.ID, string(evidence)})
			states = append(states, []any{ev.PersonID, p.ID, ev.ID, string(ev.Kind), string(ev.LegalBasis), store.Micros(now), nil})
			applied := !had || pv.at <= store.Micros(now)
			if d := grantDelta(EventKind(pv.kind), Withdrawn, applied, !p.Archived); d != 0 {
				if _, ok := grants[ev.PersonID]; !ok {
					order = append(order, ev.PersonID)
				}
				grants[ev.PersonID] += d
			}
			if !had {
				if err := addConsentBlock(tx, p.ID, ev.PersonID>>blockShift, 1); err != nil {
					return err
				}
				pe.states[p.ID] = prev{string(Withdrawn), string(basis), store.Micros(now)}
			}
			a, err := audit.Prepare(tx, now, audit.Entry{Actor: actor, Action: "consent." + string(Withdrawn), ObjectType: "consent_event",
				ObjectID: fmt.Sprint(ev.ID), PersonID: w.PersonID, Reason: w.Reason, Before: before, After: ev}, pe.key)
			if err != nil {
				return err
			}
			audits = append(audits, a)
		}
		if after != nil {
			if err := after(i); err != nil {
				return err
			}
		}
	}
	if err := InsertRows(tx, `INSERT INTO consent_events (id, person_id, purpose_id, kind, legal_basis, source_id, text_version, language, occurred_at, recorded_at, valid_until, actor_type, actor_id, evidence) VALUES `, events, ""); err != nil {
		return fmt.Errorf("ledger: withdraw: %w", err)
	}
	if err := InsertRows(tx, `INSERT INTO consents (person_id, purpose_id, event_id, kind, legal_basis, occurred_at, valid_until) VALUES `, states,
		` ON CONFLICT (person_id, purpose_id) DO UPDATE SET event_id = excluded.event_id, kind = excluded.kind, legal_basis = excluded.legal_basis,
	occurred_at = excluded.occurred_at, valid_until = excluded.valid_until WHERE consents.occurred_at <= excluded.occurred_at`); err != nil {
		return fmt.Errorf("ledger: withdraw: %w", err)
	}
	if err := InsertRows(tx, `INSERT INTO audit_events (seq, at, actor_type, actor_id, action, object_type, object_id, person_id, payload, hash) VALUES `, audits, ""); err != nil {
		return fmt.Errorf("ledger: withdraw: %w", err)
	}
	var moves [][]any
	for _, id := range order {
		if grants[id] != 0 {
			moves = append(moves, []any{id, grants[id]})
		}
	}
	for lo := 0; lo < len(moves); lo += withdrawChunk {
		c := moves[lo:min(lo+withdrawChunk, len(moves))]
		var args []any
		vals := make([]string, len(c))
		for i, m := range c {
			vals[i] = "(CAST(? AS BIGINT), CAST(? AS BIGINT))"
			args = append(args, m...)
		}
		if _, err := tx.Exec(`WITH v (id, d) AS (VALUES `+strings.Join(vals, ", ")+`)
			UPDATE persons SET grant_count = grant_count + (SELECT d FROM v WHERE v.id = persons.id) WHERE id IN (SELECT id FROM v)`, args...); err != nil {
			return fmt.Errorf("ledger: count grants: %w", err)
		}
	}
	return nil
}

// InsertRows writes rows (each the same number of values) with one
// multi-row statement per 500 rows: head ends with VALUES, tail follows
// the rows (an ON CONFLICT clause, or "").
func InsertRows(tx *store.Tx, head string, rows [][]any, tail string) error {
	for lo := 0; lo < len(rows); lo += withdrawChunk {
		c := rows[lo:min(lo+withdrawChunk, len(rows))]
		one := "(" + store.Placeholders(len(c[0])) + ")"
		vals := make([]string, len(c))
		var args []any
		for i, r := range c {
			vals[i] = one
			args = append(args, r...)
		}
		if _, err := tx.Exec(head+strings.Join(vals, ", ")+tail, args...); err != nil {
			return err
		}
	}
	return nil
}

// BlockEmailsBatchTx puts addresses on the blocklist as BlockEmailsTx
// does, with one statement per 500 addresses.
func (s *Service) BlockEmailsBatchTx(tx *store.Tx, emails []string, now time.Time) error {
	if len(emails) == 0 {
		return nil
	}
	key, err := s.blocklistKey(tx, true)
	if err != nil {
		return err
	}
	var rows [][]any
	seen := map[string]bool{}
	for _, e := range emails {
		n := blockKey(e)
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		rows = append(rows, []any{blocklistHash(key, n), store.Micros(now)})
	}
	if len(rows) == 0 {
		return nil
	}
	if err := InsertRows(tx, `INSERT INTO email_blocklist (hash, created_at) VALUES `, rows, ` ON CONFLICT (hash) DO NOTHING`); err != nil {
		return fmt.Errorf("ledger: blocklist: %w", err)
	}
	return nil
}
