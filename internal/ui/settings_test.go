package ui_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/storetest"
)

func settingsPurposeValues(csrf, key string) url.Values {
	return url.Values{
		"csrf": {csrf}, "key": {key}, "allowed": {"consent"}, "default_basis": {"consent"}, "consent_required": {"1"},
		"retention_days": {"365"},
		"en.name":        {"Webinars"}, "en.description": {"Invitations to our webinars."}, "en.consent_text": {"Yes, invite me to webinars."},
		"de.name": {"Webinare"}, "de.description": {"Einladungen zu unseren Webinaren."}, "de.consent_text": {"Ja, laden Sie mich zu Webinaren ein."},
		"da.name": {"Webinarer"}, "da.description": {"Invitationer til vores webinarer."}, "da.consent_text": {"Ja, invitér mig til webinarer."},
	}
}

func TestSettingsPurposes(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		b, u := e.user(auth.RolePrivacyOfficer, "de")
		b.login(u.Email, password)

		code, page, _ := b.do("GET", "/settings/purposes", nil)
		if code != 200 || !strings.Contains(page, "Datenschutzeinstellungen") || !strings.Contains(page, `href="/settings/purposes"`) ||
			!strings.Contains(page, "e_marketing") || !strings.Contains(page, "Art. 6(1)(f)") {
			t.Fatalf("purposes page: %d\n%s", code, page)
		}
		token := csrfRe.FindStringSubmatch(page)[1]

		// Add a purpose with its texts in three languages.
		code, _, h := b.do("POST", "/settings/purposes", settingsPurposeValues(token, "webinars"))
		if code != http.StatusSeeOther || h.Get("Location") != "/settings/purposes?saved=created" {
			t.Fatalf("create purpose: %d %s", code, h.Get("Location"))
		}
		pu, err := e.ledger.Purpose(ctx, "webinars")
		if err != nil {
			t.Fatal(err)
		}
		if pu.Texts["de"].Name != "Webinare" || pu.Texts["da"].Name != "Webinarer" || pu.Texts["en"].ConsentText != "Yes, invite me to webinars." ||
			!pu.ConsentRequired || pu.RetentionDays != 365 || pu.CurrentVersion != 1 {
			t.Fatalf("stored purpose: %+v", pu)
		}
		_, page, _ = b.do("GET", "/settings/purposes?saved=created", nil)
		if !strings.Contains(page, "Hinzugefügt.") || !strings.Contains(page, "Webinare") {
			t.Fatal("flash or new purpose missing from the list")
		}

		// Edit the German text: a new version, shown in the versions list.
		code, page, _ = b.do("GET", "/settings/purposes/webinars", nil)
		if code != 200 || !strings.Contains(page, "neue Textversion") || !strings.Contains(page, `id="version-1"`) {
			t.Fatalf("edit page: %d\n%s", code, page)
		}
		f := settingsPurposeValues(token, "")
		f.Del("key")
		f.Del("consent_required")
		f.Set("de.consent_text", "Ja, bitte laden Sie mich zu Webinaren ein.")
		f.Set("reason", "clearer wording")
		code, _, h = b.do("POST", "/settings/purposes/webinars", f)
		if code != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "saved=version") {
			t.Fatalf("update purpose: %d %s", code, h.Get("Location"))
		}
		code, page, _ = b.do("GET", h.Get("Location"), nil)
		if code != 200 || !strings.Contains(page, `id="version-2"`) || !strings.Contains(page, `id="version-1"`) || !strings.Contains(page, "Version 2") {
			t.Fatalf("versions after edit: %d\n%s", code, page)
		}
		if pu, _ = e.ledger.Purpose(ctx, "webinars"); pu.CurrentVersion != 2 || pu.Texts["de"].ConsentText != "Ja, bitte laden Sie mich zu Webinaren ein." {
			t.Fatalf("after edit: %+v", pu)
		}
		// Saving unchanged texts makes no new version.
		if code, _, h = b.do("POST", "/settings/purposes/webinars", f); code != http.StatusSeeOther || h.Get("Location") != "/settings/purposes/webinars?saved=1" {
			t.Fatalf("unchanged save: %d %s", code, h.Get("Location"))
		}

		// Archive, then unarchive.
		if code, _, _ = b.do("POST", "/settings/purposes/webinars/archive", url.Values{"csrf": {token}, "archived": {"1"}}); code != http.StatusSeeOther {
			t.Fatalf("archive: %d", code)
		}
		if pu, _ = e.ledger.Purpose(ctx, "webinars"); !pu.Archived {
			t.Fatal("not archived")
		}
		if _, page, _ = b.do("GET", "/settings/purposes/webinars?saved=archived", nil); !strings.Contains(page, "Wiederherstellen") {
			t.Fatal("no unarchive button on an archived purpose")
		}
		b.do("POST", "/settings/purposes/webinars/archive", url.Values{"csrf": {token}, "archived": {"0"}})
		if pu, _ = e.ledger.Purpose(ctx, "webinars"); pu.Archived {
			t.Fatal("not unarchived")
		}

		// Legitimate interests without a balancing test: the field error, input kept.
		f = settingsPurposeValues(token, "analytics")
		f.Del("consent_required")
		f.Set("allowed", "legitimate_interests")
		f.Set("default_basis", "legitimate_interests")
		f.Set("en.name", "Analytics & <stats>")
		code, page, _ = b.do("POST", "/settings/purposes", f)
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "<code>balancing_test</code>") ||
			!strings.Contains(page, html.EscapeString("legitimate interests need the balancing test recorded (Art. 6(1)(f))")) ||
			!strings.Contains(page, `value="analytics"`) || !strings.Contains(page, html.EscapeString("Analytics & <stats>")) {
			t.Fatalf("missing balancing test: %d\n%s", code, page)
		}
		if _, err := e.ledger.Purpose(ctx, "analytics"); err == nil {
			t.Fatal("purpose stored despite the error")
		}
		// The same on the edit page.
		f = settingsPurposeValues(token, "")
		f.Set("allowed", "consent")
		f.Add("allowed", "legitimate_interests")
		code, page, _ = b.do("POST", "/settings/purposes/e_marketing", f)
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "<code>balancing_test</code>") {
			t.Fatalf("edit without balancing test: %d\n%s", code, page)
		}
		if code, _, _ = b.do("GET", "/settings/purposes/nope", nil); code != http.StatusNotFound {
			t.Fatalf("unknown purpose: %d", code)
		}
	})
}

