package selfservice_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/netx"
	"github.com/consento/consento/internal/outreach"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/selfservice"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

func TestWebFormDoubleOptIn(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		code, body, h := e.do("GET", "/f/newsletter", nil)
		if code != 200 || !strings.Contains(body, `type="checkbox" id="f-p-e_marketing" name="purpose" value="e_marketing">`) || strings.Contains(body, "checked") {
			t.Fatalf("form page: %d, the purpose must be an unchecked box:\n%s", code, body)
		}
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors *") {
			t.Fatalf("CSP %q", csp)
		}
		csrf := csrfRe.FindStringSubmatch(body)[1]
		form := url.Values{"csrf": {csrf}, "email": {"Ole@Example.dk"}, "first_name": {"Ole"}, "purpose": {"e_marketing"}, "terms": {"1"}}
		if code, _, _ := e.do("POST", "/f/newsletter", url.Values{"email": {"ole@example.dk"}, "purpose": {"e_marketing"}, "terms": {"1"}}); code != 403 {
			t.Fatalf("a post without the CSRF token: %d", code)
		}
		noTerms := url.Values{"csrf": {csrf}, "email": {"ole@example.dk"}, "purpose": {"e_marketing"}}
		if code, body, _ := e.do("POST", "/f/newsletter", noTerms); code != 422 || !strings.Contains(body, "Please accept the terms.") {
			t.Fatalf("without accepting the terms: %d", code)
		}
		code, body, _ = e.do("POST", "/f/newsletter", form, "User-Agent", "TestBrowser/1.0")
		if code != 200 || !strings.Contains(body, "Please check your mailbox") {
			t.Fatalf("submit: %d\n%s", code, body)
		}
		e.work()
		p, err := e.ledger.PersonByEmail(ctx, "ole@example.dk")
		if err != nil || p.FirstName != "Ole" || p.Source != "web_form" {
			t.Fatalf("person from the form: %+v, %v", p, err)
		}
		if st := e.state(p.ID, "e_marketing"); st.State != ledger.Pending || st.Valid {
			t.Fatalf("before the click the consent is %s", st.State)
		}
		msgs := e.drain(1)
		if msgs[0].To[0] != "ole@example.dk" || msgs[0].Header.Get("Subject") != "Please confirm your subscription" || msgs[0].Header.Get("List-Unsubscribe") != "" {
			t.Fatalf("opt-in mail: %v %q", msgs[0].To, msgs[0].Header)
		}
		confirmURL := link(t, msgs[0].Text, "/f/confirm/")
		path := strings.TrimPrefix(confirmURL, e.srv.URL)
		// Opening the link (or a mail scanner fetching it) changes nothing.
		if code, body, _ := e.do("GET", path, nil); code != 200 || !strings.Contains(body, "Confirm") {
			t.Fatalf("confirm page: %d", code)
		}
		if st := e.state(p.ID, "e_marketing"); st.State != ledger.Pending {
			t.Fatalf("a GET changed the consent to %s", st.State)
		}
		ccsrf := e.csrf(path)
		code, _, hdr := e.do("POST", strings.Split(path, "?")[0], url.Values{"csrf": {ccsrf}}, "User-Agent", "TestBrowser/2.0")
		if code != 303 || !strings.HasPrefix(hdr.Get("Location"), "/p/") {
			t.Fatalf("confirm: %d → %q", code, hdr.Get("Location"))
		}
		st := e.state(p.ID, "e_marketing")
		if st.State != ledger.Granted || !st.Valid || st.Source != "web_form" {
			t.Fatalf("after the click: %+v", st)
		}
		ev, _ := e.ledger.ConsentEventByID(ctx, st.EventID)
		f := ev.Evidence.Form
		if f["signup_user_agent"] != "TestBrowser/1.0" || ev.Evidence.UserAgent != "TestBrowser/2.0" || f["signup_ip"] == "" || f["signup_at"] == "" || f["confirmed_at"] == "" ||
			f["text.e_marketing"] == "" || f["terms_text"] != "I accept the terms of use." || ev.TextVersion != 1 {
			t.Fatalf("proof of both steps: %+v", ev.Evidence)
		}
		// The preference page the click leads to shows the consent.
		_, body, _ = e.do("GET", hdr.Get("Location"), nil)
		if !strings.Contains(body, "Thank you: your subscription is confirmed.") || !strings.Contains(body, "You have given your consent.") {
			t.Fatalf("preference page after confirming:\n%s", body)
		}
		// The link is single-use.
		if code, body, _ := e.do("POST", strings.Split(path, "?")[0], url.Values{"csrf": {ccsrf}}); code != 200 || !strings.Contains(body, "confirmed already") {
			t.Fatalf("second click: %d", code)
		}
		if h, _ := e.ledger.History(ctx, p.ID, "e_marketing"); len(h) != 2 {
			t.Fatalf("history has %d events, want pending and granted", len(h))
		}
		// The confirmation mail: purposes, legal basis, privacy notice and
		// the personal link.
		welcome := e.drain(2)[1]
		if welcome.Header.Get("Subject") != "Your consent with Example Ltd is confirmed" || !strings.Contains(welcome.Text, "Controller: Example Ltd") ||
			!strings.Contains(welcome.Text, "Legal basis: Consent (Art. 6(1)(a) GDPR)") ||
			!strings.Contains(welcome.Text, "https://example.com/privacy") || !strings.Contains(welcome.Text, e.srv.URL+"/p/") {
			t.Fatalf("confirmation mail:\n%s", welcome.Text)
		}
	})
}

