package rights_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/storetest"
)

func TestAccessReportInEveryFormat(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		ctx := e.ctx
		p, _ := e.richPerson(t)
		c := e.verifiedCase(t, p.ID, rights.TypeAccess)
		must[*rights.Request](t)(e.r.AddNote(ctx, officer, c.ID, "INTERNAL-NOTE-do-not-disclose"))
		rep := must[*rights.Report](t)(e.r.Report(ctx, officer, c.ID, "json"))
		if rep.Language != "de" || rep.Person.LastName != "Quixotefield" || len(rep.Activities) != 1 || len(rep.Documents) != 1 ||
			len(rep.Relationships) != 1 || len(rep.BusinessRecords) != 1 || len(rep.Consents) != 2 || len(rep.Purposes) < 2 || len(rep.Rights) == 0 {
			t.Fatalf("report: %+v", rep)
		}
		if !strings.Contains(strings.Join(rep.Rights, " "), "Art. 77") || !strings.Contains(rep.Rights[0], "Auskunft") {
			t.Fatalf("rights text not in German: %v", rep.Rights)
		}
		var ev []string
		for _, h := range rep.Consents {
			ev = append(ev, h.Evidence...)
		}
		if !strings.Contains(strings.Join(ev, "|"), "Datei: signup.eml") {
			t.Fatalf("evidence list: %v", ev)
		}
		for _, format := range []string{"json", "html", "pdf", "xlsx"} {
			b, ct, err := rep.Render(format)
			if err != nil || len(b) < 200 || ct == "" {
				t.Fatalf("%s: %d bytes, %q, %v", format, len(b), ct, err)
			}
			if bytes.Contains(b, []byte("INTERNAL-NOTE")) {
				t.Fatalf("%s discloses an internal note", format)
			}
			switch format {
			case "json", "html":
				for _, want := range []string{"Quixotefield", "zebulon.q@example.org", "INV-2026-0042", "contract-quixotefield.txt", "Call with Zebulon"} {
					if !bytes.Contains(b, []byte(want)) {
						t.Errorf("%s lacks %q", format, want)
					}
				}
				if format == "html" && !bytes.Contains(b, []byte("Auskunft über Ihre personenbezogenen Daten")) {
					t.Error("the HTML report is not in the person's language")
				}
			case "pdf":
				if !bytes.HasPrefix(b, []byte("%PDF-")) || !bytes.Contains(b[len(b)-64:], []byte("%%EOF")) {
					t.Fatal("not a PDF")
				}
			case "xlsx":
				f, err := excelize.OpenReader(bytes.NewReader(b))
				if err != nil {
					t.Fatal(err)
				}
				v, _ := f.GetCellValue("Ihre Daten", "B2")
				acts, _ := f.GetRows("Aktivitäten")
				f.Close()
				if v != "Zebulon Quixotefield" || len(acts) != 2 {
					t.Fatalf("xlsx: name %q, %d activity rows", v, len(acts))
				}
			}
		}
		// Staff choose the sections.
		if err := e.r.SetReportSections(ctx, []string{"person", "consents"}); err != nil {
			t.Fatal(err)
		}
		if err := e.r.SetReportSections(ctx, []string{"notes"}); code(err) != "validation" {
			t.Fatalf("unknown section: %v", err)
		}
		rep = must[*rights.Report](t)(e.r.Report(ctx, officer, c.ID, "json"))
		if rep.Person == nil || len(rep.Consents) == 0 || rep.Activities != nil || rep.Documents != nil || rep.BusinessRecords != nil {
			t.Fatalf("sections not honoured: %+v", rep)
		}
	})
}

func TestPortabilityExport(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		ctx := e.ctx
		p, _ := e.richPerson(t)
		c := e.verifiedCase(t, p.ID, rights.TypePortability)
		x := must[*rights.Portable](t)(e.r.Portability(ctx, officer, c.ID, "json"))
		b, _ := json.Marshal(x)
		var back map[string]any
		if err := json.Unmarshal(b, &back); err != nil || back["$schema"] != rights.PortabilitySchema {
			t.Fatalf("json: %v %v", back["$schema"], err)
		}
		if x.Person.LastName != "Quixotefield" || len(x.Person.Emails) != 2 || len(x.Consents) != 1 || x.Consents[0].Purpose != "e_marketing" || len(x.Activities) != 1 {
			t.Fatalf("portable: %+v", x)
		}
		var buf bytes.Buffer
		if err := x.WriteCSV(&buf); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil || strings.Join(rows[0], ",") != "Bereich,Feld,Wert,Zeitpunkt" {
			t.Fatalf("csv: %v %v", rows, err)
		}
		var emails int
		for _, r := range rows {
			if r[0] == "Kontaktdaten" && r[1] == "E-Mail-Adresse" {
				emails++
			}
		}
		if emails != 2 {
			t.Fatalf("csv e-mail rows: %d", emails)
		}
		a := must[*rights.Request](t)(e.r.CreateRequest(ctx, officer, rights.RequestInput{PersonID: &p.ID, Type: rights.TypePortability}))
		if _, err := e.r.Portability(ctx, officer, a.ID, "json"); code(err) != "identity-not-verified" {
			t.Fatalf("export before verification: %v", err)
		}
		_ = ledger.StatusActive
	})
}
