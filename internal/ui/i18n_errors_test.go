package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/i18n/i18ntest"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/storetest"
)

// A refused form tells a German or Danish privacy officer, in their
// language, which field is wrong (by its form label) and why; case dates
// show as 02.12.2026 with the weekday.
func TestRefusedFormsSpeakGermanAndDanish(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e, _ := newOutreachEnv(t, eng)
		ctx := context.Background()
		rs := rights.New(e.ledger)
		req, err := rs.CreateRequest(ctx, audit.System, rights.RequestInput{Type: rights.TypeAccess, Channel: "staff", PersonID: &e.person.ID, ReceivedOn: "2026-01-07"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rs.VerifyIdentity(ctx, audit.System, req.ID, "Ausweis"); err != nil {
			t.Fatal(err)
		}
		if _, err := rs.Reject(ctx, audit.System, req.ID, "Offensichtlich unbegründet"); err != nil {
			t.Fatal(err)
		}
		future := time.Now().UTC().Add(3 * time.Hour).Format("2006-01-02T15:04")
		want := map[string]map[string][]string{
			"de": {
				"breach future":  {"Kenntnis erlangt am: darf nicht in der Zukunft liegen"},
				"closed case":    {"Der Antrag ist abgeschlossen: Er wurde erledigt oder abgelehnt."},
				"long title":     {"Titel: darf höchstens 200 Zeichen lang sein"},
				"bad date":       {"Eingegangen am: muss ein Datum sein (JJJJ-MM-TT)"},
				"case dates":     {"Mi., 07.01.2026"},
				"case list date": {"07.01.2026"},
			},
			"da": {
				"breach future":  {"Blev kendt den: må ikke ligge i fremtiden"},
				"closed case":    {"Anmodningen er lukket: den er afsluttet eller afvist."},
				"long title":     {"Titel: må højst være på 200 tegn"},
				"bad date":       {"Modtaget den: skal være en dato (ÅÅÅÅ-MM-DD)"},
				"case dates":     {"ons. 07.01.2026"},
				"case list date": {"07.01.2026"},
			},
		}
		for _, lang := range []string{"de", "da"} {
			b, u := e.user(auth.RoleAdmin, lang)
			if code := b.login(u.Email, password); code != http.StatusSeeOther {
				t.Fatalf("login: %d", code)
			}
			token := b.csrf("/requests")
			for what, r := range map[string]struct {
				method, path string
				form         url.Values
				status       int
			}{
				"breach future":  {"POST", "/breaches", url.Values{"csrf": {token}, "title": {"Laptop"}, "description": {"gestohlen"}, "aware_at": {future}}, 422},
				"closed case":    {"POST", "/requests/" + itoa(req.ID) + "/complete", url.Values{"csrf": {token}, "outcome": {"noch einmal"}}, 0},
				"long title":     {"POST", "/breaches", url.Values{"csrf": {token}, "title": {strings.Repeat("x", 201)}, "description": {"gestohlen"}, "aware_at": {"2026-01-01T10:00"}}, 422},
				"bad date":       {"POST", "/requests", url.Values{"csrf": {token}, "type": {"access"}, "requester_email": {"a@example.com"}, "received_on": {"2026-13-45"}}, 422},
				"case dates":     {"GET", "/requests/" + itoa(req.ID), nil, 200},
				"case list date": {"GET", "/requests?state=all", nil, 200},
			} {
				code, body, _ := b.do(r.method, r.path, r.form)
				if (r.status != 0 && code != r.status) || (r.status == 0 && code < 400) {
					t.Fatalf("%s %s: status %d", lang, what, code)
				}
				text := strings.Join(strings.Fields(i18ntest.VisibleText(body)), " ")
				for _, w := range want[lang][what] {
					if !strings.Contains(text, w) {
						t.Errorf("%s %s: want %q in\n%s", lang, what, w, text)
					}
				}
				i18ntest.Check(t, lang, what+", "+lang, i18ntest.VisibleText(body))
			}
		}
	})
}
