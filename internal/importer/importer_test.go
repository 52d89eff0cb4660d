package importer_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/importer"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
)

var staff = audit.Actor{Type: "user", ID: "1"}

func newLedger(t *testing.T, e storetest.Engine) *ledger.Service {
	t.Helper()
	db := storetest.Open(t, e)
	l := ledger.New(db)
	if err := l.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	return l
}

// A CRM export: semicolons, German headers, a quoted street over two lines.
const crmExport = "Vorname;Nachname;E-Mail;Telefon;Straße;PLZ;Ort;Land;Sprache;Firma;Einwilligung Newsletter;Datum Newsletter;Rechtsgrundlage Newsletter;Einwilligung Vertrieb;Notiz\n" +
	"Anna;Berg;Anna@Example.com;+49 30 123456;Hauptstr. 1;10115;Berlin;DE;DE;Berg GmbH;granted;2024-03-01;;granted;\n" + // line 2
	"Ben;Kohl;\"ben@example.com; b.kohl@example.org\";;\"Hinterhof 2\nAufgang B\";;;;de;Berg GmbH;withdrawn;2024-04-01T10:00:00Z;;;zwei Zeilen\n" + // lines 3-4
	"Carla;Meier;carla@@example;;;;;;de;;granted;;;;\n" + // line 5: bad e-mail
	"Dieter;Roth;dieter@example.com;;;;;;de;;vielleicht;;;;\n" + // line 6: unknown state
	"Eva;Lang;eva@example.com;;;;;;de;;granted;;legitimate_interests;;\n" + // line 7: basis not allowed
	"Fritz;Hahn;ANNA@example.com;;;;;;de;;granted;;;;\n" + // line 8: duplicate in the file
	"Gerd;Stein;stored@example.com;;;;;;de;;granted;;;;\n" + // line 9: duplicate in the database
	"Hanna;Vogel;hanna@example.com;;;;;;en;Vogel AG;;;;refused;\n" + // line 10
	"Ida;Kurz;ida@example.com;;;;;;xx;;;;;;\n" + // line 11: unknown language
	"Jan;Lutz;jan@example.com;;;;;;de;;granted;31.12.2024;;;\n" // line 12: bad date

var crmMapping = map[string]string{
	"first_name": "Vorname", "last_name": "Nachname", "email": "E-Mail", "phone": "Telefon", "street": "Straße",
	"postal_code": "PLZ", "city": "Ort", "country": "Land", "language": "Sprache", "organisation": "Firma",
	"consent:e_marketing": "Einwilligung Newsletter", "consent_date:e_marketing": "Datum Newsletter",
	"legal_basis:e_marketing": "Rechtsgrundlage Newsletter", "consent:sales_service": "Einwilligung Vertrieb",
}

type counts struct{ persons, emails, events, consents, audit, orgs, keys int64 }

