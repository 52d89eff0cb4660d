package ui_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/breach"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/storetest"
)

// postFile posts a multipart form with a file to path and returns the
// status and the redirect's target.
func (b *browser) postFile(path string, fields map[string]string, name string, file []byte) (int, string) {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		b.e.t.Fatal(err)
	}
	fw.Write(file)
	mw.Close()
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	return res.StatusCode, res.Header.Get("Location")
}

var breachLinkRe = regexp.MustCompile(`href="/breaches/(\d+)"`)

// A privacy officer records a breach, links persons by pasted and
// uploaded addresses, records the notification of the authority and
// notifies the persons; the dashboard and the list show the countdown.
// Staff see none of it.
func TestBreachRegisterPages(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := context.Background()
		hans, err := e.ledger.CreatePerson(ctx, audit.System, ledger.PersonInput{FirstName: "Hans", LastName: "Huber", Emails: []string{"hans@example.de"}, Language: "de"})
		if err != nil {
			t.Fatal(err)
		}
		po, u := e.user(auth.RolePrivacyOfficer, "en")
		po.login(u.Email, password)
		token := po.csrf("/breaches")

		// Awareness in the future is refused, with the form kept.
		future := time.Now().UTC().Add(2 * time.Hour).Format("2006-01-02T15:04")
		code, page, _ := po.do("POST", "/breaches", url.Values{"csrf": {token}, "title": {"Phished mailbox"}, "description": {"A staff mailbox was phished."},
			"aware_at": {future}, "risk": {"high"}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "must not be in the future") || !strings.Contains(page, `value="Phished mailbox"`) {
			t.Fatalf("future awareness: %d", code)
		}
		aware := time.Now().UTC().Add(-70 * time.Hour).Truncate(time.Minute)
		code, _, h := po.do("POST", "/breaches", url.Values{"csrf": {token}, "title": {"Phished mailbox"}, "description": {"A staff mailbox with customer mails was phished."},
			"aware_at": {aware.Format("2006-01-02T15:04")}, "detected_by": {"IT"}, "risk": {"high"}})
		if code != http.StatusSeeOther || !strings.HasSuffix(h.Get("Location"), "?done=created") {
			t.Fatalf("create: %d %s", code, h.Get("Location"))
		}
		bp := strings.TrimSuffix(h.Get("Location"), "?done=created")
		code, page, _ = po.do("GET", h.Get("Location"), nil)
		if code != 200 || !strings.Contains(page, "Recorded. The 72 hours run") || !regexp.MustCompile(`data-state="pending">(1|2) h \d+ min left<`).MatchString(page) {
			t.Fatalf("incident page: %d\n%s", code, page)
		}
		// Without consequences, measures and contact the notice is not offered.
		if strings.Contains(page, `id="notify-persons"`) {
			t.Fatal("notify offered for an incomplete incident")
		}
		code, _, _ = po.do("POST", bp, url.Values{"csrf": {token}, "title": {"Phished mailbox"}, "description": {"A staff mailbox with customer mails was phished."},
			"aware_at": {aware.Format("2006-01-02T15:04")}, "risk": {"high"}, "data_category": {"contact", "communication"}, "data_other": {"order numbers"},
			"subject_category": {"customers"}, "approx_persons": {"40"}, "consequences": {"Targeted phishing of customers is possible."},
			"measures": {"Password reset, 2FA enforced. Do not open mails asking for payment."}, "dpo_contact": {"dpo@shop.example"}, "status": {"open"}})
		if code != http.StatusSeeOther {
			t.Fatalf("update: %d", code)
		}
		code, page, _ = po.do("POST", bp, url.Values{"csrf": {token}, "title": {"Phished mailbox"}, "description": {"x"}, "aware_at": {aware.Format("2006-01-02T15:04")},
			"approx_persons": {"forty"}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "approx_persons") || !strings.Contains(page, ">x</textarea>") {
			t.Fatalf("bad number: %d", code)
		}

		// Persons: pasted addresses, then a file; the page says how many matched.
		code, loc := po.postFile(bp+"/persons", map[string]string{"csrf": token, "emails": "HANS@example.de\nnobody@example.com\nnonsense"}, "list.csv", []byte("grete@example.dk\n"))
		if code != http.StatusSeeOther {
			t.Fatalf("link: %d", code)
		}
		code, page, _ = po.do("GET", loc, nil)
		if code != 200 || !strings.Contains(page, "New links: 2. Matched: 2 (0 of them linked before), not found: 1, not e-mail addresses: 1.") ||
			!strings.Contains(page, "Huber") || !strings.Contains(page, "grete@example.dk") || !regexp.MustCompile(`data-count="mailable">2<`).MatchString(page) {
			t.Fatalf("after linking: %d\n%s", code, page)
		}

		// A person linked by mistake is removed with a reason.
		ole, err := e.ledger.CreatePerson(ctx, audit.System, ledger.PersonInput{FirstName: "Ole", LastName: "Forkert", Emails: []string{"ole@example.dk"}, Language: "da"})
		if err != nil {
			t.Fatal(err)
		}
		if code, _ := po.postFile(bp+"/persons", map[string]string{"csrf": token, "person_ids": strconv.FormatInt(ole.ID, 10)}, "none.txt", nil); code != http.StatusSeeOther {
			t.Fatalf("link by id: %d", code)
		}
		unlink := bp + "/persons/" + strconv.FormatInt(ole.ID, 10) + "/unlink"
		if _, page, _ = po.do("GET", bp, nil); !strings.Contains(page, `action="`+unlink+`"`) {
			t.Fatal("no remove button for a person not yet notified")
		}
		if code, _, _ = po.do("POST", unlink, url.Values{"csrf": {token}}); code != http.StatusUnprocessableEntity {
			t.Fatalf("remove without a reason: %d", code)
		}
		if code, _, _ = po.do("POST", unlink, url.Values{"csrf": {token}, "reason": {"wrong Ole"}}); code != http.StatusSeeOther {
			t.Fatalf("remove: %d", code)
		}
		if _, page, _ = po.do("GET", bp+"?done=unlinked", nil); strings.Contains(page, "Forkert") || !strings.Contains(page, "Removed from the incident.") {
			t.Fatal("the removed person is still listed")
		}

		// The authority, 70 hours after awareness: in time.
		code, _, _ = po.do("POST", bp+"/authority", url.Values{"csrf": {token}, "decision": {"notified"}, "authority": {"LfDI Baden-Württemberg"}, "reference": {"A-17"}})
		if code != http.StatusSeeOther {
			t.Fatalf("authority: %d", code)
		}
		code, page, _ = po.do("POST", bp+"/authority", url.Values{"csrf": {token}, "authority": {"again"}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "the authority was notified already") {
			t.Fatalf("second authority notification: %d", code)
		}
		code, _, _ = po.do("POST", bp+"/notify", url.Values{"csrf": {token}})
		if code != http.StatusSeeOther {
			t.Fatalf("notify: %d", code)
		}
		code, page, _ = po.do("GET", bp+"?done=notified&mailed=2", nil)
		if code != 200 || !strings.Contains(page, "Notices queued in the outbox: 2.") || !strings.Contains(page, `data-state="notified_in_time">authority notified in time<`) ||
			!strings.Contains(page, "Notice mailed to 2 persons") || !strings.Contains(page, "LfDI Baden-Württemberg, reference A-17") {
			t.Fatalf("after notifying: %d\n%s", code, page)
		}
		list, err := mail.List(ctx, e.db, "", 0, 10)
		if err != nil || len(list) != 2 {
			t.Fatalf("outbox %+v %v", list, err)
		}
		for _, m := range list {
			if m.To == "hans@example.de" && !strings.Contains(m.Subject, "Verletzung des Schutzes") {
				t.Errorf("Hans's notice is not in German: %q", m.Subject)
			}
		}
		if code, page, _ := po.do("POST", bp+"/notify", url.Values{"csrf": {token}}); code != http.StatusUnprocessableEntity || !strings.Contains(page, "no linked person is left to notify") {
			t.Fatalf("second notice: %d", code)
		}
		code, _, _ = po.do("POST", bp+"/entries", url.Values{"csrf": {token}, "kind": {"followup"}, "body": {"Sent the log analysis to the authority."}})
		if code != http.StatusSeeOther {
			t.Fatalf("follow-up: %d", code)
		}

		// A second, overdue incident: red on the list and the dashboard.
		svc := breach.New(e.db)
		old, err := svc.Create(ctx, audit.System, breach.Input{Title: "Lost USB stick", Description: "An unencrypted USB stick was lost.", AwareAt: ptr(time.Now().Add(-77*time.Hour - 5*time.Minute))})
		if err != nil {
			t.Fatal(err)
		}
		_, page, _ = po.do("GET", "/breaches", nil)
		if !regexp.MustCompile(`data-state="overdue">[\s\S]*?overdue by 5 h (4|5) min`).MatchString(page) || len(breachLinkRe.FindAllString(page, -1)) != 4 {
			t.Fatalf("list:\n%s", page)
		}
		_, page, _ = po.do("GET", "/dashboard", nil)
		if !strings.Contains(page, `id="dashboard-breaches"`) || !strings.Contains(page, "1 past the 72-hour deadline") || !strings.Contains(page, "Lost USB stick") ||
			strings.Index(page, "Lost USB stick") > strings.Index(page, "Phished mailbox") {
			t.Fatalf("dashboard:\n%s", page)
		}
		// German wording.
		de, du := e.user(auth.RoleAdmin, "de")
		de.login(du.Email, password)
		if _, page, _ := de.do("GET", "/breaches", nil); !strings.Contains(page, "Datenpannen") || !strings.Contains(page, "seit 5 Std.") {
			t.Fatalf("German list:\n%s", page)
		}

		// Editing an incident whose time of awareness has seconds (from the
		// API) keeps it, so a notified incident stays editable.
		if _, err := svc.RecordAuthority(ctx, audit.System, old.ID, breach.AuthorityInput{Authority: "BfDI", LateReason: "found at the inventory"}); err != nil {
			t.Fatal(err)
		}
		op := "/breaches/" + itoa(old.ID)
		code, page, _ = po.do("POST", op, url.Values{"csrf": {token}, "title": {"Lost USB stick (2)"}, "description": {old.Description},
			"aware_at": {old.AwareAt.Format("2006-01-02T15:04")}, "risk": {"risk"}})
		if code != http.StatusSeeOther {
			t.Fatalf("editing a notified incident: %d\n%s", code, page)
		}
		if got, _ := svc.Get(ctx, old.ID); got.Title != "Lost USB stick (2)" || !got.AwareAt.Equal(old.AwareAt) {
			t.Fatalf("edited: %q, aware %v (was %v)", got.Title, got.AwareAt, old.AwareAt)
		}

		// Staff: no link, no page, no dashboard box.
		st, su := e.user(auth.RoleStaff, "en")
		st.login(su.Email, password)
		if code, _, _ := st.do("GET", bp, nil); code != http.StatusForbidden {
			t.Fatalf("staff: %d", code)
		}
		if _, page, _ := st.do("GET", "/dashboard", nil); strings.Contains(page, `href="/breaches"`) || strings.Contains(page, "dashboard-breaches") {
			t.Fatal("staff see the breach register")
		}
		_ = hans
	})
}

func ptr[T any](v T) *T { return &v }
