package selfservice

import (
	"errors"
	"net/http"

	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/outreach"
)

type formData struct {
	Form   *outreach.Form
	Offers []outreach.Offered
	Errors map[string]string
	Email  string
	Values map[string]string
}

func (h *Handler) loadForm(w http.ResponseWriter, r *http.Request) (*outreach.Form, string, bool) {
	f, err := h.svc.FormByKey(r.Context(), r.PathValue("key"))
	if err == nil && !f.Active {
		err = outreach.ErrNotFound
	}
	if err != nil {
		h.fail(w, visitorLang(r), err, "load form")
		return nil, "", false
	}
	l := f.Language
	if q := r.URL.Query().Get("lang"); i18n.Supported(q) {
		l = q
	} else if p := r.PostFormValue("lang"); r.Method == http.MethodPost && i18n.Supported(p) {
		l = p
	}
	return f, mail.Language(l), true
}

func (h *Handler) showForm(w http.ResponseWriter, r *http.Request, f *outreach.Form, l string, status int, d formData) {
	offers, err := h.svc.Offers(r.Context(), f, l)
	if err != nil {
		h.fail(w, l, err, "form offers")
		return
	}
	d.Form, d.Offers = f, offers
	if d.Values == nil {
		d.Values = map[string]string{}
	}
	v := view{Lang: l, Title: f.Name, CSRF: h.csrf("form", f.Key), Data: d, PrivacyURL: f.PrivacyURL}
	h.render(w, status, "form", v)
}

func (h *Handler) formPage(w http.ResponseWriter, r *http.Request) {
	f, l, ok := h.loadForm(w, r)
	if ok {
		h.showForm(w, r, f, l, http.StatusOK, formData{})
	}
}

// submitForm answers "check your mailbox" whether or not the address was
// known, and as fast: the submission is checked and queued; matching the
// address and mailing the opt-in come after the answer. Only the
// confirmation click grants anything.
func (h *Handler) submitForm(w http.ResponseWriter, r *http.Request) {
	f, l, ok := h.loadForm(w, r)
	if !ok {
		return
	}
	if !h.csrfOK(r, "form", f.Key) {
		h.badCSRF(w, l)
		return
	}
	r.ParseForm()
	versions := map[string]int{}
	sub := outreach.Submission{
		Email: r.PostFormValue("email"), FirstName: r.PostFormValue("first_name"), LastName: r.PostFormValue("last_name"),
		Purposes: r.PostForm["purpose"], Versions: versions, Terms: r.PostFormValue("terms") == "1", Language: l,
		FormURL: h.svc.Config().PublicURL + "/f/" + f.Key, GPC: r.Header.Get("Sec-GPC") == "1", Client: h.client(r),
	}
	err := h.svc.QueueSubmission(r.Context(), f.Key, sub)
	var ie *outreach.InputError
	if errors.As(err, &ie) {
		h.showForm(w, r, f, l, http.StatusUnprocessableEntity, formData{Errors: ie.Fields, Email: sub.Email,
			Values: map[string]string{"first_name": sub.FirstName, "last_name": sub.LastName}})
		return
	}
	if err != nil {
		h.fail(w, l, err, "submit form")
		return
	}
	h.message(w, http.StatusOK, l, i18n.T(l, "form.sent.title"), i18n.T(l, "form.sent"), false)
}

// confirmPage shows a button: a GET (a mail scanner following the link)
// never confirms.
func (h *Handler) confirmPage(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	l := visitorLang(r)
	if ok, wait := h.perToken.allow(r.Context(), "f:"+tok); !ok {
		h.limited(w, r, wait)
		return
	}
	h.render(w, http.StatusOK, "confirm", view{Lang: l, Title: i18n.T(l, "confirm.title"), CSRF: h.csrf("confirm", tok), Base: "/f/confirm/" + tok})
}

func (h *Handler) confirm(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	l := visitorLang(r)
	if ok, wait := h.perToken.allow(r.Context(), "f:"+tok); !ok {
		h.limited(w, r, wait)
		return
	}
	if !h.csrfOK(r, "confirm", tok) {
		h.badCSRF(w, l)
		return
	}
	c, err := h.svc.Confirm(r.Context(), tok, h.client(r))
	if errors.Is(err, outreach.ErrUsed) {
		h.message(w, http.StatusOK, l, i18n.T(l, "confirm.title"), i18n.T(l, "confirm.used"), false)
		return
	}
	if err != nil {
		h.fail(w, l, err, "confirm opt-in")
		return
	}
	http.Redirect(w, r, "/p/"+c.Token+"?m=confirmed", http.StatusSeeOther)
}
