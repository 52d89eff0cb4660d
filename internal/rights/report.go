package rights

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/records"
	"github.com/consento/consento/internal/store"
)

// Report sections staff can switch on or off (Art. 15 report). Internal
// notes of request cases are never part of a report.
const (
	SectionPerson          = "person"
	SectionCustom          = "custom_fields"
	SectionConsents        = "consents"
	SectionPurposes        = "purposes"
	SectionOrganisation    = "organisation"
	SectionActivities      = "activities"
	SectionDocuments       = "documents"
	SectionRelationships   = "relationships"
	SectionBusinessRecords = "business_records"
)

// Sections lists every report section, in report order.
var Sections = []string{SectionPerson, SectionCustom, SectionConsents, SectionPurposes, SectionOrganisation, SectionActivities, SectionDocuments, SectionRelationships, SectionBusinessRecords}

const sectionsSetting = "report_sections"

// PurposeInfo is a purpose as the report explains it (Art. 15(1)(a), (d)).
type PurposeInfo struct {
	Key           string `json:"key"`
	Name          string `json:"name"`
	Description   string `json:"description"`
	State         string `json:"state"`
	LegalBasis    string `json:"legal_basis,omitempty"`
	Article       string `json:"article,omitempty"`
	RetentionDays int    `json:"retention_days"`

	StateLabel      string `json:"state_label"`
	LegalBasisLabel string `json:"legal_basis_label,omitempty"`
	RetentionLabel  string `json:"retention_label"`
}

// ConsentHistory is one consent event as the report lists it, with the
// evidence it holds (files by name only).
type ConsentHistory struct {
	Purpose    string    `json:"purpose"`
	Kind       string    `json:"kind"`
	LegalBasis string    `json:"legal_basis"`
	Source     string    `json:"source,omitempty"`
	At         time.Time `json:"at"`
	Evidence   []string  `json:"evidence,omitempty"`

	PurposeName     string `json:"purpose_name"`
	KindLabel       string `json:"kind_label"`
	LegalBasisLabel string `json:"legal_basis_label,omitempty"`
	SourceLabel     string `json:"source_label,omitempty"`
}

// Report is everything held about a person (GDPR Art. 15), in their language.
type Report struct {
	GeneratedAt     time.Time            `json:"generated_at"`
	Language        string               `json:"language"`
	Controller      string               `json:"controller,omitempty"`
	RequestID       int64                `json:"request_id,omitempty"`
	Sections        []string             `json:"sections"`
	Person          *ledger.Person       `json:"person,omitempty"`
	PersonLabels    *PersonLabels        `json:"person_labels,omitempty"`
	CustomFields    map[string]any       `json:"custom_fields,omitempty"`
	Fields          []ReportField        `json:"custom_field_labels,omitempty"`
	Organisation    *ledger.Organisation `json:"organisation,omitempty"`
	Purposes        []PurposeInfo        `json:"purposes,omitempty"`
	Consents        []ConsentHistory     `json:"consent_history,omitempty"`
	Sources         []string             `json:"sources,omitempty"`
	SourceLabels    []string             `json:"source_labels,omitempty"`
	Recipients      []ReportRecipient    `json:"recipients"`
	Activities      []ReportActivity     `json:"activities,omitempty"`
	Documents       []records.Document   `json:"documents,omitempty"`
	Relationships   []ReportRelationship `json:"relationships,omitempty"`
	BusinessRecords []ReportRecord       `json:"business_records,omitempty"`
	Rights          []string             `json:"your_rights"`
}

// ReportSections returns the sections staff chose for reports.
func (s *Service) ReportSections(ctx context.Context) ([]string, error) {
	var v string
	err := s.db.QueryRow(ctx, `SELECT value FROM settings WHERE key = ?`, sectionsSetting).Scan(&v)
	if isNoRows(err) {
		return slices.Clone(Sections), nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return slices.Clone(Sections), nil
	}
	return out, nil
}

