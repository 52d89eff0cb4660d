// Package retention limits how long Consento keeps a person (storage
// limitation, GDPR Art. 5(1)(e); the periods themselves belong in the
// record of processing, Art. 30(1)(f)). A person expires when their
// manual retention date has passed, else when every active purpose's
// period has passed since their last interaction, else, with no active
// purpose left, when the inactivity period has passed. A sweep lists who
// expired and why, then anonymizes (erasure level 3) or deletes them, in
// batches that re-check each person under a lock, so that several
// instances can sweep one database at once and each person is handled
// once. It knows no HTTP.
package retention

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/input"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
)

// Actions a sweep takes on an expired person.
const (
	ActionAnonymize = "anonymize"
	ActionDelete    = "delete"
)

// DateLayout is the layout of manual retention dates.
const DateLayout = "2006-01-02"

// Service evaluates retention rules and runs sweeps over one database.
type Service struct {
	db       *store.DB
	ledger   *ledger.Service
	rights   *rights.Service
	now      func() time.Time
	instance string
	batch    int
	// beforeBatch, for tests, runs before each batch transaction.
	beforeBatch func()
}

// New returns the retention service over the ledger's database. instance
// names this process in the sweep reports (e.g. host name and process id).
func New(l *ledger.Service, instance string) *Service {
	s := &Service{db: l.DB(), ledger: l, rights: rights.New(l), instance: instance, batch: 200,
		now: func() time.Time { return time.Now().UTC() }}
	return s
}

// SetClock replaces the clock (for tests).
func (s *Service) SetClock(now func() time.Time) {
	s.now = now
	s.rights.SetClock(now)
}

// SetBatch sets how many persons one write transaction handles.
func (s *Service) SetBatch(n int) { s.batch = max(1, n) }

// Instance names this process in sweep reports: host name and process id.
func Instance() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "consento"
	}
	return host + ":" + strconv.Itoa(os.Getpid())
}

