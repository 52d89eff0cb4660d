package outreach

import (
	"context"
	"encoding/json"
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

// PurposeChoice is one purpose as the person sees it on their page.
type PurposeChoice struct {
	Key         string
	Name        string
	Description string
	ConsentText string
	TextVersion int
	LegalBasis  ledger.LegalBasis // the basis it is processed on now, or the default
	// Consentable: the person decides (grant or withdraw); otherwise the
	// purpose is shown for information.
	Consentable bool
	Granted     bool
	State       ledger.EventKind
	// Since is when the current state was recorded (zero: nothing recorded);
	// Source the key of where it came from and SourceName the staff's name
	// for it (shown when Consento has no label for the key).
	Since              time.Time
	Source, SourceName string
}

// Preferences is what the preference page shows.
type Preferences struct {
	Person   *ledger.Person
	Purposes []PurposeChoice
	// OpenErasure: an erasure request is waiting for the privacy officer.
	OpenErasure bool
	// PendingRectification: a correction waits for staff review.
	PendingRectification bool
	// Source is the key of where Consento got the person's data from,
	// SourceName the staff's name for it ("" when unknown).
	Source, SourceName string
}

func text(p *ledger.Purpose, lang string) ledger.Text {
	if t, ok := p.Texts[lang]; ok && t.Name != "" {
		return t
	}
	return p.Texts["en"]
}

// prefSelect is the preference page's whole read in one statement: the
// person with their open requests, repeated on one row per active purpose
// with its text (in the person's language, then English) and the person's
// consent. A person with no active purpose gets one row without one.
const prefSelect = `SELECT p.id, p.first_name, p.last_name, p.language, p.street, p.postal_code, p.city, p.country, p.status,
	(SELECT e.email FROM person_emails e WHERE e.person_id = p.id ORDER BY e.is_primary DESC, e.email LIMIT 1),
	(SELECT COUNT(*) FROM selfservice_requests r WHERE r.person_id = p.id AND r.status = 'open' AND r.kind = 'erasure'),
	(SELECT COUNT(*) FROM selfservice_requests r WHERE r.person_id = p.id AND r.status = 'open' AND r.kind = 'rectification'),
	ps.key, ps.name,
	pu.key, pu.default_legal_basis, pu.allowed_legal_bases, pu.current_version, tx.language, tx.name, tx.description, tx.consent_text,
	c.kind, c.legal_basis, c.valid_until, c.occurred_at, cs.key, cs.name
	FROM persons p
	LEFT JOIN sources ps ON ps.id = p.source_id`

const prefJoins = `
	LEFT JOIN purposes pu ON pu.archived = 0
	LEFT JOIN purpose_texts tx ON tx.purpose_id = pu.id AND tx.version = pu.current_version AND tx.language IN (p.language, 'en')
	LEFT JOIN consents c ON c.purpose_id = pu.id AND c.person_id = p.id
	LEFT JOIN consent_events ce ON ce.id = c.event_id
	LEFT JOIN sources cs ON cs.id = ce.source_id`

const prefOrder = ` ORDER BY pu.id, CASE WHEN tx.language = p.language THEN 0 ELSE 1 END`

// Preferences returns every active purpose with the person's current
// choice, in their language.
func (s *Service) Preferences(ctx context.Context, personID int64) (*Preferences, error) {
	return s.preferences(ctx, prefSelect+prefJoins+` WHERE p.id = ?`+prefOrder, personID)
}

// PreferencesForToken is Preferences for the person of a valid preference
// link: the page's whole read in one round trip.
func (s *Service) PreferencesForToken(ctx context.Context, raw string) (*Preferences, error) {
	if !validTokenShape(raw) {
		return nil, ErrInvalidToken
	}
	return s.preferences(ctx, prefSelect+` JOIN preference_tokens t ON t.person_id = p.id`+prefJoins+`
		WHERE t.hash = ? AND t.revoked_at IS NULL AND t.expires_at > ? AND p.status = 'active'`+prefOrder, hashToken(raw), store.Micros(s.now()))
}

func (s *Service) preferences(ctx context.Context, query string, args ...any) (*Preferences, error) {
	st, err := s.db.Stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("outreach: preferences: %w", err)
	}
	defer rows.Close()
	var out *Preferences
	now := store.Micros(s.now())
	for rows.Next() {
		p := &ledger.Person{}
		var email, psrc, psrcName, key, def, allowed, lang, name, desc, ctext, kind, basis, csrc, csrcName *string
		var version, until, at *int64
		var erasures, rectifications int
		if err := rows.Scan(&p.ID, &p.FirstName, &p.LastName, &p.Language, &p.Address.Street, &p.Address.PostalCode, &p.Address.City, &p.Address.Country, &p.Status,
			&email, &erasures, &rectifications, &psrc, &psrcName, &key, &def, &allowed, &version, &lang, &name, &desc, &ctext, &kind, &basis, &until, &at, &csrc, &csrcName); err != nil {
			return nil, fmt.Errorf("outreach: preferences: %w", err)
		}
		if out == nil {
			if email != nil {
				p.Emails = []string{*email}
			}
			out = &Preferences{Person: p, OpenErasure: erasures > 0, PendingRectification: rectifications > 0, Source: deref(psrc), SourceName: deref(psrcName)}
		}
		if key == nil {
			continue // no active purpose
		}
		if n := len(out.Purposes); n > 0 && out.Purposes[n-1].Key == *key {
			continue // the English fallback row of a purpose already shown
		}
		c := PurposeChoice{Key: *key, TextVersion: int(*version), LegalBasis: ledger.LegalBasis(*def), State: "none"}
		if name != nil {
			c.Name, c.Description, c.ConsentText = *name, *desc, *ctext
		}
		c.Consentable = slices.Contains(strings.Split(*allowed, ","), string(ledger.Consent))
		if kind != nil {
			c.State, c.LegalBasis = ledger.EventKind(*kind), ledger.LegalBasis(*basis)
			if c.State == ledger.Granted && until != nil && *until <= now {
				c.State = ledger.Expired
			}
			if at != nil {
				c.Since = store.FromMicros(*at)
			}
			if c.State == ledger.Expired {
				c.Since = store.FromMicros(*until)
			}
			c.Source, c.SourceName = deref(csrc), deref(csrcName)
		}
		c.Granted = c.State == ledger.Granted && c.LegalBasis == ledger.Consent
		out.Purposes = append(out.Purposes, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if out == nil {
		return nil, ErrInvalidToken
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Choice is a grant or withdrawal made on the preference page.
type Choice struct {
	Purpose     string
	Grant       bool
	TextVersion int    // the version shown
	Language    string // the language shown
	Client      Client
}

// SetConsent records the person's own grant or "stop": source
// "self_service", with IP, user agent and the text version shown. A stop
// is a withdrawal of a consent, a refusal, or an objection where the
// purpose is processed on another basis (ledger.StopKind); a stop of a
// purpose that is off already records nothing.
func (s *Service) SetConsent(ctx context.Context, personID int64, c Choice) error {
	cl := c.Client.trimmed()
	in := ledger.ConsentInput{
		PersonID: personID, Purpose: c.Purpose, Kind: ledger.Granted, LegalBasis: ledger.Consent, Source: ledger.SourceSelfService,
		TextVersion: c.TextVersion, Language: c.Language,
		Evidence: ledger.Evidence{Note: "preference page", IP: cl.IP, UserAgent: cl.UserAgent},
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if !c.Grant {
			var allowed string
			var kind, basis *string
			err := tx.QueryRow(`SELECT pu.allowed_legal_bases, c.kind, c.legal_basis FROM purposes pu
				LEFT JOIN consents c ON c.purpose_id = pu.id AND c.person_id = ? WHERE pu.key = ?`, personID, c.Purpose).Scan(&allowed, &kind, &basis)
			if err != nil && !isNoRows(err) {
				return err
			}
			// An unknown purpose is left to the ledger to refuse.
			var state ledger.EventKind
			var current ledger.LegalBasis
			if kind != nil {
				state, current = ledger.EventKind(*kind), ledger.LegalBasis(*basis)
			}
			switch state {
			case ledger.Withdrawn, ledger.Refused, ledger.Objected:
				return nil // off already
			}
			in.Kind, in.LegalBasis = ledger.StopKind(allowsConsent(allowed), state, current), ""
		}
		_, err := s.ledger.RecordConsentTx(tx, Subject(personID), in)
		return err
	})
}

// Self-service request kinds.
const (
	KindErasure       = "erasure"
	KindRectification = "rectification"
)

// Contact is the contact data a person may correct themself.
type Contact struct {
	FirstName, LastName               string
	Street, PostalCode, City, Country string
	Language                          string
	// Email, when it differs from the primary address, replaces it; such a
	// correction always waits for staff review, whatever the setting: the
	// address is what the personal link and double opt-in were sent to.
	Email string `json:",omitempty"`
}

// RectificationMode says whether corrections apply at once ("direct") or
// wait for staff review ("review").
func (s *Service) RectificationMode(ctx context.Context) (string, error) {
	return s.setting(ctx, "outreach.rectification", "direct")
}

// SetRectificationMode changes the mode (staff setting, audited).
func (s *Service) SetRectificationMode(ctx context.Context, actor audit.Actor, mode string) error {
	if mode != "direct" && mode != "review" {
		return &InputError{Fields: map[string]string{"mode": "must be direct or review"}}
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if err := setSettingTx(tx, "outreach.rectification", mode); err != nil {
			return err
		}
		_, err := audit.Append(tx, s.now(), audit.Entry{Actor: actor, Action: "setting.update", ObjectType: "setting", ObjectID: "outreach.rectification", After: mode}, nil)
		return err
	})
}

// Rectify corrects the person's contact data, directly or as a request for
// staff review, as the setting says. It reports whether it was applied.
func (s *Service) Rectify(ctx context.Context, personID int64, c Contact, cl Client) (applied bool, err error) {
	fields := map[string]string{}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"first_name", c.FirstName, textcheck.MaxName}, {"last_name", c.LastName, textcheck.MaxName}, {"street", c.Street, textcheck.MaxShort},
		{"postal_code", c.PostalCode, textcheck.MaxPostalCode}, {"city", c.City, textcheck.MaxShort}} {
		check := textcheck.Line
		if f.name == "street" { // may hold a second address line
			check = textcheck.Text
		}
		if bad := check(f.v, f.max); bad != textcheck.OK {
			fields[f.name] = bad.Message(f.max)
		}
	}
	if c.Country != "" {
		cc, ok := textcheck.Country(c.Country)
		if !ok {
			fields["country"] = "must be an ISO 3166-1 alpha-2 country code, e.g. DE"
		}
		c.Country = cc
	}
	if c.Language != "" && c.Language != "en" && c.Language != "de" && c.Language != "da" {
		fields["language"] = "unknown"
	}
	if c.Email != "" {
		n, ok := ledger.NormalizeEmail(c.Email)
		if !ok {
			fields["email"] = "invalid"
		}
		c.Email = n
	}
	if len(fields) > 0 {
		return false, &InputError{Fields: fields}
	}
	mode, err := s.RectificationMode(ctx)
	if err != nil {
		return false, err
	}
	if c.Email != "" {
		p, err := s.ledger.Person(ctx, personID)
		if err != nil {
			return false, err
		}
		if len(p.Emails) > 0 && p.Emails[0] == c.Email {
			c.Email = "" // unchanged
		} else {
			mode = "review"
		}
	}
	if mode == "direct" {
		addr := ledger.Address{Street: c.Street, PostalCode: c.PostalCode, City: c.City, Country: c.Country}
		patch := ledger.PersonPatch{FirstName: &c.FirstName, LastName: &c.LastName, Address: &addr, Reason: "rectification on the preference page (GDPR Art. 16)"}
		if c.Language != "" {
			patch.Language = &c.Language
		}
		_, err := s.ledger.UpdatePerson(ctx, Subject(personID), personID, patch)
		return err == nil, err
	}
	return false, s.addRequest(ctx, personID, KindRectification, c, cl)
}

