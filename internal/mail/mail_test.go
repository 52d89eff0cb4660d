package mail_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/mail/mailtest"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func enqueue(t *testing.T, db *store.DB, m mail.Message) int64 {
	t.Helper()
	var id int64
	err := db.Write(context.Background(), func(tx *store.Tx) error {
		var err error
		id, err = mail.Enqueue(tx, m)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func worker(t *testing.T, db *store.DB, srv *mailtest.Server, maxAttempts int) *mail.Worker {
	t.Helper()
	cfg := mail.Config{From: "Consento <privacy@example.com>", Rate: 1000, MaxAttempts: maxAttempts}
	if srv != nil {
		s, err := mail.ParseSMTPURL(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		cfg.SMTP = s
	}
	return mail.NewWorker(db, cfg, quiet)
}

func TestDeliversMultipartWithOneClickUnsubscribe(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		db := storetest.Open(t, e)
		srv := mailtest.Start(t)
		id := enqueue(t, db, mail.Message{Template: "consent_request", Language: "de", To: "grete@example.dk",
			Data:        map[string]any{"Name": "Grete", "Controller": "Beispiel GmbH", "PreferenceURL": "https://consent.example.com/p/abc", "Purposes": []map[string]any{{"Name": "E-Marketing", "ConsentText": "Ja, ich möchte Newsletter <erhalten>."}}},
			Unsubscribe: &mail.Unsubscribe{URL: "https://consent.example.com/u/tok", Mailto: "unsubscribe@example.com"}})
		enqueue(t, db, mail.Message{Template: "preference_link", Language: "xx", To: "ole@example.dk", Data: map[string]any{"PreferenceURL": "https://consent.example.com/p/def", "Controller": "Example"}})

		n, err := worker(t, db, srv, 0).Drain(context.Background())
		if err != nil || n != 2 {
			t.Fatalf("drained %d, %v", n, err)
		}
		got := srv.Wait(t, 2)
		m := got[0]
		if m.Header.Get("To") != "<grete@example.dk>" || len(m.To) != 1 || m.To[0] != "grete@example.dk" {
			t.Errorf("recipient: header %q, envelope %v", m.Header.Get("To"), m.To)
		}
		subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		if subject != "Dürfen wir in Kontakt bleiben?" {
			t.Errorf("subject %q", subject)
		}
		if got := m.Header.Get("List-Unsubscribe"); got != "<https://consent.example.com/u/tok>, <mailto:unsubscribe@example.com?subject=unsubscribe>" {
			t.Errorf("List-Unsubscribe %q", got)
		}
		if got := m.Header["List-Unsubscribe-Post"]; len(got) != 1 || got[0] != "List-Unsubscribe=One-Click" {
			t.Errorf("List-Unsubscribe-Post %q", got)
		}
		if !strings.Contains(m.Text, "https://consent.example.com/p/abc") || !strings.Contains(m.Text, "Ja, ich möchte Newsletter <erhalten>.") {
			t.Errorf("text part:\n%s", m.Text)
		}
		if !strings.Contains(m.HTML, `<a href="https://consent.example.com/p/abc">`) || !strings.Contains(m.HTML, "Newsletter &lt;erhalten&gt;.") {
			t.Errorf("html part (escaped):\n%s", m.HTML)
		}
		if !strings.Contains(m.HTML, "https://consent.example.com/u/tok") {
			t.Errorf("the visible unsubscribe link is missing:\n%s", m.HTML)
		}
		// A mail that is not marketing carries no unsubscribe headers, and
		// an unknown language falls back to English.
		if h := got[1].Header.Get("List-Unsubscribe"); h != "" {
			t.Errorf("transactional mail has List-Unsubscribe %q", h)
		}
		if got[1].Header.Get("Subject") != "Your personal privacy page" {
			t.Errorf("fallback subject %q", got[1].Header.Get("Subject"))
		}
		entry, err := mail.Get(context.Background(), db, id)
		if err != nil || entry.Status != mail.StatusSent || entry.SentAt == nil || entry.Attempts != 1 {
			t.Fatalf("outbox entry %+v, %v", entry, err)
		}
	})
}

func TestMailIsQueuedOnlyWithItsChange(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		db := storetest.Open(t, e)
		boom := errors.New("the change failed")
		err := db.Write(context.Background(), func(tx *store.Tx) error {
			if _, err := mail.Enqueue(tx, mail.Message{Template: "preference_link", To: "a@example.com", Data: map[string]any{"PreferenceURL": "https://x/p/1"}}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		list, _ := mail.List(context.Background(), db, "", 0, 10)
		if len(list) != 0 {
			t.Fatalf("a rolled-back change left %d mails", len(list))
		}
		err = db.Write(context.Background(), func(tx *store.Tx) error {
			_, err := mail.Enqueue(tx, mail.Message{Template: "preference_link", To: "not an address\r\nBcc: x@evil", Data: nil})
			return err
		})
		if !errors.Is(err, mail.ErrRecipient) {
			t.Fatalf("bad recipient: %v", err)
		}
	})
}

func TestCapturesWithoutSMTP(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		db := storetest.Open(t, e)
		id := enqueue(t, db, mail.Message{Template: "optin", Language: "da", To: "ole@example.dk", Data: map[string]any{"ConfirmURL": "https://x/f/confirm/1", "Controller": "Eksempel A/S", "ExpiresHours": 48}})
		if n, err := worker(t, db, nil, 0).Drain(context.Background()); err != nil || n != 1 {
			t.Fatalf("drained %d, %v", n, err)
		}
		entry, err := mail.Get(context.Background(), db, id)
		if err != nil || entry.Status != mail.StatusCaptured || entry.Subject != "Bekræft venligst din tilmelding" || !strings.Contains(entry.Text, "https://x/f/confirm/1") {
			t.Fatalf("captured entry %+v, %v", entry, err)
		}
		counts, _ := mail.Counts(context.Background(), db)
		if counts[mail.StatusCaptured] != 1 {
			t.Fatalf("counts %v", counts)
		}
	})
}

