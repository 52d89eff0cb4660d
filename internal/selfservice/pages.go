package selfservice

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/outreach"
)

// linkPage asks for an e-mail address to mail a preference link to.
func (h *Handler) linkPage(w http.ResponseWriter, r *http.Request) {
	l := visitorLang(r)
	h.render(w, http.StatusOK, "link", view{Lang: l, Title: i18n.T(l, "link.title"), CSRF: h.csrf("link")})
}

// requestLink answers the same, and as fast, whether the address is
// known: it only queues the request; the lookup and the mail come after
// the answer (outreach.RunPublicRequests).
func (h *Handler) requestLink(w http.ResponseWriter, r *http.Request) {
	l := visitorLang(r)
	if !h.csrfOK(r, "link") {
		h.badCSRF(w, l)
		return
	}
	err := h.svc.QueueLinkRequest(r.Context(), r.PostFormValue("email"))
	var ie *outreach.InputError
	if errors.As(err, &ie) {
		h.render(w, http.StatusUnprocessableEntity, "link", view{Lang: l, Title: i18n.T(l, "link.title"), CSRF: h.csrf("link"), Error: i18n.T(l, "form.error.email")})
		return
	}
	if err != nil {
		h.fail(w, l, err, "request preference link")
		return
	}
	h.message(w, http.StatusOK, l, i18n.T(l, "link.title"), i18n.T(l, "link.sent"), false)
}

// tokenPage is a request on a person's preference link.
type tokenPage struct {
	person int64
	lang   string
	base   string // /p/<token>
	token  string
}

func (h *Handler) withPerson(next func(http.ResponseWriter, *http.Request, tokenPage)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := r.PathValue("token")
		if ok, wait := h.perToken.allow(r.Context(), "p:"+tok); !ok {
			h.limited(w, r, wait)
			return
		}
		pid, lang, err := h.svc.PersonForToken(r.Context(), tok)
		if err != nil {
			h.fail(w, visitorLang(r), err, "preference link")
			return
		}
		tp := tokenPage{person: pid, lang: lang, base: "/p/" + tok, token: tok}
		if r.Method == http.MethodPost && !h.csrfOK(r, "p", tok) {
			h.badCSRF(w, tp.lang)
			return
		}
		next(w, r, tp)
	}
}

var flashes = map[string]string{
	"granted": "pref.saved.granted", "withdrawn": "pref.saved.withdrawn", "contact": "pref.saved.contact",
	"review": "pref.saved.review", "erasure": "pref.saved.erasure", "confirmed": "pref.confirmed",
}

// preferencesPage is GET /p/{token}: the whole read in two queries.
func (h *Handler) preferencesPage(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	if ok, wait := h.perToken.allow(r.Context(), "p:"+tok); !ok {
		h.limited(w, r, wait)
		return
	}
	prefs, err := h.svc.PreferencesForToken(r.Context(), tok)
	if err != nil {
		h.fail(w, visitorLang(r), err, "preference page")
		return
	}
	tp := tokenPage{person: prefs.Person.ID, lang: prefs.Person.Language, base: "/p/" + tok, token: tok}
	h.renderPreferences(w, r, tp, prefs, http.StatusOK, "")
}

func (h *Handler) showPreferences(w http.ResponseWriter, r *http.Request, tp tokenPage, status int, errMsg string) {
	prefs, err := h.svc.Preferences(r.Context(), tp.person)
	if err != nil {
		h.fail(w, tp.lang, err, "preferences")
		return
	}
	h.renderPreferences(w, r, tp, prefs, status, errMsg)
}

func (h *Handler) renderPreferences(w http.ResponseWriter, r *http.Request, tp tokenPage, prefs *outreach.Preferences, status int, errMsg string) {
	if len(prefs.Person.Emails) == 0 {
		prefs.Person.Emails = []string{prefs.Person.FirstName + " " + prefs.Person.LastName}
	}
	v := view{Lang: tp.lang, Title: i18n.T(tp.lang, "pref.title"), CSRF: h.csrf("p", tp.token), Base: tp.base, Data: prefs, Error: errMsg}
	if k, ok := flashes[r.URL.Query().Get("m")]; ok {
		v.Flash = i18n.T(tp.lang, k)
	}
	h.render(w, status, "preferences", v)
}

func (h *Handler) setConsent(w http.ResponseWriter, r *http.Request, tp tokenPage) {
	action := r.PostFormValue("action")
	if action != "grant" && action != "withdraw" {
		h.message(w, http.StatusUnprocessableEntity, tp.lang, i18n.T(tp.lang, "error.title"), i18n.T(tp.lang, "public.error.invalid"), false)
		return
	}
	version, _ := strconv.Atoi(r.PostFormValue("version"))
	err := h.svc.SetConsent(r.Context(), tp.person, outreach.Choice{Purpose: r.PostFormValue("purpose"), Grant: action == "grant",
		TextVersion: version, Language: tp.lang, Client: h.client(r)})
	if err != nil {
		h.fail(w, tp.lang, err, "set consent")
		return
	}
	m := "withdrawn"
	if action == "grant" {
		m = "granted"
	}
	http.Redirect(w, r, tp.base+"?m="+m+"#purpose-"+r.PostFormValue("purpose"), http.StatusSeeOther)
}

func (h *Handler) rectify(w http.ResponseWriter, r *http.Request, tp tokenPage) {
	c := outreach.Contact{}
	for f, dst := range map[string]*string{"first_name": &c.FirstName, "last_name": &c.LastName, "street": &c.Street, "postal_code": &c.PostalCode, "city": &c.City, "country": &c.Country, "language": &c.Language, "email": &c.Email} {
		*dst = strings.TrimSpace(r.PostFormValue(f))
	}
	applied, err := h.svc.Rectify(r.Context(), tp.person, c, h.client(r))
	var ie *outreach.InputError
	if errors.As(err, &ie) {
		var labels []string // the fields to correct, in the visitor's words
		for f := range ie.Fields {
			labels = append(labels, i18n.T(tp.lang, "pref."+f))
		}
		slices.Sort(labels)
		h.showPreferences(w, r, tp, http.StatusUnprocessableEntity, i18n.T(tp.lang, "public.error.invalid")+" "+strings.Join(labels, ", "))
		return
	}
	if err != nil {
		h.fail(w, tp.lang, err, "rectify")
		return
	}
	m := "review"
	if applied {
		m = "contact"
	}
	http.Redirect(w, r, tp.base+"?m="+m, http.StatusSeeOther)
}

func (h *Handler) erasure(w http.ResponseWriter, r *http.Request, tp tokenPage) {
	if err := h.svc.RequestErasure(r.Context(), tp.person, h.client(r)); err != nil {
		h.fail(w, tp.lang, err, "erasure request")
		return
	}
	http.Redirect(w, r, tp.base+"?m=erasure", http.StatusSeeOther)
}

func (h *Handler) export(w http.ResponseWriter, r *http.Request, tp tokenPage) {
	data, err := h.svc.ExportData(r.Context(), tp.person)
	if err != nil {
		h.fail(w, tp.lang, err, "export")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="my-data.json"`)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(data)
}
