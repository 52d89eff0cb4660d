package ui_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/i18n/i18ntest"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
)

// TestReportsAndExportsSpeakGermanAndDanish: the legal basis workbook of
// the contact card, sent to the person, is in the person's language for
// every consent state, legal basis and source, whatever the staff read.
func TestReportsAndExportsSpeakGermanAndDanish(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		staff := audit.Actor{Type: "user", ID: "7"}
		b, u := e.user(auth.RoleMarketing, "") // reads English
		b.login(u.Email, password)
		srcs := i18n.Kinds()["source"]
		for _, lang := range []string{"de", "da"} {
			p, err := e.ledger.CreatePerson(ctx, audit.System, ledger.PersonInput{FirstName: "Hans", LastName: "Møller", Emails: []string{"hans-" + lang + "@example.dk"}, Language: lang})
			if err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
			n := 0
			record := func(purpose string, k ledger.EventKind) {
				when := at.Add(time.Duration(n) * time.Hour)
				in := ledger.ConsentInput{PersonID: p.ID, Purpose: purpose, Kind: k, Source: srcs[n%len(srcs)], OccurredAt: &when, Language: lang}
				if _, err := e.ledger.RecordConsent(ctx, staff, in); err != nil {
					t.Fatalf("%s %s: %v", purpose, k, err)
				}
				n++
			}
			for _, k := range []ledger.EventKind{ledger.Granted, ledger.Withdrawn, ledger.Refused, ledger.Granted, ledger.Objected} {
				record("e_marketing", k)
			}
			for _, lb := range ledger.LegalBases {
				key := "x_" + lang + "_" + strings.ReplaceAll(string(lb), "_", "")
				in := ledger.PurposeInput{Key: key, DefaultLegalBasis: lb, AllowedLegalBases: []ledger.LegalBasis{lb}, ConsentRequired: lb.IsConsent(),
					Texts: map[string]ledger.Text{"en": {Name: "Purpose " + key}, "de": {Name: "Zweck " + key}, "da": {Name: "Formål " + key}}}
				if lb == ledger.LegitimateInterests {
					in.BalancingTest = "erwartet"
				}
				if _, err := e.ledger.CreatePurpose(ctx, staff, in); err != nil {
					t.Fatal(err)
				}
				record(key, ledger.Granted)
			}
			record("x_"+lang+"_consent", "pending")
			for n < len(srcs)+8 {
				record("sales_service", ledger.Granted)
			}
			code, body, _ := b.do("GET", "/contacts/"+itoa(p.ID)+"/legal-basis.xlsx", nil)
			if code != 200 {
				t.Fatalf("export: %d", code)
			}
			f, err := excelize.OpenReader(bytes.NewReader([]byte(body)))
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			for _, s := range f.GetSheetList() {
				text.WriteString(s + "\n")
				rows, _ := f.GetRows(s)
				for _, r := range rows {
					text.WriteString(strings.Join(r, " | ") + "\n")
				}
			}
			f.Close()
			all := text.String()
			i18ntest.Check(t, lang, "legal basis workbook, "+lang, all, "Møller", "user:7")
			for _, kind := range []string{"consent_state", "legal_basis", "source"} {
				for _, v := range i18n.Kinds()[kind] {
					if strings.EqualFold(i18n.Label(lang, kind, v), v) || strings.Contains(v, "_") {
						continue
					}
					if regexp.MustCompile(`(^|[^\pL@./_-])` + v + `($|[^\pL@/_-])`).MatchString(all) {
						t.Errorf("%s workbook shows the %s value %q", lang, kind, v)
					}
				}
			}
			for _, lb := range ledger.LegalBases {
				if w := i18n.Label(lang, "legal_basis_article", string(lb)); !strings.Contains(all, w) {
					t.Errorf("%s workbook lacks %q", lang, w)
				}
			}
			for _, src := range srcs {
				if w := i18n.Label(lang, "source", src); !strings.Contains(all, w) {
					t.Errorf("%s workbook lacks the source %q", lang, w)
				}
			}
			zone := map[string]string{"de": "MEZ", "da": "CET"}[lang]
			if !strings.Contains(all, "05.01.2026") || !strings.Contains(all, zone) {
				t.Errorf("%s workbook: times not in the person's form:\n%s", lang, all)
			}
			if t.Failed() {
				t.Logf("%s workbook:\n%s", lang, all)
			}
		}
	})
}
