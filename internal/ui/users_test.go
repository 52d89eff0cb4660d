package ui_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/storetest"
	"github.com/consento/consento/internal/ui"
)

var (
	newPasswordRe = regexp.MustCompile(`<code id="new-password">([^<]+)</code>`)
	newSecretRe   = regexp.MustCompile(`<code id="new-secret">([^<]+)</code>`)
)

func findUser(t *testing.T, e *env, email string) auth.User {
	t.Helper()
	us, err := e.auth.Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		if u.Email == email {
			return u
		}
	}
	t.Fatalf("no user %s", email)
	return auth.User{}
}

func TestAdminManagesUsers(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		admin, au := e.user(auth.RoleAdmin, "")
		admin.login(au.Email, password)
		token := admin.csrf("/settings/users")

		// Create: the generated password is shown once and works.
		code, page, _ := admin.do("POST", "/settings/users", url.Values{"csrf": {token}, "email": {"Neu@Example.com"}, "name": {"Nina Neu"}, "role": {auth.RoleStaff}})
		m := newPasswordRe.FindStringSubmatch(page)
		if code != 200 || m == nil || !strings.Contains(page, "neu@example.com") {
			t.Fatalf("create user: %d\n%s", code, page)
		}
		pw := html.UnescapeString(m[1])
		if len(pw) < auth.MinPasswordLength {
			t.Fatalf("weak generated password %q", pw)
		}
		if _, page, _ := admin.do("GET", "/settings/users", nil); strings.Contains(page, pw) || !strings.Contains(page, "Nina Neu") {
			t.Fatal("the password is shown again, or the user is not listed")
		}
		nina := e.browser()
		if code := nina.login("neu@example.com", pw); code != http.StatusSeeOther {
			t.Fatalf("the new user cannot log in: %d", code)
		}
		if code, _, _ := nina.do("GET", "/contacts", nil); code != 200 {
			t.Fatalf("new user's session: %d", code)
		}
		if code, _, _ := admin.do("POST", "/settings/users", url.Values{"csrf": {token}, "email": {"neu@example.com"}, "role": {auth.RoleStaff}}); code != http.StatusConflict {
			t.Fatalf("duplicate user: %d", code)
		}
		if code, _, _ := admin.do("POST", "/settings/users", url.Values{"csrf": {token}, "email": {"x@example.com"}, "role": {"root"}}); code != http.StatusUnprocessableEntity {
			t.Fatalf("unknown role: %d", code)
		}
		id := itoa(findUser(t, e, "neu@example.com").ID)

		// Change the role.
		code, _, h := admin.do("POST", "/settings/users/"+id+"/role", url.Values{"csrf": {token}, "role": {auth.RoleMarketing}})
		if code != http.StatusSeeOther || h.Get("Location") != "/settings/users?done=role" {
			t.Fatalf("change role: %d", code)
		}
		if u := findUser(t, e, "neu@example.com"); u.Role != auth.RoleMarketing {
			t.Fatalf("role %s, want marketing", u.Role)
		}
		if code, _, _ := nina.do("GET", "/settings/users", nil); code != http.StatusForbidden {
			t.Fatalf("marketing on the users page: %d", code)
		}

		// Disable: the session stops working at once, and so does the login.
		if code, _, _ := admin.do("POST", "/settings/users/"+id+"/disabled", url.Values{"csrf": {token}, "disabled": {"1"}}); code != http.StatusSeeOther {
			t.Fatalf("disable: %d", code)
		}
		if u := findUser(t, e, "neu@example.com"); !u.Disabled {
			t.Fatal("not disabled")
		}
		if code, _, h := nina.do("GET", "/contacts", nil); code != http.StatusSeeOther || h.Get("Location") != "/login" {
			t.Fatalf("a disabled user's session still works: %d", code)
		}
		if code := e.browser().login("neu@example.com", pw); code != http.StatusUnauthorized {
			t.Fatalf("a disabled user can log in: %d", code)
		}
		if code, _, _ := admin.do("POST", "/settings/users/"+id+"/disabled", url.Values{"csrf": {token}, "disabled": {"0"}}); code != http.StatusSeeOther {
			t.Fatalf("enable: %d", code)
		}
		if code := e.browser().login("neu@example.com", pw); code != http.StatusSeeOther {
			t.Fatalf("an enabled user cannot log in: %d", code)
		}

		// Not oneself.
		self := itoa(au.ID)
		code, page, _ = admin.do("POST", "/settings/users/"+self+"/disabled", url.Values{"csrf": {token}, "disabled": {"1"}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "cannot disable your own account") {
			t.Fatalf("self-disable: %d", code)
		}
		code, page, _ = admin.do("POST", "/settings/users/"+self+"/role", url.Values{"csrf": {token}, "role": {auth.RoleStaff}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "cannot change your own role") {
			t.Fatalf("self-demotion: %d", code)
		}
		if u := findUser(t, e, au.Email); u.Disabled || u.Role != auth.RoleAdmin {
			t.Fatalf("admin changed: %+v", u)
		}
		if code, _, _ := admin.do("GET", "/contacts", nil); code != 200 {
			t.Fatal("the admin was signed out")
		}
		if code, _, _ := admin.do("POST", "/settings/users/999999/disabled", url.Values{"csrf": {token}, "disabled": {"1"}}); code != http.StatusNotFound {
			t.Fatalf("unknown user: %d", code)
		}

		// Every change is audited.
		_, page, _ = admin.do("GET", "/audit?action=user.update&object_id="+id, nil)
		if n := strings.Count(page, `data-action="user.update"`); n != 3 {
			t.Fatalf("%d user.update audit events, want 3", n)
		}
	})
}

