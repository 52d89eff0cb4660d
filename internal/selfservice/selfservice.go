// Package selfservice serves the public pages data subjects use without
// an account: the personal preference page (/p/), hosted web forms with
// double opt-in (/f/), one-click unsubscribe (/u/, RFC 8058) and the
// Global Privacy Control statement (/.well-known/gpc.json). Every page is
// rate limited per IP and per token, sends a strict Content-Security-Policy
// and never tells whether an e-mail address is known, not even by how long
// it takes to answer: work that depends on the address is queued and done
// after the answer (outreach.RunPublicRequests must run beside the pages).
package selfservice

import (
	"bytes"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/input"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/netx"
	"github.com/consento/consento/internal/outreach"
	"github.com/consento/consento/internal/ratelimit"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

var pageNames = []string{"message", "link", "preferences", "form", "confirm", "unsubscribe"}

// Options tune the handler.
type Options struct {
	// PerIP is the sustained requests per second one IP address may make
	// (default 5, burst 30); PerToken the same for one link (default 2,
	// burst 20). Zero keeps the default, negative switches the limit off.
	// The limits live in the database: all instances share them.
	PerIP, PerToken float64
	// Proxies are the load balancers whose X-Forwarded-For names the
	// client: for the rate limits and the IP address kept as evidence.
	Proxies netx.Proxies
}

// Handler serves the public pages.
type Handler struct {
	proxies  netx.Proxies
	svc      *outreach.Service
	log      *slog.Logger
	pages    map[string]*template.Template
	mux      *http.ServeMux
	perIP    *limiter
	perToken *limiter
	cop      *http.CrossOriginProtection
}

// New builds the handler and checks its templates and wording.
func New(svc *outreach.Service, log *slog.Logger, opts Options) (*Handler, error) {
	if err := i18n.Check(); err != nil {
		return nil, err
	}
	h := &Handler{svc: svc, log: log, pages: map[string]*template.Template{}, mux: http.NewServeMux(), cop: http.NewCrossOriginProtection()}
	h.proxies = opts.Proxies
	limits := ratelimit.New(svc.DB())
	h.perIP = newLimiter(limits, log, "public/ip", opts.PerIP, 5, 30)
	h.perToken = newLimiter(limits, log, "public/link", opts.PerToken, 2, 20)
	funcs := template.FuncMap(i18n.TemplateFuncs())
	funcs["list"] = func(v ...string) []string { return v }
	funcs["facts"] = func(lang string, p outreach.PurposeChoice) facts {
		return facts{Lang: lang, Basis: string(p.LegalBasis), State: string(p.State), Purpose: p}
	}
	funcs["source"] = sourceName
	for _, name := range pageNames {
		for _, lang := range i18n.Languages() {
			t, err := parsePage(name, lang, funcs)
			if err != nil {
				return nil, err
			}
			h.pages[name+"/"+lang] = t
		}
	}
	css, err := assetFS.ReadFile("assets/public.css")
	if err != nil {
		return nil, err
	}
	h.mux.HandleFunc("GET /p/assets/public.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write(css)
	})
	h.mux.HandleFunc("GET /.well-known/gpc.json", h.gpc)
	h.mux.HandleFunc("GET /p/{$}", h.linkPage)
	h.mux.HandleFunc("POST /p/{$}", h.requestLink)
	h.mux.HandleFunc("GET /p/{token}", h.preferencesPage)
	h.mux.HandleFunc("POST /p/{token}/consent", h.withPerson(h.setConsent))
	h.mux.HandleFunc("POST /p/{token}/contact", h.withPerson(h.rectify))
	h.mux.HandleFunc("POST /p/{token}/erasure", h.withPerson(h.erasure))
	h.mux.HandleFunc("GET /p/{token}/data.json", h.withPerson(h.export))
	h.mux.HandleFunc("GET /f/confirm/{token}", h.confirmPage)
	h.mux.HandleFunc("POST /f/confirm/{token}", h.confirm)
	h.mux.HandleFunc("GET /f/{key}", h.formPage)
	h.mux.HandleFunc("POST /f/{key}", h.submitForm)
	h.mux.HandleFunc("GET /u/{token}", h.unsubscribePage)
	h.mux.HandleFunc("POST /u/{token}", h.unsubscribe)
	return h, nil
}

// ServeHTTP applies the security headers, the per-IP rate limit and, for
// everything but one-click unsubscribe, cross-origin protection.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	frame := "'none'"
	if strings.HasPrefix(r.URL.Path, "/f/") && !strings.HasPrefix(r.URL.Path, "/f/confirm/") {
		frame = "*" // hosted forms may be embedded (the snippet is an iframe)
	}
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors "+frame)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	if ok, wait := h.perIP.allow(r.Context(), h.proxies.ClientIP(r)); !ok {
		h.limited(w, r, wait)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if e := input.CheckRequest(r); e != nil {
		l := visitorLang(r)
		if e.Where == "path" {
			h.message(w, http.StatusNotFound, l, i18n.T(l, "error.title"), i18n.T(l, "public.error.notfound"), false)
		} else {
			h.message(w, http.StatusUnprocessableEntity, l, i18n.T(l, "error.title"), i18n.T(l, "public.error.invalid"), false)
		}
		return
	}
	if strings.HasPrefix(r.URL.Path, "/u/") {
		// RFC 8058: the mailbox provider posts without cookies or origin;
		// the token is the authorisation.
		h.mux.ServeHTTP(w, r)
		return
	}
	h.cop.Handler(h.mux).ServeHTTP(w, r)
}

