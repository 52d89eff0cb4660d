package ui_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/browsertest"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
)

// The browser, axe-core and screenshots, shared with the other packages'
// browser tests.
var (
	chrome    = browsertest.Chrome
	axeSource = browsertest.Axe
	checkAxe  = browsertest.CheckAxe
	shoot     = browsertest.Shoot
)

// A privacy officer logs in, finds a contact, records a consent on the
// contact card and sees it there, in a real browser, on a wide screen and
// at 375 px; every page passes axe-core.
func TestBrowserRecordConsent(t *testing.T) {
	ctx := chrome(t)
	axe := axeSource(t)
	e := newEnv(t, storetest.SQLite)
	_, u := e.user(auth.RolePrivacyOfficer, "")
	base := e.srv.URL
	for _, width := range []int64{1280, 375} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			suffix := ""
			if width < 500 {
				suffix = "-mobile"
			}
			err := chromedp.Do(ctx,
				chromedp.EmulateViewport(width, 900),
				chromedp.Navigate(base+"/login"),
				chromedp.WaitVisible(chromedp.CSS("#email")),
			)
			if err != nil {
				t.Fatal(err)
			}
			checkAxe(t, ctx, axe, "login")
			shoot(t, ctx, "login"+suffix)
			if err := chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.CSS("#email"), u.Email),
				chromedp.SendKeys(chromedp.CSS("#password"), password),
				chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(`table.list`)),
			); err != nil {
				t.Fatal(err)
			}
			text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table.list`)))
			if err != nil || !strings.Contains(text, "Østergaard") {
				t.Fatalf("contacts list: %q %v", text, err)
			}
			checkAxe(t, ctx, axe, "contacts")
			shoot(t, ctx, "contacts"+suffix)
			for _, pg := range []string{"dashboard", "lists/check", "audit", "settings/purposes", "settings/sources", "settings/fields", "settings/users", "settings/tokens"} {
				if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"+pg), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
					t.Fatalf("%s: %v", pg, err)
				}
				checkAxe(t, ctx, axe, pg)
				if pg == "dashboard" {
					shoot(t, ctx, "dashboard"+suffix)
				}
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(base+"/contacts"), chromedp.WaitVisible(chromedp.CSS(`table.list`))); err != nil {
				t.Fatal(err)
			}
			// Create a contact, then record and withdraw on its card.
			name := "Holm" + suffix
			if err := chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`a[href="/contacts/new"]`)),
				chromedp.WaitVisible(chromedp.CSS(`#last_name`)),
			); err != nil {
				t.Fatal(err)
			}
			checkAxe(t, ctx, axe, "new contact")
			if err := chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.CSS(`#first_name`), "Jens"),
				chromedp.SendKeys(chromedp.CSS(`#last_name`), name),
				chromedp.SendKeys(chromedp.CSS(`#email`), "jens"+suffix+"@example.dk"),
				chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(`#legal-open`)),
			); err != nil {
				t.Fatal(err)
			}
			if text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`h1`))); !strings.Contains(text, name) {
				t.Fatalf("the new contact's card: %q", text)
			}
			checkAxe(t, ctx, axe, "contact card")
			shoot(t, ctx, "contact"+suffix)
			// The Legal basis field opens the dialog; record a consent in it
			// (htmx replaces the dialog's content), then withdraw it there.
			if err := chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`#legal-open`)),
				chromedp.WaitVisible(chromedp.CSS(`dialog#legal-basis #purpose`)),
				chromedp.SetValue(chromedp.CSS(`#purpose`), "e_marketing"),
				chromedp.SetValue(chromedp.CSS(`#kind`), "granted"),
				chromedp.SetValue(chromedp.CSS(`#source`), "phone"),
				chromedp.SendKeys(chromedp.CSS(`#note`), "signed at the fair"),
				chromedp.Click(chromedp.CSS(`form.record button`)),
				chromedp.WaitVisible(chromedp.CSS(`dialog#legal-basis .flash`)),
			); err != nil {
				t.Fatal(err)
			}
			text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`dialog#legal-basis`)))
			if err != nil || !strings.Contains(text, "granted") || !strings.Contains(text, "signed at the fair") {
				t.Fatalf("the dialog does not show the recorded consent: %q %v", text, err)
			}
			if field, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#legal-open`))); !strings.Contains(field, "1 of 2") {
				t.Fatalf("the Legal basis field was not updated: %q", field)
			}
			checkAxe(t, ctx, axe, "legal basis dialog")
			shoot(t, ctx, "legal-basis"+suffix)
			person := personByName(t, e, name)
			// The row's Withdraw fills the form; the source is chosen there.
			if err := chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`dialog#legal-basis a.action[href*="kind=withdrawn"]`)),
				chromedp.WaitReady(chromedp.CSS(`#kind option[value="withdrawn"][selected]`)),
				chromedp.SetValue(chromedp.CSS(`#source`), "email"),
				chromedp.Click(chromedp.CSS(`form.record button`)),
				chromedp.WaitVisible(chromedp.CSS(`dialog#legal-basis .flash`)),
			); err != nil {
				t.Fatal(err)
			}
			waitState(t, e, person, "e_marketing", ledger.Withdrawn)
			if field, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#legal-open`))); !strings.Contains(field, "0 of 2") {
				t.Fatalf("the Legal basis field after the withdrawal: %q", field)
			}
			// Export the dialog to Excel, as the person would receive it.
			dir := t.TempDir()
			if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`dialog#legal-basis a.export`))); err != nil {
				t.Fatal(err)
			}
			checkLegalXLSX(t, waitFile(t, dir, ".xlsx"), name, "signed at the fair")
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`dialog#legal-basis button.close`)), chromedp.WaitNotVisible(chromedp.CSS(`dialog#legal-basis`))); err != nil {
				t.Fatal(err)
			}
			// A list check of an uploaded CSV file.
			csv := filepath.Join(dir, "list.csv")
			os.WriteFile(csv, []byte("email\ngrete@example.dk\njens"+suffix+"@example.dk\nunknown@example.org\n"), 0o600)
			if _, err := e.ledger.RecordConsent(context.Background(), audit.System, ledger.ConsentInput{PersonID: e.person.ID, Purpose: "e_marketing", Kind: ledger.Granted, Source: "import"}); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx,
				chromedp.Navigate(base+"/lists/check"),
				chromedp.WaitVisible(chromedp.CSS(`#file`)),
				chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{csv}),
				chromedp.SetValue(chromedp.CSS(`#purpose`), "e_marketing"),
				chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(`#permitted`)),
			); err != nil {
				t.Fatal(err)
			}
			permitted, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#permitted`)))
			blocked, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#blocked`)))
			if strings.TrimSpace(permitted) != "1" || strings.TrimSpace(blocked) != "2" {
				t.Fatalf("list check: %q permitted, %q blocked; want 1 and 2", permitted, blocked)
			}
			checkAxe(t, ctx, axe, "list check result")
			shoot(t, ctx, "listcheck"+suffix)
			// Log out for the next width.
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form.logout button`)), chromedp.WaitVisible(chromedp.CSS("#email"))); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func personByName(t *testing.T, e *env, name string) int64 {
	t.Helper()
	ps, _, err := e.ledger.ListPersons(context.Background(), ledger.PersonFilter{Query: name})
	if err != nil || len(ps) != 1 {
		t.Fatalf("person %q: %d found, %v", name, len(ps), err)
	}
	return ps[0].ID
}

// waitState waits until the stored consent is in state (the browser's
// request may still be on its way).
func waitState(t *testing.T, e *env, person int64, purpose string, state ledger.EventKind) {
	t.Helper()
	var st *ledger.ConsentState
	for range 50 {
		var err error
		if st, err = e.ledger.ConsentFor(context.Background(), person, purpose); err == nil && st.State == state {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("consent of %d for %s: %+v, want %s", person, purpose, st, state)
}

// waitFile waits for the browser to finish a download into dir.
func waitFile(t *testing.T, dir, ext string) string {
	t.Helper()
	for range 100 {
		m, _ := filepath.Glob(filepath.Join(dir, "*"+ext))
		if len(m) == 1 {
			return m[0]
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %s file downloaded to %s", ext, dir)
	return ""
}

// checkLegalXLSX opens the downloaded Legal basis export: the person, the
// withdrawn E-Marketing consent and the note in the history.
func checkLegalXLSX(t *testing.T, path, name, note string) {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("the downloaded export does not open: %v", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) != 2 || sheets[0] != "Legal basis" || sheets[1] != "History" {
		t.Fatalf("sheets %v", sheets)
	}
	if v, _ := f.GetCellValue(sheets[0], "B1"); !strings.Contains(v, name) {
		t.Fatalf("person %q, want %s", v, name)
	}
	rows, _ := f.GetRows(sheets[0])
	var withdrawn bool
	for _, r := range rows {
		withdrawn = withdrawn || len(r) > 1 && r[0] == "E-marketing" && r[1] == "withdrawn"
	}
	hist, _ := f.GetRows(sheets[1])
	var noted bool
	for _, r := range hist {
		noted = noted || strings.Contains(strings.Join(r, " "), note)
	}
	if !withdrawn || !noted {
		t.Fatalf("export rows %q, history %q", rows, hist)
	}
}
