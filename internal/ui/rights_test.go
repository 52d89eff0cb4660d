package ui_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
)

// A privacy officer opens an erasure request, verifies the identity,
// previews level 3 and anonymizes; marketing sees no request at all and
// staff cannot erase.
func TestRequestCaseFromListToErasure(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		po, u := e.user(auth.RolePrivacyOfficer, "de")
		po.login(u.Email, password)

		token := po.csrf("/requests")
		code, _, h := po.do("POST", "/requests", url.Values{"csrf": {token}, "type": {"erasure"}, "requester_email": {"grete@example.dk"}, "country": {"DK"}})
		if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/requests/") {
			t.Fatalf("create request: %d %s", code, h.Get("Location"))
		}
		casePath, _, _ := strings.Cut(h.Get("Location"), "?")
		code, page, _ := po.do("GET", h.Get("Location"), nil)
		if code != 200 || !strings.Contains(page, "Anfrage angelegt") || !strings.Contains(page, "Østergaard") || !strings.Contains(page, "nicht geprüft") {
			t.Fatalf("case page: %d", code)
		}
		// Nothing is erased before the identity check.
		if code, _, _ := po.do("GET", casePath+"/erasure?level=3", nil); code != http.StatusUnprocessableEntity {
			t.Fatalf("preview before verification: %d", code)
		}
		code, page, _ = po.do("GET", "/requests", nil)
		if code != 200 || !strings.Contains(page, `data-count="open">1<`) || !strings.Contains(page, "Löschung (Art. 17)") || !strings.Contains(page, "light-green") {
			t.Fatalf("request list: %d", code)
		}
		if code, _, _ := po.do("POST", casePath+"/verify", url.Values{"csrf": {token}, "method": {"Personalausweis geprüft"}}); code != http.StatusSeeOther {
			t.Fatalf("verify: %d", code)
		}
		code, page, _ = po.do("GET", casePath+"/erasure?level=3", nil)
		if code != 200 || !strings.Contains(page, "Endgültig anonymisieren") || !strings.Contains(page, "Audit-Schlüssel der Person") || !strings.Contains(page, "grete@example.dk") || !strings.Contains(page, `data-action="destroy"`) {
			t.Fatalf("erasure preview: %d", code)
		}
		// Staff may manage cases but not erase; marketing sees none.
		staff, su := e.user(auth.RoleStaff, "")
		staff.login(su.Email, password)
		if code, page, _ := staff.do("GET", casePath, nil); code != 200 || strings.Contains(page, "erasure-preview") {
			t.Fatalf("staff case page: %d", code)
		}
		if code, _, _ := staff.do("GET", casePath+"/erasure?level=3", nil); code != http.StatusForbidden {
			t.Fatalf("staff preview: %d", code)
		}
		stoken := staff.csrf(casePath)
		if code, _, _ := staff.do("POST", casePath+"/erase", url.Values{"csrf": {stoken}, "level": {"3"}}); code != http.StatusForbidden {
			t.Fatalf("staff erase: %d", code)
		}
		mk, mu := e.user(auth.RoleMarketing, "")
		mk.login(mu.Email, password)
		if code, _, _ := mk.do("GET", "/requests", nil); code != http.StatusForbidden {
			t.Fatalf("marketing list: %d", code)
		}
		if code, _, _ := po.do("POST", casePath+"/erase", url.Values{"level": {"3"}}); code != http.StatusForbidden {
			t.Fatalf("erase without CSRF: %d", code)
		}

		if code, _, _ := po.do("POST", casePath+"/erase", url.Values{"csrf": {token}, "level": {"3"}}); code != http.StatusSeeOther {
			t.Fatalf("erase: %d", code)
		}
		p, err := e.ledger.Person(ctx, e.person.ID)
		if err != nil || p.Status != ledger.StatusAnonymized || p.LastName != "" {
			t.Fatalf("after erasure: %+v %v", p, err)
		}
		code, page, _ = po.do("GET", casePath+"?done=erase", nil)
		if code != 200 || !strings.Contains(page, "Gelöscht.") || strings.Contains(page, "Østergaard") {
			t.Fatalf("case after erasure: %d", code)
		}
		if code, _, _ := po.do("POST", casePath+"/complete", url.Values{"csrf": {token}, "outcome": {"anonymisiert, Person informiert"}}); code != http.StatusSeeOther {
			t.Fatalf("complete: %d", code)
		}
		// Creating the erased address again is refused with a clear message.
		token = po.csrf("/contacts/new")
		code, page, _ = po.do("POST", "/contacts", url.Values{"csrf": {token}, "last_name": {"Neu"}, "email": {"grete@example.dk"}, "language": {"da"}})
		if code == http.StatusSeeOther || !strings.Contains(page, "Sperrliste") && !strings.Contains(page, "blocklist") {
			t.Fatalf("re-creating an erased address: %d", code)
		}
	})
}

func TestAccessReportDownloadFromTheCasePage(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		b, u := e.user(auth.RoleStaff, "")
		b.login(u.Email, password)
		token := b.csrf("/requests")
		_, _, h := b.do("POST", "/requests", url.Values{"csrf": {token}, "type": {"access"}, "person_id": {itoa(e.person.ID)}, "received_on": {"2026-01-31"}})
		casePath, _, _ := strings.Cut(h.Get("Location"), "?")
		if code, _, _ := b.do("GET", casePath+"/report/pdf", nil); code != http.StatusConflict && code != http.StatusUnprocessableEntity {
			t.Fatalf("report before verification: %d", code)
		}
		b.do("POST", casePath+"/verify", url.Values{"csrf": {token}, "method": {"known address"}})
		code, body, hdr := b.do("GET", casePath+"/report/pdf", nil)
		if code != 200 || hdr.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(body, "%PDF-") {
			t.Fatalf("pdf report: %d %s", code, hdr.Get("Content-Type"))
		}
		code, body, _ = b.do("GET", casePath+"/report/html", nil)
		if code != 200 || !strings.Contains(body, "Østergaard") {
			t.Fatalf("html report: %d", code)
		}
		code, page, _ := b.do("GET", casePath, nil)
		// 31 January + 1 month = 28 February 2026, a Saturday: due Monday 2 March.
		if code != 200 || !strings.Contains(page, "2026-03-02") {
			t.Fatalf("case page due date: %d", code)
		}
	})
}