func TestSameAnswerWhetherTheAddressIsKnown(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		e.person("known@example.com", "en")
		csrf := e.csrf("/p/")
		c1, b1, _ := e.do("POST", "/p/", url.Values{"csrf": {csrf}, "email": {"known@example.com"}})
		c2, b2, _ := e.do("POST", "/p/", url.Values{"csrf": {csrf}, "email": {"unknown@example.com"}})
		if c1 != 200 || c1 != c2 || b1 != b2 {
			t.Fatalf("link request answers differ: %d / %d", c1, c2)
		}
		msgs := e.drain(1)
		if len(msgs) != 1 || msgs[0].To[0] != "known@example.com" {
			t.Fatalf("mails: %d", len(msgs))
		}
		// The personal link in the mail opens the page.
		if code, _, _ := e.do("GET", strings.TrimPrefix(link(t, msgs[0].Text, "/p/"), e.srv.URL), nil); code != 200 {
			t.Fatalf("mailed link: %d", code)
		}
		fcsrf := e.csrf("/f/newsletter")
		sub := func(addr string) (int, string) {
			c, b, _ := e.do("POST", "/f/newsletter", url.Values{"csrf": {fcsrf}, "email": {addr}, "purpose": {"e_marketing"}, "terms": {"1"}})
			return c, b
		}
		c1, b1 = sub("known@example.com")
		c2, b2 = sub("new@example.com")
		if c1 != 200 || c1 != c2 || b1 != b2 {
			t.Fatalf("form answers differ: %d / %d", c1, c2)
		}
		if code, body, _ := e.do("POST", "/p/", url.Values{"csrf": {csrf}, "email": {"not-an-address"}}); code != 422 || !strings.Contains(body, "valid e-mail") {
			t.Fatalf("bad address: %d", code)
		}
	})
}

