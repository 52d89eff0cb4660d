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
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
)

// Request types, by the GDPR article that grants the right.
const (
	TypeAccess        = "access"        // Art. 15
	TypeRectification = "rectification" // Art. 16
	TypeErasure       = "erasure"       // Art. 17
	TypeRestriction   = "restriction"   // Art. 18
	TypePortability   = "portability"   // Art. 20
	TypeObjection     = "objection"     // Art. 21
	TypeAutomated     = "automated"     // Art. 22
)

// Types lists every request type.
var Types = []string{TypeAccess, TypeRectification, TypeErasure, TypeRestriction, TypePortability, TypeObjection, TypeAutomated}

// Article names the GDPR article of a request type.
func Article(typ string) string {
	return map[string]string{TypeAccess: "Art. 15", TypeRectification: "Art. 16", TypeErasure: "Art. 17", TypeRestriction: "Art. 18",
		TypePortability: "Art. 20", TypeObjection: "Art. 21", TypeAutomated: "Art. 22"}[typ]
}

// Request statuses: received → verified (identity checked) → in_progress →
// completed; rejected from any open status.
const (
	StatusReceived   = "received"
	StatusVerified   = "verified"
	StatusInProgress = "in_progress"
	StatusCompleted  = "completed"
	StatusRejected   = "rejected"
)

// Channels a request arrives by.
var Channels = []string{"staff", "api", "self_service"}

// DueSoonDays is how many days before the due date a reminder is due.
const DueSoonDays = 7

// Request is a data-subject request case.
type Request struct {
	ID             int64  `json:"id"`
	PersonID       *int64 `json:"person_id,omitempty"`
	Type           string `json:"type"`
	Article        string `json:"article"`
	Status         string `json:"status"`
	Channel        string `json:"channel"`
	RequesterEmail string `json:"requester_email,omitempty"`
	Details        string `json:"details,omitempty"`
	Purpose        string `json:"purpose,omitempty"`
	Country        string `json:"country,omitempty"`
	Region         string `json:"region,omitempty"`
	// CalendarMissing: the case's calendar knows no holiday (no country,
	// or a country with neither built-in nor added holidays), so its
	// deadline counts weekends only.
	CalendarMissing    bool       `json:"calendar_missing"`
	ReceivedOn         string     `json:"received_on"`
	DueOn              string     `json:"due_on"`
	ExtendedDueOn      string     `json:"extended_due_on,omitempty"`
	ExtensionReason    string     `json:"extension_reason,omitempty"`
	Deadline           string     `json:"deadline"` // the due date in force
	DaysLeft           int        `json:"days_left"`
	Overdue            bool       `json:"overdue"`
	DueSoon            bool       `json:"due_soon"`
	VerifiedAt         *time.Time `json:"verified_at,omitempty"`
	VerifiedBy         string     `json:"verified_by,omitempty"`
	VerificationMethod string     `json:"verification_method,omitempty"`
	AssigneeID         *int64     `json:"assignee_id,omitempty"`
	RemindedAt         *time.Time `json:"reminded_at,omitempty"`
	EscalatedAt        *time.Time `json:"escalated_at,omitempty"`
	ClosedAt           *time.Time `json:"closed_at,omitempty"`
	Outcome            string     `json:"outcome,omitempty"`
	CreatedAt          time.Time  `json:"created_at"`
	CreatedBy          string     `json:"created_by"`
	UpdatedAt          time.Time  `json:"updated_at"`
	Notes              []Note     `json:"notes,omitempty"`
}

// Open reports whether the case still needs an answer.
func (r *Request) Open() bool { return r.Status != StatusCompleted && r.Status != StatusRejected }

// OverdueDays is how many days the deadline has passed (0 when it has not).
func (r *Request) OverdueDays() int { return max(0, -r.DaysLeft) }

// AssignedTo reports whether the case is assigned to the user.
func (r *Request) AssignedTo(userID int64) bool {
	return r.AssigneeID != nil && *r.AssigneeID == userID
}

// Verified reports whether the requester's identity was checked.
func (r *Request) Verified() bool { return r.VerifiedAt != nil }

