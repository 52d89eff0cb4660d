package ledger

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
)

// Text is a purpose's wording in one language.
type Text struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// ConsentText is what the person is shown when asked to consent.
	ConsentText string `json:"consent_text"`
}

// Purpose is why personal data is processed.
type Purpose struct {
	ID                int64           `json:"id"`
	Key               string          `json:"key"`
	DefaultLegalBasis LegalBasis      `json:"default_legal_basis"`
	AllowedLegalBases []LegalBasis    `json:"allowed_legal_bases"`
	ConsentRequired   bool            `json:"consent_required"`
	DPVPurpose        string          `json:"dpv_purpose,omitempty"`
	RetentionDays     int             `json:"retention_days"`
	BalancingTest     string          `json:"balancing_test,omitempty"`
	Archived          bool            `json:"archived"`
	CurrentVersion    int             `json:"current_version"`
	Texts             map[string]Text `json:"texts"`
	CreatedAt         time.Time       `json:"created_at"`
	UpdatedAt         time.Time       `json:"updated_at"`
}

// Allows reports whether b may be recorded for the purpose.
func (p *Purpose) Allows(b LegalBasis) bool {
	for _, x := range p.AllowedLegalBases {
		if x == b {
			return true
		}
	}
	return false
}

// PurposeInput creates or changes a purpose.
type PurposeInput struct {
	Key               string          `json:"key"`
	DefaultLegalBasis LegalBasis      `json:"default_legal_basis"`
	AllowedLegalBases []LegalBasis    `json:"allowed_legal_bases"`
	ConsentRequired   bool            `json:"consent_required"`
	DPVPurpose        string          `json:"dpv_purpose"`
	RetentionDays     int             `json:"retention_days"`
	BalancingTest     string          `json:"balancing_test"`
	Texts             map[string]Text `json:"texts"`
}

var keyRe = regexp.MustCompile(`^[a-z][a-z0-9_]{1,62}$`)

func (in *PurposeInput) normalize() error {
	var fe fieldErrs
	in.Key = strings.TrimSpace(in.Key)
	if !keyRe.MatchString(in.Key) {
		fe.add("key", "must be 2 to 63 characters: lower-case letters, digits and _, starting with a letter")
	}
	if len(in.AllowedLegalBases) == 0 && in.DefaultLegalBasis != "" {
		in.AllowedLegalBases = []LegalBasis{in.DefaultLegalBasis}
	}
	if in.DefaultLegalBasis == "" && len(in.AllowedLegalBases) > 0 {
		in.DefaultLegalBasis = in.AllowedLegalBases[0]
	}
	if in.ConsentRequired && in.DefaultLegalBasis == "" {
		in.DefaultLegalBasis = Consent
		in.AllowedLegalBases = []LegalBasis{Consent}
	}
	if in.DefaultLegalBasis == "" {
		fe.add("default_legal_basis", "is required: one of "+legalBasisList())
	} else if !in.DefaultLegalBasis.Valid() {
		fe.add("default_legal_basis", "must be one of "+legalBasisList())
	}
	seen := map[LegalBasis]bool{}
	for i, b := range in.AllowedLegalBases {
		if !b.Valid() {
			fe.add(fmt.Sprintf("allowed_legal_bases[%d]", i), "must be one of "+legalBasisList())
		}
		if in.ConsentRequired && !b.IsConsent() {
			fe.add(fmt.Sprintf("allowed_legal_bases[%d]", i), "a purpose that requires consent allows only consent or explicit_consent")
		}
		seen[b] = true
	}
	if in.DefaultLegalBasis.Valid() && !seen[in.DefaultLegalBasis] {
		fe.add("default_legal_basis", "must be one of the allowed legal bases")
	}
	if seen[LegitimateInterests] && strings.TrimSpace(in.BalancingTest) == "" {
		fe.add("balancing_test", "legitimate interests need the balancing test recorded (Art. 6(1)(f))")
	}
	if in.RetentionDays < 0 {
		fe.add("retention_days", "must not be negative")
	}
	fe.text(OneLine("dpv_purpose", in.DPVPurpose, textcheck.MaxURL))
	fe.text(MultiLine("balancing_test", in.BalancingTest, textcheck.MaxNote))
	fe = append(fe, validateTexts(in.Texts, true)...)
	return fe.err()
}

