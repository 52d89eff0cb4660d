package selfservice_test

import (
	"context"
	"fmt"
	"mime"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/i18n/i18ntest"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/mail/mailtest"
	"github.com/consento/consento/internal/outreach"
	"github.com/consento/consento/internal/selfservice"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// richPurpose is a purpose on one legal basis, with the state and source
// the test person's consent record gets.
type richPurpose struct {
	key    string
	basis  ledger.LegalBasis
	state  ledger.EventKind // "" records nothing
	source string
}

var richPurposes = []richPurpose{
	{"p_granted", ledger.Consent, ledger.Granted, "web_form"},
	{"p_withdrawn", ledger.Consent, ledger.Withdrawn, "self_service"},
	{"p_refused", ledger.Consent, ledger.Refused, "phone"},
	{"p_pending", ledger.Consent, ledger.Pending, "email"},
	{"p_expired", ledger.Consent, ledger.Granted, "event"}, // valid until yesterday
	{"p_none", ledger.Consent, "", ""},
	{"p_explicit", ledger.ExplicitConsent, ledger.Granted, "business_card"},
	{"p_contract", ledger.Contract, ledger.Granted, "customer_portal"},
	{"p_legal", ledger.LegalObligation, ledger.Granted, "import"},
	{"p_interest", ledger.LegitimateInterests, ledger.Objected, "chat"},
	{"p_public", ledger.PublicTask, ledger.Granted, "api"},
	{"p_vital", ledger.VitalInterests, ledger.Granted, "staff_entry"},
}

// purposeTexts are the names staff give a purpose in each language.
func purposeTexts(key string) map[string]ledger.Text {
	return map[string]ledger.Text{
		"en": {Name: "Purpose " + key, Description: "What " + key + " is for.", ConsentText: "Yes to " + key + "."},
		"de": {Name: "Zweck " + key, Description: "Wofür " + key + " dient.", ConsentText: "Ja zu " + key + "."},
		"da": {Name: "Formål " + key, Description: "Hvad " + key + " bruges til.", ConsentText: "Ja til " + key + "."},
	}
}

// Everything a data subject reads from the public pages and the mails
// Consento sends them is in their language: every page in every state and
// every mail template (through the outbox to an SMTP server), in German
// and Danish, shows no catalogue key, no raw value and no English text of
// the catalogue; legal bases carry their article, dates their local form.
func TestPublicPagesAndMailsSpeakGermanAndDanish(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		limited := newEnv(t, eng, selfservice.Options{PerIP: -1, PerToken: 0.0001})
		ctx := context.Background()
		for _, p := range richPurposes {
			in := ledger.PurposeInput{Key: p.key, DefaultLegalBasis: p.basis, AllowedLegalBases: []ledger.LegalBasis{p.basis}, Texts: purposeTexts(p.key)}
			if p.basis == ledger.LegitimateInterests {
				in.BalancingTest = "customers expect it"
			}
			if _, err := e.ledger.CreatePurpose(ctx, audit.System, in); err != nil {
				t.Fatalf("purpose %s: %v", p.key, err)
			}
		}
		// The newsletter form offers a consent purpose with German and
		// Danish texts, in the visitor's language.
		if err := e.svc.SaveForm(ctx, audit.System, outreachForm()); err != nil {
			t.Fatal(err)
		}

		for _, lang := range []string{"de", "da"} {
			check := func(where, text string) {
				t.Helper()
				i18ntest.Check(t, lang, where+", "+lang, text)
			}
			page := func(where string, want int, method, path string, form url.Values, headers ...string) string {
				t.Helper()
				code, body, _ := e.do(method, path, form, headers...)
				if code != want {
					t.Fatalf("%s (%s): %d, want %d\n%s", where, lang, code, want, body)
				}
				if !strings.Contains(body, `<html lang="`+lang+`">`) {
					t.Errorf("%s (%s): not in the visitor's language", where, lang)
				}
				check(where, i18ntest.VisibleText(body))
				return body
			}
			al := "Accept-Language"

			// The person, from a built-in source, with every state and basis.
			p, err := e.ledger.CreatePerson(ctx, audit.System, ledger.PersonInput{FirstName: "Grete", LastName: "Østergaard",
				Emails: []string{"grete." + lang + "@example.dk"}, Language: lang, Source: "business_card"})
			if err != nil {
				t.Fatal(err)
			}
			long := time.Now().Add(-48 * time.Hour)
			for _, rp := range richPurposes {
				if rp.state == "" {
					continue
				}
				in := ledger.ConsentInput{PersonID: p.ID, Purpose: rp.key, Kind: rp.state, LegalBasis: rp.basis, Source: rp.source, TextVersion: 1, Language: lang}
				if rp.state == ledger.Objected || rp.state == ledger.Withdrawn || rp.state == ledger.Refused {
					in.LegalBasis = ""
				}
				if rp.key == "p_expired" {
					until := long.Add(24 * time.Hour)
					in.OccurredAt, in.ValidUntil = &long, &until
				}
				if _, err := e.ledger.RecordConsent(ctx, audit.System, in); err != nil {
					t.Fatalf("record %s: %v", rp.key, err)
				}
			}
			tok := e.token(p.ID)
			base := "/p/" + tok

			// The preference page, plain and after each answer.
			body := page("preference page", 200, "GET", base, nil)
			for _, st := range i18n.Kinds()["consent_state"] {
				if !strings.Contains(body, i18n.Label(lang, "consent_state", st)) {
					t.Errorf("preference page (%s) lacks the state %q", lang, i18n.Label(lang, "consent_state", st))
				}
			}
			for _, rp := range richPurposes {
				want := i18n.Label(lang, "legal_basis", string(rp.basis)) + " (" + i18n.Label(lang, "legal_basis_article", string(rp.basis)) + ")"
				if !strings.Contains(body, want) {
					t.Errorf("preference page (%s) lacks the basis %q", lang, want)
				}
				if rp.source != "" && !strings.Contains(body, i18n.Label(lang, "source", rp.source)) {
					t.Errorf("preference page (%s) lacks the source %q", lang, i18n.Label(lang, "source", rp.source))
				}
			}
			if d := i18n.Date(lang, long.Add(24*time.Hour)); !strings.Contains(body, d) {
				t.Errorf("preference page (%s) lacks the expiry date %s", lang, d)
			}
			if !strings.Contains(body, i18n.Label(lang, "source", "business_card")) {
				t.Errorf("preference page (%s) does not say where the data came from", lang)
			}
			for _, m := range []string{"granted", "withdrawn", "contact", "review", "erasure", "confirmed"} {
				page("preference page ?m="+m, 200, "GET", base+"?m="+m, nil)
			}
			csrf := csrfRe.FindStringSubmatch(body)[1]
			for _, action := range []string{"grant", "withdraw"} {
				if code, _, _ := e.do("POST", base+"/consent", url.Values{"csrf": {csrf}, "purpose": {"p_none"}, "version": {"1"}, "action": {action}}); code != 303 {
					t.Fatalf("%s on the preference page (%s): %d", action, lang, code)
				}
			}
			page("consent with an unknown action", 422, "POST", base+"/consent", url.Values{"csrf": {csrf}, "purpose": {"p_none"}, "action": {"x"}})
			// Every sort of source, built in or the staff's own.
			for _, src := range i18n.Kinds()["source"] {
				if _, err := e.ledger.RecordConsent(ctx, audit.System, ledger.ConsentInput{PersonID: p.ID, Purpose: "p_contract", Kind: ledger.Granted,
					LegalBasis: ledger.Contract, Source: src}); err != nil {
					t.Fatalf("source %s: %v", src, err)
				}
				body := page("preference page, source "+src, 200, "GET", base, nil)
				if !strings.Contains(body, i18n.Label(lang, "source", src)) {
					t.Errorf("preference page (%s) lacks the source %q", lang, i18n.Label(lang, "source", src))
				}
			}

			// Contact correction with errors, then a correction for review
			// and an erasure request.
			bad := url.Values{"csrf": {csrf}, "first_name": {"Grete\nX"}, "last_name": {strings.Repeat("ø", 201)}, "street": {"a\x01"},
				"postal_code": {strings.Repeat("1", 21)}, "city": {"B\nC"}, "country": {"Danmark"}, "language": {"xx"}, "email": {"not-an-address"}}
			body = page("contact correction with errors", 422, "POST", base+"/contact", bad)
			for _, f := range []string{"first_name", "last_name", "postal_code", "city", "country", "language", "email"} {
				if !strings.Contains(body, i18n.T(lang, "pref."+f)) {
					t.Errorf("contact errors (%s) do not name %s", lang, f)
				}
			}
			if code, _, _ := e.do("POST", base+"/contact", url.Values{"csrf": {csrf}, "first_name": {"Grete"}, "email": {"new." + lang + "@example.dk"}}); code != 303 {
				t.Fatalf("correction for review (%s): %d", lang, code)
			}
			if code, _, _ := e.do("POST", base+"/erasure", url.Values{"csrf": {csrf}}); code != 303 {
				t.Fatalf("erasure request (%s): %d", lang, code)
			}
			body = page("preference page with open requests", 200, "GET", base+"?m=erasure", nil)
			if !strings.Contains(body, i18n.T(lang, "pref.erasure.open")) || !strings.Contains(body, i18n.T(lang, "pref.review_pending")) {
				t.Errorf("preference page (%s) does not show the open requests", lang)
			}
			if code, data, _ := e.do("GET", base+"/data.json", nil); code != 200 || !strings.Contains(data, `"consents"`) {
				t.Errorf("export (%s): %d", lang, code)
			}
			page("forged form token", 403, "POST", base+"/erasure", url.Values{"csrf": {"forged"}})

			// The link request page, its error and its answer.
			lcsrf := e.csrf("/p/?lang=" + lang)
			page("link page", 200, "GET", "/p/", nil, al, lang)
			page("link page with a bad address", 422, "POST", "/p/", url.Values{"csrf": {lcsrf}, "lang": {lang}, "email": {"nope"}})
			page("link requested", 200, "POST", "/p/", url.Values{"csrf": {lcsrf}, "lang": {lang}, "email": {p.Emails[0]}})

			// The web form, its errors, the opt-in and its confirmation.
			page("web form", 200, "GET", "/f/rich?lang="+lang, nil)
			fcsrf := e.csrf("/f/rich?lang=" + lang)
			page("web form with errors", 422, "POST", "/f/rich", url.Values{"csrf": {fcsrf}, "lang": {lang}, "email": {"nope"}, "first_name": {"A\nB"}})
			page("web form sent", 200, "POST", "/f/rich", url.Values{"csrf": {fcsrf}, "lang": {lang}, "email": {"ole." + lang + "@example.dk"},
				"first_name": {"Ole"}, "purpose": {"p_granted", "p_none"}, "terms": {"1"}})

			// Error pages.
			page("invalid link", 404, "GET", "/p/"+strings.Repeat("A", 43), nil, al, lang)
			page("unknown form", 404, "GET", "/f/nothing?lang="+lang, nil)
			page("unknown page", 404, "GET", "/p/a%00b", nil, al, lang)
			for range 25 {
				limited.do("GET", "/u/"+strings.Repeat("B", 43), nil, al, lang)
			}
			code, body, _ := limited.do("GET", "/u/"+strings.Repeat("B", 43), nil, al, lang)
			if code != 429 || !strings.Contains(body, `<html lang="`+lang+`">`) {
				t.Errorf("too many requests (%s): %d", lang, code)
			}
			check("too many requests", i18ntest.VisibleText(body))

			// Unsubscribe, asked and done.
			pu, err := e.ledger.Purpose(ctx, "p_granted")
			if err != nil {
				t.Fatal(err)
			}
			upath := strings.TrimPrefix(e.svc.UnsubscribeURL(p.ID, pu.ID), e.srv.URL)
			page("unsubscribe page", 200, "GET", upath, nil)
			page("unsubscribed", 200, "POST", upath, url.Values{}, "Accept", "text/html")
		}

		// Every mail template, sent to a German and a Danish reader.
		mails := sendEveryMail(t, e)
		welcomes := map[string]int{}
		for _, m := range mails {
			lang := "de"
			if strings.Contains(m.To[0], ".da@") {
				lang = "da"
			}
			subject := decodeSubject(t, m)
			where := fmt.Sprintf("mail %q to %s", subject, m.To[0])
			i18ntest.Check(t, lang, where+", subject", subject)
			i18ntest.Check(t, lang, where+", text", m.Text)
			i18ntest.Check(t, lang, where+", HTML", i18ntest.VisibleText(m.HTML))
			if m.Text == "" || m.HTML == "" {
				t.Errorf("%s: a part is missing", where)
			}
			// A legal basis is named in words, with its article; a date as
			// the language writes it.
			if basis := i18n.T(lang, "report.basis") + ": "; strings.Contains(m.Text, basis) {
				want := basis + i18n.Label(lang, "legal_basis", "consent") + " (" + i18n.Label(lang, "legal_basis_article", "consent") + ")"
				if !strings.Contains(m.Text, want) {
					t.Errorf("%s: no %q in\n%s", where, want, m.Text)
				}
				welcomes[lang]++
			}
			if strings.Contains(m.Text, "2026-11-20") || strings.Contains(subject, "2026-11-20") {
				t.Errorf("%s: shows an ISO date:\n%s", where, m.Text)
			}
		}
		if welcomes["de"] != 1 || welcomes["da"] != 1 {
			t.Errorf("confirmation mails naming the legal basis: %v", welcomes)
		}
	})
}