// A person restricted through a case (Art. 18) is marked as such in the
// contact export and on the card, and the lifting is recorded.
func TestRestrictionFromTheCasePage(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		other, err := e.ledger.CreatePerson(context.Background(), audit.System, ledger.PersonInput{LastName: "Active", Emails: []string{"active@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		b, u := e.user(auth.RolePrivacyOfficer, "")
		b.login(u.Email, password)
		token := b.csrf("/requests")
		_, _, h := b.do("POST", "/requests", url.Values{"csrf": {token}, "type": {"restriction"}, "person_id": {itoa(e.person.ID)}})
		casePath, _, _ := strings.Cut(h.Get("Location"), "?")
		b.do("POST", casePath+"/verify", url.Values{"csrf": {token}, "method": {"known address"}})
		if code, _, _ := b.do("POST", casePath+"/restrict", url.Values{"csrf": {token}, "reason": {"accuracy contested"}}); code != http.StatusSeeOther {
			t.Fatalf("restrict: %d", code)
		}
		code, body, _ := b.do("POST", "/contacts/export.xlsx", url.Values{"csrf": {token}, "id": {itoa(e.person.ID), itoa(other.ID)}})
		if code != 200 {
			t.Fatalf("export: %d", code)
		}
		f, err := excelize.OpenReader(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, _ := f.GetRows(f.GetSheetName(0))
		if len(rows) != 3 || !strings.Contains(strings.Join(rows[1], " "), "active") || !strings.Contains(strings.Join(rows[2], " "), "restricted") {
			t.Fatalf("export rows: %v", rows)
		}
		_, page, _ := b.do("GET", "/contacts/"+itoa(e.person.ID), nil)
		if !strings.Contains(page, `class="badge"`) {
			t.Fatal("no restriction badge on the contact card")
		}
		if code, _, _ := b.do("POST", casePath+"/lift", url.Values{"csrf": {token}, "reason": {"accuracy confirmed, person told"}}); code != http.StatusSeeOther {
			t.Fatalf("lift: %d", code)
		}
		if p, _ := e.ledger.Person(context.Background(), e.person.ID); p.Status != ledger.StatusActive {
			t.Fatalf("after lifting: %s", p.Status)
		}
	})
}

// Staff add an activity and a document on the contact's records page and
// download the document again; marketing sees the page but adds nothing.
func TestLinkedRecordsPage(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		b, u := e.user(auth.RoleStaff, "da")
		b.login(u.Email, password)
		path := "/contacts/" + itoa(e.person.ID) + "/records"
		_, card, _ := b.do("GET", "/contacts/"+itoa(e.person.ID), nil)
		if !strings.Contains(card, `href="`+path+`"`) {
			t.Fatal("the contact card does not link the records page")
		}
		token := b.csrf(path)
		if code, _, _ := b.do("POST", "/contacts/"+itoa(e.person.ID)+"/activities", url.Values{"csrf": {token}, "kind": {"meeting"}, "occurred_on": {"2026-03-02"}, "subject": {"Messe in Herning"}}); code != http.StatusSeeOther {
			t.Fatalf("add activity: %d", code)
		}
		if code, _, _ := b.do("POST", "/contacts/"+itoa(e.person.ID)+"/activities", url.Values{"csrf": {token}, "kind": {"telex"}, "subject": {"x"}}); code != http.StatusUnprocessableEntity {
			t.Fatalf("bad kind: %d", code)
		}
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("csrf", token)
		fw, _ := mw.CreateFormFile("file", "kontrakt.txt")
		fw.Write([]byte("underskrevet kontrakt"))
		mw.Close()
		req, _ := http.NewRequest("POST", e.srv.URL+"/contacts/"+itoa(e.person.ID)+"/documents", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		res, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("upload: %d", res.StatusCode)
		}
		code, page, _ := b.do("GET", path+"?done=1", nil)
		if code != 200 || !strings.Contains(page, "Messe in Herning") || !strings.Contains(page, "Møde") || !strings.Contains(page, "kontrakt.txt") {
			t.Fatalf("records page: %d", code)
		}
		m := regexp.MustCompile(`href="(/documents/\d+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatal("no document link")
		}
		if code, file, h := b.do("GET", m[1], nil); code != 200 || file != "underskrevet kontrakt" || h.Get("Content-Type") != "application/octet-stream" {
			t.Fatalf("download: %d %q %s", code, file, h.Get("Content-Type"))
		}
		mk, mu := e.user(auth.RoleMarketing, "")
		mk.login(mu.Email, password)
		code, page, _ = mk.do("GET", path, nil)
		if code != 200 || strings.Contains(page, `action="/contacts/`) || strings.Contains(page, "/requests/") {
			t.Fatalf("marketing records page: %d", code)
		}
		if code, _, _ := mk.do("GET", m[1], nil); code != http.StatusForbidden {
			t.Fatalf("marketing download: %d", code)
		}
	})
}