// Settings are the retention settings staff edit.
type Settings struct {
	// InactiveDays: a person with no active purpose left expires this
	// many days after their last interaction (0: never).
	InactiveDays int `json:"inactive_days"`
	// Action is what a sweep does with an expired person: anonymize
	// (erasure level 3) or delete.
	Action string `json:"action"`
	// Scheduled: the server sweeps on its own (CONSENTO_RETENTION_INTERVAL).
	Scheduled bool      `json:"scheduled"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

func invalid(field, msg string) error {
	return &ledger.Error{Kind: ledger.KindInvalid, Code: "validation", Message: field + ": " + msg,
		Fields: []ledger.FieldError{ledger.Field(field, msg)}}
}

// Settings loads the settings.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	var st Settings
	var sched, at int64
	err := s.db.QueryRow(ctx, `SELECT inactive_days, action, scheduled, updated_at, updated_by FROM retention_settings WHERE id = 1`).
		Scan(&st.InactiveDays, &st.Action, &sched, &at, &st.UpdatedBy)
	if err != nil {
		return st, fmt.Errorf("retention: settings: %w", err)
	}
	st.Scheduled = sched != 0
	if at != 0 {
		st.UpdatedAt = store.FromMicros(at)
	}
	return st, nil
}

// SaveSettings validates and stores the settings, with an audit event.
func (s *Service) SaveSettings(ctx context.Context, actor audit.Actor, in Settings) (Settings, error) {
	if in.InactiveDays < 0 || in.InactiveDays > 36500 {
		return in, invalid("inactive_days", "must be a whole number of days from 0 (never) to 36500")
	}
	if in.Action != ActionAnonymize && in.Action != ActionDelete {
		return in, invalid("action", "must be anonymize or delete")
	}
	var out Settings
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		now := s.now()
		before, err := settingsTx(tx)
		if err != nil {
			return err
		}
		sched := 0
		if in.Scheduled {
			sched = 1
		}
		if _, err := tx.Exec(`UPDATE retention_settings SET inactive_days = ?, action = ?, scheduled = ?, updated_at = ?, updated_by = ? WHERE id = 1`,
			in.InactiveDays, in.Action, sched, store.Micros(now), actor.String()); err != nil {
			return fmt.Errorf("retention: save settings: %w", err)
		}
		out = Settings{InactiveDays: in.InactiveDays, Action: in.Action, Scheduled: in.Scheduled, UpdatedAt: now, UpdatedBy: actor.String()}
		_, err = audit.Append(tx, now, audit.Entry{Actor: actor, Action: "retention.settings", ObjectType: "retention_settings", ObjectID: "1",
			Before: map[string]any{"inactive_days": before.InactiveDays, "action": before.Action, "scheduled": before.Scheduled},
			After:  map[string]any{"inactive_days": out.InactiveDays, "action": out.Action, "scheduled": out.Scheduled}}, nil)
		return err
	})
	return out, err
}

func settingsTx(tx *store.Tx) (Settings, error) {
	var st Settings
	var sched int64
	err := tx.QueryRow(`SELECT inactive_days, action, scheduled FROM retention_settings WHERE id = 1`).Scan(&st.InactiveDays, &st.Action, &sched)
	if err != nil {
		return st, fmt.Errorf("retention: settings: %w", err)
	}
	st.Scheduled = sched != 0
	return st, nil
}

// ParseDate checks a manual retention date (YYYY-MM-DD).
func ParseDate(v string) (string, error) {
	v = strings.TrimSpace(v)
	t, err := input.Date(v)
	if err != nil || t.Year() < 2000 || t.Year() > 2999 {
		return "", invalid("retain_until", "must be a date as YYYY-MM-DD")
	}
	return t.Format(DateLayout), nil
}

// RetainUntil is a person's manual retention date ("" when none).
func (s *Service) RetainUntil(ctx context.Context, personID int64) (string, error) {
	var v sql.NullString
	err := s.db.QueryRow(ctx, `SELECT retain_until FROM persons WHERE id = ?`, personID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", &ledger.Error{Kind: ledger.KindNotFound, Code: "unknown-person", Message: "there is no such person"}
	}
	if err != nil {
		return "", fmt.Errorf("retention: retain until: %w", err)
	}
	return v.String, nil
}

// SetRetainUntil sets a person's manual retention date (date "" clears
// it): they are kept up to and including that day and expire on the day
// after, whatever their purposes' periods say. The change is audited under
// the person's key.
func (s *Service) SetRetainUntil(ctx context.Context, actor audit.Actor, personID int64, date, reason string) error {
	if err := ledger.CheckTexts(ledger.MultiLine("reason", reason, textcheck.MaxReason)); err != nil {
		return err
	}
	if date != "" {
		d, err := ParseDate(date)
		if err != nil {
			return err
		}
		date = d
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		now := s.now()
		var status string
		var before sql.NullString
		err := tx.QueryRow(`SELECT status, retain_until FROM persons WHERE id = ?`, personID).Scan(&status, &before)
		if errors.Is(err, sql.ErrNoRows) {
			return &ledger.Error{Kind: ledger.KindNotFound, Code: "unknown-person", Message: "there is no such person"}
		}
		if err != nil {
			return fmt.Errorf("retention: retain until: %w", err)
		}
		if status == ledger.StatusAnonymized {
			return &ledger.Error{Kind: ledger.KindGone, Code: "person-anonymized", Message: "this person was anonymized already"}
		}
		var v any
		if date != "" {
			v = date
		}
		if _, err := tx.Exec(`UPDATE persons SET retain_until = ? WHERE id = ?`, v, personID); err != nil {
			return fmt.Errorf("retention: retain until: %w", err)
		}
		key, err := audit.PersonKey(tx, personID)
		if err != nil {
			return err
		}
		_, err = audit.Append(tx, now, audit.Entry{Actor: actor, Action: "person.retain_until", ObjectType: "person",
			ObjectID: strconv.FormatInt(personID, 10), PersonID: personID, Reason: reason,
			Before: map[string]any{"retain_until": before.String}, After: map[string]any{"retain_until": date}}, key)
		return err
	})
}
