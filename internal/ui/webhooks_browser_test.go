package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
	"github.com/consento/consento/internal/webhook"
)

// The webhook pages pass axe-core, wide and at 375 px, with a subscription
// and a failed attempt in its log.
func TestBrowserWebhooks(t *testing.T) {
	ctx := chrome(t)
	axe := axeSource(t)
	e := newEnv(t, storetest.SQLite)
	bg := context.Background()
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "CRM is down for maintenance", http.StatusServiceUnavailable)
	}))
	defer rc.Close()
	svc := webhook.New(e.db, webhook.Options{AllowPrivate: true})
	e.ui.EnableWebhooks(svc)
	sub, _, err := svc.Create(bg, audit.System, webhook.SubscriptionInput{URL: rc.URL + "/consento", Description: "CRM sync", EventTypes: []string{"consent.granted", "request.created"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ledger.RecordConsent(bg, audit.System, ledger.ConsentInput{PersonID: e.person.ID, Purpose: "e_marketing", Kind: ledger.Granted, Source: "import"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DeliverDue(bg); err != nil {
		t.Fatal(err)
	}
	ds, err := svc.Deliveries(bg, webhook.DeliveryFilter{})
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries %v %v", ds, err)
	}
	_, u := e.user(auth.RoleAdmin, "")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), u.Email), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(`table.list`)),
	); err != nil {
		t.Fatal(err)
	}
	pages := []string{"settings/webhooks", fmt.Sprintf("settings/webhooks/%d", sub.ID), fmt.Sprintf("settings/webhook-deliveries/%d", ds[0].ID)}
	for _, width := range []int64{1280, 375} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			for _, pg := range pages {
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(e.srv.URL+"/"+pg), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
					t.Fatalf("%s: %v", pg, err)
				}
				checkAxe(t, ctx, axe, pg)
				shoot(t, ctx, fmt.Sprintf("%s-%d", strings.ReplaceAll(pg, "/", "-"), width))
			}
		})
	}
	// Replay from the delivery page.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/"+pages[2]),
		chromedp.Click(chromedp.CSS(`form[action$="/replay"] button`)), chromedp.WaitVisible(chromedp.CSS("p.flash"))); err != nil {
		t.Fatal(err)
	}
	d, err := svc.Delivery(bg, ds[0].ID)
	if err != nil || d.Status != webhook.StatusPending || d.NextAttemptAt == nil {
		t.Fatalf("after replay %+v %v", d, err)
	}
}
