package ui_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
)

// TestReadmeScreenshots takes the README's German and Danish pictures of the
// contact card and its Legal basis dialog for a realistic contact, when
// CONSENTO_SCREENSHOTS names a directory (docs/screenshots):
//
//	CONSENTO_SCREENSHOTS=$PWD/docs/screenshots go test ./internal/ui/ -run TestReadmeScreenshots
func TestReadmeScreenshots(t *testing.T) {
	if testing.Short() {
		t.Skip("browser")
	}
	ctx := chrome(t)
	e, _ := newOutreachEnv(t, storetest.SQLite)
	anna := demoContact(t, e)
	for _, lang := range []string{"de", "da"} {
		_, u := e.user(auth.RolePrivacyOfficer, lang)
		card := e.srv.URL + "/contacts/" + itoa(anna.ID)
		if err := chromedp.Do(ctx,
			chromedp.EmulateViewport(1280, 900),
			chromedp.Navigate(e.srv.URL+"/login"),
			chromedp.WaitVisible(chromedp.CSS("#email")),
			chromedp.SendKeys(chromedp.CSS("#email"), u.Email),
			chromedp.SendKeys(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`form.logout button`)), // signed in: the login page has no logout
			chromedp.Navigate(card),
			chromedp.WaitVisible(chromedp.CSS(`#legal-open`)),
		); err != nil {
			t.Fatal(err)
		}
		shoot(t, ctx, "card-"+lang)
		if err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(`#legal-open`)),
			chromedp.WaitVisible(chromedp.CSS(`dialog#legal-basis #purpose`)),
		); err != nil {
			t.Fatal(err)
		}
		shoot(t, ctx, "legal-basis-"+lang)
		if err := chromedp.Do(ctx,
			chromedp.Navigate(card),
			chromedp.WaitVisible(chromedp.CSS(`form.logout button`)),
			chromedp.Click(chromedp.CSS(`form.logout button`)),
			chromedp.WaitVisible(chromedp.CSS("#email")),
		); err != nil {
			t.Fatal(err)
		}
	}
}

// demoContact is Anna Berg with several consents from several sources, each
// with its evidence.
func demoContact(t *testing.T, e *env) *ledger.Person {
	t.Helper()
	ctx := context.Background()
	for _, p := range []ledger.PurposeInput{
		{Key: "newsletter", DefaultLegalBasis: ledger.Consent, Texts: map[string]ledger.Text{
			"en": {Name: "Newsletter", Description: "Monthly news by e-mail", ConsentText: "Yes, send me the newsletter."},
			"de": {Name: "Newsletter", Description: "Monatliche Neuigkeiten per E-Mail", ConsentText: "Ja, schicken Sie mir den Newsletter."},
			"da": {Name: "Nyhedsbrev", Description: "Månedlige nyheder pr. e-mail", ConsentText: "Ja, send mig nyhedsbrevet."}}},
		{Key: "phone_marketing", DefaultLegalBasis: ledger.Consent, Texts: map[string]ledger.Text{
			"en": {Name: "Phone offers", Description: "Offers by phone", ConsentText: "Yes, you may call me with offers."},
			"de": {Name: "Telefonische Angebote", Description: "Angebote per Telefon", ConsentText: "Ja, Sie dürfen mich mit Angeboten anrufen."},
			"da": {Name: "Tilbud pr. telefon", Description: "Tilbud pr. telefon", ConsentText: "Ja, I må ringe til mig med tilbud."}}},
	} {
		if _, err := e.ledger.CreatePurpose(ctx, audit.System, p); err != nil {
			de, _ := ledger.AsError(err)
			t.Fatalf("%s: %v %+v", p.Key, err, de)
		}
	}
	anna, err := e.ledger.CreatePerson(ctx, audit.System, ledger.PersonInput{FirstName: "Anna", LastName: "Berg", Emails: []string{"anna.berg@example.de"},
		Language: "de", Custom: map[string]any{"national_id": "L01X00T47", "bank_account": "DE89 3704 0044 0532 0130 00"}})
	if err != nil {
		de, _ := ledger.AsError(err)
		t.Fatalf("%v %+v", err, de)
	}
	ago := func(days int) *time.Time { at := time.Now().Add(-time.Duration(days) * 24 * time.Hour); return &at }
	for _, c := range []ledger.ConsentInput{
		{Purpose: "newsletter", Kind: ledger.Granted, Source: "web_form", OccurredAt: ago(120), Evidence: ledger.Evidence{FormURL: "https://www.example.de/newsletter", IP: "203.0.113.7", Note: "Double opt-in bestätigt"}},
		{Purpose: "phone_marketing", Kind: ledger.Granted, Source: "event", OccurredAt: ago(60), Evidence: ledger.Evidence{Note: "Messe Hannover, unterschriebenes Formular"}},
		{Purpose: "e_marketing", Kind: ledger.Granted, Source: "business_card", OccurredAt: ago(45), Evidence: ledger.Evidence{Note: "Visitenkarte am Stand"}},
		{Purpose: "e_marketing", Kind: ledger.Withdrawn, Source: "email", OccurredAt: ago(10), Evidence: ledger.Evidence{Note: "Abmeldung per E-Mail an den Vertrieb"}},
		{Purpose: "sales_service", Kind: ledger.Granted, LegalBasis: ledger.Contract, Source: "phone", OccurredAt: ago(30), Evidence: ledger.Evidence{Note: "Bestellung Nr. 4711"}},
	} {
		c.PersonID = anna.ID
		if _, err := e.ledger.RecordConsent(ctx, audit.System, c); err != nil {
			t.Fatalf("%s %s: %v", c.Purpose, c.Kind, err)
		}
	}
	return anna
}
