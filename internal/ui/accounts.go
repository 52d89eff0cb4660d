package ui

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
)

// Staff users, the signed-in user's language and API tokens. Users are
// listed to everyone with "settings.edit"; only "users.manage" (admins)
// may create users, change roles or disable accounts.

func accountActor(p page) audit.Actor {
	return audit.Actor{Type: "user", ID: strconv.FormatInt(p.Session.User.ID, 10)}
}

// usersData is what templates/users.html gets.
type usersData struct {
	Users    []auth.User
	Roles    []string
	Created  *auth.User // the user just created,
	Password string     // with the password shown this once
	Form     struct{ Email, Name, Role string }
	Message  string // why the create form was refused
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, p page) {
	switch r.URL.Query().Get("done") {
	case "role":
		p.Flash = i18n.T(p.Lang, "users.flash.role")
	case "disabled":
		p.Flash = i18n.T(p.Lang, "users.flash.disabled")
	case "enabled":
		p.Flash = i18n.T(p.Lang, "users.flash.enabled")
	}
	s.renderUsers(w, r, p, &usersData{}, http.StatusOK)
}

func (s *Server) renderUsers(w http.ResponseWriter, r *http.Request, p page, d *usersData, status int) {
	us, err := s.auth.Users(r.Context())
	if err != nil {
		s.failErr(w, p, err, "list users")
		return
	}
	d.Users, d.Roles = us, auth.Roles
	if d.Form.Role == "" {
		d.Form.Role = auth.RoleStaff
	}
	p.Title, p.Data = i18n.T(p.Lang, "users.title"), d
	s.render(w, status, "users", p)
}

// generatePassword returns a random password of 26 base32 characters
// (130 bits).
func generatePassword() string { return rand.Text() }

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, p page) {
	d := &usersData{}
	d.Form.Email, d.Form.Name, d.Form.Role = strings.TrimSpace(r.PostFormValue("email")), strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("role")
	pw := generatePassword()
	u, err := s.auth.CreateUser(r.Context(), accountActor(p), d.Form.Email, d.Form.Name, d.Form.Role, pw)
	if de, ok := ledger.AsError(err); ok {
		d.Message = de.Message
		for _, f := range de.Fields {
			d.Message += "; " + f.Field + " " + f.Message
		}
		status := http.StatusUnprocessableEntity
		if de.Kind == ledger.KindConflict {
			status = http.StatusConflict
		}
		s.renderUsers(w, r, p, d, status)
		return
	}
	if err != nil {
		s.failErr(w, p, err, "create user")
		return
	}
	d.Created, d.Password, d.Form.Email, d.Form.Name, d.Form.Role = u, pw, "", "", ""
	p.Flash = i18n.T(p.Lang, "users.flash.created", u.Email)
	s.renderUsers(w, r, p, d, http.StatusOK)
}

// targetUser reads the {id} of a user action; ok is false when it failed
// the request already.
func (s *Server) targetUser(w http.ResponseWriter, r *http.Request, p page) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return 0, false
	}
	return id, true
}

// accountError answers a refused user or token change.
func (s *Server) accountError(w http.ResponseWriter, p page, err error, what string) {
	if de, ok := ledger.AsError(err); ok {
		status := http.StatusUnprocessableEntity
		if de.Kind == ledger.KindNotFound {
			status = http.StatusNotFound
		}
		msg := de.Message
		for _, f := range de.Fields {
			msg += "; " + f.Field + " " + f.Message
		}
		s.fail(w, p, status, i18n.T(p.Lang, "error.invalid", msg))
		return
	}
	s.log.Error(what, "err", err)
	s.fail(w, p, http.StatusInternalServerError, i18n.T(p.Lang, "error.internal"))
}

func (s *Server) setUserRole(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := s.targetUser(w, r, p)
	if !ok {
		return
	}
	role := r.PostFormValue("role")
	if id == p.Session.User.ID && role != p.Session.User.Role {
		s.fail(w, p, http.StatusUnprocessableEntity, i18n.T(p.Lang, "users.error.self_role"))
		return
	}
	if err := s.auth.SetRole(r.Context(), accountActor(p), id, role); err != nil {
		s.accountError(w, p, err, "set user role")
		return
	}
	http.Redirect(w, r, "/settings/users?done=role", http.StatusSeeOther)
}

