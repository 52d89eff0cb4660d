package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/storetest"
)

// chrome starts headless Chromium (Debian's package, installed by
// scripts/test). Without it the browser tests skip, except in CI.
func chrome(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is required in CI (scripts/test installs it)")
		}
		t.Skip("chromium not installed (scripts/test installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

// axeSource is axe-core's script (npm axe-core, installed by scripts/test
// and named by CONSENTO_AXE_JS).
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CONSENTO_AXE_JS")
	b, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("axe-core is required in CI: CONSENTO_AXE_JS=%q: %v", path, err)
		}
		t.Skip("axe-core not found (scripts/test installs it and sets CONSENTO_AXE_JS)")
	}
	return string(b)
}

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// checkAxe runs axe-core on the current page: no serious or critical
// accessibility violation is allowed.
func checkAxe(t *testing.T, ctx context.Context, axe, page string) {
	t.Helper()
	script := axe + `;axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on %s: %v", page, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("axe result on %s: %v", page, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: %s accessibility violation %s (%s) at %v", page, v.Impact, v.ID, v.Help, v.Nodes)
		}
	}
}

// shoot saves a screenshot when CONSENTO_SCREENSHOTS names a directory
// (docs/screenshots is made that way).
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("CONSENTO_SCREENSHOTS")
	if dir == "" {
		return
	}
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

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
				chromedp.WaitVisible(chromedp.CSS(`#purpose`)),
			); err != nil {
				t.Fatal(err)
			}
			if text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`h1`))); !strings.Contains(text, name) {
				t.Fatalf("the new contact's card: %q", text)
			}
			if err := chromedp.Do(ctx,
				chromedp.SetValue(chromedp.CSS(`#purpose`), "e_marketing"),
				chromedp.SetValue(chromedp.CSS(`#kind`), "withdrawn"),
				chromedp.Click(chromedp.CSS(`form.record button`)),
				chromedp.WaitVisible(chromedp.CSS(`.flash`)),
				chromedp.Navigate(base+"/contacts?q=grete"),
				chromedp.WaitVisible(chromedp.CSS(`table.list`)),
			); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`table.list a`)),
				chromedp.WaitVisible(chromedp.CSS(`#purpose`)),
				chromedp.SetValue(chromedp.CSS(`#purpose`), "e_marketing"),
				chromedp.SetValue(chromedp.CSS(`#kind`), "granted"),
				chromedp.SendKeys(chromedp.CSS(`#note`), "signed at the fair"),
				chromedp.Click(chromedp.CSS(`form.record button`)),
				chromedp.WaitVisible(chromedp.CSS(`.flash`)),
			); err != nil {
				t.Fatal(err)
			}
			text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
			if err != nil || !strings.Contains(text, "granted") || !strings.Contains(text, "signed at the fair") {
				t.Fatalf("the card does not show the recorded consent: %q %v", text, err)
			}
			checkAxe(t, ctx, axe, "contact card")
			shoot(t, ctx, "contact"+suffix)
			// Log out for the next width.
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form.logout button`)), chromedp.WaitVisible(chromedp.CSS("#email"))); err != nil {
				t.Fatal(err)
			}
		})
	}
}
