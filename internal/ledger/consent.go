package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
)

// File is an evidence attachment (a checked-in e-mail, a signature image).
type File struct {
	Name      string `json:"name"`
	MediaType string `json:"media_type"`
	Content   []byte `json:"content,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
	Size      int64  `json:"size,omitempty"`
}

// Evidence is what proves a consent event (GDPR Art. 7(1)).
type Evidence struct {
	Note      string            `json:"note,omitempty"`
	FormURL   string            `json:"form_url,omitempty"`
	Form      map[string]string `json:"form,omitempty"` // snapshot of the submitted form
	IP        string            `json:"ip,omitempty"`
	UserAgent string            `json:"user_agent,omitempty"`
	Files     []File            `json:"files,omitempty"`
}

// ConsentInput records one consent event.
type ConsentInput struct {
	PersonID    int64      `json:"person_id"`
	Purpose     string     `json:"purpose"`
	Kind        EventKind  `json:"kind"`
	LegalBasis  LegalBasis `json:"legal_basis"`
	Source      string     `json:"source"`
	TextVersion int        `json:"text_version"`
	Language    string     `json:"language"`
	OccurredAt  *time.Time `json:"occurred_at"`
	ValidUntil  *time.Time `json:"valid_until"`
	Evidence    Evidence   `json:"evidence"`
	Reason      string     `json:"reason"`
}

// ConsentEvent is one entry of a consent's append-only history.
type ConsentEvent struct {
	ID          int64      `json:"id"`
	PersonID    int64      `json:"person_id"`
	Purpose     string     `json:"purpose"`
	Kind        EventKind  `json:"kind"`
	LegalBasis  LegalBasis `json:"legal_basis"`
	Source      string     `json:"source,omitempty"`
	TextVersion int        `json:"text_version"`
	Language    string     `json:"language"`
	OccurredAt  time.Time  `json:"occurred_at"`
	RecordedAt  time.Time  `json:"recorded_at"`
	ValidUntil  *time.Time `json:"valid_until,omitempty"`
	Actor       Actor      `json:"actor"`
	Evidence    Evidence   `json:"evidence"`
}

// ConsentState is the current consent of a person for one purpose.
type ConsentState struct {
	Purpose     string     `json:"purpose"`
	State       EventKind  `json:"state"` // "none" when nothing was recorded
	Valid       bool       `json:"valid"` // processing is allowed now
	LegalBasis  LegalBasis `json:"legal_basis,omitempty"`
	Source      string     `json:"source,omitempty"`
	TextVersion int        `json:"text_version,omitempty"`
	UpdatedAt   *time.Time `json:"updated_at,omitempty"`
	UpdatedBy   string     `json:"updated_by,omitempty"`
	ValidUntil  *time.Time `json:"valid_until,omitempty"`
	EventID     int64      `json:"event_id,omitempty"`
}

// Limits of the evidence texts.
const (
	maxIP         = 64
	maxUserAgent  = 1000
	maxFormFields = 200
)

// MaxEvidenceFile bounds one evidence attachment.
const MaxEvidenceFile = 10 << 20

// RecordConsent appends a consent event and moves the current state.
func (s *Service) RecordConsent(ctx context.Context, actor Actor, in ConsentInput) (*ConsentEvent, error) {
	if err := in.precheck(); err != nil {
		return nil, err
	}
	var ev *ConsentEvent
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		ev, err = s.RecordConsentTx(tx, actor, in)
		if err == nil {
			tx.SetResult(ev.ID)
		}
		return err
	})
	return ev, err
}

// precheck validates what needs no database.
func (in *ConsentInput) precheck() error {
	var fe fieldErrs
	if in.PersonID <= 0 {
		fe.add("person_id", "is required")
	}
	if in.Purpose == "" {
		fe.add("purpose", "is required")
	}
	if !in.Kind.Valid() {
		fe.add("kind", "must be one of granted, withdrawn, refused, objected, pending, expired")
	}
	if in.LegalBasis != "" && !in.LegalBasis.Valid() {
		fe.add("legal_basis", "must be one of "+legalBasisList())
	}
	if in.Language != "" && !validLanguage(in.Language) {
		fe.add("language", "must be one of "+strings.Join(Languages, ", "))
	}
	if in.TextVersion < 0 {
		fe.add("text_version", "must be positive")
	}
	fe.text(OneLine("purpose", in.Purpose, textcheck.MaxShort))
	fe.text(OneLine("source", in.Source, textcheck.MaxShort))
	fe.text(MultiLine("reason", in.Reason, textcheck.MaxReason))
	ev := &in.Evidence
	fe.text(MultiLine("evidence.note", ev.Note, textcheck.MaxNote))
	fe.text(OneLine("evidence.form_url", ev.FormURL, textcheck.MaxURL))
	fe.text(OneLine("evidence.ip", ev.IP, maxIP))
	fe.text(OneLine("evidence.user_agent", ev.UserAgent, maxUserAgent))
	if len(ev.Form) > maxFormFields {
		fe.add("evidence.form", fmt.Sprintf("at most %d fields", maxFormFields))
	}
	for k, v := range ev.Form {
		if bad := textcheck.Line(k, textcheck.MaxShort); bad != textcheck.OK {
			fe.add("evidence.form", "field name "+bad.Message(textcheck.MaxShort))
		}
		if bad := textcheck.Text(v, textcheck.MaxNote); bad != textcheck.OK {
			fe.add("evidence.form."+strings.ToValidUTF8(k, ""), bad.Message(textcheck.MaxNote))
		}
	}
	for i := range ev.Files {
		f := &ev.Files[i]
		if e, bad := CheckFileName("", &f.Name); bad {
			fe.add(fmt.Sprintf("evidence.files[%d].name", i), e.Message)
		}
		if bad := textcheck.Line(f.MediaType, textcheck.MaxMediaType); bad != textcheck.OK {
			fe.add(fmt.Sprintf("evidence.files[%d].media_type", i), bad.Message(textcheck.MaxMediaType))
		}
		if len(f.Content) == 0 {
			fe.add(fmt.Sprintf("evidence.files[%d].content", i), "is empty")
		}
		if len(f.Content) > MaxEvidenceFile {
			fe.add(fmt.Sprintf("evidence.files[%d].content", i), "is larger than 10 MiB")
		}
	}
	return fe.err()
}

// RecordConsentTx records a consent event inside a running transaction.
func (s *Service) RecordConsentTx(tx *store.Tx, actor Actor, in ConsentInput) (*ConsentEvent, error) {
	if err := in.precheck(); err != nil {
		return nil, err
	}
	now := s.now().Truncate(time.Microsecond)
	occurred := now
	if in.OccurredAt != nil && !in.OccurredAt.IsZero() {
		occurred = in.OccurredAt.UTC().Truncate(time.Microsecond)
		if occurred.After(now.Add(5 * time.Minute)) {
			return nil, invalid("validation", "a consent event cannot lie in the future", FieldError{Field: "occurred_at", Message: "is in the future"})
		}
	}
	if in.ValidUntil != nil && !in.ValidUntil.After(occurred) {
		return nil, invalid("validation", "valid_until must be after the event", FieldError{Field: "valid_until", Message: "is not after occurred_at"})
	}
	p, err := purposeTx(tx, in.Purpose)
	if err != nil {
		if e, ok := AsError(err); ok && e.Kind == KindNotFound {
			return nil, invalid("unknown-purpose", fmt.Sprintf("there is no purpose %q", in.Purpose), FieldError{Field: "purpose", Message: "unknown purpose"})
		}
		return nil, err
	}
	// The person, their audit key and the current state, in one read.
	var status, lang string
	var key []byte
	var prevKind, prevBasis sql.NullString
	var prevAt sql.NullInt64
	err = tx.QueryRow(`SELECT p.status, p.language, k.key, c.kind, c.legal_basis, c.occurred_at FROM persons p
		LEFT JOIN person_keys k ON k.person_id = p.id LEFT JOIN consents c ON c.person_id = p.id AND c.purpose_id = ?
		WHERE p.id = ?`, p.ID, in.PersonID).Scan(&status, &lang, &key, &prevKind, &prevBasis, &prevAt)
	if isNoRows(err) {
		return nil, notFound("unknown-person", "there is no such person")
	}
	if err != nil {
		return nil, err
	}
	if err := writable(&Person{Status: status}); err != nil {
		return nil, err
	}
	var before *ConsentState
	if prevKind.Valid {
		before = &ConsentState{Purpose: p.Key, State: EventKind(prevKind.String), LegalBasis: LegalBasis(prevBasis.String)}
	}
	basis, version, err := p.resolveFor(in.Kind, in.LegalBasis, in.TextVersion, before)
	if err != nil {
		return nil, err
	}
	if in.Language != "" {
		lang = in.Language
	}
	source := in.Source
	if source == "" {
		if source = defaultSourceFor(actor); source == "" {
			return nil, invalid("source-required", "name the source of the consent event", FieldError{Field: "source", Message: "is required"})
		}
	}
	lifts, err := objectionBars(p, before, actor, in.Kind, basis, source, in.Reason, &in.Evidence)
	if err != nil {
		return nil, err
	}
	srcID, err := sourceID(tx, source)
	if err != nil {
		return nil, err
	}
	ev := &ConsentEvent{
		PersonID: in.PersonID, Purpose: p.Key, Kind: in.Kind, LegalBasis: basis, Source: source, TextVersion: version,
		Language: lang, OccurredAt: occurred, RecordedAt: now, ValidUntil: in.ValidUntil, Actor: actor, Evidence: in.Evidence,
	}
	if ev.ValidUntil != nil {
		v := ev.ValidUntil.UTC().Truncate(time.Microsecond)
		ev.ValidUntil = &v
	}
	files := ev.Evidence.Files
	ev.Evidence.Files = make([]File, len(files))
	for i, f := range files {
		sum := sha256.Sum256(f.Content)
		h := hex.EncodeToString(sum[:])
		mt := f.MediaType
		if mt == "" {
			mt = "application/octet-stream"
		}
		if _, err := tx.Exec(`INSERT INTO evidence_files (sha256, media_type, size, content, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING`,
			h, mt, len(f.Content), f.Content, store.Micros(now)); err != nil {
			return nil, fmt.Errorf("ledger: store evidence file: %w", err)
		}
		ev.Evidence.Files[i] = File{Name: f.Name, MediaType: mt, SHA256: h, Size: int64(len(f.Content))}
	}
	evidence, _ := json.Marshal(ev.Evidence)
	entry := func() audit.Entry {
		return audit.Entry{Actor: actor, Action: "consent." + string(in.Kind), ObjectType: "consent_event", ObjectID: strconv.FormatInt(ev.ID, 10),
			PersonID: in.PersonID, Reason: in.Reason, Before: before, After: ev}
	}
	// The same rule as upsertConsent: the newest event is the state.
	applied := !prevAt.Valid || prevAt.Int64 <= store.Micros(occurred)
	counts := stateCounts{grants: grantDelta(EventKind(prevKind.String), in.Kind, applied, !p.Archived), first: !prevKind.Valid}
	if err := s.storeEvent(tx, ev, p.ID, srcID, string(evidence), now, entry, key, counts); err != nil {
		return nil, fmt.Errorf("ledger: record consent: %w", err)
	}
	for _, f := range ev.Evidence.Files {
		if _, err := tx.Exec(`INSERT INTO consent_event_files (event_id, sha256, filename) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, ev.ID, f.SHA256, f.Name); err != nil {
			return nil, fmt.Errorf("ledger: link evidence file: %w", err)
		}
	}
	if lifts {
		if _, err := audit.Append(tx, now, liftedEntry(p, ev, in.Reason), key); err != nil {
			return nil, fmt.Errorf("ledger: record consent: %w", err)
		}
	}
	return ev, nil
}