func countRows(t *testing.T, l *ledger.Service) counts {
	t.Helper()
	var c counts
	for _, x := range []struct {
		table string
		n     *int64
	}{{"persons", &c.persons}, {"person_emails", &c.emails}, {"consent_events", &c.events}, {"consents", &c.consents}, {"audit_events", &c.audit}, {"organisations", &c.orgs}, {"person_keys", &c.keys}} {
		if err := l.DB().QueryRow(context.Background(), "SELECT COUNT(*) FROM "+x.table).Scan(x.n); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func verify(t *testing.T, l *ledger.Service) {
	t.Helper()
	rep, err := audit.Verify(context.Background(), l.DB())
	if err != nil || !rep.OK {
		t.Fatalf("audit verify: %+v %v", rep, err)
	}
}

func readRejects(t *testing.T, b []byte) [][]string {
	t.Helper()
	if len(b) == 0 {
		return nil
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.Comma = ';'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("rejects: %v\n%s", err, b)
	}
	return recs
}

func TestImportCRMExport(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		l := newLedger(t, e)
		stored, err := l.CreatePerson(ctx, staff, ledger.PersonInput{LastName: "Stein", Emails: []string{"stored@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		var rejects bytes.Buffer
		rep, err := importer.Run(ctx, l, strings.NewReader(crmExport), importer.Options{Mapping: crmMapping, Rejects: &rejects})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Delimiter != ";" || rep.RowsRead != 10 || rep.Created != 3 || rep.Rejected != 7 || rep.ConsentEvents != 4 || rep.Organisations != 2 || rep.RolledBack {
			t.Fatalf("report %+v", rep)
		}
		if len(rep.Ignored) != 1 || rep.Ignored[0] != "Notiz" {
			t.Fatalf("ignored columns %v", rep.Ignored)
		}
		anna, err := l.PersonByEmail(ctx, "anna@example.com")
		if err != nil {
			t.Fatal(err)
		}
		recs := readRejects(t, rejects.Bytes())
		want := []struct {
			line   string
			reason string
			first  string
		}{
			{"5", `E-Mail "carla@@example": is not a valid e-mail address`, "Carla"},
			{"6", `Einwilligung Newsletter: unknown consent state "vielleicht"`, "Dieter"},
			{"7", `Einwilligung Newsletter: the purpose "e_marketing" requires consent: legitimate_interests is not allowed`, "Eva"},
			{"8", fmt.Sprintf(`duplicate: the e-mail address "anna@example.com" belongs to person %d (imported from an earlier line of this file)`, anna.ID), "Fritz"},
			{"9", fmt.Sprintf(`duplicate: the e-mail address "stored@example.com" belongs to person %d (stored before)`, stored.ID), "Gerd"},
			{"11", `Sprache "xx": must be one of en, de, da`, "Ida"},
			{"12", `Datum Newsletter: "31.12.2024" is not a date`, "Jan"},
		}
		if len(recs) != 1+len(want) {
			t.Fatalf("rejects file has %d records:\n%s", len(recs), rejects.String())
		}
		if strings.Join(recs[0][:4], ";") != "line;reason;Vorname;Nachname" {
			t.Fatalf("rejects header %v", recs[0])
		}
		byLine := map[string][]string{}
		for _, r := range recs[1:] {
			byLine[r[0]] = r
		}
		for _, w := range want {
			r, ok := byLine[w.line]
			if !ok {
				t.Errorf("line %s not rejected:\n%s", w.line, rejects.String())
				continue
			}
			if !strings.Contains(r[1], w.reason) || r[2] != w.first || len(r) != 2+15 {
				t.Errorf("line %s: got %q (first name %q, %d fields), want reason containing %q", w.line, r[1], r[2], len(r), w.reason)
			}
		}
		if rep.RejectReasons["duplicate-email"] != 2 {
			t.Errorf("reject reasons %v", rep.RejectReasons)
		}

		if anna.FirstName != "Anna" || anna.Language != "de" || anna.Source != "import" || anna.OrganisationID == nil || len(anna.Phones) != 1 || anna.Address.City != "Berlin" {
			t.Fatalf("anna %+v", anna)
		}
		st, err := l.ConsentFor(ctx, anna.ID, "e_marketing")
		if err != nil || st.State != ledger.Granted || !st.Valid || st.LegalBasis != ledger.Consent || st.UpdatedBy != "system:import" || st.Source != "import" {
			t.Fatalf("anna e_marketing %+v %v", st, err)
		}
		st, err = l.ConsentFor(ctx, anna.ID, "sales_service")
		if err != nil || st.State != ledger.Granted || st.LegalBasis != ledger.Contract {
			t.Fatalf("anna sales_service %+v %v", st, err)
		}
		h, err := l.History(ctx, anna.ID, "e_marketing")
		if err != nil || len(h) != 1 || !h[0].OccurredAt.Equal(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)) || h[0].Evidence.Note != "CSV import, line 2" {
			t.Fatalf("anna history %+v %v", h, err)
		}
		ben, err := l.PersonByEmail(ctx, "b.kohl@example.org")
		if err != nil {
			t.Fatal(err)
		}
		if len(ben.Emails) != 2 || ben.Emails[0] != "ben@example.com" || ben.Address.Street != "Hinterhof 2\nAufgang B" || *ben.OrganisationID != *anna.OrganisationID {
			t.Fatalf("ben %+v", ben)
		}
		if st, _ := l.ConsentFor(ctx, ben.ID, "e_marketing"); st.State != ledger.Withdrawn || st.Valid {
			t.Fatalf("ben e_marketing %+v", st)
		}
		hanna, err := l.PersonByEmail(ctx, "hanna@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := l.ConsentFor(ctx, hanna.ID, "sales_service"); st.State != ledger.Refused {
			t.Fatalf("hanna sales_service %+v", st)
		}
		if st, _ := l.ConsentFor(ctx, hanna.ID, "e_marketing"); st.State != "none" {
			t.Fatalf("hanna e_marketing %+v", st)
		}
		org, err := l.Organisation(ctx, *hanna.OrganisationID)
		if err != nil || org.Name != "Vogel AG" {
			t.Fatalf("org %+v %v", org, err)
		}

		verify(t, l)
		evs, err := audit.List(ctx, l.DB(), audit.Filter{PersonID: anna.ID})
		if err != nil || len(evs) != 3 {
			t.Fatalf("anna's audit events: %d %v", len(evs), err)
		}
		actions := map[string]bool{}
		for _, ev := range evs {
			if ev.Payload == nil || !ev.Sealed || ev.Actor != importer.Actor || ev.Payload.Reason != "CSV import" {
				t.Fatalf("event %+v", ev)
			}
			actions[ev.Action] = true
			if ev.Action == "person.create" {
				var p ledger.Person
				if err := json.Unmarshal(ev.Payload.After, &p); err != nil || p.ID != anna.ID || p.Emails[0] != "anna@example.com" || p.CreatedBy != "system:import" {
					t.Fatalf("person.create payload %s: %v", ev.Payload.After, err)
				}
			}
			if ev.Action == "consent.granted" {
				var ce ledger.ConsentEvent
				if err := json.Unmarshal(ev.Payload.After, &ce); err != nil || ce.PersonID != anna.ID || ce.ID == 0 {
					t.Fatalf("consent payload %s: %v", ev.Payload.After, err)
				}
			}
		}
		if !actions["person.create"] || !actions["consent.granted"] {
			t.Fatalf("actions %v", actions)
		}
		orgEvs, err := audit.List(ctx, l.DB(), audit.Filter{Action: "organisation.create"})
		if err != nil || len(orgEvs) != 2 || orgEvs[0].Sealed {
			t.Fatalf("organisation events %d %v", len(orgEvs), err)
		}
		c := countRows(t, l)
		if c.persons != 4 || c.keys != 4 || c.emails != 5 || c.events != 4 || c.consents != 4 || c.orgs != 2 {
			t.Fatalf("counts %+v", c)
		}
		// The ledger keeps working after the bulk path took ids itself.
		p, err := l.CreatePerson(ctx, staff, ledger.PersonInput{LastName: "Neu", Emails: []string{"neu@example.com"}})
		if err != nil || p.ID <= hanna.ID {
			t.Fatalf("create after import: %+v %v", p, err)
		}
		if _, err := l.RecordConsent(ctx, staff, ledger.ConsentInput{PersonID: hanna.ID, Purpose: "e_marketing", Kind: ledger.Granted}); err != nil {
			t.Fatal(err)
		}
		verify(t, l)
	})
}

func TestImportDryRun(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		l := newLedger(t, e)
		if _, err := l.CreatePerson(ctx, staff, ledger.PersonInput{LastName: "Stein", Emails: []string{"stored@example.com"}}); err != nil {
			t.Fatal(err)
		}
		before := countRows(t, l)
		var rejects bytes.Buffer
		rep, err := importer.Run(ctx, l, strings.NewReader(crmExport), importer.Options{Mapping: crmMapping, Rejects: &rejects, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.DryRun || !rep.RolledBack || rep.Created != 3 || rep.Rejected != 7 || rep.RejectReasons["duplicate-email"] != 2 {
			t.Fatalf("report %+v", rep)
		}
		if after := countRows(t, l); after != before {
			t.Fatalf("dry run wrote: before %+v after %+v", before, after)
		}
		if len(readRejects(t, rejects.Bytes())) != 8 {
			t.Fatalf("dry run rejects:\n%s", rejects.String())
		}
		verify(t, l)
	})
}

// generate writes n persons with two consents each, comma-separated with
// the default headers; every dupEvery-th row repeats an earlier e-mail.
func generate(n, dupEvery int) string {
	var b strings.Builder
	b.WriteString("first_name,last_name,email,phone,city,country,language,organisation,consent:e_marketing,consent_date:e_marketing,consent:sales_service\n")
	states := []string{"granted", "withdrawn", "refused", "pending", "objected"}
	for i := 1; i <= n; i++ {
		email := fmt.Sprintf("person%d@example.com", i)
		if dupEvery > 0 && i%dupEvery == 0 {
			email = fmt.Sprintf("person%d@example.com", i-1)
		}
		org := ""
		if i%7 == 0 {
			org = fmt.Sprintf("Firma %d", i%5)
		}
		fmt.Fprintf(&b, "Vor%d,Nach%d,%s,+45 %08d,København,DK,da,%s,%s,2025-01-%02d,granted\n", i, i, email, i, org, states[i%4], 1+i%28)
	}
	return b.String()
}

func TestImportManyBatches(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		l := newLedger(t, e)
		const n = 3000
		var rejects bytes.Buffer
		var calls int
		rep, err := importer.Run(ctx, l, strings.NewReader(generate(n, 100)), importer.Options{BatchSize: 256, Rejects: &rejects,
			Progress: func(rows, bytes int64) { calls++ }})
		if err != nil {
			t.Fatal(err)
		}
		dups := int64(n / 100)
		if rep.Delimiter != "," || rep.RowsRead != n || rep.Created != n-dups || rep.Rejected != dups || rep.ConsentEvents != 2*(n-dups) || rep.Organisations != 5 || calls < 5 {
			t.Fatalf("report %+v, %d progress calls", rep, calls)
		}
		c := countRows(t, l)
		if c.persons != n-dups || c.events != 2*(n-dups) || c.consents != 2*(n-dups) || c.audit != rep.Created*3+5+16 /* seed: 14 sources, 2 purposes */ {
			t.Fatalf("counts %+v", c)
		}
		verify(t, l)
		p, err := l.PersonByEmail(ctx, "person2999@example.com")
		if err != nil || p.FirstName != "Vor2999" || len(p.Phones) != 1 {
			t.Fatalf("person %+v %v", p, err)
		}
		st, err := l.ConsentFor(ctx, p.ID, "e_marketing")
		if err != nil || st.State != ledger.Pending { // states[2999 % 4]
			t.Fatalf("state %+v %v", st, err)
		}

		// Import again with updates: every row is now a duplicate.
		rep, err = importer.Run(ctx, l, strings.NewReader(strings.ReplaceAll(generate(50, 0), ",granted\n", ",refused\n")), importer.Options{OnDuplicate: importer.OnDuplicateUpdate})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Updated != 50 || rep.Created != 0 || rep.ConsentEvents != 100 || rep.Rejected != 0 {
			t.Fatalf("update report %+v", rep)
		}
		p, _ = l.PersonByEmail(ctx, "person7@example.com")
		if st, _ := l.ConsentFor(ctx, p.ID, "sales_service"); st.State != ledger.Refused {
			t.Fatalf("after update: %+v", st)
		}
		verify(t, l)
	})
}

