package api_test

import (
	"net/http"
	"testing"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
)

// The API takes a pasted name-addr and stores the address; another
// spelling of a stored mailbox names the same person in a consent event
// and is a duplicate in a create; lists and groups get a field error.
func TestAPIEmailSpellings(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		anna := e.createPerson("Anna", "Berg", `"Berg, Anna" <Anna+CRM@Bücher.de>`)
		if len(anna.Emails) != 1 || anna.Emails[0] != "anna+crm@bücher.de" {
			t.Fatalf("stored %q", anna.Emails)
		}
		ev := e.record(map[string]any{"email": "ANNA@xn--bcher-kva.de", "purpose": "e_marketing", "kind": "granted", "source": "web_form"})
		if ev.PersonID != anna.ID {
			t.Fatalf("consent event by another spelling went to person %d, want %d", ev.PersonID, anna.ID)
		}
		p := problemOf(t, e.do("POST", "/api/v1/persons", map[string]any{"last_name": "Dup", "emails": []string{"anna.news+x@bücher.de", "anna+x@xn--bcher-kva.de"}}), http.StatusConflict, "duplicate-email")
		if len(p.Errors) != 1 || p.Errors[0].Field != "emails[1]" {
			t.Fatalf("duplicate: %+v", p)
		}
		for in, want := range map[string]string{
			"anna@example.com, ben@example.com": "contains more than one e-mail address; give one",
			"Team: anna@example.com;":           "is a group of addresses (name: a, b;); give one e-mail address",
		} {
			p := problemOf(t, e.do("POST", "/api/v1/persons", map[string]any{"last_name": "X", "emails": []string{in}}), http.StatusUnprocessableEntity, "validation")
			if len(p.Errors) != 1 || p.Errors[0] != (ledger.FieldError{Field: "emails[0]", Message: want}) {
				t.Errorf("%q: %+v", in, p.Errors)
			}
		}
	})
}
