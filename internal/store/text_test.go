package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// A NUL byte or broken UTF-8 in a written text is refused alike on both
// engines (PostgreSQL cannot store it; SQLite would), and nothing is
// written; a read with such a text is no internal error either.
func TestWritesRefuseTextsPostgresCannotStore(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		db := storetest.Open(t, e)
		for _, bad := range []string{"a\x00b", "\xff\xfe", "ok\x00"} {
			err := db.Write(ctx, func(tx *store.Tx) error {
				_, err := tx.Exec(`INSERT INTO organisations (name, reg_number, country, created_at, updated_at) VALUES (?, '', '', 0, 0)`, bad)
				return err
			})
			if !errors.Is(err, store.ErrInvalidText) || !store.IsInvalidText(err) {
				t.Errorf("insert %q: %v, want ErrInvalidText", bad, err)
			}
			err = db.Write(ctx, func(tx *store.Tx) error {
				_, err := tx.InsertID(`INSERT INTO organisations (name, reg_number, country, created_at, updated_at) VALUES (?, '', '', 0, 0)`, bad)
				return err
			})
			if !errors.Is(err, store.ErrInvalidText) {
				t.Errorf("insert id %q: %v, want ErrInvalidText", bad, err)
			}
			var n int
			err = db.QueryRow(ctx, `SELECT COUNT(*) FROM organisations WHERE name = ?`, bad).Scan(&n)
			if err != nil && !store.IsInvalidText(err) {
				t.Errorf("read with %q: %v is not recognised as an invalid text", bad, err)
			}
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM organisations`).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d organisations stored (%v)", n, err)
		}
		if err := db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(`INSERT INTO organisations (name, reg_number, country, created_at, updated_at) VALUES (?, '', '', 0, 0)`, "Ærø\tline\nbreak")
			return err
		}); err != nil {
			t.Errorf("a valid text with tab and newline: %v", err)
		}
	})
}
