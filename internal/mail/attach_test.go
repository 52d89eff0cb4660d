package mail_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	cmail "github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/mail/mailtest"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

var pdf = []byte("%PDF-1.4\n% a tiny test file\n%%EOF\n")

func TestDeliversAttachment(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		db := storetest.Open(t, e)
		srv := mailtest.Start(t)
		enqueue(t, db, cmail.Message{Template: "preference_link", Language: "en", To: "grete@example.dk", Data: map[string]any{"PreferenceURL": "https://x/p/1", "Controller": "Example"},
			Attachments: []cmail.Attachment{{Name: "Auskunft 2026.pdf", MediaType: "application/pdf", Content: pdf}}})
		if n, err := worker(t, db, srv, 0).Drain(context.Background()); err != nil || n != 1 {
			t.Fatalf("drained %d, %v", n, err)
		}
		m := srv.Wait(t, 1)[0]
		if !strings.Contains(m.Text, "https://x/p/1") {
			t.Errorf("the text part went missing next to the attachment:\n%s", m.Text)
		}
		files, err := m.Attachments()
		if err != nil || len(files) != 1 {
			t.Fatalf("attachments %+v, %v", files, err)
		}
		if f := files[0]; f.Name != "Auskunft 2026.pdf" || f.Type != "application/pdf" || !bytes.Equal(f.Content, pdf) {
			t.Fatalf("attachment %q (%s): %q", f.Name, f.Type, f.Content)
		}
	})
}

func TestAttachmentsAreRefusedWithAReason(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		db := storetest.Open(t, e)
		msg := func(as ...cmail.Attachment) cmail.Message {
			return cmail.Message{Template: "preference_link", To: "a@example.com", Data: map[string]any{"PreferenceURL": "https://x/p/1"}, Attachments: as}
		}
		try := func(m cmail.Message) error {
			return db.Write(ctx, func(tx *store.Tx) error { _, err := cmail.Enqueue(tx, m); return err })
		}
		big := make([]byte, 6<<20)
		err := try(msg(cmail.Attachment{Name: "a.pdf", MediaType: "application/pdf", Content: big}, cmail.Attachment{Name: "b.pdf", MediaType: "application/pdf", Content: big}))
		if !errors.Is(err, cmail.ErrAttachmentTooLarge) || !strings.Contains(err.Error(), "10 MB") {
			t.Fatalf("12 MB of attachments: %v", err)
		}
		var ae *cmail.AttachmentError
		for _, a := range []cmail.Attachment{{Name: "../etc/passwd", MediaType: "text/plain"}, {Name: "x.pdf\r\nBcc: y", MediaType: "application/pdf"}, {Name: "", MediaType: "text/plain"}, {Name: "x.pdf", MediaType: "pdf"}} {
			if err := try(msg(a)); !errors.As(err, &ae) {
				t.Errorf("%q (%s): %v", a.Name, a.MediaType, err)
			}
		}
		err = db.Write(ctx, func(tx *store.Tx) error {
			_, err := cmail.EnqueueBatch(tx, []cmail.Message{msg(cmail.Attachment{Name: "a.pdf", MediaType: "application/pdf", Content: pdf})})
			return err
		})
		if !errors.Is(err, cmail.ErrAttachmentBatch) {
			t.Fatalf("batch with attachments: %v", err)
		}
		if list, _ := cmail.List(ctx, db, "", 0, 10); len(list) != 0 {
			t.Fatalf("refused mails were queued: %+v", list)
		}
	})
}

func TestCapturedAttachmentsStayViewableAndGoWithTheirMail(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		db := storetest.Open(t, e)
		msg := cmail.Message{Template: "preference_link", To: "a@example.com", Data: map[string]any{"PreferenceURL": "https://x/p/1"},
			Attachments: []cmail.Attachment{{Name: "report.pdf", MediaType: "application/pdf", Content: pdf}, {Name: "notes.txt", MediaType: "text/plain; charset=utf-8", Content: []byte("hello")}}}
		id := enqueue(t, db, msg)
		w := cmail.NewWorker(db, cmail.Config{From: "x@example.com", Retention: 24 * time.Hour}, quiet)
		if n, _ := w.Drain(ctx); n != 1 {
			t.Fatalf("drained %d", n)
		}
		list, err := cmail.Attachments(ctx, db, id)
		if err != nil || len(list) != 2 || list[0].Name != "report.pdf" || list[0].Size != int64(len(pdf)) || list[1].Name != "notes.txt" || list[1].Position != 2 {
			t.Fatalf("attachments %+v, %v", list, err)
		}
		a, err := cmail.AttachmentContent(ctx, db, id, 1)
		if err != nil || !bytes.HasPrefix(a.Content, []byte("%PDF")) || a.MediaType != "application/pdf" {
			t.Fatalf("content %+v, %v", a, err)
		}
		if _, err := cmail.AttachmentContent(ctx, db, id, 3); !errors.Is(err, cmail.ErrNotFound) {
			t.Fatalf("a third attachment: %v", err)
		}
		count := func() int {
			var n int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM mail_attachments`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		// Deleting the mail (as an erasure does) deletes its attachments.
		second := enqueue(t, db, msg)
		if err := db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(`DELETE FROM mail_outbox WHERE id = ?`, second)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 2 {
			t.Fatalf("%d attachments left; want the first mail's 2", n)
		}
		// So does the retention.
		w.SetClock(func() time.Time { return time.Now().Add(48 * time.Hour) })
		if n, err := w.Purge(ctx); err != nil || n != 1 {
			t.Fatalf("purged %d, %v", n, err)
		}
		if n := count(); n != 0 {
			t.Fatalf("%d attachments outlived their mail", n)
		}
	})
}
