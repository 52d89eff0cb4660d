package breach

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
)

// Kinds of timeline entry.
const (
	EntryAuthority = "authority" // the authority was notified (Art. 33(1), (3))
	EntryDecision  = "decision"  // decided not to notify: no risk (Art. 33(1), (5))
	EntryFollowUp  = "followup"  // information provided in phases (Art. 33(4))
	EntryPersons   = "persons"   // notices mailed to the persons (Art. 34)
	EntryPublic    = "public"    // public communication instead (Art. 34(3)(c))
	EntryNote      = "note"      // anything else worth documenting (Art. 33(5))
)

// EntryKinds lists every kind of timeline entry; ManualEntryKinds those
// staff add by hand.
var (
	EntryKinds       = []string{EntryAuthority, EntryDecision, EntryFollowUp, EntryPersons, EntryPublic, EntryNote}
	ManualEntryKinds = []string{EntryFollowUp, EntryPublic, EntryNote}
)

// Entry is one dated entry of an incident's timeline.
type Entry struct {
	ID          int64     `json:"id"`
	BreachID    int64     `json:"breach_id"`
	Kind        string    `json:"kind"`
	At          time.Time `json:"at"` // when it happened
	RecordedAt  time.Time `json:"recorded_at"`
	RecordedBy  string    `json:"recorded_by"`
	Body        string    `json:"body"`
	Mailed      int       `json:"mailed"`      // persons entries: notices queued
	Unreachable int       `json:"unreachable"` // persons entries: not reachable by mail
}

func addEntryTx(tx *store.Tx, id int64, kind string, at, now time.Time, actor audit.Actor, body string) (int64, error) {
	eid, err := tx.InsertID(`INSERT INTO breach_entries (breach_id, kind, at, recorded_at, recorded_by, body) VALUES (?, ?, ?, ?, ?, ?)`,
		id, kind, store.Micros(at), store.Micros(now), actor.String(), body)
	if err != nil {
		return 0, fmt.Errorf("breach: entry: %w", err)
	}
	return eid, nil
}

// Entries lists an incident's timeline, oldest first.
func (s *Service) Entries(ctx context.Context, id int64) ([]Entry, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT id, breach_id, kind, at, recorded_at, recorded_by, body, mailed, unreachable FROM breach_entries
		WHERE breach_id = ? ORDER BY at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("breach: entries: %w", err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		var e Entry
		var at, rec int64
		if err := rows.Scan(&e.ID, &e.BreachID, &e.Kind, &at, &rec, &e.RecordedBy, &e.Body, &e.Mailed, &e.Unreachable); err != nil {
			return nil, err
		}
		e.At, e.RecordedAt = store.FromMicros(at), store.FromMicros(rec)
		out = append(out, e)
	}
	return out, rows.Err()
}

// EntryInput adds a follow-up, a public communication or a note.
type EntryInput struct {
	Kind string     `json:"kind"`
	At   *time.Time `json:"at"` // default now
	Body string     `json:"body"`
}

// AddEntry adds a dated entry to the timeline: further information given
// to the authority in phases (Art. 33(4)), a public communication that
// replaced individual notices (Art. 34(3)(c)), or a note.
func (s *Service) AddEntry(ctx context.Context, actor audit.Actor, id int64, in EntryInput) (*Entry, error) {
	now := s.now()
	in.Kind, in.Body = strings.TrimSpace(in.Kind), strings.TrimSpace(in.Body)
	at := now
	if in.At != nil {
		at = in.At.UTC()
	}
	if err := ledger.CheckTexts(ledger.MultiLine("body", in.Body, maxText)); err != nil {
		return nil, err
	}
	switch {
	case !slices.Contains(ManualEntryKinds, in.Kind):
		return nil, invalid("kind", "must be one of "+strings.Join(ManualEntryKinds, ", "))
	case in.Body == "" || len(in.Body) > maxText:
		return nil, invalid("body", "must be 1 to 10000 characters")
	case at.After(now.Add(5 * time.Minute)):
		return nil, invalid("at", "must not be in the future")
	}
	var eid int64
	err := s.db.Write(ctx, func(tx *store.Tx) (err error) {
		if _, err := s.getTx(tx, id); err != nil {
			return err
		}
		if eid, err = addEntryTx(tx, id, in.Kind, at, now, actor, in.Body); err != nil {
			return err
		}
		return appendAudit(tx, now, actor, "breach.add_"+in.Kind, id, "", nil, map[string]any{"entry_id": eid, "at": at, "body": in.Body})
	})
	if err != nil {
		return nil, err
	}
	return &Entry{ID: eid, BreachID: id, Kind: in.Kind, At: at, RecordedAt: now, RecordedBy: actor.String(), Body: in.Body}, nil
}

// Decisions on notifying the authority.
const (
	DecisionNotified    = "notified"
	DecisionNotNotified = "not_notified"
)