// Note is an internal note on a case; never part of a report.
type Note struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Author string    `json:"author"`
	Body   string    `json:"body"`
}

// RequestInput opens a case.
type RequestInput struct {
	PersonID       *int64 `json:"person_id"`
	Type           string `json:"type"`
	Channel        string `json:"channel"`
	RequesterEmail string `json:"requester_email"`
	ReceivedOn     string `json:"received_on"` // YYYY-MM-DD, default today
	Country        string `json:"country"`     // holiday calendar, ISO 3166-1 alpha-2; default: the default calendar
	Region         string `json:"region"`      // ISO 3166-2 region of the calendar, e.g. DE-BY (optional)
	Details        string `json:"details"`
	Purpose        string `json:"purpose"` // the purpose objected to (objection)
	AssigneeID     *int64 `json:"assignee_id"`
}

func (s *Service) today() Date { return DateOf(s.now()) }

// CreateRequest opens a case and computes its due date. A requester e-mail
// that belongs to a person links the case to them.
func (s *Service) CreateRequest(ctx context.Context, actor audit.Actor, in RequestInput) (*Request, error) {
	in.Type, in.Channel = strings.TrimSpace(in.Type), strings.TrimSpace(in.Channel)
	in.Country = strings.ToUpper(strings.TrimSpace(in.Country))
	in.Region = strings.ToUpper(strings.TrimSpace(in.Region))
	if in.Channel == "" {
		in.Channel = "staff"
	}
	received := s.today()
	switch {
	case !contains(Types, in.Type):
		return nil, invalid("type", "must be one of "+strings.Join(Types, ", "))
	case !contains(Channels, in.Channel):
		return nil, invalid("channel", "must be one of "+strings.Join(Channels, ", "))
	case in.Country == "" && in.Region != "":
		return nil, invalid("country", "name the country of the region")
	case len(in.Details) > 10_000:
		return nil, invalid("details", "must be at most 10,000 characters")
	}
	if err := ledger.CheckTexts(ledger.MultiLine("details", in.Details, textcheck.MaxNote), ledger.OneLine("purpose", in.Purpose, textcheck.MaxShort)); err != nil {
		return nil, err
	}
	if in.RequesterEmail != "" {
		e, ok := ledger.NormalizeEmail(in.RequesterEmail)
		if !ok {
			return nil, invalid("requester_email", "is not a valid e-mail address")
		}
		in.RequesterEmail = e
	}
	if in.ReceivedOn != "" {
		d, err := ParseDate(in.ReceivedOn)
		if err != nil {
			return nil, invalid("received_on", "must be a date (YYYY-MM-DD)")
		}
		if received.Before(d) {
			return nil, invalid("received_on", "cannot lie in the future")
		}
		received = d
	}
	if in.PersonID == nil && in.RequesterEmail == "" {
		return nil, invalid("person_id", "name the person or the requester's e-mail address")
	}
	if in.Country != "" {
		var err error
		if in.Country, in.Region, err = normCalendar(in.Country, in.Region); err != nil {
			return nil, err
		}
	} else {
		def, err := s.DefaultCalendar(ctx)
		if err != nil {
			return nil, err
		}
		in.Country, in.Region = def.Country, def.Region
	}
	cal, err := s.Calendar(ctx, in.Country, in.Region)
	if err != nil {
		return nil, err
	}
	due := cal.Due(received, AnswerMonths)
	var id int64
	err = s.db.Write(ctx, func(tx *store.Tx) (err error) {
		id, err = s.createTx(tx, actor, in, received, due)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Request(ctx, id)
}

// createTx opens a validated case in tx.
func (s *Service) createTx(tx *store.Tx, actor audit.Actor, in RequestInput, received, due Date) (int64, error) {
	now := s.now()
	pid := in.PersonID
	if pid != nil {
		var st string
		if err := tx.QueryRow(`SELECT status FROM persons WHERE id = ?`, *pid).Scan(&st); err != nil {
			if isNoRows(err) {
				return 0, invalid("person_id", "there is no such person")
			}
			return 0, err
		}
	} else {
		owner, _, err := ledger.EmailOwnerTx(tx, in.RequesterEmail) // any spelling of the mailbox
		if err != nil {
			return 0, err
		}
		if owner != 0 {
			pid = &owner
		}
	}
	if in.AssigneeID != nil {
		if err := checkAssignee(tx, *in.AssigneeID); err != nil {
			return 0, err
		}
	}
	if in.Type == TypeObjection && in.Purpose != "" {
		var one int
		if err := tx.QueryRow(`SELECT 1 FROM purposes WHERE key = ?`, in.Purpose).Scan(&one); err != nil {
			return 0, invalid("purpose", "there is no such purpose")
		}
	}
	id, err := tx.InsertID(`INSERT INTO rights_requests (person_id, type, status, channel, requester_email, details, purpose, country, region, received_on, due_on, assignee_id, created_at, created_by, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, pid, in.Type, StatusReceived, in.Channel, in.RequesterEmail, in.Details, in.Purpose, in.Country, in.Region,
		received.String(), due.String(), in.AssigneeID, store.Micros(now), actor.String(), store.Micros(now))
	if err != nil {
		return 0, fmt.Errorf("rights: create request: %w", err)
	}
	return id, appendAudit(tx, now, audit.Entry{Actor: actor, Action: "request.create", ObjectType: "rights_request", ObjectID: strconv.FormatInt(id, 10),
		PersonID: deref(pid), After: map[string]any{"type": in.Type, "channel": in.Channel, "received_on": received.String(), "due_on": due.String(), "calendar": calendarID(in.Country, in.Region)}})
}

// OpenSelfServiceErasureTx opens an erasure case (GDPR Art. 17) for a
// person who asked on their personal preference page, in the transaction
// that records their request. The link proves control of the address, not
// identity: the case still needs the privacy officer's verification.
func (s *Service) OpenSelfServiceErasureTx(tx *store.Tx, personID int64) error {
	received := s.today()
	def, err := defaultCalendarTx(tx)
	if err != nil {
		return err
	}
	cal, err := calendarTx(tx, def.Country, def.Region)
	if err != nil {
		return err
	}
	due := cal.Due(received, AnswerMonths)
	_, err = s.createTx(tx, audit.Actor{Type: "subject", ID: strconv.FormatInt(personID, 10)}, RequestInput{PersonID: &personID, Type: TypeErasure,
		Channel: "self_service", Country: def.Country, Region: def.Region, Details: "Asked for erasure on the personal preference page."}, received, due)
	return err
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func contains(set []string, v string) bool {
	for _, x := range set {
		if x == v {
			return true
		}
	}
	return false
}

func checkAssignee(tx *store.Tx, uid int64) error {
	var disabled int64
	if err := tx.QueryRow(`SELECT disabled FROM users WHERE id = ?`, uid).Scan(&disabled); err != nil || disabled != 0 {
		return invalid("assignee_id", "there is no such active staff user")
	}
	return nil
}

const requestCols = `id, person_id, type, status, channel, requester_email, details, purpose, country, region, received_on, due_on, extended_due_on, extension_reason,
	verified_at, verified_by, verification_method, assignee_id, reminded_at, escalated_at, closed_at, outcome, created_at, created_by, updated_at`

func (s *Service) scanRequest(sc interface{ Scan(...any) error }) (*Request, error) {
	var r Request
	var pid, assignee, verified, reminded, escalated, closed sql.NullInt64
	var created, updated int64
	err := sc.Scan(&r.ID, &pid, &r.Type, &r.Status, &r.Channel, &r.RequesterEmail, &r.Details, &r.Purpose, &r.Country, &r.Region, &r.ReceivedOn, &r.DueOn,
		&r.ExtendedDueOn, &r.ExtensionReason, &verified, &r.VerifiedBy, &r.VerificationMethod, &assignee, &reminded, &escalated, &closed, &r.Outcome,
		&created, &r.CreatedBy, &updated)
	if err != nil {
		return nil, err
	}
	if pid.Valid {
		r.PersonID = &pid.Int64
	}
	if assignee.Valid {
		r.AssigneeID = &assignee.Int64
	}
	r.VerifiedAt, r.RemindedAt, r.EscalatedAt, r.ClosedAt = tp(verified), tp(reminded), tp(escalated), tp(closed)
	r.CreatedAt, r.UpdatedAt = store.FromMicros(created), store.FromMicros(updated)
	r.Article = Article(r.Type)
	s.fillDeadline(&r)
	return &r, nil
}

func (s *Service) fillDeadline(r *Request) {
	r.Deadline = r.DueOn
	if r.ExtendedDueOn != "" {
		r.Deadline = r.ExtendedDueOn
	}
	d, err := ParseDate(r.Deadline)
	if err != nil {
		return
	}
	r.DaysLeft = s.today().DaysUntil(d)
	if r.Open() {
		r.Overdue = r.DaysLeft < 0
		r.DueSoon = !r.Overdue && r.DaysLeft <= DueSoonDays
	}
}

func tp(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := store.FromMicros(v.Int64)
	return &t
}

// Request returns one case with its notes.
func (s *Service) Request(ctx context.Context, id int64) (*Request, error) {
	r, err := s.scanRequest(s.db.QueryRow(ctx, `SELECT `+requestCols+` FROM rights_requests WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, notFound("unknown-request", "there is no such request")
	}
	if err != nil {
		return nil, fmt.Errorf("rights: load request: %w", err)
	}
	if err := s.flagCalendars(ctx, r); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT id, at, author, body FROM rights_request_notes WHERE request_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var n Note
		var at int64
		if err := rows.Scan(&n.ID, &at, &n.Author, &n.Body); err != nil {
			return nil, err
		}
		n.At = store.FromMicros(at)
		r.Notes = append(r.Notes, n)
	}
	return r, rows.Err()
}

// RequestFilter narrows Requests.
type RequestFilter struct {
	// State: "open" (default), "closed", "overdue", "due_soon" or "all".
	State    string
	PersonID int64
	Assignee int64
	Type     string
	Limit    int
}

// Requests lists cases, the most urgent first.
func (s *Service) Requests(ctx context.Context, f RequestFilter) ([]*Request, error) {
	var where []string
	var args []any
	open := `status NOT IN ('completed', 'rejected')`
	deadline := `(CASE WHEN extended_due_on <> '' THEN extended_due_on ELSE due_on END)`
	today := s.today()
	switch f.State {
	case "", "open":
		where = append(where, open)
	case "closed":
		where = append(where, `status IN ('completed', 'rejected')`)
	case "overdue":
		where = append(where, open, deadline+` < ?`)
		args = append(args, today.String())
	case "due_soon":
		where = append(where, open, deadline+` >= ?`, deadline+` <= ?`)
		args = append(args, today.String(), today.AddDays(DueSoonDays).String())
	case "all":
	default:
		return nil, invalid("state", "must be open, closed, overdue, due_soon or all")
	}
	if f.PersonID != 0 {
		where, args = append(where, `person_id = ?`), append(args, f.PersonID)
	}
	if f.Assignee != 0 {
		where, args = append(where, `assignee_id = ?`), append(args, f.Assignee)
	}
	if f.Type != "" {
		if !contains(Types, f.Type) {
			return nil, invalid("type", "must be one of "+strings.Join(Types, ", "))
		}
		where, args = append(where, `type = ?`), append(args, f.Type)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 500
	}
	q := `SELECT ` + requestCols + ` FROM rights_requests`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += fmt.Sprintf(` ORDER BY %s, id LIMIT %d`, deadline, limit)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("rights: list requests: %w", err)
	}
	defer rows.Close()
	out := []*Request{}
	for rows.Next() {
		r, err := s.scanRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.flagCalendars(ctx, out...)
}

// Counts sums up the open cases for the dashboard.
type Counts struct {
	Open    int `json:"open"`
	DueSoon int `json:"due_soon"`
	Overdue int `json:"overdue"`
}

// CountOpen counts open, due-soon and overdue cases.
func (s *Service) CountOpen(ctx context.Context) (Counts, error) {
	today := s.today()
	var c Counts
	err := s.db.QueryRow(ctx, `SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN d < ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN d >= ? AND d <= ? THEN 1 ELSE 0 END), 0)
		FROM (SELECT CASE WHEN extended_due_on <> '' THEN extended_due_on ELSE due_on END AS d
		      FROM rights_requests WHERE status NOT IN ('completed', 'rejected')) open_cases`,
		today.String(), today.String(), today.AddDays(DueSoonDays).String()).Scan(&c.Open, &c.Overdue, &c.DueSoon)
	if err != nil {
		return c, fmt.Errorf("rights: count requests: %w", err)
	}
	return c, nil
}

// step changes one case inside a transaction: it loads the case, lets
// change check and alter it, stores the changed columns and writes the
// audit event.
func (s *Service) step(ctx context.Context, actor audit.Actor, id int64, action, reason string, change func(tx *store.Tx, r *Request, now time.Time) (map[string]any, error)) (*Request, error) {
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		now := s.now()
		r, err := s.scanRequest(tx.QueryRow(`SELECT `+requestCols+` FROM rights_requests WHERE id = ?`, id))
		if isNoRows(err) {
			return notFound("unknown-request", "there is no such request")
		}
		if err != nil {
			return err
		}
		set, err := change(tx, r, now)
		if err != nil {
			return err
		}
		cols := []string{"updated_at = ?"}
		args := []any{store.Micros(now)}
		after := map[string]any{}
		for k, v := range set {
			cols = append(cols, k+" = ?")
			args = append(args, v)
			after[k] = v
		}
		if _, err := tx.Exec(`UPDATE rights_requests SET `+strings.Join(cols, ", ")+` WHERE id = ?`, append(args, id)...); err != nil {
			return fmt.Errorf("rights: update request: %w", err)
		}
		delete(after, "requester_email")
		return appendAudit(tx, now, audit.Entry{Actor: actor, Action: "request." + action, ObjectType: "rights_request", ObjectID: strconv.FormatInt(id, 10),
			PersonID: deref(r.PersonID), Reason: reason, Before: map[string]any{"status": r.Status}, After: after})
	})
	if err != nil {
		return nil, err
	}
	return s.Request(ctx, id)
}

