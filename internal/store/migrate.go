package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func (db *DB) migrations() ([]migration, error) {
	dir := path.Join("migrations", string(db.Dialect))
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("store: migration %s has no version prefix", e.Name())
		}
		b, err := migrationFS.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// LatestVersion is the newest schema version this binary knows.
func (db *DB) LatestVersion() int {
	ms, _ := db.migrations()
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// SchemaVersion reads the version of the schema in the database (0 when empty).
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("store: schema_migrations: %w", err)
	}
	var v int
	if err := db.write.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: read schema version: %w", err)
	}
	return v, nil
}

// ErrUnknownSchema means the database was migrated by a newer Consento.
type ErrUnknownSchema struct{ Have, Know int }

func (e ErrUnknownSchema) Error() string {
	return fmt.Sprintf("store: the database schema is version %d but this consento knows only up to %d; run a newer consento", e.Have, e.Know)
}

// MigrateLockFile is the file beside the SQLite database that processes
// lock while they connect to it first and while they migrate it.
const MigrateLockFile = DBFile + ".migrate-lock"

// Migrate applies every migration the database lacks, each in its own
// transaction, and returns the versions it applied. It refuses a schema
// newer than the binary. Processes that migrate the same database at once
// (a server starting while `consento token create` runs on a fresh data
// directory) take turns: PostgreSQL through an advisory lock, SQLite
// through an exclusive lock on MigrateLockFile; and each migration's
// transaction reads the version again, so a migration another process
// applied meanwhile is skipped, never applied twice.
func (db *DB) Migrate(ctx context.Context) ([]int, error) {
	return db.MigrateTo(ctx, db.LatestVersion())
}

// MigrateTo applies the migrations the database lacks up to version
// (an upgrade from an older release is tested this way).
func (db *DB) MigrateTo(ctx context.Context, version int) ([]int, error) {
	ms, err := db.migrations()
	if err != nil {
		return nil, err
	}
	switch db.Dialect {
	case Postgres:
		conn, err := db.write.Conn(ctx)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(727001)`); err != nil {
			return nil, fmt.Errorf("store: migration lock: %w", err)
		}
		defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(727001)`)
	case SQLite:
		unlock, err := lockFile(ctx, filepath.Join(filepath.Dir(db.Path), MigrateLockFile))
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	have, err := db.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	latest := db.LatestVersion()
	if have > latest {
		return nil, ErrUnknownSchema{Have: have, Know: latest}
	}
	var applied []int
	for _, m := range ms {
		if m.version <= have || m.version > version {
			continue
		}
		done, err := db.applyMigration(ctx, m)
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, m.version)
		}
	}
	return applied, nil
}

// applyMigration runs one migration in a transaction unless the schema
// has reached its version meanwhile. On SQLite the writer's transactions
// begin IMMEDIATE: the version is read under the database's write lock.
func (db *DB) applyMigration(ctx context.Context, m migration) (bool, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: migration %s: %w", m.name, err)
	}
	defer tx.Rollback()
	var have int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return false, fmt.Errorf("store: read schema version: %w", err)
	}
	if have >= m.version {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("store: migration %s: %w", m.name, err)
	}
	if step := db.goStep(m.version); step != nil {
		if err := step(ctx, tx); err != nil {
			return false, fmt.Errorf("store: migration %s: %w", m.name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, db.Q(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`), m.version, m.name, time.Now().UnixMicro()); err != nil {
		return false, fmt.Errorf("store: record migration %s: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: commit migration %s: %w", m.name, err)
	}
	return true, nil
}

// CheckSchema fails unless the database is exactly at the binary's schema.
func (db *DB) CheckSchema(ctx context.Context) error {
	have, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	latest := db.LatestVersion()
	switch {
	case have > latest:
		return ErrUnknownSchema{Have: have, Know: latest}
	case have < latest:
		return fmt.Errorf("store: the database schema is version %d, this consento needs %d; run `consento migrate`", have, latest)
	}
	return nil
}