func (s *Server) setUserDisabled(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := s.targetUser(w, r, p)
	if !ok {
		return
	}
	disabled := r.PostFormValue("disabled") == "1"
	if id == p.Session.User.ID && disabled {
		s.fail(w, p, http.StatusUnprocessableEntity, i18n.T(p.Lang, "users.error.self_disable"))
		return
	}
	if err := s.auth.SetDisabled(r.Context(), accountActor(p), id, disabled); err != nil {
		s.accountError(w, p, err, "set user disabled")
		return
	}
	done := "enabled"
	if disabled {
		done = "disabled"
	}
	http.Redirect(w, r, "/settings/users?done="+done, http.StatusSeeOther)
}

// setLanguage changes the signed-in user's own language and goes back to
// the page the form was on.
func (s *Server) setLanguage(w http.ResponseWriter, r *http.Request, p page) {
	lang := r.PostFormValue("language")
	if !slices.Contains(ledger.Languages, lang) || !i18n.Supported(lang) {
		s.fail(w, p, http.StatusUnprocessableEntity, i18n.T(p.Lang, "language.invalid"))
		return
	}
	if err := s.auth.SetLanguage(r.Context(), accountActor(p), p.Session.User.ID, lang); err != nil {
		s.accountError(w, p, err, "set language")
		return
	}
	back := "/dashboard"
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Path != "" && strings.HasPrefix(ref.Path, "/") && !strings.HasPrefix(ref.Path, "//") {
		back = ref.Path
		if ref.RawQuery != "" {
			back += "?" + ref.RawQuery
		}
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// tokensData is what templates/tokens.html gets.
type tokensData struct {
	Tokens  []auth.TokenInfo
	Scopes  []string
	Created *auth.Token // the token just created,
	Secret  string      // with its secret shown this once
	Form    struct {
		Name, Days string
		Scopes     map[string]bool
	}
	Message string
	Now     time.Time
}

func (s *Server) tokensPage(w http.ResponseWriter, r *http.Request, p page) {
	if r.URL.Query().Get("done") == "revoked" {
		p.Flash = i18n.T(p.Lang, "tokens.flash.revoked")
	}
	s.renderTokens(w, r, p, &tokensData{}, http.StatusOK)
}

func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, p page, d *tokensData, status int) {
	ts, err := s.auth.Tokens(r.Context())
	if err != nil {
		s.failErr(w, p, err, "list tokens")
		return
	}
	// Offer only the scopes the member's role grants: a token never lifts
	// its creator above their role.
	d.Tokens, d.Scopes, d.Now = ts, auth.ScopesFor(p.Session.User.Role), time.Now()
	p.Title, p.Data = i18n.T(p.Lang, "tokens.title"), d
	s.render(w, status, "tokens", p)
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p page) {
	d := &tokensData{}
	if err := r.ParseForm(); err != nil {
		s.fail(w, p, http.StatusBadRequest, i18n.T(p.Lang, "error.invalid", err.Error()))
		return
	}
	d.Form.Name, d.Form.Days, d.Form.Scopes = strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("days")), map[string]bool{}
	scopes := r.PostForm["scope"]
	for _, sc := range scopes {
		d.Form.Scopes[sc] = true
	}
	var ttl time.Duration
	if d.Form.Days != "" {
		n, err := strconv.Atoi(d.Form.Days)
		if err != nil || n < 1 || n > 3650 {
			d.Message = i18n.T(p.Lang, "tokens.error.days")
			s.renderTokens(w, r, p, d, http.StatusUnprocessableEntity)
			return
		}
		ttl = time.Duration(n) * 24 * time.Hour
	}
	t, secret, err := s.auth.CreateTokenAs(r.Context(), accountActor(p), p.Session.User.Role, d.Form.Name, scopes, ttl)
	if de, ok := ledger.AsError(err); ok {
		d.Message = de.Message
		for _, f := range de.Fields {
			d.Message += "; " + f.Field + " " + f.Message
		}
		s.renderTokens(w, r, p, d, http.StatusUnprocessableEntity)
		return
	}
	if err != nil {
		s.failErr(w, p, err, "create token")
		return
	}
	d.Created, d.Secret = t, secret
	d.Form.Name, d.Form.Days, d.Form.Scopes = "", "", nil
	p.Flash = i18n.T(p.Lang, "tokens.flash.created", t.Name)
	s.renderTokens(w, r, p, d, http.StatusOK)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p page) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	if err := s.auth.RevokeToken(r.Context(), accountActor(p), id); err != nil {
		s.accountError(w, p, err, "revoke token")
		return
	}
	http.Redirect(w, r, "/settings/tokens?done=revoked", http.StatusSeeOther)
}
