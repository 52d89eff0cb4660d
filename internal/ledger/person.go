package ledger

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/emailaddr"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
)

// Person statuses.
const (
	StatusActive     = "active"
	StatusRestricted = "restricted"
	StatusAnonymized = "anonymized"
)

// Phone is one phone number.
type Phone struct {
	Kind   string `json:"kind,omitempty"` // mobile, work, home, …
	Number string `json:"number"`
}

// Address is a postal address.
type Address struct {
	Street     string `json:"street,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	City       string `json:"city,omitempty"`
	Country    string `json:"country,omitempty"`
}

// Person is a data subject: a contact or a lead.
type Person struct {
	ID             int64          `json:"id"`
	FirstName      string         `json:"first_name"`
	LastName       string         `json:"last_name"`
	Emails         []string       `json:"emails"`
	Phones         []Phone        `json:"phones"`
	Address        Address        `json:"address"`
	OrganisationID *int64         `json:"organisation_id,omitempty"`
	Language       string         `json:"language"`
	Custom         map[string]any `json:"custom"`
	Status         string         `json:"status"`
	Source         string         `json:"source,omitempty"`
	Light          Light          `json:"traffic_light"`
	CreatedAt      time.Time      `json:"created_at"`
	CreatedBy      string         `json:"created_by"`
	UpdatedAt      time.Time      `json:"updated_at"`
	UpdatedBy      string         `json:"updated_by"`

	// Sensitive lists the sensitive fields with a value, masked; Custom
	// holds the same masks (full values only through UnmaskSensitive).
	Sensitive []SensitiveValue `json:"sensitive,omitempty"`
}

// PersonInput creates a person.
type PersonInput struct {
	FirstName      string         `json:"first_name"`
	LastName       string         `json:"last_name"`
	Emails         []string       `json:"emails"`
	Phones         []Phone        `json:"phones"`
	Address        Address        `json:"address"`
	OrganisationID *int64         `json:"organisation_id"`
	Language       string         `json:"language"`
	Custom         map[string]any `json:"custom"`
	Source         string         `json:"source"`
	Reason         string         `json:"reason"`
}

// PersonPatch changes a person; nil fields stay as they are.
type PersonPatch struct {
	FirstName      *string        `json:"first_name"`
	LastName       *string        `json:"last_name"`
	Emails         []string       `json:"emails"`
	Phones         []Phone        `json:"phones"`
	Address        *Address       `json:"address"`
	OrganisationID *int64         `json:"organisation_id"`
	Language       *string        `json:"language"`
	Custom         map[string]any `json:"custom"`
	Reason         string         `json:"reason"`
}

// NormalizeEmail validates an e-mail address and returns its stored form
// (emailaddr.Normalize: trimmed, a pasted "Name <address>" reduced to the
// address, lower case, NFC, the domain checked by IDNA and kept in Unicode).
func NormalizeEmail(s string) (string, bool) {
	n, err := emailaddr.Normalize(s)
	return n, err == nil
}

// MailboxKey returns the key under which a normalized address is matched
// against other spellings of the same mailbox (emailaddr.KeyOf): the
// duplicate checks and the erasure blocklist use it.
func MailboxKey(normalized string) string { return emailaddr.KeyOf(normalized) }

// emailOwnerQuery finds the person with an address: any spelling of the
// mailbox (its key), the exact spelling first, then the oldest person.
// Parameters: the key, the normalized address.
const emailOwnerQuery = `SELECT person_id, email FROM person_emails WHERE mailbox = ? ORDER BY CASE WHEN email = ? THEN 0 ELSE 1 END, person_id LIMIT 1`

// EmailOwnerTx returns the person who has the (normalized) address in
// any spelling of the mailbox, and the address as stored for them; 0
// when no one has it.
func EmailOwnerTx(tx *store.Tx, normalized string) (int64, string, error) {
	var id int64
	var stored string
	err := tx.QueryRow(emailOwnerQuery, MailboxKey(normalized), normalized).Scan(&id, &stored)
	if isNoRows(err) {
		return 0, "", nil
	}
	return id, stored, err
}

const maxField = textcheck.MaxName

// validatePerson checks p and brings it to its stored form. before is the
// stored person of an update (nil on create): a text it already held
// unchanged is not checked again, so that a value stored under older
// rules does not block every later change.
func (s *Service) validatePerson(ctx context.Context, tx *store.Tx, p *Person, before *Person) error {
	var fe fieldErrs
	var was Person
	if before != nil {
		was = *before
	}
	text := func(field string, v *string, old string, max int, multi bool) {
		*v = strings.TrimSpace(*v)
		if before == nil || *v != old {
			fe.text(TextField{field, *v, max, multi})
		}
	}
	text("first_name", &p.FirstName, was.FirstName, maxField, false)
	text("last_name", &p.LastName, was.LastName, maxField, false)
	text("address.street", &p.Address.Street, was.Address.Street, textcheck.MaxShort, true) // may hold a second address line
	text("address.postal_code", &p.Address.PostalCode, was.Address.PostalCode, textcheck.MaxPostalCode, false)
	text("address.city", &p.Address.City, was.Address.City, textcheck.MaxShort, false)
	if p.Address.Country = strings.TrimSpace(p.Address.Country); before == nil || p.Address.Country != was.Address.Country {
		if e, bad := CheckCountry("address.country", &p.Address.Country); bad {
			fe = append(fe, e)
		}
	}
	if p.FirstName == "" && p.LastName == "" && len(p.Emails) == 0 {
		fe.add("last_name", "a person needs a name or an e-mail address")
	}
	// Two spellings of one mailbox are one address: the first stays.
	seen := map[string]bool{}
	emails := p.Emails[:0:0]
	for i, e := range p.Emails {
		n, err := emailaddr.Normalize(e)
		if err != nil {
			fe.add(fmt.Sprintf("emails[%d]", i), err.Error())
			continue
		}
		if k := emailaddr.KeyOf(n); !seen[k] {
			seen[k] = true
			emails = append(emails, n)
		}
	}
	p.Emails = emails
	for i := range p.Phones {
		p.Phones[i].Number = strings.TrimSpace(p.Phones[i].Number)
		p.Phones[i].Kind = strings.TrimSpace(p.Phones[i].Kind)
		if bad := textcheck.Line(p.Phones[i].Kind, textcheck.MaxPhoneKind); bad != textcheck.OK {
			fe.add(fmt.Sprintf("phones[%d].kind", i), bad.Message(textcheck.MaxPhoneKind))
		}
		if !validPhone(p.Phones[i].Number) {
			fe.add(fmt.Sprintf("phones[%d].number", i), "is not a valid phone number (digits, spaces, + - ( ) / only)")
		}
	}
	if p.Language == "" {
		p.Language = "en"
	}
	if !validLanguage(p.Language) {
		fe.add("language", "must be one of "+strings.Join(Languages, ", "))
	}
	if p.OrganisationID != nil {
		var one int
		if err := tx.QueryRow(`SELECT 1 FROM organisations WHERE id = ?`, *p.OrganisationID).Scan(&one); err != nil {
			fe.add("organisation_id", "there is no such organisation")
		}
	}
	custom, cfe, err := validateCustom(tx, p.Custom)
	if err != nil {
		return err
	}
	fe = append(fe, cfe...)
	p.Custom = custom
	return fe.err()
}

func validPhone(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(" +-()/.", r):
		default:
			return false
		}
	}
	return digits >= 3 && len(s) <= textcheck.MaxPhone
}

// CreatePerson adds a person, their e-mail addresses and audit key.
func (s *Service) CreatePerson(ctx context.Context, actor Actor, in PersonInput) (*Person, error) {
	var id int64
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		id, err = s.CreatePersonTx(tx, actor, in)
		if err == nil {
			tx.SetResult(id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Person(ctx, id)
}

// CreatePersonTx adds a person inside a running write transaction.
func (s *Service) CreatePersonTx(tx *store.Tx, actor Actor, in PersonInput) (int64, error) {
	now := s.now()
	p := &Person{
		FirstName: in.FirstName, LastName: in.LastName, Emails: in.Emails, Phones: in.Phones,
		Address: in.Address, OrganisationID: in.OrganisationID, Language: in.Language, Custom: in.Custom,
		Status: StatusActive, CreatedBy: actor.String(), UpdatedBy: actor.String(), CreatedAt: now, UpdatedAt: now,
	}
	if err := CheckTexts(OneLine("source", in.Source, textcheck.MaxShort), MultiLine("reason", in.Reason, textcheck.MaxReason)); err != nil {
		return 0, err
	}
	if err := s.validatePerson(tx.Ctx(), tx, p, nil); err != nil {
		return 0, err
	}
	var srcID any
	if in.Source != "" {
		id, err := sourceID(tx, in.Source)
		if err != nil {
			return 0, err
		}
		srcID = id
		p.Source = in.Source
	}
	if err := checkEmailsFree(tx, p.Emails, 0); err != nil {
		return 0, err
	}
	if err := s.checkBlocklist(tx, p.Emails); err != nil {
		return 0, err
	}
	secrets, err := s.takeSensitive(tx, p.Custom, nil)
	if err != nil {
		return 0, err
	}
	custom, _ := json.Marshal(p.Custom)
	id, err := tx.InsertID(`INSERT INTO persons (first_name, last_name, organisation_id, language, street, postal_code, city, country, custom, status, source_id, created_at, created_by, updated_at, updated_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.FirstName, p.LastName, p.OrganisationID, p.Language, p.Address.Street, p.Address.PostalCode, p.Address.City, p.Address.Country,
		string(custom), p.Status, srcID, store.Micros(now), p.CreatedBy, store.Micros(now), p.UpdatedBy)
	if err != nil {
		return 0, fmt.Errorf("ledger: create person: %w", err)
	}
	p.ID = id
	if err := addPersonBlock(tx, id>>blockShift, 1); err != nil {
		return 0, err
	}
	if err := writeContacts(tx, id, p.Emails, p.Phones); err != nil {
		return 0, err
	}
	if err := s.storeSensitive(tx, id, secrets, p.Custom); err != nil {
		return 0, err
	}
	key, err := audit.NewPersonKey(tx, id)
	if err != nil {
		return 0, err
	}
	_, err = audit.Append(tx, now, audit.Entry{Actor: actor, Action: "person.create", ObjectType: "person", ObjectID: strconv.FormatInt(id, 10), PersonID: id, Reason: in.Reason, After: p}, key)
	return id, err
}

