package rights_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime"
	"strconv"
	"strings"
	"testing"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/mail/mailtest"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/storetest"
)

// deliver sends the outbox to a test SMTP server and returns what arrived.
func (e *env) deliver(t *testing.T, srv *mailtest.Server, want int) []mailtest.Received {
	t.Helper()
	s, err := mail.ParseSMTPURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	w := mail.NewWorker(e.db, mail.Config{SMTP: s, From: "privacy@example.com", Rate: 1000}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := w.Drain(e.ctx); err != nil {
		t.Fatal(err)
	}
	return srv.Wait(t, want)
}

func TestEmailReportSendsThePDFToTheVerifiedAddress(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		srv := mailtest.Start(t)
		p, _ := e.richPerson(t)
		// No requester address on the case: the person's primary address.
		r := e.verifiedCase(t, p.ID, rights.TypeAccess)
		got, err := e.r.EmailReport(e.ctx, officer, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.To != "z***@example.org" || got.MailID == 0 || got.Filename != "access-report-"+itoa(r.ID)+".pdf" {
			t.Fatalf("queued %+v", got)
		}
		m := e.deliver(t, srv, 1)[0]
		if len(m.To) != 1 || m.To[0] != "zebulon.q@example.org" {
			t.Fatalf("sent to %v", m.To)
		}
		if subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); subject != "Ihre Auskunft über Ihre personenbezogenen Daten" {
			t.Errorf("subject %q: the mail is not in the person's language", subject)
		}
		if !strings.Contains(m.Text, "Zebulon") || !strings.Contains(m.Text, "Art. 15 DSGVO") {
			t.Errorf("text:\n%s", m.Text)
		}
		files, err := m.Attachments()
		if err != nil || len(files) != 1 {
			t.Fatalf("attachments %+v, %v", files, err)
		}
		f := files[0]
		if f.Name != got.Filename || f.Type != "application/pdf" || !bytes.HasPrefix(f.Content, []byte("%PDF")) || len(f.Content) != got.Size {
			t.Fatalf("attachment %q (%s), %d bytes, starts %q", f.Name, f.Type, len(f.Content), f.Content[:min(8, len(f.Content))])
		}
		// The case shows the step, without the full address.
		r, err = e.r.Request(e.ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Notes) != 1 || !strings.Contains(r.Notes[0].Body, "Report e-mailed to z***@example.org") || strings.Contains(r.Notes[0].Body, "zebulon.q@") {
			t.Fatalf("notes %+v", r.Notes)
		}
		evs, err := audit.List(context.Background(), e.db, audit.Filter{ObjectType: "rights_request", ObjectID: itoa(r.ID), Action: "request.report_email"})
		if err != nil || len(evs) != 1 || evs[0].Payload == nil || evs[0].Payload.Reason != "report e-mailed to z***@example.org" {
			t.Fatalf("audit %+v, %v", evs, err)
		}

		// With a requester address on the case, that address.
		pid := p.ID
		r2, err := e.r.CreateRequest(e.ctx, officer, rights.RequestInput{PersonID: &pid, Type: rights.TypeAccess, RequesterEmail: "zq.private@example.net"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.r.VerifyIdentity(e.ctx, officer, r2.ID, "called back on the known number"); err != nil {
			t.Fatal(err)
		}
		if got, err := e.r.EmailReport(e.ctx, officer, r2.ID); err != nil || got.To != "z***@example.net" {
			t.Fatalf("%+v, %v", got, err)
		}
		if m := e.deliver(t, srv, 2)[1]; m.To[0] != "zq.private@example.net" {
			t.Fatalf("sent to %v", m.To)
		}
	})
}

func TestEmailReportRefusals(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		p, _ := e.richPerson(t)
		pid := p.ID
		unverified, err := e.r.CreateRequest(e.ctx, officer, rights.RequestInput{PersonID: &pid, Type: rights.TypeAccess})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.r.EmailReport(e.ctx, officer, unverified.ID); code(err) != "identity-not-verified" {
			t.Errorf("unverified case: %v", err)
		}
		erasure := e.verifiedCase(t, pid, rights.TypeErasure)
		if _, err := e.r.EmailReport(e.ctx, officer, erasure.ID); code(err) != "wrong-request-type" {
			t.Errorf("erasure case: %v", err)
		}
		access := e.verifiedCase(t, pid, rights.TypeAccess)
		restriction := e.verifiedCase(t, pid, rights.TypeRestriction)
		if _, err := e.r.Restrict(e.ctx, officer, restriction.ID, "accuracy contested"); err != nil {
			t.Fatal(err)
		}
		_, err = e.r.EmailReport(e.ctx, officer, access.ID)
		de, ok := ledger.AsError(err)
		if !ok || de.Code != "person-restricted" || de.Kind != ledger.KindLocked || !strings.Contains(de.Message, "restricted") {
			t.Errorf("restricted person: %v", err)
		}
		if list, _ := mail.List(e.ctx, e.db, "", 0, 10); len(list) != 0 {
			t.Fatalf("a refused report was queued: %+v", list)
		}
		if r, _ := e.r.Request(e.ctx, access.ID); len(r.Notes) != 0 {
			t.Fatalf("a refused report left a note: %+v", r.Notes)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestEmailedReportIsErasedWithThePerson(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		p, _ := e.richPerson(t)
		access := e.verifiedCase(t, p.ID, rights.TypeAccess)
		if _, err := e.r.EmailReport(e.ctx, officer, access.ID); err != nil {
			t.Fatal(err)
		}
		// Captured (no SMTP server): the mail and its PDF stay in the outbox.
		if _, err := mail.NewWorker(e.db, mail.Config{From: "x@example.com"}, slog.New(slog.NewTextHandler(io.Discard, nil))).Drain(e.ctx); err != nil {
			t.Fatal(err)
		}
		attachments := func() int {
			var n int
			if err := e.db.QueryRow(e.ctx, `SELECT COUNT(*) FROM mail_attachments`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := attachments(); n != 1 {
			t.Fatalf("%d attachments before erasure", n)
		}
		erasure := e.verifiedCase(t, p.ID, rights.TypeErasure)
		if _, err := e.r.Erase(e.ctx, officer, erasure.ID, rights.LevelAnonymize, "request by letter"); err != nil {
			t.Fatal(err)
		}
		if n := attachments(); n != 0 {
			t.Fatalf("the e-mailed report outlived the erasure: %d attachments", n)
		}
		if left := found(e.haystack(t), secrets); len(left) > 0 {
			t.Fatalf("after level-3 erasure the %s store still holds %v", eng, left)
		}
	})
}

func TestEmailReportAfterMailBlockIsRefused(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		p, _ := e.richPerson(t)
		access := e.verifiedCase(t, p.ID, rights.TypeAccess)
		erasure := e.verifiedCase(t, p.ID, rights.TypeErasure)
		if _, err := e.r.Erase(e.ctx, officer, erasure.ID, rights.LevelBlock, "stop all mail"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.r.EmailReport(e.ctx, officer, access.ID); code(err) != "mail-blocked" {
			t.Fatalf("after a mail block: %v", err)
		}
		if list, _ := mail.List(e.ctx, e.db, "", 0, 10); len(list) != 0 {
			t.Fatalf("queued %+v", list)
		}
	})
}