func TestImportUpdateWithinFile(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		l := newLedger(t, e)
		csvText := "email;consent:e_marketing;consent_date:e_marketing\n" +
			"a@example.com;granted;2024-01-01\n" +
			"b@example.com;granted;2024-01-01\n" +
			"A@example.com;withdrawn;2024-06-01\n" + // updates the person of line 2
			"a@example.com;granted;2023-01-01\n" // back-dated: joins the history only
		rep, err := importer.Run(ctx, l, strings.NewReader(csvText), importer.Options{OnDuplicate: importer.OnDuplicateUpdate})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Created != 2 || rep.Updated != 2 || rep.ConsentEvents != 4 {
			t.Fatalf("report %+v", rep)
		}
		p, _ := l.PersonByEmail(ctx, "a@example.com")
		st, _ := l.ConsentFor(ctx, p.ID, "e_marketing")
		h, _ := l.History(ctx, p.ID, "e_marketing")
		if st.State != ledger.Withdrawn || len(h) != 3 {
			t.Fatalf("state %+v history %d", st, len(h))
		}
		verify(t, l)
	})
}

func TestImportCancelled(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		l := newLedger(t, e)
		if _, err := l.CreatePerson(context.Background(), staff, ledger.PersonInput{LastName: "Da", Emails: []string{"da@example.com"}}); err != nil {
			t.Fatal(err)
		}
		before := countRows(t, l)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rep, err := importer.Run(ctx, l, strings.NewReader(generate(5000, 0)), importer.Options{BatchSize: 128,
			Progress: func(rows, _ int64) {
				if rows > 1000 {
					cancel()
				}
			}})
		if !errors.Is(err, importer.ErrInterrupted) || !rep.Interrupted || !rep.RolledBack {
			t.Fatalf("err %v, report %+v", err, rep)
		}
		if after := countRows(t, l); after != before {
			t.Fatalf("cancelled import left rows: before %+v after %+v", before, after)
		}
		verify(t, l)
		// The database takes writes again.
		if _, err := l.CreatePerson(context.Background(), staff, ledger.PersonInput{LastName: "Danach"}); err != nil {
			t.Fatal(err)
		}
		verify(t, l)
	})
}

