package ui_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/consento/consento/internal/storetest"
)

// Text no database can store is refused with a visible message before a
// handler sees it, on both engines: no 500 from PostgreSQL.
func TestBadTextInFormsIsRefused(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		b, _ := e.user("admin", "")
		if code := b.login("admin@example.com", password); code != 303 {
			t.Fatalf("login %d", code)
		}
		code, page, _ := e.browser().do("POST", "/login", url.Values{"email": {"a\x00@example.com"}, "password": {"x"}})
		if code != 422 || !strings.Contains(page, "email: is not valid") && !strings.Contains(page, "email: holds a NUL") {
			t.Errorf("login with NUL: %d", code)
		}
		csrf := b.csrf("/contacts/new")
		code, page, _ = b.do("POST", "/contacts", url.Values{"csrf": {csrf}, "first_name": {"\xff\xfe"}, "last_name": {"Berg"}})
		if code != 422 || !strings.Contains(page, "first_name: is not valid UTF-8") {
			t.Errorf("form with invalid UTF-8: %d\n%s", code, page)
		}
		if code, _, _ = b.do("GET", "/contacts?q=a%00b", nil); code != 422 {
			t.Errorf("query with NUL: %d", code)
		}
		if code, _, _ = b.do("GET", "/settings/purposes/a%00b", nil); code != 404 {
			t.Errorf("path with NUL: %d", code)
		}
	})
}
