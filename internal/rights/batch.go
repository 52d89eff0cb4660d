package rights

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/outreach"
	"github.com/consento/consento/internal/store"
)

// BatchPerson is one person of a batch erasure (AnonymizeBatchTx,
// DeleteBatchTx) with the reason recorded for them.
type BatchPerson struct {
	PersonID int64
	Reason   string
}

// batchChunk is the most persons one statement names: far below the
// parameter limits of SQLite (32,766) and PostgreSQL (65,535).
const batchChunk = 500

// AnonymizeBatchTx anonymizes every person of batch in tx, in order, with
// the same result as AnonymizeTx called for each in turn: the same rows
// deleted, cleared and unlinked, the same consent events (withdrawals)
// (source "retention", as AnonymizeTx records) and the same audit events
// in the same order; only the statements
// differ: one per table for the whole batch instead of one per person.
// Persons AnonymizeTx would refuse (unknown, restricted, anonymized,
// notices to recipients still waiting) are left alone and returned in
// refused with the error AnonymizeTx gives. On an error the transaction
// (or the caller's savepoint) must be rolled back.
func (s *Service) AnonymizeBatchTx(tx *store.Tx, actor audit.Actor, batch []BatchPerson) (refused map[int64]error, err error) {
	_, refused, err = s.eraseBatchTx(tx, actor, batch, false)
	return refused, err
}

// DeleteBatchTx deletes every person of batch in tx as DeleteTx does for
// each in turn (see AnonymizeBatchTx): kept names the person whose row
// stays anonymized (SQLite's highest id, see DeleteTx).
func (s *Service) DeleteBatchTx(tx *store.Tx, actor audit.Actor, batch []BatchPerson) (kept map[int64]bool, refused map[int64]error, err error) {
	return s.eraseBatchTx(tx, actor, batch, true)
}

// chunks calls f with every run of at most batchChunk ids, as "?,?,…"
// and its arguments.
func chunks(ids []int64, f func(in string, args []any) error) error {
	for lo := 0; lo < len(ids); lo += batchChunk {
		c := ids[lo:min(lo+batchChunk, len(ids))]
		args := make([]any, len(c))
		for i, id := range c {
			args[i] = id
		}
		if err := f(store.Placeholders(len(c)), args); err != nil {
			return err
		}
	}
	return nil
}

// eachRow runs q for every chunk of ids (q holds IN (%s) once per %s,
// each filled with the chunk) and calls scan for every row.
func eachRow(tx *store.Tx, ids []int64, q string, scan func(*sql.Rows) error) error {
	return chunks(ids, func(in string, args []any) error {
		n := strings.Count(q, "%s")
		all := make([]any, 0, n*len(args))
		fill := make([]any, n)
		for i := range n {
			all = append(all, args...)
			fill[i] = in
		}
		rows, err := tx.Query(fmt.Sprintf(q, fill...), all...)
		if err != nil {
			return fmt.Errorf("rights: batch erasure: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return fmt.Errorf("rights: batch erasure: %w", err)
			}
		}
		return rows.Err()
	})
}

// execChunks runs q (IN (%s) as in eachRow) for every chunk of ids, with
// pre before the ids.
func execChunks(tx *store.Tx, ids []int64, q string, pre ...any) error {
	return chunks(ids, func(in string, args []any) error {
		n := strings.Count(q, "%s")
		all := append([]any{}, pre...)
		fill := make([]any, n)
		for i := range n {
			all = append(all, args...)
			fill[i] = in
		}
		if _, err := tx.Exec(fmt.Sprintf(q, fill...), all...); err != nil {
			return fmt.Errorf("rights: batch erasure: %w", err)
		}
		return nil
	})
}

