package rights

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/outreach"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
)

// Erasure levels (GDPR Art. 17); each includes the ones below it.
const (
	// LevelBlock deactivates every purpose and blocks all mail.
	LevelBlock = 1
	// LevelContact also deletes all communication data except the e-mail
	// address: phone numbers, postal address, further e-mail addresses and
	// the activity history.
	LevelContact = 2
	// LevelAnonymize removes or replaces every personal value, unlinks the
	// business records, destroys the person's audit key and keeps the
	// e-mail addresses only as keyed hashes on the blocklist.
	LevelAnonymize = 3
)

// Change is one thing an erasure changes.
type Change struct {
	Level  int    `json:"level"`
	Action string `json:"action"` // withdraw, block, delete, clear, unlink, destroy, blocklist
	// Key names what changes (purpose, mail, phones, address, emails_extra,
	// activities, name, emails, custom, organisation, evidence,
	// evidence_files, documents, relationships, requests,
	// business_records, audit_key), for translations; What says it in English.
	Key     string `json:"key"`
	Subject string `json:"subject,omitempty"` // the purpose key, for purpose
	What    string `json:"what"`
	Count   int    `json:"count,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// ErasurePlan is the exact list of changes an erasure makes.
type ErasurePlan struct {
	RequestID int64    `json:"request_id"`
	PersonID  int64    `json:"person_id"`
	Level     int      `json:"level"`
	Changes   []Change `json:"changes"`

	purposes []struct{ key, kind, basis string }
	emails   []string
	origin   string   // why, for an erasure without a request case (see AnonymizeTx)
	values   []string // the personal values to scrub from kept records
}

type querier interface {
	QueryRow(q string, args ...any) *sql.Row
	Query(q string, args ...any) (*sql.Rows, error)
}

type readQ struct {
	ctx context.Context
	db  *store.DB
}

func (r readQ) QueryRow(q string, args ...any) *sql.Row { return r.db.QueryRow(r.ctx, q, args...) }
func (r readQ) Query(q string, args ...any) (*sql.Rows, error) {
	return r.db.Query(r.ctx, q, args...)
}

func count(q querier, query string, args ...any) (int, error) {
	var n int
	err := q.QueryRow(query, args...).Scan(&n)
	return n, err
}

// caseFor checks that a request allows acting on its person: open, with
// a verified identity, linked to a person.
func caseFor(r *Request, types ...string) (int64, error) {
	if !contains(types, r.Type) {
		return 0, conflict("wrong-request-type", "this action belongs to a request of type "+strings.Join(types, " or "))
	}
	if !r.Open() {
		return 0, closedErr()
	}
	if !r.Verified() {
		return 0, conflict("identity-not-verified", "verify the requester's identity before anything is disclosed or erased")
	}
	if r.PersonID == nil {
		return 0, conflict("no-person", "the request is not linked to a person")
	}
	return *r.PersonID, nil
}

// caseForTx loads request id in tx and checks it as caseFor does.
func (s *Service) caseForTx(tx *store.Tx, id int64, types ...string) (*Request, int64, error) {
	r, err := s.scanRequest(tx.QueryRow(`SELECT `+requestCols+` FROM rights_requests WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, 0, notFound("unknown-request", "there is no such request")
	}
	if err != nil {
		return nil, 0, err
	}
	pid, err := caseFor(r, types...)
	return r, pid, err
}

// PreviewErasure lists exactly what erasing at level would change, for a
// verified erasure request.
func (s *Service) PreviewErasure(ctx context.Context, requestID int64, level int) (*ErasurePlan, error) {
	r, err := s.Request(ctx, requestID)
	if err != nil {
		return nil, err
	}
	pid, err := caseFor(r, TypeErasure)
	if err != nil {
		return nil, err
	}
	return plan(readQ{ctx, s.db}, requestID, pid, level)
}

