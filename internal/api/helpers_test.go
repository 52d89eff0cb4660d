package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/consento/consento/internal/api"
	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/receipt"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// env is a running API server on a fresh database.
type env struct {
	t      testing.TB
	srv    *httptest.Server
	api    *api.Server
	db     *store.DB
	ledger *ledger.Service
	auth   *auth.Service
	token  string // holds every scope
}

func newEnv(t testing.TB, e storetest.Engine) *env {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, e)
	l := ledger.New(db)
	if err := l.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	attachVault(t, db, l)
	a := auth.New(db)
	signer, err := receipt.Load(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	s := api.New(db, l, a, signer, receipt.Controller{Name: "Test GmbH", Contact: "privacy@test.example", Jurisdiction: "EU", Issuer: "http://test"},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	_, tok, err := a.CreateToken(ctx, audit.System, "test", auth.Scopes, 0)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, srv: srv, api: s, db: db, ledger: l, auth: a, token: tok}
}

// tokenWith issues a token holding only the given scopes.
func (e *env) tokenWith(scopes ...string) string {
	_, tok, err := e.auth.CreateToken(context.Background(), audit.System, "limited", scopes, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// do sends a request with the full-scope token; body is JSON-encoded
// unless it is a []byte or string.
func (e *env) do(method, path string, body any, headers ...string) *http.Response {
	e.t.Helper()
	return e.doAs(e.token, method, path, body, headers...)
}

func (e *env) doAs(token, method, path string, body any, headers ...string) *http.Response {
	e.t.Helper()
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

// decode reads a JSON response, failing unless it has the wanted status.
func decode[T any](t testing.TB, res *http.Response, status int) T {
	t.Helper()
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", res.Request.Method, res.Request.URL.Path, res.StatusCode, status, b)
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}