func TestPrivacyOfficerSeesUsersButCannotManage(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		b, u := e.user(auth.RolePrivacyOfficer, "")
		b.login(u.Email, password)
		code, page, _ := b.do("GET", "/settings/users", nil)
		if code != 200 || !strings.Contains(page, u.Email) || strings.Contains(page, `action="/settings/users"`) {
			t.Fatalf("users page for a privacy officer: %d", code)
		}
		token := csrfRe.FindStringSubmatch(page)[1]
		if code, _, _ := b.do("POST", "/settings/users", url.Values{"csrf": {token}, "email": {"x@example.com"}, "role": {auth.RoleAdmin}}); code != http.StatusForbidden {
			t.Fatalf("privacy officer creates a user: %d", code)
		}
		if code, _, _ := b.do("POST", "/settings/users/"+itoa(u.ID)+"/role", url.Values{"csrf": {token}, "role": {auth.RoleAdmin}}); code != http.StatusForbidden {
			t.Fatalf("privacy officer changes a role: %d", code)
		}
		if code, _, _ := b.do("GET", "/settings/tokens", nil); code != 200 {
			t.Fatalf("privacy officer on tokens: %d", code)
		}
	})
}

func TestMarketingHasNoSettings(t *testing.T) {
	e := newEnv(t, storetest.SQLite)
	b, u := e.user(auth.RoleMarketing, "")
	b.login(u.Email, password)
	for _, path := range []string{"/settings/users", "/settings/tokens"} {
		if code, _, _ := b.do("GET", path, nil); code != http.StatusForbidden {
			t.Fatalf("marketing GET %s: %d", path, code)
		}
	}
	token := b.csrf("/contacts")
	for _, path := range []string{"/settings/users", "/settings/tokens", "/settings/tokens/1/revoke", "/settings/users/1/disabled"} {
		if code, _, _ := b.do("POST", path, url.Values{"csrf": {token}, "name": {"x"}, "scope": {"persons:read"}}); code != http.StatusForbidden {
			t.Fatalf("marketing POST %s: %d", path, code)
		}
	}
	if _, page, _ := b.do("GET", "/contacts", nil); strings.Contains(page, `href="/settings/users"`) {
		t.Fatal("marketing sees the users link")
	}
}