func plan(q querier, requestID, pid int64, level int) (*ErasurePlan, error) {
	if level < LevelBlock || level > LevelAnonymize {
		return nil, invalid("level", "must be 1 (block), 2 (delete contact data) or 3 (anonymize)")
	}
	p := &ErasurePlan{RequestID: requestID, PersonID: pid, Level: level, Changes: []Change{}}
	var first, last, street, postal, city, country, custom, status string
	var org sql.NullInt64
	err := q.QueryRow(`SELECT first_name, last_name, street, postal_code, city, country, custom, status, organisation_id FROM persons WHERE id = ?`, pid).
		Scan(&first, &last, &street, &postal, &city, &country, &custom, &status, &org)
	if isNoRows(err) {
		return nil, notFound("unknown-person", "there is no such person")
	}
	if err != nil {
		return nil, err
	}
	switch status {
	case ledger.StatusAnonymized:
		return nil, &ledger.Error{Kind: ledger.KindGone, Code: "person-anonymized", Message: "this person was anonymized already"}
	case ledger.StatusRestricted:
		return nil, &ledger.Error{Kind: ledger.KindLocked, Code: "person-restricted", Message: "processing of this person is restricted (GDPR Art. 18): lift the restriction, recorded, before erasing"}
	}
	add := func(l int, action, key, what string, n int, detail string) {
		if l <= level {
			c := Change{Level: l, Action: action, Key: key, What: what, Count: n, Detail: detail}
			if key == "purpose" {
				c.Subject = strings.TrimPrefix(what, "purpose ")
			}
			p.Changes = append(p.Changes, c)
		}
	}
	rows, err := q.Query(`SELECT pu.key, c.kind, c.legal_basis FROM consents c JOIN purposes pu ON pu.id = c.purpose_id
		WHERE c.person_id = ? AND c.kind IN ('granted', 'pending') ORDER BY pu.key`, pid)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var x struct{ key, kind, basis string }
		if err := rows.Scan(&x.key, &x.kind, &x.basis); err != nil {
			rows.Close()
			return nil, err
		}
		p.purposes = append(p.purposes, x)
		add(LevelBlock, "withdraw", "purpose", "purpose "+x.key, 0, x.kind+" ("+x.basis+") → withdrawn")
	}
	rows.Close()
	var blocked int
	if blocked, err = count(q, `SELECT COUNT(*) FROM mail_blocks WHERE person_id = ?`, pid); err != nil {
		return nil, err
	}
	if blocked == 0 {
		add(LevelBlock, "block", "mail", "mail of any kind", 0, "")
	}
	rows, err = q.Query(`SELECT email, is_primary FROM person_emails WHERE person_id = ? ORDER BY is_primary DESC, email`, pid)
	if err != nil {
		return nil, err
	}
	var extra []string
	for rows.Next() {
		var e string
		var primary int
		if err := rows.Scan(&e, &primary); err != nil {
			rows.Close()
			return nil, err
		}
		p.emails = append(p.emails, e)
		if primary == 0 {
			extra = append(extra, e)
		}
	}
	rows.Close()
	rows, err = q.Query(`SELECT number FROM person_phones WHERE person_id = ?`, pid)
	if err != nil {
		return nil, err
	}
	var phones []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		phones = append(phones, n)
	}
	rows.Close()
	if len(phones) > 0 {
		add(LevelContact, "delete", "phones", "phone numbers", len(phones), strings.Join(phones, ", "))
	}
	if addr := strings.TrimSpace(strings.Join(nonEmpty(street, postal, city, country), ", ")); addr != "" {
		add(LevelContact, "clear", "address", "postal address", 0, addr)
	}
	if len(extra) > 0 {
		add(LevelContact, "delete", "emails_extra", "further e-mail addresses", len(extra), strings.Join(extra, ", "))
	}
	n, err := count(q, `SELECT COUNT(*) FROM activities WHERE person_id = ?`, pid)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		add(LevelContact, "delete", "activities", "activities (calls, meetings, e-mails, notes)", n, "")
	}
	if name := strings.TrimSpace(first + " " + last); name != "" {
		add(LevelAnonymize, "clear", "name", "name", 0, name)
	}
	if len(p.emails) > 0 {
		add(LevelAnonymize, "blocklist", "emails", "e-mail addresses: deleted, kept only as keyed hashes on the blocklist", len(p.emails), strings.Join(p.emails, ", "))
	}
	if custom != "" && custom != "{}" {
		add(LevelAnonymize, "clear", "custom", "custom fields", 0, custom)
	}
	if org.Valid {
		add(LevelAnonymize, "unlink", "organisation", "organisation", 0, "")
	}
	for _, c := range []struct{ key, what, q string }{
		{"evidence", "evidence of consent events (notes, forms, IP addresses, user agents)", `SELECT COUNT(*) FROM consent_events WHERE person_id = ? AND evidence <> '{}'`},
		{"evidence_files", "evidence files", `SELECT COUNT(*) FROM consent_event_files f JOIN consent_events e ON e.id = f.event_id WHERE e.person_id = ?`},
		{"documents", "documents with their files", `SELECT COUNT(*) FROM documents WHERE person_id = ?`},
		{"relationships", "relationships to other persons", `SELECT COUNT(*) FROM relationships WHERE person_id = ? OR other_id = ?`},
		{"requests", "requester details and internal notes of request cases", `SELECT COUNT(*) FROM rights_requests WHERE person_id = ?`},
		{"recipient_notices", "notices to recipients naming the person (Art. 19), in the outbox", `SELECT COUNT(*) FROM mail_outbox WHERE id IN (SELECT n.outbox_id FROM recipient_notices n JOIN rights_requests q ON q.id = n.request_id WHERE q.person_id = ?)`},
	} {
		args := []any{pid}
		if strings.Count(c.q, "?") == 2 {
			args = append(args, pid)
		}
		n, err := count(q, c.q, args...)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			add(LevelAnonymize, "delete", c.key, c.what, n, "")
		}
	}
	if n, err = count(q, `SELECT COUNT(*) FROM business_records WHERE person_id = ?`, pid); err != nil {
		return nil, err
	}
	if n > 0 {
		add(LevelAnonymize, "unlink", "business_records", "business records (orders, invoices): kept for their retention period, linked to no one", n, "")
	}
	add(LevelAnonymize, "destroy", "audit_key", "the person's audit key: their audit events become unreadable, the chain still verifies", 0, "")
	p.values = append(append(append(p.values, p.emails...), phones...), nonEmpty(first, last, street, city)...)
	if name := strings.TrimSpace(first + " " + last); name != "" && first != "" && last != "" {
		p.values = append(p.values, name)
	}
	return p, nil
}

