package ui

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/outreach"
)

func init() {
	pageNames = append(pageNames, "outbox", "outbox_mail", "mail_templates", "mail_template", "forms", "consent_requests", "ss_requests")
	for _, role := range []string{auth.RoleAdmin, auth.RolePrivacyOfficer} {
		permissions[role]["outbox.view"] = true
		permissions[role]["consents.request"] = true
		permissions[role]["selfservice.requests"] = true
	}
	permissions[auth.RoleMarketing]["consents.request"] = true
}

// EnableOutreach turns on the staff pages of e-mail and self-service:
// outbox, mail templates, web forms, consent requests and self-service
// requests.
func (s *Server) EnableOutreach(o *outreach.Service) { s.out = o }

// needOutreach wraps a handler of a page that exists only with outreach.
func (s *Server) needOutreach(h func(http.ResponseWriter, *http.Request, page)) func(http.ResponseWriter, *http.Request, page) {
	return func(w http.ResponseWriter, r *http.Request, p page) {
		if s.out == nil {
			s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
			return
		}
		h(w, r, p)
	}
}

// outreachError shows a refused input on the page, anything else fails.
func (s *Server) outreachError(w http.ResponseWriter, p page, err error, what string) {
	var ie *outreach.InputError
	var te *mail.TemplateError
	switch {
	case errors.As(err, &ie):
		var parts []string
		for f, m := range ie.Fields {
			parts = append(parts, f+": "+m)
		}
		slices.Sort(parts)
		s.fail(w, p, http.StatusUnprocessableEntity, i18n.T(p.Lang, "error.invalid", strings.Join(parts, "; ")))
	case errors.As(err, &te):
		s.fail(w, p, http.StatusUnprocessableEntity, i18n.T(p.Lang, "error.invalid", te.Error()))
	case errors.Is(err, outreach.ErrNotFound), errors.Is(err, mail.ErrNotFound):
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
	default:
		s.failErr(w, p, err, what)
	}
}

// --- Outbox ---

type outboxData struct {
	Status   string
	Statuses []string
	Counts   map[string]int64
	Mails    []mail.Entry
	Next     int64
}

func (s *Server) outbox(w http.ResponseWriter, r *http.Request, p page) {
	d := outboxData{Status: r.URL.Query().Get("status"), Statuses: []string{mail.StatusQueued, mail.StatusCaptured, mail.StatusSent, mail.StatusDead}}
	if d.Status != "" && !slices.Contains(d.Statuses, d.Status) && d.Status != mail.StatusSending {
		d.Status = ""
	}
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	var err error
	if d.Counts, err = mail.Counts(r.Context(), s.out.DB()); err == nil {
		d.Mails, err = mail.List(r.Context(), s.out.DB(), d.Status, before, 100)
	}
	if err != nil {
		s.failErr(w, p, err, "outbox")
		return
	}
	if len(d.Mails) == 100 {
		d.Next = d.Mails[99].ID
	}
	if r.URL.Query().Get("retried") != "" {
		p.Flash = i18n.T(p.Lang, "outbox.retried")
	}
	p.Title, p.Data = i18n.T(p.Lang, "outbox.title"), d
	s.render(w, http.StatusOK, "outbox", p)
}

func (s *Server) outboxMail(w http.ResponseWriter, r *http.Request, p page) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	m, err := mail.Get(r.Context(), s.out.DB(), id)
	if err != nil {
		s.outreachError(w, p, err, "outbox mail")
		return
	}
	p.Title, p.Data = m.Subject, m
	s.render(w, http.StatusOK, "outbox_mail", p)
}

func (s *Server) outboxRetry(w http.ResponseWriter, r *http.Request, p page) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err := s.out.RetryMail(r.Context(), settingsActor(p), id); err != nil {
		s.outreachError(w, p, err, "retry mail")
		return
	}
	http.Redirect(w, r, "/outbox?status=queued&retried=1", http.StatusSeeOther)
}

// --- Mail templates ---

type templateRow struct {
	Name  string
	Langs []*mail.TemplateSource
}

func (s *Server) mailTemplates(w http.ResponseWriter, r *http.Request, p page) {
	var rows []templateRow
	for _, name := range mail.Templates {
		row := templateRow{Name: name}
		for _, l := range mail.Languages {
			src, err := mail.Source(r.Context(), s.out.DB(), name, l)
			if err != nil {
				s.failErr(w, p, err, "mail templates")
				return
			}
			row.Langs = append(row.Langs, src)
		}
		rows = append(rows, row)
	}
	if r.URL.Query().Get("saved") != "" {
		p.Flash = i18n.T(p.Lang, "outreach.saved")
	}
	p.Title, p.Data = i18n.T(p.Lang, "templates.title"), rows
	s.render(w, http.StatusOK, "mail_templates", p)
}

