package ui_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/storetest"
)

// A case in a country without holidays carries a visible warning in the
// staff user's language; the privacy officer enters the country's
// holidays on the holiday calendar page (and changes a built-in one),
// sets the case's calendar, and the warning goes.
func TestCalendarWarningAndHolidayPage(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		po, u := e.user(auth.RolePrivacyOfficer, "en")
		po.login(u.Email, password)
		token := po.csrf("/requests")
		code, _, h := po.do("POST", "/requests", url.Values{"csrf": {token}, "type": {"access"}, "requester_email": {"jean@example.fr"}, "country": {"FR"}})
		if code != http.StatusSeeOther {
			t.Fatalf("create request: %d", code)
		}
		casePath, _, _ := strings.Cut(h.Get("Location"), "?")
		readers := map[string]*browser{"en": po}
		for lang, role := range map[string]string{"de": auth.RoleAdmin, "da": auth.RoleStaff} {
			sess, su := e.user(role, lang)
			sess.login(su.Email, password)
			readers[lang] = sess
		}
		warnings := map[string]string{"en": "No holidays are known for FR", "de": "Für FR sind keine Feiertage bekannt", "da": "Der kendes ingen helligdage for FR"}
		for lang, want := range warnings {
			code, page, _ := readers[lang].do("GET", casePath, nil)
			if code != 200 || !strings.Contains(page, `id="calendar-missing"`) || !strings.Contains(html.UnescapeString(page), want) {
				t.Fatalf("%s case page without calendar: %d, warning %q missing", lang, code, want)
			}
		}
		if _, page, _ := po.do("GET", "/requests", nil); !strings.Contains(page, "no calendar") {
			t.Fatal("the request list does not mark the case without calendar")
		}

		// The holiday page: Bavaria's built-in days, then France's own.
		code, page, _ := po.do("GET", "/settings/holidays?country=DE&region=DE-BY&year=2026", nil)
		if code != 200 || !strings.Contains(page, "2026-06-04") || !strings.Contains(page, "Fronleichnam") || !strings.Contains(page, "Heilige Drei Könige") {
			t.Fatalf("DE-BY holidays 2026: %d", code)
		}
		ht := po.csrf("/settings/holidays")
		if code, _, _ := po.do("POST", "/settings/holidays/days", url.Values{"csrf": {ht}, "country": {"DE"}, "region": {"DE-BY"}, "day": {"2026-06-04"}, "kind": {"working"}}); code != http.StatusSeeOther {
			t.Fatalf("override Corpus Christi: %d", code)
		}
		if _, page, _ := po.do("GET", "/settings/holidays?country=DE&region=DE-BY&year=2026", nil); strings.Contains(page, `id="day-2026-06-04"`) || !strings.Contains(page, `id="entry-2026-06-04"`) {
			t.Fatal("Corpus Christi made a working day still listed as a day off")
		}
		if code, _, _ := po.do("POST", "/settings/holidays/days/remove", url.Values{"csrf": {ht}, "country": {"DE"}, "region": {"DE-BY"}, "day": {"2026-06-04"}}); code != http.StatusSeeOther {
			t.Fatalf("remove override: %d", code)
		}
		code, page, _ = po.do("POST", "/settings/holidays/days", url.Values{"csrf": {ht}, "country": {"FR"}, "day": {"not a date"}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "must be a date") {
			t.Fatalf("a bad date: %d", code)
		}
		if code, _, _ := po.do("POST", "/settings/holidays/days", url.Values{"csrf": {ht}, "country": {"FR"}, "day": {"2026-07-14"}, "name": {"Fête nationale"}, "kind": {"closed"}}); code != http.StatusSeeOther {
			t.Fatalf("add a French holiday: %d", code)
		}
		if code, _, _ := po.do("POST", "/settings/holidays/days", url.Values{"country": {"FR"}, "day": {"2026-08-15"}}); code != http.StatusForbidden {
			t.Fatalf("without CSRF: %d", code)
		}
		if code, page, _ := po.do("GET", casePath, nil); code != 200 || strings.Contains(page, `id="calendar-missing"`) {
			t.Fatalf("the warning stays after France's holidays were entered: %d", code)
		}
		evs, err := audit.List(ctx, e.db, audit.Filter{ObjectType: "holidays"})
		if err != nil || len(evs) != 3 {
			t.Fatalf("holiday audit events: %d %v", len(evs), err)
		}

		// Marketing cannot edit calendars.
		mk, mu := e.user(auth.RoleMarketing, "")
		mk.login(mu.Email, password)
		if code, _, _ := mk.do("GET", "/settings/holidays", nil); code != http.StatusForbidden {
			t.Fatalf("marketing holiday page: %d", code)
		}
	})
}
