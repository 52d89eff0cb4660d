package ui_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/i18n/i18ntest"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
	"github.com/consento/consento/internal/webhook"
)

var (
	rawTime     = regexp.MustCompile(`\b\d{4}-\d\d-\d\d \d\d:\d\d\b`)
	auditRecord = regexp.MustCompile(`(?s)<details><summary>[^<]*<code>.*?</pre></details>`)
	rawScope    = regexp.MustCompile(`\b[a-z]+:(read|write|admin|unmask)\b`)
)

// The pages of the daily work speak the staff member's language: every
// consent state, legal basis, source, role, scope, mail and webhook state
// and built-in field shows as a German or Danish word, never as a key, a
// stored value or an English sentence.
func TestCorePagesSpeakGermanAndDanish(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		ctx := context.Background()
		e, svc := newOutreachEnv(t, eng)
		rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
		defer rc.Close()
		hooks := webhook.New(e.db, webhook.Options{AllowPrivate: true})
		e.ui.EnableWebhooks(hooks)

		// A purpose that allows every legal basis, a staff-defined field
		// and the built-in sensitive ones.
		var bases []ledger.LegalBasis
		for _, b := range i18n.Kinds()["legal_basis"] {
			bases = append(bases, ledger.LegalBasis(b))
		}
		if _, err := e.ledger.CreatePurpose(ctx, audit.System, ledger.PurposeInput{Key: "research", DefaultLegalBasis: ledger.Consent, AllowedLegalBases: bases,
			BalancingTest: "Studien", Texts: map[string]ledger.Text{"en": {Name: "Research", Description: "Studies", ConsentText: "Yes"},
				"de": {Name: "Forschung", Description: "Studien", ConsentText: "Ja"}, "da": {Name: "Forskning", Description: "Studier", ConsentText: "Ja"}}}); err != nil {
			de, _ := ledger.AsError(err)
			t.Fatalf("%+v", de.Fields)
		}
		for _, f := range []ledger.CustomField{{Key: "shoe_size", Label: "Skostørrelse", Type: "number"}, {Key: "hobby", Label: "Hobby", Type: "text"},
			{Key: "birthday", Label: "Geburtstag", Type: "date"}, {Key: "vip", Label: "VIP", Type: "bool"}, {Key: "tier", Label: "Stufe", Type: "select", Options: []string{"Gold", "Silber"}}} {
			if _, err := e.ledger.CreateCustomField(ctx, audit.System, f); err != nil {
				de, _ := ledger.AsError(err)
				t.Fatalf("%s: %+v", f.Key, de.Fields)
			}
		}
		person := func(first, email string, custom map[string]any) *ledger.Person {
			p, err := e.ledger.CreatePerson(ctx, audit.System, ledger.PersonInput{FirstName: first, LastName: "Prøve", Emails: []string{email}, Language: "de", Custom: custom})
			if err != nil {
				de, _ := ledger.AsError(err)
				t.Fatalf("%s: %+v", first, de.Fields)
			}
			return p
		}
		rich := person("Rike", "rike@example.de", map[string]any{"national_id": "DE-1234", "bank_account": "DE89 3704 0044 0532 0130 00", "health_data": "Heuschnupfen", "shoe_size": "42", "hobby": "Segeln", "birthday": "1980-02-03", "vip": true, "tier": "Gold"})
		record := func(p *ledger.Person, purpose string, kind ledger.EventKind, basis ledger.LegalBasis, source string, until *time.Time) {
			t.Helper()
			if _, err := e.ledger.RecordConsent(ctx, audit.System, ledger.ConsentInput{PersonID: p.ID, Purpose: purpose, Kind: kind, LegalBasis: basis, Source: source, ValidUntil: until}); err != nil {
				t.Fatalf("%s %s %s %s: %v", purpose, kind, basis, source, err)
			}
		}
		// Every legal basis on the card of one person, in its history.
		for _, b := range bases {
			record(rich, "research", ledger.Granted, b, "phone", nil)
		}
		// Every source.
		for _, src := range []string{"web_form", "business_card", "email", "phone", "chat", "event", "import", "api", "customer_portal", "self_service", "staff_entry"} {
			record(rich, "sales_service", ledger.Granted, ledger.Contract, src, nil)
		}
		// Every consent state, one person each (named like people, so that
		// an English state word on a page is the product's, not the data's).
		var statePersons []*ledger.Person
		names := map[ledger.EventKind]string{ledger.Granted: "Greta", ledger.Refused: "Rolf", ledger.Withdrawn: "Wilma", ledger.Objected: "Otto", ledger.Pending: "Paula"}
		for _, k := range []ledger.EventKind{ledger.Granted, ledger.Refused, ledger.Withdrawn, ledger.Objected, ledger.Pending} {
			p := person(names[k], string(k)+"@example.de", nil)
			statePersons = append(statePersons, p)
			if k == ledger.Withdrawn || k == ledger.Objected {
				record(p, "e_marketing", ledger.Granted, "", "web_form", nil)
			}
			record(p, "e_marketing", k, "", "web_form", nil)
		}
		soon := time.Now().Add(time.Hour)
		exp := person("Emil", "expired@example.de", nil)
		record(exp, "e_marketing", ledger.Granted, "", "web_form", &soon)
		e.ledger.SetClock(func() time.Time { return time.Now().Add(2 * time.Hour) })
		if _, err := e.ledger.ExpireDue(ctx, 100); err != nil {
			t.Fatal(err)
		}
		e.ledger.SetClock(time.Now)

		// Every role, an API token with every scope.
		for _, r := range auth.Roles {
			if _, err := e.auth.CreateUser(ctx, audit.System, "colleague-"+r+"@example.com", "Kollege "+map[string]string{"admin": "Ada", "privacy_officer": "Pia", "staff": "Sven", "marketing": "Mia"}[r], r, password); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := e.auth.CreateTokenAs(ctx, audit.System, auth.RoleAdmin, "crm-sync", auth.Scopes, 0); err != nil {
			t.Fatal(err)
		}

		// Mails in every state.
		mailStates := i18n.Kinds()["mail_state"]
		for _, p := range statePersons {
			if err := svc.RenewLink(ctx, audit.System, p.ID); err != nil {
				t.Fatal(err)
			}
		}
		mails, err := mail.List(ctx, e.db, "", 0, 100)
		if err != nil || len(mails) < len(mailStates) {
			t.Fatalf("%d mails, %v", len(mails), err)
		}
		for i, st := range mailStates {
			if err := e.db.Write(ctx, func(tx *store.Tx) error {
				_, err := tx.Exec(`UPDATE mail_outbox SET status = ? WHERE id = ?`, st, mails[i].ID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}

		// A webhook with a delivery in every state.
		sub, _, err := hooks.Create(ctx, audit.System, webhook.SubscriptionInput{URL: rc.URL + "/hook", Description: "CRM", EventTypes: []string{"consent.granted", "consent.withdrawn"}})
		if err != nil {
			t.Fatal(err)
		}
		for range webhook.Statuses {
			if _, err := hooks.SendTest(ctx, audit.System, sub.ID); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := hooks.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		ds, err := hooks.Deliveries(ctx, webhook.DeliveryFilter{SubscriptionID: sub.ID})
		if err != nil || len(ds) < len(webhook.Statuses) {
			t.Fatalf("%d deliveries, %v", len(ds), err)
		}
		for i, st := range webhook.Statuses {
			if err := e.db.Write(ctx, func(tx *store.Tx) error {
				_, err := tx.Exec(`UPDATE webhook_deliveries SET status = ? WHERE id = ?`, st, ds[i].ID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}

		keys := []string{"sales_service", "e_marketing", "shoe_size", "hobby", "birthday", "vip", "tier", "web_form", "business_card", "customer_portal", "self_service", "staff_entry", "national_id", "bank_account", "health_data"}
		card := "/contacts/" + itoa(rich.ID)
		pages := []string{
			"/dashboard", "/contacts", "/contacts?light=red", "/contacts/new", card, card + "?legal=open", "/contacts/" + itoa(exp.ID),
			"/lists/check", "/audit", "/settings/users", "/settings/tokens",
			"/settings/purposes", "/settings/purposes/research", "/settings/purposes/e_marketing", "/settings/sources", "/settings/fields",
			"/settings/forms", "/settings/mail-templates", "/outbox", "/outbox/" + itoa(mails[0].ID), "/consent-requests",
			"/settings/webhooks", "/settings/webhooks/" + itoa(sub.ID), "/settings/webhook-deliveries/" + itoa(ds[0].ID),
		}
		for _, lang := range []string{"de", "da"} {
			b, u := e.user(auth.RoleAdmin, lang)
			if code := b.login(u.Email, password); code != http.StatusSeeOther {
				t.Fatalf("login: %d", code)
			}
			_, tpl, _ := b.do("GET", "/settings/mail-templates", nil)
			if m := regexp.MustCompile(`href="(/settings/mail-templates/[^"]+)"`).FindStringSubmatch(tpl); m != nil {
				pages = append(pages, m[1])
			}
			for _, path := range pages {
				code, body, _ := b.do("GET", path, nil)
				if code != http.StatusOK {
					t.Errorf("%s, %s: %d", path, lang, code)
					continue
				}
				// The keys of purposes, sources and fields are data, shown on
				// purpose in the settings tables' "Key" column.
				var allowed []string
				if strings.HasPrefix(path, "/settings/purposes") || strings.HasPrefix(path, "/settings/sources") || strings.HasPrefix(path, "/settings/fields") {
					allowed = keys
				}
				if strings.HasPrefix(path, "/settings/webhook-deliveries/") {
					// The payload is shown byte for byte as it was sent.
					allowed = []string{"webhook.test"}
				}
				if path == "/audit" {
					// The before and after of each event are the record as
					// it was stored, shown as JSON on request.
					body = auditRecord.ReplaceAllString(body, "")
				}
				text := i18ntest.VisibleText(body)
				i18ntest.Check(t, lang, path+", "+lang, text, allowed...)
				// Times are shown in the reader's form with the zone, never
				// as a bare "2026-03-01 14:05" in UTC.
				if m := rawTime.FindString(text); m != "" || strings.Contains(text, "UTC") {
					t.Errorf("%s, %s: a raw or UTC time %q", path, lang, m)
				}
				// Scopes are words, never "persons:read".
				if m := rawScope.FindString(text); m != "" {
					t.Errorf("%s, %s: raw scope %q", path, lang, m)
				}
			}
			// The token page names every scope in the reader's words.
			_, body, _ := b.do("GET", "/settings/tokens", nil)
			text := i18ntest.VisibleText(body)
			for _, sc := range auth.Scopes {
				want := i18n.Label(lang, "scope", sc)
				if want == i18n.Label("en", "scope", sc) || !strings.Contains(text, want) {
					t.Errorf("token page, %s: scope %s is not shown as %q", lang, sc, want)
				}
			}
			// The card names the built-in sensitive fields in the reader's
			// words (a staff-made field keeps its name), counts the
			// purposes with the right plural, and shows times with the zone.
			_, body, _ = b.do("GET", card, nil)
			text = i18ntest.VisibleText(body)
			for _, f := range []string{"national_id", "bank_account", "health_data"} {
				if want := i18n.Label(lang, "sensitive_field", f); !strings.Contains(text, want) {
					t.Errorf("card, %s: sensitive field %s is not shown as %q", lang, f, want)
				}
			}
			if strings.Contains(text, "National ID") || strings.Contains(text, "Health data") {
				t.Errorf("card, %s: an English field name", lang)
			}
			if want := map[string]string{"de": "von 3 Zwecken eingewilligt", "da": "af 3 formål"}[lang]; !strings.Contains(text, want) {
				t.Errorf("card, %s: the legal basis field lacks %q", lang, want)
			}
			if want := map[string]string{"de": " MEZ", "da": " CET"}[lang]; !strings.Contains(text, want) && !strings.Contains(text, want+"S") && !strings.Contains(text, " CEST") {
				t.Errorf("card, %s: no time shows its zone", lang)
			}
			_, body, _ = b.do("GET", "/settings/fields", nil)
			if want := i18n.Label(lang, "sensitive_field", "national_id"); !strings.Contains(i18ntest.VisibleText(body), want) {
				t.Errorf("fields page, %s: national_id is not shown as %q", lang, want)
			}
			// The list check's result.
			token := b.csrf("/lists/check")
			code, body := b.upload("/lists/check", map[string]string{"csrf": token, "purpose": "e_marketing"},
				[]byte("email\ngranted@example.de\nrefused@example.de\nwithdrawn@example.de\nobjected@example.de\npending@example.de\nexpired@example.de\nnobody@example.de\nnot an address\n"))
			if code != http.StatusOK {
				t.Fatalf("list check: %d", code)
			}
			i18ntest.Check(t, lang, "list check result, "+lang, i18ntest.VisibleText(body), "e_marketing")
			// Signed out: the login page in the browser's language.
			code, body, _ = e.browser().do("GET", "/login", nil, "Accept-Language", lang)
			if code != http.StatusOK {
				t.Fatalf("login page: %d", code)
			}
			i18ntest.Check(t, lang, "login, "+lang, i18ntest.VisibleText(body))
		}
	})
}