func closedErr() error {
	return conflict("request-closed", "the request is closed: it was completed or rejected")
}

// VerifyIdentity records how the requester's identity was checked; nothing
// is disclosed or erased before.
func (s *Service) VerifyIdentity(ctx context.Context, actor audit.Actor, id int64, method string) (*Request, error) {
	method = strings.TrimSpace(method)
	if method == "" || len(method) > 500 {
		return nil, invalid("method", "say how the identity was verified (at most 500 characters)")
	}
	if err := ledger.CheckTexts(ledger.OneLine("method", method, 500)); err != nil {
		return nil, err
	}
	return s.step(ctx, actor, id, "verify", "", func(tx *store.Tx, r *Request, now time.Time) (map[string]any, error) {
		if !r.Open() {
			return nil, closedErr()
		}
		if r.Verified() {
			return nil, conflict("already-verified", "the identity was verified already")
		}
		if r.PersonID == nil {
			return nil, conflict("no-person", "link the request to a person before verifying the identity")
		}
		return map[string]any{"status": StatusVerified, "verified_at": store.Micros(now), "verified_by": actor.String(), "verification_method": method}, nil
	})
}

// LinkPerson links a case to the person it concerns (before verification).
func (s *Service) LinkPerson(ctx context.Context, actor audit.Actor, id, personID int64) (*Request, error) {
	return s.step(ctx, actor, id, "link", "", func(tx *store.Tx, r *Request, now time.Time) (map[string]any, error) {
		if !r.Open() {
			return nil, closedErr()
		}
		if r.Verified() {
			return nil, conflict("already-verified", "the identity was verified for the linked person; open a new request")
		}
		var one int
		if err := tx.QueryRow(`SELECT 1 FROM persons WHERE id = ?`, personID).Scan(&one); err != nil {
			return nil, invalid("person_id", "there is no such person")
		}
		r.PersonID = &personID
		return map[string]any{"person_id": personID}, nil
	})
}

