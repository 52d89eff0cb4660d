package rights

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
)

// PortabilitySchema names the documented format of the Art. 20 export
// (see docs/portability.md).
const PortabilitySchema = "https://consento.dev/schemas/portability-v1"

// Portable is the data the person provided (GDPR Art. 20): their contact
// data, the consents they gave or withdrew, and the activities they took
// part in; not what the controller derived (traffic light, notes).
type Portable struct {
	Schema      string            `json:"$schema"`
	GeneratedAt time.Time         `json:"generated_at"`
	Person      PortablePerson    `json:"person"`
	Consents    []PortableConsent `json:"consents"`
	Activities  []PortableNote    `json:"activities"`
}

// PortablePerson is the contact data the person gave.
type PortablePerson struct {
	FirstName    string         `json:"first_name"`
	LastName     string         `json:"last_name"`
	Emails       []string       `json:"emails"`
	Phones       []ledger.Phone `json:"phones"`
	Address      ledger.Address `json:"address"`
	Language     string         `json:"language"`
	CustomFields map[string]any `json:"custom_fields"`

	// CustomFieldNames names each custom field in the person's language.
	CustomFieldNames map[string]string `json:"custom_field_names,omitempty"`
}

// PortableConsent is one consent decision of the person.
type PortableConsent struct {
	Purpose    string    `json:"purpose"`
	Decision   string    `json:"decision"`
	LegalBasis string    `json:"legal_basis"`
	At         time.Time `json:"at"`

	PurposeName     string `json:"purpose_name"`
	DecisionLabel   string `json:"decision_label"`
	LegalBasisLabel string `json:"legal_basis_label"`
}

// PortableNote is an exchange with the person (call, meeting, e-mail).
type PortableNote struct {
	Kind    string    `json:"kind"`
	At      time.Time `json:"at"`
	Subject string    `json:"subject"`
	Body    string    `json:"body"`

	KindLabel string `json:"kind_label"`
}

// Portability gathers the Art. 20 export of a verified portability
// request. It goes to the person (or, at their request, to another
// controller): their sensitive values are in clear, and the audit log
// records the disclosure to the data subject.
func (s *Service) Portability(ctx context.Context, actor audit.Actor, requestID int64, format string) (*Portable, error) {
	r, err := s.Request(ctx, requestID)
	if err != nil {
		return nil, err
	}
	pid, err := caseFor(r, TypePortability)
	if err != nil {
		return nil, err
	}
	p, err := s.livePerson(ctx, pid)
	if err != nil {
		return nil, err
	}
	revealed, err := s.ledger.RevealForSubject(ctx, p)
	if err != nil {
		return nil, err
	}
	out, err := s.portableOf(ctx, p)
	if err != nil {
		return nil, err
	}
	reason := fmt.Sprintf("Art. 20 export for portability request %d (%s), for the person", requestID, format)
	return out, s.logDisclosure(ctx, actor, r, "request.portability", format, revealed, reason)
}

// PersonPortable gathers the data a person provided, sensitive values
// masked as on staff screens; the person's export comes from Portability.
func (s *Service) PersonPortable(ctx context.Context, pid int64) (*Portable, error) {
	p, err := s.livePerson(ctx, pid)
	if err != nil {
		return nil, err
	}
	return s.portableOf(ctx, p)
}

