package outreach

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
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

// Form is a web form staff define: the fields it asks for, the purposes it
// offers (each a separate, unchecked box) and what the person accepts.
type Form struct {
	ID       int64    `json:"-"`
	Key      string   `json:"-"`
	Active   bool     `json:"-"`
	Name     string   `json:"name"`
	Language string   `json:"language"`
	Fields   []string `json:"fields"`   // besides email: first_name, last_name
	Purposes []string `json:"purposes"` // purpose keys offered
	// TermsText, when set, must be accepted (a required checkbox).
	TermsText   string `json:"terms_text,omitempty"`
	PrivacyText string `json:"privacy_text,omitempty"`
	PrivacyURL  string `json:"privacy_url,omitempty"`
}

// FormFields are the optional fields a form may ask for.
var FormFields = []string{"first_name", "last_name"}

// OptinTTL is how long a double opt-in confirmation link stays valid.
const OptinTTL = 48 * time.Hour

var formKeyRe = regexp.MustCompile(`^[a-z][a-z0-9_-]{1,62}$`)

func (s *Service) checkForm(ctx context.Context, f *Form) error {
	fe := map[string]string{}
	f.Key, f.Name = strings.TrimSpace(f.Key), strings.TrimSpace(f.Name)
	if !formKeyRe.MatchString(f.Key) {
		fe["key"] = "2 to 63 characters: lower-case letters, digits, - and _"
	}
	if f.Name == "" || len(f.Name) > 200 {
		fe["name"] = "is required (at most 200 characters)"
	}
	f.Language = mail.Language(f.Language)
	for _, x := range f.Fields {
		if !slices.Contains(FormFields, x) {
			fe["fields"] = "unknown field " + x
		}
	}
	if len(f.Purposes) == 0 {
		fe["purposes"] = "offer at least one purpose"
	}
	for _, key := range f.Purposes {
		p, err := s.ledger.Purpose(ctx, key)
		if err != nil || p.Archived || !p.Allows(ledger.Consent) {
			fe["purposes"] = "only active purposes that allow consent can be offered: " + key
		}
	}
	if f.PrivacyURL != "" && !strings.HasPrefix(f.PrivacyURL, "https://") && !strings.HasPrefix(f.PrivacyURL, "http://") {
		fe["privacy_url"] = "must be an http(s) URL"
	}
	for _, t := range ledger.TextErrors(ledger.OneLine("name", f.Name, textcheck.MaxName), ledger.MultiLine("terms_text", f.TermsText, 2000),
		ledger.MultiLine("privacy_text", f.PrivacyText, 4000), ledger.OneLine("privacy_url", f.PrivacyURL, textcheck.MaxURL)) {
		fe[t.Field] = t.Message
	}
	if len(fe) > 0 {
		return &InputError{Fields: fe}
	}
	return nil
}

// SaveForm creates or replaces a form (staff, audited).
func (s *Service) SaveForm(ctx context.Context, actor audit.Actor, f Form) error {
	if err := s.checkForm(ctx, &f); err != nil {
		return err
	}
	cfg, _ := json.Marshal(f)
	return s.db.Write(ctx, func(tx *store.Tx) error {
		now := store.Micros(s.now())
		_, err := tx.Exec(`INSERT INTO web_forms (key, config, active, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET config = excluded.config, active = excluded.active, updated_at = excluded.updated_at`,
			f.Key, string(cfg), b2i(f.Active), now, now)
		if err != nil {
			return fmt.Errorf("outreach: save form: %w", err)
		}
		_, err = audit.Append(tx, s.now(), audit.Entry{Actor: actor, Action: "web_form.save", ObjectType: "web_form", ObjectID: f.Key, After: json.RawMessage(cfg)}, nil)
		return err
	})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func scanForm(sc interface{ Scan(...any) error }) (*Form, error) {
	var f Form
	var cfg string
	var active int
	if err := sc.Scan(&f.ID, &f.Key, &cfg, &active); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(cfg), &f); err != nil {
		return nil, fmt.Errorf("outreach: form %s: %w", f.Key, err)
	}
	f.Active = active != 0
	return &f, nil
}

