package ui_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
	"github.com/consento/consento/internal/webhook"
)

// An admin subscribes a receiver, sees the secret once, reads the delivery
// log and replays a delivery; other roles cannot reach the pages.
func TestWebhookSettings(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		var code atomic.Int64
		code.Store(http.StatusInternalServerError)
		var bodies atomic.Value
		rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			bodies.Store(string(b))
			w.WriteHeader(int(code.Load()))
		}))
		defer rc.Close()
		svc := webhook.New(e.db, webhook.Options{AllowPrivate: true})
		e.ui.EnableWebhooks(svc)

		b, u := e.user(auth.RoleAdmin, "")
		b.login(u.Email, password)
		_, page, _ := b.do("GET", "/settings/purposes", nil)
		if !strings.Contains(page, `href="/settings/webhooks"`) {
			t.Fatal("no link to the webhooks in the settings")
		}
		token := b.csrf("/settings/webhooks")
		st, page, _ := b.do("POST", "/settings/webhooks", url.Values{"csrf": {token}, "url": {rc.URL + "/hook"}, "active": {"1"}})
		if st != http.StatusUnprocessableEntity || !strings.Contains(page, "event_types") {
			t.Fatalf("no event type: %d", st)
		}
		st, page, _ = b.do("POST", "/settings/webhooks", url.Values{"csrf": {token}, "url": {"ftp://example.com/"}, "event_type": {"consent.granted"}, "active": {"1"}})
		if st != http.StatusUnprocessableEntity || !strings.Contains(page, `value="ftp://example.com/"`) {
			t.Fatalf("bad URL: %d", st)
		}
		st, page, _ = b.do("POST", "/settings/webhooks", url.Values{"csrf": {token}, "url": {rc.URL + "/hook"}, "description": {"CRM"},
			"event_type": {"consent.granted", "consent.withdrawn"}, "active": {"1"}})
		secret := regexp.MustCompile(`<code>(whsec_[^<]+)</code>`).FindStringSubmatch(page)
		if st != http.StatusCreated || secret == nil {
			t.Fatalf("create: %d, secret shown: %v", st, secret != nil)
		}
		subs, _ := svc.Subscriptions(ctx)
		if len(subs) != 1 || len(subs[0].EventTypes) != 2 || !subs[0].Active {
			t.Fatalf("subscriptions %+v", subs)
		}
		sp := "/settings/webhooks/" + itoa(subs[0].ID)
		if _, page, _ = b.do("GET", sp, nil); strings.Contains(page, "whsec_") {
			t.Fatal("the secret is shown again")
		}

		if _, err := e.ledger.RecordConsent(ctx, audit.System, ledger.ConsentInput{PersonID: e.person.ID, Purpose: "e_marketing", Kind: ledger.Granted, Source: "import"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		if body, _ := bodies.Load().(string); !strings.Contains(body, `"consent.granted"`) || strings.Contains(body, "Grete") {
			t.Fatalf("receiver got %s", body)
		}
		_, page, _ = b.do("GET", sp+"?status=failed", nil)
		if strings.Contains(page, "/settings/webhook-deliveries/") {
			t.Fatal("the failed filter lists a pending delivery")
		}
		_, page, _ = b.do("GET", sp+"?status=pending", nil)
		m := regexp.MustCompile(`href="(/settings/webhook-deliveries/\d+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatal("the pending delivery is not listed")
		}
		_, page, _ = b.do("GET", m[1], nil)
		if !strings.Contains(page, "<td>500</td>") || !strings.Contains(page, "msg_") {
			t.Fatal("the delivery page lacks the attempt or the webhook-id")
		}
		code.Store(http.StatusOK)
		if st, _, _ := b.do("POST", m[1]+"/replay", url.Values{"csrf": {token}}); st != http.StatusSeeOther {
			t.Fatalf("replay: %d", st)
		}
		if _, err := svc.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		if _, page, _ = b.do("GET", m[1], nil); strings.Count(page, "<td>200</td>") != 1 {
			t.Fatal("the replayed attempt is not logged")
		}
		if st, _, _ := b.do("POST", sp, url.Values{"csrf": {token}, "url": {rc.URL + "/hook"}, "event_type": {"request.created"}}); st != http.StatusSeeOther {
			t.Fatalf("update: %d", st)
		}
		if sub, _ := svc.Subscription(ctx, subs[0].ID); sub.Active || sub.EventTypes[0] != "request.created" {
			t.Fatalf("after update %+v", sub)
		}
		if st, page, _ := b.do("POST", sp+"/rotate", url.Values{"csrf": {token}}); st != http.StatusOK || !strings.Contains(page, "whsec_") {
			t.Fatalf("rotate: %d", st)
		}
		if st, _, _ := b.do("POST", sp+"/test", url.Values{"csrf": {token}}); st != http.StatusConflict {
			t.Fatalf("test to an inactive subscription: %d", st)
		}
		if st, _, _ := b.do("POST", sp+"/delete", url.Values{"csrf": {token}}); st != http.StatusSeeOther {
			t.Fatalf("delete: %d", st)
		}
		if subs, _ := svc.Subscriptions(ctx); len(subs) != 0 {
			t.Fatal("not deleted")
		}

		officer, ou := e.user(auth.RolePrivacyOfficer, "")
		officer.login(ou.Email, password)
		if st, _, _ := officer.do("GET", "/settings/webhooks", nil); st != http.StatusForbidden {
			t.Fatalf("privacy officer: %d", st)
		}
		if _, page, _ := officer.do("GET", "/settings/purposes", nil); strings.Contains(page, `href="/settings/webhooks"`) {
			t.Fatal("the privacy officer sees the webhooks link")
		}
	})
}
