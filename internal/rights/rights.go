// Package rights handles the requests of data subjects under GDPR Art.
// 15–22: request cases with their Art. 12(3) deadlines, identity
// verification, the Art. 15 report and the Art. 20 export, erasure in
// three levels with a blocklist of erased addresses, restriction (Art. 18)
// and objection (Art. 21). Every step writes its audit event in the same
// transaction. It knows no HTTP.
package rights

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/records"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
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
		Fields: []ledger.FieldError{{Field: field, Message: msg}}}
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

// Calendar loads the public holidays of a country.
func (s *Service) Calendar(ctx context.Context, country string) (Calendar, error) {
	cal := Calendar{Country: country, Holidays: map[Date]bool{}}
	if country == "" {
		return cal, nil
	}
	rows, err := s.db.Query(ctx, `SELECT day FROM public_holidays WHERE country = ?`, country)
	if err != nil {
		return cal, fmt.Errorf("rights: holidays: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var day string
		if err := rows.Scan(&day); err != nil {
			return cal, err
		}
		if d, err := ParseDate(day); err == nil {
			cal.Holidays[d] = true
		}
	}
	return cal, rows.Err()
}

// Holiday is one public holiday of a country.
type Holiday struct {
	Day  string `json:"day"`
	Name string `json:"name"`
}

// Holidays lists a country's public holidays.
func (s *Service) Holidays(ctx context.Context, country string) ([]Holiday, error) {
	rows, err := s.db.Query(ctx, `SELECT day, name FROM public_holidays WHERE country = ? ORDER BY day`, strings.ToUpper(country))
	if err != nil {
		return nil, fmt.Errorf("rights: holidays: %w", err)
	}
	defer rows.Close()
	out := []Holiday{}
	for rows.Next() {
		var h Holiday
		if err := rows.Scan(&h.Day, &h.Name); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// validCountry reports whether c is an ISO 3166-1 alpha-2 code (upper case).
func validCountry(c string) bool {
	n, ok := textcheck.Country(c)
	return ok && n == c
}

// maxHolidays bounds the holidays stored for one country.
const maxHolidays = 1000

// SetHolidays replaces a country's public holidays. Deadlines already
// computed stay as they are.
func (s *Service) SetHolidays(ctx context.Context, actor audit.Actor, country string, days []Holiday) error {
	country = strings.ToUpper(strings.TrimSpace(country))
	if !validCountry(country) {
		return invalid("country", "must be an ISO 3166-1 alpha-2 code such as DE")
	}
	if len(days) > maxHolidays {
		return invalid("holidays", fmt.Sprintf("at most %d holidays per country", maxHolidays))
	}
	seen := map[string]bool{}
	for i, h := range days {
		d, err := ParseDate(strings.TrimSpace(h.Day))
		if err != nil {
			return invalid(fmt.Sprintf("holidays[%d].day", i), "must be a date (YYYY-MM-DD)")
		}
		days[i].Day = d.String()
		if bad := textcheck.Line(strings.TrimSpace(h.Name), textcheck.MaxName); bad != textcheck.OK {
			return invalid(fmt.Sprintf("holidays[%d].name", i), bad.Message(textcheck.MaxName))
		}
		if seen[days[i].Day] {
			return invalid(fmt.Sprintf("holidays[%d].day", i), "is listed twice")
		}
		seen[days[i].Day] = true
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(`DELETE FROM public_holidays WHERE country = ?`, country); err != nil {
			return err
		}
		for _, h := range days {
			if _, err := tx.Exec(`INSERT INTO public_holidays (country, day, name) VALUES (?, ?, ?)`, country, h.Day, strings.TrimSpace(h.Name)); err != nil {
				return fmt.Errorf("rights: store holiday: %w", err)
			}
		}
		return appendAudit(tx, s.now(), audit.Entry{Actor: actor, Action: "holidays.set", ObjectType: "holidays", ObjectID: country, After: days})
	})
}