// SetReportSections chooses the sections of every report.
func (s *Service) SetReportSections(ctx context.Context, sections []string) error {
	for i, x := range sections {
		if !contains(Sections, x) {
			return invalid(fmt.Sprintf("sections[%d]", i), "must be one of "+strings.Join(Sections, ", "))
		}
	}
	b, _ := json.Marshal(sections)
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(`DELETE FROM settings WHERE key = ?`, sectionsSetting); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO settings (key, value) VALUES (?, ?)`, sectionsSetting, string(b))
		return err
	})
}

// Report gathers the Art. 15 report for a verified access request. It is
// the person's copy (Art. 15(3)), whether staff download it to hand it
// over or it is e-mailed: it holds the person's sensitive values in full,
// and the audit log records the disclosure to the data subject with the
// request as its reason.
func (s *Service) Report(ctx context.Context, actor audit.Actor, requestID int64, format string) (*Report, error) {
	r, err := s.Request(ctx, requestID)
	if err != nil {
		return nil, err
	}
	pid, err := caseFor(r, TypeAccess)
	if err != nil {
		return nil, err
	}
	rep, revealed, err := s.subjectReport(ctx, pid)
	if err != nil {
		return nil, err
	}
	rep.RequestID = requestID
	reason := fmt.Sprintf("Art. 15 copy for access request %d (%s), for the person", requestID, format)
	if err := s.logDisclosure(ctx, actor, r, "request.report", format, revealed, reason); err != nil {
		return nil, err
	}
	return rep, nil
}

// subjectReport gathers the report as the person receives it: sensitive
// values in clear. revealed lists the fields whose disclosure the caller
// must audit.
func (s *Service) subjectReport(ctx context.Context, pid int64) (rep *Report, revealed []string, err error) {
	p, err := s.livePerson(ctx, pid)
	if err != nil {
		return nil, nil, err
	}
	if revealed, err = s.ledger.RevealForSubject(ctx, p); err != nil {
		return nil, nil, err
	}
	rep, err = s.reportOf(ctx, p)
	return rep, revealed, err
}

// livePerson reads a person who was not anonymized, sensitive values
// masked.
func (s *Service) livePerson(ctx context.Context, pid int64) (*ledger.Person, error) {
	p, err := s.ledger.Person(ctx, pid)
	if err != nil {
		return nil, err
	}
	if p.Status == ledger.StatusAnonymized {
		return nil, &ledger.Error{Kind: ledger.KindGone, Code: "person-anonymized", Message: "this person was anonymized: nothing is held about them"}
	}
	return p, nil
}

// PersonReport gathers everything held about a person, limited to the
// sections staff chose, with sensitive values masked as on staff screens.
// What goes to the person comes from Report or EmailReport.
func (s *Service) PersonReport(ctx context.Context, pid int64) (*Report, error) {
	p, err := s.livePerson(ctx, pid)
	if err != nil {
		return nil, err
	}
	return s.reportOf(ctx, p)
}

// reportOf gathers the report of the person p as given.
func (s *Service) reportOf(ctx context.Context, p *ledger.Person) (*Report, error) {
	pid := p.ID
	sections, err := s.ReportSections(ctx)
	if err != nil {
		return nil, err
	}
	on := func(x string) bool { return slices.Contains(sections, x) }
	lang := p.Language
	rep := &Report{GeneratedAt: s.now().Truncate(time.Second), Language: lang, Sections: sections, Rights: RightsText(lang)}
	if on(SectionPerson) {
		cp := *p
		if !on(SectionCustom) {
			cp.Custom = map[string]any{}
		}
		rep.Person = &cp
		rep.PersonLabels = labelPerson(lang, p)
	}
	if on(SectionCustom) && (len(p.Custom) > 0 || len(p.Sensitive) > 0) {
		if len(p.Custom) > 0 {
			rep.CustomFields = p.Custom
		}
		if rep.Fields, err = s.labelFields(ctx, lang, p); err != nil {
			return nil, err
		}
	}
	if on(SectionOrganisation) && p.OrganisationID != nil {
		if rep.Organisation, err = s.ledger.Organisation(ctx, *p.OrganisationID); err != nil {
			return nil, err
		}
	}
	if on(SectionPurposes) || on(SectionConsents) {
		states, err := s.ledger.Consents(ctx, pid)
		if err != nil {
			return nil, err
		}
		purposes, err := s.ledger.Purposes(ctx, true)
		if err != nil {
			return nil, err
		}
		byKey := map[string]*ledger.Purpose{}
		for _, pu := range purposes {
			byKey[pu.Key] = pu
		}
		names, err := s.sourceNames(ctx, lang)
		if err != nil {
			return nil, err
		}
		srcs := map[string]bool{}
		if on(SectionPurposes) {
			for _, st := range states {
				pu := byKey[st.Purpose]
				if pu == nil || (st.State == "none" && pu.Archived) {
					continue
				}
				info := PurposeInfo{Key: pu.Key, State: string(st.State), LegalBasis: string(st.LegalBasis), Article: st.LegalBasis.Article(), RetentionDays: pu.RetentionDays,
					StateLabel: i18n.Label(lang, "consent_state", string(st.State)), LegalBasisLabel: basisLabel(lang, string(st.LegalBasis)), RetentionLabel: retentionLabel(lang, pu.RetentionDays)}
				if t, ok := pu.Texts[lang]; ok {
					info.Name, info.Description = t.Name, t.Description
				} else if t, ok := pu.Texts["en"]; ok {
					info.Name, info.Description = t.Name, t.Description
				}
				rep.Purposes = append(rep.Purposes, info)
				if st.Source != "" {
					srcs[st.Source] = true
				}
			}
		}
		if on(SectionConsents) {
			evs, err := s.ledger.History(ctx, pid, "")
			if err != nil {
				return nil, err
			}
			for _, ev := range evs {
				h := ConsentHistory{Purpose: ev.Purpose, Kind: string(ev.Kind), LegalBasis: string(ev.LegalBasis), Source: ev.Source, At: ev.OccurredAt,
					PurposeName: purposeName(lang, byKey[ev.Purpose], ev.Purpose), KindLabel: i18n.Label(lang, "consent_state", string(ev.Kind)),
					LegalBasisLabel: basisLabel(lang, string(ev.LegalBasis)), SourceLabel: names.name(ev.Source)}
				if ev.Evidence.Note != "" {
					h.Evidence = append(h.Evidence, i18n.T(lang, "report.evidence.note")+": "+ev.Evidence.Note)
				}
				if ev.Evidence.IP != "" {
					h.Evidence = append(h.Evidence, i18n.T(lang, "report.evidence.ip")+": "+ev.Evidence.IP)
				}
				if ev.Evidence.FormURL != "" {
					h.Evidence = append(h.Evidence, i18n.T(lang, "report.evidence.form")+": "+ev.Evidence.FormURL)
				}
				for _, f := range ev.Evidence.Files {
					h.Evidence = append(h.Evidence, i18n.T(lang, "report.file")+": "+f.Name)
				}
				rep.Consents = append(rep.Consents, h)
				if ev.Source != "" {
					srcs[ev.Source] = true
				}
			}
		}
		if p.Source != "" {
			srcs[p.Source] = true
		}
		for k := range srcs {
			rep.Sources = append(rep.Sources, k)
		}
		slices.Sort(rep.Sources)
		for _, k := range rep.Sources {
			rep.SourceLabels = append(rep.SourceLabels, names.name(k))
		}
	}
	if rep.Recipients, err = s.reportRecipients(ctx, lang, pid); err != nil {
		return nil, err
	}
	if on(SectionActivities) {
		as, err := s.records.Activities(ctx, pid)
		if err != nil {
			return nil, err
		}
		rep.Activities = labelActivities(lang, as)
	}
	if on(SectionDocuments) {
		if rep.Documents, err = s.records.Documents(ctx, pid); err != nil {
			return nil, err
		}
	}
	if on(SectionRelationships) {
		rels, err := s.records.Relationships(ctx, pid)
		if err != nil {
			return nil, err
		}
		if rep.Relationships, err = s.labelRelationships(ctx, lang, pid, rels); err != nil {
			return nil, err
		}
	}
	if on(SectionBusinessRecords) {
		bs, err := s.records.BusinessRecords(ctx, pid)
		if err != nil {
			return nil, err
		}
		rep.BusinessRecords = labelRecords(lang, bs)
	}
	return rep, nil
}

// logDisclosure records that data of the case's person left the system
// and, when the copy holds their sensitive values in clear (revealed),
// that disclosure to the data subject, in one transaction.
func (s *Service) logDisclosure(ctx context.Context, actor audit.Actor, r *Request, action, format string, revealed []string, reason string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		now := s.now()
		if err := appendAudit(tx, now, audit.Entry{Actor: actor, Action: action, ObjectType: "rights_request", ObjectID: strconv.FormatInt(r.ID, 10),
			PersonID: deref(r.PersonID), After: map[string]string{"format": format}}); err != nil {
			return err
		}
		return ledger.RecordSubjectDisclosureTx(tx, now, actor, deref(r.PersonID), revealed, reason)
	})
}