func (h *Handler) limited(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	l := visitorLang(r)
	h.message(w, http.StatusTooManyRequests, l, i18n.T(l, "error.title"), i18n.T(l, "error.limited"), false)
}

// staticT is a translation with a fixed key in a template.
var staticT = regexp.MustCompile(`\{\{t (?:\$l|\.Lang) "([a-z0-9_.]+)"\}\}`)

// parsePage parses a page for one language, with every fixed translation
// written into the template as text (escaped): the public pages are hot,
// and a template function call per word costs more than the rest of the
// page.
func parsePage(name, lang string, funcs template.FuncMap) (*template.Template, error) {
	t := template.New("layout.html").Funcs(funcs)
	for _, file := range []string{"layout.html", name + ".html"} {
		src, err := templateFS.ReadFile("templates/" + file)
		if err != nil {
			return nil, err
		}
		text := staticT.ReplaceAllStringFunc(string(src), func(m string) string {
			return template.HTMLEscapeString(i18n.T(lang, staticT.FindStringSubmatch(m)[1]))
		})
		tt := t
		if file != "layout.html" {
			tt = t.New(file)
		}
		if _, err := tt.Parse(text); err != nil {
			return nil, fmt.Errorf("selfservice: template %s: %w", file, err)
		}
	}
	return t, nil
}

// facts is one purpose's legal basis, state and source on the preference
// page.
type facts struct {
	Lang, Basis, State string
	Purpose            outreach.PurposeChoice
}

// sourceName is the reader's word for a source: Consento's label for a
// built-in source, else the name the staff gave it, else its key.
func sourceName(lang, key, name string) string {
	if l := i18n.Label(lang, "source", key); l != key || name == "" {
		return l
	}
	return name
}

// view is what every template gets.
type view struct {
	Lang, Title, Flash, Error string
	CSRF                      string
	Base                      string // the page's own path (token pages)
	Controller, PrivacyURL    string
	Data                      any
}

func (h *Handler) render(w http.ResponseWriter, status int, name string, v view) {
	cfg := h.svc.Config()
	if v.Controller == "" {
		v.Controller = cfg.Controller
	}
	if v.PrivacyURL == "" {
		v.PrivacyURL = cfg.PrivacyURL
	}
	var buf bytes.Buffer
	t := h.pages[name+"/"+v.Lang]
	if t == nil {
		t = h.pages[name+"/en"]
	}
	if err := t.Execute(&buf, v); err != nil {
		h.log.Error("render public page", "page", name, "err", err)
		http.Error(w, i18n.T(v.Lang, "public.error.internal"), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type messageData struct {
	Text    string
	NewLink bool
}

func (h *Handler) message(w http.ResponseWriter, status int, lang, title, text string, newLink bool) {
	h.render(w, status, "message", view{Lang: lang, Title: title, Data: messageData{Text: text, NewLink: newLink}})
}

// fail answers an error: invalid links and unknown pages with their own
// message, anything else logged (never with the token) as a generic 500.
func (h *Handler) fail(w http.ResponseWriter, lang string, err error, what string) {
	title := i18n.T(lang, "error.title")
	switch {
	case errors.Is(err, outreach.ErrInvalidToken):
		h.message(w, http.StatusNotFound, lang, title, i18n.T(lang, "error.link"), true)
	case errors.Is(err, outreach.ErrNotFound):
		h.message(w, http.StatusNotFound, lang, title, i18n.T(lang, "public.error.notfound"), false)
	default:
		if de, ok := ledger.AsError(err); ok {
			if de.Kind == ledger.KindNotFound || de.Kind == ledger.KindGone || de.Kind == ledger.KindLocked {
				h.message(w, http.StatusNotFound, lang, title, i18n.T(lang, "error.link"), true)
				return
			}
			h.message(w, http.StatusUnprocessableEntity, lang, title, i18n.T(lang, "public.error.invalid"), false)
			return
		}
		h.log.Error(what, "err", err)
		h.message(w, http.StatusInternalServerError, lang, title, i18n.T(lang, "public.error.internal"), false)
	}
}

// csrf is the form token of a page: an HMAC of what the page is about, so
// no server-side state is needed; cross-origin protection comes first.
func (h *Handler) csrf(parts ...string) string {
	return hex.EncodeToString(h.svc.MAC(append([]string{"csrf"}, parts...)...)[:16])
}

func (h *Handler) csrfOK(r *http.Request, parts ...string) bool {
	return subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(h.csrf(parts...))) == 1
}

func (h *Handler) badCSRF(w http.ResponseWriter, lang string) {
	h.message(w, http.StatusForbidden, lang, i18n.T(lang, "error.title"), i18n.T(lang, "public.error.csrf"), false)
}

// visitorLang is ?lang=, a posted lang, or Accept-Language, else English.
func visitorLang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); i18n.Supported(l) {
		return l
	}
	if r.Method == http.MethodPost {
		if l := r.PostFormValue("lang"); i18n.Supported(l) {
			return l
		}
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.Split(part, ";")[0]))
		if base, _, _ := strings.Cut(tag, "-"); i18n.Supported(base) {
			return base
		}
	}
	return "en"
}

func (h *Handler) client(r *http.Request) outreach.Client {
	return outreach.Client{IP: h.proxies.ClientIP(r), UserAgent: r.UserAgent()}
}

// gpc states that Consento honours Global Privacy Control.
func (h *Handler) gpc(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=86400")
	fmt.Fprintf(w, `{"gpc": true, "lastUpdate": %q}`+"\n", gpcLastUpdate)
}

// gpcLastUpdate is when Consento's GPC handling last changed.
const gpcLastUpdate = "2026-11-25"
