package selfservice_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/consento/consento/internal/storetest"
)

// The public forms refuse control characters, line breaks in names and
// over-long values with 422 and a visible message, on both engines, and
// store nothing; a country is an ISO 3166-1 code.
func TestPublicFormsRefuseBadTexts(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		csrf := e.csrf("/f/newsletter")
		for _, name := range []string{"Ole\x00", "Ole\r\nBcc: x@example.com", "Ole\x1b[2J", strings.Repeat("o", 201)} {
			form := url.Values{"csrf": {csrf}, "email": {"ole@example.dk"}, "first_name": {name}, "purpose": {"e_marketing"}, "terms": {"1"}}
			code, body, _ := e.do("POST", "/f/newsletter", form)
			// A NUL byte is refused before any page sees the form, with the
			// general answer; the other texts by the form, naming the field.
			want := "The name is too long or contains characters that are not allowed"
			if strings.Contains(name, "\x00") {
				want = "Please check your input."
			}
			if code != 422 || !strings.Contains(body, want) {
				t.Errorf("web form with first name %q: %d", name, code)
			}
		}
		if _, err := e.ledger.PersonByEmail(ctx, "ole@example.dk"); err == nil {
			t.Error("a refused web form stored the person")
		}

		pid := e.person("grete@example.dk", "en")
		tok := e.token(pid)
		pcsrf := e.csrf("/p/" + tok)
		for _, c := range []struct{ field, value, label string }{
			{"first_name", "Grethe\x00", "First name"},
			{"last_name", "Ø\nX", "Last name"},
			{"city", strings.Repeat("a", 201), "City"},
			{"postal_code", strings.Repeat("1", 21), "Postal code"},
			{"country", "Denmark", "Country"},
		} {
			form := url.Values{"csrf": {pcsrf}, "first_name": {"Grethe"}, "last_name": {"Østergaard"}}
			form.Set(c.field, c.value)
			code, body, _ := e.do("POST", "/p/"+tok+"/contact", form)
			if code != 422 || !strings.Contains(body, "Please check your input.") || (!strings.Contains(c.value, "\x00") && !strings.Contains(body, c.label)) {
				t.Errorf("rectification with %s %q: %d", c.field, c.value, code)
			}
		}
		if p, _ := e.ledger.Person(ctx, pid); p.FirstName == "Grethe" {
			t.Error("a refused rectification was applied")
		}
		form := url.Values{"csrf": {pcsrf}, "first_name": {"Grethe"}, "country": {"dk"}}
		if code, _, _ := e.do("POST", "/p/"+tok+"/contact", form); code != 303 {
			t.Fatalf("rectification with country dk: %d", code)
		}
		if p, _ := e.ledger.Person(ctx, pid); p.Address.Country != "DK" {
			t.Errorf("country stored as %q, want DK", p.Address.Country)
		}
	})
}
