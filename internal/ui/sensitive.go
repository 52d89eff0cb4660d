package ui

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
)

// Sensitive fields: masked on the card and in exports; the full value
// only for admins and privacy officers, with a stated reason that the
// audit log keeps; exact search through the blind index; marking an
// existing custom field sensitive.

func init() {
	pageNames = append(pageNames, "sensitive_value", "sensitive_search")
	for _, role := range []string{auth.RoleAdmin, auth.RolePrivacyOfficer} {
		permissions[role]["sensitive.unmask"] = true
	}
}

func (s *Server) sensitiveRoutes() {
	s.handle("POST /contacts/{id}/sensitive", "sensitive.unmask", s.unmaskSensitive)
	s.handle("POST /contacts/{id}/sensitive/value", "contacts.edit", s.setSensitive)
	s.handle("GET /contacts/sensitive-search", "contacts.view", s.sensitiveSearch)
	s.handle("POST /contacts/sensitive-search", "contacts.view", s.sensitiveSearch)
	s.handle("POST /settings/fields/{key}/sensitive", "settings.edit", s.markFieldSensitive)
}

type sensitiveValueData struct {
	Person  *ledger.Person
	Field   string
	Label   string
	Value   string
	Reason  string
	Message string
	Errors  []ledger.FieldError
}

// setSensitive stores (or, when empty, removes) the value of one
// sensitive field; the value is encrypted on its way into the ledger and
// the audit log records only that it changed.
func (s *Server) setSensitive(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	ctx := r.Context()
	fs, err := s.ledger.SensitiveFields(ctx)
	if err != nil {
		s.failErr(w, p, err, "sensitive fields")
		return
	}
	field := r.PostFormValue("field")
	if !slices.ContainsFunc(fs, func(f ledger.CustomField) bool { return f.Key == field }) {
		s.fail(w, p, http.StatusUnprocessableEntity, i18n.T(p.Lang, "error.invalid", "field: not a sensitive field"))
		return
	}
	var v any
	if value := strings.TrimSpace(r.PostFormValue("value")); value != "" {
		v = value
	}
	_, err = s.ledger.UpdatePerson(ctx, accountActor(p), id, ledger.PersonPatch{Custom: map[string]any{field: v}, Reason: strings.TrimSpace(r.PostFormValue("reason"))})
	if de, ok := ledger.AsError(err); ok && de.Kind != ledger.KindNotFound {
		d, lerr := s.loadCard(ctx, id, p.Lang)
		if lerr != nil {
			s.failErr(w, p, lerr, "contact card")
			return
		}
		d.SensitiveError = i18n.T(p.Lang, "error.invalid", problemText(p.Lang, de))
		p.Title, p.Data = d.Person.FirstName+" "+d.Person.LastName, d
		s.render(w, domainStatus(de), "contact", p)
		return
	}
	if err != nil {
		s.failErr(w, p, err, "sensitive value")
		return
	}
	http.Redirect(w, r, "/contacts/"+strconv.FormatInt(id, 10)+"#sensitive", http.StatusSeeOther)
}

