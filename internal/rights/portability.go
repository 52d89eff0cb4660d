package rights

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/consento/consento/internal/audit"
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
}

// PortableConsent is one consent decision of the person.
type PortableConsent struct {
	Purpose    string    `json:"purpose"`
	Decision   string    `json:"decision"`
	LegalBasis string    `json:"legal_basis"`
	At         time.Time `json:"at"`
}

// PortableNote is an exchange with the person (call, meeting, e-mail).
type PortableNote struct {
	Kind    string    `json:"kind"`
	At      time.Time `json:"at"`
	Subject string    `json:"subject"`
	Body    string    `json:"body"`
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
	evs, err := s.ledger.History(ctx, pid, "")
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		if ev.Actor.Type != "subject" && !ev.LegalBasis.IsConsent() {
			continue // not the person's own decision
		}
		out.Consents = append(out.Consents, PortableConsent{Purpose: ev.Purpose, Decision: string(ev.Kind), LegalBasis: string(ev.LegalBasis), At: ev.OccurredAt})
	}
	acts, err := s.records.Activities(ctx, pid)
	if err != nil {
		return nil, err
	}
	for _, a := range acts {
		if a.Kind == "note" {
			continue // the controller's own notes are not provided by the person
		}
		out.Activities = append(out.Activities, PortableNote{Kind: a.Kind, At: a.OccurredAt, Subject: a.Subject, Body: a.Body})
	}
	return out, nil
}

// WriteCSV writes the export as one CSV table: section, field, value, at.
func (p *Portable) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	rows := [][]string{{"section", "field", "value", "at"},
		{"person", "first_name", p.Person.FirstName, ""}, {"person", "last_name", p.Person.LastName, ""}}
	for _, e := range p.Person.Emails {
		rows = append(rows, []string{"person", "email", e, ""})
	}
	for _, ph := range p.Person.Phones {
		rows = append(rows, []string{"person", "phone", ph.Number, ""})
	}
	a := p.Person.Address
	rows = append(rows, []string{"person", "street", a.Street, ""}, []string{"person", "postal_code", a.PostalCode, ""},
		[]string{"person", "city", a.City, ""}, []string{"person", "country", a.Country, ""}, []string{"person", "language", p.Person.Language, ""})
	for k, v := range p.Person.CustomFields {
		rows = append(rows, []string{"custom_field", k, fmt.Sprint(v), ""})
	}
	for _, c := range p.Consents {
		rows = append(rows, []string{"consent", c.Purpose, c.Decision, c.At.Format(time.RFC3339)})
	}
	for _, n := range p.Activities {
		v := n.Subject
		if n.Body != "" {
			v += ": " + n.Body
		}
		rows = append(rows, []string{"activity", n.Kind, v, n.At.Format(time.RFC3339)})
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