func TestPreferencePageGrantAndWithdraw(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		pid := e.person("grete@example.dk", "da")
		tok := e.token(pid)
		code, body, h := e.do("GET", "/p/"+tok, nil)
		if code != 200 || !strings.Contains(body, `<html lang="da">`) || !strings.Contains(body, "Giv samtykke") || !strings.Contains(body, "Salg og service") ||
			!strings.Contains(body, "Kontrakt (artikel 6, stk. 1, litra b, i databeskyttelsesforordningen)") || strings.Contains(body, "checked") {
			t.Fatalf("preference page: %d\n%s", code, body)
		}
		if h.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Fatalf("headers %v", h)
		}
		csrf := csrfRe.FindStringSubmatch(body)[1]
		grant := url.Values{"csrf": {csrf}, "purpose": {"e_marketing"}, "version": {"1"}, "action": {"grant"}}
		if code, _, _ := e.do("POST", "/p/"+tok+"/consent", url.Values{"csrf": {"forged"}, "purpose": {"e_marketing"}, "action": {"grant"}}); code != 403 {
			t.Fatalf("forged CSRF token: %d", code)
		}
		if code, _, _ := e.do("POST", "/p/"+tok+"/consent", grant, "Origin", "https://evil.example"); code != 403 {
			t.Fatalf("cross-origin post: %d", code)
		}
		if st := e.state(pid, "e_marketing"); st.State != "none" {
			t.Fatalf("a refused post recorded %s", st.State)
		}
		if code, _, h := e.do("POST", "/p/"+tok+"/consent", grant, "User-Agent", "Pref/1"); code != 303 || !strings.Contains(h.Get("Location"), "m=granted") {
			t.Fatalf("grant: %d", code)
		}
		st := e.state(pid, "e_marketing")
		ev, _ := e.ledger.ConsentEventByID(context.Background(), st.EventID)
		if !st.Valid || st.Source != "self_service" || ev.Actor.Type != "subject" || ev.Evidence.UserAgent != "Pref/1" || ev.Evidence.IP == "" || ev.TextVersion != 1 || ev.Language != "da" {
			t.Fatalf("granted: %+v %+v", st, ev)
		}
		_, body, _ = e.do("GET", "/p/"+tok+"?m=granted", nil)
		if !strings.Contains(body, "Du har givet dit samtykke.") || !strings.Contains(body, "Træk samtykke tilbage") {
			t.Fatalf("after granting:\n%s", body)
		}
		withdraw := url.Values{"csrf": {csrf}, "purpose": {"e_marketing"}, "version": {"1"}, "action": {"withdraw"}}
		if code, _, _ := e.do("POST", "/p/"+tok+"/consent", withdraw); code != 303 {
			t.Fatalf("withdraw: %d", code)
		}
		if st := e.state(pid, "e_marketing"); st.State != ledger.Withdrawn || st.Valid {
			t.Fatalf("after withdrawing: %+v", st)
		}
		// A purpose that is not based on consent cannot be "granted" here.
		bad := url.Values{"csrf": {csrf}, "purpose": {"sales_service"}, "version": {"1"}, "action": {"grant"}}
		if code, _, _ := e.do("POST", "/p/"+tok+"/consent", bad); code != 422 {
			t.Fatalf("granting a contract purpose: %d", code)
		}
		// Unknown, malformed and revoked links.
		for _, p := range []string{"/p/" + strings.Repeat("A", 43), "/p/short", "/p/" + tok + "x"} {
			if code, body, _ := e.do("GET", p, nil); code != 404 || !strings.Contains(body, "not valid") {
				t.Fatalf("GET %s: %d", p, code)
			}
		}
		if err := e.svc.RevokeLinks(context.Background(), audit.System, pid); err != nil {
			t.Fatal(err)
		}
		if code, _, _ := e.do("GET", "/p/"+tok, nil); code != 404 {
			t.Fatalf("revoked link: %d", code)
		}
	})
}

