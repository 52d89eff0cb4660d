package ui_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/ui"
)

// benchUI opens the database in CONSENTO_BENCH_DATA_DIR, or the PostgreSQL
// one at CONSENTO_BENCH_DATABASE_URL (made with `consento bench import
// --rows 1000000`), and returns the UI and the cookie of a signed-in staff
// user. It skips without either variable.
func benchUI(b *testing.B) (http.Handler, *http.Cookie, *ledger.Service) {
	b.Helper()
	dir, dbURL := os.Getenv("CONSENTO_BENCH_DATA_DIR"), os.Getenv("CONSENTO_BENCH_DATABASE_URL")
	if dir == "" && dbURL == "" {
		b.Skip("neither CONSENTO_BENCH_DATA_DIR nor CONSENTO_BENCH_DATABASE_URL is set")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{DataDir: dir, DatabaseURL: dbURL})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	l, a := ledger.New(db), auth.New(db)
	s, err := ui.New(l, a, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	if err != nil {
		b.Fatal(err)
	}
	email := "bench" + strconv.FormatInt(time.Now().UnixNano(), 36) + "@example.com"
	if _, err := a.CreateUser(ctx, audit.System, email, "Bench", auth.RoleStaff, password); err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"email": {email}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "consento_session" {
			return s, c, l
		}
	}
	b.Fatalf("login: %d", rec.Code)
	return nil, nil, nil
}

func benchGet(b *testing.B, h http.Handler, c *http.Cookie, path string) {
	b.Helper()
	for b.Loop() {
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(c)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d", path, rec.Code)
		}
	}
}

// BenchmarkContactsList renders the first page of the contacts list
// under each filter. Target: ≤ 200 ms each with 1,000,000 persons.
func BenchmarkContactsList(b *testing.B) {
	h, c, _ := benchUI(b)
	for _, bc := range []struct{ name, query string }{
		{"none", ""},
		{"search", "q=sch"},
		{"search_rare", "q=zzz"},
		{"search_full_name", "q=anna+sch"},
		{"search_unicode", "q=%C3%B8st"},
		{"light_green", "light=green"},
		{"light_yellow", "light=yellow"},
		{"light_red", "light=red"},
		{"purpose_granted", "purpose=e_marketing&state=granted"},
		{"purpose_withdrawn", "purpose=e_marketing&state=withdrawn"},
		{"purpose_none", "purpose=e_marketing&state=none"},
		{"purpose_none_sales", "purpose=sales_service&state=none"},
		{"purpose_expired", "purpose=e_marketing&state=expired"},
		{"source", "source=event"},
		{"source_unused", "source=api"},
		{"restricted", "restricted=1"},
	} {
		b.Run(bc.name, func(b *testing.B) { benchGet(b, h, c, "/contacts?"+bc.query) })
	}
}

// BenchmarkContactCard renders one contact card. Target: ≤ 200 ms.
func BenchmarkContactCard(b *testing.B) {
	h, c, l := benchUI(b)
	ps, _, err := l.ListPersons(context.Background(), ledger.PersonFilter{Limit: 1})
	if err != nil || len(ps) == 0 {
		b.Fatalf("no person: %v", err)
	}
	benchGet(b, h, c, "/contacts/"+strconv.FormatInt(ps[0].ID/2, 10))
}

// BenchmarkListCheck uploads a CSV of 100,000 e-mail addresses of persons
// in the database to the list check page and renders the result (the
// permitted and blocked sets are kept for their downloads). Target: ≤ 2 s.
func BenchmarkListCheck(b *testing.B) {
	h, c, l := benchUI(b)
	ctx := context.Background()
	rows, err := l.DB().Query(ctx, `SELECT email FROM person_emails LIMIT 100000`)
	if err != nil {
		b.Fatal(err)
	}
	var csv bytes.Buffer
	csv.WriteString("email\n")
	n := 0
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			b.Fatal(err)
		}
		csv.WriteString(e + "\n")
		n++
	}
	rows.Close()
	if n < 100000 {
		b.Fatalf("only %d e-mail addresses in the database", n)
	}
	req := httptest.NewRequest("GET", "/lists/check", nil)
	req.AddCookie(c)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(rec.Body.String())
	if m == nil {
		b.Fatalf("no CSRF token on the list check page: %d", rec.Code)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", m[1])
	mw.WriteField("purpose", "e_marketing")
	fw, _ := mw.CreateFormFile("file", "list.csv")
	fw.Write(csv.Bytes())
	mw.Close()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/lists/check", bytes.NewReader(body.Bytes()))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.AddCookie(c)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `id="permitted">`) {
			b.Fatalf("list check: %d", rec.Code)
		}
	}
}
