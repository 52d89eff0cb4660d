// Package records keeps what CRM users hold about a person besides the
// consent ledger: activities (calls, meetings, e-mails, notes), documents
// with their stored file, relationships between persons, and business
// records (orders, invoices) that outlive the person's anonymization.
// Every change writes its audit event, sealed under the person's key, in
// the same transaction.
package records

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/input"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
)

// Service keeps linked records in one database.
type Service struct {
	db  *store.DB
	now func() time.Time
}

// New returns the linked-record service over db.
func New(db *store.DB) *Service {
	return &Service{db: db, now: func() time.Time { return time.Now().UTC() }}
}

// Activity kinds.
var ActivityKinds = []string{"call", "meeting", "email", "note"}

// Business record kinds.
var BusinessKinds = []string{"order", "invoice"}

// Relationship kinds name how person relates to other.
var RelationshipKinds = []string{"colleague", "manager", "assistant", "family", "referral", "other"}

// Activity is one contact with the person, with its date and author.
type Activity struct {
	ID         int64     `json:"id"`
	PersonID   int64     `json:"person_id"`
	Kind       string    `json:"kind"`
	Subject    string    `json:"subject"`
	Body       string    `json:"body"`
	OccurredAt time.Time `json:"occurred_at"`
	Author     string    `json:"author"`
	CreatedAt  time.Time `json:"created_at"`
}

// ActivityInput adds an activity. Author defaults to the actor.
type ActivityInput struct {
	PersonID   int64      `json:"person_id"`
	Kind       string     `json:"kind"`
	Subject    string     `json:"subject"`
	Body       string     `json:"body"`
	OccurredAt *time.Time `json:"occurred_at"`
	Author     string     `json:"author"`
}

// Document is a stored file about the person (metadata; Content only
// when asked for).
type Document struct {
	ID        int64     `json:"id"`
	PersonID  int64     `json:"person_id"`
	Filename  string    `json:"filename"`
	MediaType string    `json:"media_type"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"created_at"`
	Content   []byte    `json:"-"`
}

// DocumentInput stores a document.
type DocumentInput struct {
	PersonID  int64  `json:"person_id"`
	Filename  string `json:"filename"`
	MediaType string `json:"media_type"`
	Content   []byte `json:"content"` // base64 in JSON
}

// MaxDocument bounds one stored document.
const MaxDocument = 10 << 20