func TestRectificationErasureAndExport(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		pid := e.person("grete@example.dk", "en")
		tok := e.token(pid)
		csrf := e.csrf("/p/" + tok)
		contact := url.Values{"csrf": {csrf}, "first_name": {"Grethe"}, "last_name": {"Østergaard"}, "city": {"Aarhus"}, "language": {"de"}}
		if code, _, h := e.do("POST", "/p/"+tok+"/contact", contact); code != 303 || !strings.Contains(h.Get("Location"), "m=contact") {
			t.Fatalf("direct rectification: %d", code)
		}
		p, _ := e.ledger.Person(ctx, pid)
		if p.FirstName != "Grethe" || p.Address.City != "Aarhus" || p.Language != "de" || p.UpdatedBy != "subject:"+itoa(pid) {
			t.Fatalf("after rectification: %+v", p)
		}
		events, _ := audit.List(ctx, e.db, audit.Filter{PersonID: pid})
		if !hasAction(events, "person.update") {
			t.Fatal("the rectification is not in the audit log")
		}
		// In review mode the correction waits for staff.
		if err := e.svc.SetRectificationMode(ctx, audit.System, "review"); err != nil {
			t.Fatal(err)
		}
		contact.Set("first_name", "Greta")
		if code, _, h := e.do("POST", "/p/"+tok+"/contact", contact); code != 303 || !strings.Contains(h.Get("Location"), "m=review") {
			t.Fatalf("rectification for review: %d", code)
		}
		if p, _ := e.ledger.Person(ctx, pid); p.FirstName != "Grethe" {
			t.Fatal("a correction under review was applied")
		}
		reqs, _ := e.svc.Requests(ctx)
		if len(reqs) != 1 || reqs[0].Kind != outreach.KindRectification || reqs[0].Contact.FirstName != "Greta" {
			t.Fatalf("requests %+v", reqs)
		}
		if err := e.svc.CloseRequest(ctx, audit.Actor{Type: "user", ID: "1"}, reqs[0].ID, true); err != nil {
			t.Fatal(err)
		}
		if p, _ := e.ledger.Person(ctx, pid); p.FirstName != "Greta" {
			t.Fatal("the accepted correction was not applied")
		}
		// A new e-mail address waits for staff review even in direct mode.
		if err := e.svc.SetRectificationMode(ctx, audit.System, "direct"); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"not an address", "grete@"} {
			contact.Set("email", bad)
			if code, _, _ := e.do("POST", "/p/"+tok+"/contact", contact); code != 422 {
				t.Fatalf("e-mail %q: %d", bad, code)
			}
		}
		contact.Set("email", " Grete.New@Example.DK ")
		if code, _, h := e.do("POST", "/p/"+tok+"/contact", contact); code != 303 || !strings.Contains(h.Get("Location"), "m=review") {
			t.Fatalf("e-mail correction: %d %s", code, h.Get("Location"))
		}
		if p, _ := e.ledger.Person(ctx, pid); p.Emails[0] != "grete@example.dk" {
			t.Fatalf("a new e-mail address applied without review: %v", p.Emails)
		}
		reqs, _ = e.svc.Requests(ctx)
		if len(reqs) != 1 || reqs[0].Contact.Email != "grete.new@example.dk" {
			t.Fatalf("requests %+v", reqs)
		}
		if err := e.svc.CloseRequest(ctx, audit.Actor{Type: "user", ID: "1"}, reqs[0].ID, true); err != nil {
			t.Fatal(err)
		}
		if p, _ := e.ledger.Person(ctx, pid); len(p.Emails) != 1 || p.Emails[0] != "grete.new@example.dk" {
			t.Fatalf("after the accepted e-mail correction: %v", p.Emails)
		}
		contact.Del("email")
		long := url.Values{"csrf": {csrf}, "first_name": {strings.Repeat("x", 201)}}
		if code, _, _ := e.do("POST", "/p/"+tok+"/contact", long); code != 422 {
			t.Fatalf("a too long name: %d", code)
		}
		// Erasure: one open request, however often asked.
		for range 2 {
			if code, _, _ := e.do("POST", "/p/"+tok+"/erasure", url.Values{"csrf": {csrf}}); code != 303 {
				t.Fatalf("erasure: %d", code)
			}
		}
		reqs, _ = e.svc.Requests(ctx)
		if len(reqs) != 1 || reqs[0].Kind != outreach.KindErasure {
			t.Fatalf("requests after erasure %+v", reqs)
		}
		// The privacy officer has the case, with its legal deadline, to verify.
		cases, err := rights.New(e.ledger).Requests(ctx, rights.RequestFilter{PersonID: pid})
		if err != nil || len(cases) != 1 || cases[0].Type != rights.TypeErasure || cases[0].Channel != "self_service" || cases[0].Verified() {
			t.Fatalf("erasure cases %+v %v", cases, err)
		}
		_, body, _ := e.do("GET", "/p/"+tok, nil)
		if !strings.Contains(body, "Ihr Löschantrag wird bearbeitet.") {
			t.Fatalf("the page does not show the open erasure request:\n%s", body)
		}
		code, body, h := e.do("GET", "/p/"+tok+"/data.json", nil)
		var out struct {
			Person struct {
				Emails []string `json:"emails"`
			} `json:"person"`
			Consents []any `json:"consents"`
			Requests []any `json:"requests"`
		}
		if code != 200 || !strings.Contains(h.Get("Content-Disposition"), "attachment") || json.Unmarshal([]byte(body), &out) != nil ||
			len(out.Person.Emails) != 1 || out.Person.Emails[0] != "grete.new@example.dk" || len(out.Consents) == 0 || len(out.Requests) != 3 {
			t.Fatalf("export: %d %s", code, body)
		}
	})
}

