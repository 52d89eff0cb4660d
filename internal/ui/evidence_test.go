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

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
)

// postMultipart sends the record form as a browser does: multipart, with
// an optional evidence file.
func (b *browser) postMultipart(path string, fields url.Values, file string, content []byte) (int, string) {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	if file != "" {
		fw, _ := mw.CreateFormFile("evidence", file)
		fw.Write(content)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

// The record form makes staff say how the person told them (no channel is
// preselected, and the sources only Consento records cannot be claimed),
// warns of an objection, and records a consent over an objection to
// direct marketing only with proof of the person's own new consent.
func TestRecordFormSourceAndObjection(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		b, u := e.user(auth.RolePrivacyOfficer, "")
		b.login(u.Email, password)
		card := "/contacts/" + itoa(e.person.ID)
		_, page, _ := b.do("GET", card+"?legal=open", nil)
		if !strings.Contains(page, `<select id="source" name="source" required`) || !strings.Contains(page, `<option value="">Choose how it reached you</option>`) {
			t.Fatal("the source is not a required choice")
		}
		for _, key := range []string{"erasure", "retention", "expiry", "staff_entry", "api", "import", "self_service"} {
			if strings.Contains(page, `<option value="`+key+`"`) {
				t.Fatalf("the record form offers the source %s, which only Consento records", key)
			}
		}
		if !strings.Contains(page, `<option value="phone">Phone</option>`) || !strings.Contains(page, `<option value="web_form">Web form</option>`) {
			t.Fatal("the form lacks the channels staff can name")
		}
		token := csrfRe.FindStringSubmatch(page)[1]
		record := url.Values{"csrf": {token}, "purpose": {"e_marketing"}, "kind": {"objected"}, "note": {"called to object"}}
		code, page := b.postMultipart(card+"/consents", record, "", nil)
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "Choose the source: how the person told you") {
			t.Fatalf("without a source: %d", code)
		}
		record.Set("source", "erasure")
		if code, page = b.postMultipart(card+"/consents", record, "", nil); code != http.StatusUnprocessableEntity || !strings.Contains(page, "Consento records this source on its own") {
			t.Fatalf("claiming a built-in source: %d", code)
		}
		if h, _ := e.ledger.History(ctx, e.person.ID, ""); len(h) != 0 {
			t.Fatalf("a refused form recorded %+v", h)
		}
		record.Set("source", "phone")
		if code, _ = b.postMultipart(card+"/consents", record, "", nil); code != http.StatusSeeOther {
			t.Fatalf("objection: %d", code)
		}
		if st, _ := e.ledger.ConsentFor(ctx, e.person.ID, "e_marketing"); st.State != ledger.Objected || st.Source != "phone" {
			t.Fatalf("stored %+v", st)
		}
		_, page, _ = b.do("GET", card+"?legal=open", nil)
		if !strings.Contains(page, `<p class="warning" role="note">This person objected to direct marketing (Art. 21(3) GDPR) for “E-marketing”. Record a consent only with proof of their own new consent`) {
			t.Fatal("the record form does not warn of the objection")
		}
		// A consent on the phone's word: refused, with the reason shown.
		grant := url.Values{"csrf": {token}, "purpose": {"e_marketing"}, "kind": {"granted"}, "source": {"phone"}, "note": {"said yes on the phone"}}
		if code, page = b.postMultipart(card+"/consents", grant, "", nil); code != http.StatusUnprocessableEntity || !strings.Contains(page, "proof of the person&#39;s own new consent") {
			t.Fatalf("consent without proof: %d", code)
		}
		// With the signed form attached: recorded, and audited as lifting the objection.
		grant.Set("source", "email")
		grant.Set("note", "signed consent form received by e-mail")
		if code, _ = b.postMultipart(card+"/consents", grant, "consent.pdf", []byte("%PDF-1.4 signed")); code != http.StatusSeeOther {
			t.Fatalf("consent with proof: %d", code)
		}
		st, _ := e.ledger.ConsentFor(ctx, e.person.ID, "e_marketing")
		if st.State != ledger.Granted || st.Source != "email" {
			t.Fatalf("stored %+v", st)
		}
		lifted, err := audit.List(ctx, e.db, audit.Filter{PersonID: e.person.ID, Action: "consent.objection_lifted"})
		if err != nil || len(lifted) != 1 || lifted[0].Actor.ID != itoa(u.ID) {
			t.Fatalf("lifted objection audit %+v %v", lifted, err)
		}
		_, page, _ = b.do("GET", card+"?legal=open", nil)
		if strings.Contains(page, `class="warning"`) {
			t.Fatal("the warning stays after the objection was lifted")
		}
	})
}

// Built-in source names follow the reader's language unless renamed.
func TestSourceNamesTranslated(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		if _, err := e.ledger.RecordConsent(ctx, audit.System, ledger.ConsentInput{PersonID: e.person.ID, Purpose: "e_marketing", Kind: ledger.Withdrawn, Source: ledger.SourceErasure}); err != nil {
			t.Fatal(err)
		}
		b, u := e.user(auth.RoleStaff, "da")
		b.login(u.Email, password)
		_, page, _ := b.do("GET", "/contacts/"+itoa(e.person.ID)+"?legal=open", nil)
		if !strings.Contains(page, `<td data-label="Kilde">Sletning</td>`) || !strings.Contains(page, `<option value="phone">Telefon</option>`) {
			t.Fatal("the built-in source names are not in Danish")
		}
		if _, err := e.ledger.UpdateSource(ctx, audit.System, "erasure", ledger.SourceInput{Name: "Art. 17 request"}); err != nil {
			t.Fatal(err)
		}
		if _, page, _ = b.do("GET", "/contacts/"+itoa(e.person.ID)+"?legal=open", nil); !strings.Contains(page, `<td data-label="Kilde">Art. 17 request</td>`) {
			t.Fatal("a renamed source does not show its name")
		}
	})
}