// unmaskSensitive shows one full value after the reason was recorded.
func (s *Server) unmaskSensitive(w http.ResponseWriter, r *http.Request, p page) {
	w.Header().Set("Cache-Control", "no-store")
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	ctx := r.Context()
	person, err := s.ledger.Person(ctx, id)
	if err != nil {
		s.failErr(w, p, err, "unmask: person")
		return
	}
	for i, sv := range person.Sensitive {
		person.Sensitive[i].Label = sensitiveLabel(p.Lang, sv.Key, sv.Label)
	}
	d := sensitiveValueData{Person: person, Field: r.PostFormValue("field"), Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	for _, sv := range person.Sensitive {
		if sv.Key == d.Field {
			d.Label = sensitiveLabel(p.Lang, sv.Key, sv.Label)
		}
	}
	v, err := s.ledger.UnmaskSensitive(ctx, accountActor(p), id, d.Field, d.Reason)
	status := http.StatusOK
	if de, ok := ledger.AsError(err); ok {
		d.Message, d.Errors, status = de.Message, de.Fields, domainStatus(de)
	} else if err != nil {
		s.failErr(w, p, err, "unmask")
		return
	}
	d.Value = v
	p.Title, p.Data = i18n.T(p.Lang, "sensitive.title"), d
	s.render(w, status, "sensitive_value", p)
}

type sensitiveSearchData struct {
	Fields   []ledger.CustomField
	Field    string
	Searched bool
	Persons  []*ledger.Person
	Message  string
	Errors   []ledger.FieldError
}

// sensitiveSearch shows the exact-match search form (GET) and its
// results (POST: the value stays out of URLs and logs).
func (s *Server) sensitiveSearch(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	fs, err := s.ledger.SensitiveFields(ctx)
	if err != nil {
		s.failErr(w, p, err, "sensitive search")
		return
	}
	d := sensitiveSearchData{Fields: slices.DeleteFunc(fs, func(f ledger.CustomField) bool { return !f.Searchable })}
	for i, f := range d.Fields {
		d.Fields[i].Label = sensitiveLabel(p.Lang, f.Key, f.Label)
	}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		d.Field, d.Searched = r.PostFormValue("field"), true
		d.Persons, err = s.ledger.FindBySensitive(ctx, d.Field, r.PostFormValue("value"))
		if de, ok := ledger.AsError(err); ok {
			d.Message, d.Errors, d.Searched, status = de.Message, de.Fields, false, domainStatus(de)
		} else if err != nil {
			s.failErr(w, p, err, "sensitive search")
			return
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	p.Title, p.Data = i18n.T(p.Lang, "sensitive.search.title"), d
	s.render(w, status, "sensitive_search", p)
}

// markFieldSensitive marks an existing custom field sensitive; its stored
// values move into encrypted storage in the background.
func (s *Server) markFieldSensitive(w http.ResponseWriter, r *http.Request, p page) {
	_, err := s.ledger.MarkSensitive(r.Context(), settingsActor(p), r.PathValue("key"), r.PostFormValue("searchable") == "1")
	if err != nil {
		d := newSettingsData("fields")
		d.Field.Type = "text"
		if status, ok := s.settingsError(w, p, err, &d, "mark field sensitive"); ok {
			s.renderSettingsFields(w, r, p, d, status)
		}
		return
	}
	http.Redirect(w, r, "/settings/fields?saved=1", http.StatusSeeOther)
}

// sensitiveColumns are the sensitive fields any of the persons has, for
// the columns of an export: keys and labels, by key.
func sensitiveColumns(ps []*ledger.Person) (keys []string, labels []any) {
	seen := map[string]string{}
	for _, p := range ps {
		for _, sv := range p.Sensitive {
			seen[sv.Key] = sv.Label
		}
	}
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		labels = append(labels, seen[k])
	}
	return keys, labels
}

// sensitiveCells are a person's masked values in the columns of keys.
func sensitiveCells(p *ledger.Person, keys []string) []any {
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = ""
		for _, sv := range p.Sensitive {
			if sv.Key == k {
				out[i] = sv.Masked
			}
		}
	}
	return out
}

// The form that enters a sensitive value on the card.

// sensitiveLabel names a sensitive field in lang: the built-in fields
// have a label in every language (label.sensitive_field.<key>), a field
// staff added keeps the name they gave it.
func sensitiveLabel(lang, key, name string) string {
	if i18n.Has(i18n.Reference, "label.sensitive_field."+key) {
		return i18n.Label(lang, "sensitive_field", key)
	}
	return name
}

// sensitiveLabels words a list of built-in sensitive field names ("Bank
// account (IBAN); Health data") in lang; other names stay as they are.
func sensitiveLabels(lang, list string) string {
	parts := strings.Split(list, "; ")
	for i, name := range parts {
		for _, key := range i18n.Kinds()["sensitive_field"] {
			if name == i18n.Label(i18n.Reference, "sensitive_field", key) {
				parts[i] = i18n.Label(lang, "sensitive_field", key)
			}
		}
	}
	return strings.Join(parts, "; ")
}