// portableOf gathers the export of the person p as given.
func (s *Service) portableOf(ctx context.Context, p *ledger.Person) (*Portable, error) {
	pid := p.ID
	out := &Portable{Schema: PortabilitySchema, GeneratedAt: s.now().Truncate(time.Second), Consents: []PortableConsent{}, Activities: []PortableNote{},
		Person: PortablePerson{FirstName: p.FirstName, LastName: p.LastName, Emails: p.Emails, Phones: p.Phones, Address: p.Address, Language: p.Language, CustomFields: p.Custom}}
	lang := p.Language
	if len(p.Custom) > 0 {
		fields, err := s.labelFields(ctx, lang, p)
		if err != nil {
			return nil, err
		}
		out.Person.CustomFieldNames = make(map[string]string, len(fields))
		for _, f := range fields {
			out.Person.CustomFieldNames[f.Key] = f.Label
		}
	}
	evs, err := s.ledger.History(ctx, pid, "")
	if err != nil {
		return nil, err
	}
	purposes, err := s.ledger.Purposes(ctx, true)
	if err != nil {
		return nil, err
	}
	byKey := make(map[string]*ledger.Purpose, len(purposes))
	for _, pu := range purposes {
		byKey[pu.Key] = pu
	}
	for _, ev := range evs {
		if ev.Actor.Type != "subject" && !ev.LegalBasis.IsConsent() {
			continue // not the person's own decision
		}
		out.Consents = append(out.Consents, PortableConsent{Purpose: ev.Purpose, Decision: string(ev.Kind), LegalBasis: string(ev.LegalBasis), At: ev.OccurredAt,
			PurposeName: purposeName(lang, byKey[ev.Purpose], ev.Purpose), DecisionLabel: i18n.Label(lang, "consent_state", string(ev.Kind)),
			LegalBasisLabel: basisLabel(lang, string(ev.LegalBasis))})
	}
	acts, err := s.records.Activities(ctx, pid)
	if err != nil {
		return nil, err
	}
	for _, a := range acts {
		if a.Kind == "note" {
			continue // the controller's own notes are not provided by the person
		}
		out.Activities = append(out.Activities, PortableNote{Kind: a.Kind, At: a.OccurredAt, Subject: a.Subject, Body: a.Body, KindLabel: i18n.Label(lang, "activity_kind", a.Kind)})
	}
	return out, nil
}

// WriteCSV writes the export as one CSV table for the person to read in a
// spreadsheet: section, field, value, time, every header, section, field
// name, value and time in the person's language (the JSON export keeps
// the stable keys and RFC 3339 times for programs).
func (p *Portable) WriteCSV(w io.Writer) error {
	lang := p.Person.Language
	t := func(key string) string { return i18n.T(lang, key) }
	sec := func(s string) string { return t("portability.section." + s) }
	fld := func(s string) string { return t("portability.field." + s) }
	person := sec("person")
	cw := csv.NewWriter(w)
	rows := [][]string{{t("portability.csv.section"), t("portability.csv.field"), t("portability.csv.value"), t("portability.csv.at")},
		{person, fld("first_name"), p.Person.FirstName, ""}, {person, fld("last_name"), p.Person.LastName, ""}}
	for _, e := range p.Person.Emails {
		rows = append(rows, []string{person, fld("email"), e, ""})
	}
	for _, ph := range p.Person.Phones {
		rows = append(rows, []string{person, fld("phone"), ph.Number, ""})
	}
	a := p.Person.Address
	rows = append(rows, []string{person, fld("street"), a.Street, ""}, []string{person, fld("postal_code"), a.PostalCode, ""},
		[]string{person, fld("city"), a.City, ""}, []string{person, fld("country"), a.Country, ""}, []string{person, fld("language"), languageName(p.Person.Language), ""})
	keys := make([]string, 0, len(p.Person.CustomFields))
	for k := range p.Person.CustomFields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		name := p.Person.CustomFieldNames[k]
		if name == "" {
			name = k
		}
		rows = append(rows, []string{sec("custom_field"), name, fieldValue(lang, "", p.Person.CustomFields[k]), ""})
	}
	for _, c := range p.Consents {
		v := c.DecisionLabel
		if c.LegalBasisLabel != "" {
			v += " · " + c.LegalBasisLabel
		}
		rows = append(rows, []string{sec("consent"), c.PurposeName, v, i18n.DateTime(lang, c.At)})
	}
	for _, n := range p.Activities {
		v := n.Subject
		if n.Body != "" {
			v += ": " + n.Body
		}
		rows = append(rows, []string{sec("activity"), n.KindLabel, v, i18n.DateTime(lang, n.At)})
	}
	for _, r := range rows {
		for i, f := range r {
			r[i] = csvSafe(f)
		}
		if err := cw.Write(r); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a value as a formula.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		if s[0] == '+' && len(s) > 1 && s[1] >= '0' && s[1] <= '9' {
			return s // a phone number
		}
		return "'" + s
	}
	return s
}

func writeJSONIndent(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
