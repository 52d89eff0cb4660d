package ui_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/storetest"
)

// A privacy officer opens an erasure request from the case dashboard,
// verifies the identity, looks at the level-3 preview and anonymizes, in
// a real browser at 1280 and 375 px; every page passes axe-core.
func TestBrowserRequestDashboardAndErasurePreview(t *testing.T) {
	ctx := chrome(t)
	axe := axeSource(t)
	e := newEnv(t, storetest.SQLite)
	_, u := e.user(auth.RolePrivacyOfficer, "")
	base := e.srv.URL
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), u.Email),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.list`)),
		chromedp.Click(chromedp.CSS(`nav a[href="/requests"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#type`)),
	); err != nil {
		t.Fatal(err)
	}
	checkAxe(t, ctx, axe, "requests (empty)")
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#type`), "erasure"),
		chromedp.SendKeys(chromedp.CSS(`#requester_email`), "grete@example.dk"),
		chromedp.SendKeys(chromedp.CSS(`#country`), "DK"),
		chromedp.Click(chromedp.CSS(`form.stack button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	); err != nil {
		t.Fatal(err)
	}
	checkAxe(t, ctx, axe, "request case")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#method`), "passport seen at the front desk"),
		chromedp.Click(chromedp.CSS(`form[action$="/verify"] button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`form[action$="/verify"]`)), // the verified case's page
		chromedp.WaitVisible(chromedp.CSS(`#erasure-preview`)),
		chromedp.Click(chromedp.CSS(`#erasure-preview`)),
		chromedp.WaitVisible(chromedp.CSS(`#erasure-changes`)),
	); err != nil {
		t.Fatal(err)
	}
	checkAxe(t, ctx, axe, "erasure preview")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/contacts/1/records"), chromedp.WaitVisible(chromedp.CSS(`#kind`))); err != nil {
		t.Fatal(err)
	}
	checkAxe(t, ctx, axe, "linked records")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/requests/1/erasure?level=1"), chromedp.WaitVisible(chromedp.CSS(`#erasure-changes`))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[href$="level=3"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-action="destroy"]`)),
	); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#erasure-changes`)))
	if err != nil || !strings.Contains(text, "grete@example.dk") || !strings.Contains(text, "Østergaard") {
		t.Fatalf("the level-3 preview does not show what goes: %q %v", text, err)
	}
	for _, width := range []int64{375, 1280} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(base+"/requests"), chromedp.WaitVisible(chromedp.CSS(`#requests`))); err != nil {
			t.Fatal(err)
		}
		checkAxe(t, ctx, axe, "requests")
		shoot(t, ctx, map[int64]string{375: "requests-mobile", 1280: "requests"}[width])
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#requests a`)),
		chromedp.WaitVisible(chromedp.CSS(`#erasure-preview`)),
		chromedp.Click(chromedp.CSS(`#erasure-preview`)),
		chromedp.WaitVisible(chromedp.CSS(`#erasure-changes`)),
		chromedp.Click(chromedp.CSS(`a[href$="level=3"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-action="destroy"]`)),
	); err != nil {
		t.Fatal(err)
	}
	shoot(t, ctx, "erasure")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#erase`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	); err != nil {
		t.Fatal(err)
	}
	text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil || !strings.Contains(text, "Erased.") || !strings.Contains(text, "This person was anonymized.") || strings.Contains(text, "Østergaard") {
		t.Fatalf("after erasure: %q %v", text, err)
	}
	checkAxe(t, ctx, axe, "request case after erasure")
}
