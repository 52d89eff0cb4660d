package ui_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/storetest"
)

// The recipients page and a case with its Art. 19 block pass axe-core,
// wide and at 375 px; the notify button sends the notices.
func TestBrowserRecipientsAndNotice(t *testing.T) {
	ctx := chrome(t)
	axe := axeSource(t)
	e := newEnv(t, storetest.SQLite)
	bg := context.Background()
	svc := rights.New(e.ledger)
	ps, err := e.ledger.Purposes(bg, false)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := svc.CreateRecipient(bg, audit.System, rights.RecipientInput{Name: "Print Shop KG", Kind: rights.KindProcessor, Email: "orders@print.example",
		Country: "DE", PurposeIDs: []int64{ps[0].ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ledger.RecordConsent(bg, audit.System, ledger.ConsentInput{PersonID: e.person.ID, Purpose: ps[0].Key, Kind: ledger.Granted, Source: "import"}); err != nil {
		t.Fatal(err)
	}
	req, err := svc.CreateRequest(bg, audit.System, rights.RequestInput{PersonID: &e.person.ID, Type: rights.TypeRectification})
	if err == nil {
		_, err = svc.VerifyIdentity(bg, audit.System, req.ID, "ID card")
	}
	if err != nil {
		t.Fatal(err)
	}
	_, u := e.user(auth.RolePrivacyOfficer, "")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), u.Email), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(`table.list`)),
	); err != nil {
		t.Fatal(err)
	}
	casePage := fmt.Sprintf("requests/%d", req.ID)
	pages := []string{"settings/recipients", fmt.Sprintf("settings/recipients/%d", rc.ID), casePage}
	for _, width := range []int64{1280, 375} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			for _, pg := range pages {
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(e.srv.URL+"/"+pg), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
					t.Fatalf("%s: %v", pg, err)
				}
				checkAxe(t, ctx, axe, pg)
				if pg == pages[0] {
					shoot(t, ctx, fmt.Sprintf("recipients-%d", width))
				}
			}
		})
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/"+casePage), chromedp.Click(chromedp.CSS("#notify-recipients")),
		chromedp.WaitVisible(chromedp.CSS("#recipient-notices table"))); err != nil {
		t.Fatal(err)
	}
	shoot(t, ctx, "case-notices")
	notified, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#recipient-notices tbody")))
	if err != nil || !strings.Contains(notified, "Print Shop KG") {
		t.Fatalf("notices on the page: %q %v", notified, err)
	}
	if ns, err := svc.Notices(bg, req.ID); err != nil || len(ns) != 1 || ns[0].Email != "orders@print.example" {
		t.Fatalf("notices after the click: %+v %v (page: %q)", ns, err, notified)
	}
	checkAxe(t, ctx, axe, casePage+" notified")
}
