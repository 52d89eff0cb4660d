package rights

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/records"
)

// The report keeps every stored value (keys, enum values, times) as it is
// for programs, and beside it the reader's words: the *_label fields and
// names below are what the PDF, HTML and Excel renderings show.

// ReportActivity is an activity with the reader's word for its kind.
type ReportActivity struct {
	records.Activity
	KindLabel string `json:"kind_label"`
}

// ReportRelationship is a relationship with the reader's word for its kind
// and the name of the other person.
type ReportRelationship struct {
	records.Relationship
	KindLabel string `json:"kind_label"`
	OtherName string `json:"other_name"`
}

// ReportRecord is an order or invoice with the reader's word for its kind,
// its amount and its date as the reader writes them.
type ReportRecord struct {
	records.BusinessRecord
	KindLabel   string `json:"kind_label"`
	AmountLabel string `json:"amount_label"`
	IssuedLabel string `json:"issued_on_label"`
}

// ReportField is one further detail (custom or sensitive field) with the
// field's name and its value as the reader reads them.
type ReportField struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Value string `json:"value"`
}

// PersonLabels are the person's stored codes in the reader's words.
type PersonLabels struct {
	Language string   `json:"language"`
	Status   string   `json:"status"`
	Phones   []string `json:"phones"`
}

// basisLabel is a legal basis with the article as the law cites it in
// lang: "Einwilligung (Art. 6 Abs. 1 lit. a DSGVO)".
func basisLabel(lang, basis string) string {
	if basis == "" {
		return ""
	}
	return i18n.Label(lang, "legal_basis", basis) + " (" + i18n.Label(lang, "legal_basis_article", basis) + ")"
}

// languageName is a language code as its speakers name it ("Deutsch").
func languageName(code string) string {
	if code == "" {
		return ""
	}
	if s := i18n.T(code, "lang."+code); s != "lang."+code {
		return s
	}
	return code
}

// sourceNames names the sources in lang: a seeded source still under its
// seeded English name in the reader's words, one staff renamed or added
// as they named it.
type sourceNames struct {
	lang  string
	named map[string]string
}

func (s *Service) sourceNames(ctx context.Context, lang string) (sourceNames, error) {
	n := sourceNames{lang: lang, named: map[string]string{}}
	srcs, err := s.ledger.Sources(ctx)
	if err != nil {
		return n, err
	}
	for _, src := range srcs {
		if src.Name != "" && src.Name != ledger.DefaultSourceName(src.Key) {
			n.named[src.Key] = src.Name
		}
	}
	return n, nil
}

func (n sourceNames) name(key string) string {
	if key == "" {
		return ""
	}
	if v, ok := n.named[key]; ok {
		return v
	}
	return i18n.Label(n.lang, "source", key)
}

// purposeName is the purpose's name in lang, else in English, else its key.
func purposeName(lang string, pu *ledger.Purpose, key string) string {
	if pu != nil {
		for _, l := range []string{lang, "en"} {
			if t, ok := pu.Texts[l]; ok && t.Name != "" {
				return t.Name
			}
		}
	}
	return key
}

// fieldLabel is a custom field's name in lang: a seeded field still under
// its seeded English name in the reader's words, else as staff named it.
func fieldLabel(lang string, f ledger.CustomField) string {
	key := "label.sensitive_field." + f.Key
	if i18n.Has("en", key) && (f.Label == "" || f.Label == i18n.T("en", key)) {
		return i18n.Label(lang, "sensitive_field", f.Key)
	}
	if f.Label != "" {
		return f.Label
	}
	return f.Key
}

// fieldValue writes a custom field's value as the reader writes it: yes
// and no, dates and numbers in their language; text as it was typed.
func fieldValue(lang, typ string, v any) string {
	if s, ok := i18n.Scalar(lang, v); ok {
		return s
	}
	if x, ok := v.(string); ok {
		if typ == "date" {
			return dayLabel(lang, x)
		}
		return x
	}
	return fmt.Sprint(v)
}

// dayLabel writes a calendar day stored as 2006-01-02 as the reader does;
// anything else stays as it is.
func dayLabel(lang, day string) string {
	t, err := time.ParseInLocation("2006-01-02", day, i18n.Zone())
	if err != nil {
		return day
	}
	return i18n.Date(lang, t)
}

