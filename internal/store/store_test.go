package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

func TestRefusesUnknownSchema(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		db := storetest.Open(t, e)
		if err := db.CheckSchema(ctx); err != nil {
			t.Fatalf("fresh schema: %v", err)
		}
		if err := db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'from the future', 0)`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var unknown store.ErrUnknownSchema
		if err := db.CheckSchema(ctx); !errors.As(err, &unknown) || unknown.Have != 9999 {
			t.Fatalf("CheckSchema on a newer schema: %v", err)
		}
		if _, err := db.Migrate(ctx); !errors.As(err, &unknown) {
			t.Fatalf("Migrate on a newer schema: %v", err)
		}
	})
}

// A failing write rolls back alone even when it shares a batch (one
// transaction) with concurrent writes that succeed.
func TestBatchedWritesFailIndependently(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		db := storetest.Open(t, e)
		var wg sync.WaitGroup
		errs := make([]error, 200)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = db.Write(ctx, func(tx *store.Tx) error {
					if _, err := tx.Exec(`INSERT INTO settings (key, value) VALUES (?, 'v')`, fmt.Sprintf("k%d", i)); err != nil {
						return err
					}
					if i%3 == 0 {
						return errors.New("refused")
					}
					return nil
				})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if (i%3 == 0) != (err != nil) {
				t.Fatalf("write %d: %v", i, err)
			}
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM settings WHERE key LIKE 'k%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 133 {
			t.Fatalf("%d rows committed, want 133", n)
		}
	})
}

func TestBackupIsAUsableCopy(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, storetest.SQLite)
	if err := db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(`INSERT INTO settings (key, value) VALUES ('marker', 'kept')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := db.Backup(ctx, filepath.Join(dir, store.DBFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, store.DBFile)); err != nil {
		t.Fatal(err)
	}
	copyDB, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	var v string
	if err := copyDB.QueryRow(ctx, `SELECT value FROM settings WHERE key = 'marker'`).Scan(&v); err != nil || v != "kept" {
		t.Fatalf("backup lacks the data: %q %v", v, err)
	}
	if err := copyDB.CheckSchema(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRebind(t *testing.T) {
	got := store.Rebind(`SELECT '?' FROM t WHERE a = ? AND b IN (?, ?)`)
	if want := `SELECT '?' FROM t WHERE a = $1 AND b IN ($2, $3)`; got != want {
		t.Fatalf("%s", got)
	}
}

// A write that must run alone is never batched, so it never runs twice
// when a write next to it fails.
func TestWriteAloneRunsOnce(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		db := storetest.Open(t, e)
		var runs atomic.Int32
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i == 50 {
					if err := db.WriteAlone(ctx, func(tx *store.Tx) error {
						runs.Add(1)
						_, err := tx.Exec(`INSERT INTO settings (key, value) VALUES ('alone', 'v')`)
						return err
					}); err != nil {
						t.Error(err)
					}
					return
				}
				db.Write(ctx, func(tx *store.Tx) error { return errors.New("refused") })
			}()
		}
		wg.Wait()
		var v string
		if err := db.QueryRow(ctx, `SELECT value FROM settings WHERE key = 'alone'`).Scan(&v); err != nil || runs.Load() != 1 {
			t.Fatalf("alone write ran %d times, stored %q %v", runs.Load(), v, err)
		}
	})
}
