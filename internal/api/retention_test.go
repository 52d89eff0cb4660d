package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/consento/consento/internal/storetest"
)

// oaRetentionAnswers drives the retention endpoints to their documented
// answers (called from TestOpenAPIDescribesRealAnswers).
func oaRetentionAnswers(t *testing.T, e *env, call func(int, string, string, string, any, ...string) []byte) {
	t.Helper()
	const base = "/api/v1/retention"
	call(200, "GET", base+"/settings", base+"/settings", nil)
	call(200, "PUT", base+"/settings", base+"/settings", map[string]any{"inactive_days": 0, "action": "anonymize", "scheduled": false})
	call(422, "PUT", base+"/settings", base+"/settings", map[string]any{"inactive_days": -3, "action": "anonymize"})
	call(400, "PUT", base+"/settings", base+"/settings", map[string]any{"action": "anonymize", "colour": "red"})
	var p struct {
		ID int64 `json:"id"`
	}
	_ = json.Unmarshal(call(201, "POST", "/api/v1/persons", "/api/v1/persons", map[string]any{"first_name": "Rita", "emails": []string{"rita.retention@example.com"}}), &p)
	path := fmt.Sprintf("/api/v1/persons/%d/retention", p.ID)
	call(200, "PUT", "/api/v1/persons/{id}/retention", path, map[string]any{"retain_until": "2001-01-31", "reason": "contract ended 2000"})
	call(422, "PUT", "/api/v1/persons/{id}/retention", path, map[string]any{"retain_until": "31.01.2001"})
	call(404, "PUT", "/api/v1/persons/{id}/retention", "/api/v1/persons/999999/retention", map[string]any{"retain_until": ""})
	call(200, "GET", "/api/v1/persons/{id}/retention", path, nil)
	call(404, "GET", "/api/v1/persons/{id}/retention", "/api/v1/persons/999999/retention", nil)
	call(200, "GET", base+"/expired", base+"/expired", nil)
	call(200, "POST", base+"/sweeps", base+"/sweeps", map[string]any{"dry_run": true})
	call(200, "POST", base+"/sweeps", base+"/sweeps", map[string]any{})
	call(200, "GET", base+"/sweeps", base+"/sweeps?limit=5", nil)
	call(422, "GET", base+"/sweeps", base+"/sweeps?limit=0", nil)
	call(410, "PUT", "/api/v1/persons/{id}/retention", path, map[string]any{"retain_until": ""})
}

func TestRetentionAPI(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		res := e.do("POST", "/api/v1/persons", map[string]any{"first_name": "Rita", "emails": []string{"rita@example.com"}})
		var p struct {
			ID int64 `json:"id"`
		}
		json.NewDecoder(res.Body).Decode(&p)
		res.Body.Close()
		path := fmt.Sprintf("/api/v1/persons/%d/retention", p.ID)
		body := func(res *http.Response) string {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			return string(b)
		}

		// Reading is not changing.
		reader := e.tokenWith("retention:read")
		if res := e.doAs(reader, "PUT", path, map[string]any{"retain_until": "2001-01-31"}); res.StatusCode != http.StatusForbidden {
			t.Fatalf("read token set a date: %d %s", res.StatusCode, body(res))
		}
		if res := e.doAs(reader, "POST", "/api/v1/retention/sweeps", map[string]any{"dry_run": true}); res.StatusCode != http.StatusForbidden {
			t.Fatalf("read token ran a sweep: %d", res.StatusCode)
		}
		if res := e.doAs(e.tokenWith("persons:read"), "GET", "/api/v1/retention/expired", nil); res.StatusCode != http.StatusForbidden {
			t.Fatalf("persons token read the expired list: %d", res.StatusCode)
		}
		// A bad date names the field.
		if res := e.do("PUT", path, map[string]any{"retain_until": "2001-02-30"}); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body(res), `"retain_until"`) {
			t.Fatalf("bad date: %d", res.StatusCode)
		}
		// A date that has passed expires the person: listed with why, then
		// anonymized by a sweep.
		if res := e.do("PUT", path, map[string]any{"retain_until": "2001-01-31", "reason": "contract ended"}); res.StatusCode != http.StatusOK {
			t.Fatalf("set date: %d %s", res.StatusCode, body(res))
		}
		if b := body(e.doAs(reader, "GET", "/api/v1/retention/expired", nil)); !strings.Contains(b, `"why":"manual date 2001-01-31"`) || !strings.Contains(b, `"rule":"manual"`) {
			t.Fatalf("expired list: %s", b)
		}
		var rep struct {
			Anonymized int `json:"anonymized"`
			Persons    []struct {
				PersonID int64  `json:"person_id"`
				Outcome  string `json:"outcome"`
			} `json:"persons"`
		}
		res = e.do("POST", "/api/v1/retention/sweeps", map[string]any{})
		if err := json.NewDecoder(res.Body).Decode(&rep); err != nil || rep.Anonymized != 1 || len(rep.Persons) != 1 || rep.Persons[0].Outcome != "anonymized" {
			t.Fatalf("sweep: %+v %v", rep, err)
		}
		res.Body.Close()
		if b := body(e.doAs(reader, "GET", "/api/v1/retention/sweeps", nil)); !strings.Contains(b, `"anonymized":1`) {
			t.Fatalf("sweeps: %s", b)
		}
	})
}
