package ui_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
	"github.com/consento/consento/internal/ui"
)

const password = "correct horse battery staple"

type env struct {
	t      testing.TB
	srv    *httptest.Server
	db     *store.DB
	ledger *ledger.Service
	auth   *auth.Service
	ui     *ui.Server
	person *ledger.Person
}

// newEnv is a running UI on a fresh database with one person, Grete.
func newEnv(t testing.TB, e storetest.Engine) *env {
	t.Helper()
	env := newEmptyEnv(t, e)
	p, err := env.ledger.CreatePerson(context.Background(), audit.System, ledger.PersonInput{FirstName: "Grete", LastName: "Østergaard", Emails: []string{"grete@example.dk"}})
	if err != nil {
		t.Fatal(err)
	}
	env.person = p
	return env
}

// newEmptyEnv is a running UI on a fresh, seeded database without persons.
func newEmptyEnv(t testing.TB, e storetest.Engine) *env {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, e)
	l := ledger.New(db)
	if err := l.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	attachVault(t, db, l)
	a := auth.New(db)
	s, err := ui.New(l, a, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, db: db, ledger: l, auth: a, ui: s}
}

// browser is a client with its own cookie jar, as a browser tab would be.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) user(role, lang string) (*browser, *auth.User) {
	e.t.Helper()
	u, err := e.auth.CreateUser(context.Background(), audit.System, role+lang+"@example.com", role, role, password)
	if err != nil {
		e.t.Fatal(err)
	}
	if lang != "" {
		if err := e.auth.SetLanguage(context.Background(), audit.System, u.ID, lang); err != nil {
			e.t.Fatal(err)
		}
	}
	return e.browser(), u
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values, headers ...string) (int, string, http.Header) {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.e.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out), res.Header
}

func (b *browser) login(email, pw string) int {
	code, _, _ := b.do("POST", "/login", url.Values{"email": {email}, "password": {pw}})
	return code
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) csrf(path string) string {
	b.e.t.Helper()
	_, page, _ := b.do("GET", path, nil)
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		b.e.t.Fatalf("no CSRF token on %s", path)
	}
	return m[1]
}

func TestLoginSessionsAndLogout(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		b, u := e.user(auth.RoleStaff, "")
		if code, _, h := b.do("GET", "/contacts", nil); code != http.StatusSeeOther || h.Get("Location") != "/login" {
			t.Fatalf("signed out: %d %s", code, h.Get("Location"))
		}
		code, page, _ := b.do("POST", "/login", url.Values{"email": {u.Email}, "password": {"wrong password!"}})
		if code != http.StatusUnauthorized || !strings.Contains(page, "Wrong e-mail address or password") {
			t.Fatalf("wrong password: %d", code)
		}
		code, unknownPage, _ := b.do("POST", "/login", url.Values{"email": {"nobody@example.com"}, "password": {"wrong password!"}})
		if code != http.StatusUnauthorized || unknownPage != page {
			t.Fatal("an unknown account is answered differently from a wrong password")
		}
		if code := b.login(u.Email, password); code != http.StatusSeeOther {
			t.Fatalf("login: %d", code)
		}
		code, page, h := b.do("GET", "/contacts", nil)
		if code != 200 || !strings.Contains(page, "Østergaard") || !strings.Contains(page, "light-red") {
			t.Fatalf("contacts: %d", code)
		}
		if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Fatal("no Content-Security-Policy")
		}
		// Logging out ends the session in the database: the old cookie is useless.
		old := b.c.Jar.Cookies(mustURL(e.srv.URL))
		token := b.csrf("/contacts")
		if code, _, _ := b.do("POST", "/logout", url.Values{"csrf": {token}}); code != http.StatusSeeOther {
			t.Fatalf("logout: %d", code)
		}
		stale := e.browser()
		stale.c.Jar.SetCookies(mustURL(e.srv.URL), old)
		if code, _, _ := stale.do("GET", "/contacts", nil); code != http.StatusSeeOther {
			t.Fatalf("a logged-out session still works: %d", code)
		}
	})
}

