package ui_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
)

// upload posts a multipart form to path: fields, and file (when not nil)
// as the field "file".
func (b *browser) upload(path string, fields map[string]string, file []byte) (int, string) {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != nil {
		fw, err := mw.CreateFormFile("file", "list.csv")
		if err != nil {
			b.e.t.Fatal(err)
		}
		fw.Write(file)
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

var (
	resultRe    = regexp.MustCompile(`/lists/check/([^/"]+)/permitted\.csv`)
	permittedRe = regexp.MustCompile(`id="permitted">(\d+)<`)
	blockedRe   = regexp.MustCompile(`id="blocked">(\d+)<`)
)

func counts(t *testing.T, page string) (permitted, blocked, id string) {
	t.Helper()
	p, b, r := permittedRe.FindStringSubmatch(page), blockedRe.FindStringSubmatch(page), resultRe.FindStringSubmatch(page)
	if p == nil || b == nil || r == nil {
		t.Fatalf("no result on the page:\n%s", page)
	}
	return p[1], b[1], r[1]
}

func TestListCheck(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		person := func(email string, kinds ...ledger.EventKind) *ledger.Person {
			p, err := e.ledger.CreatePerson(ctx, audit.System, ledger.PersonInput{FirstName: "A", LastName: email, Emails: []string{email}})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range kinds {
				if _, err := e.ledger.RecordConsent(ctx, audit.System, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: k, Source: "phone"}); err != nil {
					t.Fatal(err)
				}
			}
			return p
		}
		granted := person("granted@example.com", ledger.Granted)
		withdrawn := person("withdrawn@example.com", ledger.Granted, ledger.Withdrawn)
		none := person("none@example.com")

		b, u := e.user(auth.RoleMarketing, "de")
		b.login(u.Email, password)
		code, page, _ := b.do("GET", "/lists/check", nil)
		if code != 200 || !strings.Contains(page, "Zulässigkeitsprüfung") || !strings.Contains(page, `enctype="multipart/form-data"`) {
			t.Fatalf("form: %d", code)
		}
		token := b.csrf("/lists/check")

		list := "email\ngranted@example.com\n" + itoa(withdrawn.ID) + "\nnone@example.com\nnobody@example.com\nnot an address\n"
		code, page = b.upload("/lists/check", map[string]string{"csrf": token, "purpose": "e_marketing"}, []byte(list))
		if code != 200 {
			t.Fatalf("check: %d\n%s", code, page)
		}
		permitted, blocked, id := counts(t, page)
		if permitted != "1" || blocked != "4" {
			t.Fatalf("permitted %s, blocked %s; want 1, 4", permitted, blocked)
		}
		for _, reason := range []string{"Einwilligung widerrufen", "keine Einwilligung", "unbekannter Kontakt", "ungültige E-Mail-Adresse oder ID"} {
			if !strings.Contains(page, reason) {
				t.Errorf("the result does not show %q", reason)
			}
		}
		if len(id) < 22 {
			t.Fatalf("result id %q is too short to be unguessable", id)
		}

		code, csv, h := b.do("GET", "/lists/check/"+id+"/permitted.csv", nil)
		if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
			t.Fatalf("permitted download: %d %s", code, h.Get("Content-Type"))
		}
		if want := "ref,person_id,reason\ngranted@example.com," + itoa(granted.ID) + ",allowed\n"; csv != want {
			t.Fatalf("permitted.csv = %q, want %q", csv, want)
		}
		code, csv, _ = b.do("GET", "/lists/check/"+id+"/blocked.csv", nil)
		want := "ref,person_id,reason\n" + itoa(withdrawn.ID) + "," + itoa(withdrawn.ID) + ",withdrawn\n" +
			"none@example.com," + itoa(none.ID) + ",no_consent\nnobody@example.com,,unknown\nnot an address,,invalid\n"
		if code != 200 || csv != want {
			t.Fatalf("blocked.csv: %d %q, want %q", code, csv, want)
		}

		// Another user cannot download the result, nor guess one.
		other, ou := e.user(auth.RoleAdmin, "")
		other.login(ou.Email, password)
		for _, path := range []string{"/lists/check/" + id + "/permitted.csv", "/lists/check/" + id + "/blocked.csv", "/lists/check/nosuchresult/blocked.csv"} {
			if code, _, _ := other.do("GET", path, nil); code != http.StatusNotFound {
				t.Fatalf("another user gets %s: %d", path, code)
			}
		}

		// Without the CSRF token nothing is checked.
		if code, _ := b.upload("/lists/check", map[string]string{"purpose": "e_marketing"}, []byte(list)); code != http.StatusForbidden {
			t.Fatalf("no CSRF token: %d", code)
		}
		// An empty file, or one with only its header, is refused clearly.
		for _, file := range [][]byte{{}, []byte("email\n"), nil} {
			code, page := b.upload("/lists/check", map[string]string{"csrf": token, "purpose": "e_marketing"}, file)
			if code != http.StatusUnprocessableEntity || !strings.Contains(page, "Die Datei ist leer") {
				t.Fatalf("empty file %q: %d", file, code)
			}
		}
		// A malformed file too.
		code, page = b.upload("/lists/check", map[string]string{"csrf": token, "purpose": "e_marketing"}, []byte("a@example.com\n\"unterminated\n"))
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "keine gültige CSV-Datei") {
			t.Fatalf("malformed file: %d", code)
		}
		// An unknown purpose.
		code, page = b.upload("/lists/check", map[string]string{"csrf": token, "purpose": "nope"}, []byte(list))
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "Bitte wählen Sie einen Zweck") {
			t.Fatalf("unknown purpose: %d", code)
		}

		// The saved filter: every contact with a yellow traffic light.
		code, page = b.upload("/lists/check", map[string]string{"csrf": token, "purpose": "e_marketing", "filter": "yellow"}, nil)
		if code != 200 {
			t.Fatalf("filter check: %d\n%s", code, page)
		}
		permitted, blocked, id = counts(t, page)
		if permitted != "1" || blocked != "0" {
			t.Fatalf("yellow: permitted %s, blocked %s; want 1, 0", permitted, blocked)
		}
		if _, csv, _ := b.do("GET", "/lists/check/"+id+"/permitted.csv", nil); !strings.Contains(csv, "granted@example.com,"+itoa(granted.ID)+",allowed") {
			t.Fatalf("yellow permitted.csv = %q", csv)
		}
		code, page = b.upload("/lists/check", map[string]string{"csrf": token, "purpose": "e_marketing", "filter": "red"}, nil)
		permitted, blocked, id = counts(t, page)
		if code != 200 || permitted != "0" || blocked != "3" {
			t.Fatalf("red: %d, permitted %s, blocked %s; want 0, 3", code, permitted, blocked)
		}
		_, csv, _ = b.do("GET", "/lists/check/"+id+"/blocked.csv", nil)
		for _, line := range []string{"grete@example.dk," + itoa(e.person.ID) + ",no_consent", "withdrawn@example.com," + itoa(withdrawn.ID) + ",withdrawn", "none@example.com," + itoa(none.ID) + ",no_consent"} {
			if !strings.Contains(csv, line) {
				t.Errorf("red blocked.csv lacks %q:\n%s", line, csv)
			}
		}

		// A filter saved on the contacts list (e-marketing withdrawn), picked here.
		_, page, _ = b.do("GET", "/contacts?purpose=e_marketing&state=withdrawn", nil)
		if !strings.Contains(page, `action="/contacts/filters"`) || !strings.Contains(page, `name="state" value="withdrawn"`) {
			t.Fatalf("the contacts list offers no way to save its filter:\n%s", page)
		}
		form := url.Values{"csrf": {token}, "name": {"Widerrufen E-Mail"}, "purpose": {"e_marketing"}, "state": {"withdrawn"}}
		code, _, h = b.do("POST", "/contacts/filters", form)
		if code != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "saved=1") {
			t.Fatalf("save filter: %d %s", code, h.Get("Location"))
		}
		if code, page, _ := b.do("POST", "/contacts/filters", form); code != http.StatusUnprocessableEntity || !strings.Contains(page, "diesen Namen bereits") {
			t.Fatalf("a second filter of the same name: %d", code)
		}
		if code, _, _ := b.do("POST", "/contacts/filters", url.Values{"csrf": {token}, "name": {"alle"}}); code != http.StatusUnprocessableEntity {
			t.Fatalf("a filter without condition: %d", code)
		}
		saved, err := e.ledger.SavedFilters(context.Background())
		if err != nil || len(saved) != 1 || saved[0].Filter.PurposeState != "withdrawn" {
			t.Fatalf("saved filters %+v %v", saved, err)
		}
		_, page, _ = b.do("GET", "/lists/check", nil)
		opt := "saved:" + itoa(saved[0].ID)
		if !strings.Contains(page, `value="`+opt+`"`) || !strings.Contains(page, "Gespeicherter Filter: Widerrufen E-Mail") {
			t.Fatalf("the list check does not offer the saved filter:\n%s", page)
		}
		code, page = b.upload("/lists/check", map[string]string{"csrf": token, "purpose": "e_marketing", "filter": opt}, nil)
		permitted, blocked, _ = counts(t, page)
		if code != 200 || permitted != "0" || blocked != "1" {
			t.Fatalf("saved filter: %d, permitted %s, blocked %s; want 0, 1", code, permitted, blocked)
		}
		if code, _ = b.upload("/lists/check", map[string]string{"csrf": token, "purpose": "e_marketing", "filter": "saved:999"}, nil); code != http.StatusUnprocessableEntity {
			t.Fatalf("an unknown saved filter: %d", code)
		}
		if code, _, _ := b.do("POST", "/contacts/filters/"+itoa(saved[0].ID)+"/delete", url.Values{"csrf": {token}}); code != http.StatusSeeOther {
			t.Fatalf("delete filter: %d", code)
		}
		if saved, _ := e.ledger.SavedFilters(context.Background()); len(saved) != 0 {
			t.Fatalf("deleted filter still there: %+v", saved)
		}
	})
}

func TestListCheckUploadLimit(t *testing.T) {
	e := newEnv(t, storetest.SQLite)
	b, u := e.user(auth.RoleStaff, "")
	b.login(u.Email, password)
	token := b.csrf("/lists/check")
	big := bytes.Repeat([]byte("someone.with.a.long.name@example.com\n"), 51<<20/37+1)
	code, page := b.upload("/lists/check", map[string]string{"csrf": token, "purpose": "e_marketing"}, big)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(page, "larger than 50 MB") {
		t.Fatalf("a 51 MB file: %d", code)
	}
	// The nav links to the page for every role.
	if _, page, _ := b.do("GET", "/contacts", nil); !strings.Contains(page, `href="/lists/check"`) {
		t.Fatal("no nav link to the list check")
	}
}
