package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/consento/consento/internal/store"
)

// LightCounts counts all persons by traffic light, computed in SQL. Every
// light is in the map, with 0 when no person has it.
func (s *Service) LightCounts(ctx context.Context) (map[Light]int64, error) {
	nActive, err := s.activePurposeCount(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT light, COUNT(*) FROM (SELECT `+lightExpr+` AS light FROM persons p) x GROUP BY light`,
		nActive, store.Micros(s.now()))
	if err != nil {
		return nil, fmt.Errorf("ledger: light counts: %w", err)
	}
	defer rows.Close()
	out := map[Light]int64{Green: 0, Yellow: 0, Red: 0}
	for rows.Next() {
		var light string
		var n int64
		if err := rows.Scan(&light, &n); err != nil {
			return nil, err
		}
		out[Light(light)] = n
	}
	return out, rows.Err()
}

// WeekActivity is the number of consents granted and withdrawn in one ISO
// week (Monday to Sunday, UTC).
type WeekActivity struct {
	Start     time.Time `json:"start"` // Monday 00:00 UTC
	Year      int       `json:"year"`  // ISO year
	Week      int       `json:"week"`  // ISO week number
	Granted   int64     `json:"granted"`
	Withdrawn int64     `json:"withdrawn"`
}

const weekMicros = int64(7 * 24 * time.Hour / time.Microsecond)

// weekStart returns Monday 00:00 UTC of t's ISO week.
func weekStart(t time.Time) time.Time {
	t = t.UTC()
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}

// ConsentActivity counts granted and withdrawn consent events by when they
// occurred, per ISO week, for the last weeks weeks (this week last).
func (s *Service) ConsentActivity(ctx context.Context, weeks int) ([]WeekActivity, error) {
	if weeks < 1 || weeks > 520 {
		return nil, invalid("invalid-weeks", "weeks must be between 1 and 520", FieldError{Field: "weeks", Message: "out of range"})
	}
	first := weekStart(s.now()).AddDate(0, 0, -7*(weeks-1))
	out := make([]WeekActivity, weeks)
	for i := range out {
		st := first.AddDate(0, 0, 7*i)
		y, w := st.ISOWeek()
		out[i] = WeekActivity{Start: st, Year: y, Week: w}
	}
	from := store.Micros(first)
	until := store.Micros(first.AddDate(0, 0, 7*weeks))
	rows, err := s.db.Query(ctx, `SELECT w, kind, COUNT(*) FROM (SELECT (occurred_at - ?) / ? AS w, kind FROM consent_events
		WHERE occurred_at >= ? AND occurred_at < ? AND kind IN ('granted', 'withdrawn')) x GROUP BY w, kind`,
		from, weekMicros, from, until)
	if err != nil {
		return nil, fmt.Errorf("ledger: consent activity: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var w, n int64
		var kind string
		if err := rows.Scan(&w, &kind, &n); err != nil {
			return nil, err
		}
		if w < 0 || w >= int64(weeks) {
			continue
		}
		if EventKind(kind) == Granted {
			out[w].Granted += n
		} else {
			out[w].Withdrawn += n
		}
	}
	return out, rows.Err()
}

// RecentConsentEvents lists the newest n consent events across all
// persons, newest first.
func (s *Service) RecentConsentEvents(ctx context.Context, n int) ([]*ConsentEvent, error) {
	if n < 1 || n > 500 {
		return nil, invalid("invalid-limit", "n must be between 1 and 500", FieldError{Field: "limit", Message: "out of range"})
	}
	evs, err := s.queryEvents(ctx, `SELECT `+eventCols+fmt.Sprintf(` ORDER BY e.occurred_at DESC, e.id DESC LIMIT %d`, n))
	if err != nil {
		return nil, fmt.Errorf("ledger: recent consent events: %w", err)
	}
	return evs, nil
}
