// Package ui is the staff web UI: server-rendered pages in English, German
// and Danish, with sessions kept in the database, CSRF protection on every
// form and roles enforced on every page and action.
package ui

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/input"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/netx"
	"github.com/consento/consento/internal/outreach"
	"github.com/consento/consento/internal/webhook"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

const sessionCookie = "consento_session"

// pageNames are the templates (templates/<name>.html, each rendered inside
// layout.html, with the shared pieces of partials.html) the UI parses and
// checks at start.
var pageNames = []string{"login", "dashboard", "contacts", "contact", "contact_new", "error", "audit", "listcheck", "settings_purposes", "settings_purpose", "settings_sources", "settings_fields", "users", "tokens"}

// Permissions by role: what each staff role may do.
var permissions = map[string]map[string]bool{
	auth.RoleAdmin:          {"contacts.view": true, "contacts.edit": true, "contacts.export": true, "consents.record": true, "lists.check": true, "audit.view": true, "settings.edit": true, "users.manage": true},
	auth.RolePrivacyOfficer: {"contacts.view": true, "contacts.edit": true, "contacts.export": true, "consents.record": true, "lists.check": true, "audit.view": true, "settings.edit": true},
	auth.RoleStaff:          {"contacts.view": true, "contacts.edit": true, "contacts.export": true, "consents.record": true, "lists.check": true},
	auth.RoleMarketing:      {"contacts.view": true, "contacts.export": true, "lists.check": true},
}

// Can reports whether role may do action.
func Can(role, action string) bool { return permissions[role][action] }

// Server serves the staff UI.
type Server struct {
	ledger *ledger.Service
	auth   *auth.Service
	log    *slog.Logger
	secure bool // cookies only over HTTPS
	pages  map[string]*template.Template
	mux    *http.ServeMux
	checks checkStore // list check results, for their downloads
	routes []Route
	// proxies are the load balancers trusted to name the client.
	proxies netx.Proxies

	// out serves the e-mail and self-service pages; nil until EnableOutreach.
	out *outreach.Service

	// webhookSvc sends webhooks; nil until EnableWebhooks (a strict default).
	webhookSvc *webhook.Service
}

// Route is a page or action of the UI and the permission it needs ("" for
// any signed-in user).
type Route struct{ Pattern, Permission string }

// Routes lists every page and action behind a sign-in, for the tests that
// try each with each role.
func (s *Server) Routes() []Route { return s.routes }

// handle registers a page or action for signed-in users with permission.
func (s *Server) handle(pattern, permission string, h func(http.ResponseWriter, *http.Request, page)) {
	s.routes = append(s.routes, Route{pattern, permission})
	s.mux.HandleFunc(pattern, s.signedIn(permission, h))
}