// Assign gives the case to a staff user (0: to no one).
func (s *Service) Assign(ctx context.Context, actor audit.Actor, id, userID int64) (*Request, error) {
	return s.step(ctx, actor, id, "assign", "", func(tx *store.Tx, r *Request, now time.Time) (map[string]any, error) {
		if !r.Open() {
			return nil, closedErr()
		}
		if userID == 0 {
			return map[string]any{"assignee_id": nil}, nil
		}
		if err := checkAssignee(tx, userID); err != nil {
			return nil, err
		}
		return map[string]any{"assignee_id": userID}, nil
	})
}

// Extend moves the due date to three months after receipt (Art. 12(3):
// "by two further months"), with the reason the person must be told. It
// is allowed once, and only while the first month runs.
func (s *Service) Extend(ctx context.Context, actor audit.Actor, id int64, reason string) (*Request, error) {
	reason = strings.TrimSpace(reason)
	if len(reason) < 10 || len(reason) > 2000 {
		return nil, invalid("reason", "give the reason for the extension (10 to 2,000 characters); the person must be told it")
	}
	if err := ledger.CheckTexts(ledger.MultiLine("reason", reason, 2000)); err != nil {
		return nil, err
	}
	return s.step(ctx, actor, id, "extend", reason, func(tx *store.Tx, r *Request, now time.Time) (map[string]any, error) {
		if !r.Open() {
			return nil, closedErr()
		}
		if r.ExtendedDueOn != "" {
			return nil, conflict("already-extended", "the deadline was extended already; Art. 12(3) allows one extension by two further months")
		}
		due, _ := ParseDate(r.DueOn)
		if due.Before(DateOf(now)) {
			return nil, conflict("extension-too-late", "the first month has passed: an extension must be told to the person within one month of receipt")
		}
		received, err := ParseDate(r.ReceivedOn)
		if err != nil {
			return nil, err
		}
		cal, err := calendarTx(tx, r.Country, r.Region)
		if err != nil {
			return nil, err
		}
		return map[string]any{"extended_due_on": cal.Due(received, ExtendedMonths).String(), "extension_reason": reason}, nil
	})
}