// Past the free attempts the login page answers 429 with Retry-After and
// says how long to wait, in the visitor's language; it never checks the
// password meanwhile, not even the right one.
func TestFailedLoginsAreThrottled(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		now := time.Now()
		e.auth.SetClock(func() time.Time { return now })
		b, u := e.user(auth.RoleAdmin, "")
		for range auth.DefaultLoginLimits().Pair.Free {
			code, page, _ := b.do("POST", "/login", url.Values{"email": {u.Email}, "password": {"not the password"}})
			if code != http.StatusUnauthorized || !strings.Contains(page, "Wrong e-mail address or password.") {
				t.Fatalf("failed login: %d", code)
			}
		}
		code, page, h := b.do("POST", "/login", url.Values{"email": {u.Email}, "password": {password}})
		if code != http.StatusTooManyRequests || h.Get("Retry-After") != "1" || !strings.Contains(page, "Too many login attempts. Please try again in 1 s.") {
			t.Fatalf("after five failures the right password: %d, Retry-After %q", code, h.Get("Retry-After"))
		}
		code, page, _ = b.do("POST", "/login", url.Values{"email": {u.Email}, "password": {password}}, "Accept-Language", "de")
		if code != http.StatusTooManyRequests || !strings.Contains(page, "Zu viele Anmeldeversuche. Bitte in 1 s erneut versuchen.") {
			t.Fatalf("throttled, in German: %d", code)
		}
		now = now.Add(time.Second)
		if code := b.login(u.Email, password); code != http.StatusSeeOther {
			t.Fatalf("the right password after the wait: %d", code)
		}
	})
}

func TestCSRFAndCrossOriginPostsAreRefused(t *testing.T) {
	e := newEnv(t, storetest.SQLite)
	b, u := e.user(auth.RoleStaff, "")
	b.login(u.Email, password)
	path := "/contacts/" + itoa(e.person.ID) + "/consents"
	form := url.Values{"purpose": {"e_marketing"}, "kind": {"granted"}, "source": {"phone"}}
	if code, _, _ := b.do("POST", path, form); code != http.StatusForbidden {
		t.Fatalf("a form without its CSRF token: %d", code)
	}
	form.Set("csrf", b.csrf("/contacts/"+itoa(e.person.ID)))
	if code, _, _ := b.do("POST", path, form, "Sec-Fetch-Site", "cross-site"); code != http.StatusForbidden {
		t.Fatalf("a cross-site POST: %d", code)
	}
	if st, _ := e.ledger.ConsentFor(context.Background(), e.person.ID, "e_marketing"); st.State != "none" {
		t.Fatalf("a refused form changed the consent: %+v", st)
	}
}

// Every page and action × every role: a role without the permission gets
// 403 and nothing happens; a role with it is let through (to whatever
// answer the request itself deserves).
func TestEveryRouteByRole(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		routes := e.ui.Routes()
		if len(routes) < 30 {
			t.Fatalf("only %d routes registered", len(routes))
		}
		values := strings.NewReplacer("{id}", itoa(e.person.ID), "{key}", "e_marketing", "{sha256}", strings.Repeat("0", 64))
		for _, role := range auth.Roles {
			b, u := e.user(role, "")
			b.login(u.Email, password)
			_, page, _ := b.do("GET", "/dashboard", nil)
			token := csrfRe.FindStringSubmatch(page)[1]
			for _, r := range routes {
				if r.Permission == "" {
					continue
				}
				method, path, _ := strings.Cut(r.Pattern, " ")
				if strings.HasPrefix(path, "/settings/") {
					path = strings.ReplaceAll(path, "{id}", "999999") // no user or token of the test's
				}
				path = values.Replace(path)
				var form url.Values
				if method == "POST" {
					form = url.Values{"csrf": {token}}
				}
				code, _, _ := b.do(method, path, form)
				if allowed := ui.Can(role, r.Permission); allowed == (code == http.StatusForbidden) {
					t.Errorf("%s %s (%s) as %s: %d", method, path, r.Permission, role, code)
				}
			}
			if code, _, _ := b.do("GET", "/dashboard", nil); code != http.StatusOK {
				t.Fatalf("%s is no longer signed in after the routes: %d", role, code)
			}
		}
	})
}

