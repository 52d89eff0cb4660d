package ledger_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// The blocklist is keyed by the configured secret; another secret is
// noticed before a blocked address could slip through.
func TestBlocklistSecret(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		db := storetest.Open(t, e)
		l := ledger.New(db)
		if err := l.Seed(ctx); err != nil {
			t.Fatal(err)
		}
		if err := l.CheckBlocklistSecret(ctx); err != nil {
			t.Fatalf("an empty blocklist with no secret: %v", err)
		}
		secret := []byte("0123456789abcdef0123456789abcdef")
		l.SetBlocklistSecret(secret)
		if err := db.Write(ctx, func(tx *store.Tx) error {
			return l.BlockEmailsTx(tx, []string{"Erased@Example.com"}, time.Now())
		}); err != nil {
			t.Fatal(err)
		}
		_, err := l.CreatePerson(ctx, staff, ledger.PersonInput{LastName: "X", Emails: []string{"erased@example.com"}})
		if de, ok := ledger.AsError(err); !ok || de.Code != ledger.ErrBlockedCode {
			t.Fatalf("a blocked address: %v", err)
		}
		if _, err := l.CreatePerson(ctx, staff, ledger.PersonInput{LastName: "Y", Emails: []string{"fresh@example.com"}}); err != nil {
			t.Fatalf("a fresh address: %v", err)
		}
		for _, other := range [][]byte{nil, []byte("another secret of at least 32 chars!")} {
			l2 := ledger.New(db)
			l2.SetBlocklistSecret(other)
			if err := l2.CheckBlocklistSecret(ctx); !errors.Is(err, ledger.ErrBlocklistKey) {
				t.Fatalf("secret %q against the stored blocklist: %v", other, err)
			}
			if _, err := l2.CreatePerson(ctx, staff, ledger.PersonInput{LastName: "Z", Emails: []string{"erased@example.com"}}); !errors.Is(err, ledger.ErrBlocklistKey) {
				t.Fatalf("creating with the wrong secret: %v", err)
			}
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM settings WHERE key = 'blocklist_hmac_key'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("a configured secret stored a key in the database: %d %v", n, err)
		}
	})
}
