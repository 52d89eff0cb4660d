package ui_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/storetest"
)

// Staff forms refuse a NUL, a control character, a line break in a
// one-line field and an over-long value with 422 and the field named on
// the page, on both engines, and store nothing; a search with a NUL
// answers 422, never a 500.
func TestFormsRefuseBadTextsVisibly(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		po, u := e.user(auth.RolePrivacyOfficer, "")
		po.login(u.Email, password)
		ad, a := e.user(auth.RoleAdmin, "")
		ad.login(a.Email, password)
		grete := "/contacts/" + itoa(e.person.ID)
		for _, c := range []struct {
			who          *browser
			page, action string
			form         url.Values
			field        string
		}{
			{po, "/contacts/new", "/contacts", url.Values{"first_name": {"An\x00na"}, "last_name": {"Berg"}}, "first_name"},
			{po, "/contacts/new", "/contacts", url.Values{"first_name": {"Anna"}, "last_name": {"Berg\r\nInjected: yes"}}, "last_name"},
			{po, "/contacts/new", "/contacts", url.Values{"last_name": {strings.Repeat("x", 201)}}, "last_name"},
			{po, grete, grete + "/activities", url.Values{"kind": {"call"}, "subject": {"Call\x1b[2J"}, "body": {"ok"}}, "subject"},
			{po, "/requests", "/requests", url.Values{"type": {"access"}, "requester_email": {"grete@example.dk"}, "details": {"By letter\x00"}}, "details"},
			{po, "/breaches", "/breaches", url.Values{"title": {"Laptop\nlost"}, "description": {"lost"}, "aware_at": {"2026-01-01T10:00"}}, "title"},
			{po, "/settings/sources", "/settings/sources", url.Values{"key": {"fair"}, "name": {strings.Repeat("n", 201)}}, "name"},
			{ad, "/settings/users", "/settings/users", url.Values{"email": {"new@example.com"}, "name": {"New\x07"}, "role": {"staff"}, "password": {password}}, "name"},
			{po, "/settings/recipients", "/settings/recipients", url.Values{"name": {"Print\x00Ltd"}, "kind": {"processor"}, "email": {"dpo@print.example"}}, "name"},
		} {
			var before int
			e.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_events`).Scan(&before)
			c.form.Set("csrf", c.who.csrf(c.page))
			code, page, _ := c.who.do("POST", c.action, c.form)
			if code != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(page), c.field) {
				t.Errorf("POST %s %v: %d, want 422 naming %s on the page", c.action, c.form, code, c.field)
			}
			var after int
			e.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_events`).Scan(&after)
			if after != before {
				t.Errorf("POST %s refused, but %d audit events were written", c.action, after-before)
			}
		}
		for _, path := range []string{"/contacts?q=" + url.QueryEscape("a\x00b"), "/contacts?q=" + url.QueryEscape("\xff"), "/audit?action=" + url.QueryEscape("x\x00")} {
			if code, _, _ := po.do("GET", path, nil); code >= 500 {
				t.Errorf("GET %s: %d", path, code)
			}
		}
		if code, page, _ := po.do("GET", "/contacts?q="+url.QueryEscape("a\x00b"), nil); code != http.StatusUnprocessableEntity || !strings.Contains(page, "q:") {
			t.Errorf("contact search with a NUL: %d, want 422 naming q", code)
		}
	})
}