func TestOneClickUnsubscribe(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		pid := e.person("grete@example.dk", "en")
		if _, err := e.ledger.RecordConsent(ctx, audit.System, ledger.ConsentInput{PersonID: pid, Purpose: "e_marketing", Kind: ledger.Granted, Source: "import"}); err != nil {
			t.Fatal(err)
		}
		pu, _ := e.ledger.Purpose(ctx, "e_marketing")
		path := strings.TrimPrefix(e.svc.UnsubscribeURL(pid, pu.ID), e.srv.URL)
		// A GET only asks.
		if code, body, _ := e.do("GET", path, nil); code != 200 || !strings.Contains(body, "Do you want to stop: E-marketing?") {
			t.Fatalf("GET: %d %s", code, body)
		}
		if !e.state(pid, "e_marketing").Valid {
			t.Fatal("a GET unsubscribed")
		}
		oneClick := url.Values{"List-Unsubscribe": {"One-Click"}}
		for i := range 2 {
			code, body, h := e.do("POST", path, oneClick)
			if code != 200 || h.Get("Location") != "" || body != "unsubscribed\n" {
				t.Fatalf("one-click POST %d: %d %q", i, code, body)
			}
		}
		st := e.state(pid, "e_marketing")
		if st.State != ledger.Withdrawn || st.Source != "self_service" {
			t.Fatalf("after one-click: %+v", st)
		}
		if h, _ := e.ledger.History(ctx, pid, "e_marketing"); len(h) != 2 {
			t.Fatalf("the second POST recorded again: %d events", len(h))
		}
		// A forged token (another person's id with this MAC) is refused.
		other := e.person("other@example.com", "en")
		forged := strings.TrimPrefix(e.svc.UnsubscribeURL(other, pu.ID), e.srv.URL)
		forged = forged[:len(forged)-3] + "AAA"
		if code, _, _ := e.do("POST", forged, oneClick); code != 404 {
			t.Fatalf("forged token: %d", code)
		}
		if st := e.state(other, "e_marketing"); st.State != "none" {
			t.Fatalf("forged token recorded %s", st.State)
		}
	})
}

func TestGlobalPrivacyControl(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		if _, err := e.ledger.CreatePurpose(ctx, audit.System, ledger.PurposeInput{Key: "ad_sharing", DefaultLegalBasis: ledger.Consent, AllowedLegalBases: []ledger.LegalBasis{ledger.Consent}, ConsentRequired: true,
			Texts: map[string]ledger.Text{"en": {Name: "Ad sharing", ConsentText: "Share with ad partners"}, "de": {Name: "Werbepartner", ConsentText: "Teilen"}, "da": {Name: "Annoncepartnere", ConsentText: "Dele"}}}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.SetGPCPurposes(ctx, audit.System, []string{"ad_sharing"}); err != nil {
			t.Fatal(err)
		}
		csrf := e.csrf("/f/newsletter")
		form := url.Values{"csrf": {csrf}, "email": {"gpc@example.com"}, "purpose": {"e_marketing"}, "terms": {"1"}}
		if code, _, _ := e.do("POST", "/f/newsletter", form, "Sec-GPC", "1"); code != 200 {
			t.Fatalf("submit: %d", code)
		}
		e.work()
		p, _ := e.ledger.PersonByEmail(ctx, "gpc@example.com")
		if st := e.state(p.ID, "ad_sharing"); st.State != ledger.Objected {
			t.Fatalf("GPC: ad_sharing is %s", st.State)
		}
		form.Set("email", "nogpc@example.com")
		e.do("POST", "/f/newsletter", form, "Sec-GPC", "0")
		e.work()
		p, _ = e.ledger.PersonByEmail(ctx, "nogpc@example.com")
		if st := e.state(p.ID, "ad_sharing"); st.State != "none" {
			t.Fatalf("Sec-GPC: 0 recorded %s", st.State)
		}
		code, body, h := e.do("GET", "/.well-known/gpc.json", nil)
		var v struct {
			GPC        bool   `json:"gpc"`
			LastUpdate string `json:"lastUpdate"`
		}
		if code != 200 || h.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(body), &v) != nil || !v.GPC || v.LastUpdate == "" {
			t.Fatalf("gpc.json: %d %q %s", code, h.Get("Content-Type"), body)
		}
	})
}

