package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/api"
	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/receipt"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

func (e *env) createPerson(first, last string, emails ...string) ledger.Person {
	e.t.Helper()
	return decode[ledger.Person](e.t, e.do("POST", "/api/v1/persons", map[string]any{"first_name": first, "last_name": last, "emails": emails}), http.StatusCreated)
}

func (e *env) record(body map[string]any) ledger.ConsentEvent {
	e.t.Helper()
	return decode[ledger.ConsentEvent](e.t, e.do("POST", "/api/v1/consent-events", body), http.StatusCreated)
}

func problemOf(t *testing.T, res *http.Response, status int, code string) api.Problem {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("content type %q, want application/problem+json", ct)
	}
	p := decode[api.Problem](t, res, status)
	if p.Type != api.ProblemBase+code {
		t.Fatalf("problem type %q, want %s (%s)", p.Type, code, p.Detail)
	}
	if p.Title == "" || p.Status != status {
		t.Fatalf("incomplete problem %+v", p)
	}
	return p
}

func TestRecordAndCheckConsent(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		anna := e.createPerson("Anna", "Berg", "anna@example.com")
		ev := e.record(map[string]any{"email": "ANNA@example.com", "purpose": "e_marketing", "kind": "granted", "source": "web_form",
			"evidence": map[string]any{"note": "newsletter form", "ip": "192.0.2.7", "user_agent": "Firefox", "form": map[string]string{"newsletter": "on"},
				"files": []map[string]any{{"name": "signup.eml", "media_type": "message/rfc822", "content": []byte("From: anna@example.com\r\n\r\nyes")}}}})
		if ev.PersonID != anna.ID || ev.LegalBasis != ledger.Consent || ev.TextVersion != 1 || ev.Source != "web_form" || ev.Actor.Type != "token" {
			t.Fatalf("recorded event %+v", ev)
		}
		st := decode[ledger.ConsentState](t, e.do("GET", fmt.Sprintf("/api/v1/persons/%d/consents/e_marketing", anna.ID), nil), http.StatusOK)
		if st.State != ledger.Granted || !st.Valid || st.EventID != ev.ID || st.Source != "web_form" {
			t.Fatalf("state %+v", st)
		}
		// The evidence file is stored by its SHA-256 and can be downloaded.
		res := e.do("GET", "/api/v1/evidence/"+ev.Evidence.Files[0].SHA256, nil)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.HasSuffix(string(body), "yes") || res.Header.Get("Content-Type") != "message/rfc822" {
			t.Fatalf("evidence download: %d %q", res.StatusCode, body)
		}

		// Withdrawal is recorded as a new event; history keeps both.
		e.record(map[string]any{"person_id": anna.ID, "purpose": "e_marketing", "kind": "withdrawn"})
		hist := decode[struct {
			Events []ledger.ConsentEvent `json:"events"`
		}](t, e.do("GET", fmt.Sprintf("/api/v1/persons/%d/consent-events?purpose=e_marketing", anna.ID), nil), http.StatusOK)
		if len(hist.Events) != 2 || hist.Events[0].Kind != ledger.Withdrawn || hist.Events[1].Evidence.Note != "newsletter form" {
			t.Fatalf("history %+v", hist.Events)
		}

		// A bulk check covers every reason, in input order.
		bo := e.createPerson("Bo", "Ek", "bo@example.com")
		e.record(map[string]any{"person_id": bo.ID, "purpose": "e_marketing", "kind": "granted"})
		cy := e.createPerson("Cy", "Fa", "cy@example.com")
		e.record(map[string]any{"person_id": cy.ID, "purpose": "e_marketing", "kind": "objected"})
		di := e.createPerson("Di", "Go", "di@example.com")
		past := time.Now().Add(-48 * time.Hour)
		e.record(map[string]any{"person_id": di.ID, "purpose": "e_marketing", "kind": "granted", "occurred_at": past, "valid_until": past.Add(time.Hour)})
		ed := e.createPerson("Ed", "Hu", "ed@example.com")
		e.record(map[string]any{"person_id": ed.ID, "purpose": "e_marketing", "kind": "granted"})
		if err := e.db.Write(context.Background(), func(tx *store.Tx) error {
			_, err := tx.Exec(`UPDATE persons SET status = 'restricted' WHERE id = ?`, ed.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		fi := e.createPerson("Fi", "Io", "fi@example.com")

		input := "email\nbo@example.com\nanna@example.com\ncy@example.com\ndi@example.com\ned@example.com\n" + fmt.Sprint(fi.ID) + "\nghost@example.com\nnot-an-address\n"
		res = e.do("POST", "/api/v1/consent-checks?purpose=e_marketing", input, "Content-Type", "text/csv", "Accept", "text/csv")
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		want := fmt.Sprintf(`ref,person_id,allowed,reason
bo@example.com,%d,true,allowed
anna@example.com,%d,false,withdrawn
cy@example.com,%d,false,objected
di@example.com,%d,false,expired
ed@example.com,%d,false,restricted
%d,%d,false,no_consent
ghost@example.com,,false,unknown
not-an-address,,false,invalid
`, bo.ID, anna.ID, cy.ID, di.ID, ed.ID, fi.ID, fi.ID)
		if res.StatusCode != 200 || string(out) != want {
			t.Fatalf("bulk check CSV: %d\n%s\nwant\n%s", res.StatusCode, out, want)
		}
		if res.Trailer.Get("Consento-Total") != "8" || res.Trailer.Get("Consento-Allowed") != "1" || res.Trailer.Get("Consento-Denied") != "7" {
			t.Fatalf("trailers %v", res.Trailer)
		}
		// The same check as JSON lines.
		res = e.do("POST", "/api/v1/consent-checks?purpose=e_marketing", "{\"email\":\"bo@example.com\"}\n\"cy@example.com\"\n"+fmt.Sprint(anna.ID)+"\n", "Content-Type", "application/x-ndjson")
		out, _ = io.ReadAll(res.Body)
		res.Body.Close()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 3 {
			t.Fatalf("ndjson verdicts: %s", out)
		}
		var v []ledger.Verdict
		for _, l := range lines {
			var x ledger.Verdict
			if err := json.Unmarshal([]byte(l), &x); err != nil {
				t.Fatal(err)
			}
			v = append(v, x)
		}
		if !v[0].Allowed || v[1].Reason != "objected" || v[2].Reason != "withdrawn" || v[2].PersonID != anna.ID {
			t.Fatalf("ndjson verdicts %+v", v)
		}
		problemOf(t, e.do("POST", "/api/v1/consent-checks?purpose=nope", "a@b.example\n", "Content-Type", "text/csv"), http.StatusNotFound, "unknown-purpose")

		// Restricted persons are frozen.
		problemOf(t, e.do("POST", "/api/v1/consent-events", map[string]any{"person_id": ed.ID, "purpose": "e_marketing", "kind": "withdrawn"}), http.StatusLocked, "person-restricted")
		problemOf(t, e.do("PATCH", fmt.Sprintf("/api/v1/persons/%d", ed.ID), map[string]any{"first_name": "E"}), http.StatusLocked, "person-restricted")

		// Every change is in the audit trail, and the chain verifies.
		rep := decode[audit.Report](t, e.do("POST", "/api/v1/audit-events/verify", nil), http.StatusOK)
		if !rep.OK || rep.Events < 15 {
			t.Fatalf("audit %+v", rep)
		}
		page := decode[struct {
			Items []audit.Event `json:"items"`
		}](t, e.do("GET", fmt.Sprintf("/api/v1/audit-events?person_id=%d", anna.ID), nil), http.StatusOK)
		if len(page.Items) != 3 || page.Items[0].Action != "consent.withdrawn" || page.Items[2].Action != "person.create" || page.Items[0].Actor.Type != "token" {
			t.Fatalf("audit of anna: %+v", page.Items)
		}
	})
}

func TestReceiptVerifiesWithPublishedKey(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		p := e.createPerson("Jens", "Holm", "jens@example.dk")
		ev := e.record(map[string]any{"person_id": p.ID, "purpose": "e_marketing", "kind": "granted", "language": "da"})
		r := decode[struct {
			Receipt string          `json:"receipt"`
			Claims  json.RawMessage `json:"claims"`
		}](t, e.do("GET", fmt.Sprintf("/api/v1/consent-events/%d/receipt", ev.ID), nil), http.StatusOK)
		res, err := http.Get(e.srv.URL + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		jwks, _ := io.ReadAll(res.Body)
		res.Body.Close()
		payload, err := receipt.Verify(jwks, r.Receipt)
		if err != nil {
			t.Fatalf("receipt does not verify with the published key: %v", err)
		}
		for _, want := range []string{"https://w3id.org/dpv#ConsentGiven", "https://w3id.org/dpv/legal/eu/gdpr#A6-1-a", "Test GmbH", "E-marketing"} {
			if !strings.Contains(string(payload), want) {
				t.Errorf("receipt lacks %q: %s", want, payload)
			}
		}
		forged := r.Receipt[:len(r.Receipt)-4] + "AAAA"
		if _, err := receipt.Verify(jwks, forged); err == nil {
			t.Fatal("forged receipt verified")
		}
	})
}