func TestSettingsSourcesAndFields(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		b, u := e.user(auth.RoleAdmin, "da")
		b.login(u.Email, password)
		token := b.csrf("/settings/sources")

		code, _, h := b.do("POST", "/settings/sources", url.Values{"csrf": {token}, "key": {"linkedin"}, "name": {"LinkedIn"}})
		if code != http.StatusSeeOther || h.Get("Location") != "/settings/sources?saved=created" {
			t.Fatalf("create source: %d", code)
		}
		code, page, _ := b.do("GET", "/settings/sources?saved=created", nil)
		if code != 200 || !strings.Contains(page, "Kilder") || !strings.Contains(page, "Tilføjet.") || !strings.Contains(page, `id="source-linkedin"`) {
			t.Fatalf("sources page: %d\n%s", code, page)
		}
		if code, page, _ = b.do("POST", "/settings/sources", url.Values{"csrf": {token}, "key": {"linkedin"}, "name": {"Again"}}); code != http.StatusUnprocessableEntity || !strings.Contains(page, "<code>key</code>") {
			t.Fatalf("duplicate source: %d", code)
		}
		b.do("POST", "/settings/sources/linkedin", url.Values{"csrf": {token}, "name": {"LinkedIn Ads"}})
		if code, _, _ = b.do("POST", "/settings/sources/linkedin", url.Values{"csrf": {token}, "active": {"0"}}); code != http.StatusSeeOther {
			t.Fatalf("deactivate: %d", code)
		}
		srcs, _ := e.ledger.Sources(ctx)
		found := false
		for _, s := range srcs {
			if s.Key == "linkedin" {
				found = true
				if s.Active || s.Name != "LinkedIn Ads" {
					t.Fatalf("source: %+v", s)
				}
			}
		}
		if !found {
			t.Fatal("source not stored")
		}
		if _, page, _ = b.do("GET", "/settings/sources", nil); !strings.Contains(page, "Genaktivér") {
			t.Fatal("no reactivate button")
		}

		code, _, _ = b.do("POST", "/settings/fields", url.Values{"csrf": {token}, "key": {"industry"}, "label": {"Branche"}, "type": {"select"},
			"options": {"Retail\r\nFinance\n\n Health "}, "sensitive": {"1"}})
		if code != http.StatusSeeOther {
			t.Fatalf("create field: %d", code)
		}
		fs, _ := e.ledger.CustomFields(ctx)
		fs = fs[len(fs)-1:] // after the built-in sensitive fields
		if len(fs) != 1 || fs[0].Key != "industry" || strings.Join(fs[0].Options, "|") != "Retail|Finance|Health" || !fs[0].Sensitive {
			t.Fatalf("fields: %+v", fs)
		}
		code, page, _ = b.do("GET", "/settings/fields", nil)
		if code != 200 || !strings.Contains(page, "Brugerdefinerede felter") || !strings.Contains(page, `id="field-industry"`) {
			t.Fatalf("fields page: %d", code)
		}
		if code, page, _ = b.do("POST", "/settings/fields", url.Values{"csrf": {token}, "key": {"size"}, "label": {"Size"}, "type": {"select"}}); code != http.StatusUnprocessableEntity || !strings.Contains(page, "<code>options</code>") {
			t.Fatalf("select without options: %d", code)
		}
	})
}

