package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/storetest"
)

// oaRecipientAnswers drives the recipient register and the Art. 19
// notices to their documented answers (called from
// TestOpenAPIDescribesRealAnswers).
func oaRecipientAnswers(t *testing.T, e *env, call func(int, string, string, string, any, ...string) []byte) {
	t.Helper()
	id := func(b []byte) int64 {
		t.Helper()
		var v struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(b, &v); err != nil || v.ID == 0 {
			t.Fatalf("no id in %s", b)
		}
		return v.ID
	}
	var ps struct {
		Items []struct {
			ID  int64  `json:"id"`
			Key string `json:"key"`
		} `json:"items"`
	}
	_ = json.Unmarshal(call(200, "GET", "/api/v1/purposes", "/api/v1/purposes", nil), &ps)
	var marketing int64
	for _, p := range ps.Items {
		if p.Key == "e_marketing" {
			marketing = p.ID
		}
	}
	const recips = "/api/v1/recipients"
	in := map[string]any{"name": "Mailer GmbH", "kind": "processor", "email": "dpa@mailer.example", "country": "DE", "language": "de", "purpose_ids": []int64{marketing}}
	rid := id(call(201, "POST", recips, recips, in))
	call(422, "POST", recips, recips, map[string]any{"name": "Abroad", "kind": "third_country", "email": "x@abroad.example"})
	call(400, "POST", recips, recips, map[string]any{"name": "X", "kind": "processor", "email": "x@example.com", "colour": "red"})
	rp := fmt.Sprintf("%s/%d", recips, rid)
	call(200, "GET", recips+"/{id}", rp, nil)
	call(404, "GET", recips+"/{id}", recips+"/999999", nil)
	in["name"] = "Mailer AG"
	call(200, "PUT", recips+"/{id}", rp, in)
	call(422, "PUT", recips+"/{id}", rp, map[string]any{"name": "Mailer AG", "kind": "friend", "email": "dpa@mailer.example"})
	call(200, "GET", recips, recips+"?active=true", nil)
	call(422, "GET", recips, recips+"?active=maybe", nil)

	const persons = "/api/v1/persons"
	pid := id(call(201, "POST", persons, persons, map[string]any{"first_name": "Nora", "last_name": "Notified", "emails": []string{"nora@example.com"}}))
	call(201, "POST", "/api/v1/consent-events", "/api/v1/consent-events", map[string]any{"person_id": pid, "purpose": "e_marketing", "kind": "granted"})
	const reqs = "/api/v1/rights-requests"
	cp := fmt.Sprintf("%s/%d", reqs, id(call(201, "POST", reqs, reqs, map[string]any{"person_id": pid, "type": "rectification"})))
	call(409, "POST", reqs+"/{id}/notify-recipients", cp+"/notify-recipients", nil)
	call(200, "POST", reqs+"/{id}/verify", cp+"/verify", map[string]any{"method": "known address"})
	var ns struct{ Items []rights.Notice }
	_ = json.Unmarshal(call(200, "POST", reqs+"/{id}/notify-recipients", cp+"/notify-recipients", nil), &ns)
	if len(ns.Items) != 1 || ns.Items[0].Email != "dpa@mailer.example" || ns.Items[0].Action != "rectification" {
		t.Errorf("notices: %+v", ns.Items)
	}
	call(409, "POST", reqs+"/{id}/notify-recipients", cp+"/notify-recipients", nil)
	call(404, "POST", reqs+"/{id}/notify-recipients", reqs+"/999999/notify-recipients", nil)
	_ = json.Unmarshal(call(200, "GET", reqs+"/{id}/notices", cp+"/notices", nil), &ns)
	if len(ns.Items) != 1 || ns.Items[0].Recipient != "Mailer AG" {
		t.Errorf("listed notices: %+v", ns.Items)
	}
	call(404, "GET", reqs+"/{id}/notices", reqs+"/999999/notices", nil)
	call(200, "DELETE", recips+"/{id}", rp, nil)
	call(404, "DELETE", recips+"/{id}", recips+"/999999", nil)
}

