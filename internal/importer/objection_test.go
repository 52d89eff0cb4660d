package importer_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/importer"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
)

// An import cannot switch direct marketing back on over a person's
// objection (Art. 21(3)) unless the row records the person's own act; the
// events it records name the source "import" unless the row names one.
func TestImportRespectsObjections(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		l := newLedger(t, e)
		staff := audit.Actor{Type: "user", ID: "1"}
		for _, email := range []string{"anna@example.com", "ben@example.com"} {
			p, err := l.CreatePerson(ctx, staff, ledger.PersonInput{LastName: "Objecting", Emails: []string{email}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.RecordConsent(ctx, staff, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Objected, Source: "phone"}); err != nil {
				t.Fatal(err)
			}
		}
		csvText := "email;consent:e_marketing;source\n" +
			"anna@example.com;granted;\n" + // the CRM's old opt-in: refused
			"ben@example.com;granted;web_form\n" + // a new sign-up on the shop's form
			"carl@example.com;granted;\n"
		var rejects bytes.Buffer
		rep, err := importer.Run(ctx, l, strings.NewReader(csvText), importer.Options{OnDuplicate: importer.OnDuplicateUpdate, Rejects: &rejects, Evidence: "CRM export"})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Created != 1 || rep.Updated != 1 || rep.Rejected != 1 {
			t.Fatalf("report %+v", rep)
		}
		recs := readRejects(t, rejects.Bytes())
		if len(recs) != 2 || !strings.Contains(recs[1][1], "objected to direct marketing (GDPR Art. 21(3))") || !strings.Contains(strings.Join(recs[1], ";"), "anna@example.com") {
			t.Fatalf("rejects %q", recs)
		}
		want := map[string]struct {
			state  ledger.EventKind
			source string
		}{"anna@example.com": {ledger.Objected, "phone"}, "ben@example.com": {ledger.Granted, "web_form"}, "carl@example.com": {ledger.Granted, "import"}}
		for email, w := range want {
			p, err := l.PersonByEmail(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			st, _ := l.ConsentFor(ctx, p.ID, "e_marketing")
			if st.State != w.state || st.Source != w.source {
				t.Fatalf("%s: %+v", email, st)
			}
		}
		ben, _ := l.PersonByEmail(ctx, "ben@example.com")
		lifted, err := audit.List(ctx, l.DB(), audit.Filter{PersonID: ben.ID, Action: "consent.objection_lifted"})
		if err != nil || len(lifted) != 1 || lifted[0].Actor != importer.Actor {
			t.Fatalf("lifted objection audit %+v %v", lifted, err)
		}
		verify(t, l)
	})
}
