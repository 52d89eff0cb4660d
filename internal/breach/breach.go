// Package breach is the register of personal data breaches (GDPR Art. 33
// and 34): incidents with the time the controller became aware of them and
// the 72-hour deadline for notifying the supervisory authority, the
// affected persons and categories of data, likely consequences and
// measures, the record of the notification to the authority (with the
// reason for a late one, Art. 33(1)) or of the decision not to notify,
// follow-up information in phases (Art. 33(4)), and the notices to the
// persons (Art. 34) sent through the outbox. Every breach is documented,
// notified or not (Art. 33(5)), and every change writes its audit event in
// the same transaction. It knows no HTTP.
package breach

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
)

// Risk assessments (Art. 33(1), 34(1)): no risk to the persons' rights and
// freedoms (the authority need not be notified), a risk (notify the
// authority), or a high risk (tell the persons as well).
const (
	RiskNone = "none"
	RiskSome = "risk"
	RiskHigh = "high"
)

// Risks lists the risk assessments.
var Risks = []string{RiskNone, RiskSome, RiskHigh}

// Statuses of an incident.
const (
	StatusOpen   = "open"
	StatusClosed = "closed"
)

// Statuses lists the statuses of an incident.
var Statuses = []string{StatusOpen, StatusClosed}

// DataCategories are the categories of personal data offered for choice;
// free text may be added beside them.
var DataCategories = []string{"identity", "contact", "financial", "credentials", "official_id", "location", "communication", "health", "special", "criminal"}

// SubjectCategories are the categories of data subjects offered for
// choice; free text may be added beside them.
var SubjectCategories = []string{"customers", "prospects", "employees", "applicants", "children", "suppliers", "users"}

// Breach is one incident of the register.
type Breach struct {
	ID                int64      `json:"id"`
	Title             string     `json:"title"`
	Description       string     `json:"description"` // the nature of the breach
	OccurredAt        *time.Time `json:"occurred_at"` // nil: not known
	AwareAt           time.Time  `json:"aware_at"`
	Deadline          time.Time  `json:"deadline"` // AwareAt + 72 h
	DetectedBy        string     `json:"detected_by"`
	DataCategories    []string   `json:"data_categories"`
	SubjectCategories []string   `json:"subject_categories"`
	ApproxPersons     *int64     `json:"approx_persons"`
	ApproxRecords     *int64     `json:"approx_records"`
	Consequences      string     `json:"consequences"`
	Measures          string     `json:"measures"`
	Risk              string     `json:"risk"`
	DPOContact        string     `json:"dpo_contact"`
	Status            string     `json:"status"`
	LinkedPersons     int64      `json:"linked_persons"`
	PersonsNotified   int64      `json:"persons_notified"`

	AuthorityNotifiedAt *time.Time `json:"authority_notified_at"`
	AuthorityName       string     `json:"authority_name"`
	AuthorityReference  string     `json:"authority_reference"`
	AuthorityLateReason string     `json:"authority_late_reason"`
	AuthorityRecordedBy string     `json:"authority_recorded_by"`
	NoNotifyAt          *time.Time `json:"no_notify_at"`
	NoNotifyBy          string     `json:"no_notify_by"`
	NoNotifyReason      string     `json:"no_notify_reason"`

	// AuthorityState is pending, overdue, notified_in_time,
	// notified_late or not_notified (see State).
	AuthorityState string `json:"authority_state"`
	// SecondsLeft to the deadline when read; negative once it passed.
	SecondsLeft int64 `json:"seconds_left"`

	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
	UpdatedAt time.Time  `json:"updated_at"`
	UpdatedBy string     `json:"updated_by"`
	ClosedAt  *time.Time `json:"closed_at"`
}

// Open reports whether the incident is still open.
func (b *Breach) Open() bool { return b.Status == StatusOpen }

// Countdown is the time left to the authority deadline at now.
func (b *Breach) Countdown(now time.Time) Countdown { return CountdownAt(b.AwareAt, now) }

