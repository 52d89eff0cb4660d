package selfservice_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/mail/mailtest"
	"github.com/consento/consento/internal/outreach"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/selfservice"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type env struct {
	t      *testing.T
	db     *store.DB
	ledger *ledger.Service
	svc    *outreach.Service
	srv    *httptest.Server
	smtp   *mailtest.Server
	worker *mail.Worker
}

// newEnv runs the public pages on a fresh, seeded database, with a
// newsletter form offering e-marketing and a test SMTP server.
func newEnv(t *testing.T, e storetest.Engine, opts ...selfservice.Options) *env {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, e)
	l := ledger.New(db)
	if err := l.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	svc := outreach.New(db, l, outreach.Config{PublicURL: srv.URL, Controller: "Example Ltd", PrivacyURL: "https://example.com/privacy",
		OpenErasureCase: rights.New(l).OpenSelfServiceErasureTx})
	if err := svc.Init(ctx); err != nil {
		t.Fatal(err)
	}
	o := selfservice.Options{PerIP: -1, PerToken: -1}
	if len(opts) > 0 {
		o = opts[0]
	}
	handler, err := selfservice.New(svc, quiet, o)
	if err != nil {
		t.Fatal(err)
	}
	h = handler
	if err := svc.SaveForm(ctx, audit.System, outreach.Form{Key: "newsletter", Name: "Newsletter", Language: "en", Active: true, Fields: []string{"first_name"},
		Purposes: []string{"e_marketing"}, TermsText: "I accept the terms of use."}); err != nil {
		t.Fatal(err)
	}
	smtp := mailtest.Start(t)
	s, _ := mail.ParseSMTPURL(smtp.URL)
	w := mail.NewWorker(db, mail.Config{SMTP: s, From: "Example <privacy@example.com>", Rate: 1000}, quiet)
	return &env{t: t, db: db, ledger: l, svc: svc, srv: srv, smtp: smtp, worker: w}
}

// work does what the public pages queued (link requests, form
// submissions), as the server's worker does after answering.
func (e *env) work() {
	e.t.Helper()
	if _, err := e.svc.DrainPublicRequests(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// drain does the queued public requests, delivers the outbox and waits
// until n mails arrived in total.
func (e *env) drain(n int) []mailtest.Received {
	e.t.Helper()
	e.work()
	if _, err := e.worker.Drain(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	return e.smtp.Wait(e.t, n)
}

func (e *env) do(method, path string, form url.Values, headers ...string) (int, string, http.Header) {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (e *env) csrf(path string) string {
	e.t.Helper()
	code, body, _ := e.do("GET", path, nil)
	m := csrfRe.FindStringSubmatch(body)
	if code != 200 || m == nil {
		e.t.Fatalf("GET %s: %d, no csrf token", path, code)
	}
	return m[1]
}

func (e *env) person(email, lang string) int64 {
	e.t.Helper()
	p, err := e.ledger.CreatePerson(context.Background(), audit.System, ledger.PersonInput{FirstName: "Grete", LastName: "Østergaard", Emails: []string{email}, Language: lang})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.ID
}

func (e *env) token(pid int64) string {
	e.t.Helper()
	var tok string
	err := e.db.Write(context.Background(), func(tx *store.Tx) error {
		var err error
		tok, err = e.svc.IssueTokenTx(tx, pid)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *env) state(pid int64, purpose string) *ledger.ConsentState {
	e.t.Helper()
	st, err := e.ledger.ConsentFor(context.Background(), pid, purpose)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

var linkRe = regexp.MustCompile(`https?://[^\s"<>]+`)

// link finds the first URL in a mail's text part containing part.
func link(t *testing.T, text, part string) string {
	t.Helper()
	for _, u := range linkRe.FindAllString(text, -1) {
		if strings.Contains(u, part) {
			return u
		}
	}
	t.Fatalf("no %s link in:\n%s", part, text)
	return ""
}
