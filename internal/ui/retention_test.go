package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// A privacy officer sets the inactivity period, sees who would expire and
// why, sets a manual date on a card, runs a dry run and a sweep; the
// dashboard reports it. Marketing sees the report but cannot act.
func TestRetentionPage(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		// Grete's last interaction was 400 days ago.
		old := store.Micros(time.Now().AddDate(0, 0, -400))
		if err := e.db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(`UPDATE persons SET created_at = ?, updated_at = ? WHERE id = ?`, old, old, e.person.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		po, u := e.user(auth.RolePrivacyOfficer, "en")
		po.login(u.Email, password)
		token := po.csrf("/retention")
		if code, page, _ := po.do("GET", "/retention?preview=1", nil); code != 200 || !strings.Contains(page, "Nobody has expired.") || !strings.Contains(page, "No sweep yet.") {
			t.Fatalf("empty retention page: %d", code)
		}
		if code, page, _ := po.do("POST", "/retention/settings", url.Values{"csrf": {token}, "inactive_days": {"a year"}, "action": {"anonymize"}}); code != http.StatusUnprocessableEntity || !strings.Contains(page, "whole number of days") {
			t.Fatalf("bad days: %d", code)
		}
		if code, page, _ := po.do("POST", "/retention/settings", url.Values{"csrf": {token}, "inactive_days": {"365"}, "action": {"shred"}}); code != http.StatusUnprocessableEntity || !strings.Contains(page, "must be “anonymise” or “delete”") {
			t.Fatalf("bad action: %d", code)
		}
		if code, _, h := po.do("POST", "/retention/settings", url.Values{"csrf": {token}, "inactive_days": {"365"}, "action": {"anonymize"}}); code != http.StatusSeeOther || h.Get("Location") != "/retention?saved=1" {
			t.Fatalf("save settings: %d", code)
		}
		if _, page, _ := po.do("GET", "/retention?saved=1", nil); !strings.Contains(page, "Retention settings saved.") || !strings.Contains(page, "Show who would expire now") {
			t.Fatal("no flash, or no link to the expired list")
		}
		code, page, _ := po.do("GET", "/retention?preview=1", nil)
		if code != 200 || !strings.Contains(page, "Expired: 1 (skipped: 0).") ||
			!strings.Contains(page, "no active purpose: 365 days after last interaction on "+i18n.Date("en", time.Now().AddDate(0, 0, -400))) {
			t.Fatalf("retention page: %d", code)
		}

		// A manual date in the future holds Grete.
		card := "/contacts/" + strconv.FormatInt(e.person.ID, 10)
		hold := time.Now().AddDate(0, 1, 0).Format("2006-01-02")
		if code, page, _ := po.do("POST", card+"/retention", url.Values{"csrf": {token}, "retain_until": {"next year"}}); code != http.StatusUnprocessableEntity || !strings.Contains(page, "YYYY-MM-DD") {
			t.Fatalf("bad date: %d", code)
		}
		if code, _, _ := po.do("POST", card+"/retention", url.Values{"csrf": {token}, "retain_until": {hold}, "reason": {"open invoice"}}); code != http.StatusSeeOther {
			t.Fatalf("set date: %d", code)
		}
		if code, page, _ := po.do("GET", card, nil); code != 200 || !strings.Contains(page, "Kept until "+hold) || !strings.Contains(page, `value="`+hold+`"`) {
			t.Fatalf("card with date: %d", code)
		}
		if _, page, _ := po.do("GET", "/retention?preview=1", nil); !strings.Contains(page, "Nobody has expired.") {
			t.Fatal("the hold did not keep Grete")
		}
		if code, _, _ := po.do("POST", card+"/retention", url.Values{"csrf": {token}, "clear": {"1"}}); code != http.StatusSeeOther {
			t.Fatalf("clear date: %d", code)
		}

		// Marketing can neither see the page nor act.
		mk, mu := e.user(auth.RoleMarketing, "en")
		mk.login(mu.Email, password)
		mtoken := mk.csrf("/dashboard")
		if code, _, _ := mk.do("GET", "/retention", nil); code != http.StatusForbidden {
			t.Fatalf("marketing on the retention page: %d", code)
		}
		if code, _, _ := mk.do("POST", "/retention/run", url.Values{"csrf": {mtoken}}); code != http.StatusForbidden {
			t.Fatalf("marketing ran a sweep: %d", code)
		}
		if code, _, _ := mk.do("POST", card+"/retention", url.Values{"csrf": {mtoken}, "retain_until": {hold}}); code != http.StatusForbidden {
			t.Fatalf("marketing set a date: %d", code)
		}

		// Dry run, then the sweep.
		code, _, h := po.do("POST", "/retention/run", url.Values{"csrf": {token}, "dry_run": {"1"}})
		if code != http.StatusSeeOther {
			t.Fatalf("dry run: %d", code)
		}
		if _, page, _ := po.do("GET", h.Get("Location"), nil); !strings.Contains(page, "Dry run: 1 expired, 0 of them skipped. Nothing was changed.") {
			t.Fatal("no dry-run report")
		}
		if p, _ := e.ledger.Person(ctx, e.person.ID); p.Status != ledger.StatusActive {
			t.Fatalf("the dry run changed Grete: %s", p.Status)
		}
		code, _, h = po.do("POST", "/retention/run", url.Values{"csrf": {token}})
		if code != http.StatusSeeOther {
			t.Fatalf("sweep: %d", code)
		}
		if _, page, _ := po.do("GET", h.Get("Location"), nil); !strings.Contains(page, "Sweep done: 1 expired, 1 anonymized, 0 deleted, 0 skipped.") {
			t.Fatal("no sweep report")
		}
		if p, _ := e.ledger.Person(ctx, e.person.ID); p.Status != ledger.StatusAnonymized {
			t.Fatalf("Grete after the sweep: %s", p.Status)
		}
		// The dashboard reports both sweeps, to marketing too.
		if code, page, _ := mk.do("GET", "/dashboard", nil); code != 200 || !strings.Contains(page, "Retention sweeps") || !strings.Contains(page, "dry run") || strings.Contains(page, `href="/retention"`) {
			t.Fatalf("dashboard: %d", code)
		}
	})
}
