package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/consento/consento/internal/emailaddr"
)

// goStep returns the work in Go that a migration needs after its SQL, if
// any: computations SQL cannot do on both engines.
func (db *DB) goStep(version int) func(context.Context, *sql.Tx) error {
	switch version {
	case 14:
		return db.rekeyMailboxes
	}
	return nil
}

// rekeyMailboxes sets person_emails.mailbox to the mailbox key of every
// stored address whose key is not the address itself (Unicode or
// punycode domains, plus tags, Gmail dots, NFD local parts). An address
// the current rules would refuse keeps itself as its key.
func (db *DB) rekeyMailboxes(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT email FROM person_emails`)
	if err != nil {
		return fmt.Errorf("store: read e-mail addresses: %w", err)
	}
	var change [][2]string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			rows.Close()
			return err
		}
		if k, err := emailaddr.Key(e); err == nil && k != e {
			change = append(change, [2]string{e, k})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(change) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, db.Q(`UPDATE person_emails SET mailbox = ? WHERE email = ?`))
	if err != nil {
		return err
	}
	defer st.Close()
	for _, c := range change {
		if _, err := st.ExecContext(ctx, c[1], c[0]); err != nil {
			return fmt.Errorf("store: re-key e-mail address: %w", err)
		}
	}
	return nil
}