func outreachForm() outreach.Form {
	return outreach.Form{Key: "rich", Name: "Nyhedsbrev / Newsletter", Language: "en", Active: true, Fields: []string{"first_name", "last_name"},
		Purposes: []string{"p_granted", "p_none"}, TermsText: "Vilkår / Bedingungen", PrivacyURL: "https://example.com/privacy"}
}

func decodeSubject(t *testing.T, m mailtest.Received) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sendEveryMail sends each mail template to the German and the Danish
// test persons (grete.de@, grete.da@, ole.de@, ole.da@) and returns
// every mail that arrived. The opt-in mails of the web form sign-ups are
// confirmed on their pages, which the test checks too.
func sendEveryMail(t *testing.T, e *env) []mailtest.Received {
	t.Helper()
	ctx := context.Background()
	// Opt-in (web form) and preference link (link request) are queued.
	got := e.drain(4)
	n := 4
	for _, m := range got {
		if !strings.Contains(m.Text, "/f/confirm/") {
			continue
		}
		lang := "de"
		if strings.Contains(m.To[0], ".da@") {
			lang = "da"
		}
		confirm := strings.TrimPrefix(link(t, m.Text, "/f/confirm/"), e.srv.URL)
		for _, c := range []struct {
			method string
			want   int
		}{{"GET", 200}, {"POST", 303}, {"POST", 200}} {
			var form url.Values
			if c.method == "POST" {
				form = url.Values{"csrf": {e.csrf(confirm)}, "lang": {lang}}
			}
			code, body, h := e.do(c.method, confirm, form)
			if code != c.want {
				t.Fatalf("confirm %s (%s): %d\n%s", c.method, lang, code, body)
			}
			if code == 303 {
				_, body, _ = e.do("GET", h.Get("Location"), nil)
				if !strings.Contains(body, i18n.T(lang, "pref.confirmed")) {
					t.Errorf("confirmed page (%s) does not say so", lang)
				}
			}
			i18ntest.Check(t, lang, "confirm "+c.method+", "+lang, i18ntest.VisibleText(body))
		}
		n++ // the confirmation mail
	}
	// A consent request to both readers.
	if _, err := e.ledger.CreatePurpose(ctx, audit.System, ledger.PurposeInput{Key: "p_request", DefaultLegalBasis: ledger.Consent, Texts: purposeTexts("p_request")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RequestConsent(ctx, audit.System, "p_request", []string{"grete.de@example.dk", "grete.da@example.dk"}); err != nil {
		t.Fatal(err)
	}
	n += 2
	// The mails of the rights and breach processes, with their data.
	aware := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	err := e.db.Write(ctx, func(tx *store.Tx) error {
		for _, lang := range []string{"de", "da"} {
			to := "grete." + lang + "@example.dk"
			for _, m := range []mail.Message{
				{Template: "access_report", Data: map[string]any{"Name": "Grete", "RequestID": "R-17", "ReceivedOn": "2026-11-20", "Filename": "auskunft.pdf"}},
				{Template: "breach_notice", Data: map[string]any{"Name": "Grete", "Title": "Laptop", "Nature": "Ein Laptop wurde gestohlen.", "Consequences": "Phishing.",
					"Measures": "Passwörter zurückgesetzt.", "DPOContact": "Dana Schutz, dpo@example.com", "Controller": "Beispiel GmbH", "AwareOn": aware,
					"DataCategories": i18n.Label(lang, "data_category", "contact") + ", " + i18n.Label(lang, "data_category", "financial")}},
				{Template: "recipient_notice", Data: map[string]any{"Recipient": "Druckerei Nord", "PersonName": "Grete Østergaard", "PersonEmail": to, "RequestID": "R-17", "Erasure": true}},
				{Template: "recipient_notice", Data: map[string]any{"Recipient": "Druckerei Nord", "PersonName": "Grete Østergaard", "PersonEmail": to, "RequestID": "R-18", "Rectification": true}},
				{Template: "recipient_notice", Data: map[string]any{"PersonName": "Grete Østergaard", "PersonEmail": to, "RequestID": "R-19", "Restriction": true}},
			} {
				m.Language, m.To = lang, to
				if _, err := mail.Enqueue(tx, m); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	all := e.drain(n)
	// Each template reached each reader's language.
	rows, err := e.db.Query(ctx, `SELECT DISTINCT template, language FROM mail_outbox`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	sent := map[string]bool{}
	for rows.Next() {
		var name, lang string
		if err := rows.Scan(&name, &lang); err != nil {
			t.Fatal(err)
		}
		sent[name+"/"+lang] = true
	}
	for _, lang := range []string{"de", "da"} {
		for _, name := range mail.Templates {
			if !sent[name+"/"+lang] {
				t.Errorf("no %s mail in %s was sent", name, lang)
			}
		}
	}
	return all
}
