// Package browsertest drives headless Chromium for the tests of Consento's
// pages: the browser (Debian's package), axe-core's accessibility check
// and screenshots. scripts/test installs Chromium and axe-core; without
// them the browser tests skip, except with CI=true, where they fail.
package browsertest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chrome starts headless Chromium for t, closed when t ends.
func Chrome(t *testing.T) context.Context {
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
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

// Axe is axe-core's script (npm axe-core, named by CONSENTO_AXE_JS).
func Axe(t *testing.T) string {
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

// CheckAxe runs axe-core on the current page: no serious or critical
// accessibility violation is allowed.
func CheckAxe(t *testing.T, ctx context.Context, axe, page string) {
	t.Helper()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](axe+`;axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on %s: %v", page, err)
	}
	var vs []struct {
		ID, Impact, Help string
		Nodes            []struct{ Target []any }
	}
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("axe result on %s: %v", page, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: %s accessibility violation %s (%s) at %v", page, v.Impact, v.ID, v.Help, v.Nodes)
		}
	}
}

// Shoot saves a screenshot of the whole page as <name>.png when
// CONSENTO_SCREENSHOTS names a directory (docs/screenshots is made so).
func Shoot(t *testing.T, ctx context.Context, name string) {
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