// RequestErasure files an erasure request (GDPR Art. 17) for the privacy
// officer. A second request while one is open changes nothing.
func (s *Service) RequestErasure(ctx context.Context, personID int64, cl Client) error {
	return s.addRequest(ctx, personID, KindErasure, nil, cl)
}

func (s *Service) addRequest(ctx context.Context, personID int64, kind string, payload any, cl Client) error {
	cl = cl.trimmed()
	body, _ := json.Marshal(payload)
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if kind == KindErasure {
			var n int
			if err := tx.QueryRow(`SELECT COUNT(*) FROM selfservice_requests WHERE person_id = ? AND kind = ? AND status = 'open'`, personID, kind).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
		}
		now := s.now()
		id, err := tx.InsertID(`INSERT INTO selfservice_requests (person_id, kind, payload, status, ip, user_agent, created_at) VALUES (?, ?, ?, 'open', ?, ?, ?)`,
			personID, kind, string(body), cl.IP, cl.UserAgent, store.Micros(now))
		if err != nil {
			return fmt.Errorf("outreach: file request: %w", err)
		}
		if kind == KindErasure && s.cfg.OpenErasureCase != nil {
			if err := s.cfg.OpenErasureCase(tx, personID); err != nil {
				return fmt.Errorf("outreach: open erasure case: %w", err)
			}
		}
		return recordPerson(tx, now, audit.Entry{Actor: Subject(personID), Action: "selfservice." + kind + "_request", ObjectType: "selfservice_request",
			ObjectID: strconv.FormatInt(id, 10), PersonID: personID, After: map[string]any{"kind": kind, "payload": json.RawMessage(body), "ip": cl.IP, "user_agent": cl.UserAgent}})
	})
}