func validateTexts(texts map[string]Text, requireAll bool) fieldErrs {
	var fe fieldErrs
	for lang, t := range texts {
		if !validLanguage(lang) {
			fe.add("texts."+lang, "unknown language: use one of "+strings.Join(Languages, ", "))
			continue
		}
		if strings.TrimSpace(t.Name) == "" {
			fe.add("texts."+lang+".name", "is required")
		}
		fe.text(OneLine("texts."+lang+".name", t.Name, textcheck.MaxName))
		fe.text(MultiLine("texts."+lang+".description", t.Description, textcheck.MaxNote))
		fe.text(MultiLine("texts."+lang+".consent_text", t.ConsentText, textcheck.MaxNote))
	}
	if requireAll {
		for _, lang := range Languages {
			if _, ok := texts[lang]; !ok {
				fe.add("texts."+lang, "is required (every purpose has its name and texts in "+strings.Join(Languages, ", ")+")")
			}
		}
	}
	return fe
}

func legalBasisList() string {
	s := make([]string, len(LegalBases))
	for i, b := range LegalBases {
		s[i] = string(b)
	}
	return strings.Join(s, ", ")
}

func joinBases(bs []LegalBasis) string {
	s := make([]string, len(bs))
	for i, b := range bs {
		s[i] = string(b)
	}
	return strings.Join(s, ",")
}

func splitBases(s string) []LegalBasis {
	var out []LegalBasis
	for _, x := range strings.Split(s, ",") {
		if x != "" {
			out = append(out, LegalBasis(x))
		}
	}
	return out
}

