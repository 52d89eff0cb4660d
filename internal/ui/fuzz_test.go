package ui_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/consento/consento/internal/storetest"
)

// fuzzSession is one UI on SQLite for all inputs of a fuzz target, with an
// admin signed in; requests are served in process.
type fuzzSession struct {
	e       *env
	cookies []*http.Cookie
	csrf    string
}

func newFuzzSession(f *testing.F) *fuzzSession {
	e := newEnv(f, storetest.SQLite)
	b, _ := e.user("admin", "")
	if code := b.login("admin@example.com", password); code != http.StatusSeeOther {
		f.Fatalf("login: %d", code)
	}
	u, _ := url.Parse(e.srv.URL)
	return &fuzzSession{e: e, cookies: b.c.Jar.Cookies(u), csrf: b.csrf("/contacts/new")}
}

func (s *fuzzSession) serve(method, target, contentType string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, c := range s.cookies {
		req.AddCookie(c)
	}
	w := httptest.NewRecorder()
	s.e.ui.ServeHTTP(w, req)
	return w
}

var errorRe = regexp.MustCompile(`class="error"[^>]*>[^<]+<|role="alert"[^>]*>\s*[^<\s]`)

// checkPage: never a 5xx; a refusal shows the person a message.
func checkPage(t *testing.T, what string, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code >= 500 {
		t.Fatalf("%s: %d\n%s", what, w.Code, w.Body)
	}
	if w.Code == http.StatusUnprocessableEntity && !errorRe.Match(w.Body.Bytes()) {
		t.Fatalf("%s: 422 without a visible message\n%s", what, w.Body)
	}
}

// FuzzListCheckUpload uploads any bytes as the list of the list check:
// the result page, or a 422 page saying what is wrong; never a 500.
func FuzzListCheckUpload(f *testing.F) {
	s := newFuzzSession(f)
	for _, c := range []string{"email\ngrete@example.dk\n1\nnobody@example.com\n", "\"grete@example.dk\n", "\ufeff\"email\"\r\ngrete@example.dk\r\n",
		"a\"b\n", "x\x00y\n\xff\n", "\n\n", strings.Repeat("a", 70000) + "\n"} {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, file []byte) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("csrf", s.csrf)
		mw.WriteField("purpose", "e_marketing")
		fw, _ := mw.CreateFormFile("file", "list.csv")
		fw.Write(file)
		mw.Close()
		w := s.serve("POST", "/lists/check", mw.FormDataContentType(), body.Bytes())
		checkPage(t, "list check", w)
		if w.Code != http.StatusOK && w.Code != http.StatusUnprocessableEntity {
			t.Fatalf("list check: %d", w.Code)
		}
	})
}

// formRoutes are staff forms and filters, with the fields the fuzzer fills.
var formRoutes = []struct {
	method, path string
	fields       []string
}{
	{"POST", "/contacts", []string{"first_name", "last_name", "email", "phone", "language", "source"}},
	{"POST", "/contacts/1/activities", []string{"kind", "subject", "body", "occurred_on"}},
	{"POST", "/contacts/1/consents", []string{"purpose", "kind", "legal_basis", "note", "source"}},
	{"POST", "/contacts/1/retention", []string{"retain_until", "reason", "clear"}},
	{"POST", "/breaches", []string{"title", "description", "aware_at", "occurred_at", "approx_persons", "risk", "status"}},
	{"POST", "/settings/purposes", []string{"key", "default_basis", "allowed", "retention_days", "en.name", "en.consent_text", "reason"}},
	{"POST", "/requests", []string{"type", "requester_email", "received_on", "country", "details", "person_id"}},
	{"POST", "/contacts/filters", []string{"name", "q", "light", "purpose"}},
	{"GET", "/audit", []string{"since", "until", "person_id", "action", "before"}},
	{"GET", "/contacts", []string{"q", "light", "purpose", "page"}},
}

// FuzzFormPost fills staff forms with any text: each answer is a page (a
// 422 shows what is wrong), never a 500.
func FuzzFormPost(f *testing.F) {
	s := newFuzzSession(f)
	f.Add(uint8(0), "Ole", "Hansen", "ole@example.dk")
	f.Add(uint8(1), "call", "Called", "2026-13-45")
	f.Add(uint8(2), "e_marketing", "granted", "consent")
	f.Add(uint8(3), "2030-01-01", "contract", "")
	f.Add(uint8(4), "Lost laptop", "", "2026-01-02T25:61")
	f.Add(uint8(5), "sms", "consent", "consent")
	f.Add(uint8(6), "access", "a@example.com", "31.12.2024")
	f.Add(uint8(7), "\x00", "\xff", "%")
	f.Add(uint8(8), "2024-01-01", "2023-01-01", "-1")
	f.Add(uint8(9), "\"'<script>", "red", "nope")
	f.Fuzz(func(t *testing.T, route uint8, a, b, c string) {
		r := formRoutes[int(route)%len(formRoutes)]
		form := url.Values{}
		for i, name := range r.fields {
			form.Set(name, []string{a, b, c}[i%3])
		}
		what := r.method + " " + r.path + " " + form.Encode()
		if r.method == "GET" {
			checkPage(t, what, s.serve("GET", r.path+"?"+form.Encode(), "", nil))
			return
		}
		form.Set("csrf", s.csrf)
		checkPage(t, what, s.serve("POST", r.path, "application/x-www-form-urlencoded", []byte(form.Encode())))
	})
}