func TestImportMappingErrors(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t, storetest.SQLite)
	before := countRows(t, l)
	for _, c := range []struct {
		csv     string
		mapping map[string]string
		want    string
	}{
		{"E-Mail;Einwilligung\nx@example.com;granted\n", map[string]string{"email": "E-Mail", "consent:newsletter": "Einwilligung"}, `there is no purpose "newsletter"`},
		{"E-Mail;Einwilligung\nx@example.com;granted\n", map[string]string{"email": "Mail"}, `the file has no column "Mail"`},
		{"E-Mail;Einwilligung\nx@example.com;granted\n", map[string]string{"shoe_size": "Einwilligung"}, `"shoe_size" is not a field`},
		{"Notiz,Wert\na,b\n", nil, "no column holds the e-mail address or the name"},
		{"email,consent_date:e_marketing\na@example.com,2024-01-01\n", nil, "needs a consent:e_marketing column"},
		{"", nil, "the file is empty"},
	} {
		_, err := importer.Run(ctx, l, strings.NewReader(c.csv), importer.Options{Mapping: c.mapping})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q %v: got %v, want %q", c.csv, c.mapping, err, c.want)
		}
	}
	if after := countRows(t, l); after != before {
		t.Fatalf("failed imports wrote rows")
	}
}

func TestImportTabsAndBOM(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t, storetest.SQLite)
	text := "\xef\xbb\xbfFirst Name\tLast Name\tEmail Address\tconsent:e_marketing\n" +
		"Ole\tHansen\tole@example.dk\tgranted\n" +
		"Bad\t\"quote\"x\tbad@example.dk\tgranted\n" +
		"Too\tMany\tt@example.dk\tgranted\textra\n"
	var rejects bytes.Buffer
	rep, err := importer.Run(ctx, l, strings.NewReader(text), importer.Options{Rejects: &rejects})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Delimiter != "\t" || rep.Created != 1 || rep.Rejected != 2 || rep.RejectReasons["csv-syntax"] != 1 || rep.RejectReasons["field-count"] != 1 {
		t.Fatalf("report %+v\n%s", rep, rejects.String())
	}
	if !strings.Contains(rejects.String(), "3\t\"CSV syntax error") || !strings.Contains(rejects.String(), "4\tthe row has 5 fields, the header 4") {
		t.Fatalf("rejects:\n%s", rejects.String())
	}
	p, err := l.PersonByEmail(ctx, "ole@example.dk")
	if err != nil || p.FirstName != "Ole" || p.LastName != "Hansen" {
		t.Fatalf("%+v %v", p, err)
	}
}

