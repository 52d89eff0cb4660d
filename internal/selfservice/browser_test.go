package selfservice_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/consento/consento/internal/browsertest"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
)

var (
	chrome    = browsertest.Chrome
	axeSource = browsertest.Axe
	shoot     = browsertest.Shoot
)

// checkPage runs axe-core on the current page (no serious or critical
// violation) and checks that nothing is wider than the window (375 px).
func checkPage(t *testing.T, ctx context.Context, axe, page string) {
	t.Helper()
	browsertest.CheckAxe(t, ctx, axe, page)
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil || wide {
		t.Errorf("%s scrolls sideways at this width (%v)", page, err)
	}
}

// A visitor on a phone signs up on the hosted form, gets the mail at the
// SMTP server, confirms, sees the consent on their preference page,
// withdraws it there, and a one-click unsubscribe is recorded.
func TestBrowserSignUpConfirmWithdrawUnsubscribe(t *testing.T) {
	ctx := chrome(t)
	axe := axeSource(t)
	e := newEnv(t, storetest.SQLite)
	base := e.srv.URL
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(375, 800), chromedp.Navigate(base+"/f/newsletter"), chromedp.WaitVisible(chromedp.CSS("#f-email"))); err != nil {
		t.Fatal(err)
	}
	checkPage(t, ctx, axe, "form")
	shoot(t, ctx, "public-form-mobile")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#f-email"), "mette@example.dk"),
		chromedp.SendKeys(chromedp.CSS("#f-first_name"), "Mette"),
		chromedp.Click(chromedp.CSS("#f-p-e_marketing")),
		chromedp.Click(chromedp.CSS("#f-terms")),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		chromedp.WaitNotPresent(chromedp.CSS("#f-email")), // the form page is gone
		chromedp.WaitVisible(chromedp.CSS("main h1")),
	); err != nil {
		t.Fatal(err)
	}
	if h1 := text("main h1"); h1 != "Please check your mailbox" {
		t.Fatalf("after submitting: %q", h1)
	}
	checkPage(t, ctx, axe, "form sent")
	msg := e.drain(1)[0]
	if msg.To[0] != "mette@example.dk" {
		t.Fatalf("mail to %v", msg.To)
	}
	confirm := link(t, msg.Text, "/f/confirm/")
	if err := chromedp.Do(ctx, chromedp.Navigate(confirm), chromedp.WaitVisible(chromedp.CSS(`main form button`))); err != nil {
		t.Fatal(err)
	}
	checkPage(t, ctx, axe, "confirm")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`main form button`)), chromedp.WaitVisible(chromedp.CSS(`#purpose-e_marketing`))); err != nil {
		t.Fatal(err)
	}
	if s := text(`#purpose-e_marketing .state`); s != "You have given your consent." {
		t.Fatalf("after confirming: %q", s)
	}
	if f := text(".flash"); !strings.Contains(f, "confirmed") {
		t.Fatalf("flash %q", f)
	}
	checkPage(t, ctx, axe, "preferences")
	shoot(t, ctx, "public-preferences-mobile")
	p, err := e.ledger.PersonByEmail(context.Background(), "mette@example.dk")
	if err != nil {
		t.Fatal(err)
	}
	if st := e.state(p.ID, "e_marketing"); st.State != ledger.Granted {
		t.Fatalf("ledger after confirming: %s", st.State)
	}
	// Withdrawing is one button, as granting was.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#purpose-e_marketing button`)),
		chromedp.WaitVisible(chromedp.CSS(`#purpose-e_marketing .state[data-state="not-granted"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if st := e.state(p.ID, "e_marketing"); st.State != ledger.Withdrawn || st.Source != "self_service" {
		t.Fatalf("ledger after withdrawing: %+v", st)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#purpose-e_marketing button`)),
		chromedp.WaitVisible(chromedp.CSS(`#purpose-e_marketing .state[data-state="granted"]`)),
	); err != nil {
		t.Fatal(err)
	}
	// The mailbox provider's one-click POST (RFC 8058), then the page a
	// person sees when they open the link.
	pu, _ := e.ledger.Purpose(context.Background(), "e_marketing")
	unsub := e.svc.UnsubscribeURL(p.ID, pu.ID)
	if code, body, _ := e.do("POST", strings.TrimPrefix(unsub, base), url.Values{"List-Unsubscribe": {"One-Click"}}); code != 200 || body != "unsubscribed\n" {
		t.Fatalf("one-click: %d %q", code, body)
	}
	st := e.state(p.ID, "e_marketing")
	ev, _ := e.ledger.ConsentEventByID(context.Background(), st.EventID)
	if st.State != ledger.Withdrawn || !strings.Contains(ev.Evidence.Note, "one-click") {
		t.Fatalf("after one-click: %+v %+v", st, ev.Evidence)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(unsub), chromedp.WaitVisible(chromedp.CSS(`main form button`))); err != nil {
		t.Fatal(err)
	}
	checkPage(t, ctx, axe, "unsubscribe")
	for _, l := range []string{"en", "de", "da"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/p/?lang="+l), chromedp.WaitVisible(chromedp.CSS(`#email`))); err != nil {
			t.Fatal(err)
		}
		checkPage(t, ctx, axe, "link request "+l)
	}
}