func TestIdempotentPOST(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		p := e.createPerson("Ida", "Lund", "ida@example.se")
		body := map[string]any{"person_id": p.ID, "purpose": "e_marketing", "kind": "granted"}
		first := decode[ledger.ConsentEvent](t, e.do("POST", "/api/v1/consent-events", body, "Idempotency-Key", "campaign-42"), http.StatusCreated)
		res := e.do("POST", "/api/v1/consent-events", body, "Idempotency-Key", "campaign-42")
		if res.Header.Get("Idempotent-Replayed") != "true" {
			t.Error("replay not marked")
		}
		again := decode[ledger.ConsentEvent](t, res, http.StatusOK)
		if again.ID != first.ID {
			t.Fatalf("retry recorded a second event: %d then %d", first.ID, again.ID)
		}
		hist, _ := e.ledger.History(context.Background(), p.ID, "e_marketing")
		if len(hist) != 1 {
			t.Fatalf("%d events after a retried request, want 1", len(hist))
		}
		body["kind"] = "withdrawn"
		problemOf(t, e.do("POST", "/api/v1/consent-events", body, "Idempotency-Key", "campaign-42"), http.StatusUnprocessableEntity, "idempotency-key-reused")
		// Person creation is idempotent too.
		pb := map[string]any{"last_name": "Nyberg", "emails": []string{"n@example.fi"}}
		a := decode[ledger.Person](t, e.do("POST", "/api/v1/persons", pb, "Idempotency-Key", "p1"), http.StatusCreated)
		b := decode[ledger.Person](t, e.do("POST", "/api/v1/persons", pb, "Idempotency-Key", "p1"), http.StatusOK)
		if a.ID != b.ID {
			t.Fatal("retried person creation created a second person")
		}
	})
}