// retentionLabel is a purpose's storage period: "365 Tage".
func retentionLabel(lang string, days int) string {
	if days <= 0 {
		return i18n.T(lang, "report.retention.open")
	}
	return i18n.N(lang, "report.retention_days", days, i18n.Number(lang, int64(days)))
}

// sizeLabel is a file size: "1.234 Byte".
func sizeLabel(lang string, n int64) string {
	return i18n.N(lang, "report.size_bytes", int(min(n, math.MaxInt32)), i18n.Number(lang, n))
}

// labelFields lists the person's further details by field name, sensitive
// values as given (in clear for the person's copy, masked for staff).
func (s *Service) labelFields(ctx context.Context, lang string, p *ledger.Person) ([]ReportField, error) {
	defs, err := s.ledger.CustomFields(ctx)
	if err != nil {
		return nil, err
	}
	byKey := make(map[string]ledger.CustomField, len(defs))
	for _, f := range defs {
		byKey[f.Key] = f
	}
	var out []ReportField
	for k, v := range p.Custom {
		f, ok := byKey[k]
		if !ok {
			f = ledger.CustomField{Key: k}
		}
		out = append(out, ReportField{Key: k, Label: fieldLabel(lang, f), Value: fieldValue(lang, f.Type, v)})
	}
	for _, sv := range p.Sensitive {
		if _, ok := p.Custom[sv.Key]; ok {
			continue
		}
		f, ok := byKey[sv.Key]
		if !ok {
			f = ledger.CustomField{Key: sv.Key, Label: sv.Label}
		}
		out = append(out, ReportField{Key: sv.Key, Label: fieldLabel(lang, f), Value: sv.Masked})
	}
	slices.SortFunc(out, func(a, b ReportField) int { return strings.Compare(a.Label, b.Label) })
	return out, nil
}

// labelPerson writes the person's language, status and phone kinds in lang.
func labelPerson(lang string, p *ledger.Person) *PersonLabels {
	pl := &PersonLabels{Language: languageName(p.Language), Status: i18n.Label(lang, "person_status", p.Status), Phones: []string{}}
	for _, ph := range p.Phones {
		s := ph.Number
		if ph.Kind != "" {
			s += " (" + i18n.Label(lang, "phone_kind", ph.Kind) + ")"
		}
		pl.Phones = append(pl.Phones, s)
	}
	return pl
}

// labelRelationships names the other person of each relationship.
func (s *Service) labelRelationships(ctx context.Context, lang string, pid int64, rels []records.Relationship) ([]ReportRelationship, error) {
	out := make([]ReportRelationship, 0, len(rels))
	for _, x := range rels {
		other := x.OtherID
		if other == pid {
			other = x.PersonID
		}
		name := i18n.T(lang, "report.relationship.gone")
		o, err := s.ledger.Person(ctx, other)
		if err == nil && o.Status != ledger.StatusAnonymized {
			if n := strings.TrimSpace(o.FirstName + " " + o.LastName); n != "" {
				name = n
			} else if len(o.Emails) > 0 {
				name = o.Emails[0]
			}
		} else if _, ok := ledger.AsError(err); err != nil && !ok {
			return nil, err
		}
		out = append(out, ReportRelationship{Relationship: x, KindLabel: i18n.Label(lang, "relationship_kind", x.Kind), OtherName: name})
	}
	return out, nil
}

func labelActivities(lang string, as []records.Activity) []ReportActivity {
	out := make([]ReportActivity, len(as))
	for i, a := range as {
		out[i] = ReportActivity{Activity: a, KindLabel: i18n.Label(lang, "activity_kind", a.Kind)}
	}
	return out
}

func labelRecords(lang string, bs []records.BusinessRecord) []ReportRecord {
	out := make([]ReportRecord, len(bs))
	for i, b := range bs {
		out[i] = ReportRecord{BusinessRecord: b, KindLabel: i18n.Label(lang, "record_kind", b.Kind),
			AmountLabel: i18n.Money(lang, b.AmountCents, b.Currency), IssuedLabel: dayLabel(lang, b.IssuedOn)}
	}
	return out
}