// checkEmailsFree refuses addresses another person has in any spelling
// of the same mailbox (anna+news@ is anna@, Bücher.de is xn--bcher-kva.de).
func checkEmailsFree(tx *store.Tx, emails []string, self int64) error {
	for i, e := range emails {
		var owner int64
		var stored string
		err := tx.QueryRow(`SELECT person_id, email FROM person_emails WHERE mailbox = ? AND person_id <> ? ORDER BY person_id LIMIT 1`, MailboxKey(e), self).Scan(&owner, &stored)
		if err == nil {
			msg := "belongs to person " + strconv.FormatInt(owner, 10)
			if stored != e {
				msg += " (as " + stored + ", the same mailbox)"
			}
			return conflict("duplicate-email", "another person has this e-mail address already", FieldError{Field: fmt.Sprintf("emails[%d]", i), Message: msg})
		}
		if !isNoRows(err) {
			return err
		}
	}
	return nil
}

func writeContacts(tx *store.Tx, id int64, emails []string, phones []Phone) error {
	for i, e := range emails {
		if _, err := tx.Exec(`INSERT INTO person_emails (email, mailbox, person_id, is_primary) VALUES (?, ?, ?, ?)`, e, MailboxKey(e), id, b2i(i == 0)); err != nil {
			if store.IsUniqueViolation(err) {
				return conflict("duplicate-email", "another person has this e-mail address already", FieldError{Field: fmt.Sprintf("emails[%d]", i), Message: "is taken"})
			}
			return fmt.Errorf("ledger: store e-mail: %w", err)
		}
	}
	for i, ph := range phones {
		if _, err := tx.Exec(`INSERT INTO person_phones (person_id, position, kind, number) VALUES (?, ?, ?, ?)`, id, i, ph.Kind, ph.Number); err != nil {
			return fmt.Errorf("ledger: store phone: %w", err)
		}
	}
	return nil
}