func TestBadInputGetsClearProblems(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		p := e.createPerson("Ole", "Dahl", "ole@example.no")
		problemOf(t, e.do("POST", "/api/v1/persons", map[string]any{"last_name": "Twin", "emails": []string{"OLE@example.no"}}), http.StatusConflict, "duplicate-email")
		pr := problemOf(t, e.do("POST", "/api/v1/persons", map[string]any{"last_name": "X", "emails": []string{"no-at-sign"}}), http.StatusUnprocessableEntity, "validation")
		if len(pr.Errors) != 1 || pr.Errors[0].Field != "emails[0]" {
			t.Fatalf("field errors %+v", pr.Errors)
		}
		problemOf(t, e.do("POST", "/api/v1/persons", `{"last_name": "X",`), http.StatusBadRequest, "malformed-json")
		problemOf(t, e.do("POST", "/api/v1/persons", `{"surname": "X"}`), http.StatusBadRequest, "malformed-json")
		problemOf(t, e.do("POST", "/api/v1/persons", `{"last_name": "`+strings.Repeat("x", 2<<20)+`"}`), http.StatusRequestEntityTooLarge, "body-too-large")
		problemOf(t, e.do("POST", "/api/v1/persons", "last_name=X", "Content-Type", "application/x-www-form-urlencoded"), http.StatusUnsupportedMediaType, "unsupported-media-type")
		problemOf(t, e.do("POST", "/api/v1/consent-events", map[string]any{"person_id": p.ID, "purpose": "nope", "kind": "granted"}), http.StatusUnprocessableEntity, "unknown-purpose")
		problemOf(t, e.do("POST", "/api/v1/consent-events", map[string]any{"person_id": p.ID, "purpose": "e_marketing", "kind": "granted", "legal_basis": "legitimate_interests"}), http.StatusUnprocessableEntity, "legal-basis-not-allowed")
		problemOf(t, e.do("POST", "/api/v1/consent-events", map[string]any{"person_id": p.ID, "purpose": "e_marketing", "kind": "maybe"}), http.StatusUnprocessableEntity, "validation")
		problemOf(t, e.do("POST", "/api/v1/consent-events", map[string]any{"person_id": 999999, "purpose": "e_marketing", "kind": "granted"}), http.StatusNotFound, "unknown-person")
		problemOf(t, e.do("GET", "/api/v1/persons/abc", nil), http.StatusNotFound, "not-found")
		res := e.do("DELETE", fmt.Sprintf("/api/v1/persons/%d", p.ID), nil)
		if allow := res.Header.Get("Allow"); allow != "GET, PATCH" {
			t.Errorf("Allow %q, want GET, PATCH", allow)
		}
		problemOf(t, res, http.StatusMethodNotAllowed, "method-not-allowed")
		problemOf(t, e.do("GET", "/api/v1/organisations?limit=0", nil), http.StatusUnprocessableEntity, "validation")
		problemOf(t, e.do("GET", "/api/v1/audit-events?limit=5000", nil), http.StatusUnprocessableEntity, "validation")
		problemOf(t, e.do("GET", "/api/v1/persons/424242", nil), http.StatusNotFound, "unknown-person")
		problemOf(t, e.do("POST", "/api/v1/persons/find-by-email", map[string]any{"email": "nobody@example.no"}), http.StatusNotFound, "unknown-person")
		problemOf(t, e.do("GET", "/api/v1/persons?cursor=bm90LWEtY3Vyc29y", nil), http.StatusUnprocessableEntity, "invalid-cursor")
		problemOf(t, e.do("POST", "/api/v1/purposes", map[string]any{"key": "Bad Key", "default_legal_basis": "consent"}), http.StatusUnprocessableEntity, "validation")
		problemOf(t, e.do("POST", "/api/v1/purposes", map[string]any{"key": "profiling", "consent_required": true, "allowed_legal_bases": []string{"legitimate_interests"},
			"texts": map[string]any{"en": map[string]string{"name": "P"}, "de": map[string]string{"name": "P"}, "da": map[string]string{"name": "P"}}}), http.StatusUnprocessableEntity, "validation")
	})
}