// A column named as the field wins over one of its aliases, wherever the
// columns stand; the report names every column and what became of it.
func TestImportExactHeaderBeatsAlias(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		for i, text := range []string{
			"name,last_name,email,Notes\nAcme Corp,Berg,anna@example.com,x\n",
			"email,Last Name,name,Notes\nanna@example.com,Berg,Acme Corp,x\n",
		} {
			l := newLedger(t, e)
			rep, err := importer.Run(ctx, l, strings.NewReader(text), importer.Options{DryRun: i == 0})
			if err != nil {
				t.Fatal(err)
			}
			hdr := strings.Split(strings.SplitN(text, "\n", 2)[0], ",")
			want := map[string]importer.ColumnMapping{
				"name":  {Column: "name", Field: ""},
				"Notes": {Column: "Notes", Field: ""},
				"email": {Column: "email", Field: "email", By: "name"},
			}
			for _, h := range hdr {
				if h == "last_name" || h == "Last Name" {
					want[h] = importer.ColumnMapping{Column: h, Field: "last_name", By: "name"}
				}
			}
			if len(rep.Mapping) != len(hdr) {
				t.Fatalf("file %d: mapping %+v", i, rep.Mapping)
			}
			for j, m := range rep.Mapping {
				w := want[hdr[j]]
				w.Position = j + 1
				if m != w {
					t.Errorf("file %d: column %d is %+v, want %+v", i, j+1, m, w)
				}
			}
			if strings.Join(rep.Ignored, "|") != map[int]string{0: "name|Notes", 1: "name|Notes"}[i] {
				t.Errorf("file %d: ignored %q", i, rep.Ignored)
			}
			if rep.Columns["last_name"] != hdr[map[int]int{0: 1, 1: 1}[i]] {
				t.Errorf("file %d: columns %v", i, rep.Columns)
			}
			if i == 1 {
				p, err := l.PersonByEmail(ctx, "anna@example.com")
				if err != nil || p.LastName != "Berg" {
					t.Fatalf("person %+v %v", p, err)
				}
			}
		}
		// Without a last_name column the alias still works.
		l := newLedger(t, e)
		rep, err := importer.Run(ctx, l, strings.NewReader("Name,email\nBerg,b@example.com\n"), importer.Options{})
		if err != nil || rep.Columns["last_name"] != "Name" || rep.Mapping[0].By != "alias" {
			t.Fatalf("alias: %+v %v", rep, err)
		}
	})
}

