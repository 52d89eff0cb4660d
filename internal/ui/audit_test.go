package ui_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

func TestAuditLogListsAndFilters(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		p, err := e.ledger.CreatePerson(ctx, audit.System, ledger.PersonInput{FirstName: "Hans", LastName: "Müller", Emails: []string{"hans@example.de"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.ledger.RecordConsent(ctx, audit.System, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Granted,
			Source: "event", Evidence: ledger.Evidence{Note: "Messe Hannover"}, Reason: "signed at the Messe Hannover stand"}); err != nil {
			t.Fatal(err)
		}
		b, u := e.user(auth.RolePrivacyOfficer, "")
		b.login(u.Email, password)

		code, page, _ := b.do("GET", "/audit", nil)
		if code != 200 || !strings.Contains(page, `data-action="consent.granted">Consent given<`) || !strings.Contains(page, "signed at the Messe Hannover stand") ||
			!strings.Contains(page, `data-action="person.create"`) || !strings.Contains(page, "<dt>First name</dt><dd><ins>Hans</ins></dd>") ||
			!strings.Contains(page, `<details class="raw"><summary>Technical details</summary>`) {
			t.Fatalf("audit log: %d\n%s", code, page)
		}
		if !strings.Contains(page, `href="/audit"`) {
			t.Fatal("no nav link to the audit log")
		}
		if strings.Contains(page, "Older events") {
			t.Fatal("a paging link with fewer than 100 events")
		}

		// By person: only this person's events, not the other person's.
		_, page, _ = b.do("GET", "/audit?person_id="+itoa(p.ID), nil)
		if !strings.Contains(page, `data-action="consent.granted"`) || !strings.Contains(page, `data-action="person.create"`) || strings.Contains(page, `href="/contacts/`+itoa(e.person.ID)+`"`) {
			t.Fatal("person filter")
		}
		// By action: no person.create rows.
		_, page, _ = b.do("GET", "/audit?action=consent.granted", nil)
		if !strings.Contains(page, "signed at the Messe Hannover stand") || strings.Contains(page, `data-action="person.create"`) {
			t.Fatal("action filter")
		}
		// Date range: today (inclusive) has the events, yesterday has none.
		today := time.Now().UTC().Format(time.DateOnly)
		yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
		if _, page, _ = b.do("GET", "/audit?since="+today+"&until="+today, nil); !strings.Contains(page, `data-action="consent.granted"`) {
			t.Fatal("date range of today")
		}
		if _, page, _ = b.do("GET", "/audit?until="+yesterday, nil); strings.Contains(page, `data-action="consent.granted"`) || !strings.Contains(page, "No audit events match.") {
			t.Fatal("date range before today")
		}

		// Bad filter values.
		for q, want := range map[string]string{
			"person_id=abc":                     "The person ID must be a positive whole number.",
			"since=31.12.2024":                  "is not a date",
			"since=2025-02-01&until=2025-01-01": "The start date must not be after the end date.",
		} {
			code, page, _ := b.do("GET", "/audit?"+q, nil)
			if code != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(page), want) {
				t.Fatalf("%s: %d", q, code)
			}
		}
		// Crypto-shredding: without the person's key the payload is gone.
		if err := e.ledger.DB().Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(`UPDATE person_keys SET key = ? WHERE person_id = ?`, []byte{}, p.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		_, page, _ = b.do("GET", "/audit?person_id="+itoa(p.ID), nil)
		if !strings.Contains(page, "erased (key destroyed)") || strings.Contains(page, "Messe Hannover") {
			t.Fatal("a shredded event is not shown as erased")
		}
		bde, ude := e.user(auth.RoleAdmin, "de")
		bde.login(ude.Email, password)
		if code, page, _ := bde.do("GET", "/audit?person_id=-1", nil); code != http.StatusUnprocessableEntity || !strings.Contains(page, "positive ganze Zahl") {
			t.Fatalf("German bad filter: %d", code)
		}
		if _, page, _ := bde.do("GET", "/audit", nil); !strings.Contains(page, "Audit-Protokoll") || !strings.Contains(page, "Kette prüfen") {
			t.Fatal("German audit page")
		}
	})
}

func TestAuditLogPages(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		if err := e.ledger.DB().Write(ctx, func(tx *store.Tx) error {
			for i := range 120 {
				if _, err := audit.Append(tx, time.Now(), audit.Entry{Actor: audit.System, Action: "test.bulk", ObjectType: "thing", ObjectID: itoa(int64(i))}, nil); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		b, u := e.user(auth.RoleAdmin, "da")
		b.login(u.Email, password)
		_, page, _ := b.do("GET", "/audit?action=test.bulk", nil)
		if n := strings.Count(page, `data-action="test.bulk"`); n != 100 {
			t.Fatalf("%d rows on the first page, want 100", n)
		}
		m := olderRe.FindStringSubmatch(page)
		if m == nil || !strings.Contains(page, "Ældre hændelser") {
			t.Fatal("no link to older events")
		}
		next := html.UnescapeString(m[1])
		if !strings.Contains(next, "action=test.bulk") {
			t.Fatalf("the older link loses the filter: %s", next)
		}
		code, page, _ := b.do("GET", next, nil)
		if n := strings.Count(page, `data-action="test.bulk"`); code != 200 || n != 20 || strings.Contains(page, "Ældre hændelser") {
			t.Fatalf("second page: %d, %d rows", code, n)
		}
	})
}

func TestAuditLogRolesAndVerify(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		for _, role := range []string{auth.RoleMarketing, auth.RoleStaff} {
			b, u := e.user(role, "")
			b.login(u.Email, password)
			code, page, _ := b.do("GET", "/audit", nil)
			if code != http.StatusForbidden {
				t.Fatalf("%s GET /audit: %d", role, code)
			}
			if strings.Contains(page, `href="/audit"`) {
				t.Fatalf("%s sees the audit nav link", role)
			}
			token := b.csrf("/contacts")
			if code, _, _ := b.do("POST", "/audit/verify", url.Values{"csrf": {token}}); code != http.StatusForbidden {
				t.Fatalf("%s POST /audit/verify: %d", role, code)
			}
		}

		b, u := e.user(auth.RolePrivacyOfficer, "")
		b.login(u.Email, password)
		if code, _, _ := b.do("POST", "/audit/verify", url.Values{}); code != http.StatusForbidden {
			t.Fatalf("verify without CSRF token: %d", code)
		}
		token := b.csrf("/audit")
		code, page, _ := b.do("POST", "/audit/verify", url.Values{"csrf": {token}})
		if code != 200 || !strings.Contains(page, "OK: the audit chain is intact.") || !strings.Contains(page, "events verified; head is event") {
			t.Fatalf("verify: %d\n%s", code, page)
		}

		if err := e.ledger.DB().Write(context.Background(), func(tx *store.Tx) error {
			_, err := tx.Exec(`UPDATE audit_events SET action = 'x' WHERE seq = 3`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		code, page, _ = b.do("POST", "/audit/verify", url.Values{"csrf": {token}})
		if code != 200 || !strings.Contains(page, `role="alert"`) || !strings.Contains(page, "BROKEN") ||
			!strings.Contains(page, "First bad event: 3.") || !strings.Contains(page, "event 3 was altered") {
			t.Fatalf("verify after tampering: %d\n%s", code, page)
		}
	})
}

var olderRe = regexp.MustCompile(`<a href="(/audit\?[^"]+)">`)