func (s *Server) mailTemplate(w http.ResponseWriter, r *http.Request, p page) {
	src, err := mail.Source(r.Context(), s.out.DB(), r.PathValue("name"), r.PathValue("lang"))
	if err != nil || src.Language != r.PathValue("lang") {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	p.Title, p.Data = i18n.T(p.Lang, "templates.title")+": "+src.Template+" ("+src.Language+")", src
	s.render(w, http.StatusOK, "mail_template", p)
}

func (s *Server) saveMailTemplate(w http.ResponseWriter, r *http.Request, p page) {
	name, lang := r.PathValue("name"), r.PathValue("lang")
	src := r.PostFormValue("source")
	if r.PostFormValue("restore") != "" {
		src = ""
	}
	if err := s.out.SaveTemplate(r.Context(), settingsActor(p), name, lang, src); err != nil {
		if errors.As(err, new(*mail.TemplateError)) {
			cur := &mail.TemplateSource{Template: name, Language: lang, Source: src}
			p.Title, p.Data, p.Error = i18n.T(p.Lang, "templates.title")+": "+name+" ("+lang+")", cur, err.Error()
			s.render(w, http.StatusUnprocessableEntity, "mail_template", p)
			return
		}
		s.outreachError(w, p, err, "save mail template")
		return
	}
	http.Redirect(w, r, "/settings/mail-templates?saved=1", http.StatusSeeOther)
}

// --- Web forms ---

type formsData struct {
	Forms       []*outreach.Form
	Edit        outreach.Form
	Purposes    []*ledger.Purpose
	Fields      []string
	GPC         []string
	Rectify     string
	PublicURL   string
	Langs       []string
	Consentable []*ledger.Purpose
	// On marks the boxes to show ticked: field:<name>, purpose:<key>, gpc:<key>.
	On map[string]bool
}

func (s *Server) forms(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	d := formsData{Fields: outreach.FormFields, PublicURL: s.out.Config().PublicURL, Langs: mail.Languages, Edit: outreach.Form{Active: true, Language: p.Lang}}
	var err error
	if d.Forms, err = s.out.Forms(ctx); err == nil {
		if d.Purposes, err = s.ledger.Purposes(ctx, false); err == nil {
			if d.GPC, err = s.out.GPCPurposes(ctx); err == nil {
				d.Rectify, err = s.out.RectificationMode(ctx)
			}
		}
	}
	if err != nil {
		s.failErr(w, p, err, "forms")
		return
	}
	for _, pu := range d.Purposes {
		if pu.Allows(ledger.Consent) {
			d.Consentable = append(d.Consentable, pu)
		}
	}
	if key := r.URL.Query().Get("edit"); key != "" {
		for _, f := range d.Forms {
			if f.Key == key {
				d.Edit = *f
			}
		}
	}
	d.On = map[string]bool{}
	for _, f := range d.Edit.Fields {
		d.On["field:"+f] = true
	}
	for _, k := range d.Edit.Purposes {
		d.On["purpose:"+k] = true
	}
	for _, k := range d.GPC {
		d.On["gpc:"+k] = true
	}
	if r.URL.Query().Get("saved") != "" {
		p.Flash = i18n.T(p.Lang, "outreach.saved")
	}
	p.Title, p.Data = i18n.T(p.Lang, "forms.title"), d
	s.render(w, http.StatusOK, "forms", p)
}

func (s *Server) saveForm(w http.ResponseWriter, r *http.Request, p page) {
	r.ParseForm()
	f := outreach.Form{
		Key: r.PostFormValue("key"), Name: r.PostFormValue("name"), Language: r.PostFormValue("language"),
		Fields: r.PostForm["fields"], Purposes: r.PostForm["purposes"], Active: r.PostFormValue("active") == "1",
		TermsText: strings.TrimSpace(r.PostFormValue("terms_text")), PrivacyText: strings.TrimSpace(r.PostFormValue("privacy_text")),
		PrivacyURL: strings.TrimSpace(r.PostFormValue("privacy_url")),
	}
	if err := s.out.SaveForm(r.Context(), settingsActor(p), f); err != nil {
		s.outreachError(w, p, err, "save form")
		return
	}
	http.Redirect(w, r, "/settings/forms?saved=1", http.StatusSeeOther)
}

func (s *Server) saveSelfServiceSettings(w http.ResponseWriter, r *http.Request, p page) {
	r.ParseForm()
	ctx, actor := r.Context(), settingsActor(p)
	err := s.out.SetGPCPurposes(ctx, actor, r.PostForm["gpc"])
	if err == nil {
		err = s.out.SetRectificationMode(ctx, actor, r.PostFormValue("rectification"))
	}
	if err != nil {
		s.outreachError(w, p, err, "self-service settings")
		return
	}
	http.Redirect(w, r, "/settings/forms?saved=1", http.StatusSeeOther)
}

// --- Consent requests ---

type consentRequestsData struct {
	Saved    []ledger.SavedFilter
	Requests []outreach.ConsentRequest
	Purposes []*ledger.Purpose
	Sources  []ledger.Source
}

func (s *Server) consentRequests(w http.ResponseWriter, r *http.Request, p page) {
	var d consentRequestsData
	var err error
	if d.Requests, err = s.out.ConsentRequests(r.Context()); err == nil {
		d.Sources, err = s.ledger.Sources(r.Context())
	}
	if err == nil {
		d.Saved, err = s.ledger.SavedFilters(r.Context())
	}
	if err == nil {
		var all []*ledger.Purpose
		all, err = s.ledger.Purposes(r.Context(), false)
		for _, pu := range all {
			if pu.Allows(ledger.Consent) {
				d.Purposes = append(d.Purposes, pu)
			}
		}
	}
	if err != nil {
		s.failErr(w, p, err, "consent requests")
		return
	}
	if n := r.URL.Query().Get("queued"); n != "" {
		p.Flash = i18n.T(p.Lang, "consentreq.queued", n)
	}
	p.Title, p.Data = i18n.T(p.Lang, "consentreq.title"), d
	s.render(w, http.StatusOK, "consent_requests", p)
}

// maxRecipientList bounds the uploaded list of a consent request.
const maxRecipientList = 20 << 20

func (s *Server) createConsentRequest(w http.ResponseWriter, r *http.Request, p page) {
	var emails []string
	if f, _, err := r.FormFile("file"); err == nil {
		defer f.Close()
		emails = []string{} // a list, even an empty one, narrows the mailing
		sc := bufio.NewScanner(io.LimitReader(f, maxRecipientList))
		sc.Buffer(make([]byte, 64<<10), 64<<10)
		for sc.Scan() {
			// Comma, semicolon (Excel in German and Danish) or tab separated:
			// the first field with an @ is the address.
			for _, field := range strings.FieldsFunc(sc.Text(), func(r rune) bool { return r == ',' || r == ';' || r == '\t' }) {
				if field = strings.Trim(strings.TrimSpace(field), `"'`); strings.Contains(field, "@") {
					emails = append(emails, field)
					break
				}
			}
		}
		if err := sc.Err(); err != nil {
			s.fail(w, p, http.StatusUnprocessableEntity, i18n.T(p.Lang, "error.invalid", "CSV: "+err.Error()))
			return
		}
	}
	// Or the contacts of a saved filter: their primary addresses.
	if id := r.PostFormValue("filter"); id != "" {
		if emails != nil {
			s.fail(w, p, http.StatusUnprocessableEntity, i18n.T(p.Lang, "consentreq.filter_or_list"))
			return
		}
		n, err := strconv.ParseInt(id, 10, 64)
		var sf *ledger.SavedFilter
		if err == nil {
			sf, err = s.ledger.SavedFilterByID(r.Context(), n)
		}
		if err != nil {
			s.fail(w, p, http.StatusUnprocessableEntity, i18n.T(p.Lang, "listcheck.error.filter"))
			return
		}
		emails = []string{}
		next := s.filterRefs(r.Context(), sf.Filter)
		for {
			ref, ok, err := next()
			if err != nil {
				s.failErr(w, p, err, "consent request filter")
				return
			}
			if !ok {
				break
			}
			if strings.Contains(ref.Input, "@") { // persons without an address have their id here
				emails = append(emails, ref.Input)
			}
		}
	}
	cr, err := s.out.RequestConsentFrom(r.Context(), settingsActor(p), r.PostFormValue("purpose"), r.PostFormValue("source"), emails)
	if err != nil {
		s.outreachError(w, p, err, "create consent request")
		return
	}
	http.Redirect(w, r, "/consent-requests?queued="+strconv.Itoa(cr.Recipients), http.StatusSeeOther)
}

// limitBody bounds a request body before the session check reads it.
func limitBody(n int64, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next(w, r)
	}
}