func TestSettingsRolesAndCSRF(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		for _, role := range []string{auth.RoleStaff, auth.RoleMarketing} {
			b, u := e.user(role, "")
			b.login(u.Email, password)
			token := b.csrf("/contacts")
			_, page, _ := b.do("GET", "/contacts", nil)
			if strings.Contains(page, `href="/settings/purposes"`) {
				t.Fatalf("%s sees the settings link", role)
			}
			for _, path := range []string{"/settings/purposes", "/settings/purposes/e_marketing", "/settings/sources", "/settings/fields"} {
				if code, _, _ := b.do("GET", path, nil); code != http.StatusForbidden {
					t.Fatalf("%s GET %s: %d", role, path, code)
				}
			}
			posts := map[string]url.Values{
				"/settings/purposes":                     settingsPurposeValues(token, "sneaky"),
				"/settings/purposes/e_marketing":         {"csrf": {token}, "retention_days": {"1"}},
				"/settings/purposes/e_marketing/archive": {"csrf": {token}, "archived": {"1"}},
				"/settings/sources":                      {"csrf": {token}, "key": {"sneaky"}, "name": {"Sneaky"}},
				"/settings/sources/phone":                {"csrf": {token}, "active": {"0"}},
				"/settings/fields":                       {"csrf": {token}, "key": {"sneaky"}, "label": {"Sneaky"}, "type": {"text"}},
			}
			for path, form := range posts {
				if code, _, _ := b.do("POST", path, form); code != http.StatusForbidden {
					t.Fatalf("%s POST %s: %d", role, path, code)
				}
			}
		}
		if pu, _ := e.ledger.Purpose(ctx, "e_marketing"); pu.Archived || pu.RetentionDays == 1 {
			t.Fatal("a forbidden change was applied")
		}

		b, u := e.user(auth.RolePrivacyOfficer, "")
		b.login(u.Email, password)
		if _, page, _ := b.do("GET", "/contacts", nil); !strings.Contains(page, `href="/settings/purposes"`) {
			t.Fatal("no settings link for the privacy officer")
		}
		for path, form := range map[string]url.Values{
			"/settings/purposes":                     settingsPurposeValues("", "nocsrf"),
			"/settings/purposes/e_marketing/archive": {"archived": {"1"}},
			"/settings/sources":                      {"key": {"nocsrf"}, "name": {"No CSRF"}},
			"/settings/fields":                       {"csrf": {"wrong"}, "key": {"nocsrf"}, "label": {"No CSRF"}, "type": {"text"}},
		} {
			if code, _, _ := b.do("POST", path, form); code != http.StatusForbidden {
				t.Fatalf("POST %s without CSRF: %d", path, code)
			}
		}
		if _, err := e.ledger.Purpose(ctx, "nocsrf"); err == nil {
			t.Fatal("purpose created without CSRF")
		}
	})
}
