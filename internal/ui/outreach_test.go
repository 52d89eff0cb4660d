package ui_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/mail/mailtest"
	"github.com/consento/consento/internal/outreach"
	"github.com/consento/consento/internal/storetest"
	"github.com/consento/consento/internal/ui"
)

// newOutreachEnv is a running UI with the e-mail and self-service pages,
// on a fresh database with one person, Grete.
func newOutreachEnv(t *testing.T, eng storetest.Engine) (*env, *outreach.Service) {
	t.Helper()
	ctx := context.Background()
	e := newEmptyEnv(t, eng)
	e.srv.Close()
	s, err := ui.New(e.ledger, e.auth, quietLog(), false)
	if err != nil {
		t.Fatal(err)
	}
	svc := outreach.New(e.db, e.ledger, outreach.Config{PublicURL: "https://consent.example.com", Controller: "Example Ltd"})
	if err := svc.Init(ctx); err != nil {
		t.Fatal(err)
	}
	s.EnableOutreach(svc)
	e.srv = httptest.NewServer(s)
	t.Cleanup(e.srv.Close)
	p, err := e.ledger.CreatePerson(ctx, audit.System, ledger.PersonInput{FirstName: "Grete", LastName: "Østergaard", Emails: []string{"grete@example.dk"}})
	if err != nil {
		t.Fatal(err)
	}
	e.person = p
	return e, svc
}

func signIn(e *env, role string) *browser {
	b, u := e.user(role, "")
	if code := b.login(u.Email, password); code != http.StatusSeeOther {
		e.t.Fatalf("login: %d", code)
	}
	return b
}

var mailRowRe = regexp.MustCompile(`<tr id="mail-(\d+)">`)

func TestOutboxCapturedDeadAndRetry(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		ctx := context.Background()
		e, svc := newOutreachEnv(t, eng)
		if err := svc.RequestLink(ctx, "grete@example.dk"); err != nil {
			t.Fatal(err)
		}
		// Without SMTP the worker captures the mail.
		if _, err := mail.NewWorker(e.db, mail.Config{From: "x@example.com"}, quietLog()).Drain(ctx); err != nil {
			t.Fatal(err)
		}
		dpo := signIn(e, auth.RolePrivacyOfficer)
		code, page, _ := dpo.do("GET", "/outbox?status=captured", nil)
		m := mailRowRe.FindStringSubmatch(page)
		if code != 200 || m == nil || !strings.Contains(page, "grete@example.dk") || !strings.Contains(page, "Your personal privacy page") {
			t.Fatalf("outbox: %d\n%s", code, page)
		}
		code, page, _ = dpo.do("GET", "/outbox/"+m[1], nil)
		if code != 200 || !strings.Contains(page, "https://consent.example.com/p/") || !strings.Contains(page, "captured (not sent)") {
			t.Fatalf("captured mail: %d\n%s", code, page)
		}
		// A mail the server refuses goes dead after its attempts; staff
		// send it again.
		srv := mailtest.Start(t)
		srv.Reject("grete@example.dk", true)
		smtp, _ := mail.ParseSMTPURL(srv.URL)
		svc.RenewLink(ctx, audit.System, e.person.ID)
		mail.NewWorker(e.db, mail.Config{SMTP: smtp, From: "x@example.com", Rate: 1000, MaxAttempts: 1}, quietLog()).Drain(ctx)
		code, page, _ = dpo.do("GET", "/outbox?status=dead", nil)
		m = mailRowRe.FindStringSubmatch(page)
		if code != 200 || m == nil || !strings.Contains(page, "550") || !strings.Contains(page, "Send again") {
			t.Fatalf("dead mail: %d\n%s", code, page)
		}
		token := dpo.csrf("/outbox")
		if code, _, _ := dpo.do("POST", "/outbox/"+m[1]+"/retry", url.Values{"csrf": {token}}); code != http.StatusSeeOther {
			t.Fatalf("retry: %d", code)
		}
		if entry, _ := mail.Get(ctx, e.db, atoi(m[1])); entry.Status != mail.StatusQueued {
			t.Fatalf("after retry: %s", entry.Status)
		}
		if code, _, _ := dpo.do("POST", "/outbox/"+m[1]+"/retry", url.Values{"csrf": {token}}); code != 404 {
			t.Fatalf("retrying a queued mail: %d", code)
		}
		marketing := signIn(e, auth.RoleMarketing)
		if code, _, _ := marketing.do("GET", "/outbox", nil); code != http.StatusForbidden {
			t.Fatalf("marketing sees the outbox: %d", code)
		}
	})
}