// Text a database cannot hold (invalid UTF-8, NUL) and broken quoting are
// rejected with their line; the other rows are imported, on both engines.
func TestImportRejectsBadTextAndQuotes(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		l := newLedger(t, e)
		text := "first_name,last_name,email\n" +
			"Ole,Hansen,ole@example.dk\n" + // line 2
			"Bad,\xff\xfe,bad@example.dk\n" + // line 3: not UTF-8
			"Nul,A\x00B,nul@example.dk\n" + // line 4: NUL
			"Eva,Lang,eva@example.dk\n" + // line 5
			"Open,\"Quote,open@example.dk\n" + // line 6: never closed
			"Lost,Row,lost@example.dk\n"
		var rejects bytes.Buffer
		rep, err := importer.Run(ctx, l, strings.NewReader(text), importer.Options{Rejects: &rejects})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Created != 2 || rep.RejectReasons["invalid-text"] != 2 || rep.RejectReasons["csv-syntax"] != 1 {
			t.Fatalf("report %+v\n%s", rep, rejects.String())
		}
		for _, want := range []string{"3,last_name: is not valid UTF-8", "4,last_name: holds a NUL", `6,"CSV syntax error: a quoted field is not closed`} {
			if !strings.Contains(rejects.String(), want) {
				t.Errorf("rejects lack %q:\n%s", want, rejects.String())
			}
		}
		if c := countRows(t, l); c.persons != 2 {
			t.Fatalf("persons %d", c.persons)
		}
		verify(t, l)
	})
}