// The per-IP and per-link limits hold across two instances on one
// database: two servers behind a load balancer give a visitor no more
// requests than one. A refused request says how long to wait.
func TestRateLimitsHoldAcrossInstances(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		ctx := context.Background()
		opts := storetest.Options(t, eng)
		var urls []string
		for range 2 {
			db, err := store.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			l := ledger.New(db)
			if err := l.Seed(ctx); err != nil {
				t.Fatal(err)
			}
			svc := outreach.New(db, l, outreach.Config{PublicURL: "https://consent.example.com", Controller: "Example Ltd"})
			if err := svc.Init(ctx); err != nil {
				t.Fatal(err)
			}
			h, err := selfservice.New(svc, quiet, selfservice.Options{PerIP: 0.001, PerToken: 0.001})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			urls = append(urls, srv.URL)
		}
		get := func(url string) (int, string, http.Header) {
			res, err := http.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(b), res.Header
		}
		// n simultaneous requests for path, alternating between the instances.
		count := func(n int, path string) map[int]int {
			codes := map[int]int{}
			var mu sync.Mutex
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					code, _, _ := get(urls[i%2] + path)
					mu.Lock()
					codes[code]++
					mu.Unlock()
				})
			}
			wg.Wait()
			return codes
		}
		// One link allows a burst of 20; every request also counts against
		// the address's burst of 30.
		if codes := count(25, "/u/some-link"); codes[429] != 5 {
			t.Fatalf("25 requests for one link over two instances: %v; want 20 answered and 5 refused", codes)
		}
		if codes := count(10, "/p/"); codes[429] != 5 || codes[200] != 5 {
			t.Fatalf("10 more requests from the address: %v; want 5 answered and 5 refused", codes)
		}
		code, body, h := get(urls[1] + "/p/")
		if code != 429 || !strings.Contains(body, "Too many requests") {
			t.Fatalf("limited: %d", code)
		}
		if s, _ := strconv.Atoi(h.Get("Retry-After")); s < 900 || s > 1000 {
			t.Fatalf("Retry-After %q; want the time until the next request is allowed (about 1000 s)", h.Get("Retry-After"))
		}
	})
}

func TestConsentRequestMailing(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		e.person("asked@example.com", "de")
		granted := e.person("granted@example.com", "en")
		withdrew := e.person("withdrew@example.com", "en")
		e.ledger.RecordConsent(ctx, audit.System, ledger.ConsentInput{PersonID: granted, Purpose: "e_marketing", Kind: ledger.Granted, Source: "import"})
		e.ledger.RecordConsent(ctx, audit.System, ledger.ConsentInput{PersonID: withdrew, Purpose: "e_marketing", Kind: ledger.Withdrawn, Source: "import"})
		r, err := e.svc.RequestConsent(ctx, audit.Actor{Type: "user", ID: "1"}, "e_marketing", nil)
		if err != nil || r.Recipients != 1 {
			t.Fatalf("request: %+v, %v", r, err)
		}
		m := e.drain(1)[0]
		if m.To[0] != "asked@example.com" || !strings.Contains(m.Text, "Zweck für Zweck") {
			t.Fatalf("request mail to %v:\n%s", m.To, m.Text)
		}
		lu := m.Header.Get("List-Unsubscribe")
		if !strings.HasPrefix(lu, "<"+e.srv.URL+"/u/") || m.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
			t.Fatalf("unsubscribe headers %q", m.Header)
		}
		list, _ := e.svc.ConsentRequests(ctx)
		if len(list) != 1 || list[0].Pending() != 1 || list[0].Answered != 0 {
			t.Fatalf("before answering: %+v", list)
		}
		// The person answers on the page the mail links to.
		pref := strings.TrimPrefix(link(t, m.Text, "/p/"), e.srv.URL)
		csrf := e.csrf(pref)
		if code, _, _ := e.do("POST", pref+"/consent", url.Values{"csrf": {csrf}, "purpose": {"e_marketing"}, "version": {"1"}, "action": {"grant"}}); code != 303 {
			t.Fatalf("grant: %d", code)
		}
		list, _ = e.svc.ConsentRequests(ctx)
		if list[0].Answered != 1 || list[0].Pending() != 0 {
			t.Fatalf("after answering: %+v", list)
		}
		// A list narrows the mailing; nobody who decided is asked again.
		r, _ = e.svc.RequestConsent(ctx, audit.System, "e_marketing", []string{"granted@example.com", "withdrew@example.com", "unknown@example.com"})
		if r.Recipients != 0 {
			t.Fatalf("list request reached %d", r.Recipients)
		}
		if counts, _ := mail.Counts(ctx, e.db); counts[mail.StatusSent] != 1 {
			t.Fatalf("outbox %v", counts)
		}
		// A source narrows it too: only the fair's visitor, not the others
		// still without an answer.
		e.person("other@example.com", "en")
		if _, err := e.ledger.CreatePerson(ctx, audit.System, ledger.PersonInput{LastName: "Fair", Emails: []string{"fair@example.com"}, Source: "event"}); err != nil {
			t.Fatal(err)
		}
		if r, err := e.svc.RequestConsentFrom(ctx, audit.System, "e_marketing", "event", nil); err != nil || r.Recipients != 1 {
			t.Fatalf("request to the event's contacts: %+v, %v", r, err)
		}
		var ie *outreach.InputError
		if _, err := e.svc.RequestConsentFrom(ctx, audit.System, "e_marketing", "nowhere", nil); !errors.As(err, &ie) {
			t.Fatalf("an unknown source: %v", err)
		}
	})
}

