// Package ledger is Consento's consent ledger: persons, organisations,
// purposes, legal bases, sources and the consent events that decide, per
// person and purpose, whether processing is allowed. Every change writes
// its audit event in the same transaction.
package ledger

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/store"
)

// Actor is who causes a change.
type Actor = audit.Actor

// Languages are the languages every purpose text is offered in.
var Languages = []string{"en", "de", "da"}

func validLanguage(l string) bool {
	for _, x := range Languages {
		if x == l {
			return true
		}
	}
	return false
}

// Service is the ledger over one database.
type Service struct {
	db  *store.DB
	now func() time.Time
	// snapshotMin is the fewest references a bulk check answers from a
	// snapshot (see checkSnapshot).
	snapshotMin int
	eventIDs    eventIDBlock

	blocklistSecret []byte // see SetBlocklistSecret
	vault           Vault  // see SetVault
}

// New returns the ledger over db.
func New(db *store.DB) *Service {
	return &Service{db: db, now: func() time.Time { return time.Now().UTC() }, snapshotMin: 20_000}
}

// DB is the database the ledger works on.
func (s *Service) DB() *store.DB { return s.db }

// SetClock replaces the clock (for tests of expiry).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// record appends an audit event that is not bound to a person.
func record(tx *store.Tx, at time.Time, e audit.Entry) error {
	_, err := audit.Append(tx, at, e, nil)
	return err
}

// recordPerson appends an audit event sealed under the person's key.
func recordPerson(tx *store.Tx, at time.Time, e audit.Entry) error {
	key, err := audit.PersonKey(tx, e.PersonID)
	if err != nil {
		return err
	}
	_, err = audit.Append(tx, at, e, key)
	return err
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func nullTime(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return store.Micros(*t)
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := store.FromMicros(v.Int64)
	return &t
}

// Seed creates the default purposes and sources on a new database. It is
// safe to call at every start and from several instances at once.
func (s *Service) Seed(ctx context.Context) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		var done string
		err := tx.QueryRow(`SELECT value FROM settings WHERE key = 'seeded'`).Scan(&done)
		if err == nil {
			return nil
		}
		if !isNoRows(err) {
			return err
		}
		now := s.now()
		for _, src := range defaultSources {
			if _, err := s.createSource(tx, now, audit.System, src); err != nil {
				return err
			}
		}
		for _, p := range defaultPurposes {
			if _, err := s.createPurpose(tx, now, audit.System, p); err != nil {
				return err
			}
		}
		_, err = tx.Exec(`INSERT INTO settings (key, value) VALUES ('seeded', '1')`)
		return err
	})
}