// UpdatePerson applies a patch. A restricted person cannot be changed.
func (s *Service) UpdatePerson(ctx context.Context, actor Actor, id int64, patch PersonPatch) (*Person, error) {
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		now := s.now()
		before, err := loadPersonTx(tx, id)
		if err != nil {
			return err
		}
		if err := writable(before); err != nil {
			return err
		}
		p := *before
		if patch.FirstName != nil {
			p.FirstName = *patch.FirstName
		}
		if patch.LastName != nil {
			p.LastName = *patch.LastName
		}
		if patch.Emails != nil {
			p.Emails = patch.Emails
		}
		if patch.Phones != nil {
			p.Phones = patch.Phones
		}
		if patch.Address != nil {
			p.Address = *patch.Address
		}
		if patch.OrganisationID != nil {
			if *patch.OrganisationID == 0 {
				p.OrganisationID = nil
			} else {
				p.OrganisationID = patch.OrganisationID
			}
		}
		if patch.Language != nil {
			p.Language = *patch.Language
		}
		var removed []string
		if patch.Custom != nil {
			merged := map[string]any{}
			for k, v := range before.Custom {
				merged[k] = v
			}
			for k, v := range patch.Custom {
				if v == nil {
					delete(merged, k)
					removed = append(removed, k)
				} else {
					merged[k] = v
				}
			}
			p.Custom = merged
		}
		if err := CheckTexts(MultiLine("reason", patch.Reason, textcheck.MaxReason)); err != nil {
			return err
		}
		if err := s.validatePerson(ctx, tx, &p, before); err != nil {
			return err
		}
		if err := checkEmailsFree(tx, p.Emails, id); err != nil {
			return err
		}
		if err := s.checkBlocklist(tx, p.Emails); err != nil {
			return err
		}
		p.UpdatedAt, p.UpdatedBy = now, actor.String()
		secrets, err := s.takeSensitive(tx, p.Custom, removed)
		if err != nil {
			return err
		}
		custom, _ := json.Marshal(p.Custom)
		if _, err := tx.Exec(`UPDATE persons SET first_name = ?, last_name = ?, organisation_id = ?, language = ?, street = ?, postal_code = ?, city = ?, country = ?, custom = ?, updated_at = ?, updated_by = ? WHERE id = ?`,
			p.FirstName, p.LastName, p.OrganisationID, p.Language, p.Address.Street, p.Address.PostalCode, p.Address.City, p.Address.Country, string(custom), store.Micros(now), p.UpdatedBy, id); err != nil {
			return fmt.Errorf("ledger: update person: %w", err)
		}
		if _, err := tx.Exec(`DELETE FROM person_emails WHERE person_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(`DELETE FROM person_phones WHERE person_id = ?`, id); err != nil {
			return err
		}
		if err := writeContacts(tx, id, p.Emails, p.Phones); err != nil {
			return err
		}
		if err := s.storeSensitive(tx, id, secrets, p.Custom); err != nil {
			return err
		}
		if err := scrubSensitive(tx, before.Custom); err != nil {
			return err
		}
		return recordPerson(tx, now, audit.Entry{Actor: actor, Action: "person.update", ObjectType: "person", ObjectID: strconv.FormatInt(id, 10), PersonID: id, Reason: patch.Reason, Before: before, After: p})
	})
	if err != nil {
		return nil, err
	}
	return s.Person(ctx, id)
}

func writable(p *Person) error {
	switch p.Status {
	case StatusRestricted:
		return &Error{Kind: KindLocked, Code: "person-restricted", Message: "processing of this person is restricted (GDPR Art. 18): no changes until the restriction is lifted"}
	case StatusAnonymized:
		return &Error{Kind: KindGone, Code: "person-anonymized", Message: "this person was anonymized"}
	}
	return nil
}

const personCols = `p.id, p.first_name, p.last_name, p.organisation_id, p.language, p.street, p.postal_code, p.city, p.country, p.custom, p.status, COALESCE(s.key, ''), p.created_at, p.created_by, p.updated_at, p.updated_by`

func scanPerson(sc interface{ Scan(...any) error }, extra ...any) (*Person, error) {
	var p Person
	var org sql.NullInt64
	var custom string
	var created, updated int64
	dest := []any{&p.ID, &p.FirstName, &p.LastName, &org, &p.Language, &p.Address.Street, &p.Address.PostalCode, &p.Address.City, &p.Address.Country, &custom, &p.Status, &p.Source, &created, &p.CreatedBy, &updated, &p.UpdatedBy}
	if err := sc.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	if org.Valid {
		v := org.Int64
		p.OrganisationID = &v
	}
	p.CreatedAt, p.UpdatedAt = store.FromMicros(created), store.FromMicros(updated)
	p.Custom = map[string]any{}
	_ = json.Unmarshal([]byte(custom), &p.Custom)
	p.Emails, p.Phones = []string{}, []Phone{}
	return &p, nil
}

func loadPersonTx(tx *store.Tx, id int64) (*Person, error) {
	p, err := scanPerson(tx.QueryRow(`SELECT `+personCols+` FROM persons p LEFT JOIN sources s ON s.id = p.source_id WHERE p.id = ?`, id))
	if isNoRows(err) {
		return nil, notFound("unknown-person", "there is no such person")
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: load person: %w", err)
	}
	rows, err := tx.Query(`SELECT email FROM person_emails WHERE person_id = ? ORDER BY is_primary DESC, email`, id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			rows.Close()
			return nil, err
		}
		p.Emails = append(p.Emails, e)
	}
	rows.Close()
	rows, err = tx.Query(`SELECT kind, number FROM person_phones WHERE person_id = ? ORDER BY position`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var ph Phone
		if err := rows.Scan(&ph.Kind, &ph.Number); err != nil {
			return nil, err
		}
		p.Phones = append(p.Phones, ph)
	}
	return p, rows.Err()
}

// lightExpr computes a person's traffic light in SQL; it takes two
// parameters: now (µs) and the number of active purposes.
const lightExpr = `(SELECT CASE WHEN v.n = 0 THEN 'red' WHEN v.n >= ? THEN 'green' ELSE 'yellow' END FROM
	(SELECT COUNT(*) AS n FROM consents c JOIN purposes pu ON pu.id = c.purpose_id AND pu.archived = 0
	 WHERE c.person_id = p.id AND c.kind = 'granted' AND (c.valid_until IS NULL OR c.valid_until > ?)) v)`

func (s *Service) activePurposeCount(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM purposes WHERE archived = 0`).Scan(&n)
	return n, err
}

