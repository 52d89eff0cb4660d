package rights_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/importer"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// After a level-3 erasure no other spelling of the erased mailboxes gets
// back in: not by hand, not by import, not into another person.
func TestErasedMailboxBlockedInEverySpelling(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		ctx := e.ctx
		p := must[*ledger.Person](t)(e.l.CreatePerson(ctx, officer, ledger.PersonInput{FirstName: "Anna", LastName: "Berg",
			Emails: []string{"anna.berg@bücher.de", "Anna.Berg@gmail.com"}}))
		other := must[*ledger.Person](t)(e.l.CreatePerson(ctx, officer, ledger.PersonInput{FirstName: "Olga", Emails: []string{"olga@example.com"}}))
		c := e.verifiedCase(t, p.ID, rights.TypeErasure)
		if _, err := e.r.Erase(ctx, officer, c.ID, rights.LevelAnonymize, "request by letter"); err != nil {
			t.Fatal(err)
		}
		spellings := []string{
			"anna.berg@xn--bcher-kva.de", "ANNA.BERG@BÜCHER.DE", " anna.berg+news@bücher.de ", `"Berg, Anna" <Anna.Berg@xn--bcher-kva.de>`,
			"Anna Berg <annaberg@gmail.com>", "a.n.n.a.b.e.r.g+x@googlemail.com",
		}
		for _, s := range spellings {
			_, err := e.l.CreatePerson(ctx, officer, ledger.PersonInput{FirstName: "A", Emails: []string{s}})
			if code(err) != ledger.ErrBlockedCode {
				t.Errorf("creating %q: %v, want %s", s, err, ledger.ErrBlockedCode)
			}
			_, err = e.l.UpdatePerson(ctx, officer, other.ID, ledger.PersonPatch{Emails: []string{"olga@example.com", s}})
			if code(err) != ledger.ErrBlockedCode {
				t.Errorf("adding %q to another person: %v", s, err)
			}
		}
		var csv strings.Builder
		csv.WriteString("first_name;last_name;email\n")
		for _, s := range spellings {
			csv.WriteString(`A;B;"` + strings.ReplaceAll(s, `"`, `""`) + "\"\n")
		}
		csv.WriteString("New;Person;new@bücher.de\n")
		var rejects bytes.Buffer
		rep, err := importer.Run(ctx, e.l, strings.NewReader(csv.String()), importer.Options{Rejects: &rejects})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Created != 1 || rep.RejectReasons[ledger.ErrBlockedCode] != int64(len(spellings)) {
			t.Fatalf("import of other spellings: %+v\n%s", rep, rejects.String())
		}
		// A plain address is neither blocked nor confused with the erased ones.
		must[*ledger.Person](t)(e.l.CreatePerson(ctx, officer, ledger.PersonInput{FirstName: "B", Emails: []string{"anna.berg@example.de", "anna.berg2@gmail.com"}}))
	})
}

// Entries made before mailbox keys (a hash of the address as stored then)
// keep blocking that spelling.
func TestLegacyBlocklistEntriesStillBlock(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		ctx := e.ctx
		// Older versions hashed the lower-cased address as typed: the
		// domain in punycode here, and the plus tag kept.
		if err := e.db.Write(ctx, func(tx *store.Tx) error {
			return e.l.BlockEmailsTx(tx, []string{"seed@example.com"}, time.Now()) // creates the key
		}); err != nil {
			t.Fatal(err)
		}
		var hexKey string
		if err := e.db.QueryRow(ctx, `SELECT value FROM settings WHERE key = 'blocklist_hmac_key'`).Scan(&hexKey); err != nil {
			t.Fatal(err)
		}
		key, _ := hex.DecodeString(hexKey)
		for _, old := range []string{"old@xn--bcher-kva.de", "old+tag@example.com"} {
			m := hmac.New(sha256.New, key)
			m.Write([]byte(old))
			if err := e.db.Write(ctx, func(tx *store.Tx) error {
				_, err := tx.Exec(`INSERT INTO email_blocklist (hash, created_at) VALUES (?, 0)`, m.Sum(nil))
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range []string{"old@bücher.de", "OLD@XN--BCHER-KVA.DE", "Old+Tag@Example.com"} {
			if _, err := e.l.CreatePerson(ctx, officer, ledger.PersonInput{FirstName: "O", Emails: []string{s}}); code(err) != ledger.ErrBlockedCode {
				t.Errorf("creating %q against a legacy entry: %v", s, err)
			}
		}
		rep, err := importer.Run(ctx, e.l, strings.NewReader("email\nold@bücher.de\nold+tag@example.com\n"), importer.Options{})
		if err != nil || rep.RejectReasons[ledger.ErrBlockedCode] != 2 {
			t.Fatalf("import against legacy entries: %+v %v", rep, err)
		}
	})
}
