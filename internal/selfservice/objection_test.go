package selfservice_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
)

var texts = map[string]ledger.Text{"en": {Name: "Profiling", ConsentText: "Profiles"}, "de": {Name: "Profiling"}, "da": {Name: "Profilering"}}

// A purpose on legitimate interests flagged for GPC: the sign-up goes
// through, and the objection records the purpose's own basis.
func TestGPCObjectsWhateverTheBasis(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		if _, err := e.ledger.CreatePurpose(ctx, audit.System, ledger.PurposeInput{Key: "ad_profiling", DefaultLegalBasis: ledger.LegitimateInterests,
			AllowedLegalBases: []ledger.LegalBasis{ledger.LegitimateInterests}, BalancingTest: "customers expect offers that fit", Texts: texts}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ledger.CreatePurpose(ctx, audit.System, ledger.PurposeInput{Key: "ad_sharing", DefaultLegalBasis: ledger.Consent, AllowedLegalBases: []ledger.LegalBasis{ledger.Consent},
			ConsentRequired: true, Texts: texts}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.SetGPCPurposes(ctx, audit.System, []string{"ad_profiling", "ad_sharing"}); err != nil {
			t.Fatal(err)
		}
		// A known person already profiled on legitimate interests.
		known := e.person("known@example.com", "en")
		if _, err := e.ledger.RecordConsent(ctx, audit.System, ledger.ConsentInput{PersonID: known, Purpose: "ad_profiling", Kind: ledger.Granted, Source: "import"}); err != nil {
			t.Fatal(err)
		}
		for _, email := range []string{"gpc@example.com", "known@example.com"} {
			form := url.Values{"csrf": {e.csrf("/f/newsletter")}, "email": {email}, "purpose": {"e_marketing"}, "terms": {"1"}}
			if code, body, _ := e.do("POST", "/f/newsletter", form, "Sec-GPC", "1"); code != 200 || !strings.Contains(body, "Please check your mailbox") {
				t.Fatalf("%s: a GPC browser cannot sign up: %d\n%s", email, code, body)
			}
			e.work()
			p, err := e.ledger.PersonByEmail(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			if st := e.state(p.ID, "e_marketing"); st.State != ledger.Pending {
				t.Fatalf("%s: e_marketing is %s", email, st.State)
			}
			for purpose, basis := range map[string]ledger.LegalBasis{"ad_profiling": ledger.LegitimateInterests, "ad_sharing": ledger.Consent} {
				st := e.state(p.ID, purpose)
				if st.State != ledger.Objected || st.LegalBasis != basis || st.Source != ledger.SourceWebForm || st.Valid {
					t.Fatalf("%s: GPC objection to %s: %+v", email, purpose, st)
				}
			}
		}
	})
}

// An unsubscribe link or a stop on the preference page for a purpose on
// legitimate interests is an objection (Art. 21), not a withdrawal of a
// consent never given; a later grant by the person themself lifts it.
func TestStopsOnOtherBasesAreObjections(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		// Catalogues: direct marketing on legitimate interests, or consent.
		if _, err := e.ledger.CreatePurpose(ctx, audit.System, ledger.PurposeInput{Key: "catalogue", DefaultLegalBasis: ledger.LegitimateInterests,
			AllowedLegalBases: []ledger.LegalBasis{ledger.LegitimateInterests, ledger.Consent}, DPVPurpose: "https://w3id.org/dpv#DirectMarketing",
			BalancingTest: "existing customers expect catalogues", Texts: texts}); err != nil {
			t.Fatal(err)
		}
		// Customer news: legitimate interests only.
		if _, err := e.ledger.CreatePurpose(ctx, audit.System, ledger.PurposeInput{Key: "customer_news", DefaultLegalBasis: ledger.LegitimateInterests,
			AllowedLegalBases: []ledger.LegalBasis{ledger.LegitimateInterests}, DPVPurpose: "https://w3id.org/dpv#DirectMarketing",
			BalancingTest: "existing customers expect news", Texts: texts}); err != nil {
			t.Fatal(err)
		}
		pid := e.person("grete@example.dk", "en")
		for _, purpose := range []string{"catalogue", "customer_news"} {
			if _, err := e.ledger.RecordConsent(ctx, audit.System, ledger.ConsentInput{PersonID: pid, Purpose: purpose, Kind: ledger.Granted, Source: "import"}); err != nil {
				t.Fatal(err)
			}
		}
		pu, _ := e.ledger.Purpose(ctx, "customer_news")
		path := strings.TrimPrefix(e.svc.UnsubscribeURL(pid, pu.ID), e.srv.URL)
		if code, body, _ := e.do("POST", path, url.Values{"List-Unsubscribe": {"One-Click"}}); code != 200 || body != "unsubscribed\n" {
			t.Fatalf("unsubscribe from a legitimate-interests purpose: %d %q", code, body)
		}
		if st := e.state(pid, "customer_news"); st.State != ledger.Objected || st.LegalBasis != ledger.LegitimateInterests || st.Source != ledger.SourceSelfService {
			t.Fatalf("after unsubscribing: %+v", st)
		}

		tok := e.token(pid)
		_, body, _ := e.do("GET", "/p/"+tok, nil)
		csrf := csrfRe.FindStringSubmatch(body)[1]
		stop := url.Values{"csrf": {csrf}, "purpose": {"catalogue"}, "version": {"1"}, "action": {"withdraw"}}
		if code, _, _ := e.do("POST", "/p/"+tok+"/consent", stop); code != 303 {
			t.Fatalf("stop on the preference page: %d", code)
		}
		if st := e.state(pid, "catalogue"); st.State != ledger.Objected || st.LegalBasis != ledger.LegitimateInterests {
			t.Fatalf("a stop of processing on legitimate interests: %+v", st)
		}
		// Staff cannot simply switch it back on with a consent ...
		_, err := e.ledger.RecordConsent(ctx, audit.System, ledger.ConsentInput{PersonID: pid, Purpose: "catalogue", Kind: ledger.Granted, LegalBasis: ledger.Consent, Source: "import"})
		if de, ok := ledger.AsError(err); !ok || de.Code != "objection-needs-own-consent" {
			t.Fatalf("a consent without proof lifted the objection: %v", err)
		}
		// ... the person can.
		grant := url.Values{"csrf": {csrf}, "purpose": {"catalogue"}, "version": {"1"}, "action": {"grant"}}
		if code, _, _ := e.do("POST", "/p/"+tok+"/consent", grant); code != 303 {
			t.Fatalf("grant on the preference page: %d", code)
		}
		st := e.state(pid, "catalogue")
		if st.State != ledger.Granted || st.LegalBasis != ledger.Consent || !st.Valid {
			t.Fatalf("after the person's own consent: %+v", st)
		}
		evs, err := audit.List(ctx, e.db, audit.Filter{PersonID: pid, Action: "consent.objection_lifted"})
		if err != nil || len(evs) != 1 || evs[0].Actor.Type != "subject" || evs[0].ObjectID != itoa(st.EventID) {
			t.Fatalf("the lifted objection is not audited: %+v %v", evs, err)
		}
	})
}