// Person returns one person with contacts and traffic light.
func (s *Service) Person(ctx context.Context, id int64) (*Person, error) {
	ps, _, err := s.ListPersons(ctx, PersonFilter{IDs: []int64{id}, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, notFound("unknown-person", "there is no such person")
	}
	return ps[0], nil
}

// PersonByEmail finds the person who owns an e-mail address.
func (s *Service) PersonByEmail(ctx context.Context, email string) (*Person, error) {
	n, err := emailaddr.Normalize(email)
	if err != nil {
		return nil, invalid("invalid-email", "this is not a valid e-mail address", FieldError{Field: "email", Message: err.Error()})
	}
	var id int64
	var stored string
	err = s.db.QueryRow(ctx, emailOwnerQuery, MailboxKey(n), n).Scan(&id, &stored)
	if isNoRows(err) {
		return nil, notFound("unknown-person", "no person has this e-mail address")
	}
	if err != nil {
		return nil, err
	}
	return s.Person(ctx, id)
}

// PersonFilter narrows ListPersons.
type PersonFilter struct {
	IDs            []int64
	Query          string // name or e-mail prefix
	OrganisationID int64
	Status         string
	Source         string
	Light          Light
	// Purpose with PurposeState: persons whose consent for the purpose is
	// in that state ("none" for persons with no record).
	Purpose      string
	PurposeState string
	Cursor       string
	Limit        int
}

// EncodeCursor makes an opaque paging cursor from the last id seen.
func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("p" + strconv.FormatInt(id, 10)))
}

func decodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 2 || b[0] != 'p' {
		return 0, invalid("invalid-cursor", "the cursor is not valid", FieldError{Field: "cursor", Message: "malformed"})
	}
	id, err := strconv.ParseInt(string(b[1:]), 10, 64)
	if err != nil {
		return 0, invalid("invalid-cursor", "the cursor is not valid", FieldError{Field: "cursor", Message: "malformed"})
	}
	return id, nil
}

// ListPersons returns persons, newest first, one page at a time.
//
// Every filter is answered through an index at any size: the search
// through the case-folded names, organisation names and e-mail keys; the
// traffic light through persons.grant_count; a purpose state through
// consents_purpose; "no record" through the blocks of ids where persons
// lack one (counts.go).
func (s *Service) ListPersons(ctx context.Context, f PersonFilter) ([]*Person, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	if limit > 500 {
		return nil, "", invalid("invalid-limit", "limit must be between 1 and 500", FieldError{Field: "limit", Message: "too large"})
	}
	if err := CheckTexts(OneLine("q", f.Query, textcheck.MaxQuery), OneLine("source", f.Source, textcheck.MaxShort),
		OneLine("purpose", f.Purpose, textcheck.MaxShort)); err != nil {
		return nil, "", err
	}
	nActive, err := s.activePurposeCount(ctx)
	if err != nil {
		return nil, "", err
	}
	now := store.Micros(s.now())
	var where []string
	args := []any{nActive, now}
	add := func(cond string, v ...any) { where = append(where, cond); args = append(args, v...) }
	if len(f.IDs) > 0 {
		ids := make([]any, len(f.IDs))
		for i, id := range f.IDs {
			ids[i] = id
		}
		add("p.id IN ("+store.Placeholders(len(ids))+")", ids...)
	}
	// from and idCol change when a purpose state drives the query: the
	// consents_purpose index then yields the persons in id order.
	from, idCol := `persons p LEFT JOIN sources s ON s.id = p.source_id`, "p.id"
	if q := strings.ToLower(strings.Join(strings.Fields(f.Query), " ")); q != "" {
		cond, v, err := s.searchCond(ctx, q)
		if err != nil {
			return nil, "", err
		}
		add(cond, v...)
	}
	if f.OrganisationID != 0 {
		add("p.organisation_id = ?", f.OrganisationID)
	}
	if f.Status != "" {
		switch f.Status {
		case StatusActive:
			add("p.status = ?", f.Status)
		case StatusRestricted, StatusAnonymized:
			add("p.status = ? AND p.status <> 'active'", f.Status) // the condition of persons_not_active
		default:
			return nil, "", invalid("invalid-filter", "status must be active, restricted or anonymized", FieldError{Field: "status", Message: "unknown status"})
		}
	}
	if f.Source != "" {
		add("p.source_id = (SELECT id FROM sources WHERE key = ?)", f.Source)
	}
	var after int64
	if f.Cursor != "" {
		if after, err = decodeCursor(f.Cursor); err != nil {
			return nil, "", err
		}
	}
	var ranges [][2]int64 // "no record": the id ranges where such persons are
	if f.Purpose != "" {
		const purposeID = "(SELECT id FROM purposes WHERE key = ?)"
		switch f.PurposeState {
		case "none":
			add("NOT EXISTS (SELECT 1 FROM consents c WHERE c.person_id = p.id AND c.purpose_id = "+purposeID+")", f.Purpose)
			if ranges, err = s.missingRanges(ctx, f.Purpose, after); err != nil {
				return nil, "", err
			}
			if len(ranges) == 0 {
				return []*Person{}, "", nil
			}
		case "":
			add("EXISTS (SELECT 1 FROM consents c WHERE c.person_id = p.id AND c.purpose_id = "+purposeID+")", f.Purpose)
		default:
			if !EventKind(f.PurposeState).Valid() {
				return nil, "", invalid("invalid-filter", "purpose_state must be none or an event kind", FieldError{Field: "purpose_state", Message: "unknown state"})
			}
			from, idCol = `consents c JOIN persons p ON p.id = c.person_id LEFT JOIN sources s ON s.id = p.source_id`, "c.person_id"
			add("c.purpose_id = "+purposeID, f.Purpose)
			// A grant past its valid_until reads as expired, as in ConsentFor.
			switch EventKind(f.PurposeState) {
			case Granted:
				add("c.kind = 'granted' AND (c.valid_until IS NULL OR c.valid_until > ?)", now)
			case Expired:
				// Recorded expiries, and grants past valid_until that the
				// sweep has still to record (consents_granted_until).
				stale, err := s.staleGrants(ctx, f.Purpose, now)
				if err != nil {
					return nil, "", err
				}
				cond := "c.kind = 'expired'"
				switch {
				case len(stale) > maxStale: // the sweep is far behind
					cond, stale = "c.kind IN ('expired', 'granted') AND (c.kind = 'expired' OR c.valid_until <= ?)", []any{now}
				case len(stale) > 0:
					cond = "(c.kind = 'expired' OR (c.kind = 'granted' AND c.valid_until <= ? AND c.person_id IN (" + store.Placeholders(len(stale)) + ")))"
					stale = append([]any{now}, stale...)
				}
				add(cond, stale...)
			default:
				add("c.kind = ?", f.PurposeState)
			}
		}
	}
	if f.Light != "" {
		cond, v, none, err := s.lightCond(ctx, f.Light, nActive, now)
		if err != nil {
			return nil, "", err
		}
		if none {
			return []*Person{}, "", nil
		}
		add(cond, v...)
		// The count finds the candidates; the light itself is the truth.
		add(lightExpr+" = ?", nActive, now, string(f.Light))
	}
	if after != 0 {
		add(idCol+" < ?", after)
	}
	base := `SELECT ` + personCols + `, ` + lightExpr + ` AS light FROM ` + from
	var out []*Person
	if ranges == nil {
		if out, err = s.listPage(ctx, base, where, args, idCol, limit+1); err != nil {
			return nil, "", err
		}
	}
	// A page of persons without a record: range by range, newest first.
	for _, r := range ranges {
		w := append(where[:len(where):len(where)], "p.id BETWEEN ? AND ?")
		a := append(args[:len(args):len(args)], r[0], r[1])
		page, err := s.listPage(ctx, base, w, a, idCol, limit+1-len(out))
		if err != nil {
			return nil, "", err
		}
		if out = append(out, page...); len(out) > limit {
			break
		}
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = encodeCursor(out[limit-1].ID)
	}
	if len(out) == 0 {
		return out, "", nil
	}
	byID := make(map[int64]*Person, len(out))
	for _, p := range out {
		byID[p.ID] = p
	}
	if err := s.fillContacts(ctx, out, byID); err != nil {
		return nil, "", err
	}
	if err := s.maskSensitive(ctx, out); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

func (s *Service) listPage(ctx context.Context, base string, where []string, args []any, idCol string, n int) ([]*Person, error) {
	q := base
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY %s DESC LIMIT %d", idCol, n)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: list persons: %w", err)
	}
	defer rows.Close()
	var out []*Person
	for rows.Next() {
		var light string
		p, err := scanPerson(rows, &light)
		if err != nil {
			return nil, err
		}
		p.Light = Light(light)
		out = append(out, p)
	}
	return out, rows.Err()
}

