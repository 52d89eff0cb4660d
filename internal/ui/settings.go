package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
)

// The privacy settings pages (permission "settings.edit"): purposes with
// their versioned texts, sources and custom fields. Every change goes
// through the ledger, which audits it.

// settingsPurposeForm is the purpose form's values as typed.
type settingsPurposeForm struct {
	Key, Default, Retention, Balancing, Reason string
	ConsentRequired                            bool
	Allowed                                    map[ledger.LegalBasis]bool
	Texts                                      map[string]ledger.Text
}

// settingsData is what the settings templates get.
type settingsData struct {
	Section string // purposes, sources or fields: the current sub page
	Bases   []ledger.LegalBasis
	Langs   []string
	Errors  []ledger.FieldError // field messages of a refused change
	Message string              // the refused change's overall message

	Purposes []*ledger.Purpose
	Purpose  *ledger.Purpose
	Versions []ledger.TextVersion
	Form     settingsPurposeForm

	Sources    []ledger.Source
	SourceKey  string
	SourceName string

	Fields     []ledger.CustomField
	FieldTypes []string
	Field      settingsFieldForm
}

// settingsFieldForm is the custom field form's values as typed.
type settingsFieldForm struct {
	Key, Label, Type, Options string
	Sensitive                 bool
	Searchable                bool
}

func newSettingsData(section string) settingsData {
	return settingsData{Section: section, Bases: ledger.LegalBases, Langs: ledger.Languages,
		FieldTypes: []string{"text", "number", "date", "bool", "select"}}
}

func settingsActor(p page) audit.Actor {
	return audit.Actor{Type: "user", ID: strconv.FormatInt(p.Session.User.ID, 10)}
}

// settingsError reports a refused change: a domain error is shown on the
// page (true, with its status); anything else is logged and failed.
func (s *Server) settingsError(w http.ResponseWriter, p page, err error, d *settingsData, what string) (int, bool) {
	if de, ok := ledger.AsError(err); ok {
		d.Message, d.Errors = de.Message, de.Fields
		return domainStatus(de), true
	}
	s.log.Error(what, "err", err)
	s.fail(w, p, http.StatusInternalServerError, i18n.T(p.Lang, "error.internal"))
	return 0, false
}

func (s *Server) settingsIndex(w http.ResponseWriter, r *http.Request, p page) {
	http.Redirect(w, r, "/settings/purposes", http.StatusSeeOther)
}

// settingsFlash is the flash after a redirect back from a change.
func settingsFlash(p page, q url.Values) string {
	switch q.Get("saved") {
	case "":
		return ""
	case "version":
		return i18n.T(p.Lang, "settings.flash.version", q.Get("v"))
	case "created":
		return i18n.T(p.Lang, "settings.flash.created")
	case "archived":
		return i18n.T(p.Lang, "settings.flash.archived")
	case "unarchived":
		return i18n.T(p.Lang, "settings.flash.unarchived")
	}
	return i18n.T(p.Lang, "settings.flash.saved")
}

// readSettingsPurposeForm reads the purpose form; bad is a field error of the form
// itself (a retention that is no number).
func readSettingsPurposeForm(r *http.Request, lang string) (f settingsPurposeForm, retention int, bad []ledger.FieldError) {
	f = settingsPurposeForm{
		Key: strings.TrimSpace(r.PostFormValue("key")), Default: r.PostFormValue("default_basis"),
		Retention: strings.TrimSpace(r.PostFormValue("retention_days")), Balancing: r.PostFormValue("balancing_test"),
		Reason: strings.TrimSpace(r.PostFormValue("reason")), ConsentRequired: r.PostFormValue("consent_required") == "1",
		Allowed: map[ledger.LegalBasis]bool{}, Texts: map[string]ledger.Text{},
	}
	for _, b := range r.PostForm["allowed"] {
		f.Allowed[ledger.LegalBasis(b)] = true
	}
	for _, l := range ledger.Languages {
		f.Texts[l] = ledger.Text{Name: strings.TrimSpace(r.PostFormValue(l + ".name")), Description: r.PostFormValue(l + ".description"), ConsentText: r.PostFormValue(l + ".consent_text")}
	}
	if f.Retention != "" {
		n, err := strconv.Atoi(f.Retention)
		if err != nil {
			bad = append(bad, ledger.FieldError{Field: "retention_days", Message: i18n.T(lang, "retention.days.invalid")})
		}
		retention = n
	}
	return f, retention, bad
}

