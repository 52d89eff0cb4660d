package store

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
)

// Backup writes a consistent copy of the database to path while it is in
// use: SQLite's VACUUM INTO, or pg_dump (custom format) for PostgreSQL.
func (db *DB) Backup(ctx context.Context, path string) error {
	if db.Dialect == SQLite {
		if _, err := db.write.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
			return fmt.Errorf("store: backup: %w", err)
		}
		return nil
	}
	dump, err := exec.LookPath("pg_dump")
	if err != nil {
		return errors.New("store: backup of PostgreSQL needs pg_dump on the PATH (package postgresql-client)")
	}
	cmd := exec.CommandContext(ctx, dump, "--format=custom", "--file="+path, "--dbname="+db.url)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("store: pg_dump: %v: %s", err, out)
	}
	return nil
}
