// Package storetest gives tests a fresh, migrated database on every engine:
// SQLite in a temporary directory, and PostgreSQL in a database of its own.
//
// PostgreSQL is reached through CONSENTO_TEST_POSTGRES_URL, else a server on
// 127.0.0.1:5432; when neither answers the PostgreSQL cases are skipped,
// except with CI=true, where they fail.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/consento/consento/internal/store"
)

// Engine names a database engine under test.
type Engine string

const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

var (
	pgOnce sync.Once
	pgBase string
	pgErr  error
)

// PostgresURL returns the admin URL of the test PostgreSQL server, or "".
func PostgresURL() (string, error) {
	pgOnce.Do(func() {
		candidates := []string{os.Getenv("CONSENTO_TEST_POSTGRES_URL")}
		if candidates[0] == "" {
			candidates = []string{"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"}
		}
		for _, u := range candidates {
			db, err := sql.Open("pgx", u)
			if err != nil {
				pgErr = err
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			err = db.PingContext(ctx)
			cancel()
			db.Close()
			if err == nil {
				pgBase, pgErr = u, nil
				return
			}
			pgErr = err
		}
	})
	return pgBase, pgErr
}

// Engines runs fn once per engine as a subtest.
func Engines(t *testing.T, fn func(t *testing.T, e Engine)) {
	t.Helper()
	for _, e := range []Engine{SQLite, Postgres} {
		t.Run(string(e), func(t *testing.T) { fn(t, e) })
	}
}

// Options returns store options for a fresh, empty database on engine e.
func Options(t testing.TB, e Engine) store.Options {
	t.Helper()
	if e == SQLite {
		return store.Options{DataDir: t.TempDir()}
	}
	base, err := PostgresURL()
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required in CI but not reachable: %v", err)
		}
		t.Skipf("PostgreSQL not reachable (set CONSENTO_TEST_POSTGRES_URL): %v", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "consento_t_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		admin.Close()
	})
	u, _ := url.Parse(base)
	u.Path = "/" + name
	return store.Options{DatabaseURL: u.String(), DataDir: t.TempDir()}
}

// Open returns a fresh migrated database on engine e, closed at cleanup.
func Open(t testing.TB, e Engine) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), Options(t, e))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}
