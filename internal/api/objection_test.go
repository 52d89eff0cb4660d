package api_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
)

// A staff or API grant does not silently override an objection to direct
// marketing (Art. 21(3)): it needs proof of the person's own new consent,
// and when accepted it is audited as lifting the objection.
func TestAPIGrantAfterObjectionNeedsOwnConsent(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		decode[ledger.Purpose](t, e.do("POST", "/api/v1/purposes", map[string]any{"key": "catalogue", "default_legal_basis": "legitimate_interests",
			"allowed_legal_bases": []string{"legitimate_interests", "consent"}, "dpv_purpose": "https://w3id.org/dpv#DirectMarketing",
			"balancing_test": "existing customers expect catalogues", "texts": map[string]any{"en": map[string]string{"name": "Catalogues"},
				"de": map[string]string{"name": "Kataloge"}, "da": map[string]string{"name": "Kataloger"}}}), http.StatusCreated)
		anna := e.createPerson("Anna", "Berg", "anna@example.com")
		e.record(map[string]any{"person_id": anna.ID, "purpose": "catalogue", "kind": "granted"})
		// The objection records the purpose's own basis.
		obj := e.record(map[string]any{"person_id": anna.ID, "purpose": "catalogue", "kind": "objected"})
		if obj.LegalBasis != ledger.LegitimateInterests || obj.Source != ledger.SourceAPI {
			t.Fatalf("objection %+v", obj)
		}
		fields := func(p []ledger.FieldError) []string {
			var out []string
			for _, f := range p {
				out = append(out, f.Field)
			}
			return out
		}
		// No basis but consent, whatever the grounds.
		problemOf(t, e.do("POST", "/api/v1/consent-events", map[string]any{"person_id": anna.ID, "purpose": "catalogue", "kind": "granted",
			"legal_basis": "legitimate_interests", "reason": "we have very compelling legitimate grounds indeed"}), http.StatusConflict, "objection-absolute")
		// A consent without proof: refused, naming what is missing.
		p := problemOf(t, e.do("POST", "/api/v1/consent-events", map[string]any{"person_id": anna.ID, "purpose": "catalogue", "kind": "granted",
			"legal_basis": "consent"}), http.StatusUnprocessableEntity, "objection-needs-own-consent")
		if f := fields(p.Errors); !slices.Equal(f, []string{"evidence.note", "evidence.files"}) {
			t.Fatalf("fields %v (%s)", f, p.Detail)
		}
		p = problemOf(t, e.do("POST", "/api/v1/consent-events", map[string]any{"person_id": anna.ID, "purpose": "catalogue", "kind": "granted",
			"legal_basis": "consent", "evidence": map[string]any{"note": "she said yes on the phone"}, "source": "phone"}), http.StatusUnprocessableEntity, "objection-needs-own-consent")
		if f := fields(p.Errors); !slices.Equal(f, []string{"evidence.files"}) {
			t.Fatalf("fields %v (%s)", f, p.Detail)
		}
		// A file alone is not enough either: the note says what it proves.
		problemOf(t, e.do("POST", "/api/v1/consent-events", map[string]any{"person_id": anna.ID, "purpose": "catalogue", "kind": "granted", "legal_basis": "consent",
			"evidence": map[string]any{"files": []map[string]any{{"name": "form.pdf", "media_type": "application/pdf", "content": []byte("%PDF-1.4 signed")}}}}),
			http.StatusUnprocessableEntity, "objection-needs-own-consent")
		if st, _ := e.ledger.ConsentFor(ctx, anna.ID, "catalogue"); st.State != ledger.Objected {
			t.Fatalf("a refused grant changed the state: %+v", st)
		}
		// With a note and the signed form: accepted, and audited as lifting the objection.
		ev := e.record(map[string]any{"person_id": anna.ID, "purpose": "catalogue", "kind": "granted", "legal_basis": "consent", "source": "email",
			"evidence": map[string]any{"note": "signed consent form received by e-mail", "files": []map[string]any{{"name": "form.pdf", "media_type": "application/pdf", "content": []byte("%PDF-1.4 signed")}}}})
		if ev.LegalBasis != ledger.Consent {
			t.Fatalf("granted %+v", ev)
		}
		lifted, err := audit.List(ctx, e.db, audit.Filter{PersonID: anna.ID, Action: "consent.objection_lifted"})
		if err != nil || len(lifted) != 1 || lifted[0].Actor.Type != "token" || lifted[0].ObjectID != strconv.FormatInt(ev.ID, 10) {
			t.Fatalf("lifted objection audit %+v %v", lifted, err)
		}
		// The person's own act elsewhere (a web form) with a note: accepted.
		ole := e.createPerson("Ole", "Holm", "ole@example.com")
		e.record(map[string]any{"person_id": ole.ID, "purpose": "e_marketing", "kind": "objected"})
		problemOf(t, e.do("POST", "/api/v1/consent-events", map[string]any{"person_id": ole.ID, "purpose": "e_marketing", "kind": "granted"}),
			http.StatusUnprocessableEntity, "objection-needs-own-consent")
		if ev := e.record(map[string]any{"person_id": ole.ID, "purpose": "e_marketing", "kind": "granted", "source": "web_form",
			"evidence": map[string]any{"note": "double opt-in on the shop's sign-up form"}}); ev.Kind != ledger.Granted || ev.Source != ledger.SourceWebForm {
			t.Fatalf("granted %+v", ev)
		}
	})
}

// Without a source the API records "api"; built-in sources are listed as
// such and cannot be deactivated.
func TestAPISourcesSayWhatHappened(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		p := e.createPerson("Anna", "Berg", "anna@example.com")
		for _, kind := range []string{"granted", "withdrawn", "objected"} {
			if ev := e.record(map[string]any{"person_id": p.ID, "purpose": "e_marketing", "kind": kind}); ev.Source != ledger.SourceAPI {
				t.Fatalf("%s without a source recorded %q", kind, ev.Source)
			}
		}
		list := decode[struct{ Items []ledger.Source }](t, e.do("GET", "/api/v1/sources", nil), http.StatusOK)
		got := map[string]ledger.Source{}
		for _, s := range list.Items {
			got[s.Key] = s
		}
		for _, key := range ledger.BuiltInSources {
			if s, ok := got[key]; !ok || !s.BuiltIn || !s.Active || s.Manual != (key == ledger.SourceWebForm) {
				t.Fatalf("built-in source %s: %+v", key, s)
			}
		}
		if s := got["phone"]; s.BuiltIn || !s.Manual {
			t.Fatalf("phone: %+v", s)
		}
		problemOf(t, e.do("PATCH", "/api/v1/sources/erasure", map[string]any{"active": false}), http.StatusUnprocessableEntity, "built-in-source")
		decode[ledger.Source](t, e.do("PATCH", "/api/v1/sources/erasure", map[string]any{"name": "Löschung"}), http.StatusOK)
		decode[ledger.Source](t, e.do("PATCH", "/api/v1/sources/phone", map[string]any{"active": false}), http.StatusOK)
	})
}