// SetCaseCalendar sets the calendar of an open case (country and
// optional region) and computes its deadlines again in it: the due date,
// and the extended one when the case was extended.
func (s *Service) SetCaseCalendar(ctx context.Context, actor audit.Actor, id int64, country, region string) (*Request, error) {
	country, region, err := normCalendar(country, region)
	if err != nil {
		return nil, err
	}
	return s.step(ctx, actor, id, "calendar", "", func(tx *store.Tx, r *Request, now time.Time) (map[string]any, error) {
		if !r.Open() {
			return nil, closedErr()
		}
		received, err := ParseDate(r.ReceivedOn)
		if err != nil {
			return nil, err
		}
		cal, err := calendarTx(tx, country, region)
		if err != nil {
			return nil, err
		}
		set := map[string]any{"country": country, "region": region, "due_on": cal.Due(received, AnswerMonths).String()}
		if r.ExtendedDueOn != "" {
			set["extended_due_on"] = cal.Due(received, ExtendedMonths).String()
		}
		return set, nil
	})
}

// Start marks a verified case as being worked on.
func (s *Service) Start(ctx context.Context, actor audit.Actor, id int64) (*Request, error) {
	return s.step(ctx, actor, id, "start", "", func(tx *store.Tx, r *Request, now time.Time) (map[string]any, error) {
		if r.Status != StatusVerified {
			return nil, conflict("invalid-transition", "only a request with a verified identity can be started")
		}
		return map[string]any{"status": StatusInProgress}, nil
	})
}

