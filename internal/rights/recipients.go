package rights

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
)

// Kinds of recipient (GDPR Art. 4(9)): a processor working on the
// controller's behalf (Art. 28), another controller, or a recipient in a
// third country (Art. 44 ff.).
const (
	KindProcessor    = "processor"
	KindController   = "controller"
	KindThirdCountry = "third_country"
)

// RecipientKinds lists every kind of recipient.
var RecipientKinds = []string{KindProcessor, KindController, KindThirdCountry}

// NoticeTemplate is the mail template of the Art. 19 notice.
const NoticeTemplate = "recipient_notice"

// Recipient is one entry of the register of recipients of personal data.
type Recipient struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	Kind       string    `json:"kind"`
	Email      string    `json:"email"`
	Country    string    `json:"country,omitempty"`
	Language   string    `json:"language"`
	Active     bool      `json:"active"`
	PurposeIDs []int64   `json:"purpose_ids"`
	Purposes   []string  `json:"purposes"` // the keys of PurposeIDs
	CreatedAt  time.Time `json:"created_at"`
	CreatedBy  string    `json:"created_by"`
	UpdatedAt  time.Time `json:"updated_at"`
	UpdatedBy  string    `json:"updated_by"`
}

// Receives reports whether the recipient receives data of the purpose.
func (r *Recipient) Receives(purposeID int64) bool { return slices.Contains(r.PurposeIDs, purposeID) }

// RecipientInput creates or replaces a recipient.
type RecipientInput struct {
	Name       string  `json:"name"`
	Kind       string  `json:"kind"`
	Email      string  `json:"email"`
	Country    string  `json:"country"`
	Language   string  `json:"language"`
	PurposeIDs []int64 `json:"purpose_ids"`
	Active     *bool   `json:"active"` // default true
}