func TestRetriesWithBackoffThenDeadThenStaffRetry(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		db := storetest.Open(t, e)
		srv := mailtest.Start(t)
		srv.Reject("bounce@example.com", true)
		id := enqueue(t, db, mail.Message{Template: "preference_link", To: "bounce@example.com", Data: map[string]any{"PreferenceURL": "https://x/p/1"}})
		w := worker(t, db, srv, 2)
		now := time.Now().UTC()
		w.SetClock(func() time.Time { return now })
		if _, err := w.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		entry, _ := mail.Get(ctx, db, id)
		if entry.Status != mail.StatusQueued || entry.Attempts != 1 || !strings.Contains(entry.LastError, "550") {
			t.Fatalf("after one failure: %+v", entry)
		}
		if d := entry.NextAttempt.Sub(now); d < 29*time.Second || d > 31*time.Second {
			t.Fatalf("next attempt in %v, want 30 s", d)
		}
		// Not due yet: nothing happens.
		if n, _ := w.Drain(ctx); n != 0 {
			t.Fatalf("sent %d mails before the backoff ended", n)
		}
		now = now.Add(31 * time.Second)
		w.Drain(ctx)
		if entry, _ = mail.Get(ctx, db, id); entry.Status != mail.StatusDead || entry.Attempts != 2 {
			t.Fatalf("after the last attempt: %+v", entry)
		}
		srv.Reject("bounce@example.com", false)
		if err := db.Write(ctx, func(tx *store.Tx) error { return mail.RetryTx(tx, id) }); err != nil {
			t.Fatal(err)
		}
		if err := db.Write(ctx, func(tx *store.Tx) error { return mail.RetryTx(tx, id) }); !errors.Is(err, mail.ErrNotFound) {
			t.Fatalf("retrying a queued mail: %v", err)
		}
		w.Drain(ctx)
		if entry, _ = mail.Get(ctx, db, id); entry.Status != mail.StatusSent {
			t.Fatalf("after the staff retry: %+v", entry)
		}
		if len(srv.Wait(t, 1)) != 1 {
			t.Fatal("the retried mail did not arrive")
		}
	})
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 20: 6 * time.Hour} {
		if got := mail.Backoff(n); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestStaffTemplate(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		db := storetest.Open(t, e)
		bad := `{{define "subject"}}Hi{{end}}{{define "text"}}{{.Name}{{end}}`
		err := db.Write(ctx, func(tx *store.Tx) error { return mail.SaveSourceTx(tx, "user:1", "welcome", "en", bad) })
		var te *mail.TemplateError
		if !errors.As(err, &te) {
			t.Fatalf("a broken template was accepted: %v", err)
		}
		missing := `{{define "subject"}}Hi{{end}}{{define "text"}}x{{end}}`
		if err := db.Write(ctx, func(tx *store.Tx) error { return mail.SaveSourceTx(tx, "user:1", "welcome", "en", missing) }); !errors.As(err, &te) {
			t.Fatalf("a template without html part was accepted: %v", err)
		}
		good := `{{define "subject"}}Welcome {{.Name}}{{end}}{{define "text"}}Manage: {{.PreferenceURL}}{{end}}{{define "html"}}<a href="{{.PreferenceURL}}">Manage</a>{{end}}`
		if err := db.Write(ctx, func(tx *store.Tx) error { return mail.SaveSourceTx(tx, "user:1", "welcome", "en", good) }); err != nil {
			t.Fatal(err)
		}
		src, _ := mail.Source(ctx, db, "welcome", "en")
		if !src.Custom || src.Source != good || src.UpdatedBy != "user:1" {
			t.Fatalf("stored source %+v", src)
		}
		id := enqueue(t, db, mail.Message{Template: "welcome", Language: "en", To: "a@example.com", Data: map[string]any{"Name": "Ann", "PreferenceURL": "https://x/p/1"}})
		entry, _ := mail.Get(ctx, db, id)
		if entry.Subject != "Welcome Ann" || entry.Text != "Manage: https://x/p/1\n" {
			t.Fatalf("rendered with the staff template: %q / %q", entry.Subject, entry.Text)
		}
		// German still uses the built-in template; an empty source restores.
		if src, _ := mail.Source(ctx, db, "welcome", "de"); src.Custom {
			t.Fatal("the German template changed too")
		}
		db.Write(ctx, func(tx *store.Tx) error { return mail.SaveSourceTx(tx, "user:1", "welcome", "en", "") })
		if src, _ := mail.Source(ctx, db, "welcome", "en"); src.Custom {
			t.Fatal("the built-in template was not restored")
		}
	})
}

func TestParseSMTPURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"smtp://user:secret@mail.example.com:587": true, "smtps://mail.example.com": true, "smtp://h:25?tls=none": true,
		"http://mail.example.com": false, "smtp://": false, "smtp://h:0": false, "smtp://h?tls=maybe": false,
	} {
		s, err := mail.ParseSMTPURL(raw)
		if (err == nil) != ok {
			t.Errorf("%s: %v", raw, err)
		}
		if ok && raw == "smtps://mail.example.com" && (s.Port != 465 || !s.SSL) {
			t.Errorf("smtps defaults: %+v", s)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}

func TestRetentionDeletesOldMailOnly(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		db := storetest.Open(t, e)
		msg := mail.Message{Template: "preference_link", To: "a@example.com", Data: map[string]any{"PreferenceURL": "https://x/p/1"}}
		enqueue(t, db, msg)
		enqueue(t, db, msg)
		w := mail.NewWorker(db, mail.Config{From: "x@example.com", Retention: 24 * time.Hour}, quiet)
		if n, _ := w.Drain(ctx); n != 2 {
			t.Fatalf("drained %d", n)
		}
		waiting := enqueue(t, db, msg)
		if n, err := w.Purge(ctx); err != nil || n != 0 {
			t.Fatalf("purged fresh mail: %d, %v", n, err)
		}
		w.SetClock(func() time.Time { return time.Now().Add(48 * time.Hour) })
		if n, err := w.Purge(ctx); err != nil || n != 2 {
			t.Fatalf("purged %d, %v; want the 2 captured mails", n, err)
		}
		list, _ := mail.List(ctx, db, "", 0, 10)
		if len(list) != 1 || list[0].ID != waiting {
			t.Fatalf("left %+v; want the queued mail", list)
		}
	})
}