// Input creates or replaces an incident.
type Input struct {
	Title             string     `json:"title"`
	Description       string     `json:"description"`
	OccurredAt        *time.Time `json:"occurred_at"`
	AwareAt           *time.Time `json:"aware_at"`
	DetectedBy        string     `json:"detected_by"`
	DataCategories    []string   `json:"data_categories"`
	SubjectCategories []string   `json:"subject_categories"`
	ApproxPersons     *int64     `json:"approx_persons"`
	ApproxRecords     *int64     `json:"approx_records"`
	Consequences      string     `json:"consequences"`
	Measures          string     `json:"measures"`
	Risk              string     `json:"risk"`        // default "risk"
	DPOContact        string     `json:"dpo_contact"` // shown in the notices to persons
	Status            string     `json:"status"`      // default open; on update, empty keeps it
}

// Service keeps the breach register in one database.
type Service struct {
	db         *store.DB
	now        func() time.Time
	controller string
}

// New returns the breach register over db.
func New(db *store.DB) *Service {
	return &Service{db: db, now: func() time.Time { return time.Now().UTC() }}
}

// SetController names the data controller in the notices to persons.
func (s *Service) SetController(name string) *Service { s.controller = name; return s }

// SetClock replaces the clock (for tests of the deadline).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

func invalid(field, msg string) error {
	return &ledger.Error{Kind: ledger.KindInvalid, Code: "validation", Message: field + ": " + msg,
		Fields: []ledger.FieldError{ledger.Field(field, msg)}}
}

func conflict(code, msg string) error {
	return &ledger.Error{Kind: ledger.KindConflict, Code: code, Message: msg}
}

