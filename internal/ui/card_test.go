package ui_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/storetest"
)

// A consent recorded on the card with a legal basis and an evidence file
// keeps both; the file can be downloaded from the history.
func TestCardEvidenceUploadAndCreateContact(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		b, u := e.user(auth.RoleStaff, "")
		b.login(u.Email, password)

		// Create a contact; a bad e-mail address is refused with the form kept.
		token := b.csrf("/contacts/new")
		code, page, _ := b.do("POST", "/contacts", url.Values{"csrf": {token}, "first_name": {"Jens"}, "last_name": {"Holm"}, "email": {"not-an-address"}, "source": {"phone"}, "language": {"da"}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, `value="Holm"`) || !strings.Contains(page, "emails[0]") {
			t.Fatalf("invalid contact: %d", code)
		}
		code, _, h := b.do("POST", "/contacts", url.Values{"csrf": {token}, "first_name": {"Jens"}, "last_name": {"Holm"}, "email": {"jens@example.dk"}, "source": {"phone"}, "language": {"da"}})
		if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/contacts/") {
			t.Fatalf("create contact: %d", code)
		}
		card := h.Get("Location")
		p, err := e.ledger.PersonByEmail(context.Background(), "jens@example.dk")
		if err != nil || p.Language != "da" || p.Source != "phone" || p.CreatedBy != "user:"+itoa(u.ID) {
			t.Fatalf("created person %+v %v", p, err)
		}

		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for k, v := range map[string]string{"csrf": token, "purpose": "sales_service", "kind": "granted", "legal_basis": "legitimate_interests", "source": "email", "note": "order 4711"} {
			mw.WriteField(k, v)
		}
		fw, _ := mw.CreateFormFile("evidence", "order.eml")
		fw.Write([]byte("From: jens@example.dk\r\n\r\nPlease deliver."))
		mw.Close()
		req, _ := http.NewRequest("POST", e.srv.URL+card+"/consents", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		res, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("record with evidence: %d", res.StatusCode)
		}
		st, _ := e.ledger.ConsentFor(context.Background(), p.ID, "sales_service")
		if st.LegalBasis != "legitimate_interests" || st.Source != "email" {
			t.Fatalf("state %+v", st)
		}
		_, page, _ = b.do("GET", card, nil)
		i := strings.Index(page, `href="/evidence/`)
		if i < 0 || !strings.Contains(page, "order.eml") {
			t.Fatal("the history does not link the evidence file")
		}
		link := page[i+len(`href="`):]
		link = link[:strings.IndexByte(link, '"')]
		res, err = b.c.Get(e.srv.URL + link)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.HasSuffix(string(got), "Please deliver.") {
			t.Fatalf("evidence download: %d %q", res.StatusCode, got)
		}
		// Marketing may view but not create contacts.
		m, mu := e.user(auth.RoleMarketing, "")
		m.login(mu.Email, password)
		if code, _, _ := m.do("GET", "/contacts/new", nil); code != http.StatusForbidden {
			t.Fatalf("marketing opens the new-contact form: %d", code)
		}
	})
}
