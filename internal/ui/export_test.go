package ui_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
)

func TestExportLegalBasisToExcel(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		p, err := e.ledger.CreatePerson(ctx, audit.System, ledger.PersonInput{FirstName: "Hans", LastName: "Müller",
			Emails: []string{"hans@example.de", "h.mueller@example.de"}, Language: "de"})
		if err != nil {
			t.Fatal(err)
		}
		staff := audit.Actor{Type: "user", ID: "7"}
		for _, in := range []ledger.ConsentInput{
			{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Granted, Source: "event", Evidence: ledger.Evidence{Note: "Messe Hannover"}},
			{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Withdrawn, Source: "phone", Evidence: ledger.Evidence{Note: "am Telefon widerrufen"}},
			{PersonID: p.ID, Purpose: "sales_service", Kind: ledger.Granted, Source: "phone"},
		} {
			if _, err := e.ledger.RecordConsent(ctx, staff, in); err != nil {
				t.Fatal(err)
			}
		}
		card := "/contacts/" + itoa(p.ID)
		path := card + "/legal-basis.xlsx"

		if code, _, h := e.browser().do("GET", path, nil); code != http.StatusSeeOther || h.Get("Location") != "/login" {
			t.Fatalf("signed out: %d %s", code, h.Get("Location"))
		}

		b, u := e.user(auth.RoleMarketing, "") // the user reads English, the person German
		b.login(u.Email, password)
		code, page, _ := b.do("GET", card, nil)
		if code != 200 || !strings.Contains(page, `href="`+path+`"`) || !strings.Contains(page, "Export to Excel") {
			t.Fatalf("the card has no export link: %d\n%s", code, page)
		}

		code, body, h := b.do("GET", path, nil)
		if code != 200 {
			t.Fatalf("export: %d", code)
		}
		if h.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
			t.Fatalf("Content-Type %q", h.Get("Content-Type"))
		}
		if cd := h.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") || !strings.Contains(cd, "legal-basis-"+itoa(p.ID)+".xlsx") {
			t.Fatalf("Content-Disposition %q", cd)
		}
		f, err := excelize.OpenReader(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if got := f.GetSheetList(); len(got) != 2 || got[0] != "Rechtsgrundlage" || got[1] != "Verlauf" {
			t.Fatalf("sheets %v", got)
		}
		cell := func(sheet, c string) string {
			t.Helper()
			v, err := f.GetCellValue(sheet, c)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		if cell("Rechtsgrundlage", "B1") != "Hans Müller" || cell("Rechtsgrundlage", "B2") != "hans@example.de, h.mueller@example.de" {
			t.Fatalf("person: %q %q", cell("Rechtsgrundlage", "B1"), cell("Rechtsgrundlage", "B2"))
		}
		rows, err := f.GetRows("Rechtsgrundlage")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) < 5 || rows[3][0] != "Zweck" || rows[3][1] != "Einwilligung" {
			t.Fatalf("header row: %v", rows)
		}
		byPurpose := map[string][]string{}
		for _, r := range rows[4:] {
			byPurpose[r[0]] = r
		}
		em := byPurpose["E-Marketing"]
		if em == nil || em[1] != "widerrufen" || !strings.Contains(em[2], "Art. 6 Abs. 1 lit. a DSGVO") || !strings.Contains(em[2], "Einwilligung") || em[5] != "user:7" {
			t.Fatalf("E-Marketing row: %q (rows %q)", em, rows)
		}
		if !regexp.MustCompile(`^\d\d\.\d\d\.\d{4} \d\d:\d\d MES?Z$`).MatchString(em[4]) {
			t.Fatalf("last updated is not formatted as a date: %q", em[4])
		}
		ss := byPurpose["Vertrieb und Service"]
		if ss == nil || ss[1] != "erteilt" || !strings.Contains(ss[2], "Art. 6 Abs. 1 lit. b DSGVO") {
			t.Fatalf("Vertrieb und Service row: %q", ss)
		}
		hist, err := f.GetRows("Verlauf")
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 1+3 {
			t.Fatalf("%d history rows, want a header and 3 events: %q", len(hist), hist)
		}
		var notes, withdrawn int
		for _, r := range hist[1:] {
			if len(r) == 8 && strings.HasPrefix(r[7], "Messe Hannover") || len(r) == 8 && r[7] == "am Telefon widerrufen" {
				notes++
			}
			if r[2] == "widerrufen" && r[1] == "E-Marketing" && strings.Contains(r[3], "Art. 6 Abs. 1 lit. a DSGVO") && r[6] == "Deutsch" {
				withdrawn++
			}
		}
		if notes != 2 || withdrawn != 1 {
			t.Fatalf("history rows: %q", hist)
		}

		if code, _, _ := b.do("GET", "/contacts/999999/legal-basis.xlsx", nil); code != http.StatusNotFound {
			t.Fatalf("unknown contact: %d", code)
		}
	})
}
