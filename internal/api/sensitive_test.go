package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/secrets"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// attachVault gives the test ledger a vault for sensitive fields, as
// openEnv does for the server.
func attachVault(t testing.TB, db *store.DB, l *ledger.Service) {
	t.Helper()
	key, _ := secrets.ParseMasterKey(secrets.NewMasterKey())
	s, err := secrets.Open(context.Background(), db, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.SetVault(s)
}

func oaSensitiveAnswers(t *testing.T, e *env, call func(int, string, string, string, any, ...string) []byte) {
	t.Helper()
	var p struct {
		ID int64 `json:"id"`
	}
	json.Unmarshal(call(201, "POST", "/api/v1/persons", "/api/v1/persons", map[string]any{"last_name": "Sens", "custom": map[string]any{"national_id": "OA-1234-5678"}}), &p)
	const unmask = "/api/v1/persons/{id}/sensitive/{key}/unmask"
	path := fmt.Sprintf("/api/v1/persons/%d/sensitive/national_id/unmask", p.ID)
	call(200, "POST", unmask, path, map[string]any{"reason": "documented answer"})
	call(422, "POST", unmask, path, map[string]any{"reason": ""})
	call(404, "POST", unmask, fmt.Sprintf("/api/v1/persons/%d/sensitive/health_data/unmask", p.ID), map[string]any{"reason": "no value here"})
	call(400, "POST", unmask, path, map[string]any{"why": "wrong field"})
	const find = "/api/v1/persons/find-by-sensitive"
	call(200, "POST", find, find, map[string]any{"field": "national_id", "value": "oa 1234 5678"})
	call(422, "POST", find, find, map[string]any{"field": "health_data", "value": "x"})
	call(404, "POST", find, find, map[string]any{"field": "first_name", "value": "x"})
}

func TestSensitiveFieldsOverTheAPI(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		var p ledger.Person
		res := e.do("POST", "/api/v1/persons", map[string]any{"last_name": "Berg", "custom": map[string]any{"national_id": "290190-5566", "bank_account": "DK50 0040 0440 1162 43", "health_data": "asthma"}})
		if res.StatusCode != 201 {
			t.Fatalf("create: %d", res.StatusCode)
		}
		json.NewDecoder(res.Body).Decode(&p)
		res.Body.Close()
		body := func(res *http.Response) string {
			t.Helper()
			defer res.Body.Close()
			var b strings.Builder
			buf := make([]byte, 4096)
			for {
				n, err := res.Body.Read(buf)
				b.Write(buf[:n])
				if err != nil {
					break
				}
			}
			return b.String()
		}
		// Masked in the person JSON, with the list of sensitive fields.
		got := body(e.do("GET", fmt.Sprintf("/api/v1/persons/%d", p.ID), nil))
		for _, secret := range []string{"290190", "0440", "asthma"} {
			if strings.Contains(got, secret) {
				t.Fatalf("person JSON shows %q: %s", secret, got)
			}
		}
		if !strings.Contains(got, `"national_id":"••••5566"`) || !strings.Contains(got, `"sensitive":[`) || !strings.Contains(got, `"masked":"••••••••"`) {
			t.Fatalf("person JSON: %s", got)
		}
		if list := body(e.do("GET", "/api/v1/persons?q=berg", nil)); strings.Contains(list, "290190") || !strings.Contains(list, "••••5566") {
			t.Fatalf("list: %s", list)
		}

		path := fmt.Sprintf("/api/v1/persons/%d/sensitive/national_id/unmask", p.ID)
		// A token without the scope is refused, whatever else it holds.
		res = e.doAs(e.tokenWith("persons:read", "persons:write", "audit:read"), "POST", path, map[string]any{"reason": "tax office"})
		if b := body(res); res.StatusCode != 403 || strings.Contains(b, "290190") {
			t.Fatalf("without sensitive:unmask: %d %s", res.StatusCode, b)
		}
		res = e.doAs(e.tokenWith("sensitive:unmask"), "POST", path, map[string]any{"reason": " "})
		if b := body(res); res.StatusCode != 422 || !strings.Contains(b, `"reason"`) {
			t.Fatalf("without a reason: %d %s", res.StatusCode, b)
		}
		res = e.doAs(e.tokenWith("sensitive:unmask"), "POST", path, map[string]any{"reason": "tax office request 2026-17"})
		if b := body(res); res.StatusCode != 200 || b != `{"field":"national_id","value":"290190-5566"}`+"\n" && b != `{"field":"national_id","value":"290190-5566"}` || res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("unmask: %d %q %q", res.StatusCode, b, res.Header.Get("Cache-Control"))
		}
		evs, err := audit.List(context.Background(), e.db, audit.Filter{PersonID: p.ID, Action: "sensitive.unmask"})
		if err != nil || len(evs) != 1 || evs[0].Payload.Reason != "tax office request 2026-17" || !strings.Contains(string(evs[0].Payload.After), "national_id") || evs[0].Actor.Type != "token" {
			t.Fatalf("audit: %v %+v", err, evs)
		}

		// Exact search through the blind index.
		var page struct {
			Items []ledger.Person `json:"items"`
		}
		json.Unmarshal([]byte(body(e.do("POST", "/api/v1/persons/find-by-sensitive", map[string]any{"field": "bank_account", "value": "dk5000400440116243"}))), &page)
		if len(page.Items) != 1 || page.Items[0].ID != p.ID || page.Items[0].Custom["bank_account"] != "••••6243" {
			t.Fatalf("search: %+v", page)
		}
		json.Unmarshal([]byte(body(e.do("POST", "/api/v1/persons/find-by-sensitive", map[string]any{"field": "bank_account", "value": "DK500040044011624"}))), &page)
		if len(page.Items) != 0 {
			t.Fatalf("a prefix matched: %+v", page)
		}
	})
}