// FormByKey returns a form.
func (s *Service) FormByKey(ctx context.Context, key string) (*Form, error) {
	f, err := scanForm(s.db.QueryRow(ctx, `SELECT id, key, config, active FROM web_forms WHERE key = ?`, key))
	if isNoRows(err) {
		return nil, ErrNotFound
	}
	return f, err
}

// Forms lists every form.
func (s *Service) Forms(ctx context.Context) ([]*Form, error) {
	rows, err := s.db.Query(ctx, `SELECT id, key, config, active FROM web_forms ORDER BY key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Form
	for rows.Next() {
		f, err := scanForm(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// Offered is a purpose as a form shows it.
type Offered struct {
	Key, Name, ConsentText string
	TextVersion            int
}

// Offers returns the form's purposes with their texts in lang.
func (s *Service) Offers(ctx context.Context, f *Form, lang string) ([]Offered, error) {
	var out []Offered
	for _, key := range f.Purposes {
		p, err := s.ledger.Purpose(ctx, key)
		if err != nil {
			return nil, err
		}
		if p.Archived {
			continue
		}
		t := text(p, lang)
		out = append(out, Offered{Key: p.Key, Name: t.Name, ConsentText: t.ConsentText, TextVersion: p.CurrentVersion})
	}
	return out, nil
}

// Submission is a filled-in web form.
type Submission struct {
	Email, FirstName, LastName string
	Purposes                   []string // the boxes ticked
	Versions                   map[string]int
	Terms                      bool
	Language                   string
	FormURL                    string
	GPC                        bool // the browser sent Sec-GPC: 1
	Client                     Client
}

// Submit handles a web form: it creates or matches the person, records
// pending consents (and, under Global Privacy Control, objections to the
// purposes flagged for it) and mails the double opt-in link, all before it
// returns. The public form queues the same work with QueueSubmission, so
// that its answer takes as long whether the address was known.
func (s *Service) Submit(ctx context.Context, formKey string, sub Submission) error {
	job, err := s.prepareSubmission(ctx, formKey, sub)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error { return s.applySubmission(tx, job) })
}

// submissionJob is a checked web form submission with everything it
// needs from the time it was sent (the texts shown, the client): the
// payload of a queued public request.
type submissionJob struct {
	FormID       int64             `json:"form_id"`
	FormKey      string            `json:"form_key"`
	FormName     string            `json:"form_name"`
	PrivacyURL   string            `json:"privacy_url"`
	Email        string            `json:"email"`
	FirstName    string            `json:"first_name"`
	LastName     string            `json:"last_name"`
	Language     string            `json:"language"`
	FormURL      string            `json:"form_url"`
	Chosen       []string          `json:"chosen"`
	GPC          []string          `json:"gpc,omitempty"` // purposes objected to under Global Privacy Control
	Snapshot     map[string]string `json:"snapshot"`
	MailPurposes []map[string]any  `json:"mail_purposes"`
	IP           string            `json:"ip"`
	UserAgent    string            `json:"user_agent"`
	At           int64             `json:"at"` // microseconds
}

// prepareSubmission checks a submission and takes its snapshot. Its work
// does not depend on whether the address is known.
func (s *Service) prepareSubmission(ctx context.Context, formKey string, sub Submission) (*submissionJob, error) {
	f, err := s.FormByKey(ctx, formKey)
	if err != nil || !f.Active {
		return nil, ErrNotFound
	}
	fe := map[string]string{}
	email, ok := ledger.NormalizeEmail(sub.Email)
	if !ok {
		fe["email"] = "invalid"
	}
	sub.FirstName, sub.LastName = strings.TrimSpace(sub.FirstName), strings.TrimSpace(sub.LastName)
	if textcheck.Line(sub.FirstName, textcheck.MaxName) != textcheck.OK || textcheck.Line(sub.LastName, textcheck.MaxName) != textcheck.OK {
		fe["name"] = "too long or with characters that are not allowed"
	}
	if f.TermsText != "" && !sub.Terms {
		fe["terms"] = "required"
	}
	var chosen []string
	for _, p := range sub.Purposes {
		if slices.Contains(f.Purposes, p) && !slices.Contains(chosen, p) {
			chosen = append(chosen, p)
		}
	}
	if len(chosen) == 0 {
		fe["purposes"] = "choose at least one"
	}
	if len(fe) > 0 {
		return nil, &InputError{Fields: fe}
	}
	lang := mail.Language(sub.Language)
	var gpc []string
	if sub.GPC {
		if gpc, err = s.GPCPurposes(ctx); err != nil {
			return nil, err
		}
	}
	cl := sub.Client.trimmed()
	now := s.now()
	snapshot := map[string]string{
		"form": f.Key, "form_name": f.Name, "email": email, "first_name": sub.FirstName, "last_name": sub.LastName,
		"purposes": strings.Join(chosen, ","), "terms_accepted": strconv.FormatBool(sub.Terms), "terms_text": f.TermsText,
		"privacy_url": f.PrivacyURL, "language": lang, "gpc": strconv.FormatBool(sub.GPC), "submitted_at": now.Format(time.RFC3339Nano),
	}
	offers, err := s.Offers(ctx, f, lang)
	if err != nil {
		return nil, err
	}
	var mailPurposes []map[string]any
	for _, o := range offers {
		if slices.Contains(chosen, o.Key) {
			snapshot["text."+o.Key] = o.ConsentText
			snapshot["version."+o.Key] = strconv.Itoa(o.TextVersion)
			mailPurposes = append(mailPurposes, map[string]any{"Name": o.Name, "ConsentText": o.ConsentText})
		}
	}
	privacy := f.PrivacyURL
	if privacy == "" {
		privacy = s.cfg.PrivacyURL
	}
	return &submissionJob{FormID: f.ID, FormKey: f.Key, FormName: f.Name, PrivacyURL: privacy, Email: email, FirstName: sub.FirstName, LastName: sub.LastName,
		Language: lang, FormURL: sub.FormURL, Chosen: chosen, GPC: gpc, Snapshot: snapshot, MailPurposes: mailPurposes,
		IP: cl.IP, UserAgent: cl.UserAgent, At: store.Micros(now)}, nil
}

// applySubmission does a checked submission's work in tx: the lookup of
// the address and everything that depends on it.
func (s *Service) applySubmission(tx *store.Tx, j *submissionJob) error {
	sub := Submission{FirstName: j.FirstName, LastName: j.LastName}
	pid, to, status, err := s.matchOrCreate(tx, j.Email, sub, j.Language)
	if err != nil || status != ledger.StatusActive {
		return err // a restricted or erased person gets the same answer, and nothing changes
	}
	ev := ledger.Evidence{Note: "web form submission (double opt-in pending)", FormURL: j.FormURL, Form: j.Snapshot, IP: j.IP, UserAgent: j.UserAgent}
	for _, key := range j.Chosen {
		var kind string
		err := tx.QueryRow(`SELECT c.kind FROM consents c JOIN purposes p ON p.id = c.purpose_id WHERE c.person_id = ? AND p.key = ?`, pid, key).Scan(&kind)
		if err != nil && !isNoRows(err) {
			return err
		}
		// A submission by whoever knows the address never lowers a
		// consent the person gave: granted stays granted until confirmed.
		if kind == string(ledger.Granted) {
			continue
		}
		if _, err := s.ledger.RecordConsentTx(tx, Subject(pid), ledger.ConsentInput{PersonID: pid, Purpose: key, Kind: ledger.Pending, LegalBasis: ledger.Consent,
			Source: ledger.SourceWebForm, Language: j.Language, TextVersion: atoi(j.Snapshot["version."+key]), Evidence: ev}); err != nil {
			return err
		}
	}
	for _, key := range j.GPC {
		// No legal basis: an objection applies whatever the basis (Art. 21);
		// the ledger records the one the purpose is processed on (a GPC
		// purpose may be legitimate interests).
		if _, err := s.ledger.RecordConsentTx(tx, Subject(pid), ledger.ConsentInput{PersonID: pid, Purpose: key, Kind: ledger.Objected,
			Source: ledger.SourceWebForm, Language: j.Language, Evidence: ledger.Evidence{Note: "Global Privacy Control signal (Sec-GPC: 1)", FormURL: j.FormURL, IP: j.IP, UserAgent: j.UserAgent}}); err != nil {
			return err
		}
	}
	raw, h := newToken()
	snap, _ := json.Marshal(j.Snapshot)
	at := store.FromMicros(j.At)
	if _, err := tx.Exec(`INSERT INTO optins (token_hash, person_id, form_id, purposes, snapshot, ip, user_agent, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		h, pid, j.FormID, strings.Join(j.Chosen, ","), string(snap), j.IP, j.UserAgent, j.At, store.Micros(at.Add(OptinTTL))); err != nil {
		return fmt.Errorf("outreach: store opt-in: %w", err)
	}
	_, err = mail.Enqueue(tx, mail.Message{Template: "optin", Language: j.Language, PersonID: pid, To: to, Data: map[string]any{
		"Name": j.FirstName, "Controller": s.cfg.Controller, "FormName": j.FormName, "Purposes": j.MailPurposes, "PrivacyURL": j.PrivacyURL,
		"ConfirmURL": s.cfg.PublicURL + "/f/confirm/" + raw + "?lang=" + j.Language, "ExpiresHours": int(OptinTTL.Hours())}})
	return err
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// matchOrCreate finds the person with the address, in any spelling of
// the mailbox (Anna+news@ is anna@), or creates them, and returns the
// address to confirm at: a known person's stored address, so that a
// submission under another spelling is confirmed by the mailbox Consento
// holds. A known person's data is not changed by an unconfirmed submission.
func (s *Service) matchOrCreate(tx *store.Tx, email string, sub Submission, lang string) (int64, string, string, error) {
	pid, stored, err := ledger.EmailOwnerTx(tx, email)
	if err != nil {
		return 0, "", "", err
	}
	if pid != 0 {
		var status string
		err := tx.QueryRow(`SELECT status FROM persons WHERE id = ?`, pid).Scan(&status)
		return pid, stored, status, err
	}
	pid, err = s.ledger.CreatePersonTx(tx, audit.Actor{Type: "subject", ID: "web_form"}, ledger.PersonInput{
		FirstName: sub.FirstName, LastName: sub.LastName, Emails: []string{email}, Language: lang, Source: "web_form", Reason: "web form submission"})
	if de, ok := ledger.AsError(err); ok && de.Code == ledger.ErrBlockedCode {
		// An erased person's mailbox, in any spelling: nothing is stored or
		// sent, and the answer is the same as for anyone else.
		return 0, "", ledger.StatusAnonymized, nil
	}
	return pid, email, ledger.StatusActive, err
}

// Confirmed is what a confirmation click did.
type Confirmed struct {
	PersonID int64
	Purposes []string
	// Token is a fresh preference link token for the person.
	Token string
}

// Confirm turns the pending consents of a double opt-in into granted ones
// (once; the link expires after OptinTTL), keeping the proof of both steps,
// and mails the confirmation with the person's preference link.
func (s *Service) Confirm(ctx context.Context, raw string, cl Client) (*Confirmed, error) {
	if !validTokenShape(raw) {
		return nil, ErrInvalidToken
	}
	cl = cl.trimmed()
	var out *Confirmed
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		out = nil
		now := s.now()
		var id, pid, created, expires int64
		var purposes, snapshot, ip, ua string
		var confirmed *int64
		err := tx.QueryRow(`SELECT id, person_id, purposes, snapshot, ip, user_agent, created_at, expires_at, confirmed_at FROM optins WHERE token_hash = ?`, hashToken(raw)).
			Scan(&id, &pid, &purposes, &snapshot, &ip, &ua, &created, &expires, &confirmed)
		if isNoRows(err) {
			return ErrInvalidToken
		}
		if err != nil {
			return err
		}
		if confirmed != nil {
			return ErrUsed
		}
		if store.Micros(now) >= expires {
			return ErrInvalidToken
		}
		if _, err := tx.Exec(`UPDATE optins SET confirmed_at = ?, confirm_ip = ?, confirm_ua = ? WHERE id = ?`, store.Micros(now), cl.IP, cl.UserAgent, id); err != nil {
			return err
		}
		form := map[string]string{}
		json.Unmarshal([]byte(snapshot), &form)
		form["signup_ip"], form["signup_user_agent"] = ip, ua
		form["signup_at"] = store.FromMicros(created).Format(time.RFC3339Nano)
		form["confirmed_at"] = now.Format(time.RFC3339Nano)
		lang := form["language"]
		ml := mail.Language(lang)
		var mailPurposes []map[string]any
		for _, key := range strings.Split(purposes, ",") {
			var archived int
			var name, desc *string
			// The purpose's text in the mail's language, else in English.
			err := tx.QueryRow(`SELECT p.archived, t.name, t.description FROM purposes p
				LEFT JOIN purpose_texts t ON t.purpose_id = p.id AND t.version = p.current_version AND t.language IN (?, 'en') WHERE p.key = ?
				ORDER BY CASE WHEN t.language = ? THEN 0 ELSE 1 END LIMIT 1`, ml, key, ml).Scan(&archived, &name, &desc)
			if isNoRows(err) || archived != 0 {
				continue // archived since the sign-up: nothing to grant
			}
			if err != nil {
				return err
			}
			if _, err := s.ledger.RecordConsentTx(tx, Subject(pid), ledger.ConsentInput{PersonID: pid, Purpose: key, Kind: ledger.Granted, LegalBasis: ledger.Consent,
				Source: "web_form", Language: lang, TextVersion: atoi(form["version."+key]),
				Evidence: ledger.Evidence{Note: "double opt-in confirmed", FormURL: form["form"], Form: form, IP: cl.IP, UserAgent: cl.UserAgent}}); err != nil {
				return err
			}
			// Art. 13(1)(c): the legal basis in the reader's words, with its article.
			item := map[string]any{"Name": key, "Description": "", "LegalBasis": i18n.Label(ml, "legal_basis", string(ledger.Consent)),
				"Article": i18n.Label(ml, "legal_basis_article", string(ledger.Consent))}
			if name != nil {
				item["Name"], item["Description"] = *name, *desc
			}
			mailPurposes = append(mailPurposes, item)
		}
		tok, err := s.IssueTokenTx(tx, pid)
		if err != nil {
			return err
		}
		privacy := form["privacy_url"]
		if privacy == "" {
			privacy = s.cfg.PrivacyURL
		}
		if _, err := mail.Enqueue(tx, mail.Message{Template: "welcome", Language: lang, PersonID: pid, To: form["email"], Data: map[string]any{
			"Name": form["first_name"], "Controller": s.cfg.Controller, "Purposes": mailPurposes, "PrivacyURL": privacy, "PreferenceURL": s.PreferenceURL(tok)}}); err != nil {
			return err
		}
		out = &Confirmed{PersonID: pid, Purposes: strings.Split(purposes, ","), Token: tok}
		return nil
	})
	return out, err
}

// GPCPurposes are the purposes a Global Privacy Control signal objects to
// (sale, sharing, tracking).
func (s *Service) GPCPurposes(ctx context.Context) ([]string, error) {
	v, err := s.setting(ctx, "outreach.gpc_purposes", "")
	if err != nil || v == "" {
		return nil, err
	}
	return strings.Split(v, ","), nil
}

// SetGPCPurposes flags the purposes a GPC signal objects to (staff, audited).
func (s *Service) SetGPCPurposes(ctx context.Context, actor audit.Actor, keys []string) error {
	for _, k := range keys {
		if _, err := s.ledger.Purpose(ctx, k); err != nil {
			return &InputError{Fields: map[string]string{"gpc_purposes": "unknown purpose " + k}}
		}
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		v := strings.Join(keys, ",")
		if err := setSettingTx(tx, "outreach.gpc_purposes", v); err != nil {
			return err
		}
		_, err := audit.Append(tx, s.now(), audit.Entry{Actor: actor, Action: "setting.update", ObjectType: "setting", ObjectID: "outreach.gpc_purposes", After: keys}, nil)
		return err
	})
}
