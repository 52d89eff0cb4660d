package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/storetest"
)

// Staff e-mail the access report from the case page; the case shows the
// step, and a privacy officer finds the PDF attached in the outbox. Before
// the identity check, and for a restricted person, the action is refused
// with a clear message.
func TestAccessReportEmailedFromTheCasePage(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		ctx := context.Background()
		e, _ := newOutreachEnv(t, eng)
		staff := signIn(e, auth.RoleStaff)
		token := staff.csrf("/requests")
		_, _, h := staff.do("POST", "/requests", url.Values{"csrf": {token}, "type": {"access"}, "person_id": {itoa(e.person.ID)}})
		casePath, _, _ := strings.Cut(h.Get("Location"), "?")
		if code, page, _ := staff.do("POST", casePath+"/report-email", url.Values{"csrf": {token}}); code != http.StatusUnprocessableEntity || !strings.Contains(page, "verify the requester") {
			t.Fatalf("before verification: %d\n%s", code, page)
		}
		if code, _, _ := staff.do("POST", casePath+"/report-email", url.Values{}); code != http.StatusForbidden {
			t.Fatalf("without CSRF token: %d", code)
		}
		staff.do("POST", casePath+"/verify", url.Values{"csrf": {token}, "method": {"known address"}})
		code, page, _ := staff.do("GET", casePath, nil)
		if code != 200 || !strings.Contains(page, `action="`+casePath+`/report-email"`) || !strings.Contains(page, "E-mail the report to the verified address") || !strings.Contains(page, "grete@example.dk") {
			t.Fatalf("case page: %d\n%s", code, page)
		}
		code, _, h = staff.do("POST", casePath+"/report-email", url.Values{"csrf": {token}})
		if code != http.StatusSeeOther {
			t.Fatalf("e-mail report: %d", code)
		}
		_, page, _ = staff.do("GET", h.Get("Location"), nil)
		if !strings.Contains(page, "The report is queued in the outbox") || !strings.Contains(page, "Report e-mailed to g***@example.dk") {
			t.Fatalf("case page after the mail:\n%s", page)
		}

		// Captured without SMTP: the privacy officer sees and downloads it.
		if _, err := mail.NewWorker(e.db, mail.Config{From: "x@example.com"}, quietLog()).Drain(ctx); err != nil {
			t.Fatal(err)
		}
		file := "access-report-" + strings.TrimPrefix(casePath, "/requests/") + ".pdf"
		dpo := signIn(e, auth.RolePrivacyOfficer)
		code, page, _ = dpo.do("GET", "/outbox", nil)
		m := mailRowRe.FindStringSubmatch(page)
		if code != 200 || m == nil || !strings.Contains(page, "Attached: "+file) {
			t.Fatalf("outbox: %d\n%s", code, page)
		}
		code, page, _ = dpo.do("GET", "/outbox/"+m[1], nil)
		link := "/outbox/" + m[1] + "/attachments/1"
		if code != 200 || !strings.Contains(page, `href="`+link+`"`) || !strings.Contains(page, file) {
			t.Fatalf("outbox mail: %d\n%s", code, page)
		}
		code, body, hdr := dpo.do("GET", link, nil)
		if code != 200 || !strings.HasPrefix(body, "%PDF") || hdr.Get("Content-Disposition") != `attachment; filename=`+file || hdr.Get("Content-Type") != "application/octet-stream" {
			t.Fatalf("download: %d %v %q", code, hdr, body[:min(10, len(body))])
		}
		if code, _, _ := dpo.do("GET", "/outbox/"+m[1]+"/attachments/2", nil); code != http.StatusNotFound {
			t.Fatalf("a missing attachment: %d", code)
		}
		// Staff manage cases but do not read the outbox.
		if code, _, _ := staff.do("GET", link, nil); code != http.StatusForbidden {
			t.Fatalf("staff download: %d", code)
		}

		// A restricted person gets no mail: the action says so.
		_, _, h = dpo.do("POST", "/requests", url.Values{"csrf": {dpo.csrf("/requests")}, "type": {"restriction"}, "person_id": {itoa(e.person.ID)}})
		restriction, _, _ := strings.Cut(h.Get("Location"), "?")
		dtoken := dpo.csrf("/requests")
		dpo.do("POST", restriction+"/verify", url.Values{"csrf": {dtoken}, "method": {"known address"}})
		if code, _, _ := dpo.do("POST", restriction+"/restrict", url.Values{"csrf": {dtoken}, "reason": {"accuracy contested"}}); code != http.StatusSeeOther {
			t.Fatalf("restrict: %d", code)
		}
		if code, page, _ := staff.do("POST", casePath+"/report-email", url.Values{"csrf": {token}}); code != http.StatusLocked || !strings.Contains(page, "restricted") {
			t.Fatalf("restricted person: %d\n%s", code, page)
		}
		if list, _ := mail.List(ctx, e.db, "", 0, 10); len(list) != 1 {
			t.Fatalf("outbox holds %d mails; want the one report", len(list))
		}
	})
}
