package selfservice

import (
	"net/http"
	"strings"

	"github.com/consento/consento/internal/i18n"
)

// unsubscribePage asks before unsubscribing: a GET never changes anything
// (RFC 8058 section 3.2).
func (h *Handler) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	if ok, wait := h.perToken.allow(r.Context(), "u:"+tok); !ok {
		h.limited(w, r, wait)
		return
	}
	p, pu, err := h.svc.UnsubscribePurpose(r.Context(), tok)
	if err != nil {
		h.fail(w, visitorLang(r), err, "unsubscribe page")
		return
	}
	l := p.Language
	name := pu.Texts[l].Name
	if name == "" {
		name = pu.Texts["en"].Name
	}
	h.render(w, http.StatusOK, "unsubscribe", view{Lang: l, Title: i18n.T(l, "unsub.title"), Base: "/u/" + tok, Data: name})
}

// unsubscribe is the one-click POST (RFC 8058): it withdraws at once, is
// idempotent and answers without a redirect. A browser posting the page's
// button gets a page; a mailbox provider gets a short text.
func (h *Handler) unsubscribe(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	if ok, wait := h.perToken.allow(r.Context(), "u:"+tok); !ok {
		h.limited(w, r, wait)
		return
	}
	p, _, err := h.svc.UnsubscribePurpose(r.Context(), tok)
	if err != nil {
		h.fail(w, visitorLang(r), err, "unsubscribe")
		return
	}
	if err := h.svc.Unsubscribe(r.Context(), tok, h.client(r)); err != nil {
		h.fail(w, p.Language, err, "unsubscribe")
		return
	}
	r.ParseMultipartForm(1 << 10)
	if r.PostFormValue("List-Unsubscribe") == "One-Click" || !strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("unsubscribed\n"))
		return
	}
	h.message(w, http.StatusOK, p.Language, i18n.T(p.Language, "unsub.title"), i18n.T(p.Language, "unsub.done"), false)
}