func TestTokensAndScopes(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		problemOf(t, e.doAs("", "GET", "/api/v1/persons", nil), http.StatusUnauthorized, "unauthorized")
		problemOf(t, e.doAs("cns_forged", "GET", "/api/v1/persons", nil), http.StatusUnauthorized, "invalid-token")
		reader := e.tokenWith("persons:read", "consents:read")
		decode[map[string]any](t, e.doAs(reader, "GET", "/api/v1/persons", nil), http.StatusOK)
		problemOf(t, e.doAs(reader, "POST", "/api/v1/persons", map[string]any{"last_name": "X"}), http.StatusForbidden, "insufficient-scope")
		problemOf(t, e.doAs(reader, "POST", "/api/v1/consent-events", map[string]any{}), http.StatusForbidden, "insufficient-scope")
		problemOf(t, e.doAs(reader, "GET", "/api/v1/audit-events", nil), http.StatusForbidden, "insufficient-scope")
		problemOf(t, e.doAs(reader, "POST", "/api/v1/purposes", map[string]any{}), http.StatusForbidden, "insufficient-scope")
	})
}

func TestListPersonsPagingAndFilters(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		for i := range 7 {
			p := e.createPerson("P", fmt.Sprintf("Person%d", i), fmt.Sprintf("p%d@example.com", i))
			if i%2 == 0 {
				e.record(map[string]any{"person_id": p.ID, "purpose": "e_marketing", "kind": "granted"})
			}
			if i == 0 {
				e.record(map[string]any{"person_id": p.ID, "purpose": "sales_service", "kind": "granted"})
			}
		}
		type page struct {
			Items      []ledger.Person `json:"items"`
			NextCursor string          `json:"next_cursor"`
		}
		var all []ledger.Person
		cursor := ""
		for n := 0; ; n++ {
			pg := decode[page](t, e.do("GET", "/api/v1/persons?limit=3&cursor="+cursor, nil), http.StatusOK)
			all = append(all, pg.Items...)
			if pg.NextCursor == "" {
				break
			}
			cursor = pg.NextCursor
			if n > 5 {
				t.Fatal("paging does not end")
			}
		}
		if len(all) != 7 || all[0].LastName != "Person6" || all[6].LastName != "Person0" {
			t.Fatalf("paged through %d persons", len(all))
		}
		count := func(q string) int {
			return len(decode[page](t, e.do("GET", "/api/v1/persons?"+q, nil), http.StatusOK).Items)
		}
		if g, y, r := count("traffic_light=green"), count("traffic_light=yellow"), count("traffic_light=red"); g != 1 || y != 3 || r != 3 {
			t.Fatalf("traffic lights green %d yellow %d red %d, want 1 3 3", g, y, r)
		}
		if n := count("purpose=e_marketing&purpose_state=granted"); n != 4 {
			t.Fatalf("granted e_marketing: %d", n)
		}
		if n := count("purpose=e_marketing&purpose_state=none"); n != 3 {
			t.Fatalf("no e_marketing record: %d", n)
		}
		if n := count("q=person3"); n != 1 {
			t.Fatalf("search: %d", n)
		}
		found := decode[ledger.Person](t, e.do("POST", "/api/v1/persons/find-by-email", map[string]any{"email": " P5@Example.com "}), http.StatusOK)
		if found.LastName != "Person5" {
			t.Fatalf("find by e-mail: %+v", found)
		}
	})
}

