package store_test

import (
	"context"
	"testing"

	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// An installation from before mailbox keys gets a key for every stored
// address on upgrade: other spellings of a stored mailbox are found.
func TestMigrationKeysStoredAddresses(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		db, err := store.Open(ctx, storetest.Options(t, e))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.MigrateTo(ctx, 13); err != nil {
			t.Fatal(err)
		}
		stored := map[string]string{ // as the old version stored them -> key
			"anna@example.com":         "anna@example.com",
			"ben+news@example.com":     "ben@example.com",
			"carla@xn--bcher-kva.de":   "carla@xn--bcher-kva.de",
			"dora@bücher.de":           "dora@xn--bcher-kva.de",
			"e.r.i.k@googlemail.com":   "erik@gmail.com",
			"ju\u0308rgen@example.com": "jürgen@example.com",
			"odd@ab--cd.com":           "odd@ab--cd.com", // refused today: keeps itself
		}
		if err := db.Write(ctx, func(tx *store.Tx) error {
			i := 0
			for email := range stored {
				i++
				if _, err := tx.Exec(`INSERT INTO persons (id, created_at, created_by, updated_at, updated_by) VALUES (?, 0, 'test', 0, 'test')`, i); err != nil {
					return err
				}
				if _, err := tx.Exec(`INSERT INTO person_emails (email, person_id, is_primary) VALUES (?, ?, 1)`, email, i); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		for email, key := range stored {
			var got string
			if err := db.QueryRow(ctx, `SELECT mailbox FROM person_emails WHERE email = ?`, email).Scan(&got); err != nil || got != key {
				t.Errorf("%q: mailbox %q, %v; want %q", email, got, err, key)
			}
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM person_emails WHERE mailbox = ?`, "carla@xn--bcher-kva.de").Scan(&n); err != nil || n != 1 {
			t.Errorf("look-up by key: %d, %v", n, err)
		}
	})
}