func nonEmpty(v ...string) []string {
	var out []string
	for _, s := range v {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// ErasureResult says what an erasure did.
type ErasureResult struct {
	Plan *ErasurePlan `json:"plan"`
	At   time.Time    `json:"at"`
}

// Erase erases the person of a verified erasure request at level (1–3),
// exactly as PreviewErasure lists, in one transaction with its audit
// events. After level 3 the SQLite log is checkpointed, so that no copy of
// the erased pages stays in it.
func (s *Service) Erase(ctx context.Context, actor audit.Actor, requestID int64, level int, reason string) (*ErasureResult, error) {
	if err := ledger.CheckTexts(ledger.MultiLine("reason", reason, textcheck.MaxReason)); err != nil {
		return nil, err
	}
	var res *ErasureResult
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		now := s.now()
		_, pid, err := s.caseForTx(tx, requestID, TypeErasure)
		if err != nil {
			return err
		}
		p, err := plan(tx, requestID, pid, level)
		if err != nil {
			return err
		}
		if err := s.eraseTx(tx, actor, p, reason, now); err != nil {
			return err
		}
		res = &ErasureResult{Plan: p, At: now}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if level == LevelAnonymize {
		if err := s.db.Checkpoint(ctx); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (s *Service) eraseTx(tx *store.Tx, actor audit.Actor, p *ErasurePlan, reason string, now time.Time) error {
	pid := p.PersonID
	exec := func(q string, args ...any) error {
		if _, err := tx.Exec(q, args...); err != nil {
			return fmt.Errorf("rights: erase: %w", err)
		}
		return nil
	}
	// Level 1: every purpose deactivated, all mail blocked.
	for _, pu := range p.purposes {
		if _, err := s.ledger.RecordConsentTx(tx, actor, ledger.ConsentInput{PersonID: pid, Purpose: pu.key, Kind: ledger.Withdrawn,
			Source: p.source(), Reason: p.why()}); err != nil {
			return err
		}
	}
	if err := exec(`INSERT INTO mail_blocks (person_id, created_at) VALUES (?, ?) ON CONFLICT (person_id) DO NOTHING`, pid, store.Micros(now)); err != nil {
		return err
	}
	// Nothing more goes out: mail not yet sent is dropped (the outbox
	// leaves out blocked persons from now on).
	if err := exec(`DELETE FROM mail_outbox WHERE person_id = ? AND status IN ('queued', 'sending', 'dead')`, pid); err != nil {
		return err
	}
	if p.Level >= LevelContact {
		for _, q := range []string{
			`DELETE FROM person_phones WHERE person_id = ?`,
			`DELETE FROM person_emails WHERE person_id = ? AND is_primary = 0`,
			`UPDATE persons SET street = '', postal_code = '', city = '', country = '' WHERE id = ?`,
			`DELETE FROM activities WHERE person_id = ?`,
		} {
			if err := exec(q, pid); err != nil {
				return err
			}
		}
	}
	if p.Level >= LevelAnonymize {
		// Art. 19 notices name the person: sent ones go, unsent ones stop it.
		if err := eraseNoticesTx(tx, pid); err != nil {
			return err
		}
		if err := s.anonymizeTx(tx, actor, p, now); err != nil {
			return err
		}
		// The outbox, preference links and opt-in records.
		if err := outreach.ErasePersonTx(tx, pid); err != nil {
			return err
		}
	} else if err := exec(`UPDATE persons SET updated_at = ?, updated_by = ? WHERE id = ?`, store.Micros(now), actor.String(), pid); err != nil {
		return err
	}
	summary := map[string]any{"level": p.Level, "changes": len(p.Changes)}
	for _, c := range p.Changes {
		summary[c.Action+": "+c.What] = c.Count
	}
	e := audit.Entry{Actor: actor, Action: "person.erase", ObjectType: "person", ObjectID: strconv.FormatInt(pid, 10), PersonID: pid, Reason: reason, After: summary}
	if p.Level >= LevelAnonymize {
		// The key is gone: the event is kept in clear and names no value.
		e.PersonID, e.Reason = 0, p.why()
		e.After = map[string]any{"level": p.Level, "changes": len(p.Changes)}
	}
	return appendAudit(tx, now, e)
}

func (s *Service) anonymizeTx(tx *store.Tx, actor audit.Actor, p *ErasurePlan, now time.Time) error {
	pid := p.PersonID
	if err := s.ledger.BlockEmailsTx(tx, p.emails, now); err != nil {
		return err
	}
	// Evidence files of the person's events that no other event uses.
	rows, err := tx.Query(`SELECT DISTINCT f.sha256 FROM consent_event_files f JOIN consent_events e ON e.id = f.event_id WHERE e.person_id = ?`, pid)
	if err != nil {
		return err
	}
	var files []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return err
		}
		files = append(files, h)
	}
	rows.Close()
	// Business records are kept; personal values in their text go.
	rows, err = tx.Query(`SELECT id, description FROM business_records WHERE person_id = ?`, pid)
	if err != nil {
		return err
	}
	scrub := map[int64]string{}
	for rows.Next() {
		var id int64
		var d string
		if err := rows.Scan(&id, &d); err != nil {
			rows.Close()
			return err
		}
		if nd := scrubValues(d, p.values); nd != d {
			scrub[id] = nd
		}
	}
	rows.Close()
	for id, d := range scrub {
		if _, err := tx.Exec(`UPDATE business_records SET description = ? WHERE id = ?`, d, id); err != nil {
			return err
		}
	}
	steps := []struct {
		q    string
		args []any
	}{
		{`DELETE FROM person_emails WHERE person_id = ?`, []any{pid}},
		{`DELETE FROM person_phones WHERE person_id = ?`, []any{pid}},
		{`UPDATE persons SET first_name = '', last_name = '', street = '', postal_code = '', city = '', country = '', custom = '{}', organisation_id = NULL,
			status = 'anonymized', updated_at = ?, updated_by = ? WHERE id = ?`, []any{store.Micros(now), actor.String(), pid}},
		{`DELETE FROM consent_event_files WHERE event_id IN (SELECT id FROM consent_events WHERE person_id = ?)`, []any{pid}},
		{`UPDATE consent_events SET evidence = '{}' WHERE person_id = ?`, []any{pid}},
		{`DELETE FROM activities WHERE person_id = ?`, []any{pid}},
		{`DELETE FROM documents WHERE person_id = ?`, []any{pid}},
		{`DELETE FROM relationships WHERE person_id = ? OR other_id = ?`, []any{pid, pid}},
		{`UPDATE business_records SET person_id = NULL WHERE person_id = ?`, []any{pid}},
		{`DELETE FROM rights_request_notes WHERE request_id IN (SELECT id FROM rights_requests WHERE person_id = ?)`, []any{pid}},
		{`UPDATE rights_requests SET requester_email = '', details = '', verification_method = '', extension_reason = '', outcome = '' WHERE person_id = ?`, []any{pid}},
		{`DELETE FROM breach_persons WHERE person_id = ?`, []any{pid}},
		{`UPDATE person_keys SET key = NULL, destroyed_at = ? WHERE person_id = ?`, []any{store.Micros(now), pid}},
		{`DELETE FROM person_secrets WHERE person_id = ?`, []any{pid}},
	}
	for _, st := range steps {
		if _, err := tx.Exec(st.q, st.args...); err != nil {
			return fmt.Errorf("rights: anonymize: %w", err)
		}
	}
	for _, h := range files {
		if _, err := tx.Exec(`DELETE FROM evidence_files WHERE sha256 = ? AND NOT EXISTS (SELECT 1 FROM consent_event_files WHERE sha256 = ?)`, h, h); err != nil {
			return fmt.Errorf("rights: anonymize: %w", err)
		}
	}
	for _, e := range p.emails {
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(e)
		if _, err := tx.Exec(`DELETE FROM idempotency_keys WHERE key LIKE ? ESCAPE '\'`, "%"+esc+"%"); err != nil {
			return fmt.Errorf("rights: anonymize: %w", err)
		}
	}
	return nil
}

// scrubValues replaces each personal value in text, ignoring case.
func scrubValues(text string, values []string) string {
	for _, v := range values {
		if len(v) < 3 {
			continue
		}
		if len(strings.ToLower(text)) != len(text) || len(strings.ToLower(v)) != len(v) {
			text = strings.ReplaceAll(text, v, "[erased]")
			continue
		}
		for {
			i := strings.Index(strings.ToLower(text), strings.ToLower(v))
			if i < 0 {
				break
			}
			text = text[:i] + "[erased]" + text[i+len(v):]
		}
	}
	return text
}