func hasAction(events []audit.Event, action string) bool {
	for _, ev := range events {
		if ev.Action == action {
			return true
		}
	}
	return false
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestLinksExpire(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		csrf := e.csrf("/f/newsletter")
		if code, _, _ := e.do("POST", "/f/newsletter", url.Values{"csrf": {csrf}, "email": {"late@example.com"}, "purpose": {"e_marketing"}, "terms": {"1"}}); code != 200 {
			t.Fatalf("submit: %d", code)
		}
		confirm := strings.Split(strings.TrimPrefix(link(t, e.drain(1)[0].Text, "/f/confirm/"), e.srv.URL), "?")[0]
		pid := e.person("grete@example.dk", "en")
		tok := e.token(pid)
		later := time.Now().Add(outreach.OptinTTL + time.Hour)
		e.svc.SetClock(func() time.Time { return later })
		ccsrf := e.csrf(confirm)
		if code, body, _ := e.do("POST", confirm, url.Values{"csrf": {ccsrf}}); code != 404 || !strings.Contains(body, "not valid or has expired") {
			t.Fatalf("an expired confirmation link: %d", code)
		}
		p, _ := e.ledger.PersonByEmail(context.Background(), "late@example.com")
		if st := e.state(p.ID, "e_marketing"); st.State != ledger.Pending {
			t.Fatalf("an expired link changed the consent to %s", st.State)
		}
		if code, _, _ := e.do("GET", "/p/"+tok, nil); code != 200 {
			t.Fatalf("a preference link two days old: %d", code)
		}
		later = time.Now().Add(outreach.PreferenceTTL + time.Hour)
		if code, _, _ := e.do("GET", "/p/"+tok, nil); code != 404 {
			t.Fatalf("an expired preference link: %d", code)
		}
	})
}

// Anyone can type someone's address into a form: that must neither lower
// their consent nor change their data, and three link requests a day are
// the most one mailbox gets.
func TestStrangersCannotDowngradeOrFlood(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		pid := e.person("grete@example.dk", "en")
		if _, err := e.ledger.RecordConsent(ctx, audit.System, ledger.ConsentInput{PersonID: pid, Purpose: "e_marketing", Kind: ledger.Granted, Source: "import"}); err != nil {
			t.Fatal(err)
		}
		csrf := e.csrf("/f/newsletter")
		form := url.Values{"csrf": {csrf}, "email": {"grete@example.dk"}, "first_name": {"Mallory"}, "purpose": {"e_marketing"}, "terms": {"1"}}
		if code, _, _ := e.do("POST", "/f/newsletter", form); code != 200 {
			t.Fatalf("submit: %d", code)
		}
		e.work()
		if st := e.state(pid, "e_marketing"); st.State != ledger.Granted {
			t.Fatalf("a stranger's submission turned the grant into %s", st.State)
		}
		if p, _ := e.ledger.Person(ctx, pid); p.FirstName != "Grete" {
			t.Fatalf("a stranger's submission renamed the person to %q", p.FirstName)
		}
		lcsrf := e.csrf("/p/")
		for range 5 {
			e.do("POST", "/p/", url.Values{"csrf": {lcsrf}, "email": {"grete@example.dk"}})
		}
		// The opt-in mail and three links.
		if got := len(e.drain(4)); got != 4 {
			t.Fatalf("%d mails", got)
		}
		if list, _ := mail.List(ctx, e.db, "", 0, 100); len(list) != 4 {
			t.Fatalf("the outbox holds %d mails, want 4", len(list))
		}
	})
}

