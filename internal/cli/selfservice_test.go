package cli

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The public pages get their paths, /.well-known/gpc.json included, while
// the API keeps the rest of /.well-known/ and the staff UI everything else.
func TestPublicRoutes(t *testing.T) {
	named := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(name)) })
	}
	h := withPublic(routes(named("api"), named("staff")), named("public"))
	for path, want := range map[string]string{
		"/.well-known/gpc.json": "public", "/.well-known/jwks.json": "api", "/p/": "public", "/p/abc": "public",
		"/f/newsletter": "public", "/u/tok": "public", "/api/v1/persons": "api", "/healthz": "api", "/login": "staff", "/outbox": "staff",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if got := rec.Body.String(); got != want {
			t.Errorf("%s went to %s, want %s", path, got, want)
		}
	}
}