// New builds the UI; secure marks cookies Secure (public URL is https).
func New(l *ledger.Service, a *auth.Service, log *slog.Logger, secure bool) (*Server, error) {
	if err := i18n.Check(); err != nil {
		return nil, err
	}
	s := &Server{ledger: l, auth: a, log: log, secure: secure, pages: map[string]*template.Template{}, mux: http.NewServeMux()}
	funcs := template.FuncMap(i18n.TemplateFuncs())
	funcs["joinln"] = func(ss []string) string { return strings.Join(ss, ", ") }
	funcs["list"] = func(v ...string) []string { return v }
	for k, f := range labelFuncs() {
		funcs[k] = f
	}
	funcs["fieldMessage"] = fieldMessage
	for _, page := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("ui: template %s: %w", page, err)
		}
		s.pages[page] = t
	}
	static, _ := fs.Sub(staticFS, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("POST /login", s.login)
	s.handle("POST /logout", "", s.logout)
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/dashboard", http.StatusSeeOther) })
	s.handle("GET /contacts", "contacts.view", s.contacts)
	s.handle("GET /contacts/{id}", "contacts.view", s.contact)
	s.handle("POST /contacts/{id}/consents", "consents.record", s.recordConsent)
	s.handle("POST /contacts/check", "lists.check", s.checkSelected)
	s.handle("POST /contacts/export.xlsx", "contacts.export", s.exportSelected)
	// More pages register here, one line each.
	s.handle("POST /requests/{id}/report-email", "requests.manage", s.requestReportEmail)
	s.handle("GET /outbox/{id}/attachments/{n}", "outbox.view", s.needOutreach(s.outboxAttachment))
	s.recipientRoutes()
	s.holidayRoutes()
	s.webhookRoutes()
	s.rightsRoutes()
	s.recordRoutes()
	s.breachRoutes()
	s.sensitiveRoutes()
	s.retentionRoutes()
	s.handle("GET /outbox", "outbox.view", s.needOutreach(s.outbox))
	s.handle("GET /outbox/{id}", "outbox.view", s.needOutreach(s.outboxMail))
	s.handle("POST /outbox/{id}/retry", "outbox.view", s.needOutreach(s.outboxRetry))
	s.handle("GET /settings/mail-templates", "settings.edit", s.needOutreach(s.mailTemplates))
	s.handle("GET /settings/mail-templates/{name}/{lang}", "settings.edit", s.needOutreach(s.mailTemplate))
	s.handle("POST /settings/mail-templates/{name}/{lang}", "settings.edit", s.needOutreach(s.saveMailTemplate))
	s.handle("GET /settings/forms", "settings.edit", s.needOutreach(s.forms))
	s.handle("POST /settings/forms", "settings.edit", s.needOutreach(s.saveForm))
	s.handle("POST /settings/selfservice", "settings.edit", s.needOutreach(s.saveSelfServiceSettings))
	s.handle("GET /consent-requests", "consents.request", s.needOutreach(s.consentRequests))
	s.routes = append(s.routes, Route{"POST /consent-requests", "consents.request"})
	s.mux.HandleFunc("POST /consent-requests", limitBody(maxRecipientList+64<<10, s.signedIn("consents.request", s.needOutreach(s.createConsentRequest))))
	s.handle("GET /selfservice-requests", "selfservice.requests", s.needOutreach(s.selfServiceRequests))
	s.handle("POST /selfservice-requests/{id}", "selfservice.requests", s.needOutreach(s.closeSelfServiceRequest))
	s.handle("POST /contacts/{id}/preference-link", "contacts.edit", s.needOutreach(s.renewLink))
	s.handle("POST /contacts/filters", "lists.check", s.saveFilter)
	s.handle("POST /contacts/filters/{id}/delete", "lists.check", s.deleteFilter)
	s.handle("GET /contacts/new", "contacts.edit", s.newContact)
	s.handle("POST /contacts", "contacts.edit", s.createContact)
	s.handle("GET /evidence/{sha256}", "contacts.view", s.evidence)
	s.handle("GET /settings", "settings.edit", s.settingsIndex)
	s.handle("GET /settings/purposes", "settings.edit", s.settingsPurposes)
	s.handle("POST /settings/purposes", "settings.edit", s.settingsCreatePurpose)
	s.handle("GET /settings/purposes/{key}", "settings.edit", s.settingsPurpose)
	s.handle("POST /settings/purposes/{key}", "settings.edit", s.settingsUpdatePurpose)
	s.handle("POST /settings/purposes/{key}/archive", "settings.edit", s.settingsArchivePurpose)
	s.handle("GET /settings/sources", "settings.edit", s.settingsSources)
	s.handle("POST /settings/sources", "settings.edit", s.settingsCreateSource)
	s.handle("POST /settings/sources/{key}", "settings.edit", s.settingsUpdateSource)
	s.handle("GET /settings/fields", "settings.edit", s.settingsFields)
	s.handle("POST /settings/fields", "settings.edit", s.settingsCreateField)
	s.handle("GET /dashboard", "contacts.view", s.dashboard)
	s.handle("GET /settings/users", "settings.edit", s.usersPage)
	s.handle("POST /settings/users", "users.manage", s.createUser)
	s.handle("POST /settings/users/{id}/role", "users.manage", s.setUserRole)
	s.handle("POST /settings/users/{id}/disabled", "users.manage", s.setUserDisabled)
	s.handle("POST /settings/language", "", s.setLanguage)
	s.handle("GET /settings/tokens", "settings.edit", s.tokensPage)
	s.handle("POST /settings/tokens", "settings.edit", s.createToken)
	s.handle("POST /settings/tokens/{id}/revoke", "settings.edit", s.revokeToken)
	s.handle("GET /lists/check", "lists.check", s.listCheckPage)
	s.routes = append(s.routes, Route{"POST /lists/check", "lists.check"})
	s.mux.HandleFunc("POST /lists/check", s.limitUpload(s.signedIn("lists.check", s.listCheckRun)))
	s.handle("GET /lists/check/{id}/permitted.csv", "lists.check", s.listCheckPermitted)
	s.handle("GET /lists/check/{id}/blocked.csv", "lists.check", s.listCheckBlocked)
	s.handle("GET /contacts/{id}/legal-basis.xlsx", "contacts.export", s.exportLegal)
	s.handle("GET /audit", "audit.view", s.auditLog)
	s.handle("POST /audit/verify", "audit.view", s.verifyAudit)
	return s, nil
}

// ServeHTTP serves the UI with security headers and cross-origin
// protection of every unsafe request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if e := input.CheckRequest(r); e != nil {
		l := lang(r)
		if e.Where == "path" {
			s.fail(w, page{Lang: l}, http.StatusNotFound, i18n.T(l, "error.notfound"))
		} else {
			s.fail(w, page{Lang: l}, http.StatusUnprocessableEntity, i18n.T(l, "error.invalid", e.Error()))
		}
		return
	}
	http.NewCrossOriginProtection().Handler(s.mux).ServeHTTP(w, r)
}

type ctxKey struct{}