// Erasing a person removes their mails, links and opt-in records and the
// data in their requests.
func TestErasePerson(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		csrf := e.csrf("/f/newsletter")
		if code, _, _ := e.do("POST", "/f/newsletter", url.Values{"csrf": {csrf}, "email": {"gone@example.com"}, "purpose": {"e_marketing"}, "terms": {"1"}}); code != 200 {
			t.Fatalf("submit: %d", code)
		}
		e.work()
		p, _ := e.ledger.PersonByEmail(ctx, "gone@example.com")
		tok := e.token(p.ID)
		e.svc.SetRectificationMode(ctx, audit.System, "review")
		if _, err := e.svc.Rectify(ctx, p.ID, outreach.Contact{FirstName: "Gone"}, outreach.Client{IP: "192.0.2.7", UserAgent: "UA"}); err != nil {
			t.Fatal(err)
		}
		other := e.person("stays@example.com", "en")
		e.token(other)
		e.svc.RequestLink(ctx, "stays@example.com")
		if err := e.db.Write(ctx, func(tx *store.Tx) error { return outreach.ErasePersonTx(tx, p.ID) }); err != nil {
			t.Fatal(err)
		}
		if code, _, _ := e.do("GET", "/p/"+tok, nil); code != 404 {
			t.Fatalf("the erased person's link: %d", code)
		}
		var n int
		for q, want := range map[string]int{
			`SELECT COUNT(*) FROM mail_outbox WHERE person_id = ?`:                                            0,
			`SELECT COUNT(*) FROM optins WHERE person_id = ?`:                                                 0,
			`SELECT COUNT(*) FROM selfservice_requests WHERE person_id = ?`:                                   1,
			`SELECT COUNT(*) FROM selfservice_requests WHERE person_id = ? AND (payload <> '{}' OR ip <> '')`: 0,
		} {
			e.db.QueryRow(ctx, q, p.ID).Scan(&n)
			if n != want {
				t.Errorf("%s: %d", q, n)
			}
		}
		if counts, _ := mail.Counts(ctx, e.db); counts[mail.StatusQueued] != 1 {
			t.Fatalf("the other person's mail is gone too: %v", counts)
		}
	})
}

// Behind a trusted load balancer the evidence keeps the client's address
// from X-Forwarded-For; without one, a client cannot put another address
// into the evidence by sending the header itself.
func TestEvidenceIPBehindLoadBalancer(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		lb, err := netx.ParseProxies("127.0.0.0/8, ::1")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name    string
			proxies netx.Proxies
			want    string
		}{{"trusted", lb, "203.0.113.9"}, {"not trusted", nil, "127.0.0.1"}} {
			e := newEnv(t, eng, selfservice.Options{PerIP: -1, PerToken: -1, Proxies: c.proxies})
			pid := e.person("lb-"+strings.ReplaceAll(c.name, " ", "")+"@example.dk", "en")
			tok := e.token(pid)
			grant := url.Values{"csrf": {e.csrf("/p/" + tok)}, "purpose": {"e_marketing"}, "version": {"1"}, "action": {"grant"}}
			if code, _, _ := e.do("POST", "/p/"+tok+"/consent", grant, "X-Forwarded-For", "203.0.113.9"); code != 303 {
				t.Fatalf("%s: grant: %d", c.name, code)
			}
			ev, _ := e.ledger.ConsentEventByID(context.Background(), e.state(pid, "e_marketing").EventID)
			if ev == nil || ev.Evidence.IP != c.want {
				t.Fatalf("%s: evidence IP %+v, want %s", c.name, ev, c.want)
			}
		}
	})
}