// Complete closes a case with the answer given.
func (s *Service) Complete(ctx context.Context, actor audit.Actor, id int64, outcome string) (*Request, error) {
	outcome = strings.TrimSpace(outcome)
	if outcome == "" || len(outcome) > 2000 {
		return nil, invalid("outcome", "say what was done (at most 2,000 characters)")
	}
	if err := ledger.CheckTexts(ledger.MultiLine("outcome", outcome, 2000)); err != nil {
		return nil, err
	}
	return s.step(ctx, actor, id, "complete", "", func(tx *store.Tx, r *Request, now time.Time) (map[string]any, error) {
		if !r.Open() {
			return nil, closedErr()
		}
		if !r.Verified() {
			return nil, conflict("identity-not-verified", "verify the requester's identity first")
		}
		return map[string]any{"status": StatusCompleted, "closed_at": store.Micros(now), "outcome": outcome}, nil
	})
}

// Reject closes a case without acting on it, with the reason (Art. 12(4):
// the person must be told why and of their right to complain).
func (s *Service) Reject(ctx context.Context, actor audit.Actor, id int64, reason string) (*Request, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 2000 {
		return nil, invalid("reason", "give the reason for the rejection (at most 2,000 characters)")
	}
	if err := ledger.CheckTexts(ledger.MultiLine("reason", reason, 2000)); err != nil {
		return nil, err
	}
	return s.step(ctx, actor, id, "reject", "", func(tx *store.Tx, r *Request, now time.Time) (map[string]any, error) {
		if !r.Open() {
			return nil, closedErr()
		}
		return map[string]any{"status": StatusRejected, "closed_at": store.Micros(now), "outcome": reason}, nil
	})
}

