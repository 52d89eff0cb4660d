package selfservice_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/storetest"
)

// The public pages take any spelling of a stored mailbox for the stored
// person, mail only the address stored for them, and create no one under
// an erased person's mailbox.
func TestPublicPagesMatchEverySpelling(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		anna := e.person("anna@bücher.de", "en")
		persons := func() int {
			var n int
			if err := e.db.QueryRow(ctx, `SELECT COUNT(*) FROM persons`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		// A web form under another spelling matches Anna; the opt-in mail
		// goes to her stored address (in punycode on the wire).
		csrf := e.csrf("/f/newsletter")
		form := url.Values{"csrf": {csrf}, "email": {`"Berg, Anna" <ANNA+news@xn--bcher-kva.de>`}, "purpose": {"e_marketing"}, "terms": {"1"}}
		if code, body, _ := e.do("POST", "/f/newsletter", form); code != 200 {
			t.Fatalf("submit: %d\n%s", code, body)
		}
		e.work()
		if n := persons(); n != 1 {
			t.Fatalf("%d persons after a form under another spelling of Anna's mailbox, want 1", n)
		}
		if st := e.state(anna, "e_marketing"); st.State != ledger.Pending {
			t.Fatalf("Anna's consent after the form: %s", st.State)
		}
		msgs := e.drain(1)
		if len(msgs[0].To) != 1 || msgs[0].To[0] != "anna@xn--bcher-kva.de" {
			t.Fatalf("opt-in mail to %v, want Anna's stored address", msgs[0].To)
		}
		// The link request: the link goes to the stored address, never to
		// the spelling typed.
		if code, _, _ := e.do("POST", "/p/", url.Values{"csrf": {e.csrf("/p/")}, "email": {"Anna+Evil@Bücher.DE"}}); code != 200 {
			t.Fatalf("link request: %d", code)
		}
		msgs = e.drain(2)
		if len(msgs[1].To) != 1 || msgs[1].To[0] != "anna@xn--bcher-kva.de" {
			t.Fatalf("preference link to %v, want Anna's stored address", msgs[1].To)
		}

		// Erased, Anna's mailbox is refused in any spelling, with the same
		// answer as for anyone: no person, no mail.
		r := rights.New(e.ledger)
		req, err := r.CreateRequest(ctx, audit.System, rights.RequestInput{PersonID: &anna, Type: rights.TypeErasure, Details: "by letter"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.VerifyIdentity(ctx, audit.System, req.ID, "ID checked"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Erase(ctx, audit.System, req.ID, rights.LevelAnonymize, "request by letter"); err != nil {
			t.Fatal(err)
		}
		before := persons()
		form = url.Values{"csrf": {e.csrf("/f/newsletter")}, "email": {"Anna <anna+back@xn--bcher-kva.de>"}, "purpose": {"e_marketing"}, "terms": {"1"}}
		code, blocked, _ := e.do("POST", "/f/newsletter", form)
		form.Set("email", "someone.new@example.com")
		_, fresh, _ := e.do("POST", "/f/newsletter", form)
		e.work()
		if code != 200 || blocked != fresh {
			t.Fatalf("an erased mailbox answers %d, differently from a new address:\n%s", code, blocked)
		}
		if n := persons(); n != before+1 {
			t.Fatalf("%d persons, want %d: only the new address is stored", n, before+1)
		}
		if _, err := e.ledger.PersonByEmail(ctx, "anna+back@bücher.de"); err == nil {
			t.Fatal("the erased mailbox came back through the web form")
		}
	})
}
