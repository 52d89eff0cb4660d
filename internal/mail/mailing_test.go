package mail_test

import (
	"context"
	"testing"

	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// A mailing renders exactly what one full render per recipient would,
// whatever the names hold and wherever a template puts them.
func TestMailingRendersAsEachMailAlone(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		db := storetest.Open(t, e)
		shared := map[string]any{"Controller": "Beispiel & Söhne <GmbH>", "PrivacyURL": "https://example.com/privacy",
			"Purposes": []map[string]any{{"Name": "E-Marketing", "ConsentText": `Ja, "gerne" + mehr`}}}
		names := []string{"Grete", "", `Zoë <script>&"'+`, "O'Brien + Co"}
		check := func(t *testing.T) {
			var rs []mail.Recipient
			for i, n := range names {
				for _, l := range []string{"de", "en", "da"} {
					rs = append(rs, mail.Recipient{PersonID: 0, To: "r" + l + string(rune('a'+i)) + "@example.com", Language: l,
						Personal:    map[string]string{"Name": n, "PreferenceURL": "https://consent.example.com/p/Tok-_" + l},
						Unsubscribe: &mail.Unsubscribe{URL: "https://consent.example.com/u/U-_" + l}})
				}
			}
			var fast []int64
			err := db.Write(ctx, func(tx *store.Tx) error {
				if _, err := tx.Exec(`DELETE FROM mail_outbox`); err != nil {
					return err
				}
				if _, err := mail.EnqueueMailing(tx, "consent_request", shared, rs); err != nil {
					return err
				}
				for _, r := range rs {
					data := map[string]any{"Name": r.Personal["Name"], "PreferenceURL": r.Personal["PreferenceURL"]}
					for k, v := range shared {
						data[k] = v
					}
					if _, err := mail.Enqueue(tx, mail.Message{Template: "consent_request", Language: r.Language, To: r.To, Data: data, Unsubscribe: r.Unsubscribe}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			list, _ := mail.List(ctx, db, "", 0, 1000)
			if len(list) != 2*len(rs) {
				t.Fatalf("%d mails", len(list))
			}
			for _, m := range list {
				fast = append(fast, m.ID)
			}
			// Newest first: the full renders, then the mailing, in reverse.
			n := len(rs)
			for i := range n {
				full, _ := mail.Get(ctx, db, fast[n-1-i])
				quick, _ := mail.Get(ctx, db, fast[2*n-1-i])
				if full.To != quick.To || full.Subject != quick.Subject || full.Text != quick.Text || full.HTML != quick.HTML || full.Unsubscribe != quick.Unsubscribe {
					t.Fatalf("mailing and full render differ for %s:\n%q\n%q\n%q\n%q", full.To, full.HTML, quick.HTML, full.Text, quick.Text)
				}
			}
		}
		t.Run("built-in", check)
		// A staff template that puts the name into a link: the stencil is
		// refused and every mail is rendered in full, still alike.
		odd := `{{define "subject"}}Hi {{.Name}}{{end}}{{define "text"}}{{.Name}} {{.PreferenceURL}}{{end}}{{define "html"}}<a href="{{.PreferenceURL}}?n={{.Name}}" title="{{.Name}}">{{.Name}}</a>{{end}}`
		for _, l := range []string{"en", "de", "da"} {
			if err := db.Write(ctx, func(tx *store.Tx) error { return mail.SaveSourceTx(tx, "user:1", "consent_request", l, odd) }); err != nil {
				t.Fatal(err)
			}
		}
		t.Run("name in a link", check)
	})
}
