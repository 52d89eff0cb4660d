// Package rights handles the requests of data subjects under GDPR Art.
// 15–22: request cases with their Art. 12(3) deadlines, identity
// verification, the Art. 15 report and the Art. 20 export, erasure in
// three levels with a blocklist of erased addresses, restriction (Art. 18)
// and objection (Art. 21). Every step writes its audit event in the same
// transaction. It knows no HTTP.
package rights

import (
	"database/sql"
	"errors"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/records"
	"github.com/consento/consento/internal/store"
)

// Service handles data-subject requests over one database.
type Service struct {
	db      *store.DB
	ledger  *ledger.Service
	records *records.Service
	now     func() time.Time
}

// New returns the rights service over the ledger's database.
func New(l *ledger.Service) *Service {
	return &Service{db: l.DB(), ledger: l, records: records.New(l.DB()), now: func() time.Time { return time.Now().UTC() }}
}

// SetClock replaces the clock (for tests of deadlines).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Ledger is the consent ledger the service works on.
func (s *Service) Ledger() *ledger.Service { return s.ledger }

func invalid(field, msg string) error {
	return &ledger.Error{Kind: ledger.KindInvalid, Code: "validation", Message: field + ": " + msg,
		Fields: []ledger.FieldError{ledger.Field(field, msg)}}
}

func conflict(code, msg string) error {
	return &ledger.Error{Kind: ledger.KindConflict, Code: code, Message: msg}
}

func notFound(code, msg string) error {
	return &ledger.Error{Kind: ledger.KindNotFound, Code: code, Message: msg}
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// appendAudit writes an audit event, sealed under the person's key while
// the person has one, else (no person, or the key destroyed) in clear:
// such payloads never carry personal data.
func appendAudit(tx *store.Tx, at time.Time, e audit.Entry) error {
	if e.PersonID != 0 {
		key, err := audit.PersonKey(tx, e.PersonID)
		switch {
		case err == nil:
			_, err = audit.Append(tx, at, e, key)
			return err
		case errors.Is(err, audit.ErrShredded):
			e.PersonID = 0
			e.Before, e.After = nil, nil
		default:
			return err
		}
	}
	_, err := audit.Append(tx, at, e, nil)
	return err
}
