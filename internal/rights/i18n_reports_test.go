package rights_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/i18n/i18ntest"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/records"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// shownKinds are the kinds of value the report and the export show.
var shownKinds = []string{"consent_state", "legal_basis", "source", "activity_kind", "record_kind", "relationship_kind", "recipient_kind", "person_status", "phone_kind"}

// rawWords finds single-word enum values (granted, contract, call) that a
// German or Danish text shows as such: the whole word, where its label in
// lang is another word.
func rawWords(t *testing.T, lang, where, text string) {
	t.Helper()
	kinds := i18n.Kinds()
	for _, kind := range shownKinds {
		for _, v := range kinds[kind] {
			if strings.ContainsAny(v, "_.") || strings.EqualFold(i18n.Label(lang, kind, v), v) {
				continue // i18ntest finds these; or the word is the same
			}
			if regexp.MustCompile(`(^|[^\pL@./_-])` + regexp.QuoteMeta(v) + `($|[^\pL@/_-])`).MatchString(text) {
				t.Errorf("%s: shows the %s value %q instead of its label", where, kind, v)
			}
		}
	}
}

// everything gives a person in lang a value of every kind the report
// shows: a purpose on every legal basis, every consent event, every
// source, every kind of activity, record, relationship and recipient,
// custom and sensitive fields.
func (e *env) everything(t *testing.T, lang string) *ledger.Person {
	t.Helper()
	ctx := e.ctx
	p := must[*ledger.Person](t)(e.l.CreatePerson(ctx, officer, ledger.PersonInput{FirstName: "Zebulon", LastName: "Quixotefield-" + lang,
		Emails: []string{"zq-" + lang + "@example.org"}, Phones: []ledger.Phone{{Kind: "mobile", Number: "+49 30 98765432"}, {Kind: "work", Number: "+49 30 1234"}, {Kind: "home", Number: "+49 30 5678"}},
		Address: ledger.Address{Street: "Gänsemarkt 77", PostalCode: "06484", City: "Quedlinburg", Country: "DE"}, Language: lang}))
	texts := func(n string) map[string]ledger.Text {
		return map[string]ledger.Text{"en": {Name: n + " (en)"}, "de": {Name: n + " (de)"}, "da": {Name: n + " (da)"}}
	}
	var purposes []string
	for _, b := range ledger.LegalBases {
		key := "p_" + lang + "_" + strings.ReplaceAll(string(b), "_", "")
		in := ledger.PurposeInput{Key: key, DefaultLegalBasis: b, AllowedLegalBases: []ledger.LegalBasis{b}, RetentionDays: 730, Texts: texts("Zweck " + string(rune('A'+len(purposes))))}
		if b == ledger.LegitimateInterests {
			in.BalancingTest = "Kunden erwarten Kataloge"
		}
		if b.IsConsent() {
			in.ConsentRequired = true
		}
		must[*ledger.Purpose](t)(e.l.CreatePurpose(ctx, officer, in))
		purposes = append(purposes, key)
	}
	srcs := i18n.Kinds()["source"]
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	i := 0
	record := func(purpose string, kind ledger.EventKind) {
		when := at.Add(time.Duration(i) * time.Hour)
		src := srcs[i%len(srcs)]
		in := ledger.ConsentInput{PersonID: p.ID, Purpose: purpose, Kind: kind, Source: src, OccurredAt: &when}
		if i == 0 {
			in.Evidence = ledger.Evidence{Note: "Anmeldung am Stand", IP: "198.51.100.23", Files: []ledger.File{{Name: "anmeldung.eml", Content: []byte("x")}}}
		}
		if _, err := e.l.RecordConsent(ctx, officer, in); err != nil {
			t.Logf("consent %s %s from %s: %v", purpose, kind, src, err)
		}
		i++
	}
	for _, k := range []ledger.EventKind{ledger.Granted, ledger.Withdrawn, ledger.Refused, ledger.Granted, ledger.Objected} {
		record("e_marketing", k)
	}
	for _, pu := range purposes {
		record(pu, ledger.Granted)
	}
	for i < len(srcs)+2 {
		record("sales_service", ledger.Granted)
	}
	record(purposes[0], "pending")
	for j, k := range i18n.Kinds()["activity_kind"] {
		when := at.Add(time.Duration(j) * 24 * time.Hour)
		must[*records.Activity](t)(e.rec.AddActivity(ctx, officer, records.ActivityInput{PersonID: p.ID, Kind: k, Subject: "Rückruf Nr. " + fmt.Sprint(j), OccurredAt: &when}))
	}
	for _, k := range i18n.Kinds()["record_kind"] {
		must[*records.BusinessRecord](t)(e.rec.AddBusinessRecord(ctx, officer, records.BusinessRecordInput{PersonID: p.ID, Kind: k, Number: "NR-" + k[:2],
			IssuedOn: "2026-03-01", AmountCents: 1_234_56, Currency: "EUR", Description: "Beratung"}))
	}
	must[*records.Document](t)(e.rec.AddDocument(ctx, officer, records.DocumentInput{PersonID: p.ID, Filename: "vertrag.txt", MediaType: "text/plain", Content: bytes.Repeat([]byte("x"), 2048)}))
	for j, k := range i18n.Kinds()["relationship_kind"] {
		o := must[*ledger.Person](t)(e.l.CreatePerson(ctx, officer, ledger.PersonInput{FirstName: "Olga", LastName: fmt.Sprintf("Nachbar%d", j), Emails: []string{fmt.Sprintf("o%d-%s@example.com", j, lang)}}))
		in := records.RelationshipInput{PersonID: p.ID, OtherID: o.ID, Kind: k}
		if j%2 == 1 {
			in.PersonID, in.OtherID = o.ID, p.ID
		}
		must[*records.Relationship](t)(e.rec.AddRelationship(ctx, officer, in))
	}
	pu := must[*ledger.Purpose](t)(e.l.Purpose(ctx, "e_marketing"))
	for _, k := range i18n.Kinds()["recipient_kind"] {
		must[*rights.Recipient](t)(e.r.CreateRecipient(ctx, officer, rights.RecipientInput{Name: "Empfänger " + lang + " " + k[:3], Kind: k, Email: k[:3] + "-" + lang + "@example.com",
			Country: "DE", Language: lang, PurposeIDs: []int64{pu.ID}}))
	}
	for _, f := range []ledger.CustomField{{Key: "member_" + lang, Label: "Treuekarte", Type: "bool"}, {Key: "visits_" + lang, Label: "Besuche", Type: "number"}, {Key: "since_" + lang, Label: "Seit", Type: "date"}} {
		must[*ledger.CustomField](t)(e.l.CreateCustomField(ctx, officer, f))
	}
	custom, _ := json.Marshal(map[string]any{"member_" + lang: true, "visits_" + lang: 12345, "since_" + lang: "2024-02-29", "national_id": "T22000129", "bank_account": "DE89370400440532013000"})
	if err := e.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(`UPDATE persons SET custom = ? WHERE id = ?`, string(custom), p.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return must[*ledger.Person](t)(e.l.Person(ctx, p.ID))
}

func TestReportsAndExportsSpeakGermanAndDanish(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		ctx := e.ctx
		for _, lang := range []string{"de", "da"} {
			p := e.everything(t, lang)
			c := e.verifiedCase(t, p.ID, rights.TypeAccess)
			rep := must[*rights.Report](t)(e.r.Report(ctx, officer, c.ID, "pdf"))
			rep.Controller = "ACME GmbH"

			// Every value the documents show is there to be checked.
			seen := map[string]map[string]bool{}
			mark := func(kind, v string) {
				if seen[kind] == nil {
					seen[kind] = map[string]bool{}
				}
				seen[kind][v] = true
			}
			for _, h := range rep.Consents {
				mark("consent_state", h.Kind)
				mark("legal_basis", h.LegalBasis)
				mark("source", h.Source)
			}
			for _, a := range rep.Activities {
				mark("activity_kind", a.Kind)
			}
			for _, b := range rep.BusinessRecords {
				mark("record_kind", b.Kind)
			}
			for _, x := range rep.Relationships {
				mark("relationship_kind", x.Kind)
			}
			for _, x := range rep.Recipients {
				mark("recipient_kind", x.Kind)
			}
			for _, kind := range []string{"legal_basis", "source", "activity_kind", "record_kind", "relationship_kind", "recipient_kind"} {
				for _, v := range i18n.Kinds()[kind] {
					if !seen[kind][v] {
						t.Errorf("%s: the rich person has no %s %q", lang, kind, v)
					}
				}
			}
			for _, v := range []string{"granted", "withdrawn", "refused", "objected", "pending"} {
				if !seen["consent_state"][v] {
					t.Errorf("%s: no consent event %q", lang, v)
				}
			}

			texts := map[string]string{}
			pdfText, err := rights.PDFText(rep)
			if err != nil {
				t.Fatal(err)
			}
			texts["PDF"] = pdfText
			b, _, err := rep.Render("pdf")
			if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
				t.Fatalf("pdf: %v", err)
			}
			b, _, err = rep.Render("html")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte(`<html lang="`+lang+`">`)) {
				t.Errorf("%s: HTML not marked as %s", lang, lang)
			}
			texts["HTML"] = i18ntest.VisibleText(string(b))
			b, _, err = rep.Render("xlsx")
			if err != nil {
				t.Fatal(err)
			}
			texts["Excel"] = workbookText(t, b)
			b, _, err = rep.Render("json")
			if err != nil {
				t.Fatal(err)
			}
			texts["JSON labels"] = jsonLabels(t, b)

			pc := e.verifiedCase(t, p.ID, rights.TypePortability)
			x := must[*rights.Portable](t)(e.r.Portability(ctx, officer, pc.ID, "csv"))
			var buf bytes.Buffer
			if err := x.WriteCSV(&buf); err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(&buf).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			var csvText strings.Builder
			for _, r := range rows {
				csvText.WriteString(strings.Join(r, " | ") + "\n")
			}
			texts["portability CSV"] = csvText.String()
			xb, _ := json.Marshal(x)
			texts["portability JSON labels"] = jsonLabels(t, xb)

			want := map[string][]string{
				"de": {"Auskunft über Ihre personenbezogenen Daten nach Art. 15 DSGVO", "Art. 6 Abs. 1 lit. f DSGVO", "Art. 9 Abs. 2 lit. a DSGVO", "widerrufen", "Anruf",
					"Rechnung", "1.234,56 €", "12.345", "ja", "29.02.2024", "Bankverbindung (IBAN)", "Olga Nachbar0", "Auftragsverarbeiter", "mobil", "Deutsch", "MEZ", "730 Tage", "2.048 Byte"},
				"da": {"Indsigt i dine personoplysninger efter artikel 15 i databeskyttelsesforordningen", "artikel 6, stk. 1, litra f, i databeskyttelsesforordningen", "tilbagekaldt", "Opkald",
					"Faktura", "1.234,56 €", "12.345", "ja", "29.02.2024", "Bankkonto (IBAN)", "Olga Nachbar0", "databehandler", "mobil", "Dansk", "kl.", "730 dage", "2.048 bytes"},
			}
			for where, text := range texts {
				where = where + ", " + lang
				i18ntest.Check(t, lang, where, text, "Zebulon", "Quixotefield-"+lang)
				rawWords(t, lang, where, text)
				if where == "PDF, "+lang || where == "HTML, "+lang || where == "Excel, "+lang {
					for i, w := range want[lang] {
						if i == 0 && strings.HasPrefix(where, "Excel") {
							continue // the workbook has no title
						}
						if !strings.Contains(text, w) {
							t.Errorf("%s lacks %q", where, w)
						}
					}
				}
			}
			if h := rows[0]; lang == "de" && strings.Join(h, ",") != "Bereich,Feld,Wert,Zeitpunkt" || lang == "da" && strings.Join(h, ",") != "Afsnit,Felt,Værdi,Tidspunkt" {
				t.Errorf("portability CSV header in %s: %v", lang, h)
			}
			if t.Failed() {
				t.Logf("%s PDF text:\n%s", lang, pdfText)
			}
		}
	})
}