// Relationship links two persons.
type Relationship struct {
	ID        int64     `json:"id"`
	PersonID  int64     `json:"person_id"`
	OtherID   int64     `json:"other_id"`
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// RelationshipInput links two persons.
type RelationshipInput struct {
	PersonID int64  `json:"person_id"`
	OtherID  int64  `json:"other_id"`
	Kind     string `json:"kind"`
}

// BusinessRecord is an order or invoice. PersonID is nil once the person
// was anonymized: the record is kept, but linked to no one.
type BusinessRecord struct {
	ID          int64     `json:"id"`
	PersonID    *int64    `json:"person_id"`
	Kind        string    `json:"kind"`
	Number      string    `json:"number"`
	IssuedOn    string    `json:"issued_on"`
	AmountCents int64     `json:"amount_cents"`
	Currency    string    `json:"currency"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
}

// BusinessRecordInput adds an order or invoice.
type BusinessRecordInput struct {
	PersonID    int64  `json:"person_id"`
	Kind        string `json:"kind"`
	Number      string `json:"number"`
	IssuedOn    string `json:"issued_on"`
	AmountCents int64  `json:"amount_cents"`
	Currency    string `json:"currency"`
	Description string `json:"description"`
}

func invalid(field, msg string) error {
	return &ledger.Error{Kind: ledger.KindInvalid, Code: "validation", Message: field + " " + msg,
		Fields: []ledger.FieldError{ledger.Field(field, msg)}}
}

func oneOf(v string, set []string) bool {
	for _, x := range set {
		if x == v {
			return true
		}
	}
	return false
}

// personKey loads the person's audit key and refuses persons that must
// not be changed: restricted (Art. 18) or anonymized.
func personKey(tx *store.Tx, personID int64) ([]byte, error) {
	var status string
	var key []byte
	err := tx.QueryRow(`SELECT p.status, k.key FROM persons p LEFT JOIN person_keys k ON k.person_id = p.id WHERE p.id = ?`, personID).Scan(&status, &key)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &ledger.Error{Kind: ledger.KindNotFound, Code: "unknown-person", Message: "there is no such person"}
	}
	if err != nil {
		return nil, fmt.Errorf("records: load person: %w", err)
	}
	switch status {
	case ledger.StatusRestricted:
		return nil, &ledger.Error{Kind: ledger.KindLocked, Code: "person-restricted", Message: "processing of this person is restricted (GDPR Art. 18): no changes until the restriction is lifted"}
	case ledger.StatusAnonymized:
		return nil, &ledger.Error{Kind: ledger.KindGone, Code: "person-anonymized", Message: "this person was anonymized"}
	}
	if len(key) == 0 {
		return nil, audit.ErrShredded
	}
	return key, nil
}

func (in *ActivityInput) validate(now time.Time) error {
	in.Kind, in.Subject, in.Author = strings.TrimSpace(in.Kind), strings.TrimSpace(in.Subject), strings.TrimSpace(in.Author)
	if err := ledger.CheckTexts(ledger.OneLine("subject", in.Subject, 500), ledger.MultiLine("body", in.Body, 100_000),
		ledger.OneLine("author", in.Author, textcheck.MaxName)); err != nil {
		return err
	}
	switch {
	case in.PersonID <= 0:
		return invalid("person_id", "is required")
	case !oneOf(in.Kind, ActivityKinds):
		return invalid("kind", "must be one of "+strings.Join(ActivityKinds, ", "))
	case len(in.Subject) > 500:
		return invalid("subject", "must be at most 500 characters")
	case len(in.Body) > 100_000:
		return invalid("body", "must be at most 100,000 characters")
	case in.Subject == "" && strings.TrimSpace(in.Body) == "":
		return invalid("subject", "an activity needs a subject or a body")
	case in.OccurredAt != nil && in.OccurredAt.After(now.Add(24*time.Hour*366)):
		return invalid("occurred_at", "lies too far in the future")
	case len(in.Author) > 200:
		return invalid("author", "must be at most 200 characters")
	}
	return nil
}

// AddActivity records an activity.
func (s *Service) AddActivity(ctx context.Context, actor audit.Actor, in ActivityInput) (*Activity, error) {
	var a *Activity
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		a, err = s.AddActivityTx(tx, actor, in)
		if err == nil {
			tx.SetResult(a.ID)
		}
		return err
	})
	return a, err
}

// AddActivityTx records an activity inside a running write transaction.
func (s *Service) AddActivityTx(tx *store.Tx, actor audit.Actor, in ActivityInput) (*Activity, error) {
	now := s.now()
	if err := in.validate(now); err != nil {
		return nil, err
	}
	key, err := personKey(tx, in.PersonID)
	if err != nil {
		return nil, err
	}
	a := &Activity{PersonID: in.PersonID, Kind: in.Kind, Subject: in.Subject, Body: in.Body, OccurredAt: now, Author: in.Author, CreatedAt: now}
	if in.OccurredAt != nil && !in.OccurredAt.IsZero() {
		a.OccurredAt = in.OccurredAt.UTC()
	}
	a.OccurredAt = a.OccurredAt.Truncate(time.Microsecond)
	a.CreatedAt = a.CreatedAt.Truncate(time.Microsecond)
	if a.Author == "" {
		a.Author = actor.String()
	}
	a.ID, err = tx.InsertID(`INSERT INTO activities (person_id, kind, subject, body, occurred_at, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.PersonID, a.Kind, a.Subject, a.Body, store.Micros(a.OccurredAt), a.Author, store.Micros(now))
	if err != nil {
		return nil, fmt.Errorf("records: add activity: %w", err)
	}
	_, err = audit.Append(tx, now, audit.Entry{Actor: actor, Action: "activity.create", ObjectType: "activity", ObjectID: strconv.FormatInt(a.ID, 10), PersonID: a.PersonID, After: a}, key)
	return a, err
}

// Activities lists a person's activities, newest first.
func (s *Service) Activities(ctx context.Context, personID int64) ([]Activity, error) {
	rows, err := s.db.Query(ctx, `SELECT id, person_id, kind, subject, body, occurred_at, author, created_at FROM activities WHERE person_id = ? ORDER BY occurred_at DESC, id DESC`, personID)
	if err != nil {
		return nil, fmt.Errorf("records: list activities: %w", err)
	}
	defer rows.Close()
	out := []Activity{}
	for rows.Next() {
		var a Activity
		var occ, cr int64
		if err := rows.Scan(&a.ID, &a.PersonID, &a.Kind, &a.Subject, &a.Body, &occ, &a.Author, &cr); err != nil {
			return nil, err
		}
		a.OccurredAt, a.CreatedAt = store.FromMicros(occ), store.FromMicros(cr)
		out = append(out, a)
	}
	return out, rows.Err()
}

// AddDocument stores a document and its file.
func (s *Service) AddDocument(ctx context.Context, actor audit.Actor, in DocumentInput) (*Document, error) {
	if e, bad := ledger.CheckFileName("filename", &in.Filename); bad {
		return nil, invalid(e.Field, e.Message+" (a file name without path, at most 255 characters)")
	}
	if err := ledger.CheckTexts(ledger.OneLine("media_type", in.MediaType, textcheck.MaxMediaType)); err != nil {
		return nil, err
	}
	switch {
	case in.PersonID <= 0:
		return nil, invalid("person_id", "is required")
	case len(in.Content) == 0:
		return nil, invalid("content", "the file is empty")
	case len(in.Content) > MaxDocument:
		return nil, invalid("content", fmt.Sprintf("must be at most %d bytes", MaxDocument))
	}
	if in.MediaType == "" {
		in.MediaType = "application/octet-stream"
	}
	var d *Document
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		now := s.now()
		key, err := personKey(tx, in.PersonID)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(in.Content)
		d = &Document{PersonID: in.PersonID, Filename: in.Filename, MediaType: in.MediaType, Size: int64(len(in.Content)),
			SHA256: hex.EncodeToString(sum[:]), Author: actor.String(), CreatedAt: now.Truncate(time.Microsecond)}
		d.ID, err = tx.InsertID(`INSERT INTO documents (person_id, filename, media_type, size, sha256, content, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			d.PersonID, d.Filename, d.MediaType, d.Size, d.SHA256, in.Content, d.Author, store.Micros(now))
		if err != nil {
			return fmt.Errorf("records: add document: %w", err)
		}
		tx.SetResult(d.ID)
		_, err = audit.Append(tx, now, audit.Entry{Actor: actor, Action: "document.create", ObjectType: "document", ObjectID: strconv.FormatInt(d.ID, 10), PersonID: d.PersonID, After: d}, key)
		return err
	})
	return d, err
}

const documentCols = `id, person_id, filename, media_type, size, sha256, author, created_at`

func scanDocument(sc interface{ Scan(...any) error }, extra ...any) (*Document, error) {
	var d Document
	var cr int64
	if err := sc.Scan(append([]any{&d.ID, &d.PersonID, &d.Filename, &d.MediaType, &d.Size, &d.SHA256, &d.Author, &cr}, extra...)...); err != nil {
		return nil, err
	}
	d.CreatedAt = store.FromMicros(cr)
	return &d, nil
}

// Documents lists a person's documents (without their content).
func (s *Service) Documents(ctx context.Context, personID int64) ([]Document, error) {
	rows, err := s.db.Query(ctx, `SELECT `+documentCols+` FROM documents WHERE person_id = ? ORDER BY id`, personID)
	if err != nil {
		return nil, fmt.Errorf("records: list documents: %w", err)
	}
	defer rows.Close()
	out := []Document{}
	for rows.Next() {
		d, err := scanDocument(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

// Document returns one document with its content.
func (s *Service) Document(ctx context.Context, id int64) (*Document, error) {
	var content []byte
	d, err := scanDocument(s.db.QueryRow(ctx, `SELECT `+documentCols+`, content FROM documents WHERE id = ?`, id), &content)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &ledger.Error{Kind: ledger.KindNotFound, Code: "unknown-document", Message: "there is no such document"}
	}
	if err != nil {
		return nil, fmt.Errorf("records: load document: %w", err)
	}
	d.Content = content
	return d, nil
}

// AddRelationship links two persons. The audit event is sealed under the
// first person's key.
func (s *Service) AddRelationship(ctx context.Context, actor audit.Actor, in RelationshipInput) (*Relationship, error) {
	in.Kind = strings.TrimSpace(in.Kind)
	switch {
	case in.PersonID <= 0:
		return nil, invalid("person_id", "is required")
	case in.OtherID <= 0:
		return nil, invalid("other_id", "is required")
	case in.OtherID == in.PersonID:
		return nil, invalid("other_id", "a person cannot be related to themself")
	case !oneOf(in.Kind, RelationshipKinds):
		return nil, invalid("kind", "must be one of "+strings.Join(RelationshipKinds, ", "))
	}
	var r *Relationship
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		now := s.now()
		key, err := personKey(tx, in.PersonID)
		if err != nil {
			return err
		}
		if _, err := personKey(tx, in.OtherID); err != nil {
			if de, ok := ledger.AsError(err); ok && de.Kind == ledger.KindNotFound {
				return invalid("other_id", "there is no such person")
			}
			return err
		}
		r = &Relationship{PersonID: in.PersonID, OtherID: in.OtherID, Kind: in.Kind, CreatedAt: now.Truncate(time.Microsecond), CreatedBy: actor.String()}
		r.ID, err = tx.InsertID(`INSERT INTO relationships (person_id, other_id, kind, created_at, created_by) VALUES (?, ?, ?, ?, ?)`,
			r.PersonID, r.OtherID, r.Kind, store.Micros(now), r.CreatedBy)
		if err != nil {
			return fmt.Errorf("records: add relationship: %w", err)
		}
		tx.SetResult(r.ID)
		_, err = audit.Append(tx, now, audit.Entry{Actor: actor, Action: "relationship.create", ObjectType: "relationship", ObjectID: strconv.FormatInt(r.ID, 10), PersonID: r.PersonID, After: r}, key)
		return err
	})
	return r, err
}

// Relationships lists the relationships a person is part of, either side.
func (s *Service) Relationships(ctx context.Context, personID int64) ([]Relationship, error) {
	rows, err := s.db.Query(ctx, `SELECT id, person_id, other_id, kind, created_at, created_by FROM relationships WHERE person_id = ? OR other_id = ? ORDER BY id`, personID, personID)
	if err != nil {
		return nil, fmt.Errorf("records: list relationships: %w", err)
	}
	defer rows.Close()
	out := []Relationship{}
	for rows.Next() {
		var r Relationship
		var cr int64
		if err := rows.Scan(&r.ID, &r.PersonID, &r.OtherID, &r.Kind, &cr, &r.CreatedBy); err != nil {
			return nil, err
		}
		r.CreatedAt = store.FromMicros(cr)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (in *BusinessRecordInput) validate() error {
	in.Kind, in.Number, in.Currency = strings.TrimSpace(in.Kind), strings.TrimSpace(in.Number), strings.ToUpper(strings.TrimSpace(in.Currency))
	in.IssuedOn = strings.TrimSpace(in.IssuedOn)
	if err := ledger.CheckTexts(ledger.OneLine("number", in.Number, 100), ledger.MultiLine("description", in.Description, 2000)); err != nil {
		return err
	}
	switch {
	case in.PersonID <= 0:
		return invalid("person_id", "is required")
	case !oneOf(in.Kind, BusinessKinds):
		return invalid("kind", "must be one of "+strings.Join(BusinessKinds, ", "))
	case in.Number == "" || len(in.Number) > 100:
		return invalid("number", "is required (at most 100 characters)")
	case len(in.Currency) != 3 || strings.Trim(in.Currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "":
		return invalid("currency", "must be an ISO 4217 code such as EUR")
	case len(in.Description) > 2000:
		return invalid("description", "must be at most 2,000 characters")
	}
	if _, err := input.Date(in.IssuedOn); err != nil {
		return invalid("issued_on", "must be a date (YYYY-MM-DD)")
	}
	return nil
}

// AddBusinessRecord adds an order or invoice.
func (s *Service) AddBusinessRecord(ctx context.Context, actor audit.Actor, in BusinessRecordInput) (*BusinessRecord, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	var b *BusinessRecord
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		b, err = s.addBusinessRecordTx(tx, actor, in)
		if err == nil {
			tx.SetResult(b.ID)
		}
		return err
	})
	return b, err
}

func (s *Service) addBusinessRecordTx(tx *store.Tx, actor audit.Actor, in BusinessRecordInput) (*BusinessRecord, error) {
	now := s.now()
	key, err := personKey(tx, in.PersonID)
	if err != nil {
		return nil, err
	}
	pid := in.PersonID
	b := &BusinessRecord{PersonID: &pid, Kind: in.Kind, Number: in.Number, IssuedOn: in.IssuedOn, AmountCents: in.AmountCents,
		Currency: in.Currency, Description: in.Description, CreatedAt: now.Truncate(time.Microsecond), CreatedBy: actor.String()}
	b.ID, err = tx.InsertID(`INSERT INTO business_records (person_id, kind, number, issued_on, amount_cents, currency, description, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		pid, b.Kind, b.Number, b.IssuedOn, b.AmountCents, b.Currency, b.Description, store.Micros(now), b.CreatedBy)
	if err != nil {
		return nil, fmt.Errorf("records: add business record: %w", err)
	}
	_, err = audit.Append(tx, now, audit.Entry{Actor: actor, Action: "business_record.create", ObjectType: "business_record", ObjectID: strconv.FormatInt(b.ID, 10), PersonID: pid, After: b}, key)
	return b, err
}

// BusinessRecords lists a person's orders and invoices.
func (s *Service) BusinessRecords(ctx context.Context, personID int64) ([]BusinessRecord, error) {
	rows, err := s.db.Query(ctx, `SELECT id, person_id, kind, number, issued_on, amount_cents, currency, description, created_at, created_by FROM business_records WHERE person_id = ? ORDER BY issued_on, id`, personID)
	if err != nil {
		return nil, fmt.Errorf("records: list business records: %w", err)
	}
	defer rows.Close()
	out := []BusinessRecord{}
	for rows.Next() {
		var b BusinessRecord
		var pid sql.NullInt64
		var cr int64
		if err := rows.Scan(&b.ID, &pid, &b.Kind, &b.Number, &b.IssuedOn, &b.AmountCents, &b.Currency, &b.Description, &cr, &b.CreatedBy); err != nil {
			return nil, err
		}
		if pid.Valid {
			b.PersonID = &pid.Int64
		}
		b.CreatedAt = store.FromMicros(cr)
		out = append(out, b)
	}
	return out, rows.Err()
}
