package ui_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/secrets"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
	"github.com/consento/consento/internal/ui"
)

// attachVault gives the test ledger a vault for sensitive fields, as
// the server has.
func attachVault(t testing.TB, db *store.DB, l *ledger.Service) {
	t.Helper()
	key, _ := secrets.ParseMasterKey(secrets.NewMasterKey())
	s, err := secrets.Open(context.Background(), db, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.SetVault(s)
}

func TestSensitiveFieldsMaskedAndUnmaskedByRole(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		p, err := e.ledger.CreatePerson(ctx, audit.System, ledger.PersonInput{FirstName: "Karl", LastName: "Sensibel", Emails: []string{"karl@example.com"},
			Custom: map[string]any{"national_id": "DE-770011-4242", "health_data": "Pollen allergy", "bank_account": "NL91 ABNA 0417 1643 00"}})
		if err != nil {
			t.Fatal(err)
		}
		card := "/contacts/" + itoa(p.ID)
		plain := []string{"770011", "Pollen", "ABNA", "0417"}
		noPlain := func(what, body string) {
			t.Helper()
			for _, v := range plain {
				if strings.Contains(body, v) {
					t.Fatalf("%s shows %q", what, v)
				}
			}
		}

		for _, role := range auth.Roles {
			b, u := e.user(role, "")
			b.login(u.Email, password)
			code, page, _ := b.do("GET", card, nil)
			if code != 200 || !strings.Contains(page, "••••4242") || !strings.Contains(page, "••••••••") || !strings.Contains(page, "••••4300") {
				t.Fatalf("%s: card %d without the masks", role, code)
			}
			noPlain(role+"'s card", page)
			if hasForm := strings.Contains(page, `action="`+card+`/sensitive"`); hasForm != ui.Can(role, "sensitive.unmask") {
				t.Fatalf("%s: unmask form shown %v", role, hasForm)
			}
			token := csrfRe.FindStringSubmatch(page)[1]
			code, body, h := b.do("POST", card+"/sensitive", url.Values{"csrf": {token}, "field": {"national_id"}, "reason": {"customer asks by phone, ticket 881"}})
			switch role {
			case auth.RoleAdmin, auth.RolePrivacyOfficer:
				if code != 200 || !strings.Contains(body, "DE-770011-4242") || h.Get("Cache-Control") != "no-store" {
					t.Fatalf("%s: unmask %d %q", role, code, h.Get("Cache-Control"))
				}
				// Without a reason: refused, nothing shown.
				code, body, _ = b.do("POST", card+"/sensitive", url.Values{"csrf": {token}, "field": {"national_id"}, "reason": {""}})
				if code != http.StatusUnprocessableEntity || strings.Contains(body, "770011") || !strings.Contains(body, "reason") {
					t.Fatalf("%s: unmask without a reason: %d", role, code)
				}
				// Without the CSRF token: refused.
				if code, _, _ := b.do("POST", card+"/sensitive", url.Values{"field": {"national_id"}, "reason": {"no token"}}); code != http.StatusForbidden {
					t.Fatalf("%s: unmask without CSRF token: %d", role, code)
				}
			default:
				if code != http.StatusForbidden || strings.Contains(body, "770011") {
					t.Fatalf("%s: unmask answered %d", role, code)
				}
			}
		}
		evs, err := audit.List(ctx, e.db, audit.Filter{PersonID: p.ID, Action: "sensitive.unmask"})
		if err != nil || len(evs) != 2 {
			t.Fatalf("audit: %v, %d events", err, len(evs))
		}
		for _, ev := range evs {
			if ev.Payload.Reason != "customer asks by phone, ticket 881" || !strings.Contains(string(ev.Payload.After), `"national_id"`) || ev.Actor.Type != "user" {
				t.Fatalf("audit event: %+v %s", ev, ev.Payload.After)
			}
		}

		// The XLSX export shows the masks only.
		b, u := e.user(auth.RoleStaff, "en")
		b.login(u.Email, password)
		token := b.csrf("/contacts")
		code, body, _ := b.do("POST", "/contacts/export.xlsx", url.Values{"csrf": {token}, "id": {itoa(p.ID)}})
		if code != 200 {
			t.Fatalf("export: %d", code)
		}
		f, err := excelize.OpenReader(bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := f.GetRows(f.GetSheetName(0))
		if len(rows) != 2 {
			t.Fatalf("export rows: %v", rows)
		}
		all := strings.Join(append(rows[0], rows[1]...), "|")
		noPlain("the export", all)
		if !strings.Contains(all, "National ID") || !strings.Contains(all, "••••4242") || !strings.Contains(all, "••••4300") {
			t.Fatalf("export: %v", rows)
		}

		// Exact search through the blind index.
		code, page, _ := b.do("POST", "/contacts/sensitive-search", url.Values{"csrf": {token}, "field": {"national_id"}, "value": {"de 770011 4242"}})
		if code != 200 || !strings.Contains(page, `href="/contacts/`+itoa(p.ID)+`"`) {
			t.Fatalf("search: %d", code)
		}
		noPlain("the search result", page)
		code, page, _ = b.do("POST", "/contacts/sensitive-search", url.Values{"csrf": {token}, "field": {"national_id"}, "value": {"DE7700114"}})
		if code != 200 || strings.Contains(page, `href="/contacts/`+itoa(p.ID)+`"`) {
			t.Fatalf("a partial value found the contact: %d", code)
		}
	})
}