// CreatePurpose adds a purpose with its first text version.
func (s *Service) CreatePurpose(ctx context.Context, actor Actor, in PurposeInput) (*Purpose, error) {
	if err := in.normalize(); err != nil {
		return nil, err
	}
	var id int64
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		id, err = s.createPurpose(tx, s.now(), actor, in)
		if err == nil {
			tx.SetResult(id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.PurposeByID(ctx, id)
}

func (s *Service) createPurpose(tx *store.Tx, now time.Time, actor Actor, in PurposeInput) (int64, error) {
	tx.Forget()
	id, err := tx.InsertID(`INSERT INTO purposes (key, default_legal_basis, allowed_legal_bases, consent_required, dpv_purpose, retention_days, balancing_test, current_version, archived, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 1, 0, ?, ?)`,
		in.Key, string(in.DefaultLegalBasis), joinBases(in.AllowedLegalBases), b2i(in.ConsentRequired), in.DPVPurpose, in.RetentionDays, in.BalancingTest, store.Micros(now), store.Micros(now))
	if store.IsUniqueViolation(err) {
		return 0, conflict("duplicate-purpose", "a purpose with this key exists already", FieldError{Field: "key", Message: "is taken"})
	}
	if err != nil {
		return 0, fmt.Errorf("ledger: create purpose: %w", err)
	}
	if err := insertTexts(tx, id, 1, in.Texts, now); err != nil {
		return 0, err
	}
	return id, record(tx, now, audit.Entry{Actor: actor, Action: "purpose.create", ObjectType: "purpose", ObjectID: strconv.FormatInt(id, 10), After: in})
}

func insertTexts(tx *store.Tx, purposeID int64, version int, texts map[string]Text, now time.Time) error {
	for lang, t := range texts {
		if _, err := tx.Exec(`INSERT INTO purpose_texts (purpose_id, version, language, name, description, consent_text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			purposeID, version, lang, strings.TrimSpace(t.Name), t.Description, t.ConsentText, store.Micros(now)); err != nil {
			return fmt.Errorf("ledger: store purpose text: %w", err)
		}
	}
	return nil
}

// PurposeUpdate changes a purpose. New texts create a new text version, so
// every earlier consent keeps pointing at the wording its person saw.
type PurposeUpdate struct {
	DefaultLegalBasis *LegalBasis     `json:"default_legal_basis"`
	AllowedLegalBases []LegalBasis    `json:"allowed_legal_bases"`
	DPVPurpose        *string         `json:"dpv_purpose"`
	RetentionDays     *int            `json:"retention_days"`
	BalancingTest     *string         `json:"balancing_test"`
	Archived          *bool           `json:"archived"`
	Texts             map[string]Text `json:"texts"`
	Reason            string          `json:"reason"`
}

// UpdatePurpose applies u to the purpose with key.
func (s *Service) UpdatePurpose(ctx context.Context, actor Actor, key string, u PurposeUpdate) (*Purpose, error) {
	var id int64
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		now := s.now()
		tx.Forget()
		before, err := loadPurpose(tx, "p.key = ?", key)
		if err != nil {
			return err
		}
		id = before.ID
		in := PurposeInput{
			Key: before.Key, DefaultLegalBasis: before.DefaultLegalBasis, AllowedLegalBases: before.AllowedLegalBases,
			ConsentRequired: before.ConsentRequired, DPVPurpose: before.DPVPurpose, RetentionDays: before.RetentionDays,
			BalancingTest: before.BalancingTest, Texts: map[string]Text{},
		}
		for l, t := range before.Texts {
			in.Texts[l] = t
		}
		if u.AllowedLegalBases != nil {
			in.AllowedLegalBases = u.AllowedLegalBases
		}
		if u.DefaultLegalBasis != nil {
			in.DefaultLegalBasis = *u.DefaultLegalBasis
		}
		if u.DPVPurpose != nil {
			in.DPVPurpose = *u.DPVPurpose
		}
		if u.RetentionDays != nil {
			in.RetentionDays = *u.RetentionDays
		}
		if u.BalancingTest != nil {
			in.BalancingTest = *u.BalancingTest
		}
		if fe := validateTexts(u.Texts, false); len(fe) > 0 {
			return fe.err()
		}
		textsChanged := false
		for l, t := range u.Texts {
			if in.Texts[l] != t {
				textsChanged = true
			}
			in.Texts[l] = t
		}
		if err := CheckTexts(MultiLine("reason", u.Reason, textcheck.MaxReason)); err != nil {
			return err
		}
		if err := in.normalize(); err != nil {
			return err
		}
		version := before.CurrentVersion
		if textsChanged {
			version++
			if err := insertTexts(tx, id, version, in.Texts, now); err != nil {
				return err
			}
		}
		archived := before.Archived
		if u.Archived != nil {
			archived = *u.Archived
		}
		if archived != before.Archived {
			delta := int64(1)
			if archived {
				delta = -1
			}
			if err := archiveGrants(tx, id, delta); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(`UPDATE purposes SET default_legal_basis = ?, allowed_legal_bases = ?, dpv_purpose = ?, retention_days = ?, balancing_test = ?, archived = ?, current_version = ?, updated_at = ? WHERE id = ?`,
			string(in.DefaultLegalBasis), joinBases(in.AllowedLegalBases), in.DPVPurpose, in.RetentionDays, in.BalancingTest, b2i(archived), version, store.Micros(now), id); err != nil {
			return fmt.Errorf("ledger: update purpose: %w", err)
		}
		after, err := loadPurpose(tx, "p.id = ?", id)
		if err != nil {
			return err
		}
		return record(tx, now, audit.Entry{Actor: actor, Action: "purpose.update", ObjectType: "purpose", ObjectID: strconv.FormatInt(id, 10), Reason: u.Reason, Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	return s.PurposeByID(ctx, id)
}

const purposeCols = `p.id, p.key, p.default_legal_basis, p.allowed_legal_bases, p.consent_required, p.dpv_purpose, p.retention_days, p.balancing_test, p.archived, p.current_version, p.created_at, p.updated_at`

func scanPurpose(sc interface{ Scan(...any) error }) (*Purpose, error) {
	var p Purpose
	var allowed, def string
	var consentReq, archived int64
	var created, updated int64
	if err := sc.Scan(&p.ID, &p.Key, &def, &allowed, &consentReq, &p.DPVPurpose, &p.RetentionDays, &p.BalancingTest, &archived, &p.CurrentVersion, &created, &updated); err != nil {
		return nil, err
	}
	p.DefaultLegalBasis = LegalBasis(def)
	p.AllowedLegalBases = splitBases(allowed)
	p.ConsentRequired = consentReq != 0
	p.Archived = archived != 0
	p.CreatedAt, p.UpdatedAt = store.FromMicros(created), store.FromMicros(updated)
	p.Texts = map[string]Text{}
	return &p, nil
}

// purposeTx returns a purpose by key inside a write, cached for the batch.
func purposeTx(tx *store.Tx, key string) (*Purpose, error) {
	v, err := tx.Memo("purpose:"+key, func() (any, error) { return loadPurpose(tx, "p.key = ?", key) })
	if err != nil {
		return nil, err
	}
	return v.(*Purpose), nil
}

func loadPurpose(tx *store.Tx, where string, arg any) (*Purpose, error) {
	p, err := scanPurpose(tx.QueryRow(`SELECT `+purposeCols+` FROM purposes p WHERE `+where, arg))
	if isNoRows(err) {
		return nil, notFound("unknown-purpose", fmt.Sprintf("there is no purpose %v", arg))
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: load purpose: %w", err)
	}
	rows, err := tx.Query(`SELECT language, name, description, consent_text FROM purpose_texts WHERE purpose_id = ? AND version = ?`, p.ID, p.CurrentVersion)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var l string
		var t Text
		if err := rows.Scan(&l, &t.Name, &t.Description, &t.ConsentText); err != nil {
			return nil, err
		}
		p.Texts[l] = t
	}
	return p, rows.Err()
}

// PurposeByID returns one purpose with its current texts.
func (s *Service) PurposeByID(ctx context.Context, id int64) (*Purpose, error) {
	ps, err := s.listPurposes(ctx, "p.id = ?", id)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, notFound("unknown-purpose", "there is no such purpose")
	}
	return ps[0], nil
}

// Purpose returns the purpose with key.
func (s *Service) Purpose(ctx context.Context, key string) (*Purpose, error) {
	ps, err := s.listPurposes(ctx, "p.key = ?", key)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, notFound("unknown-purpose", fmt.Sprintf("there is no purpose %q", key))
	}
	return ps[0], nil
}

// Purposes lists purposes (archived ones only when asked).
func (s *Service) Purposes(ctx context.Context, withArchived bool) ([]*Purpose, error) {
	if withArchived {
		return s.listPurposes(ctx, "1 = 1")
	}
	return s.listPurposes(ctx, "p.archived = 0")
}

func (s *Service) listPurposes(ctx context.Context, where string, args ...any) ([]*Purpose, error) {
	rows, err := s.db.Query(ctx, `SELECT `+purposeCols+`, t.language, t.name, t.description, t.consent_text
		FROM purposes p LEFT JOIN purpose_texts t ON t.purpose_id = p.id AND t.version = p.current_version
		WHERE `+where+` ORDER BY p.id, t.language`, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: list purposes: %w", err)
	}
	defer rows.Close()
	var out []*Purpose
	for rows.Next() {
		var p Purpose
		var allowed, def string
		var consentReq, archived, created, updated int64
		var lang, name, desc, ctext *string
		if err := rows.Scan(&p.ID, &p.Key, &def, &allowed, &consentReq, &p.DPVPurpose, &p.RetentionDays, &p.BalancingTest, &archived, &p.CurrentVersion, &created, &updated, &lang, &name, &desc, &ctext); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].ID != p.ID {
			p.DefaultLegalBasis = LegalBasis(def)
			p.AllowedLegalBases = splitBases(allowed)
			p.ConsentRequired = consentReq != 0
			p.Archived = archived != 0
			p.CreatedAt, p.UpdatedAt = store.FromMicros(created), store.FromMicros(updated)
			p.Texts = map[string]Text{}
			out = append(out, &p)
		}
		if lang != nil {
			out[len(out)-1].Texts[*lang] = Text{Name: *name, Description: *desc, ConsentText: *ctext}
		}
	}
	return out, rows.Err()
}

// TextVersion is one version of a purpose's wording.
type TextVersion struct {
	Version   int             `json:"version"`
	CreatedAt time.Time       `json:"created_at"`
	Texts     map[string]Text `json:"texts"`
}

// PurposeVersions lists every text version of a purpose, oldest first.
func (s *Service) PurposeVersions(ctx context.Context, key string) ([]TextVersion, error) {
	p, err := s.Purpose(ctx, key)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT version, created_at, language, name, description, consent_text FROM purpose_texts WHERE purpose_id = ? ORDER BY version, language`, p.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TextVersion
	for rows.Next() {
		var v int
		var at int64
		var l string
		var t Text
		if err := rows.Scan(&v, &at, &l, &t.Name, &t.Description, &t.ConsentText); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].Version != v {
			out = append(out, TextVersion{Version: v, CreatedAt: store.FromMicros(at), Texts: map[string]Text{}})
		}
		out[len(out)-1].Texts[l] = t
	}
	return out, rows.Err()
}

var defaultPurposes = []PurposeInput{
	{
		Key: "sales_service", DefaultLegalBasis: Contract, AllowedLegalBases: []LegalBasis{Contract, LegitimateInterests},
		DPVPurpose: "https://w3id.org/dpv#CustomerRelationshipManagement", RetentionDays: 3 * 365,
		BalancingTest: "Serving existing customers and answering their enquiries is expected by them and needs only their business contact data.",
		Texts: map[string]Text{
			"en": {Name: "Sales and service", Description: "We use your contact data to handle your orders, contracts and service requests.", ConsentText: "We process your contact data to sell to you and to serve you."},
			"de": {Name: "Vertrieb und Service", Description: "Wir verwenden Ihre Kontaktdaten, um Aufträge, Verträge und Serviceanfragen zu bearbeiten.", ConsentText: "Wir verarbeiten Ihre Kontaktdaten für Vertrieb und Service."},
			"da": {Name: "Salg og service", Description: "Vi bruger dine kontaktoplysninger til at behandle ordrer, kontrakter og serviceforespørgsler.", ConsentText: "Vi behandler dine kontaktoplysninger til salg og service."},
		},
	},
	{
		Key: "e_marketing", DefaultLegalBasis: Consent, AllowedLegalBases: []LegalBasis{Consent}, ConsentRequired: true,
		DPVPurpose: "https://w3id.org/dpv#DirectMarketing", RetentionDays: 2 * 365,
		Texts: map[string]Text{
			"en": {Name: "E-marketing", Description: "Newsletters and offers by e-mail.", ConsentText: "Yes, I would like to receive newsletters and offers by e-mail. I can withdraw this consent at any time."},
			"de": {Name: "E-Marketing", Description: "Newsletter und Angebote per E-Mail.", ConsentText: "Ja, ich möchte Newsletter und Angebote per E-Mail erhalten. Diese Einwilligung kann ich jederzeit widerrufen."},
			"da": {Name: "E-marketing", Description: "Nyhedsbreve og tilbud pr. e-mail.", ConsentText: "Ja, jeg vil gerne modtage nyhedsbreve og tilbud pr. e-mail. Jeg kan til enhver tid trække mit samtykke tilbage."},
		},
	},
}