// The recipient schemas name exactly the Go JSON fields.
func TestOpenAPIRecipientSchemasMatchGoTypes(t *testing.T) {
	s := loadOpenAPI(t)
	for name, v := range map[string]any{
		"Recipient": rights.Recipient{}, "RecipientInput": rights.RecipientInput{}, "RecipientNotice": rights.Notice{}, "ReportRecipient": rights.ReportRecipient{},
	} {
		sc := s.schema(name)
		if sc == nil {
			t.Errorf("components.schemas.%s is missing", name)
			continue
		}
		props, _ := sc["properties"].(map[string]any)
		if got, want := slices.Sorted(maps.Keys(props)), oaJSONFields(reflect.TypeOf(v)); !slices.Equal(got, want) {
			t.Errorf("schema %s has properties %v, the Go type %T encodes %v", name, got, v, want)
		}
	}
}

// A notice reaches the outbox addressed to the recipient, naming the
// person; a token without rights:write cannot send one.
func TestRecipientNoticeThroughTheAPI(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ps, err := e.ledger.Purposes(context.Background(), false)
		if err != nil {
			t.Fatal(err)
		}
		var marketing int64
		for _, p := range ps {
			if p.Key == "e_marketing" {
				marketing = p.ID
			}
		}
		rec := decode[rights.Recipient](t, e.do("POST", "/api/v1/recipients", map[string]any{"name": "Print Shop KG", "kind": "processor",
			"email": "orders@print.example", "purpose_ids": []int64{marketing}}), http.StatusCreated)
		if !rec.Active || len(rec.Purposes) != 1 || rec.Purposes[0] != "e_marketing" {
			t.Fatalf("recipient: %+v", rec)
		}
		type idOnly struct {
			ID int64 `json:"id"`
		}
		p := decode[idOnly](t, e.do("POST", "/api/v1/persons", map[string]any{"first_name": "Erik", "last_name": "Erased", "emails": []string{"erik@example.com"}}), http.StatusCreated)
		decode[map[string]any](t, e.do("POST", "/api/v1/consent-events", map[string]any{"person_id": p.ID, "purpose": "e_marketing", "kind": "granted"}), http.StatusCreated)
		c := decode[idOnly](t, e.do("POST", "/api/v1/rights-requests", map[string]any{"person_id": p.ID, "type": "erasure"}), http.StatusCreated)
		path := fmt.Sprintf("/api/v1/rights-requests/%d", c.ID)
		decode[map[string]any](t, e.do("POST", path+"/verify", map[string]any{"method": "ID card"}), http.StatusOK)

		res := e.doAs(e.tokenWith("rights:read"), "POST", path+"/notify-recipients", nil)
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("read-only token: %d", res.StatusCode)
		}
		ns := decode[struct{ Items []rights.Notice }](t, e.do("POST", path+"/notify-recipients", nil), http.StatusOK)
		if len(ns.Items) != 1 || ns.Items[0].OutboxID == nil {
			t.Fatalf("notices: %+v", ns)
		}
		m, err := mail.Get(context.Background(), e.db, *ns.Items[0].OutboxID)
		if err != nil {
			t.Fatal(err)
		}
		if m.To != "orders@print.example" || !strings.Contains(m.Text, "Erik Erased") || !strings.Contains(m.Text, "erik@example.com") || !strings.Contains(m.Subject, "Erasure") {
			t.Fatalf("outbox: to %s, %q\n%s", m.To, m.Subject, m.Text)
		}
		if pr := decode[map[string]any](t, e.do("POST", path+"/notify-recipients", nil), http.StatusConflict); !strings.HasSuffix(fmt.Sprint(pr["type"]), "/already-notified") {
			t.Fatalf("second notice: %v", pr)
		}
	})
}