func TestMailTemplateEditor(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e, _ := newOutreachEnv(t, eng)
		admin := signIn(e, auth.RoleAdmin)
		code, page, _ := admin.do("GET", "/settings/mail-templates", nil)
		if code != 200 || !strings.Contains(page, `href="/settings/mail-templates/optin/de"`) {
			t.Fatalf("templates: %d", code)
		}
		token := admin.csrf("/settings/mail-templates/optin/de")
		bad := url.Values{"csrf": {token}, "source": {`{{define "subject"}}Hallo{{end}}`}}
		if code, page, _ := admin.do("POST", "/settings/mail-templates/optin/de", bad); code != 422 || !strings.Contains(page, "must define") {
			t.Fatalf("broken template: %d", code)
		}
		good := url.Values{"csrf": {token}, "source": {`{{define "subject"}}Bitte bestätigen{{end}}{{define "text"}}{{.ConfirmURL}}{{end}}{{define "html"}}<a href="{{.ConfirmURL}}">Bestätigen</a>{{end}}`}}
		if code, _, _ := admin.do("POST", "/settings/mail-templates/optin/de", good); code != http.StatusSeeOther {
			t.Fatalf("save: %d", code)
		}
		if _, page, _ := admin.do("GET", "/settings/mail-templates", nil); !strings.Contains(page, "(changed)") {
			t.Fatal("the changed template is not marked")
		}
		if code, _, _ := admin.do("GET", "/settings/mail-templates/optin/xx", nil); code != 404 {
			t.Fatalf("unknown language: %d", code)
		}
		if code, _, _ := admin.do("POST", "/settings/mail-templates/optin/de", url.Values{"csrf": {token}, "restore": {"1"}}); code != http.StatusSeeOther {
			t.Fatalf("restore: %d", code)
		}
		if _, page, _ := admin.do("GET", "/settings/mail-templates", nil); strings.Contains(page, "(changed)") {
			t.Fatal("the built-in template was not restored")
		}
	})
}