// searchCond matches q (folded, single-spaced) against the start of the
// first name, the last name, the full name either way round, the
// organisation's name and the e-mail address. Where few persons match, it
// is a union of index ranges; where many do, a test per person, for a
// scan newest first finds a page of them sooner.
func (s *Service) searchCond(ctx context.Context, q string) (string, []any, error) {
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	type term struct {
		col, prefix string
	}
	// Each branch is a conjunction of prefix terms on one table.
	type branch struct {
		table string // persons, organisations, person_emails
		terms []term
	}
	last, first := s.db.Fold("last_name"), s.db.Fold("first_name")
	branches := []branch{
		{"persons", []term{{last, q}}},
		{"persons", []term{{first, q}}},
		{"organisations", []term{{s.db.Fold("name"), q}}},
		{"person_emails", []term{{"email", q}}},
	}
	// "anna berg" finds Anna Bergström, and so does "berg anna".
	if i := strings.IndexByte(q, ' '); i > 0 {
		branches = append(branches,
			branch{"persons", []term{{last, q[i+1:]}, {first, q[:i]}}},
			branch{"persons", []term{{last, q[:i]}, {first, q[i+1:]}}})
	}
	like := func(t term) (string, []any) {
		return t.col + ` LIKE ? ESCAPE '\'`, []any{esc.Replace(t.prefix) + "%"}
	}
	// The index form: each branch a range of an index.
	var sels []string
	var selArgs []any
	// In code point order the range is exactly the prefix; LIKE bounds it
	// where no upper end exists.
	rangeOf := func(t term) (string, []any) {
		col := t.col
		cond, args := col+` >= ?`, []any{t.prefix}
		if hi := prefixEnd(t.prefix); hi != "" {
			return cond + ` AND ` + col + ` < ?`, append(args, hi)
		}
		c, a := like(t)
		return cond + ` AND ` + c, append(args, a...)
	}
	for _, b := range branches {
		sel := `SELECT id FROM persons WHERE `
		switch b.table {
		case "organisations":
			sel = `SELECT p2.id FROM organisations o JOIN persons p2 ON p2.organisation_id = o.id WHERE `
		case "person_emails":
			sel = `SELECT person_id FROM person_emails WHERE `
		}
		// A full name: both parts walk their indexes and are intersected
		// (PostgreSQL does it as a bitmap AND of the two index scans).
		var conds []string
		for _, t := range b.terms {
			c, a := rangeOf(t)
			conds, selArgs = append(conds, c), append(selArgs, a...)
		}
		switch {
		case len(conds) == 1:
			sels = append(sels, sel+conds[0])
		case s.db.Dialect == store.Postgres:
			sels = append(sels, sel+strings.Join(conds, " AND "))
		default:
			sels = append(sels, `SELECT id FROM (`+sel+strings.Join(conds, ` INTERSECT `+sel)+`) x`)
		}
	}
	var n int
	err := s.db.QueryRow(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM (%s LIMIT %d) t`, strings.Join(sels, " UNION ALL "), denseRows), selArgs...).Scan(&n)
	if err != nil {
		return "", nil, fmt.Errorf("ledger: search: %w", err)
	}
	if n < denseRows {
		return `p.id IN (` + strings.Join(sels, ` UNION `) + `)`, selArgs, nil
	}
	// The row form.
	var ors []string
	var args []any
	for _, b := range branches {
		var conds []string
		for _, t := range b.terms {
			c, a := like(t)
			conds, args = append(conds, c), append(args, a...)
		}
		c := strings.Join(conds, " AND ")
		switch b.table {
		case "persons":
			c = strings.NewReplacer(last, s.db.Fold("p.last_name"), first, s.db.Fold("p.first_name")).Replace(c)
		case "organisations":
			c = `EXISTS (SELECT 1 FROM organisations o WHERE o.id = p.organisation_id AND ` + c + `)`
		case "person_emails":
			c = `EXISTS (SELECT 1 FROM person_emails e WHERE e.person_id = p.id AND e.` + c + `)`
		}
		ors = append(ors, "("+c+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")", args, nil
}

// denseRows: when at least this many persons match a condition, scanning
// the persons newest first finds a page sooner than an index of them.
var denseRows = 20000

// lightCond finds the candidates for a traffic light through grant_count
// (red: none; green: one per active purpose; yellow: between), plus grants
// past their valid_until that the expiry sweep has not recorded yet. none
// reports that no person can have the light.
func (s *Service) lightCond(ctx context.Context, l Light, nActive, now int64) (cond string, args []any, none bool, err error) {
	var lo, hi int64
	switch l {
	case Red:
	case Green:
		lo, hi = nActive, nActive
	case Yellow:
		lo, hi = 1, nActive-1
	default:
		return "", nil, false, invalid("invalid-filter", "traffic_light must be green, yellow or red", FieldError{Field: "traffic_light", Message: "unknown"})
	}
	if l != Red && (nActive == 0 || lo > hi) {
		return "", nil, true, nil
	}
	col := "p.grant_count"
	if lo < hi {
		// A range of counts yields persons out of id order: where they are
		// many, a scan newest first is the faster way (+ keeps the index out).
		var n int
		if err := s.db.QueryRow(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM (SELECT 1 FROM persons WHERE grant_count BETWEEN ? AND ? LIMIT %d) t`, denseRows), lo, hi).Scan(&n); err != nil {
			return "", nil, false, err
		}
		if n >= denseRows {
			col = "+p.grant_count"
		}
	}
	cond, args = col+" BETWEEN ? AND ?", []any{lo, hi}
	if lo == hi {
		cond, args = col+" = ?", []any{lo}
	}
	if l == Green {
		return cond, args, false, nil // an unrecorded expiry only takes a grant away
	}
	stale, err := s.staleGrants(ctx, "", now)
	switch {
	case err != nil:
		return "", nil, false, err
	case len(stale) > maxStale: // the sweep is far behind: the light alone decides
		return "1 = 1", nil, false, nil
	case len(stale) > 0:
		return "(" + cond + " OR p.id IN (" + store.Placeholders(len(stale)) + "))", append(args, stale...), false, nil
	}
	return cond, args, false, nil
}

