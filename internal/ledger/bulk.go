package ledger

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/store"
)

// Bulk is the ledger's fast path for importing many new persons with their
// consents inside one write transaction. It writes what CreatePersonTx and
// RecordConsentTx write — the same rows, the same audit events with the
// same payloads, sealed under each person's own key — but validates without
// the database where it can, hands out ids itself (SQLite) or in blocks
// (PostgreSQL), and writes each table with prepared multi-row INSERTs.
//
// The work is split so that it can run as a pipeline:
//
//	ValidatePerson, ValidateConsent  any goroutine   the ledger's rules, no database
//	EmailOwners, Organisation, Add   transaction     duplicates, organisations, ids, audit seqs
//	Cut                              transaction     ends a batch
//	Encode                           one goroutine   JSON, person keys, sealing, hash chain (in order)
//	Insert                           transaction     the encoded batch's rows
//	RecordConsents                   transaction     an existing person, once every batch is inserted
//	Finish, Close                    transaction     audit head; connection settings
//
// Audit events are chained here rather than through audit.Append, which
// writes each event with its own statement; sealing and hashing use the
// same audit.Seal and audit.Link, and the importer's tests check the
// result with audit.Verify and audit.List.
type Bulk struct {
	s      *Service
	tx     *store.Tx
	actor  Actor
	reason string
	// payloadHead starts every payload: {"reason":…,
	payloadHead []byte

	purposes map[string]*Purpose
	sources  map[string]bulkSource
	orgs     map[string]int64
	hadEmail bool

	personIDs, eventIDs idSource
	nextSeq             int64 // next audit seq to hand out (transaction side)

	// chain is the audit chain as far as Encode has hashed it.
	chainSeq  int64
	chainHash []byte
	random    randBuf

	cur        *BulkBatch
	ownerSt    *sql.Stmt
	consentsSt *sql.Stmt // SQLite: consents from consent events
	sqlite     bool
	restore    []string       // SQLite: pragmas that undo the import's settings
	ins        []*multiInsert // persons, emails, phones, keys, events, consents, audit

	// New persons, and new records per purpose, by block (counts.go);
	// written by Finish.
	personBlocks  map[int64]int64
	consentBlocks map[[2]int64]int64
	// The blocklist's hashes and key, read on first use.
	blocked  map[string]bool
	blockKey []byte
}

type bulkSource struct {
	id     int64
	active bool
}

// BulkBatch is a group of new persons (and other audit events) that is
// encoded and inserted together.
type BulkBatch struct {
	persons  []bulkPerson
	consents []bulkConsent
	events   []bulkEvent
	firstSeq int64
	encoded  bool
}

type bulkPerson struct {
	p      *Person
	srcID  any
	grants int64
	key    []byte
	aead   cipher.AEAD
}

type bulkConsent struct {
	ev        ConsentEvent
	purposeID int64
	srcID     int64
	evidence  []byte
	person    int // index in the batch's persons
}

const (
	evPerson = iota
	evConsent
	evOrg
)

type bulkEvent struct {
	kind     int
	ref      int // index into persons or consents
	seq      int64
	at       time.Time
	action   string
	objType  string
	objID    string
	objNum   int64 // objID as a number, for person and consent events
	personID int64
	after    any // organisation events only
	raw      []byte
	prev     []byte
	hash     []byte
}

// bulkRows is how many rows one prepared INSERT writes.
const bulkRows = 256