func TestPurposeTextVersions(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		p := decode[ledger.Person](t, e.do("POST", "/api/v1/persons", map[string]any{"first_name": "Uwe", "last_name": "Kranz", "emails": []string{"uwe@example.de"}, "language": "de"}), http.StatusCreated)
		e.record(map[string]any{"person_id": p.ID, "purpose": "e_marketing", "kind": "granted"})
		up := decode[ledger.Purpose](t, e.do("PATCH", "/api/v1/purposes/e_marketing", map[string]any{
			"texts": map[string]any{"de": map[string]string{"name": "E-Marketing", "consent_text": "Neuer Text"}}, "reason": "new wording"}), http.StatusOK)
		if up.CurrentVersion != 2 || up.Texts["de"].ConsentText != "Neuer Text" || up.Texts["en"].Name != "E-marketing" {
			t.Fatalf("updated purpose %+v", up)
		}
		ev := e.record(map[string]any{"person_id": p.ID, "purpose": "e_marketing", "kind": "granted"})
		if ev.TextVersion != 2 || ev.Language != "de" {
			t.Fatalf("new event should record version 2 in the person's language: %+v", ev)
		}
		hist, _ := e.ledger.History(context.Background(), p.ID, "e_marketing")
		if hist[1].TextVersion != 1 {
			t.Fatal("earlier consent lost the version its person saw")
		}
		vs := decode[struct {
			Versions []ledger.TextVersion `json:"versions"`
		}](t, e.do("GET", "/api/v1/purposes/e_marketing/versions", nil), http.StatusOK)
		if len(vs.Versions) != 2 || vs.Versions[0].Texts["de"].ConsentText == "Neuer Text" {
			t.Fatalf("versions %+v", vs.Versions)
		}
		created := decode[ledger.Purpose](t, e.do("POST", "/api/v1/purposes", map[string]any{
			"key": "events", "allowed_legal_bases": []string{"legitimate_interests", "consent"}, "balancing_test": "Invitations to customers' own trade fairs are expected.",
			"texts": map[string]any{"en": map[string]string{"name": "Events"}, "de": map[string]string{"name": "Veranstaltungen"}, "da": map[string]string{"name": "Arrangementer"}}}), http.StatusCreated)
		if created.DefaultLegalBasis != ledger.LegitimateInterests || created.ConsentRequired {
			t.Fatalf("created purpose %+v", created)
		}
		// A new active purpose makes the person no longer green.
		got := decode[ledger.Person](t, e.do("GET", fmt.Sprintf("/api/v1/persons/%d", p.ID), nil), http.StatusOK)
		if got.Light != ledger.Yellow {
			t.Fatalf("light %s", got.Light)
		}
		if _, err := e.ledger.UpdatePurpose(context.Background(), audit.System, "events", ledger.PurposeUpdate{Archived: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		problemOf(t, e.do("POST", "/api/v1/consent-events", map[string]any{"person_id": p.ID, "purpose": "events", "kind": "granted"}), http.StatusUnprocessableEntity, "archived-purpose")
	})
}

func ptr[T any](v T) *T { return &v }

func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t, storetest.SQLite)
	decode[map[string]string](t, e.doAs("", "GET", "/healthz", nil), http.StatusOK)
	decode[map[string]string](t, e.doAs("", "GET", "/readyz", nil), http.StatusOK)
	res := e.doAs("", "GET", "/metrics", nil)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), `consento_http_requests_total{route="GET /readyz",status="200"} 1`) || !strings.Contains(string(b), "consento_audit_head_seq") {
		t.Fatalf("metrics:\n%s", b)
	}
	e.db.Close()
	res = e.doAs("", "GET", "/readyz", nil)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the database closed: %d", res.StatusCode)
	}
}