// page is what every template gets.
type page struct {
	Lang    string
	Session *auth.Session
	Title   string
	Flash   string
	Error   string
	Data    any
}

func (p page) Can(action string) bool { return p.Session != nil && Can(p.Session.User.Role, action) }

func (s *Server) render(w http.ResponseWriter, status int, name string, p page) {
	var buf bytes.Buffer
	if err := s.pages[name].Execute(&buf, p); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, i18n.T(p.Lang, "error.internal"), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// failErr answers err: a domain error with its status and its message,
// anything else is logged (as what) and answered with a generic 500 that
// tells nothing of the cause.
func (s *Server) failErr(w http.ResponseWriter, p page, err error, what string) {
	if de, ok := ledger.AsError(err); ok {
		msg := i18n.T(p.Lang, "error.invalid", problemText(p.Lang, de))
		if de.Kind == ledger.KindNotFound {
			msg = i18n.T(p.Lang, "error.notfound")
		}
		s.fail(w, p, domainStatus(de), msg)
		return
	}
	s.log.Error(what, "err", err)
	s.fail(w, p, http.StatusInternalServerError, i18n.T(p.Lang, "error.internal"))
}

// domainStatus is the HTTP status of a domain error.
func domainStatus(de *ledger.Error) int {
	switch de.Kind {
	case ledger.KindNotFound:
		return http.StatusNotFound
	case ledger.KindLocked:
		return http.StatusLocked
	}
	return http.StatusUnprocessableEntity // the form is shown again with the message
}

// renderFragment renders one template of a page alone: the answer to an
// htmx request that replaces part of the page.
func (s *Server) renderFragment(w http.ResponseWriter, status int, name, fragment string, p page) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, fragment, p); err != nil {
		s.log.Error("render fragment", "page", name, "fragment", fragment, "err", err)
		http.Error(w, i18n.T(p.Lang, "error.internal"), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Vary", "HX-Request")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (s *Server) fail(w http.ResponseWriter, p page, status int, msg string) {
	p.Error = msg
	s.render(w, status, "error", p)
}

// signedIn requires a session whose role may do action ("" = any role);
// unsafe methods must also carry the session's CSRF token.
func (s *Server) signedIn(action string, h func(http.ResponseWriter, *http.Request, page)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		var se *auth.Session
		if err == nil {
			if se, err = s.auth.Session(r.Context(), c.Value); err != nil {
				s.log.Error("session lookup", "err", err)
				http.Error(w, i18n.T(lang(r), "error.internal"), http.StatusInternalServerError)
				return
			}
		}
		if se == nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		p := page{Lang: se.User.Language, Session: se}
		if action != "" && !Can(se.User.Role, action) {
			s.fail(w, p, http.StatusForbidden, i18n.T(p.Lang, "error.forbidden"))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(se.CSRF)) != 1 {
				s.fail(w, p, http.StatusForbidden, i18n.T(p.Lang, "error.csrf"))
				return
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, se)), p)
	}
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "login", page{Lang: lang(r), Title: i18n.T(lang(r), "login.title")})
}

// lang picks the visitor's language from Accept-Language (before login).
func lang(r *http.Request) string {
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.Split(part, ";")[0]))
		if base, _, _ := strings.Cut(tag, "-"); i18n.Supported(base) {
			return base
		}
	}
	return "en"
}

// TrustProxies makes the UI read the client's address (for login
// throttling) from X-Forwarded-For when the peer is one of ps.
func (s *Server) TrustProxies(ps netx.Proxies) { s.proxies = ps }

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	l := lang(r)
	u, err := s.auth.Authenticate(r.Context(), r.PostFormValue("email"), r.PostFormValue("password"), s.proxies.ClientIP(r))
	if te := (*auth.ThrottledError)(nil); errors.As(err, &te) {
		secs := int(math.Ceil(te.RetryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		s.render(w, http.StatusTooManyRequests, "login", page{Lang: l, Title: i18n.T(l, "login.title"), Error: i18n.T(l, "login.throttled", max(secs, 1))})
		return
	}
	if errors.Is(err, auth.ErrBadLogin) {
		s.render(w, http.StatusUnauthorized, "login", page{Lang: l, Title: i18n.T(l, "login.title"), Error: i18n.T(l, "login.failed")})
		return
	}
	if err != nil {
		s.log.Error("login", "err", err)
		s.fail(w, page{Lang: l}, http.StatusInternalServerError, i18n.T(l, "error.internal"))
		return
	}
	token, err := s.auth.CreateSession(r.Context(), u.ID)
	if err != nil {
		s.log.Error("create session", "err", err)
		s.fail(w, page{Lang: l}, http.StatusInternalServerError, i18n.T(l, "error.internal"))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(auth.SessionTTL.Seconds())})
	http.Redirect(w, r, "/contacts", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, p page) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.auth.EndSession(r.Context(), c.Value); err != nil {
			s.log.Error("end session", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: s.secure, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
