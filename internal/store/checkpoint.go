package store

import (
	"context"
	"fmt"
	"time"
)

// Checkpoint copies every page of the SQLite write-ahead log into the
// database file and truncates the log, so that no old image of a page
// (with data since deleted) stays behind in the WAL. With secure_delete on,
// deleted content is zeroed in the database file itself. PostgreSQL needs
// nothing: a dump holds only live rows.
func (db *DB) Checkpoint(ctx context.Context) error {
	if db.Dialect != SQLite {
		return nil
	}
	for attempt := 0; ; attempt++ {
		var busy, logFrames, done int
		if err := db.write.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
			return fmt.Errorf("store: checkpoint: %w", err)
		}
		if busy == 0 {
			return nil
		}
		if attempt == 50 {
			return fmt.Errorf("store: checkpoint: readers kept the log busy")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
