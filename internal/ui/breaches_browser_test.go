package ui_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/breach"
	"github.com/consento/consento/internal/storetest"
)

// The breach list and an incident page pass axe-core, wide and at 375 px;
// recording a breach in the form opens its page with the countdown, and
// the notify button sends the notices.
func TestBrowserBreachRegister(t *testing.T) {
	ctx := chrome(t)
	axe := axeSource(t)
	e := newEnv(t, storetest.SQLite)
	bg := context.Background()
	svc := breach.New(e.db)
	b, err := svc.Create(bg, audit.System, breach.Input{Title: "Lost USB stick", Description: "An unencrypted USB stick with a customer export was lost.",
		AwareAt: ptr(time.Now().Add(-80 * time.Hour)), Risk: breach.RiskHigh, DataCategories: []string{"contact", "financial"}, SubjectCategories: []string{"customers"},
		Consequences: "Fraud attempts are possible.", Measures: "Watch your bank statements.", DPOContact: "dpo@example.com"})
	if err == nil {
		_, err = svc.LinkPersons(bg, audit.System, b.ID, breach.LinkInput{PersonIDs: []int64{e.person.ID}})
	}
	if err != nil {
		t.Fatal(err)
	}
	_, u := e.user(auth.RolePrivacyOfficer, "")
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(e.srv.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), u.Email), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(`table.list`)),
		chromedp.Click(chromedp.CSS(`nav a[href="/breaches"]`)), chromedp.WaitVisible(chromedp.CSS(`#breaches`)),
	); err != nil {
		t.Fatal(err)
	}
	detail := fmt.Sprintf("breaches/%d", b.ID)
	for _, width := range []int64{1280, 375} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			for _, pg := range []string{"breaches", detail, "dashboard"} {
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(e.srv.URL+"/"+pg), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
					t.Fatalf("%s: %v", pg, err)
				}
				checkAxe(t, ctx, axe, pg)
				if pg != "dashboard" {
					shoot(t, ctx, fmt.Sprintf("%s-%d", strings.ReplaceAll(pg, "/", "-"), width))
				}
			}
		})
	}
	// The overdue incident is red on the list.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(e.srv.URL+"/breaches"), chromedp.WaitVisible(chromedp.CSS(`#breaches`))); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#breaches .light-red`)))
	if err != nil || !strings.HasPrefix(text, "overdue by 8 h") {
		t.Fatalf("countdown on the list: %q %v", text, err)
	}
	// Record a new breach through the form.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#title`), "Misdirected e-mail"),
		chromedp.SendKeys(chromedp.CSS(`#description`), "A customer list was mailed to a wrong recipient."),
		chromedp.SetValue(chromedp.CSS(`#risk`), "none"),
		chromedp.Click(chromedp.CSS(`#new-breach button`)),
		chromedp.WaitVisible(chromedp.CSS(`#summary`)),
	); err != nil {
		t.Fatal(err)
	}
	text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#summary [data-countdown]`)))
	if err != nil || !strings.HasPrefix(text, "71 h") && !strings.HasPrefix(text, "72 h") {
		t.Fatalf("countdown of the new breach: %q %v", text, err)
	}
	checkAxe(t, ctx, axe, "new breach")
	// Notify the persons of the first one.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/"+detail), chromedp.WaitVisible(chromedp.CSS(`#notify-persons`)),
		chromedp.Click(chromedp.CSS(`#notify-persons`)), chromedp.WaitVisible(chromedp.CSS(`.flash`))); err != nil {
		t.Fatal(err)
	}
	text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.flash`)))
	if err != nil || text != "Notices queued in the outbox: 1." {
		t.Fatalf("after notifying: %q %v", text, err)
	}
	ps, err := svc.Persons(bg, b.ID)
	if err != nil || len(ps) != 1 || ps[0].NotifiedAt == nil {
		t.Fatalf("persons after the click: %+v %v", ps, err)
	}
	checkAxe(t, ctx, axe, detail+" notified")
}
