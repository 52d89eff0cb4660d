// Package store opens Consento's database (embedded SQLite or PostgreSQL),
// runs its migrations and funnels every write through one batching writer,
// so that each change and its audit events commit in the same transaction.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	_ "modernc.org/sqlite"             // SQLite driver "sqlite"
)

// Dialect names the SQL engine behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DBFile is the name of the SQLite database inside the data directory.
const DBFile = "consento.db"

// DB is an open Consento database: a read pool and a single batching writer.
type DB struct {
	Dialect Dialect
	// Path is the SQLite file, empty for PostgreSQL.
	Path string

	url string // PostgreSQL connection URL

	read  *sql.DB
	write *sql.DB
	w     *writer

	rebound sync.Map // query text -> dialect-specific text

	stmts stmts // prepared hot reads (Stmt)
}

// Options tune Open.
type Options struct {
	// DatabaseURL selects PostgreSQL when it starts with postgres:// or
	// postgresql://; empty means SQLite in DataDir.
	DatabaseURL string
	DataDir     string
	// ReadConns bounds the read pool (default: 2×CPUs, at least 4).
	ReadConns int
}

// Open connects to the database named by opts. It does not migrate.
func Open(ctx context.Context, opts Options) (*DB, error) {
	readConns := opts.ReadConns
	if readConns <= 0 {
		readConns = max(4, 2*runtime.NumCPU())
	}
	db := &DB{}
	switch {
	case IsPostgresURL(opts.DatabaseURL):
		db.Dialect = Postgres
		db.url = opts.DatabaseURL
		pool, err := sql.Open("pgx", opts.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("store: postgres url: %w", err)
		}
		pool.SetMaxOpenConns(2 * readConns)
		pool.SetMaxIdleConns(2 * readConns)
		pool.SetConnMaxIdleTime(5 * time.Minute)
		db.read, db.write = pool, pool
	case opts.DatabaseURL != "":
		return nil, fmt.Errorf("store: database url must start with postgres:// or postgresql:// (leave it empty for the embedded SQLite database)")
	default:
		db.Dialect = SQLite
		registerSQLiteFunctions()
		if opts.DataDir == "" {
			return nil, errors.New("store: data directory is empty")
		}
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create data directory: %w", err)
		}
		db.Path = filepath.Join(opts.DataDir, DBFile)
		w, err := sql.Open("sqlite", sqliteDSN(db.Path, false))
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxLifetime(0)
		r, err := sql.Open("sqlite", sqliteDSN(db.Path, true))
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		r.SetMaxOpenConns(readConns)
		r.SetMaxIdleConns(readConns)
		r.SetConnMaxLifetime(0)
		db.read, db.write = r, w
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if db.Dialect == SQLite {
		// The first connection to a fresh file switches it to WAL, which
		// fails at once while another process is creating or migrating it.
		unlock, err := lockFile(ctx, filepath.Join(opts.DataDir, MigrateLockFile))
		if err != nil {
			db.Close()
			return nil, err
		}
		defer unlock()
	}
	if err := db.write.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", db.Dialect, err)
	}
	db.w = newWriter(db)
	return db, nil
}

// IsPostgresURL reports whether u selects the PostgreSQL engine.
func IsPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	for _, p := range []string{
		"busy_timeout(10000)", // first: switching a fresh file to WAL waits for another process too
		"journal_mode(WAL)",
		"foreign_keys(ON)",
		"secure_delete(ON)",
		"synchronous(FULL)",
		"cache_size(-32000)",
		"temp_store(MEMORY)",
		"mmap_size(8589934592)", // SQLite caps it at 2 GiB; see docs/benchmarks.md
	} {
		q.Add("_pragma", p)
	}
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// Close stops the writer and closes the pools.
func (db *DB) Close() error {
	if db.w != nil {
		db.w.stop()
	}
	db.closeStmts()
	var err error
	if db.read != nil {
		err = db.read.Close()
	}
	if db.write != nil && db.write != db.read {
		err = errors.Join(err, db.write.Close())
	}
	return err
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return db.read.PingContext(ctx)
}

// Q rewrites a query written with ? placeholders for the dialect.
func (db *DB) Q(query string) string {
	if db.Dialect != Postgres {
		return query
	}
	if v, ok := db.rebound.Load(query); ok {
		return v.(string)
	}
	out := Rebind(query)
	db.rebound.Store(query, out)
	return out
}

// Rebind turns ? placeholders into $1, $2, … (outside quoted strings).
func Rebind(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	inQuote := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			inQuote = !inQuote
			b.WriteByte(c)
		case c == '?' && !inQuote:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Query runs a read query on the read pool.
func (db *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.read.QueryContext(ctx, db.Q(query), args...)
}

// QueryRow runs a single-row read query on the read pool.
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.read.QueryRowContext(ctx, db.Q(query), args...)
}

// Conn returns a dedicated read connection (for long streaming reads).
func (db *DB) Conn(ctx context.Context) (*sql.Conn, error) {
	return db.read.Conn(ctx)
}

// MaxParams is the largest number of bind parameters one statement may use.
func (db *DB) MaxParams() int {
	if db.Dialect == Postgres {
		return 65535
	}
	return 32766
}

// Placeholders returns "?,?,…" with n marks.
func Placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

// IsUniqueViolation reports whether err is a unique-constraint violation.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505")
}

// Micros is the storage form of a time: microseconds since the Unix epoch.
func Micros(t time.Time) int64 { return t.UnixMicro() }

// FromMicros converts a stored time back.
func FromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
