package api_test

import (
	"io"
	"strings"
	"testing"

	"github.com/consento/consento/internal/storetest"
)

// A CSV that breaks off in a quoted field is bad input: 422 with the
// line, never a 500.
func TestRecordImportBadCSVIs422(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		for _, path := range []string{"/api/v1/activities/import", "/api/v1/business-records/import"} {
			for body, line := range map[string]string{
				"email,kind,subject\nrita@example.com,note,\"Met at\nthe fair\n": "line 2",
				"email,kind\nrita@example.com,no\"te\n":                          "line 2",
				"\"email,kind\n":                                                 "line 1",
			} {
				p := problemOf(t, e.do("POST", path, body, "Content-Type", "text/csv"), 422, "validation")
				if !strings.Contains(p.Detail, "the CSV file, "+line+": ") || len(p.Errors) != 1 || p.Errors[0].Field != "file" {
					t.Errorf("%s %q: %+v", path, body, p)
				}
			}
		}
	})
}

// Text PostgreSQL cannot store is a field error on both engines, not a
// 500 on one of them.
func TestNULInJSONIs422(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		p := problemOf(t, e.do("POST", "/api/v1/persons", `{"first_name":"A\u0000B","last_name":"Berg"}`), 422, "validation")
		if len(p.Errors) != 1 || p.Errors[0].Field != "first_name" || !strings.Contains(p.Errors[0].Message, "NUL") {
			t.Errorf("%+v", p)
		}
		res := e.do("POST", "/api/v1/persons", map[string]any{"last_name": "Berg", "custom": map[string]any{"note\u0000": "x"}})
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 422 {
			t.Errorf("NUL in a map key: %d %s", res.StatusCode, b)
		}
		p = problemOf(t, e.do("GET", "/api/v1/persons?email=a%00b%40example.com", nil), 422, "validation")
		if len(p.Errors) != 1 || p.Errors[0].Field != "email" {
			t.Errorf("query: %+v", p)
		}
		problemOf(t, e.do("GET", "/api/v1/purposes/e_mark%FFeting", nil), 404, "not-found")
		problemOf(t, e.do("POST", "/api/v1/consent-checks?purpose=e%00", "a@example.com\n", "Content-Type", "text/csv"), 422, "validation")
	})
}