func (in *RecipientInput) validate(tx *store.Tx) error {
	in.Name, in.Kind = strings.TrimSpace(in.Name), strings.TrimSpace(in.Kind)
	in.Country = strings.ToUpper(strings.TrimSpace(in.Country))
	in.Language = strings.TrimSpace(in.Language)
	if in.Language == "" {
		in.Language = "en"
	}
	if in.Name == "" {
		return invalid("name", "must be 1 to 200 characters")
	}
	if err := ledger.CheckTexts(ledger.OneLine("name", in.Name, textcheck.MaxName)); err != nil {
		return err
	}
	switch {
	case !contains(RecipientKinds, in.Kind):
		return invalid("kind", "must be one of "+strings.Join(RecipientKinds, ", "))
	case in.Country != "" && !validCountry(in.Country):
		return invalid("country", "must be an ISO 3166-1 alpha-2 code such as DE")
	case in.Kind == KindThirdCountry && in.Country == "":
		return invalid("country", "name the third country the recipient is in")
	case !contains(mail.Languages, in.Language):
		return invalid("language", "must be one of "+strings.Join(mail.Languages, ", "))
	}
	e, ok := ledger.NormalizeEmail(in.Email)
	if !ok {
		return invalid("email", "is not a valid e-mail address")
	}
	in.Email = e
	slices.Sort(in.PurposeIDs)
	in.PurposeIDs = slices.Compact(in.PurposeIDs)
	for i, id := range in.PurposeIDs {
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM purposes WHERE id = ?`, id).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return invalid(fmt.Sprintf("purpose_ids[%d]", i), "there is no such purpose")
		}
	}
	return nil
}

const recipientCols = `id, name, kind, email, country, language, active, created_at, created_by, updated_at, updated_by`

func scanRecipient(sc interface{ Scan(...any) error }) (*Recipient, error) {
	var r Recipient
	var active, created, updated int64
	if err := sc.Scan(&r.ID, &r.Name, &r.Kind, &r.Email, &r.Country, &r.Language, &active, &created, &r.CreatedBy, &updated, &r.UpdatedBy); err != nil {
		return nil, err
	}
	r.Active, r.CreatedAt, r.UpdatedAt = active != 0, store.FromMicros(created), store.FromMicros(updated)
	r.PurposeIDs, r.Purposes = []int64{}, []string{}
	return &r, nil
}

// recipients lists the register (only the active entries when asked), with
// their purposes.
func recipients(q querier, activeOnly bool) ([]*Recipient, error) {
	query := `SELECT ` + recipientCols + ` FROM recipients`
	if activeOnly {
		query += ` WHERE active = 1`
	}
	rows, err := q.Query(query + ` ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("rights: recipients: %w", err)
	}
	out := []*Recipient{}
	byID := map[int64]*Recipient{}
	for rows.Next() {
		r, err := scanRecipient(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, r)
		byID[r.ID] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.Query(`SELECT rp.recipient_id, p.id, p.key FROM recipient_purposes rp JOIN purposes p ON p.id = rp.purpose_id ORDER BY p.key`)
	if err != nil {
		return nil, fmt.Errorf("rights: recipient purposes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rid, pid int64
		var key string
		if err := rows.Scan(&rid, &pid, &key); err != nil {
			return nil, err
		}
		if r := byID[rid]; r != nil {
			r.PurposeIDs, r.Purposes = append(r.PurposeIDs, pid), append(r.Purposes, key)
		}
	}
	return out, rows.Err()
}

// Recipients lists the register of recipients, by name.
func (s *Service) Recipients(ctx context.Context, activeOnly bool) ([]*Recipient, error) {
	return recipients(readQ{ctx, s.db}, activeOnly)
}

// Recipient returns one recipient.
func (s *Service) Recipient(ctx context.Context, id int64) (*Recipient, error) {
	all, err := s.Recipients(ctx, false)
	if err != nil {
		return nil, err
	}
	for _, r := range all {
		if r.ID == id {
			return r, nil
		}
	}
	return nil, notFound("unknown-recipient", "there is no such recipient")
}

func setRecipientPurposes(tx *store.Tx, id int64, purposeIDs []int64) error {
	if _, err := tx.Exec(`DELETE FROM recipient_purposes WHERE recipient_id = ?`, id); err != nil {
		return err
	}
	for _, p := range purposeIDs {
		if _, err := tx.Exec(`INSERT INTO recipient_purposes (recipient_id, purpose_id) VALUES (?, ?)`, id, p); err != nil {
			return fmt.Errorf("rights: recipient purposes: %w", err)
		}
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// recipientAudit is what the audit log keeps of a recipient (no data of
// any data subject).
func recipientAudit(in RecipientInput, active bool) map[string]any {
	return map[string]any{"name": in.Name, "kind": in.Kind, "email": in.Email, "country": in.Country, "language": in.Language,
		"purpose_ids": in.PurposeIDs, "active": active}
}

// CreateRecipient adds a recipient to the register.
func (s *Service) CreateRecipient(ctx context.Context, actor audit.Actor, in RecipientInput) (*Recipient, error) {
	var id int64
	err := s.db.Write(ctx, func(tx *store.Tx) (err error) {
		if err := in.validate(tx); err != nil {
			return err
		}
		active := in.Active == nil || *in.Active
		now := store.Micros(s.now())
		id, err = tx.InsertID(`INSERT INTO recipients (name, kind, email, country, language, active, created_at, created_by, updated_at, updated_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, in.Name, in.Kind, in.Email, in.Country, in.Language, boolInt(active), now, actor.String(), now, actor.String())
		if err != nil {
			return fmt.Errorf("rights: create recipient: %w", err)
		}
		if err := setRecipientPurposes(tx, id, in.PurposeIDs); err != nil {
			return err
		}
		return appendAudit(tx, s.now(), audit.Entry{Actor: actor, Action: "recipient.create", ObjectType: "recipient", ObjectID: strconv.FormatInt(id, 10),
			After: recipientAudit(in, active)})
	})
	if err != nil {
		return nil, err
	}
	return s.Recipient(ctx, id)
}

// UpdateRecipient replaces a recipient's details; Active nil keeps the
// flag as it is.
func (s *Service) UpdateRecipient(ctx context.Context, actor audit.Actor, id int64, in RecipientInput) (*Recipient, error) {
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		old, err := scanRecipient(tx.QueryRow(`SELECT `+recipientCols+` FROM recipients WHERE id = ?`, id))
		if isNoRows(err) {
			return notFound("unknown-recipient", "there is no such recipient")
		}
		if err != nil {
			return err
		}
		if err := in.validate(tx); err != nil {
			return err
		}
		active := old.Active
		if in.Active != nil {
			active = *in.Active
		}
		var before []int64
		rows, err := tx.Query(`SELECT purpose_id FROM recipient_purposes WHERE recipient_id = ? ORDER BY purpose_id`, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var p int64
			if err := rows.Scan(&p); err != nil {
				rows.Close()
				return err
			}
			before = append(before, p)
		}
		rows.Close()
		if _, err := tx.Exec(`UPDATE recipients SET name = ?, kind = ?, email = ?, country = ?, language = ?, active = ?, updated_at = ?, updated_by = ? WHERE id = ?`,
			in.Name, in.Kind, in.Email, in.Country, in.Language, boolInt(active), store.Micros(s.now()), actor.String(), id); err != nil {
			return fmt.Errorf("rights: update recipient: %w", err)
		}
		if err := setRecipientPurposes(tx, id, in.PurposeIDs); err != nil {
			return err
		}
		return appendAudit(tx, s.now(), audit.Entry{Actor: actor, Action: "recipient.update", ObjectType: "recipient", ObjectID: strconv.FormatInt(id, 10),
			Before: recipientAudit(RecipientInput{Name: old.Name, Kind: old.Kind, Email: old.Email, Country: old.Country, Language: old.Language, PurposeIDs: before}, old.Active),
			After:  recipientAudit(in, active)})
	})
	if err != nil {
		return nil, err
	}
	return s.Recipient(ctx, id)
}

// SetRecipientActive activates or deactivates a recipient. Recipients are
// never deleted: the notices sent to them stay on their cases.
func (s *Service) SetRecipientActive(ctx context.Context, actor audit.Actor, id int64, active bool) (*Recipient, error) {
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var was int64
		err := tx.QueryRow(`SELECT active FROM recipients WHERE id = ?`, id).Scan(&was)
		if isNoRows(err) {
			return notFound("unknown-recipient", "there is no such recipient")
		}
		if err != nil {
			return err
		}
		if (was != 0) == active {
			return nil
		}
		if _, err := tx.Exec(`UPDATE recipients SET active = ?, updated_at = ?, updated_by = ? WHERE id = ?`, boolInt(active), store.Micros(s.now()), actor.String(), id); err != nil {
			return err
		}
		action := "recipient.deactivate"
		if active {
			action = "recipient.activate"
		}
		return appendAudit(tx, s.now(), audit.Entry{Actor: actor, Action: action, ObjectType: "recipient", ObjectID: strconv.FormatInt(id, 10),
			Before: map[string]bool{"active": was != 0}, After: map[string]bool{"active": active}})
	})
	if err != nil {
		return nil, err
	}
	return s.Recipient(ctx, id)
}

// personRecipients lists the active recipients that receive data of a
// purpose the person has a consent record or a legal basis for.
func personRecipients(q querier, pid int64) ([]*Recipient, error) {
	all, err := recipients(q, true)
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(`SELECT purpose_id FROM consents WHERE person_id = ?`, pid)
	if err != nil {
		return nil, fmt.Errorf("rights: person purposes: %w", err)
	}
	defer rows.Close()
	held := map[int64]bool{}
	for rows.Next() {
		var p int64
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		held[p] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := []*Recipient{}
	for _, r := range all {
		if slices.ContainsFunc(r.PurposeIDs, func(p int64) bool { return held[p] }) {
			out = append(out, r)
		}
	}
	return out, nil
}

// PersonRecipients lists the active recipients that receive data of the
// person (GDPR Art. 15(1)(c), Art. 19).
func (s *Service) PersonRecipients(ctx context.Context, pid int64) ([]*Recipient, error) {
	return personRecipients(readQ{ctx, s.db}, pid)
}

// ReportRecipient is a recipient as the Art. 15 report names it.
type ReportRecipient struct {
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`
	Country  string   `json:"country,omitempty"`
	Purposes []string `json:"purposes"`

	KindLabel    string   `json:"kind_label"`
	PurposeNames []string `json:"purpose_names"`
}

// KindLabel names a kind of recipient in lang (English when unknown):
// label.recipient_kind.<kind>.
func KindLabel(lang, kind string) string {
	return i18n.Label(lang, "recipient_kind", kind)
}

// recipientLines renders the report's recipients, one line each.
func (r *Report) recipientLines() []string {
	out := make([]string, 0, len(r.Recipients))
	for _, x := range r.Recipients {
		s := x.Name + " (" + x.KindLabel
		if x.Country != "" {
			s += ", " + x.Country
		}
		s += ")"
		if len(x.PurposeNames) > 0 {
			s += ": " + strings.Join(x.PurposeNames, ", ")
		}
		out = append(out, s)
	}
	return out
}

// orNoneList joins lines that hold commas themselves, or says none.
func orNoneList(lang string, v []string) string {
	if len(v) == 0 {
		return Label(lang, "none")
	}
	return strings.Join(v, "; ")
}

// RecipientLines are the report's recipients as readable lines.
func (r *Report) RecipientLines() []string { return r.recipientLines() }

// reportRecipients names the recipients of the person's data for the report.
func (s *Service) reportRecipients(ctx context.Context, lang string, pid int64) ([]ReportRecipient, error) {
	rs, err := s.PersonRecipients(ctx, pid)
	if err != nil {
		return nil, err
	}
	out := []ReportRecipient{}
	if len(rs) == 0 {
		return out, nil
	}
	purposes, err := s.ledger.Purposes(ctx, true)
	if err != nil {
		return nil, err
	}
	byKey := make(map[string]*ledger.Purpose, len(purposes))
	for _, pu := range purposes {
		byKey[pu.Key] = pu
	}
	for _, r := range rs {
		names := make([]string, len(r.Purposes))
		for i, k := range r.Purposes {
			names[i] = purposeName(lang, byKey[k], k)
		}
		out = append(out, ReportRecipient{Name: r.Name, Kind: r.Kind, Country: r.Country, Purposes: r.Purposes, KindLabel: KindLabel(lang, r.Kind), PurposeNames: names})
	}
	return out, nil
}

// Notice is one Art. 19 notice sent to a recipient about a case.
type Notice struct {
	ID          int64     `json:"id"`
	RequestID   int64     `json:"request_id"`
	RecipientID int64     `json:"recipient_id"`
	Recipient   string    `json:"recipient"`
	Email       string    `json:"email"`
	Action      string    `json:"action"`
	OutboxID    *int64    `json:"outbox_id,omitempty"`
	NotifiedAt  time.Time `json:"notified_at"`
	NotifiedBy  string    `json:"notified_by"`
}

// NoticeTypes are the request types whose outcome recipients must be told
// of (Art. 19).
var NoticeTypes = []string{TypeErasure, TypeRectification, TypeRestriction}

func notices(q querier, requestID int64) ([]Notice, error) {
	rows, err := q.Query(`SELECT n.id, n.request_id, n.recipient_id, r.name, r.email, n.action, n.outbox_id, n.notified_at, n.notified_by
		FROM recipient_notices n JOIN recipients r ON r.id = n.recipient_id WHERE n.request_id = ? ORDER BY r.name, n.id`, requestID)
	if err != nil {
		return nil, fmt.Errorf("rights: notices: %w", err)
	}
	defer rows.Close()
	out := []Notice{}
	for rows.Next() {
		var n Notice
		var at int64
		if err := rows.Scan(&n.ID, &n.RequestID, &n.RecipientID, &n.Recipient, &n.Email, &n.Action, &n.OutboxID, &at, &n.NotifiedBy); err != nil {
			return nil, err
		}
		n.NotifiedAt = store.FromMicros(at)
		out = append(out, n)
	}
	return out, rows.Err()
}

// Notices lists the recipients notified about a case, and when.
func (s *Service) Notices(ctx context.Context, requestID int64) ([]Notice, error) {
	return notices(readQ{ctx, s.db}, requestID)
}

// NotifyRecipients tells every active recipient of the person's data which
// action (erasure, rectification, restriction) they must carry out (GDPR
// Art. 19): one mail each, queued in the outbox in the same transaction as
// the audit event. It needs a verified, open case of one of NoticeTypes
// whose person is not anonymized yet (notify before erasing at level 3),
// and is done once per case.
func (s *Service) NotifyRecipients(ctx context.Context, actor audit.Actor, requestID int64) ([]Notice, error) {
	var out []Notice
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		now := s.now()
		r, pid, err := s.caseForTx(tx, requestID, NoticeTypes...)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM recipient_notices WHERE request_id = ?`, requestID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return conflict("already-notified", "the recipients were notified about this request already")
		}
		var first, last, status string
		if err := tx.QueryRow(`SELECT first_name, last_name, status FROM persons WHERE id = ?`, pid).Scan(&first, &last, &status); err != nil {
			return err
		}
		if status == ledger.StatusAnonymized {
			return &ledger.Error{Kind: ledger.KindGone, Code: "person-anonymized", Message: "this person was anonymized: notify the recipients before erasing at level 3"}
		}
		var email string
		if err := tx.QueryRow(`SELECT email FROM person_emails WHERE person_id = ? ORDER BY is_primary DESC, email LIMIT 1`, pid).Scan(&email); err != nil && !isNoRows(err) {
			return err
		}
		rs, err := personRecipients(tx, pid)
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			return conflict("no-recipients", "no active recipient receives data of a purpose of this person")
		}
		name := strings.TrimSpace(first + " " + last)
		var names []string
		for _, rc := range rs {
			data := map[string]any{"Recipient": rc.Name, "PersonName": name, "PersonEmail": email, "RequestID": requestID,
				"Erasure": r.Type == TypeErasure, "Rectification": r.Type == TypeRectification, "Restriction": r.Type == TypeRestriction}
			// PersonID 0: the mail goes to the recipient, and a mail block
			// or restriction of the person must not stop it.
			oid, err := mail.Enqueue(tx, mail.Message{Template: NoticeTemplate, Language: rc.Language, To: rc.Email, Data: data})
			if err != nil {
				return fmt.Errorf("rights: notify %s: %w", rc.Name, err)
			}
			id, err := tx.InsertID(`INSERT INTO recipient_notices (request_id, recipient_id, action, outbox_id, notified_at, notified_by) VALUES (?, ?, ?, ?, ?, ?)`,
				requestID, rc.ID, r.Type, oid, store.Micros(now), actor.String())
			if err != nil {
				return fmt.Errorf("rights: record notice: %w", err)
			}
			out = append(out, Notice{ID: id, RequestID: requestID, RecipientID: rc.ID, Recipient: rc.Name, Email: rc.Email, Action: r.Type,
				OutboxID: &oid, NotifiedAt: store.FromMicros(store.Micros(now)), NotifiedBy: actor.String()})
			names = append(names, rc.Name)
		}
		return appendAudit(tx, now, audit.Entry{Actor: actor, Action: "request.notify_recipients", ObjectType: "rights_request", ObjectID: strconv.FormatInt(requestID, 10),
			PersonID: pid, After: map[string]any{"action": r.Type, "recipients": names}})
	})
	return out, err
}

// eraseNoticesTx deletes the notice mails about the person from the outbox
// (they name the person) when the person is anonymized. A notice still
// waiting to be sent stops the anonymization: it must reach its recipient
// first.
func eraseNoticesTx(tx *store.Tx, pid int64) error {
	const ofPerson = `SELECT n.outbox_id FROM recipient_notices n JOIN rights_requests q ON q.id = n.request_id WHERE q.person_id = ?`
	var waiting int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM mail_outbox WHERE id IN (`+ofPerson+`) AND status IN ('queued', 'sending')`, pid).Scan(&waiting); err != nil {
		return err
	}
	if waiting > 0 {
		return conflict("notices-pending", "notices to recipients about this person are still waiting to be sent: anonymize once they are sent")
	}
	if _, err := tx.Exec(`DELETE FROM mail_outbox WHERE id IN (`+ofPerson+`)`, pid); err != nil {
		return fmt.Errorf("rights: erase notices: %w", err)
	}
	_, err := tx.Exec(`UPDATE recipient_notices SET outbox_id = NULL WHERE request_id IN (SELECT id FROM rights_requests WHERE person_id = ?)`, pid)
	return err
}