func notFound() error {
	return &ledger.Error{Kind: ledger.KindNotFound, Code: "unknown-breach", Message: "there is no such breach"}
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// maxText bounds the long text fields.
const maxText = 10000

func cleanCategories(field string, in []string) ([]string, error) {
	out := []string{}
	for _, c := range in {
		c = strings.TrimSpace(c)
		if c == "" || slices.Contains(out, c) {
			continue
		}
		if bad := textcheck.Line(c, 100); bad != textcheck.OK {
			if bad == textcheck.TooLong {
				return nil, invalid(field, "each category must be at most 100 characters")
			}
			return nil, invalid(field, "each category "+bad.Message(100))
		}
		out = append(out, c)
	}
	if len(out) > 50 {
		return nil, invalid(field, "at most 50 categories")
	}
	return out, nil
}

func (in *Input) validate(now time.Time, update bool) error {
	in.Title, in.Description = strings.TrimSpace(in.Title), strings.TrimSpace(in.Description)
	in.DetectedBy, in.DPOContact = strings.TrimSpace(in.DetectedBy), strings.TrimSpace(in.DPOContact)
	in.Consequences, in.Measures = strings.TrimSpace(in.Consequences), strings.TrimSpace(in.Measures)
	in.Risk, in.Status = strings.TrimSpace(in.Risk), strings.TrimSpace(in.Status)
	if in.Risk == "" {
		in.Risk = RiskSome
	}
	if in.Status == "" && !update {
		in.Status = StatusOpen
	}
	var err error
	if in.DataCategories, err = cleanCategories("data_categories", in.DataCategories); err != nil {
		return err
	}
	if in.SubjectCategories, err = cleanCategories("subject_categories", in.SubjectCategories); err != nil {
		return err
	}
	if err := ledger.CheckTexts(
		ledger.OneLine("title", in.Title, textcheck.MaxName),
		ledger.MultiLine("description", in.Description, maxText),
		ledger.OneLine("detected_by", in.DetectedBy, textcheck.MaxName),
		ledger.MultiLine("consequences", in.Consequences, maxText),
		ledger.MultiLine("measures", in.Measures, maxText),
		ledger.MultiLine("dpo_contact", in.DPOContact, 500),
	); err != nil {
		return err
	}
	// Allow a little clock skew between the client and this server.
	future := now.Add(5 * time.Minute)
	switch {
	case in.Title == "" || len([]rune(in.Title)) > 200:
		return invalid("title", "must be 1 to 200 characters")
	case in.Description == "":
		return invalid("description", "describe the nature of the breach (Art. 33(3)(a))")
	case len(in.Description) > maxText:
		return invalid("description", "must be at most 10000 characters")
	case in.AwareAt == nil || in.AwareAt.IsZero():
		return invalid("aware_at", "say when the breach became known: the 72 hours count from then (Art. 33(1))")
	case in.AwareAt.After(future):
		return invalid("aware_at", "must not be in the future")
	case in.OccurredAt != nil && in.OccurredAt.After(*in.AwareAt):
		return invalid("occurred_at", "must not be after the time of awareness")
	case len(in.DetectedBy) > 200:
		return invalid("detected_by", "must be at most 200 characters")
	case in.ApproxPersons != nil && *in.ApproxPersons < 0:
		return invalid("approx_persons", "must not be negative")
	case in.ApproxRecords != nil && *in.ApproxRecords < 0:
		return invalid("approx_records", "must not be negative")
	case len(in.Consequences) > maxText:
		return invalid("consequences", "must be at most 10000 characters")
	case len(in.Measures) > maxText:
		return invalid("measures", "must be at most 10000 characters")
	case !slices.Contains(Risks, in.Risk):
		return invalid("risk", "must be one of "+strings.Join(Risks, ", "))
	case len(in.DPOContact) > 500:
		return invalid("dpo_contact", "must be at most 500 characters")
	case in.Status != "" && !slices.Contains(Statuses, in.Status):
		return invalid("status", "must be one of "+strings.Join(Statuses, ", "))
	}
	return nil
}

const breachCols = `id, title, description, occurred_at, aware_at, detected_by, data_categories, subject_categories, approx_persons, approx_records,
	consequences, measures, risk, dpo_contact, status, linked_persons, persons_notified, authority_notified_at, authority_name, authority_reference,
	authority_late_reason, authority_recorded_by, no_notify_at, no_notify_by, no_notify_reason, created_at, created_by, updated_at, updated_by, closed_at`

func timeP(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := store.FromMicros(*v)
	return &t
}

func microsP(t *time.Time) any {
	if t == nil {
		return nil
	}
	return store.Micros(*t)
}

func (s *Service) scan(sc interface{ Scan(...any) error }) (*Breach, error) {
	var b Breach
	var occurred, notified, noNotify, closed *int64
	var aware, created, updated int64
	var dataCats, subjCats string
	if err := sc.Scan(&b.ID, &b.Title, &b.Description, &occurred, &aware, &b.DetectedBy, &dataCats, &subjCats, &b.ApproxPersons, &b.ApproxRecords,
		&b.Consequences, &b.Measures, &b.Risk, &b.DPOContact, &b.Status, &b.LinkedPersons, &b.PersonsNotified, &notified, &b.AuthorityName, &b.AuthorityReference,
		&b.AuthorityLateReason, &b.AuthorityRecordedBy, &noNotify, &b.NoNotifyBy, &b.NoNotifyReason, &created, &b.CreatedBy, &updated, &b.UpdatedBy, &closed); err != nil {
		return nil, err
	}
	b.OccurredAt, b.AuthorityNotifiedAt, b.NoNotifyAt, b.ClosedAt = timeP(occurred), timeP(notified), timeP(noNotify), timeP(closed)
	b.AwareAt, b.CreatedAt, b.UpdatedAt = store.FromMicros(aware), store.FromMicros(created), store.FromMicros(updated)
	b.Deadline = Deadline(b.AwareAt)
	b.DataCategories, b.SubjectCategories = []string{}, []string{}
	if err := json.Unmarshal([]byte(dataCats), &b.DataCategories); err != nil {
		return nil, fmt.Errorf("breach: data categories: %w", err)
	}
	if err := json.Unmarshal([]byte(subjCats), &b.SubjectCategories); err != nil {
		return nil, fmt.Errorf("breach: subject categories: %w", err)
	}
	now := s.now()
	b.AuthorityState = State(&b, now)
	b.SecondsLeft = int64(b.Countdown(now).Left / time.Second)
	return &b, nil
}

// Filter selects incidents: Status open, closed or all ("" = all).
type Filter struct {
	Status string
}

// List lists the incidents, the nearest deadline first, open before closed.
func (s *Service) List(ctx context.Context, f Filter) ([]*Breach, error) {
	q := `SELECT ` + breachCols + ` FROM breaches`
	var args []any
	switch f.Status {
	case "", "all":
	case StatusOpen, StatusClosed:
		q += ` WHERE status = ?`
		args = append(args, f.Status)
	default:
		return nil, invalid("status", "must be open, closed or all")
	}
	rows, err := s.db.Query(ctx, q+` ORDER BY CASE WHEN status = 'open' THEN 0 ELSE 1 END, aware_at DESC, id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("breach: list: %w", err)
	}
	defer rows.Close()
	out := []*Breach{}
	for rows.Next() {
		b, err := s.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Get returns one incident.
func (s *Service) Get(ctx context.Context, id int64) (*Breach, error) {
	b, err := s.scan(s.db.QueryRow(ctx, `SELECT `+breachCols+` FROM breaches WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, notFound()
	}
	if err != nil {
		return nil, fmt.Errorf("breach: get: %w", err)
	}
	return b, nil
}

func (s *Service) getTx(tx *store.Tx, id int64) (*Breach, error) {
	b, err := s.scan(tx.QueryRow(`SELECT `+breachCols+` FROM breaches WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, notFound()
	}
	if err != nil {
		return nil, fmt.Errorf("breach: get: %w", err)
	}
	return b, nil
}

// auditView is what the audit log keeps of an incident: its description,
// never data of a person.
func auditView(in Input) map[string]any {
	return map[string]any{"title": in.Title, "description": in.Description, "occurred_at": in.OccurredAt, "aware_at": in.AwareAt,
		"detected_by": in.DetectedBy, "data_categories": in.DataCategories, "subject_categories": in.SubjectCategories,
		"approx_persons": in.ApproxPersons, "approx_records": in.ApproxRecords, "consequences": in.Consequences, "measures": in.Measures,
		"risk": in.Risk, "dpo_contact": in.DPOContact, "status": in.Status}
}

func inputOf(b *Breach) Input {
	aware := b.AwareAt
	return Input{Title: b.Title, Description: b.Description, OccurredAt: b.OccurredAt, AwareAt: &aware, DetectedBy: b.DetectedBy,
		DataCategories: b.DataCategories, SubjectCategories: b.SubjectCategories, ApproxPersons: b.ApproxPersons, ApproxRecords: b.ApproxRecords,
		Consequences: b.Consequences, Measures: b.Measures, Risk: b.Risk, DPOContact: b.DPOContact, Status: b.Status}
}

func appendAudit(tx *store.Tx, at time.Time, actor audit.Actor, action string, id int64, reason string, before, after any) error {
	_, err := audit.Append(tx, at, audit.Entry{Actor: actor, Action: action, ObjectType: "breach", ObjectID: strconv.FormatInt(id, 10),
		Reason: reason, Before: before, After: after}, nil)
	return err
}

func jsonList(v []string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Create records a new incident.
func (s *Service) Create(ctx context.Context, actor audit.Actor, in Input) (*Breach, error) {
	now := s.now()
	if err := in.validate(now, false); err != nil {
		return nil, err
	}
	var id int64
	err := s.db.Write(ctx, func(tx *store.Tx) (err error) {
		var closed any
		if in.Status == StatusClosed {
			closed = store.Micros(now)
		}
		id, err = tx.InsertID(`INSERT INTO breaches (title, description, occurred_at, aware_at, detected_by, data_categories, subject_categories,
			approx_persons, approx_records, consequences, measures, risk, dpo_contact, status, created_at, created_by, updated_at, updated_by, closed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			in.Title, in.Description, microsP(in.OccurredAt), store.Micros(*in.AwareAt), in.DetectedBy, jsonList(in.DataCategories), jsonList(in.SubjectCategories),
			in.ApproxPersons, in.ApproxRecords, in.Consequences, in.Measures, in.Risk, in.DPOContact, in.Status,
			store.Micros(now), actor.String(), store.Micros(now), actor.String(), closed)
		if err != nil {
			return fmt.Errorf("breach: create: %w", err)
		}
		return appendAudit(tx, now, actor, "breach.create", id, "", nil, auditView(in))
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// Update replaces an incident's description. Once the authority was
// notified the time of awareness is fixed: the notification was judged
// against it. Raising the risk above "none" withdraws a decision not to
// notify the authority, so the countdown runs again.
func (s *Service) Update(ctx context.Context, actor audit.Actor, id int64, in Input) (*Breach, error) {
	now := s.now()
	if err := in.validate(now, true); err != nil {
		return nil, err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		old, err := s.getTx(tx, id)
		if err != nil {
			return err
		}
		if in.Status == "" {
			in.Status = old.Status
		}
		if old.AuthorityNotifiedAt != nil && !in.AwareAt.Equal(old.AwareAt) {
			return conflict("aware-at-fixed", "the authority was notified already: the time of awareness it was judged against cannot change")
		}
		closed := microsP(old.ClosedAt)
		switch {
		case in.Status == StatusClosed && old.Status != StatusClosed:
			closed = store.Micros(now)
		case in.Status == StatusOpen:
			closed = nil
		}
		if _, err := tx.Exec(`UPDATE breaches SET title = ?, description = ?, occurred_at = ?, aware_at = ?, detected_by = ?, data_categories = ?,
			subject_categories = ?, approx_persons = ?, approx_records = ?, consequences = ?, measures = ?, risk = ?, dpo_contact = ?, status = ?,
			updated_at = ?, updated_by = ?, closed_at = ? WHERE id = ?`,
			in.Title, in.Description, microsP(in.OccurredAt), store.Micros(*in.AwareAt), in.DetectedBy, jsonList(in.DataCategories), jsonList(in.SubjectCategories),
			in.ApproxPersons, in.ApproxRecords, in.Consequences, in.Measures, in.Risk, in.DPOContact, in.Status,
			store.Micros(now), actor.String(), closed, id); err != nil {
			return fmt.Errorf("breach: update: %w", err)
		}
		if in.Risk != RiskNone && old.NoNotifyAt != nil && old.AuthorityNotifiedAt == nil {
			if _, err := tx.Exec(`UPDATE breaches SET no_notify_at = NULL, no_notify_by = '', no_notify_reason = '' WHERE id = ?`, id); err != nil {
				return fmt.Errorf("breach: withdraw decision: %w", err)
			}
			if _, err := addEntryTx(tx, id, EntryNote, now, now, actor, "Decision not to notify the authority withdrawn: the risk was reassessed as "+in.Risk+"."); err != nil {
				return err
			}
		}
		return appendAudit(tx, now, actor, "breach.update", id, "", auditView(inputOf(old)), auditView(in))
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// OpenCount counts the open incidents and those of them whose authority
// deadline passed without a notification or decision.
func (s *Service) OpenCount(ctx context.Context) (open, overdue int, err error) {
	err = s.db.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN authority_notified_at IS NULL AND no_notify_at IS NULL AND aware_at < ? THEN 1 ELSE 0 END), 0)
		FROM breaches WHERE status = 'open'`, store.Micros(s.now().Add(-Window))).Scan(&open, &overdue)
	if err != nil {
		err = fmt.Errorf("breach: count: %w", err)
	}
	return
}
