package mail_test

import (
	"context"
	"testing"

	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/mail/mailtest"
	"github.com/consento/consento/internal/storetest"
)

// Addresses are stored with Unicode domains; the mail goes out to the
// punycode form, which every SMTP server accepts.
func TestSendsToPunycodeDomain(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		db := storetest.Open(t, e)
		srv := mailtest.Start(t)
		enqueue(t, db, mail.Message{Template: "preference_link", Language: "de", To: "anna@bücher.de",
			Data: map[string]any{"PreferenceURL": "https://consent.example.com/p/x", "Controller": "Beispiel GmbH"}})
		if n, err := worker(t, db, srv, 0).Drain(context.Background()); err != nil || n != 1 {
			t.Fatalf("drained %d, %v", n, err)
		}
		m := srv.Wait(t, 1)[0]
		if len(m.To) != 1 || m.To[0] != "anna@xn--bcher-kva.de" || m.Header.Get("To") != "<anna@xn--bcher-kva.de>" {
			t.Errorf("recipient: envelope %v, header %q", m.To, m.Header.Get("To"))
		}
	})
}