// NewBulk starts a bulk import in tx. actor is recorded on every row and
// audit event, reason on every audit event.
func (s *Service) NewBulk(tx *store.Tx, actor Actor, reason string) (_ *Bulk, err error) {
	if strings.ContainsAny(actor.String(), "? \t\n") {
		return nil, errors.New("ledger: a bulk import actor must not contain '?' or spaces")
	}
	b := &Bulk{s: s, tx: tx, actor: actor, reason: reason, orgs: map[string]int64{}, purposes: map[string]*Purpose{}, sources: map[string]bulkSource{},
		personBlocks: map[int64]int64{}, consentBlocks: map[[2]int64]int64{}}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	b.payloadHead = []byte("{")
	if reason != "" {
		r, _ := json.Marshal(reason)
		b.payloadHead = append(append([]byte(`{"reason":`), r...), ',')
	}
	rows, err := tx.Query(`SELECT ` + purposeCols + ` FROM purposes p`)
	if err != nil {
		return nil, fmt.Errorf("ledger: load purposes: %w", err)
	}
	for rows.Next() {
		p, err := scanPurpose(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		b.purposes[p.Key] = p
	}
	rows.Close()
	if rows.Err() != nil {
		return nil, rows.Err()
	}
	rows, err = tx.Query(`SELECT id, key, active FROM sources`)
	if err != nil {
		return nil, fmt.Errorf("ledger: load sources: %w", err)
	}
	for rows.Next() {
		var src bulkSource
		var key string
		var active int64
		if err := rows.Scan(&src.id, &key, &active); err != nil {
			rows.Close()
			return nil, err
		}
		src.active = active != 0
		b.sources[key] = src
	}
	rows.Close()
	if rows.Err() != nil {
		return nil, rows.Err()
	}
	var one int
	switch err := tx.QueryRow(`SELECT 1 FROM person_emails LIMIT 1`).Scan(&one); {
	case err == nil:
		b.hadEmail = true
	case !isNoRows(err):
		return nil, err
	}
	if err := b.personIDs.init(tx, "persons"); err != nil {
		return nil, err
	}
	if err := b.eventIDs.init(tx, "consent_events"); err != nil {
		return nil, err
	}
	b.chainSeq, b.chainHash = tx.Head()
	b.nextSeq = b.chainSeq + 1
	if b.ownerSt, err = tx.Prepare(`SELECT mailbox, person_id FROM person_emails WHERE mailbox IN (` + store.Placeholders(bulkRows) + `) ORDER BY person_id DESC`); err != nil {
		return nil, err
	}
	actorType, actorID, actorStr := sqlString(actor.Type), sqlString(actor.ID), sqlString(actor.String())
	b.sqlite = tx.Dialect() == store.SQLite
	const insert = "INSERT INTO "
	if b.sqlite {
		// A bigger page cache spills fewer dirty pages to the WAL before
		// the commit. No memory-mapped reads: with them SQLite searches the
		// WAL index on every read-only page fetch, and the WAL of this
		// transaction grows to gigabytes. Close restores both.
		for _, p := range []struct {
			name string
			val  int64
		}{{"cache_size", -int64(BulkCacheKiB)}, {"mmap_size", 0}} {
			var old int64
			if err := tx.QueryRow(`PRAGMA ` + p.name).Scan(&old); err != nil {
				return nil, err
			}
			if _, err := tx.Exec(fmt.Sprintf(`PRAGMA %s = %d`, p.name, p.val)); err != nil {
				return nil, err
			}
			b.restore = append(b.restore, fmt.Sprintf(`PRAGMA %s = %d`, p.name, old))
		}
		if b.consentsSt, err = tx.Prepare(insert + `consents (person_id, purpose_id, event_id, kind, legal_basis, occurred_at)
			SELECT person_id, purpose_id, id, kind, legal_basis, occurred_at FROM consent_events WHERE id BETWEEN ? AND ? ORDER BY id`); err != nil {
			return nil, err
		}
	}
	// Columns: name:type is a parameter (i bigint, n bigint or NULL,
	// t text, b bytes); name=literal is the same for every row.
	for _, t := range []struct{ table, cols string }{
		{"persons", "id:i first_name:t last_name:t organisation_id:n language:t street:t postal_code:t city:t country:t " +
			"custom='{}' status='active' source_id:n grant_count:i created_at:i created_by=" + actorStr + " updated_at:i updated_by=" + actorStr},
		{"person_emails", "email:t mailbox:t person_id:i is_primary:i"},
		{"person_phones", "person_id:i position:i kind:t number:t"},
		{"person_keys", "person_id:i key:b"},
		{"consent_events", "id:i person_id:i purpose_id:i kind:t legal_basis:t source_id:i text_version:i language:t occurred_at:i recorded_at:i " +
			"actor_type=" + actorType + " actor_id=" + actorID + " evidence:t"},
		{"consents", "person_id:i purpose_id:i event_id:i kind:t legal_basis:t occurred_at:i"},
		{"audit_events", "seq:i at:i actor_type=" + actorType + " actor_id=" + actorID + " action:t object_type:t object_id:t person_id:n payload:b hash:b"},
	} {
		if t.table == "consents" && b.sqlite {
			// On SQLite the batch's consents are copied from its consent
			// events (their ids are contiguous): no parameters to bind.
			b.ins = append(b.ins, nil)
			continue
		}
		m, err := newMultiInsert(tx, insert, t.table, t.cols)
		if err != nil {
			return nil, err
		}
		b.ins = append(b.ins, m)
	}
	b.cur = &BulkBatch{firstSeq: b.nextSeq}
	return b, nil
}

// BulkCacheKiB is the SQLite page cache of a bulk import.
var BulkCacheKiB = 64 << 10

// Close ends the bulk import's settings on the connection; call it before
// the transaction ends, whatever happened.
func (b *Bulk) Close() {
	for _, q := range b.restore {
		b.tx.Exec(q)
	}
	b.restore = nil
}

// Purpose returns a purpose by key as it was when the import started.
func (b *Bulk) Purpose(key string) (*Purpose, bool) {
	p, ok := b.purposes[key]
	return p, ok
}

// PurposeKeys lists the known purposes.
func (b *Bulk) PurposeKeys() []string {
	var keys []string
	for k := range b.purposes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// HadEmails reports whether any e-mail address was stored before the
// import started (else no row can duplicate a stored person).
func (b *Bulk) HadEmails() bool { return b.hadEmail }

// ValidatePerson checks in by the rules of CreatePerson that need no
// database (custom fields and the organisation are not part of a bulk
// import) and returns the person as it will be stored. Safe for concurrent use.
func (b *Bulk) ValidatePerson(in PersonInput) (*Person, error) {
	p := &Person{
		FirstName: in.FirstName, LastName: in.LastName, Emails: in.Emails, Phones: in.Phones,
		Address: in.Address, Language: in.Language,
		Status: StatusActive, CreatedBy: b.actor.String(), UpdatedBy: b.actor.String(),
	}
	if err := b.s.validatePerson(context.Background(), nil, p, nil); err != nil {
		return nil, err
	}
	if in.Source != "" {
		if err := b.checkSource(in.Source); err != nil {
			return nil, err
		}
		p.Source = in.Source
	}
	return p, nil
}

func (b *Bulk) checkSource(key string) error {
	src, ok := b.sources[key]
	if !ok {
		return invalid("unknown-source", fmt.Sprintf("there is no source %q", key), FieldError{Field: "source", Message: "unknown source"})
	}
	if !src.active {
		return invalid("inactive-source", fmt.Sprintf("the source %q is deactivated", key), FieldError{Field: "source", Message: "deactivated"})
	}
	return nil
}

// ValidateConsent checks in by the rules of RecordConsentTx that need no
// database and fills in the legal basis, text version and source that
// will be recorded. now is the time the future check compares against.
// Safe for concurrent use.
func (b *Bulk) ValidateConsent(in *ConsentInput, now time.Time) error {
	c := *in
	if c.PersonID == 0 {
		c.PersonID = 1 // not known yet for a new person
	}
	if err := c.precheck(); err != nil {
		return err
	}
	if in.OccurredAt != nil && !in.OccurredAt.IsZero() && in.OccurredAt.After(now.Add(5*time.Minute)) {
		return invalid("validation", "a consent event cannot lie in the future", FieldError{Field: "occurred_at", Message: "is in the future"})
	}
	if in.ValidUntil != nil {
		return invalid("validation", "a bulk import records no valid_until", FieldError{Field: "valid_until", Message: "not supported"})
	}
	if len(in.Evidence.Files) > 0 {
		return invalid("validation", "a bulk import records no evidence files", FieldError{Field: "evidence.files", Message: "not supported"})
	}
	p, ok := b.purposes[in.Purpose]
	if !ok {
		return invalid("unknown-purpose", fmt.Sprintf("there is no purpose %q", in.Purpose), FieldError{Field: "purpose", Message: "unknown purpose"})
	}
	basis, version, err := p.resolve(in.Kind, in.LegalBasis, in.TextVersion)
	if err != nil {
		return err
	}
	if in.Source == "" {
		if in.Source = defaultSourceFor(b.actor); in.Source == "" {
			return invalid("source-required", "name the source of the consent event", FieldError{Field: "source", Message: "is required"})
		}
	}
	if err := b.checkSource(in.Source); err != nil {
		return err
	}
	in.LegalBasis, in.TextVersion = basis, version
	return nil
}

// EmailOwners returns the stored owners of the given mailbox keys
// (MailboxKey of normalized addresses), by key; where several persons
// share a key, the oldest.
func (b *Bulk) EmailOwners(keys []string) (map[string]int64, error) {
	emails := keys
	out := map[string]int64{}
	args := make([]any, bulkRows)
	ctx := b.tx.Ctx()
	for len(emails) > 0 {
		n := min(len(emails), bulkRows)
		for i := range args {
			if i < n {
				args[i] = emails[i]
			} else {
				args[i] = ""
			}
		}
		emails = emails[n:]
		rows, err := b.ownerSt.QueryContext(ctx, args...)
		if err != nil {
			return nil, fmt.Errorf("ledger: look up e-mail addresses: %w", err)
		}
		for rows.Next() {
			var e string
			var id int64
			if err := rows.Scan(&e, &id); err != nil {
				rows.Close()
				return nil, err
			}
			out[e] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Organisation finds the organisation with exactly this name (the oldest
// one if there are several) or creates it, with its audit event, as
// CreateOrganisation does. The second result reports a creation.
func (b *Bulk) Organisation(name string) (int64, bool, error) {
	if id, ok := b.orgs[name]; ok {
		return id, false, nil
	}
	in := OrganisationInput{Name: name}
	if err := in.validate(); err != nil {
		return 0, false, err
	}
	var id int64
	err := b.tx.QueryRow(`SELECT id FROM organisations WHERE name = ? ORDER BY id LIMIT 1`, in.Name).Scan(&id)
	created := false
	if isNoRows(err) {
		now := b.s.now()
		id, err = b.tx.InsertID(`INSERT INTO organisations (name, reg_number, country, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			in.Name, in.RegNumber, in.Country, store.Micros(now), store.Micros(now))
		if err != nil {
			return 0, false, fmt.Errorf("ledger: create organisation: %w", err)
		}
		b.cur.events = append(b.cur.events, bulkEvent{kind: evOrg, seq: b.takeSeq(), at: now, action: "organisation.create",
			objType: "organisation", objID: strconv.FormatInt(id, 10), after: in})
		created = true
	} else if err != nil {
		return 0, false, err
	}
	b.orgs[name] = id
	return id, created, nil
}

func (b *Bulk) takeSeq() int64 {
	s := b.nextSeq
	b.nextSeq++
	return s
}

// Add queues a new person (validated by ValidatePerson) with consents
// (validated by ValidateConsent) and returns the person's id. The e-mail
// addresses must be free; the caller checks (EmailOwners).
func (b *Bulk) Add(p *Person, orgID *int64, consents []ConsentInput) (int64, error) {
	id, err := b.personIDs.take()
	if err != nil {
		return 0, err
	}
	now := b.s.now().Truncate(time.Microsecond)
	p.ID, p.OrganisationID = id, orgID
	p.CreatedAt, p.UpdatedAt = now, now
	if p.Custom == nil {
		p.Custom = map[string]any{}
	}
	var srcID any
	if p.Source != "" {
		srcID = b.sources[p.Source].id
	}
	bb := b.cur
	pi := len(bb.persons)
	bb.persons = append(bb.persons, bulkPerson{p: p, srcID: srcID})
	b.personBlocks[id>>blockShift]++
	pid := strconv.FormatInt(id, 10)
	bb.events = append(bb.events, bulkEvent{kind: evPerson, ref: pi, seq: b.takeSeq(), at: now, action: "person.create", objType: "person", objID: pid, objNum: id, personID: id})
	for i := range consents {
		in := &consents[i]
		evID, err := b.eventIDs.take()
		if err != nil {
			return 0, err
		}
		occurred := now
		if in.OccurredAt != nil && !in.OccurredAt.IsZero() {
			occurred = in.OccurredAt.UTC().Truncate(time.Microsecond)
		}
		pu := b.purposes[in.Purpose]
		if in.Kind == Granted && !pu.Archived {
			bb.persons[pi].grants++
		}
		b.consentBlocks[[2]int64{pu.ID, id >> blockShift}]++
		ci := len(bb.consents)
		bb.consents = append(bb.consents, bulkConsent{
			ev: ConsentEvent{
				ID: evID, PersonID: id, Purpose: pu.Key, Kind: in.Kind, LegalBasis: in.LegalBasis, Source: in.Source, TextVersion: in.TextVersion,
				Language: p.Language, OccurredAt: occurred, RecordedAt: now, Actor: b.actor, Evidence: Evidence{Note: in.Evidence.Note, FormURL: in.Evidence.FormURL, Form: in.Evidence.Form, IP: in.Evidence.IP, UserAgent: in.Evidence.UserAgent, Files: []File{}},
			},
			purposeID: pu.ID, srcID: b.sources[in.Source].id, person: pi,
		})
		bb.events = append(bb.events, bulkEvent{kind: evConsent, ref: ci, seq: b.takeSeq(), at: now, action: "consent." + string(in.Kind),
			objType: "consent_event", objID: strconv.FormatInt(evID, 10), objNum: evID, personID: id})
	}
	return id, nil
}

// Pending is the number of persons queued since the last Cut.
func (b *Bulk) Pending() int { return len(b.cur.persons) }

// Cut ends the current batch and returns it for Encode and Insert (nil
// when it is empty).
func (b *Bulk) Cut() *BulkBatch {
	bb := b.cur
	b.cur = &BulkBatch{firstSeq: b.nextSeq, persons: make([]bulkPerson, 0, cap(bb.persons)), consents: make([]bulkConsent, 0, cap(bb.consents)), events: make([]bulkEvent, 0, cap(bb.events))}
	if len(bb.events) == 0 {
		return nil
	}
	return bb
}

// Encode builds the audit payloads of a batch, creates the persons' keys,
// seals and chains the events. Batches must be encoded in the order Cut
// returned them, by one goroutine at a time; it does not use the database.
func (b *Bulk) Encode(bb *BulkBatch) error {
	if bb.firstSeq != b.chainSeq+1 {
		return fmt.Errorf("ledger: bulk batch starting at audit event %d encoded out of order (chain is at %d)", bb.firstSeq, b.chainSeq)
	}
	for i := range bb.persons {
		bp := &bb.persons[i]
		bp.key = b.random.take(32)
		var err error
		if bp.aead, err = audit.NewAEAD(bp.key); err != nil {
			return err
		}
	}
	var buf []byte
	for i := range bb.events {
		e := &bb.events[i]
		var after []byte
		var err error
		var aead cipher.AEAD
		switch e.kind {
		case evPerson:
			bp := &bb.persons[e.ref]
			after, err = json.Marshal(bp.p)
			aead = bp.aead
		case evConsent:
			c := &bb.consents[e.ref]
			if c.evidence, err = json.Marshal(c.ev.Evidence); err != nil {
				return err
			}
			after, err = json.Marshal(&c.ev)
			aead = bb.persons[c.person].aead
		case evOrg:
			after, err = json.Marshal(e.after)
		}
		if err != nil {
			return fmt.Errorf("ledger: encode audit payload: %w", err)
		}
		// {"reason":…,"after":…} exactly as json.Marshal(audit.Payload) writes it.
		buf = append(buf[:0], b.payloadHead...)
		buf = append(buf, `"after":`...)
		buf = append(buf, after...)
		buf = append(buf, '}')
		if aead != nil {
			nonce := b.random.take(aead.NonceSize())
			e.raw = audit.Seal(aead, nonce, e.seq, buf)
		} else {
			e.raw = append([]byte(nil), buf...)
		}
		if e.seq != b.chainSeq+1 {
			return fmt.Errorf("ledger: bulk audit event %d out of order (chain is at %d)", e.seq, b.chainSeq)
		}
		e.prev = b.chainHash
		if e.prev == nil {
			e.prev = []byte{}
		}
		e.hash = (&audit.Link{Seq: e.seq, At: e.at, Actor: b.actor, Action: e.action, ObjectType: e.objType, ObjectID: e.objID,
			PersonID: e.personID, Payload: e.raw, Prev: e.prev}).Hash()
		b.chainSeq, b.chainHash = e.seq, e.hash
	}
	bb.encoded = true
	return nil
}

// Insert writes an encoded batch.
func (b *Bulk) Insert(bb *BulkBatch) error {
	if !bb.encoded {
		return errors.New("ledger: bulk batch inserted before it was encoded")
	}
	persons, emails, phones, keys, events, consents, auditIns := b.ins[0], b.ins[1], b.ins[2], b.ins[3], b.ins[4], b.ins[5], b.ins[6]
	for i := range bb.persons {
		bp := &bb.persons[i]
		p := bp.p
		var org any
		if p.OrganisationID != nil {
			org = *p.OrganisationID
		}
		at := store.Micros(p.CreatedAt)
		persons.add(p.ID, p.FirstName, p.LastName, org, p.Language, p.Address.Street, p.Address.PostalCode, p.Address.City, p.Address.Country,
			bp.srcID, bp.grants, at, at)
		for j, e := range p.Emails {
			emails.add(e, MailboxKey(e), p.ID, b2i(j == 0))
		}
		for j, ph := range p.Phones {
			phones.add(p.ID, j, ph.Kind, ph.Number)
		}
		keys.add(p.ID, bp.key)
	}
	for i := range bb.consents {
		c := &bb.consents[i]
		ev := &c.ev
		at := store.Micros(ev.OccurredAt)
		events.add(ev.ID, ev.PersonID, c.purposeID, string(ev.Kind), string(ev.LegalBasis), c.srcID, ev.TextVersion, ev.Language,
			at, store.Micros(ev.RecordedAt), string(c.evidence))
		if consents != nil {
			consents.add(ev.PersonID, c.purposeID, ev.ID, string(ev.Kind), string(ev.LegalBasis), at)
		}
	}
	for i := range bb.events {
		e := &bb.events[i]
		var pid any
		if e.personID != 0 {
			pid = e.personID
		}
		var objID any = e.objID
		if b.sqlite && e.objNum != 0 {
			objID = e.objNum // stored as text: the column has TEXT affinity
		}
		auditIns.add(e.seq, store.Micros(e.at), e.action, e.objType, objID, pid, e.raw, e.hash)
	}
	// Parents before children: the foreign keys are checked per statement.
	for _, m := range b.ins {
		if m == nil { // SQLite consents
			if len(bb.consents) > 0 {
				first, last := bb.consents[0].ev.ID, bb.consents[len(bb.consents)-1].ev.ID
				if last-first+1 != int64(len(bb.consents)) {
					return errors.New("ledger: bulk consent event ids are not contiguous")
				}
				if _, err := b.consentsSt.ExecContext(b.tx.Ctx(), first, last); err != nil {
					return fmt.Errorf("ledger: bulk insert: %w", err)
				}
			}
			continue
		}
		if err := m.flush(); err != nil {
			return err
		}
	}
	return nil
}

// RecordConsents records consents for a person who exists already, through
// RecordConsentTx. Every batch cut before must have been encoded and
// inserted. Either all of the consents are recorded or none (the error
// says why).
func (b *Bulk) RecordConsents(personID int64, consents []ConsentInput) ([]*ConsentEvent, error) {
	if len(b.cur.events) > 0 || b.chainSeq != b.nextSeq-1 {
		return nil, errors.New("ledger: RecordConsents with bulk batches still pending")
	}
	tx := b.tx
	if _, err := tx.Exec(`SAVEPOINT bulk_row`); err != nil {
		return nil, err
	}
	tx.SetHead(b.chainSeq, b.chainHash)
	var evs []*ConsentEvent
	var err error
	for _, in := range consents {
		in.PersonID = personID
		var ev *ConsentEvent
		if ev, err = b.s.RecordConsentTx(tx, b.actor, in); err != nil {
			break
		}
		evs = append(evs, ev)
	}
	if err != nil {
		if _, rerr := tx.Exec(`ROLLBACK TO SAVEPOINT bulk_row`); rerr != nil {
			return nil, rerr
		}
		tx.SetHead(b.chainSeq, b.chainHash)
	} else {
		b.chainSeq, b.chainHash = tx.Head()
		b.nextSeq = b.chainSeq + 1
		b.cur.firstSeq = b.nextSeq
	}
	if _, rerr := tx.Exec(`RELEASE SAVEPOINT bulk_row`); rerr != nil {
		return nil, rerr
	}
	if rerr := b.eventIDs.resync(); rerr != nil {
		return nil, rerr
	}
	return evs, err
}

// Finish moves the transaction's audit head to the last event written.
// Every batch must have been encoded and inserted.
func (b *Bulk) Finish() error {
	if len(b.cur.events) > 0 || b.chainSeq != b.nextSeq-1 {
		return errors.New("ledger: bulk import finished with batches still pending")
	}
	for block, n := range b.personBlocks {
		if err := addPersonBlock(b.tx, block, n); err != nil {
			return err
		}
	}
	for k, n := range b.consentBlocks {
		if err := addConsentBlock(b.tx, k[0], k[1], n); err != nil {
			return err
		}
	}
	clear(b.personBlocks)
	clear(b.consentBlocks)
	b.tx.SetHead(b.chainSeq, b.chainHash)
	return nil
}

// idSource hands out ids for a table: on SQLite, which the writer holds
// exclusively, counting on from the largest id; on PostgreSQL, in blocks
// taken from the column's identity sequence.
type idSource struct {
	tx    *store.Tx
	table string
	pg    bool
	next  int64   // SQLite
	block []int64 // PostgreSQL
	stmt  *sql.Stmt
	seq   string
}

const idBlock = 1024

func (s *idSource) init(tx *store.Tx, table string) error {
	s.tx, s.table, s.pg = tx, table, tx.Dialect() == store.Postgres
	if s.pg {
		if err := tx.QueryRow(`SELECT pg_get_serial_sequence(?, 'id')`, table).Scan(&s.seq); err != nil {
			return fmt.Errorf("ledger: id sequence of %s: %w", table, err)
		}
		var err error
		s.stmt, err = tx.Prepare(`SELECT nextval(CAST(? AS regclass)) FROM generate_series(1, ?)`)
		return err
	}
	return s.resync()
}

func (s *idSource) resync() error {
	if s.pg {
		return nil
	}
	var maxID int64
	if err := s.tx.QueryRow(`SELECT COALESCE(MAX(id), 0) FROM ` + s.table).Scan(&maxID); err != nil {
		return fmt.Errorf("ledger: largest id of %s: %w", s.table, err)
	}
	s.next = maxID + 1
	return nil
}

func (s *idSource) take() (int64, error) {
	if !s.pg {
		id := s.next
		s.next++
		return id, nil
	}
	if len(s.block) == 0 {
		rows, err := s.stmt.QueryContext(s.tx.Ctx(), s.seq, idBlock)
		if err != nil {
			return 0, fmt.Errorf("ledger: reserve ids: %w", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return 0, err
			}
			s.block = append(s.block, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
		if len(s.block) == 0 {
			return 0, errors.New("ledger: the id sequence returned nothing")
		}
	}
	id := s.block[0]
	s.block = s.block[1:]
	return id, nil
}

// multiInsert collects rows for one table and writes them: on SQLite
// bulkRows at a time with a prepared multi-row INSERT, on PostgreSQL all at
// once with one INSERT … SELECT FROM unnest of an array per column.
type multiInsert struct {
	tx    *store.Tx
	types []byte // per parameter: i, n, t or b
	full  *sql.Stmt

	// SQLite
	head, row string
	args      []any

	// PostgreSQL: one array per parameter.
	ints  [][]int64
	nulls [][]pgtype.Int8
	texts [][]string
	blobs [][][]byte
}

// newMultiInsert prepares the INSERT for the columns in spec (see NewBulk);
// its literals hold no spaces and no '?' (NewBulk checks the actor).
func newMultiInsert(tx *store.Tx, insert, table, spec string) (*multiInsert, error) {
	m := &multiInsert{tx: tx}
	var names, sqliteRow, pgSelect, pgUnnest, pgAlias []string
	for _, c := range strings.Fields(spec) {
		if name, lit, ok := strings.Cut(c, "="); ok {
			names, sqliteRow, pgSelect = append(names, name), append(sqliteRow, lit), append(pgSelect, lit)
			continue
		}
		name, typ, _ := strings.Cut(c, ":")
		alias := "c" + strconv.Itoa(len(m.types))
		names, sqliteRow, pgSelect, pgAlias = append(names, name), append(sqliteRow, "?"), append(pgSelect, "u."+alias), append(pgAlias, alias)
		pgType := map[string]string{"i": "int8[]", "n": "int8[]", "t": "text[]", "b": "bytea[]"}[typ]
		if pgType == "" {
			return nil, fmt.Errorf("ledger: bulk column %s: unknown type %q", name, typ)
		}
		pgUnnest = append(pgUnnest, "CAST(? AS "+pgType+")")
		m.types = append(m.types, typ[0])
	}
	var q string
	if tx.Dialect() == store.Postgres {
		n := len(m.types)
		m.ints, m.nulls, m.texts, m.blobs = make([][]int64, n), make([][]pgtype.Int8, n), make([][]string, n), make([][][]byte, n)
		q = insert + table + " (" + strings.Join(names, ", ") + ") SELECT " + strings.Join(pgSelect, ", ") +
			" FROM unnest(" + strings.Join(pgUnnest, ", ") + ") AS u(" + strings.Join(pgAlias, ", ") + ")"
	} else {
		m.head = insert + table + " (" + strings.Join(names, ", ") + ") VALUES "
		m.row = "(" + strings.Join(sqliteRow, ", ") + ")"
		q = m.query(bulkRows)
	}
	var err error
	if m.full, err = tx.Prepare(q); err != nil {
		return nil, fmt.Errorf("ledger: prepare insert into %s: %w", table, err)
	}
	return m, nil
}

func (m *multiInsert) query(rows int) string {
	var sb strings.Builder
	sb.Grow(len(m.head) + rows*(len(m.row)+1))
	sb.WriteString(m.head)
	for i := range rows {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(m.row)
	}
	return sb.String()
}

func (m *multiInsert) add(vals ...any) {
	if m.ints == nil {
		m.args = append(m.args, vals...)
		return
	}
	for i, v := range vals {
		switch m.types[i] {
		case 'i':
			m.ints[i] = append(m.ints[i], toInt64(v))
		case 'n':
			if v == nil {
				m.nulls[i] = append(m.nulls[i], pgtype.Int8{})
			} else {
				m.nulls[i] = append(m.nulls[i], pgtype.Int8{Int64: toInt64(v), Valid: true})
			}
		case 't':
			m.texts[i] = append(m.texts[i], v.(string))
		case 'b':
			m.blobs[i] = append(m.blobs[i], v.([]byte))
		}
	}
}

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	}
	panic(fmt.Sprintf("ledger: bulk column wants an integer, got %T", v))
}

func (m *multiInsert) flush() error {
	ctx := m.tx.Ctx()
	if m.ints != nil {
		args := make([]any, len(m.types))
		rows := 0
		for i, t := range m.types {
			switch t {
			case 'i':
				args[i], rows = m.ints[i], len(m.ints[i])
			case 'n':
				args[i], rows = m.nulls[i], len(m.nulls[i])
			case 't':
				args[i], rows = m.texts[i], len(m.texts[i])
			case 'b':
				args[i], rows = m.blobs[i], len(m.blobs[i])
			}
		}
		if rows > 0 {
			if _, err := m.full.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("ledger: bulk insert: %w", err)
			}
		}
		for i := range m.types {
			m.ints[i], m.nulls[i] = m.ints[i][:0], m.nulls[i][:0]
			clear(m.texts[i])
			clear(m.blobs[i])
			m.texts[i], m.blobs[i] = m.texts[i][:0], m.blobs[i][:0]
		}
		return nil
	}
	args := m.args
	per := bulkRows * len(m.types)
	for len(args) >= per {
		if _, err := m.full.ExecContext(ctx, args[:per]...); err != nil {
			return fmt.Errorf("ledger: bulk insert: %w", err)
		}
		args = args[per:]
	}
	if len(args) > 0 {
		if _, err := m.tx.Exec(m.query(len(args)/len(m.types)), args...); err != nil {
			return fmt.Errorf("ledger: bulk insert: %w", err)
		}
	}
	clear(m.args)
	m.args = m.args[:0]
	return nil
}

// sqlString quotes s as an SQL string literal (NewBulk refuses a '?').
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// randBuf hands out bytes of crypto/rand in slices of a larger read.
type randBuf struct{ buf []byte }

func (r *randBuf) take(n int) []byte {
	if len(r.buf) < n {
		r.buf = make([]byte, 16<<10)
		if _, err := rand.Read(r.buf); err != nil {
			panic("ledger: crypto/rand: " + err.Error()) // rand.Read never fails on supported systems
		}
	}
	out := r.buf[:n:n]
	r.buf = r.buf[n:]
	return out
}