// allowedList returns the checked bases in the order of the Regulation.
func (f settingsPurposeForm) allowedList() []ledger.LegalBasis {
	out := []ledger.LegalBasis{}
	for _, b := range ledger.LegalBases {
		if f.Allowed[b] {
			out = append(out, b)
		}
	}
	for b := range f.Allowed { // unknown values, for the ledger to refuse
		if !b.Valid() {
			out = append(out, b)
		}
	}
	return out
}

func settingsFormOf(pu *ledger.Purpose) settingsPurposeForm {
	f := settingsPurposeForm{Key: pu.Key, Default: string(pu.DefaultLegalBasis), Retention: strconv.Itoa(pu.RetentionDays),
		Balancing: pu.BalancingTest, ConsentRequired: pu.ConsentRequired, Allowed: map[ledger.LegalBasis]bool{}, Texts: map[string]ledger.Text{}}
	for _, b := range pu.AllowedLegalBases {
		f.Allowed[b] = true
	}
	for l, t := range pu.Texts {
		f.Texts[l] = t
	}
	return f
}

// settingsPurposes lists the purposes with a form to add one.
func (s *Server) settingsPurposes(w http.ResponseWriter, r *http.Request, p page) {
	d := newSettingsData("purposes")
	d.Form = settingsPurposeForm{Retention: "0", Allowed: map[ledger.LegalBasis]bool{}, Texts: map[string]ledger.Text{}}
	p.Flash = settingsFlash(p, r.URL.Query())
	s.renderSettingsPurposes(w, r, p, d, http.StatusOK)
}

func (s *Server) renderSettingsPurposes(w http.ResponseWriter, r *http.Request, p page, d settingsData, status int) {
	ps, err := s.ledger.Purposes(r.Context(), true)
	if err != nil {
		s.failErr(w, p, err, "list purposes")
		return
	}
	d.Purposes = ps
	p.Title, p.Data = i18n.T(p.Lang, "settings.purposes"), d
	s.render(w, status, "settings_purposes", p)
}

// settingsCreatePurpose adds a purpose from the form.
func (s *Server) settingsCreatePurpose(w http.ResponseWriter, r *http.Request, p page) {
	d := newSettingsData("purposes")
	f, retention, bad := readSettingsPurposeForm(r, p.Lang)
	d.Form = f
	if len(bad) > 0 {
		d.Message, d.Errors = i18n.T(p.Lang, "settings.invalid"), bad
		s.renderSettingsPurposes(w, r, p, d, http.StatusUnprocessableEntity)
		return
	}
	_, err := s.ledger.CreatePurpose(r.Context(), settingsActor(p), ledger.PurposeInput{
		Key: f.Key, DefaultLegalBasis: ledger.LegalBasis(f.Default), AllowedLegalBases: f.allowedList(),
		ConsentRequired: f.ConsentRequired, RetentionDays: retention, BalancingTest: f.Balancing, Texts: f.Texts,
	})
	if err != nil {
		if status, ok := s.settingsError(w, p, err, &d, "create purpose"); ok {
			s.renderSettingsPurposes(w, r, p, d, status)
		}
		return
	}
	http.Redirect(w, r, "/settings/purposes?saved=created", http.StatusSeeOther)
}

// settingsPurpose is a purpose's edit page.
func (s *Server) settingsPurpose(w http.ResponseWriter, r *http.Request, p page) {
	d := newSettingsData("purposes")
	pu, err := s.ledger.Purpose(r.Context(), r.PathValue("key"))
	if err == nil {
		d.Form = settingsFormOf(pu)
	}
	p.Flash = settingsFlash(p, r.URL.Query())
	s.renderSettingsPurpose(w, r, p, d, pu, err, http.StatusOK)
}