func TestOwnLanguage(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		b, u := e.user(auth.RoleMarketing, "")
		b.login(u.Email, password)
		token := b.csrf("/contacts")
		code, _, h := b.do("POST", "/settings/language", url.Values{"csrf": {token}, "language": {"da"}}, "Referer", e.srv.URL+"/contacts?q=gr")
		if code != http.StatusSeeOther || h.Get("Location") != "/contacts?q=gr" {
			t.Fatalf("set language: %d %s", code, h.Get("Location"))
		}
		if _, page, _ := b.do("GET", "/contacts", nil); !strings.Contains(page, `lang="da"`) || !strings.Contains(page, "Kontakter") {
			t.Fatal("the page is not in Danish")
		}
		if code, _, _ := b.do("POST", "/settings/language", url.Values{"csrf": {token}, "language": {"fr"}}); code != http.StatusUnprocessableEntity {
			t.Fatalf("unknown language: %d", code)
		}
		if code, _, _ := b.do("POST", "/settings/language", url.Values{"language": {"de"}}); code != http.StatusForbidden {
			t.Fatalf("without CSRF: %d", code)
		}
		if u := findUser(t, e, u.Email); u.Language != "da" {
			t.Fatalf("language %s", u.Language)
		}
	})
}

func TestAPITokens(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		b, u := e.user(auth.RolePrivacyOfficer, "")
		b.login(u.Email, password)
		token := b.csrf("/settings/tokens")
		code, page, _ := b.do("POST", "/settings/tokens", url.Values{"csrf": {token}, "name": {"CRM sync"}, "scope": {"persons:read", "consents:read"}, "days": {"30"}})
		m := newSecretRe.FindStringSubmatch(page)
		if code != 200 || m == nil {
			t.Fatalf("create token: %d\n%s", code, page)
		}
		secret := m[1]
		tok, err := e.auth.LookupToken(ctx, secret)
		if err != nil || tok.Name != "CRM sync" || !tok.Has("persons:read") || !tok.Has("consents:read") || tok.Has("persons:write") || tok.ExpiresAt == nil {
			t.Fatalf("lookup: %+v %v", tok, err)
		}
		_, page, _ = b.do("GET", "/settings/tokens", nil)
		if strings.Contains(page, secret) || !strings.Contains(page, "CRM sync") || !strings.Contains(page, secret[:10]) {
			t.Fatal("the list shows the secret, or not the token")
		}
		for _, bad := range []url.Values{
			{"name": {""}, "scope": {"persons:read"}},
			{"name": {"x"}},
			{"name": {"x"}, "scope": {"root"}},
			{"name": {"x"}, "scope": {"persons:read"}, "days": {"-1"}},
		} {
			bad.Set("csrf", token)
			if code, _, _ := b.do("POST", "/settings/tokens", bad); code != http.StatusUnprocessableEntity {
				t.Fatalf("bad token form %v: %d", bad, code)
			}
		}
		code, _, h := b.do("POST", "/settings/tokens/"+itoa(tok.ID)+"/revoke", url.Values{"csrf": {token}})
		if code != http.StatusSeeOther || h.Get("Location") != "/settings/tokens?done=revoked" {
			t.Fatalf("revoke: %d", code)
		}
		if _, err := e.auth.LookupToken(ctx, secret); err != auth.ErrBadToken {
			t.Fatalf("a revoked token still works: %v", err)
		}
		if _, page, _ = b.do("GET", "/settings/tokens?done=revoked", nil); !strings.Contains(page, "Token revoked.") || strings.Contains(page, `action="/settings/tokens/`+itoa(tok.ID)+`/revoke"`) {
			t.Fatal("revoked token still offers revoke")
		}
		if code, _, _ := b.do("POST", "/settings/tokens/"+itoa(tok.ID)+"/revoke", url.Values{"csrf": {token}}); code != http.StatusNotFound {
			t.Fatalf("revoke twice: %d", code)
		}
	})
}