func TestMarkFieldSensitiveInSettings(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		if _, err := e.ledger.CreateCustomField(ctx, audit.System, ledger.CustomField{Key: "tax_number", Label: "Tax number", Type: "text"}); err != nil {
			t.Fatal(err)
		}
		p, err := e.ledger.CreatePerson(ctx, audit.System, ledger.PersonInput{LastName: "Steuer", Custom: map[string]any{"tax_number": "TX-55501234"}})
		if err != nil {
			t.Fatal(err)
		}
		b, u := e.user(auth.RoleAdmin, "")
		b.login(u.Email, password)
		_, page, _ := b.do("GET", "/settings/fields", nil)
		if !strings.Contains(page, `action="/settings/fields/tax_number/sensitive"`) || strings.Contains(page, `action="/settings/fields/national_id/sensitive"`) {
			t.Fatal("the mark action is not offered for exactly the fields that are not sensitive")
		}
		token := csrfRe.FindStringSubmatch(page)[1]
		if code, _, _ := b.do("POST", "/settings/fields/tax_number/sensitive", url.Values{"csrf": {token}, "searchable": {"1"}}); code != http.StatusSeeOther {
			t.Fatalf("mark: %d", code)
		}
		if code, _, _ := b.do("POST", "/settings/fields/tax_number/sensitive", url.Values{"csrf": {token}}); code != http.StatusUnprocessableEntity {
			t.Fatalf("mark twice: %d", code)
		}
		_, page, _ = b.do("GET", "/contacts/"+itoa(p.ID), nil)
		if !strings.Contains(page, "••••1234") || strings.Contains(page, "TX-555") {
			t.Fatal("the card does not mask the newly sensitive field")
		}
	})
}

// Staff who may edit contacts enter, change and remove a sensitive value
// on the card: it is stored encrypted, shown masked, never echoed back in
// clear, and a value for a field that is not sensitive is refused.
func TestSensitiveValueEnteredOnTheCard(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		p, err := e.ledger.CreatePerson(ctx, audit.System, ledger.PersonInput{FirstName: "Lene", LastName: "Kort", Emails: []string{"lene@example.dk"}})
		if err != nil {
			t.Fatal(err)
		}
		card := "/contacts/" + itoa(p.ID)
		b, u := e.user(auth.RoleStaff, "")
		b.login(u.Email, password)
		_, page, _ := b.do("GET", card, nil)
		if !strings.Contains(page, `action="`+card+`/sensitive/value"`) {
			t.Fatal("the card has no form to enter a sensitive value")
		}
		token := csrfRe.FindStringSubmatch(page)[1]
		if code, _, h := b.do("POST", card+"/sensitive/value", url.Values{"csrf": {token}, "field": {"bank_account"}, "value": {"DK50 0040 0440 1162 43"}, "reason": {"new account"}}); code != http.StatusSeeOther || h.Get("Location") != card+"#sensitive" {
			t.Fatalf("storing: %d to %q", code, h.Get("Location"))
		}
		code, page, _ := b.do("GET", card, nil)
		if code != 200 || !strings.Contains(page, "••••6243") || strings.Contains(page, "0440") {
			t.Fatalf("after storing: %d, masked value missing or clear value shown", code)
		}
		if v, err := e.ledger.UnmaskSensitive(ctx, audit.System, p.ID, "bank_account", "test reads it back"); err != nil || v != "DK50 0040 0440 1162 43" {
			t.Fatalf("stored value %q, %v", v, err)
		}
		if code, _, _ := b.do("POST", card+"/sensitive/value", url.Values{"csrf": {token}, "field": {"first_name"}, "value": {"x"}}); code != http.StatusUnprocessableEntity {
			t.Fatalf("a field that is not sensitive: %d", code)
		}
		if code, _, _ := b.do("POST", card+"/sensitive/value", url.Values{"field": {"bank_account"}, "value": {"x"}}); code != http.StatusForbidden {
			t.Fatalf("without the CSRF token: %d", code)
		}
		// An empty value removes it.
		if code, _, _ = b.do("POST", card+"/sensitive/value", url.Values{"csrf": {token}, "field": {"bank_account"}, "value": {""}}); code != http.StatusSeeOther {
			t.Fatalf("removing: %d", code)
		}
		if code, page, _ = b.do("GET", card, nil); code != 200 || strings.Contains(page, "••••6243") {
			t.Fatalf("after removing: %d", code)
		}
		// Marketing may not edit contacts.
		m, mu := e.user(auth.RoleMarketing, "")
		m.login(mu.Email, password)
		_, mpage, _ := m.do("GET", card, nil)
		if strings.Contains(mpage, "/sensitive/value") {
			t.Fatal("marketing sees the form")
		}
		if code, _, _ := m.do("POST", card+"/sensitive/value", url.Values{"csrf": {csrfRe.FindStringSubmatch(mpage)[1]}, "field": {"bank_account"}, "value": {"x"}}); code != http.StatusForbidden {
			t.Fatalf("marketing stores a value: %d", code)
		}
	})
}
