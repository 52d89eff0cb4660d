package ui_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/outreach"
	"github.com/consento/consento/internal/storetest"
)

// The e-mail and self-service staff pages pass axe-core, wide and at 375 px.
func TestBrowserOutreachPages(t *testing.T) {
	ctx := chrome(t)
	axe := axeSource(t)
	e, svc := newOutreachEnv(t, storetest.SQLite)
	bg := context.Background()
	if err := svc.SaveForm(bg, audit.System, outreach.Form{Key: "newsletter", Name: "Newsletter", Active: true, Purposes: []string{"e_marketing"}}); err != nil {
		t.Fatal(err)
	}
	svc.RequestLink(bg, "grete@example.dk")
	svc.RequestErasure(bg, e.person.ID, outreach.Client{IP: "192.0.2.1"})
	if _, err := svc.RequestConsent(bg, audit.System, "e_marketing", nil); err != nil {
		t.Fatal(err)
	}
	_, u := e.user(auth.RoleAdmin, "")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), u.Email), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(`table.list`)),
	); err != nil {
		t.Fatal(err)
	}
	for _, width := range []int64{1280, 375} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			for _, pg := range []string{"outbox", "outbox/1", "settings/mail-templates", "settings/mail-templates/optin/de", "settings/forms", "consent-requests", "selfservice-requests"} {
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(e.srv.URL+"/"+pg), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
					t.Fatalf("%s: %v", pg, err)
				}
				checkAxe(t, ctx, axe, pg)
			}
		})
	}
}