// AuthorityInput records the notification of the supervisory authority,
// or the decision not to notify it.
type AuthorityInput struct {
	// Decision is notified (default) or not_notified.
	Decision string `json:"decision"`
	// NotifiedAt is when the authority was notified (default now).
	NotifiedAt *time.Time `json:"notified_at"`
	Authority  string     `json:"authority"`
	Reference  string     `json:"reference"`
	// LateReason is required when NotifiedAt is more than 72 hours after
	// the time of awareness (Art. 33(1)).
	LateReason string `json:"late_reason"`
	// Reason is required for not_notified: why the breach is unlikely to
	// result in a risk to the rights and freedoms of natural persons.
	Reason string `json:"reason"`
}

// RecordAuthority records that the authority was notified, when, which
// authority and under which reference, with the reasons for the delay when
// later than 72 hours after awareness (Art. 33(1)); or the decision not to
// notify because the breach is unlikely to result in a risk, with its
// reason (Art. 33(1), (5)): that needs the risk assessed as none. The
// authority is notified once; later information goes to the timeline as
// follow-up entries (Art. 33(4)).
func (s *Service) RecordAuthority(ctx context.Context, actor audit.Actor, id int64, in AuthorityInput) (*Breach, error) {
	now := s.now()
	in.Decision, in.Authority, in.Reference = strings.TrimSpace(in.Decision), strings.TrimSpace(in.Authority), strings.TrimSpace(in.Reference)
	in.LateReason, in.Reason = strings.TrimSpace(in.LateReason), strings.TrimSpace(in.Reason)
	if in.Decision == "" {
		in.Decision = DecisionNotified
	}
	if in.Decision != DecisionNotified && in.Decision != DecisionNotNotified {
		return nil, invalid("decision", "must be notified or not_notified")
	}
	if err := ledger.CheckTexts(ledger.OneLine("authority", in.Authority, 200), ledger.OneLine("reference", in.Reference, 200),
		ledger.MultiLine("late_reason", in.LateReason, maxText), ledger.MultiLine("reason", in.Reason, maxText)); err != nil {
		return nil, err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		b, err := s.getTx(tx, id)
		if err != nil {
			return err
		}
		if b.AuthorityNotifiedAt != nil {
			return conflict("already-notified", "the authority was notified already: add further information as a follow-up entry (Art. 33(4))")
		}
		if in.Decision == DecisionNotNotified {
			switch {
			case b.Risk != RiskNone:
				return conflict("risk-not-none", "not notifying the authority needs the breach assessed as unlikely to result in a risk (risk: none); it is assessed as "+b.Risk)
			case b.NoNotifyAt != nil:
				return conflict("already-decided", "the decision not to notify is recorded already")
			case len(in.Reason) < 10 || len(in.Reason) > maxText:
				return invalid("reason", "give the reason why the breach is unlikely to result in a risk (10 to 10000 characters)")
			}
			if _, err := tx.Exec(`UPDATE breaches SET no_notify_at = ?, no_notify_by = ?, no_notify_reason = ?, updated_at = ?, updated_by = ? WHERE id = ?`,
				store.Micros(now), actor.String(), in.Reason, store.Micros(now), actor.String(), id); err != nil {
				return fmt.Errorf("breach: decision: %w", err)
			}
			if _, err := addEntryTx(tx, id, EntryDecision, now, now, actor, in.Reason); err != nil {
				return err
			}
			return appendAudit(tx, now, actor, "breach.decide_not_to_notify", id, in.Reason, nil, map[string]any{"risk": b.Risk})
		}
		at := now
		if in.NotifiedAt != nil {
			at = in.NotifiedAt.UTC()
		}
		switch {
		case in.Authority == "" || len(in.Authority) > 200:
			return invalid("authority", "name the supervisory authority (1 to 200 characters)")
		case len(in.Reference) > 200:
			return invalid("reference", "must be at most 200 characters")
		case at.After(now.Add(5 * time.Minute)):
			return invalid("notified_at", "must not be in the future")
		case at.Before(b.AwareAt):
			return invalid("notified_at", "must not be before the time of awareness")
		case Late(b.AwareAt, at) && len(in.LateReason) < 10:
			return invalid("late_reason", "the notification comes more than 72 hours after awareness: give the reasons for the delay (Art. 33(1), at least 10 characters)")
		case len(in.LateReason) > maxText:
			return invalid("late_reason", "must be at most 10000 characters")
		}
		if !Late(b.AwareAt, at) {
			in.LateReason = ""
		}
		if _, err := tx.Exec(`UPDATE breaches SET authority_notified_at = ?, authority_name = ?, authority_reference = ?, authority_late_reason = ?,
			authority_recorded_by = ?, updated_at = ?, updated_by = ? WHERE id = ?`,
			store.Micros(at), in.Authority, in.Reference, in.LateReason, actor.String(), store.Micros(now), actor.String(), id); err != nil {
			return fmt.Errorf("breach: notify authority: %w", err)
		}
		body := in.Authority
		if in.Reference != "" {
			body += ", reference " + in.Reference
		}
		if in.LateReason != "" {
			body += ". Reasons for the delay: " + in.LateReason
		}
		if _, err := addEntryTx(tx, id, EntryAuthority, at, now, actor, body); err != nil {
			return err
		}
		return appendAudit(tx, now, actor, "breach.notify_authority", id, in.LateReason, nil,
			map[string]any{"notified_at": at, "authority": in.Authority, "reference": in.Reference, "late": Late(b.AwareAt, at)})
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}
