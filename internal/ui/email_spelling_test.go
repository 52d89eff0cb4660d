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

// The new-contact form takes an address pasted with a display name and
// stores the address; another spelling of it is shown as a duplicate, and
// a list in the one field gets a visible message.
func TestNewContactEmailSpellings(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		b, u := e.user(auth.RoleStaff, "")
		b.login(u.Email, password)
		token := b.csrf("/contacts/new")
		post := func(email string) (int, string) {
			code, page, _ := b.do("POST", "/contacts", url.Values{"csrf": {token}, "last_name": {"Berg"}, "email": {email}, "source": {"phone"}, "language": {"de"}})
			return code, html.UnescapeString(page)
		}
		if code, _ := post(`"Berg, Anna" <Anna@Bücher.de>`); code != http.StatusSeeOther {
			t.Fatalf("a pasted name-addr: %d", code)
		}
		p, err := e.ledger.PersonByEmail(context.Background(), "anna@xn--bcher-kva.de")
		if err != nil || len(p.Emails) != 1 || p.Emails[0] != "anna@bücher.de" {
			t.Fatalf("stored %+v, %v", p, err)
		}
		code, page := post("ANNA+news@xn--bcher-kva.de")
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "another person has this e-mail address already") || !strings.Contains(page, "anna@bücher.de, the same mailbox") {
			t.Fatalf("another spelling: %d\n%s", code, page)
		}
		code, page = post("anna@example.com, ben@example.com")
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "contains more than one e-mail address") {
			t.Fatalf("two addresses in one field: %d", code)
		}
	})
}