// workbookText is every cell of every sheet, sheet names included.
func workbookText(t *testing.T, b []byte) string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out strings.Builder
	for _, s := range f.GetSheetList() {
		out.WriteString(s + "\n")
		rows, err := f.GetRows(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out.WriteString(strings.Join(r, " | ") + "\n")
		}
	}
	return out.String()
}

// jsonLabels is every value of a field of the JSON meant for people: the
// *_label, *_name and *_names fields and the label and value of fields.
func jsonLabels(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, y := range x {
				walk(k, y)
			}
		case []any:
			for _, y := range x {
				walk(key, y)
			}
		case string:
			if strings.HasSuffix(key, "_label") || strings.HasSuffix(key, "_name") || strings.HasSuffix(key, "_names") || key == "label" || key == "value" {
				out.WriteString(x + "\n")
			}
		}
		if m, ok := v.(map[string]any); ok && (key == "person_labels" || key == "custom_field_names") {
			for _, y := range m {
				fmt.Fprintln(&out, y)
			}
		}
	}
	walk("", v)
	if out.Len() == 0 {
		t.Fatal("the JSON has no labels")
	}
	return out.String()
}

// TestWriteReportPDFs writes the German and Danish PDF of the rich person
// to CONSENTO_REPORT_PDF_DIR, to look at them (skipped otherwise).
func TestWriteReportPDFs(t *testing.T) {
	dir := os.Getenv("CONSENTO_REPORT_PDF_DIR")
	if dir == "" {
		t.Skip("CONSENTO_REPORT_PDF_DIR not set")
	}
	e := newEnv(t, storetest.SQLite)
	for _, lang := range []string{"de", "da"} {
		p := e.everything(t, lang)
		c := e.verifiedCase(t, p.ID, rights.TypeAccess)
		rep := must[*rights.Report](t)(e.r.Report(e.ctx, officer, c.ID, "pdf"))
		rep.Controller = "ACME GmbH"
		b, _, err := rep.Render("pdf")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "report-"+lang+".pdf"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