func (s *Service) eraseBatchTx(tx *store.Tx, actor audit.Actor, batch []BatchPerson, del bool) (map[int64]bool, map[int64]error, error) {
	now := s.now()
	refused := map[int64]error{}
	kept := map[int64]bool{}
	ids := make([]int64, 0, len(batch))
	for _, b := range batch {
		ids = append(ids, b.PersonID)
	}
	// The persons, checked as plan checks them.
	found := map[int64]*facts{}
	err := eachRow(tx, ids, `SELECT id, first_name, last_name, street, postal_code, city, country, custom, status, organisation_id FROM persons WHERE id IN (%s)`,
		func(r *sql.Rows) error {
			o := newFacts(0)
			var status string
			var org sql.NullInt64
			if err := r.Scan(&o.pid, &o.first, &o.last, &o.street, &o.postal, &o.city, &o.country, &o.custom, &status, &org); err != nil {
				return err
			}
			o.org = org.Valid
			switch status {
			case ledger.StatusAnonymized:
				refused[o.pid] = &ledger.Error{Kind: ledger.KindGone, Code: "person-anonymized", Message: "this person was anonymized already"}
			case ledger.StatusRestricted:
				refused[o.pid] = &ledger.Error{Kind: ledger.KindLocked, Code: "person-restricted", Message: "processing of this person is restricted (GDPR Art. 18): lift the restriction, recorded, before erasing"}
			default:
				found[o.pid] = o
			}
			return nil
		})
	if err != nil {
		return nil, nil, err
	}
	// Art. 19 notices still waiting to be sent stop the erasure (eraseNoticesTx).
	err = eachRow(tx, ids, `SELECT DISTINCT q.person_id FROM mail_outbox o JOIN recipient_notices n ON n.outbox_id = o.id JOIN rights_requests q ON q.id = n.request_id
		WHERE q.person_id IN (%s) AND o.status IN ('queued', 'sending')`, func(r *sql.Rows) error {
		var id int64
		if err := r.Scan(&id); err != nil {
			return err
		}
		if found[id] != nil {
			delete(found, id)
			refused[id] = conflict("notices-pending", "notices to recipients about this person are still waiting to be sent: anonymize once they are sent")
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var todo []*facts
	reason := map[int64]string{}
	taken := map[int64]bool{}
	for _, b := range batch {
		o := found[b.PersonID]
		switch {
		case taken[b.PersonID]:
			continue // named twice: erased once
		case o == nil:
			if refused[b.PersonID] == nil {
				refused[b.PersonID] = notFound("unknown-person", "there is no such person")
			}
			continue
		}
		taken[b.PersonID] = true
		reason[b.PersonID] = b.Reason
		todo = append(todo, o)
	}
	if len(todo) == 0 {
		return kept, refused, nil
	}
	ids = ids[:0]
	by := map[int64]*facts{}
	for _, o := range todo {
		ids = append(ids, o.pid)
		by[o.pid] = o
	}
	texts, err := readBatchFacts(tx, ids, todo)
	if err != nil {
		return nil, nil, err
	}
	var emails []string
	for _, o := range todo {
		emails = append(emails, o.emails...)
	}
	// The events: per person in turn, the withdrawals, then person.erase
	// (and person.delete), as AnonymizeTx and DeleteTx append them.
	var top int64
	if del && tx.Dialect() == store.SQLite {
		if err := tx.QueryRow(`SELECT MAX(id) FROM persons`).Scan(&top); err != nil {
			return nil, nil, fmt.Errorf("rights: delete: %w", err)
		}
	}
	var gone []int64
	var events [][]any
	prepare := func(e audit.Entry) error {
		a, err := audit.Prepare(tx, now, e, nil)
		events = append(events, a)
		return err
	}
	withdrawals := make([]ledger.Withdrawal, len(todo))
	for i, o := range todo {
		keys := make([]string, len(o.purposes))
		for j, x := range o.purposes {
			keys[j] = x.key
		}
		withdrawals[i] = ledger.Withdrawal{PersonID: o.pid, Purposes: keys, Reason: reason[o.pid], Source: ledger.SourceRetention}
	}
	err = s.ledger.WithdrawBatchTx(tx, actor, withdrawals, func(i int) error {
		o := todo[i]
		p := &ErasurePlan{Level: LevelAnonymize}
		p.buildChanges(o)
		if err := prepare(audit.Entry{Actor: actor, Action: "person.erase", ObjectType: "person", ObjectID: strconv.FormatInt(o.pid, 10),
			Reason: reason[o.pid], After: map[string]any{"level": LevelAnonymize, "changes": len(p.Changes)}}); err != nil {
			return err
		}
		if !del {
			return nil
		}
		if o.pid == top {
			kept[o.pid] = true
			return nil
		}
		gone = append(gone, o.pid)
		return prepare(audit.Entry{Actor: actor, Action: "person.delete", ObjectType: "person",
			ObjectID: strconv.FormatInt(o.pid, 10), Reason: reason[o.pid]})
	})
	if err != nil {
		return nil, nil, err
	}
	if err := ledger.InsertRows(tx, `INSERT INTO audit_events (seq, at, actor_type, actor_id, action, object_type, object_id, person_id, payload, hash) VALUES `, events, ""); err != nil {
		return nil, nil, fmt.Errorf("rights: batch erasure: %w", err)
	}
	// Level 1 and 2 (their steps that level 3 does not repeat).
	if err := execChunks(tx, ids, `INSERT INTO mail_blocks (person_id, created_at) SELECT id, ? FROM persons WHERE id IN (%s) ON CONFLICT (person_id) DO NOTHING`, store.Micros(now)); err != nil {
		return nil, nil, err
	}
	// Art. 19 notices naming the persons (eraseNoticesTx).
	for _, q := range []string{
		`DELETE FROM mail_outbox WHERE id IN (SELECT n.outbox_id FROM recipient_notices n JOIN rights_requests q ON q.id = n.request_id WHERE q.person_id IN (%s))`,
		`UPDATE recipient_notices SET outbox_id = NULL WHERE request_id IN (SELECT id FROM rights_requests WHERE person_id IN (%s))`,
	} {
		if err := execChunks(tx, ids, q); err != nil {
			return nil, nil, err
		}
	}
	// Level 3 (anonymizeTx).
	if err := s.ledger.BlockEmailsBatchTx(tx, emails, now); err != nil {
		return nil, nil, err
	}
	var files []string
	seen := map[string]bool{}
	if err := eachRow(tx, ids, `SELECT DISTINCT f.sha256 FROM consent_event_files f JOIN consent_events e ON e.id = f.event_id WHERE e.person_id IN (%s)`, func(r *sql.Rows) error {
		var h string
		if err := r.Scan(&h); err != nil {
			return err
		}
		if !seen[h] {
			seen[h] = true
			files = append(files, h)
		}
		return nil
	}); err != nil {
		return nil, nil, err
	}
	for id, d := range texts {
		if _, err := tx.Exec(`UPDATE business_records SET description = ? WHERE id = ?`, d, id); err != nil {
			return nil, nil, fmt.Errorf("rights: anonymize: %w", err)
		}
	}
	for _, st := range []struct {
		q   string
		pre []any
	}{
		{`DELETE FROM person_emails WHERE person_id IN (%s)`, nil},
		{`DELETE FROM person_phones WHERE person_id IN (%s)`, nil},
		{`UPDATE persons SET first_name = '', last_name = '', street = '', postal_code = '', city = '', country = '', custom = '{}', organisation_id = NULL,
			status = 'anonymized', updated_at = ?, updated_by = ? WHERE id IN (%s)`, []any{store.Micros(now), actor.String()}},
		{`DELETE FROM consent_event_files WHERE event_id IN (SELECT id FROM consent_events WHERE person_id IN (%s))`, nil},
		{`UPDATE consent_events SET evidence = '{}' WHERE person_id IN (%s) AND evidence <> '{}'`, nil},
		{`DELETE FROM activities WHERE person_id IN (%s)`, nil},
		{`DELETE FROM documents WHERE person_id IN (%s)`, nil},
		{`DELETE FROM relationships WHERE person_id IN (%s) OR other_id IN (%s)`, nil},
		{`UPDATE business_records SET person_id = NULL WHERE person_id IN (%s)`, nil},
		{`DELETE FROM rights_request_notes WHERE request_id IN (SELECT id FROM rights_requests WHERE person_id IN (%s))`, nil},
		{`UPDATE rights_requests SET requester_email = '', details = '', verification_method = '', extension_reason = '', outcome = '' WHERE person_id IN (%s)`, nil},
		{`DELETE FROM breach_persons WHERE person_id IN (%s)`, nil},
		{`UPDATE person_keys SET key = NULL, destroyed_at = ? WHERE person_id IN (%s)`, []any{store.Micros(now)}},
		{`DELETE FROM person_secrets WHERE person_id IN (%s)`, nil},
	} {
		if err := execChunks(tx, ids, st.q, st.pre...); err != nil {
			return nil, nil, err
		}
	}
	for lo := 0; lo < len(files); lo += batchChunk {
		c := files[lo:min(lo+batchChunk, len(files))]
		args := make([]any, len(c))
		for i, h := range c {
			args[i] = h
		}
		if _, err := tx.Exec(`DELETE FROM evidence_files WHERE sha256 IN (`+store.Placeholders(len(c))+`)
			AND NOT EXISTS (SELECT 1 FROM consent_event_files f WHERE f.sha256 = evidence_files.sha256)`, args...); err != nil {
			return nil, nil, fmt.Errorf("rights: anonymize: %w", err)
		}
	}
	if err := outreach.ErasePersonsTx(tx, ids); err != nil {
		return nil, nil, err
	}
	// DeleteTx: the rows themselves.
	for _, q := range []string{
		`DELETE FROM consents WHERE person_id IN (%s)`,
		`DELETE FROM consent_event_files WHERE event_id IN (SELECT id FROM consent_events WHERE person_id IN (%s))`,
		`DELETE FROM consent_events WHERE person_id IN (%s)`,
		`DELETE FROM mail_blocks WHERE person_id IN (%s)`,
		`DELETE FROM mail_outbox WHERE person_id IN (%s)`,
		`DELETE FROM preference_tokens WHERE person_id IN (%s)`,
		`DELETE FROM optins WHERE person_id IN (%s)`,
		`DELETE FROM selfservice_requests WHERE person_id IN (%s)`,
		`DELETE FROM consent_request_recipients WHERE person_id IN (%s)`,
		`UPDATE rights_requests SET person_id = NULL WHERE person_id IN (%s)`,
		`DELETE FROM person_keys WHERE person_id IN (%s)`,
		`DELETE FROM persons WHERE id IN (%s)`,
	} {
		if len(gone) == 0 {
			break
		}
		if err := execChunks(tx, gone, q); err != nil {
			return nil, nil, fmt.Errorf("rights: delete: %w", err)
		}
	}
	return kept, refused, nil
}
