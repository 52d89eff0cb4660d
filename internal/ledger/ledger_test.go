package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
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

func TestConsentLifecycle(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		l := newLedger(t, e)
		p, err := l.CreatePerson(ctx, staff, ledger.PersonInput{FirstName: "Anna", LastName: "Berg", Emails: []string{" Anna@Example.COM "}, Source: "business_card"})
		if err != nil {
			t.Fatal(err)
		}
		if p.Emails[0] != "anna@example.com" || p.Light != ledger.Red {
			t.Fatalf("new person: emails %v light %s", p.Emails, p.Light)
		}
		if _, err := l.RecordConsent(ctx, staff, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Granted, LegalBasis: ledger.LegitimateInterests}); err == nil {
			t.Fatal("legitimate interests accepted for a consent-only purpose")
		} else if de, ok := ledger.AsError(err); !ok || de.Code != "legal-basis-not-allowed" {
			t.Fatalf("want legal-basis-not-allowed, got %v", err)
		}
		ev, err := l.RecordConsent(ctx, staff, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Granted, Source: "web_form",
			Evidence: ledger.Evidence{Note: "signed up", Files: []ledger.File{{Name: "mail.eml", Content: []byte("From: anna")}}}})
		if err != nil {
			t.Fatal(err)
		}
		if ev.LegalBasis != ledger.Consent || ev.TextVersion != 1 || ev.Evidence.Files[0].SHA256 == "" {
			t.Fatalf("event: %+v", ev)
		}
		p, _ = l.Person(ctx, p.ID)
		if p.Light != ledger.Yellow {
			t.Fatalf("one of two purposes granted: light %s, want yellow", p.Light)
		}
		if _, err := l.RecordConsent(ctx, staff, ledger.ConsentInput{PersonID: p.ID, Purpose: "sales_service", Kind: ledger.Granted}); err != nil {
			t.Fatal(err)
		}
		p, _ = l.Person(ctx, p.ID)
		if p.Light != ledger.Green {
			t.Fatalf("light %s, want green", p.Light)
		}
		if _, err := l.RecordConsent(ctx, staff, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Withdrawn}); err != nil {
			t.Fatal(err)
		}
		st, err := l.ConsentFor(ctx, p.ID, "e_marketing")
		if err != nil || st.State != ledger.Withdrawn || st.Valid {
			t.Fatalf("state %+v %v", st, err)
		}
		h, _ := l.History(ctx, p.ID, "e_marketing")
		if len(h) != 2 || h[0].Kind != ledger.Withdrawn || h[1].Kind != ledger.Granted {
			t.Fatalf("history %+v", h)
		}
		rep, err := audit.Verify(ctx, l.DB())
		if err != nil || !rep.OK {
			t.Fatalf("verify %+v %v", rep, err)
		}
		evs, err := audit.List(ctx, l.DB(), audit.Filter{PersonID: p.ID})
		if err != nil || len(evs) != 4 || evs[0].Payload == nil || evs[0].Action != "consent.withdrawn" {
			t.Fatalf("audit events %d %v", len(evs), err)
		}
	})
}

func TestExpiry(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		l := newLedger(t, e)
		p, err := l.CreatePerson(ctx, staff, ledger.PersonInput{LastName: "Holm", Emails: []string{"holm@example.dk"}})
		if err != nil {
			t.Fatal(err)
		}
		until := time.Now().Add(time.Hour)
		if _, err := l.RecordConsent(ctx, staff, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Granted, ValidUntil: &until}); err != nil {
			t.Fatal(err)
		}
		l.SetClock(func() time.Time { return time.Now().Add(2 * time.Hour) })
		st, _ := l.ConsentFor(ctx, p.ID, "e_marketing")
		if st.State != ledger.Expired || st.Valid {
			t.Fatalf("after valid_until: %+v", st)
		}
	})
}

// A back-dated event (say, an imported paper form) joins the history but
// does not override a newer state.
func TestBackdatedEventKeepsNewerState(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		l := newLedger(t, e)
		p, err := l.CreatePerson(ctx, staff, ledger.PersonInput{LastName: "Vogel", Emails: []string{"vogel@example.de"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.RecordConsent(ctx, staff, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Granted}); err != nil {
			t.Fatal(err)
		}
		yesterday := time.Now().Add(-24 * time.Hour)
		if _, err := l.RecordConsent(ctx, staff, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Withdrawn, OccurredAt: &yesterday}); err != nil {
			t.Fatal(err)
		}
		st, _ := l.ConsentFor(ctx, p.ID, "e_marketing")
		if st.State != ledger.Granted {
			t.Fatalf("a back-dated withdrawal overrode a newer grant: %+v", st)
		}
		h, _ := l.History(ctx, p.ID, "e_marketing")
		if len(h) != 2 || h[1].Kind != ledger.Withdrawn {
			t.Fatalf("history %+v", h)
		}
		if _, err := l.RecordConsent(ctx, staff, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Objected}); err != nil {
			t.Fatal(err)
		}
		if st, _ := l.ConsentFor(ctx, p.ID, "e_marketing"); st.State != ledger.Objected {
			t.Fatalf("a newer objection did not apply: %+v", st)
		}
	})
}

// Names with capitals outside ASCII are found by their lower-case prefix.
func TestSearchFoldsUnicode(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		l := newLedger(t, e)
		if _, err := l.CreatePerson(ctx, staff, ledger.PersonInput{FirstName: "Åse", LastName: "Østergaard", Emails: []string{"aase@example.dk"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.CreatePerson(ctx, staff, ledger.PersonInput{FirstName: "Ole", LastName: "Åsen", Emails: []string{"ole@example.dk"}}); err != nil {
			t.Fatal(err)
		}
		search := func(want int, queries ...string) {
			t.Helper()
			for _, q := range queries {
				ps, _, err := l.ListPersons(ctx, ledger.PersonFilter{Query: q})
				if err != nil || len(ps) != want {
					t.Errorf("search %q: %d found, want %d (%v)", q, len(ps), want, err)
				}
			}
		}
		for _, dense := range []int{20000, 1} { // through the indexes, and scanning
			restore := ledger.SetDenseRows(dense)
			search(1, "østerg", "ØSTERG", "aase@", "åse øster", "østergaard  åse", "ole")
			search(2, "å", "ÅS", " åse ")
			search(0, "åse åsen", "x", "%", "_", `\`)
			restore()
		}
	})
}