// maxStale is how many grants past valid_until, not yet recorded as
// expired, the list filters take into account one by one.
const maxStale = 1000

// staleGrants returns the persons (at most maxStale+1) with a grant past
// its valid_until that the expiry sweep has not recorded yet, for one
// purpose or ("") any.
func (s *Service) staleGrants(ctx context.Context, purpose string, now int64) ([]any, error) {
	q := `SELECT DISTINCT person_id FROM consents WHERE kind = 'granted' AND valid_until IS NOT NULL AND valid_until <= ?`
	args := []any{now}
	if purpose != "" {
		// + keeps SQLite on consents_granted_until, not on consents_purpose.
		q += ` AND +purpose_id = (SELECT id FROM purposes WHERE key = ?)`
		args = append(args, purpose)
	}
	rows, err := s.db.Query(ctx, q+fmt.Sprintf(` LIMIT %d`, maxStale+1), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []any
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// missingRanges returns, newest first, the id ranges (of whole blocks)
// holding every person without a record for the purpose, below before
// when it is set: the blocks where fewer persons have a record than there
// are persons. When such persons are many, it returns the whole id range
// instead, for the newest of them are found sooner by a scan.
func (s *Service) missingRanges(ctx context.Context, purpose string, before int64) ([][2]int64, error) {
	q := `SELECT pb.block, pb.n - COALESCE(cb.n, 0) FROM person_blocks pb
		LEFT JOIN consent_blocks cb ON cb.block = pb.block AND cb.purpose_id = (SELECT id FROM purposes WHERE key = ?)
		WHERE pb.n > COALESCE(cb.n, 0)`
	args := []any{purpose}
	if before != 0 {
		q += ` AND pb.block <= ?`
		args = append(args, before>>blockShift)
	}
	rows, err := s.db.Query(ctx, q+` ORDER BY pb.block DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: blocks without a record: %w", err)
	}
	defer rows.Close()
	var out [][2]int64
	var missing int64
	for rows.Next() {
		var block, n int64
		if err := rows.Scan(&block, &n); err != nil {
			return nil, err
		}
		missing += n
		lo, hi := block<<blockShift, (block+1)<<blockShift-1
		if k := len(out); k > 0 && out[k-1][0] == hi+1 {
			out[k-1][0] = lo // adjoins the newer range
			continue
		}
		out = append(out, [2]int64{lo, hi})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if missing >= int64(denseRows) {
		return [][2]int64{{out[len(out)-1][0], out[0][1]}}, nil
	}
	return out, nil
}

// prefixEnd is the least string above every string that starts with
// prefix, or "" when there is none.
func prefixEnd(prefix string) string {
	r, n := utf8.DecodeLastRuneInString(prefix)
	if r == utf8.RuneError || r == utf8.MaxRune || r == 0xD7FF {
		return ""
	}
	return prefix[:len(prefix)-n] + string(r+1)
}

func (s *Service) fillContacts(ctx context.Context, ps []*Person, byID map[int64]*Person) error {
	ids := make([]any, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	in := store.Placeholders(len(ids))
	rows, err := s.db.Query(ctx, `SELECT person_id, email FROM person_emails WHERE person_id IN (`+in+`) ORDER BY person_id, is_primary DESC, email`, ids...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var e string
		if err := rows.Scan(&id, &e); err != nil {
			rows.Close()
			return err
		}
		byID[id].Emails = append(byID[id].Emails, e)
	}
	rows.Close()
	rows, err = s.db.Query(ctx, `SELECT person_id, kind, number FROM person_phones WHERE person_id IN (`+in+`) ORDER BY person_id, position`, ids...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var ph Phone
		if err := rows.Scan(&id, &ph.Kind, &ph.Number); err != nil {
			return err
		}
		byID[id].Phones = append(byID[id].Phones, ph)
	}
	return rows.Err()
}
