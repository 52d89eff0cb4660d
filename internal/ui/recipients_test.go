package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/storetest"
)

// A privacy officer keeps the register of recipients, then notifies them
// from an erasure case; marketing cannot, and a second notice is refused.
func TestRecipientsPageAndNoticeFromTheCase(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		var marketing int64
		ps, err := e.ledger.Purposes(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if p.Key == "e_marketing" {
				marketing = p.ID
			}
		}
		po, u := e.user(auth.RolePrivacyOfficer, "en")
		po.login(u.Email, password)
		token := po.csrf("/settings/recipients")

		// A third-country recipient needs its country: refused, form kept.
		code, page, _ := po.do("POST", "/settings/recipients", url.Values{"csrf": {token}, "name": {"Cloud Analytics Inc"}, "kind": {"third_country"},
			"email": {"privacy@cloud.example"}, "language": {"en"}, "purpose": {strconv.FormatInt(marketing, 10)}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "name the third country") || !strings.Contains(page, `value="Cloud Analytics Inc"`) {
			t.Fatalf("refused recipient: %d", code)
		}
		code, _, h := po.do("POST", "/settings/recipients", url.Values{"csrf": {token}, "name": {"Cloud Analytics Inc"}, "kind": {"third_country"},
			"email": {"privacy@cloud.example"}, "country": {"us"}, "language": {"en"}, "purpose": {strconv.FormatInt(marketing, 10)}})
		if code != http.StatusSeeOther {
			t.Fatalf("add recipient: %d", code)
		}
		code, page, _ = po.do("GET", h.Get("Location"), nil)
		if code != 200 || !strings.Contains(page, "Cloud Analytics Inc") || !strings.Contains(page, "Recipient in a third country (Art. 44)") || !strings.Contains(page, "<code>e_marketing</code>") {
			t.Fatalf("recipients page: %d", code)
		}
		rs, err := rights.New(e.ledger).Recipients(ctx, false)
		if err != nil || len(rs) != 1 {
			t.Fatalf("recipients: %v %v", rs, err)
		}
		rp := "/settings/recipients/" + strconv.FormatInt(rs[0].ID, 10)
		if code, page, _ := po.do("GET", rp, nil); code != 200 || !strings.Contains(page, `value="privacy@cloud.example"`) || !strings.Contains(page, "Edit recipient") {
			t.Fatalf("edit page: %d", code)
		}
		if code, _, _ := po.do("POST", rp, url.Values{"csrf": {token}, "name": {"Cloud Analytics LLC"}, "kind": {"third_country"},
			"email": {"privacy@cloud.example"}, "country": {"US"}, "language": {"de"}, "purpose": {strconv.FormatInt(marketing, 10)}}); code != http.StatusSeeOther {
			t.Fatalf("save recipient: %d", code)
		}

		// Grete receives newsletters; she asks for erasure.
		if _, err := e.ledger.RecordConsent(ctx, audit.System, ledger.ConsentInput{PersonID: e.person.ID, Purpose: "e_marketing", Kind: ledger.Granted, Source: "import"}); err != nil {
			t.Fatal(err)
		}
		svc := rights.New(e.ledger)
		req, err := svc.CreateRequest(ctx, audit.System, rights.RequestInput{PersonID: &e.person.ID, Type: rights.TypeErasure})
		if err != nil {
			t.Fatal(err)
		}
		casePath := "/requests/" + strconv.FormatInt(req.ID, 10)
		if code, page, _ := po.do("GET", casePath, nil); code != 200 || !strings.Contains(page, "Recipients notified (Art. 19)") || strings.Contains(page, `id="notify-recipients"`) {
			t.Fatalf("unverified case offers the notice: %d", code)
		}
		if _, err := svc.VerifyIdentity(ctx, audit.System, req.ID, "ID card"); err != nil {
			t.Fatal(err)
		}
		if code, page, _ := po.do("GET", casePath, nil); code != 200 || !strings.Contains(page, `id="notify-recipients"`) || !strings.Contains(page, "Cloud Analytics LLC") {
			t.Fatalf("verified case page: %d", code)
		}
		mk, mu := e.user(auth.RoleMarketing, "")
		mk.login(mu.Email, password)
		if code, _, _ := mk.do("POST", casePath+"/notify-recipients", url.Values{"csrf": {mk.csrf("/dashboard")}}); code != http.StatusForbidden {
			t.Fatalf("marketing notifies: %d", code)
		}
		if code, _, _ := po.do("POST", casePath+"/notify-recipients", url.Values{"csrf": {token}}); code != http.StatusSeeOther {
			t.Fatalf("notify: %d", code)
		}
		out, err := mail.List(ctx, e.db, "", 0, 10)
		if err != nil || len(out) != 1 {
			t.Fatalf("outbox: %v %v", out, err)
		}
		m, err := mail.Get(ctx, e.db, out[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.To != "privacy@cloud.example" || m.PersonID != 0 || m.Language != "de" || !strings.Contains(m.Text, "Grete Østergaard <grete@example.dk>") || !strings.Contains(m.Subject, "Löschung") {
			t.Fatalf("notice: to %s, %q\n%s", m.To, m.Subject, m.Text)
		}
		code, page, _ = po.do("GET", casePath, nil)
		if code != 200 || !strings.Contains(page, "<td>Cloud Analytics LLC</td><td>privacy@cloud.example</td>") || strings.Contains(page, `id="notify-recipients"`) {
			t.Fatalf("case page after the notice: %d", code)
		}
		if code, page, _ := po.do("POST", casePath+"/notify-recipients", url.Values{"csrf": {token}}); code != http.StatusUnprocessableEntity || !strings.Contains(page, "notified about this request already") {
			t.Fatalf("second notice: %d", code)
		}
		if out, _ := mail.List(ctx, e.db, "", 0, 10); len(out) != 1 {
			t.Fatalf("%d mails after a refused second notice", len(out))
		}

		// Deactivated, the recipient is no longer offered.
		if code, _, _ := po.do("POST", rp+"/active", url.Values{"csrf": {token}, "active": {"0"}}); code != http.StatusSeeOther {
			t.Fatalf("deactivate: %d", code)
		}
		if code, page, _ := po.do("GET", "/settings/recipients", nil); code != 200 || !strings.Contains(page, "Reactivate") {
			t.Fatalf("after deactivation: %d", code)
		}
	})
}