// AddNote adds an internal note to a case.
func (s *Service) AddNote(ctx context.Context, actor audit.Actor, id int64, body string) (*Request, error) {
	body = strings.TrimSpace(body)
	if body == "" || len(body) > 10_000 {
		return nil, invalid("body", "a note needs text (at most 10,000 characters)")
	}
	if err := ledger.CheckTexts(ledger.MultiLine("body", body, 10000)); err != nil {
		return nil, err
	}
	return s.step(ctx, actor, id, "note", "", func(tx *store.Tx, r *Request, now time.Time) (map[string]any, error) {
		if _, err := tx.Exec(`INSERT INTO rights_request_notes (request_id, at, author, body) VALUES (?, ?, ?, ?)`, id, store.Micros(now), actor.String(), body); err != nil {
			return nil, fmt.Errorf("rights: add note: %w", err)
		}
		return map[string]any{}, nil
	})
}

// Sweep sends the reminders and escalations that are due: an open case
// within DueSoonDays of its deadline is marked reminded once; an overdue
// one is escalated once, to a privacy officer when its assignee is none.
// It returns how many cases it reminded and escalated.
func (s *Service) Sweep(ctx context.Context) (reminded, escalated int, err error) {
	rs, err := s.Requests(ctx, RequestFilter{State: "open", Limit: 1000})
	if err != nil {
		return 0, 0, err
	}
	for _, r := range rs {
		switch {
		case r.Overdue && r.EscalatedAt == nil:
			_, err = s.step(ctx, audit.System, r.ID, "escalate", "overdue", func(tx *store.Tx, r *Request, now time.Time) (map[string]any, error) {
				set := map[string]any{"escalated_at": store.Micros(now)}
				var role string
				if r.AssigneeID != nil {
					_ = tx.QueryRow(`SELECT role FROM users WHERE id = ?`, *r.AssigneeID).Scan(&role)
				}
				if role != "privacy_officer" {
					var po int64
					if err := tx.QueryRow(`SELECT id FROM users WHERE role = 'privacy_officer' AND disabled = 0 ORDER BY id LIMIT 1`).Scan(&po); err == nil {
						set["assignee_id"] = po
					}
				}
				return set, nil
			})
			escalated++
		case r.DueSoon && r.RemindedAt == nil:
			_, err = s.step(ctx, audit.System, r.ID, "remind", "due soon", func(tx *store.Tx, r *Request, now time.Time) (map[string]any, error) {
				return map[string]any{"reminded_at": store.Micros(now)}, nil
			})
			reminded++
		}
		if err != nil {
			return reminded, escalated, err
		}
	}
	return reminded, escalated, nil
}

// Run sweeps every interval until ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
