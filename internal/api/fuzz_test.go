package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/consento/consento/internal/api"
	"github.com/consento/consento/internal/storetest"
)

// fuzzEnv is one API server on SQLite for all inputs of a fuzz target,
// with a person (id 1, anna@example.com) who granted e_marketing.
func fuzzEnv(f *testing.F) *env {
	e := newEnv(f, storetest.SQLite)
	e.createPerson("Anna", "Berg", "anna@example.com")
	e.record(map[string]any{"person_id": 1, "purpose": "e_marketing", "kind": "granted", "legal_basis": "consent", "source": "web_form"})
	return e
}

// serve answers one request in process (no sockets: fast enough to fuzz).
func (e *env) serve(method, path, contentType string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", contentType)
	w := httptest.NewRecorder()
	e.api.ServeHTTP(w, req)
	return w
}

// checkAnswer: never a 5xx; an error is an RFC 9457 problem with the same
// status; a success that stored something holds only text every engine
// can store.
func checkAnswer(t *testing.T, what string, w *httptest.ResponseRecorder, stored bool) {
	t.Helper()
	b := w.Body.Bytes()
	if w.Code >= 500 {
		t.Fatalf("%s: %d %s", what, w.Code, b)
	}
	if w.Code >= 400 {
		var p api.Problem
		if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" || json.Unmarshal(b, &p) != nil || p.Status != w.Code ||
			!strings.HasPrefix(p.Type, api.ProblemBase) || p.Title == "" {
			t.Fatalf("%s: %d is not a problem: %q %s", what, w.Code, w.Header().Get("Content-Type"), b)
		}
		return
	}
	if !utf8.Valid(b) || stored && strings.Contains(string(b), `\u0000`) {
		t.Fatalf("%s: %d stored text no database can hold: %s", what, w.Code, b)
	}
}

var bodyRoutes = []struct{ method, path string }{
	{"POST", "/api/v1/persons"},
	{"PATCH", "/api/v1/persons/1"},
	{"POST", "/api/v1/persons/find-by-email"},
	{"POST", "/api/v1/organisations"},
	{"POST", "/api/v1/consent-events"},
	{"POST", "/api/v1/purposes"},
	{"PATCH", "/api/v1/purposes/e_marketing"},
	{"POST", "/api/v1/sources"},
	{"POST", "/api/v1/custom-fields"},
	{"POST", "/api/v1/persons/1/activities"},
	{"POST", "/api/v1/persons/1/business-records"},
	{"POST", "/api/v1/persons/1/documents"},
	{"POST", "/api/v1/persons/1/relationships"},
	{"PUT", "/api/v1/persons/1/retention"},
	{"POST", "/api/v1/rights-requests"},
}

// FuzzJSONBodies sends any bytes as the JSON body of the main writes of
// the API: decoding and validation answer 4xx problems, never a 500, and
// what is accepted can be stored on every engine.
func FuzzJSONBodies(f *testing.F) {
	e := fuzzEnv(f)
	for i, b := range []string{
		`{"first_name":"Grete","last_name":"Østergaard","emails":["grete@example.dk"],"address":{"city":"Århus"},"custom":{}}`,
		`{"first_name":"Ole"}`,
		`{"email":"anna@example.com"}`,
		`{"name":"Acme A/S"}`,
		`{"person_id":1,"purpose":"e_marketing","kind":"withdrawn","source":"web_form","occurred_at":"2024-01-01T00:00:00Z"}`,
		`{"key":"sms","name":"SMS","legal_basis":"consent","text":"SMS offers"}`,
		`{"name":"E-mail marketing"}`,
		`{"key":"fair","name":"Trade fair"}`,
		`{"key":"shoe_size","label":"Shoe size","type":"number"}`,
		`{"kind":"call","subject":"Called","occurred_at":"2026-03-02T10:00:00Z"}`,
		`{"kind":"invoice","number":"R-1","issued_on":"2026-03-01","amount_cents":1000,"currency":"EUR"}`,
		`{"filename":"a.txt","media_type":"text/plain","content":"aGVsbG8="}`,
		`{"other_id":1,"kind":"colleague"}`,
		`{"retain_until":"2030-01-01","reason":"contract"}`,
		`{"person_id":1,"type":"access","country":"DE"}`,
	} {
		f.Add(uint8(i), []byte(b))
	}
	for _, b := range []string{`{"last_name":"A\u0000B"}`, "{\"last_name\":\"\xff\"}", `{"last_name":`, `[]`, `null`, `{"a":1}{"b":2}`, `{"custom":{"\u0000":1}}`, `{"emails":[1e999]}`} {
		f.Add(uint8(0), []byte(b))
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := bodyRoutes[int(route)%len(bodyRoutes)]
		checkAnswer(t, r.method+" "+r.path+" "+strconv.Quote(string(body)), e.serve(r.method, r.path, "application/json", body), true)
	})
}

// FuzzRecordImport sends any bytes as the CSV of the two record imports
// (dry run): 200 with a report, or a 422 problem naming the line.
func FuzzRecordImport(f *testing.F) {
	e := fuzzEnv(f)
	for _, s := range []string{
		"email,kind,occurred_at,subject\nanna@example.com,note,2026-01-02,Met at the fair\n",
		"person_id,kind,number,issued_on,amount,currency\n1,order,O-1,2026-01-02,5.00,EUR\n",
		"email,kind,subject\nanna@example.com,note,\"Met at\nthe fair\n",
		"\ufeff\"email\",kind\r\nanna@example.com,no\"te\r\n",
		"email,kind,subject\nanna@example.com,note,A\x00B\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, business bool) {
		path := "/api/v1/activities/import?dry_run=true"
		if business {
			path = "/api/v1/business-records/import?dry_run=true"
		}
		w := e.serve("POST", path, "text/csv", data)
		checkAnswer(t, path+" "+strconv.Quote(string(data)), w, false)
		if w.Code != 200 && w.Code != 422 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}

// FuzzBulkCheck sends any bytes as the CSV or JSON-lines list of a bulk
// check: 200 with one valid verdict line per reference and the totals in
// the trailer, or a 4xx problem naming the line.
func FuzzBulkCheck(f *testing.F) {
	e := fuzzEnv(f)
	for _, s := range []string{"email\nanna@example.com\n1\nnobody@example.com\n", "\"anna@example.com\n", "\"a@example.com\"\n{\"id\":1}\n{\"email\":", "x\x00y\n\xff\n"} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, ndjson bool) {
		ct := "text/csv"
		if ndjson {
			ct = "application/x-ndjson"
		}
		w := e.serve("POST", "/api/v1/consent-checks?purpose=e_marketing", ct, data)
		checkAnswer(t, ct+" "+strconv.Quote(string(data)), w, false)
		if w.Code != 200 {
			return
		}
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(w.Body.Bytes()))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var v struct {
				Ref     *string `json:"ref"`
				Allowed *bool   `json:"allowed"`
				Reason  string  `json:"reason"`
			}
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil || v.Ref == nil || v.Allowed == nil || v.Reason == "" {
				t.Fatalf("verdict line %q: %v", sc.Bytes(), err)
			}
			n++
		}
		if total := w.Result().Trailer.Get("Consento-Total"); total != strconv.Itoa(n) {
			t.Fatalf("%d verdicts, Consento-Total %q", n, total)
		}
	})
}