// Every role × action: what each role may see and do.
func TestRoleMatrix(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		card := "/contacts/" + itoa(e.person.ID)
		for _, c := range []struct {
			role        string
			view, write bool
		}{
			{auth.RoleAdmin, true, true},
			{auth.RolePrivacyOfficer, true, true},
			{auth.RoleStaff, true, true},
			{auth.RoleMarketing, true, false},
		} {
			t.Run(c.role, func(t *testing.T) {
				b, u := e.user(c.role, "")
				b.login(u.Email, password)
				code, page, _ := b.do("GET", card, nil)
				if (code == 200) != c.view {
					t.Fatalf("view card: %d", code)
				}
				if strings.Contains(page, `action="`+card+`/consents"`) != c.write {
					t.Fatalf("record form shown: %v, want %v", !c.write, c.write)
				}
				token := csrfRe.FindStringSubmatch(page)[1]
				code, _, _ = b.do("POST", card+"/consents", url.Values{"csrf": {token}, "purpose": {"sales_service"}, "kind": {"granted"}, "source": {"phone"}, "note": {"by " + c.role}})
				if c.write && code != http.StatusSeeOther || !c.write && code != http.StatusForbidden {
					t.Fatalf("record consent: %d", code)
				}
			})
		}
		h, _ := e.ledger.History(context.Background(), e.person.ID, "sales_service")
		if len(h) != 3 {
			t.Fatalf("%d consent events, want 3 (marketing may not record)", len(h))
		}
	})
}

func TestContactCardRecordsConsent(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		b, u := e.user(auth.RolePrivacyOfficer, "de")
		b.login(u.Email, password)
		card := "/contacts/" + itoa(e.person.ID)
		code, page, _ := b.do("GET", card, nil)
		if code != 200 || !strings.Contains(page, "Rechtsgrundlage") || !strings.Contains(page, "nichts erfasst") || !strings.Contains(page, `lang="de"`) {
			t.Fatalf("German contact card: %d", code)
		}
		token := csrfRe.FindStringSubmatch(page)[1]
		code, _, h := b.do("POST", card+"/consents", url.Values{"csrf": {token}, "purpose": {"e_marketing"}, "kind": {"granted"}, "source": {"event"}, "note": {"Messe Hannover"}})
		// Without JavaScript: back to the card with the dialog open.
		if code != http.StatusSeeOther || h.Get("Location") != card+"?recorded=1&legal=open#legal-basis" {
			t.Fatalf("record: %d %s", code, h.Get("Location"))
		}
		_, page, _ = b.do("GET", h.Get("Location"), nil)
		if !strings.Contains(page, "Erfasst.") || !strings.Contains(page, "erteilt") || !strings.Contains(page, "Messe Hannover") || !strings.Contains(page, "light-yellow") ||
			!strings.Contains(page, `<dialog id="legal-basis" aria-labelledby="legal-title" open>`) || !strings.Contains(page, "1 von 2 Zwecken eingewilligt") {
			t.Fatal("the card does not show the recorded consent in the open dialog")
		}
		st, _ := e.ledger.ConsentFor(context.Background(), e.person.ID, "e_marketing")
		if st.State != ledger.Granted || st.Source != "event" || st.UpdatedBy != "user:"+itoa(u.ID) {
			t.Fatalf("stored state %+v", st)
		}
		// With htmx: the dialog's content only, with the field updated out of band.
		code, frag, _ := b.do("POST", card+"/consents", url.Values{"csrf": {token}, "purpose": {"e_marketing"}, "kind": {"withdrawn"}, "source": {"phone"}}, "HX-Request", "true")
		if code != http.StatusOK || strings.Contains(frag, "<html") || !strings.Contains(frag, "Erfasst.") || !strings.Contains(frag, "widerrufen") ||
			!strings.Contains(frag, `id="legal-open"`) || !strings.Contains(frag, `hx-swap-oob="true"`) || !strings.Contains(frag, "0 von 2 Zwecken") {
			t.Fatalf("htmx withdrawal: %d %s", code, frag)
		}
		code, frag, _ = b.do("POST", card+"/consents", url.Values{"csrf": {token}, "purpose": {"nope"}, "kind": {"granted"}, "source": {"email"}}, "HX-Request", "true")
		if code != http.StatusUnprocessableEntity || strings.Contains(frag, "<html") || !strings.Contains(frag, `role="alert"`) || !strings.Contains(frag, "nope") {
			t.Fatalf("htmx error: %d %s", code, frag)
		}
		code, page, _ = b.do("POST", card+"/consents", url.Values{"csrf": {token}, "purpose": {"e_marketing"}, "kind": {"granted"}, "legal_basis": {"legitimate_interests"}, "source": {"event"}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "e_marketing") {
			t.Fatalf("a legal basis the purpose does not allow: %d", code)
		}
		if code, _, _ := b.do("GET", "/contacts/999999", nil); code != http.StatusNotFound {
			t.Fatalf("unknown contact: %d", code)
		}
	})
}

func mustURL(s string) *url.URL {
	u, _ := url.Parse(s)
	return u
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