// scopeNeeds is what a member must be allowed in the staff UI to put a
// scope on an API token.
var scopeNeeds = map[string][]string{
	"persons:read":     {"contacts.view"},
	"persons:write":    {"contacts.edit"},
	"consents:read":    {"contacts.view"},
	"consents:write":   {"consents.record"},
	"config:read":      {"contacts.view"},
	"config:write":     {"settings.edit"},
	"audit:read":       {"audit.view"},
	"breaches:read":    {"breaches.manage"},
	"breaches:write":   {"breaches.manage"},
	"retention:read":   {"retention.manage"},
	"retention:write":  {"retention.manage"},
	"rights:read":      {"requests.view"},
	"rights:write":     {"requests.manage", "requests.erase"},
	"sensitive:unmask": {"sensitive.unmask"},
	"webhooks:admin":   {"webhooks.manage"},
}

// Every role × every scope on the API-token page: a scope is offered and
// accepted only when the role may do its work in the UI; any other is
// neither offered nor accepted (422, with the reason on the page), so a
// privacy officer cannot mint webhooks:admin. Roles that may not open the
// page get 403 for both.
func TestTokenPageGrantsOnlyTheRolesScopes(t *testing.T) {
	for _, sc := range auth.Scopes {
		if scopeNeeds[sc] == nil {
			t.Fatalf("scope %s is missing from scopeNeeds", sc)
		}
	}
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		for _, role := range auth.Roles {
			b, u := e.user(role, "")
			if code := b.login(u.Email, password); code != http.StatusSeeOther {
				t.Fatalf("%s login: %d", role, code)
			}
			code, page, _ := b.do("GET", "/settings/tokens", nil)
			if !ui.Can(role, "settings.edit") {
				if code != http.StatusForbidden {
					t.Fatalf("%s opens the token page: %d", role, code)
				}
				_, dash, _ := b.do("GET", "/dashboard", nil)
				csrf := csrfRe.FindStringSubmatch(dash)[1]
				for _, sc := range auth.Scopes {
					if code, _, _ := b.do("POST", "/settings/tokens", url.Values{"csrf": {csrf}, "name": {role + " " + sc}, "scope": {sc}}); code != http.StatusForbidden {
						t.Errorf("%s posts a token with %s: %d", role, sc, code)
					}
				}
				continue
			}
			csrf := csrfRe.FindStringSubmatch(page)[1]
			for _, sc := range auth.Scopes {
				may := true
				for _, need := range scopeNeeds[sc] {
					may = may && ui.Can(role, need)
				}
				offered := strings.Contains(page, `name="scope" value="`+sc+`"`)
				if offered != may {
					t.Errorf("%s is offered %s: %v, want %v", role, sc, offered, may)
				}
				code, answer, _ := b.do("POST", "/settings/tokens", url.Values{"csrf": {csrf}, "name": {role + " " + sc}, "scope": {sc}})
				switch {
				case may && code != http.StatusOK:
					t.Errorf("%s creates a token with %s: %d", role, sc, code)
				case !may && (code != http.StatusUnprocessableEntity || !strings.Contains(answer, sc+" is beyond what your role")):
					t.Errorf("%s creates a token with %s: %d, want 422 with the reason", role, sc, code)
				}
			}
		}
		ts, err := e.auth.Tokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range ts {
			role, sc, _ := strings.Cut(tok.Name, " ")
			if len(tok.Scopes) != 1 || tok.Scopes[0] != sc {
				t.Fatalf("token %q holds %v", tok.Name, tok.Scopes)
			}
			for _, need := range scopeNeeds[sc] {
				if !ui.Can(role, need) {
					t.Errorf("stored: a %s token with %s", role, sc)
				}
			}
		}
	})
}
