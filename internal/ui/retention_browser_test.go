package ui_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// The retention page (with an expired person listed) and the contact card
// with its retention section pass axe-core, wide and at 375 px; the dry
// run button reports on the page.
func TestBrowserRetention(t *testing.T) {
	ctx := chrome(t)
	axe := axeSource(t)
	e := newEnv(t, storetest.SQLite)
	old := store.Micros(time.Now().AddDate(0, 0, -400))
	if err := e.db.Write(context.Background(), func(tx *store.Tx) error {
		if _, err := tx.Exec(`UPDATE persons SET created_at = ?, updated_at = ?, retain_until = '2020-01-31' WHERE id = ?`, old, old, e.person.ID); err != nil {
			return err
		}
		_, err := tx.Exec(`UPDATE retention_settings SET inactive_days = 365`)
		return err
	}); err != nil {
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
	pages := []string{"retention?preview=1", fmt.Sprintf("contacts/%d", e.person.ID)}
	for _, width := range []int64{1280, 375} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			for _, pg := range pages {
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(e.srv.URL+"/"+pg), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
					t.Fatalf("%s: %v", pg, err)
				}
				checkAxe(t, ctx, axe, pg)
				if pg == pages[0] {
					shoot(t, ctx, fmt.Sprintf("retention-%d", width))
				}
			}
		})
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(e.srv.URL+"/retention"),
		chromedp.Click(chromedp.CSS(`form[action="/retention/run"] button`)), chromedp.WaitVisible(chromedp.CSS("p.flash"))); err != nil {
		t.Fatal(err)
	}
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("p.flash")))
	if err != nil || !strings.Contains(flash, "Dry run: 1 expired") {
		t.Fatalf("dry run on the page: %q %v", flash, err)
	}
	checkAxe(t, ctx, axe, "retention after a dry run")
}
