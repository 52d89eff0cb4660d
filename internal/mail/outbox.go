package mail

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/consento/consento/internal/store"
)

// Entry is an outbox row as staff see it.
type Entry struct {
	ID          int64
	Template    string
	PersonID    int64
	To          string
	Language    string
	Subject     string
	Text, HTML  string
	Unsubscribe string
	Status      string
	Attempts    int
	NextAttempt time.Time
	LastError   string
	CreatedAt   time.Time
	SentAt      *time.Time
	// Attachments are the files sent with the mail (without content).
	Attachments []AttachmentInfo
}

// ErrNotFound means there is no such outbox entry.
var ErrNotFound = errors.New("mail: no such mail")

// List returns outbox entries, newest first, optionally of one status,
// before the id before (0: from the newest), at most limit.
func List(ctx context.Context, db *store.DB, status string, before int64, limit int) ([]Entry, error) {
	q := `SELECT id, template, COALESCE(person_id, 0), recipient, language, subject, '', '', unsubscribe, status, attempts, next_attempt_at, last_error, created_at, sent_at FROM mail_outbox WHERE 1 = 1`
	var args []any
	if status != "" {
		q += ` AND status = ?`
		args = append(args, status)
	}
	if before > 0 {
		q += ` AND id < ?`
		args = append(args, before)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("mail: list: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	return out, listAttachments(ctx, db, out)
}

func scanEntry(sc interface{ Scan(...any) error }) (*Entry, error) {
	var e Entry
	var next, created int64
	var sent sql.NullInt64
	if err := sc.Scan(&e.ID, &e.Template, &e.PersonID, &e.To, &e.Language, &e.Subject, &e.Text, &e.HTML, &e.Unsubscribe, &e.Status, &e.Attempts, &next, &e.LastError, &created, &sent); err != nil {
		return nil, err
	}
	e.NextAttempt, e.CreatedAt = store.FromMicros(next), store.FromMicros(created)
	if sent.Valid {
		t := store.FromMicros(sent.Int64)
		e.SentAt = &t
	}
	return &e, nil
}

// Get returns one outbox entry with its bodies.
func Get(ctx context.Context, db *store.DB, id int64) (*Entry, error) {
	e, err := scanEntry(db.QueryRow(ctx, `SELECT id, template, COALESCE(person_id, 0), recipient, language, subject, text_body, html_body, unsubscribe, status, attempts, next_attempt_at, last_error, created_at, sent_at FROM mail_outbox WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("mail: get: %w", err)
	}
	if e.Attachments, err = Attachments(ctx, db, id); err != nil {
		return nil, err
	}
	return e, nil
}

// Counts returns how many mails are in each status.
func Counts(ctx context.Context, db *store.DB) (map[string]int64, error) {
	rows, err := db.Query(ctx, `SELECT status, COUNT(*) FROM mail_outbox GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("mail: counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// RetryTx puts a dead mail back in the queue, due now, with its attempts
// reset. The caller writes the audit event.
func RetryTx(tx *store.Tx, id int64) error {
	res, err := tx.Exec(`UPDATE mail_outbox SET status = 'queued', attempts = 0, next_attempt_at = ?, last_error = '' WHERE id = ? AND status = 'dead'`, store.Micros(time.Now()), id)
	if err != nil {
		return fmt.Errorf("mail: retry: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