func (s *Server) renderSettingsPurpose(w http.ResponseWriter, r *http.Request, p page, d settingsData, pu *ledger.Purpose, err error, status int) {
	if err == nil {
		d.Versions, err = s.ledger.PurposeVersions(r.Context(), pu.Key)
	}
	if de, ok := ledger.AsError(err); ok && de.Kind == ledger.KindNotFound {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	if err != nil {
		s.failErr(w, p, err, "purpose page")
		return
	}
	d.Purpose = pu
	p.Title, p.Data = i18n.T(p.Lang, "settings.purpose.title", pu.Key), d
	s.render(w, status, "settings_purpose", p)
}

// settingsUpdatePurpose saves the edit form: changed texts make a new version.
func (s *Server) settingsUpdatePurpose(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	key := r.PathValue("key")
	before, err := s.ledger.Purpose(ctx, key)
	d := newSettingsData("purposes")
	if err != nil {
		s.renderSettingsPurpose(w, r, p, d, nil, err, http.StatusOK)
		return
	}
	f, retention, bad := readSettingsPurposeForm(r, p.Lang)
	f.Key, f.ConsentRequired = before.Key, before.ConsentRequired
	d.Form = f
	if len(bad) > 0 {
		d.Message, d.Errors = i18n.T(p.Lang, "settings.invalid"), bad
		s.renderSettingsPurpose(w, r, p, d, before, nil, http.StatusUnprocessableEntity)
		return
	}
	def := ledger.LegalBasis(f.Default)
	u := ledger.PurposeUpdate{AllowedLegalBases: f.allowedList(), RetentionDays: &retention, BalancingTest: &f.Balancing, Texts: f.Texts, Reason: f.Reason}
	if def != "" {
		u.DefaultLegalBasis = &def
	}
	after, err := s.ledger.UpdatePurpose(ctx, settingsActor(p), key, u)
	if err != nil {
		if status, ok := s.settingsError(w, p, err, &d, "update purpose"); ok {
			s.renderSettingsPurpose(w, r, p, d, before, nil, status)
		}
		return
	}
	to := "/settings/purposes/" + url.PathEscape(key) + "?saved=1"
	if after.CurrentVersion != before.CurrentVersion {
		to = "/settings/purposes/" + url.PathEscape(key) + "?saved=version&v=" + strconv.Itoa(after.CurrentVersion)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// settingsArchivePurpose archives (archived=1) or unarchives (archived=0) a purpose.
func (s *Server) settingsArchivePurpose(w http.ResponseWriter, r *http.Request, p page) {
	key := r.PathValue("key")
	archived := r.PostFormValue("archived") == "1"
	d := newSettingsData("purposes")
	_, err := s.ledger.UpdatePurpose(r.Context(), settingsActor(p), key, ledger.PurposeUpdate{Archived: &archived, Reason: strings.TrimSpace(r.PostFormValue("reason"))})
	if err != nil {
		if de, ok := ledger.AsError(err); ok && de.Kind == ledger.KindNotFound {
			s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
			return
		}
		if status, ok := s.settingsError(w, p, err, &d, "archive purpose"); ok {
			pu, err := s.ledger.Purpose(r.Context(), key)
			if err == nil {
				d.Form = settingsFormOf(pu)
			}
			s.renderSettingsPurpose(w, r, p, d, pu, err, status)
		}
		return
	}
	saved := "unarchived"
	if archived {
		saved = "archived"
	}
	http.Redirect(w, r, "/settings/purposes/"+url.PathEscape(key)+"?saved="+saved, http.StatusSeeOther)
}

// settingsSources lists the sources with forms to add, rename, deactivate
// and reactivate them.
func (s *Server) settingsSources(w http.ResponseWriter, r *http.Request, p page) {
	p.Flash = settingsFlash(p, r.URL.Query())
	s.renderSettingsSources(w, r, p, newSettingsData("sources"), http.StatusOK)
}

func (s *Server) renderSettingsSources(w http.ResponseWriter, r *http.Request, p page, d settingsData, status int) {
	srcs, err := s.ledger.Sources(r.Context())
	if err != nil {
		s.failErr(w, p, err, "list sources")
		return
	}
	d.Sources = srcs
	p.Title, p.Data = i18n.T(p.Lang, "settings.sources"), d
	s.render(w, status, "settings_sources", p)
}

func (s *Server) settingsCreateSource(w http.ResponseWriter, r *http.Request, p page) {
	d := newSettingsData("sources")
	d.SourceKey, d.SourceName = strings.TrimSpace(r.PostFormValue("key")), strings.TrimSpace(r.PostFormValue("name"))
	_, err := s.ledger.CreateSource(r.Context(), settingsActor(p), ledger.SourceInput{Key: d.SourceKey, Name: d.SourceName})
	if err != nil {
		if status, ok := s.settingsError(w, p, err, &d, "create source"); ok {
			s.renderSettingsSources(w, r, p, d, status)
		}
		return
	}
	http.Redirect(w, r, "/settings/sources?saved=created", http.StatusSeeOther)
}

// settingsUpdateSource renames (name) or deactivates/reactivates (active=0/1) a source.
func (s *Server) settingsUpdateSource(w http.ResponseWriter, r *http.Request, p page) {
	d := newSettingsData("sources")
	in := ledger.SourceInput{Name: r.PostFormValue("name")}
	if a := r.PostFormValue("active"); a != "" {
		active := a == "1"
		in.Active = &active
	}
	_, err := s.ledger.UpdateSource(r.Context(), settingsActor(p), r.PathValue("key"), in)
	if err != nil {
		if status, ok := s.settingsError(w, p, err, &d, "update source"); ok {
			s.renderSettingsSources(w, r, p, d, status)
		}
		return
	}
	http.Redirect(w, r, "/settings/sources?saved=1", http.StatusSeeOther)
}

// settingsFields lists the custom fields with a form to add one.
func (s *Server) settingsFields(w http.ResponseWriter, r *http.Request, p page) {
	d := newSettingsData("fields")
	d.Field.Type = "text"
	p.Flash = settingsFlash(p, r.URL.Query())
	s.renderSettingsFields(w, r, p, d, http.StatusOK)
}

func (s *Server) renderSettingsFields(w http.ResponseWriter, r *http.Request, p page, d settingsData, status int) {
	fs, err := s.ledger.CustomFields(r.Context())
	if err != nil {
		s.failErr(w, p, err, "list custom fields")
		return
	}
	d.Fields = fs
	p.Title, p.Data = i18n.T(p.Lang, "settings.fields"), d
	s.render(w, status, "settings_fields", p)
}

func (s *Server) settingsCreateField(w http.ResponseWriter, r *http.Request, p page) {
	d := newSettingsData("fields")
	d.Field = settingsFieldForm{Key: strings.TrimSpace(r.PostFormValue("key")), Label: strings.TrimSpace(r.PostFormValue("label")),
		Type: r.PostFormValue("type"), Options: r.PostFormValue("options"), Sensitive: r.PostFormValue("sensitive") == "1",
		Searchable: r.PostFormValue("searchable") == "1"}
	var opts []string
	for _, o := range strings.Split(d.Field.Options, "\n") {
		if o = strings.TrimSpace(o); o != "" {
			opts = append(opts, o)
		}
	}
	_, err := s.ledger.CreateCustomField(r.Context(), settingsActor(p), ledger.CustomField{Key: d.Field.Key, Label: d.Field.Label, Type: d.Field.Type, Options: opts, Sensitive: d.Field.Sensitive, Searchable: d.Field.Searchable})
	if err != nil {
		if status, ok := s.settingsError(w, p, err, &d, "create custom field"); ok {
			s.renderSettingsFields(w, r, p, d, status)
		}
		return
	}
	http.Redirect(w, r, "/settings/fields?saved=created", http.StatusSeeOther)
}
