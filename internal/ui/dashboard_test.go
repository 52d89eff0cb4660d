package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
)

func TestDashboard(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng) // Grete: red
		ctx := context.Background()
		mk := func(name string, purposes ...string) {
			t.Helper()
			p, err := e.ledger.CreatePerson(ctx, audit.System, ledger.PersonInput{FirstName: name, LastName: "Dash", Emails: []string{name + "@example.com"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, pu := range purposes {
				if _, err := e.ledger.RecordConsent(ctx, audit.System, ledger.ConsentInput{PersonID: p.ID, Purpose: pu, Kind: ledger.Granted, Source: "import"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		mk("g1", "e_marketing", "sales_service")
		mk("g2", "e_marketing", "sales_service")
		mk("y1", "e_marketing")
		mk("r1")
		if _, err := e.ledger.RecordConsent(ctx, audit.System, ledger.ConsentInput{PersonID: e.person.ID, Purpose: "e_marketing", Kind: ledger.Withdrawn, Source: "import", Reason: "unsubscribed"}); err != nil {
			t.Fatal(err)
		}
		b, u := e.user(auth.RoleMarketing, "")
		b.login(u.Email, password)
		if code, _, h := b.do("GET", "/", nil); code != http.StatusSeeOther || h.Get("Location") != "/dashboard" {
			t.Fatalf("/ redirects to %d %s", code, h.Get("Location"))
		}
		code, page, _ := b.do("GET", "/dashboard", nil)
		if code != 200 {
			t.Fatalf("dashboard: %d", code)
		}
		for light, n := range map[string]int{"green": 2, "yellow": 1, "red": 2, "total": 5} {
			if want := fmt.Sprintf(`data-light="%s">%d<`, light, n); !strings.Contains(page, want) {
				t.Fatalf("dashboard lacks %s", want)
			}
		}
		y, w := time.Now().UTC().ISOWeek()
		week := fmt.Sprintf("%d-W%02d", y, w)
		if !strings.Contains(page, "<title>"+week+": 5 granted, 1 withdrawn</title>") {
			t.Fatalf("the chart does not show this week's counts\n%s", page)
		}
		if !regexp.MustCompile(`<svg [^>]*role="img" aria-label="[^"]+"`).MatchString(page) {
			t.Fatal("the chart is not labelled for assistive technology")
		}
		if !strings.Contains(page, "<th scope=\"row\">"+week+"</th><td>5</td><td>1</td>") {
			t.Fatal("the chart's data table lacks this week")
		}
		// The newest change first: the withdrawal.
		recent := page[strings.Index(page, "Latest consent changes"):]
		if i, j := strings.Index(recent, "withdrawn"), strings.Index(recent, "granted"); i < 0 || j < 0 || i > j {
			t.Fatal("the newest consent change is not listed first")
		}
		if strings.Count(recent, `<a href="/contacts/`) != 6 {
			t.Fatalf("%d recent changes, want 6", strings.Count(recent, `<a href="/contacts/`))
		}
		if i := strings.Index(page, `href="/dashboard"`); i < 0 || i > strings.Index(page, `href="/contacts"`) {
			t.Fatal("the Dashboard link is not first in the nav")
		}

		// German.
		de, du := e.user(auth.RoleStaff, "de")
		de.login(du.Email, password)
		if _, page, _ := de.do("GET", "/dashboard", nil); !strings.Contains(page, "Übersicht") || !strings.Contains(page, week+": 5 erteilt, 1 widerrufen") {
			t.Fatal("German dashboard")
		}
	})
}