// Export is the person's data as they download it (GDPR Art. 15, 20).
type Export struct {
	Person   *ledger.Person         `json:"person"`
	Consents []ledger.ConsentState  `json:"consents"`
	History  []*ledger.ConsentEvent `json:"consent_history"`
	Requests []map[string]any       `json:"requests"`
}

// ExportData collects the person's data for their own download: their
// sensitive values are in clear (it is their copy, GDPR Art. 15(3)), and
// the audit log records the disclosure to them.
func (s *Service) ExportData(ctx context.Context, personID int64) (*Export, error) {
	p, err := s.ledger.Person(ctx, personID)
	if err != nil {
		return nil, err
	}
	revealed, err := s.ledger.RevealForSubject(ctx, p)
	if err != nil {
		return nil, err
	}
	if len(revealed) > 0 {
		if err := s.db.Write(ctx, func(tx *store.Tx) error {
			return ledger.RecordSubjectDisclosureTx(tx, s.now(), Subject(personID), personID, revealed, "downloaded by the person on their preference page")
		}); err != nil {
			return nil, err
		}
	}
	st, err := s.ledger.Consents(ctx, personID)
	if err != nil {
		return nil, err
	}
	h, err := s.ledger.History(ctx, personID, "")
	if err != nil {
		return nil, err
	}
	// Evidence of others' actions (staff notes, files) stays out; IPs and
	// user agents are the person's own.
	for _, ev := range h {
		ev.Evidence.Files = nil
	}
	out := &Export{Person: p, Consents: st, History: h, Requests: []map[string]any{}}
	rows, err := s.db.Query(ctx, `SELECT kind, status, created_at FROM selfservice_requests WHERE person_id = ? ORDER BY id`, personID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var kind, status string
		var at int64
		if err := rows.Scan(&kind, &status, &at); err != nil {
			return nil, err
		}
		out.Requests = append(out.Requests, map[string]any{"kind": kind, "status": status, "created_at": store.FromMicros(at)})
	}
	return out, rows.Err()
}