// --- Self-service requests ---

func (s *Server) selfServiceRequests(w http.ResponseWriter, r *http.Request, p page) {
	reqs, err := s.out.Requests(r.Context())
	if err != nil {
		s.failErr(w, p, err, "self-service requests")
		return
	}
	if r.URL.Query().Get("closed") != "" {
		p.Flash = i18n.T(p.Lang, "outreach.saved")
	}
	p.Title, p.Data = i18n.T(p.Lang, "ssreq.title"), reqs
	s.render(w, http.StatusOK, "ss_requests", p)
}

func (s *Server) closeSelfServiceRequest(w http.ResponseWriter, r *http.Request, p page) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err := s.out.CloseRequest(r.Context(), settingsActor(p), id, r.PostFormValue("accept") == "1"); err != nil {
		s.outreachError(w, p, err, "close request")
		return
	}
	http.Redirect(w, r, "/selfservice-requests?closed=1", http.StatusSeeOther)
}

// renewLink revokes a contact's preference links and mails a new one.
func (s *Server) renewLink(w http.ResponseWriter, r *http.Request, p page) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err := s.out.RenewLink(r.Context(), settingsActor(p), id); err != nil {
		s.outreachError(w, p, err, "renew link")
		return
	}
	http.Redirect(w, r, "/contacts/"+strconv.FormatInt(id, 10)+"?linked=1", http.StatusSeeOther)
}
