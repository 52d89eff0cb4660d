package ui_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
	"github.com/consento/consento/internal/ui"
)

func TestContactsFiltersAndBulkActions(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEmptyEnv(t, eng)
		db := e.db
		ctx := context.Background()
		person := func(first, last, email, source string) *ledger.Person {
			in := ledger.PersonInput{FirstName: first, LastName: last, Source: source}
			if email != "" {
				in.Emails = []string{email}
			}
			p, err := e.ledger.CreatePerson(ctx, audit.System, in)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		record := func(p *ledger.Person, purpose string, kind ledger.EventKind, until *time.Time) {
			past := time.Now().Add(-48 * time.Hour)
			if _, err := e.ledger.RecordConsent(ctx, audit.System, ledger.ConsentInput{PersonID: p.ID, Purpose: purpose, Kind: kind, Source: "phone", OccurredAt: &past, ValidUntil: until}); err != nil {
				t.Fatal(err)
			}
		}
		anna := person("Anna", "Berg", "anna@example.com", "web_form") // green
		record(anna, "e_marketing", ledger.Granted, nil)
		record(anna, "sales_service", ledger.Granted, nil)
		bo := person("Bo", "Lund", "bo@example.com", "event") // yellow, e_marketing withdrawn
		record(bo, "sales_service", ledger.Granted, nil)
		record(bo, "e_marketing", ledger.Withdrawn, nil)
		cy := person("Cy", "Holm", "cy.holm@example.org", "event") // red, e_marketing expired
		gone := time.Now().Add(-time.Hour)
		record(cy, "e_marketing", ledger.Granted, &gone)
		di := person("Di", "Berger", "di@example.com", "phone") // red, nothing recorded, restricted
		if err := db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(`UPDATE persons SET status = 'restricted' WHERE id = ?`, di.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		b, u := e.user(auth.RoleStaff, "")
		b.login(u.Email, password)
		all := map[string]*ledger.Person{"anna": anna, "bo": bo, "cy": cy, "di": di}
		for _, c := range []struct {
			query string
			want  []string
		}{
			{"", []string{"anna", "bo", "cy", "di"}},
			{"q=berg", []string{"anna", "di"}},
			{"q=CY.H", []string{"cy"}},
			{"q=bo", []string{"bo"}},
			{"light=green", []string{"anna"}},
			{"light=yellow", []string{"bo"}},
			{"light=red", []string{"cy", "di"}},
			{"purpose=e_marketing&state=granted", []string{"anna"}},
			{"purpose=e_marketing&state=withdrawn", []string{"bo"}},
			{"purpose=e_marketing&state=expired", []string{"cy"}},
			{"purpose=e_marketing&state=none", []string{"di"}},
			{"purpose=e_marketing", []string{"anna", "bo", "cy"}},
			{"source=event", []string{"bo", "cy"}},
			{"restricted=1", []string{"di"}},
			{"q=berg&light=red&restricted=1&source=phone&purpose=e_marketing&state=none", []string{"di"}},
		} {
			code, page, _ := b.do("GET", "/contacts?"+c.query, nil)
			if code != 200 {
				t.Fatalf("%s: %d", c.query, code)
			}
			for name, p := range all {
				shown := strings.Contains(page, `name="id" value="`+itoa(p.ID)+`"`)
				want := false
				for _, w := range c.want {
					want = want || w == name
				}
				if shown != want {
					t.Errorf("%s: %s shown %v, want %v", c.query, name, shown, want)
				}
			}
		}
		if code, _, _ := b.do("GET", "/contacts?purpose=e_marketing&state=bogus", nil); code != http.StatusUnprocessableEntity {
			t.Fatalf("unknown state: %d", code)
		}

		// Paging keeps the filters.
		for range 51 {
			person("Eve", "Berg", "", "event")
		}
		_, page, _ := b.do("GET", "/contacts?q=berg&source=event&restricted=0", nil)
		if !strings.Contains(page, `href="/contacts?cursor=`) || !strings.Contains(page, `&amp;q=berg&amp;source=event"`) {
			t.Fatal("the next page link drops the filters")
		}

		// Check the selected contacts for a purpose.
		token := b.csrf("/contacts")
		sel := url.Values{"csrf": {token}, "purpose": {"e_marketing"}, "id": {itoa(anna.ID), itoa(bo.ID), itoa(di.ID)}}
		if code, _, _ := b.do("POST", "/contacts/check", url.Values{"purpose": {"e_marketing"}, "id": {itoa(anna.ID)}}); code != http.StatusForbidden {
			t.Fatalf("a check without CSRF token: %d", code)
		}
		code, page, _ := b.do("POST", "/contacts/check", sel)
		if code != 200 {
			t.Fatalf("check selected: %d", code)
		}
		permitted, blocked, id := counts(t, page)
		if permitted != "1" || blocked != "2" {
			t.Fatalf("check selected: %s permitted, %s blocked", permitted, blocked)
		}
		_, csvBody, _ := b.do("GET", "/lists/check/"+id+"/permitted.csv", nil)
		if !strings.Contains(csvBody, "anna@example.com") || strings.Contains(csvBody, "bo@example.com") {
			t.Fatalf("permitted download:\n%s", csvBody)
		}
		if code, _, _ := b.do("POST", "/contacts/check", url.Values{"csrf": {token}, "purpose": {"e_marketing"}}); code != http.StatusUnprocessableEntity {
			t.Fatalf("a check of nobody: %d", code)
		}

		// Export the selected contacts.
		code, body, h := b.do("POST", "/contacts/export.xlsx", sel)
		if code != 200 || h.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
			t.Fatalf("export: %d %s", code, h.Get("Content-Type"))
		}
		f, err := excelize.OpenReader(bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := f.GetRows(f.GetSheetName(0))
		if err != nil || len(rows) != 4 {
			t.Fatalf("export rows: %v %v", rows, err)
		}
		got := map[string][]string{}
		for _, r := range rows[1:] {
			got[r[0]] = r
		}
		if r := got["Anna Berg"]; len(r) < 6 || r[1] != "anna@example.com" || r[3] != "green" || r[4] != "active" || r[5] != "Web form" {
			t.Fatalf("Anna's row: %v", r)
		}
		if r := got["Di Berger"]; len(r) < 5 || r[3] != "red" || r[4] != "processing restricted" {
			t.Fatalf("Di's row: %v", r)
		}
	})
}

// Each bulk action needs its permission; a role without it gets 403.
func TestContactsBulkActionsNeedPermission(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		for _, role := range auth.Roles {
			b, u := e.user(role, "")
			b.login(u.Email, password)
			token := b.csrf("/contacts")
			form := url.Values{"csrf": {token}, "purpose": {"e_marketing"}, "id": {itoa(e.person.ID)}}
			for path, perm := range map[string]string{"/contacts/check": "lists.check", "/contacts/export.xlsx": "contacts.export"} {
				code, _, _ := b.do("POST", path, form)
				if ui.Can(role, perm) != (code == 200) || !ui.Can(role, perm) && code != http.StatusForbidden {
					t.Errorf("%s %s: %d", role, path, code)
				}
			}
		}
	})
}
