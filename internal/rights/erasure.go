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
	Action string `json:"action"` // withdraw, block, delete, clear, unlink, destroy, blocklist, replace
	// Key names what changes (purpose, mail, mail_unsent, phones, address,
	// emails_extra, activities, name, emails, custom, sensitive,
	// organisation, evidence, evidence_files, documents, relationships,
	// requests, recipient_notices, outbox, preference_links, optins,
	// selfservice, breaches, business_records,
	// business_texts, audit_key), for translations; What says it in English.
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

	// Tables is what the erasure does to each table: rows deleted,
	// updated and inserted (the server's own settings aside).
	Tables []TableEffect `json:"tables"`

	purposes []struct{ key, kind, basis string }
	emails   []string
	origin   string           // why, for an erasure without a request case (see AnonymizeTx)
	texts    map[int64]string // business record id → its text with every value the person ever had replaced
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
	f, err := readFacts(q, pid)
	if err != nil {
		return nil, err
	}
	p := &ErasurePlan{RequestID: requestID, PersonID: pid, Level: level, Changes: []Change{}}
	p.buildChanges(f)
	if p.Tables, err = effects(q, p, f); err != nil {
		return nil, err
	}
	p.purposes, p.emails, p.texts = f.purposes, f.emails, f.texts
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
	// Business records are kept; personal values in their text go (as
	// the plan, read in this transaction, rewrote them).
	for id, d := range p.texts {
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
	return nil
}