const insertEventSQL = `INSERT INTO consent_events (id, person_id, purpose_id, kind, legal_basis, source_id, text_version, language, occurred_at, recorded_at, valid_until, actor_type, actor_id, evidence)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// upsertConsent moves the current state to the event unless the stored
// state is newer: a back-dated event joins the history only.
const upsertConsent = `INSERT INTO consents (person_id, purpose_id, event_id, kind, legal_basis, occurred_at, valid_until) VALUES (?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (person_id, purpose_id) DO UPDATE SET event_id = excluded.event_id, kind = excluded.kind, legal_basis = excluded.legal_basis,
	occurred_at = excluded.occurred_at, valid_until = excluded.valid_until WHERE consents.occurred_at <= excluded.occurred_at`

// On PostgreSQL the event, the new state and the audit event are one
// statement: each statement is a round trip on the writer's connection.
const storeEventPG = `WITH ev AS (` + insertEventSQL + `), st AS (` + upsertConsent + `), au AS (` + audit.InsertSQL + `),
	gc AS (UPDATE persons SET grant_count = grant_count + ?::bigint WHERE id = ? AND ?::bigint <> 0),
	bl AS (INSERT INTO consent_blocks (purpose_id, block, n) SELECT ?::bigint, ?::bigint, 1 WHERE ?::boolean
		ON CONFLICT (purpose_id, block) DO UPDATE SET n = consent_blocks.n + 1) SELECT 1`

// stateCounts is what a consent event changes in the counts kept for the
// contacts list (see counts.go).
type stateCounts struct {
	grants int64 // the person's grant count moves by this
	first  bool  // the person's first record for the purpose
}

// storeEvent writes ev with a new id, moves the current state to it,
// appends the audit event entry describes and keeps the counts.
func (s *Service) storeEvent(tx *store.Tx, ev *ConsentEvent, purposeID int64, srcID any, evidence string, now time.Time, entry func() audit.Entry, key []byte, counts stateCounts) error {
	var id any // SQLite: the next rowid
	if tx.Dialect() == store.Postgres {
		var err error
		if ev.ID, err = s.eventIDs.take(tx); err != nil {
			return err
		}
		id = ev.ID
	}
	eventArgs := []any{id, ev.PersonID, purposeID, string(ev.Kind), string(ev.LegalBasis), srcID, ev.TextVersion, ev.Language,
		store.Micros(ev.OccurredAt), store.Micros(ev.RecordedAt), nullTime(ev.ValidUntil), ev.Actor.Type, ev.Actor.ID, evidence}
	stateArgs := func() []any {
		return []any{ev.PersonID, purposeID, ev.ID, string(ev.Kind), string(ev.LegalBasis), store.Micros(ev.OccurredAt), nullTime(ev.ValidUntil)}
	}
	if tx.Dialect() == store.Postgres {
		auditArgs, err := audit.Prepare(tx, now, entry(), key)
		if err != nil {
			return err
		}
		args := append(append(eventArgs, stateArgs()...), auditArgs...)
		args = append(args, counts.grants, ev.PersonID, counts.grants, purposeID, ev.PersonID>>blockShift, counts.first)
		_, err = tx.Exec(storeEventPG, args...)
		return err
	}
	var err error
	if ev.ID, err = tx.InsertID(insertEventSQL, eventArgs...); err != nil {
		return err
	}
	if _, err := tx.Exec(upsertConsent, stateArgs()...); err != nil {
		return err
	}
	if err := addGrants(tx, ev.PersonID, counts.grants); err != nil {
		return err
	}
	if counts.first {
		if err := addConsentBlock(tx, purposeID, ev.PersonID>>blockShift, 1); err != nil {
			return err
		}
	}
	_, err = audit.Append(tx, now, entry(), key)
	return err
}

// eventIDBlock hands out consent event ids on PostgreSQL, reserved from the
// table's sequence a block at a time (ids of rolled-back writes are not
// reused, as with any sequence).
type eventIDBlock struct {
	mu  sync.Mutex
	ids []int64
}

func (b *eventIDBlock) take(tx *store.Tx) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.ids) == 0 {
		rows, err := tx.Query(`SELECT nextval(pg_get_serial_sequence('consent_events', 'id')) FROM generate_series(1, 256)`)
		if err != nil {
			return 0, fmt.Errorf("reserve event ids: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return 0, err
			}
			b.ids = append(b.ids, id)
		}
		if err := rows.Err(); err != nil {
			return 0, err
		}
	}
	id := b.ids[0]
	b.ids = b.ids[1:]
	return id, nil
}

// resolve checks what a consent event may record for the purpose and
// fills the defaults: the legal basis (the purpose's default, or consent
// for an answer to a consent request) and the current text version.
func (p *Purpose) resolve(kind EventKind, basis LegalBasis, version int) (LegalBasis, int, error) {
	return p.resolveFor(kind, basis, version, nil)
}

// resolveFor is resolve knowing the current state: an objection without a
// basis is recorded against the basis the purpose is processed on now
// (when the purpose still allows it), else the purpose's default. An
// objection applies whatever the basis (Art. 21), so the basis an
// objection records is always one the purpose allows.
func (p *Purpose) resolveFor(kind EventKind, basis LegalBasis, version int, current *ConsentState) (LegalBasis, int, error) {
	if p.Archived && (kind == Granted || kind == Pending) {
		return "", 0, invalid("archived-purpose", "the purpose is archived: no new consent can be given for it", FieldError{Field: "purpose", Message: "archived"})
	}
	if basis == "" {
		basis = p.DefaultLegalBasis
		switch {
		case kind == Objected:
			if current != nil && current.LegalBasis != "" && p.Allows(current.LegalBasis) {
				basis = current.LegalBasis
			}
		case kind == Withdrawn && current != nil && current.LegalBasis.IsConsent() && p.Allows(current.LegalBasis):
			basis = current.LegalBasis // explicit consent stays explicit
		case kind != Granted && p.Allows(Consent):
			basis = Consent
		}
	}
	if !p.Allows(basis) {
		msg := fmt.Sprintf("the purpose %q allows only %s", p.Key, strings.ReplaceAll(joinBases(p.AllowedLegalBases), ",", ", "))
		if p.ConsentRequired {
			msg = fmt.Sprintf("the purpose %q requires consent: %s is not allowed", p.Key, basis)
		}
		return "", 0, invalid("legal-basis-not-allowed", msg, FieldError{Field: "legal_basis", Message: "not allowed for this purpose"})
	}
	switch {
	case version == 0:
		version = p.CurrentVersion
	case version > p.CurrentVersion:
		return "", 0, invalid("unknown-text-version", fmt.Sprintf("the purpose %q has no text version %d", p.Key, version), FieldError{Field: "text_version", Message: "unknown"})
	}
	return basis, version, nil
}

// defaultSourceFor is the source recorded when the caller names none: what
// really happened, never a guessed channel. Staff in the UI always name
// one (the record form requires it); a staff change elsewhere (a rights
// case, the CLI) is a staff entry. "" means the caller must name one.
func defaultSourceFor(a Actor) string {
	switch a.Type {
	case "user":
		return SourceStaffEntry
	case "token":
		return SourceAPI
	case "subject":
		return SourceSelfService
	case "system":
		switch a.ID {
		case "import":
			return SourceImport
		case "cli":
			return SourceStaffEntry
		}
	}
	return ""
}

// Consents returns the current state of every purpose for a person:
// recorded ones first, then the active purposes with nothing recorded.
func (s *Service) Consents(ctx context.Context, personID int64) ([]ConsentState, error) {
	if _, err := s.personStatus(ctx, personID); err != nil {
		return nil, err
	}
	return s.consentStates(ctx, personID, "")
}

// ConsentFor returns the current state of one purpose for a person. It
// answers in one query (it is the hot read of the API): no row means no
// such person, a row without the purpose means no such purpose.
func (s *Service) ConsentFor(ctx context.Context, personID int64, purpose string) (*ConsentState, error) {
	if purpose == "" { // no purpose: the first of Consents, as ever
		st, err := s.Consents(ctx, personID)
		if err != nil {
			return nil, err
		}
		if len(st) == 0 {
			return nil, notFound("unknown-purpose", `there is no purpose ""`)
		}
		return &st[0], nil
	}
	var c stateCols
	var consentPerson sql.NullInt64
	err := s.db.QueryRow(ctx, `SELECT `+stateSelect+`, c.person_id
		FROM persons p
		LEFT JOIN purposes pu ON pu.key = ?
		LEFT JOIN consents c ON c.purpose_id = pu.id AND c.person_id = p.id
		LEFT JOIN consent_events e ON e.id = c.event_id
		LEFT JOIN sources src ON src.id = e.source_id
		WHERE p.id = ?`, purpose, personID).Scan(append(c.dest(), &consentPerson)...)
	if isNoRows(err) {
		return nil, notFound("unknown-person", "there is no such person")
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: consent state: %w", err)
	}
	// As in consentStates, an archived purpose shows only where recorded.
	if !c.key.Valid || (!consentPerson.Valid && c.archived.Int64 != 0) {
		return nil, notFound("unknown-purpose", fmt.Sprintf("there is no purpose %q", purpose))
	}
	st := c.state(s.now())
	return &st, nil
}

func (s *Service) personStatus(ctx context.Context, id int64) (string, error) {
	var st string
	err := s.db.QueryRow(ctx, `SELECT status FROM persons WHERE id = ?`, id).Scan(&st)
	if isNoRows(err) {
		return "", notFound("unknown-person", "there is no such person")
	}
	return st, err
}

const stateSelect = `pu.key, pu.archived, c.kind, c.legal_basis, c.valid_until, e.id, e.text_version, e.recorded_at, e.actor_type, e.actor_id, COALESCE(src.key, '')`

// stateCols receives the columns of stateSelect.
type stateCols struct {
	key                                sql.NullString
	archived                           sql.NullInt64
	kind, basis, actorType, actorID    sql.NullString
	validUntil, eventID, version, recd sql.NullInt64
	source                             string
}

func (c *stateCols) dest() []any {
	return []any{&c.key, &c.archived, &c.kind, &c.basis, &c.validUntil, &c.eventID, &c.version, &c.recd, &c.actorType, &c.actorID, &c.source}
}

func (c *stateCols) state(now time.Time) ConsentState {
	st := ConsentState{Purpose: c.key.String, Source: c.source}
	if !c.kind.Valid {
		st.State = "none"
		return st
	}
	st.State, st.LegalBasis = EventKind(c.kind.String), LegalBasis(c.basis.String)
	st.ValidUntil, st.UpdatedAt = timePtr(c.validUntil), timePtr(c.recd)
	st.EventID, st.TextVersion = c.eventID.Int64, int(c.version.Int64)
	st.UpdatedBy = c.actorType.String + ":" + c.actorID.String
	if st.State == Granted && st.ValidUntil != nil && !st.ValidUntil.After(now) {
		st.State = Expired
	}
	st.Valid = st.State == Granted && c.archived.Int64 == 0
	return st
}

func (s *Service) consentStates(ctx context.Context, personID int64, purpose string) ([]ConsentState, error) {
	q := `SELECT ` + stateSelect + `
		FROM purposes pu
		LEFT JOIN consents c ON c.purpose_id = pu.id AND c.person_id = ?
		LEFT JOIN consent_events e ON e.id = c.event_id
		LEFT JOIN sources src ON src.id = e.source_id
		WHERE (c.person_id IS NOT NULL OR pu.archived = 0)`
	args := []any{personID}
	if purpose != "" {
		q += ` AND pu.key = ?`
		args = append(args, purpose)
	}
	q += ` ORDER BY pu.id`
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: consent states: %w", err)
	}
	defer rows.Close()
	now := s.now()
	out := []ConsentState{}
	for rows.Next() {
		var c stateCols
		if err := rows.Scan(c.dest()...); err != nil {
			return nil, err
		}
		out = append(out, c.state(now))
	}
	return out, rows.Err()
}

const eventCols = `e.id, e.person_id, pu.key, e.kind, e.legal_basis, COALESCE(src.key, ''), e.text_version, e.language, e.occurred_at, e.recorded_at, e.valid_until, e.actor_type, e.actor_id, e.evidence
	FROM consent_events e JOIN purposes pu ON pu.id = e.purpose_id LEFT JOIN sources src ON src.id = e.source_id`

func scanConsentEvent(sc interface{ Scan(...any) error }) (*ConsentEvent, error) {
	var ev ConsentEvent
	var kind, basis, evidence string
	var occurred, recorded int64
	var validUntil sql.NullInt64
	if err := sc.Scan(&ev.ID, &ev.PersonID, &ev.Purpose, &kind, &basis, &ev.Source, &ev.TextVersion, &ev.Language, &occurred, &recorded, &validUntil, &ev.Actor.Type, &ev.Actor.ID, &evidence); err != nil {
		return nil, err
	}
	ev.Kind, ev.LegalBasis = EventKind(kind), LegalBasis(basis)
	ev.OccurredAt, ev.RecordedAt, ev.ValidUntil = store.FromMicros(occurred), store.FromMicros(recorded), timePtr(validUntil)
	_ = json.Unmarshal([]byte(evidence), &ev.Evidence)
	return &ev, nil
}

// ConsentEventByID returns one consent event.
func (s *Service) ConsentEventByID(ctx context.Context, id int64) (*ConsentEvent, error) {
	ev, err := scanConsentEvent(s.db.QueryRow(ctx, `SELECT `+eventCols+` WHERE e.id = ?`, id))
	if isNoRows(err) {
		return nil, notFound("unknown-consent-event", "there is no such consent event")
	}
	return ev, err
}

// History lists a person's consent events, newest first, optionally for one purpose.
func (s *Service) History(ctx context.Context, personID int64, purpose string) ([]*ConsentEvent, error) {
	if _, err := s.personStatus(ctx, personID); err != nil {
		return nil, err
	}
	q := `SELECT ` + eventCols + ` WHERE e.person_id = ?`
	args := []any{personID}
	if purpose != "" {
		if _, err := s.Purpose(ctx, purpose); err != nil {
			return nil, err
		}
		q += ` AND pu.key = ?`
		args = append(args, purpose)
	}
	return s.queryEvents(ctx, q+` ORDER BY e.occurred_at DESC, e.id DESC`, args...)
}

// queryEvents runs a query selecting eventCols and returns its events.
func (s *Service) queryEvents(ctx context.Context, q string, args ...any) ([]*ConsentEvent, error) {
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*ConsentEvent{}
	for rows.Next() {
		ev, err := scanConsentEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// EvidenceFile returns an evidence attachment by its SHA-256.
func (s *Service) EvidenceFile(ctx context.Context, sum string) (*File, error) {
	var f File
	err := s.db.QueryRow(ctx, `SELECT sha256, media_type, size, content FROM evidence_files WHERE sha256 = ?`, strings.ToLower(sum)).Scan(&f.SHA256, &f.MediaType, &f.Size, &f.Content)
	if isNoRows(err) {
		return nil, notFound("unknown-file", "there is no such evidence file")
	}
	return &f, err
}