func TestWebFormSettingsAndConsentRequests(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		ctx := context.Background()
		e, svc := newOutreachEnv(t, eng)
		admin := signIn(e, auth.RoleAdmin)
		token := admin.csrf("/settings/forms")
		form := url.Values{"csrf": {token}, "key": {"newsletter"}, "name": {"Our newsletter"}, "language": {"de"}, "fields": {"first_name"},
			"purposes": {"e_marketing"}, "terms_text": {"Ich akzeptiere die AGB."}, "active": {"1"}}
		if code, _, _ := admin.do("POST", "/settings/forms", form); code != http.StatusSeeOther {
			t.Fatalf("save form: %d", code)
		}
		code, page, _ := admin.do("GET", "/settings/forms", nil)
		if code != 200 || !strings.Contains(page, `&lt;iframe src="https://consent.example.com/f/newsletter"`) {
			t.Fatalf("forms page has no embed snippet:\n%s", page)
		}
		f, err := svc.FormByKey(ctx, "newsletter")
		if err != nil || f.Language != "de" || f.TermsText != "Ich akzeptiere die AGB." || !f.Active {
			t.Fatalf("stored form %+v, %v", f, err)
		}
		form.Set("purposes", "sales_service")
		if code, page, _ := admin.do("POST", "/settings/forms", form); code != 422 || !strings.Contains(page, "allow consent") {
			t.Fatalf("a form offering a contract purpose: %d", code)
		}
		if code, _, _ := admin.do("POST", "/settings/selfservice", url.Values{"csrf": {token}, "gpc": {"e_marketing"}, "rectification": {"review"}}); code != http.StatusSeeOther {
			t.Fatalf("self-service settings: %d", code)
		}
		if mode, _ := svc.RectificationMode(ctx); mode != "review" {
			t.Fatalf("rectification mode %q", mode)
		}
		// Marketing asks the contacts on a list for consent.
		marketing := signIn(e, auth.RoleMarketing)
		ctoken := marketing.csrf("/consent-requests")
		code, _ = marketing.upload("/consent-requests", map[string]string{"csrf": ctoken, "purpose": "e_marketing"}, []byte("name;email\nGrete;grete@example.dk\nNobody;nobody@example.com\n"))
		if code != http.StatusSeeOther {
			t.Fatalf("consent request: %d", code)
		}
		_, page, _ = marketing.do("GET", "/consent-requests", nil)
		if !regexp.MustCompile(`<code>e_marketing</code></td><td>1</td><td>0</td><td>1</td>`).MatchString(page) {
			t.Fatalf("consent requests page (1 recipient, 0 answered, 1 pending):\n%s", page)
		}
		if counts, _ := mail.Counts(ctx, e.db); counts[mail.StatusQueued] != 1 {
			t.Fatalf("outbox %v", counts)
		}
		// Or the contacts of a saved filter.
		for _, in := range []ledger.PersonInput{{FirstName: "Hans", LastName: "Berg", Emails: []string{"hans@example.de"}}, {FirstName: "Ida", LastName: "Holm", Emails: []string{"ida@example.dk"}}} {
			if _, err := e.ledger.CreatePerson(ctx, audit.System, in); err != nil {
				t.Fatal(err)
			}
		}
		sf, err := e.ledger.SaveFilter(ctx, audit.System, "Berg", ledger.PersonFilter{Query: "berg"})
		if err != nil {
			t.Fatal(err)
		}
		code, _ = marketing.upload("/consent-requests", map[string]string{"csrf": ctoken, "purpose": "e_marketing", "filter": itoa(sf.ID)}, []byte("email\nida@example.dk\n"))
		if code != http.StatusUnprocessableEntity {
			t.Fatalf("a saved filter and a list together: %d", code)
		}
		if code, _ = marketing.upload("/consent-requests", map[string]string{"csrf": ctoken, "purpose": "e_marketing", "filter": itoa(sf.ID)}, nil); code != http.StatusSeeOther {
			t.Fatalf("consent request for a saved filter: %d", code)
		}
		if counts, _ := mail.Counts(ctx, e.db); counts[mail.StatusQueued] != 2 {
			t.Fatalf("outbox after the filtered request (Hans only): %v", counts)
		}
		staff := signIn(e, auth.RoleStaff)
		if code, _, _ := staff.do("GET", "/consent-requests", nil); code != http.StatusForbidden {
			t.Fatalf("staff may send consent requests: %d", code)
		}
	})
}

func TestSelfServiceRequestsPage(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		ctx := context.Background()
		e, svc := newOutreachEnv(t, eng)
		if err := svc.RequestErasure(ctx, e.person.ID, outreach.Client{IP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
		dpo := signIn(e, auth.RolePrivacyOfficer)
		code, page, _ := dpo.do("GET", "/selfservice-requests", nil)
		if code != 200 || !strings.Contains(page, "Erasure") || !strings.Contains(page, `href="/contacts/`) {
			t.Fatalf("requests: %d\n%s", code, page)
		}
		reqs, _ := svc.Requests(ctx)
		token := dpo.csrf("/selfservice-requests")
		if code, _, _ := dpo.do("POST", "/selfservice-requests/"+itoa(reqs[0].ID), url.Values{"csrf": {token}, "accept": {"1"}}); code != http.StatusSeeOther {
			t.Fatalf("close: %d", code)
		}
		if _, page, _ := dpo.do("GET", "/selfservice-requests", nil); !strings.Contains(page, "No open requests.") {
			t.Fatal("the closed request is still listed")
		}
		// Staff renew a contact's personal link: the old ones stop working.
		staff := signIn(e, auth.RoleStaff)
		stoken := staff.csrf("/contacts/" + itoa(e.person.ID))
		if code, _, _ := staff.do("POST", "/contacts/"+itoa(e.person.ID)+"/preference-link", url.Values{"csrf": {stoken}}); code != http.StatusSeeOther {
			t.Fatalf("renew link: %d", code)
		}
		if n, _ := svc.ActiveLinks(ctx, e.person.ID); n != 1 {
			t.Fatalf("active links after renewal: %d", n)
		}
		if list, _ := mail.List(ctx, e.db, mail.StatusQueued, 0, 10); len(list) != 1 || list[0].Template != "preference_link" {
			t.Fatalf("renewal mail: %+v", list)
		}
	})
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
