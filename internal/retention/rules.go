package retention

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
)

// Rules that expire a person.
const (
	RuleManual   = "manual"   // the manual retention date has passed
	RulePurpose  = "purpose"  // every active purpose's period has passed
	RuleInactive = "inactive" // no active purpose left, inactivity period passed
)

// Reasons an expired person is left alone.
const (
	SkipRestricted = "restricted" // Art. 18: storage only
	SkipOpenCase   = "open_case"  // a data-subject request case is open
)

// Expired is one person whose retention has passed.
type Expired struct {
	PersonID  int64  `json:"person_id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Rule      string `json:"rule"`
	// Purpose and Days: for RulePurpose the purpose with the longest
	// period (the one that expired last); for RuleInactive the period.
	Purpose         string    `json:"purpose,omitempty"`
	Days            int       `json:"days,omitempty"`
	LastInteraction time.Time `json:"last_interaction"`
	RetainUntil     string    `json:"retain_until,omitempty"`
	// Skip says why the person is left alone ("" when they are not).
	Skip string `json:"skip,omitempty"`
	// Outcome: anonymized, deleted or skipped after a sweep (empty in a
	// preview and a dry run).
	Outcome string `json:"outcome,omitempty"`
}

// Why says in English which rule expired the person.
func (e Expired) Why() string {
	day := e.LastInteraction.Format(DateLayout)
	switch e.Rule {
	case RuleManual:
		return "manual date " + e.RetainUntil
	case RulePurpose:
		return fmt.Sprintf("purpose %s: %d days after last interaction on %s", e.Purpose, e.Days, day)
	default:
		return fmt.Sprintf("no active purpose: %d days after last interaction on %s", e.Days, day)
	}
}

// auditWhy is the rule without the date, for the audit log.
func (e Expired) auditWhy() string {
	switch e.Rule {
	case RuleManual:
		return "retention: manual date"
	case RulePurpose:
		return "retention: purpose " + e.Purpose + ", " + strconv.Itoa(e.Days) + " days"
	default:
		return "retention: no active purpose, " + strconv.Itoa(e.Days) + " days"
	}
}

const dayMicros = int64(24 * time.Hour / time.Microsecond)

// expiredQuery selects the expired persons that are not anonymized, one
// statement for the whole table (or the ids of a batch: filter), with
// the rule inputs:
//   - last: the latest of the person's own created/updated time, their
//     latest consent event and their latest activity;
//   - days: NULL with no active purpose (a grant, not archived, not past
//     its valid_until), -1 when an active purpose has no period (never
//     expires), else the longest period of the active purposes;
//   - purpose: the active purpose with that longest period.
//
// Arguments: now, today, inactive days, then filter's (see expired).
func expiredQuery(d store.Dialect, filter string) string {
	// The inner query is kept from being merged into the outer one (which
	// would evaluate its subqueries twice): LIMIT -1 on SQLite, OFFSET 0 on
	// PostgreSQL.
	greatest, fence := "MAX", " LIMIT -1"
	if d == store.Postgres {
		greatest, fence = "GREATEST", " OFFSET 0"
	}
	active := func(person, now string) string {
		return `FROM consents c JOIN purposes pu ON pu.id = c.purpose_id AND pu.archived = 0
		WHERE c.person_id = ` + person + ` AND c.kind = 'granted' AND (c.valid_until IS NULL OR c.valid_until > ` + now + `)`
	}
	x := `(SELECT CAST(? AS BIGINT) AS now, CAST(? AS TEXT) AS today, CAST(? AS BIGINT) AS inactive) x`
	// Per person, with correlated subqueries: SQLite, and a batch's ids.
	inner := `SELECT p.id, p.status, p.retain_until, p.first_name, p.last_name, x.now, x.today, x.inactive,
			` + greatest + `(p.updated_at, p.created_at,
				COALESCE((SELECT MAX(e.occurred_at) FROM consent_events e WHERE e.person_id = p.id), 0),
				COALESCE((SELECT MAX(a.occurred_at) FROM activities a WHERE a.person_id = p.id), 0)) AS last,
			(SELECT CASE WHEN MIN(pu.retention_days) <= 0 THEN -1 ELSE MAX(pu.retention_days) END ` + active("p.id", "x.now") + `) AS days
		FROM persons p, ` + x + `
		WHERE p.status <> 'anonymized'` + filter + fence
	if d == store.Postgres && filter == "" {
		// The whole table on PostgreSQL: three grouped scans joined by
		// hash, several times faster than a subquery per person there.
		// It takes now a fourth time (the consents' valid_until).
		inner = `SELECT p.id, p.status, p.retain_until, p.first_name, p.last_name, x.now, x.today, x.inactive,
			GREATEST(p.updated_at, p.created_at, COALESCE(ev.last, 0), COALESCE(ac.last, 0)) AS last, cd.days
		FROM persons p CROSS JOIN ` + x + `
		LEFT JOIN (SELECT person_id, MAX(occurred_at) AS last FROM consent_events GROUP BY person_id) ev ON ev.person_id = p.id
		LEFT JOIN (SELECT person_id, MAX(occurred_at) AS last FROM activities GROUP BY person_id) ac ON ac.person_id = p.id
		LEFT JOIN (SELECT c.person_id, CASE WHEN MIN(pu.retention_days) <= 0 THEN -1 ELSE MAX(pu.retention_days) END AS days
			FROM consents c JOIN purposes pu ON pu.id = c.purpose_id AND pu.archived = 0
			WHERE c.kind = 'granted' AND (c.valid_until IS NULL OR c.valid_until > CAST(? AS BIGINT)) GROUP BY c.person_id) cd ON cd.person_id = p.id
		WHERE p.status <> 'anonymized'` + fence
	}
	return `SELECT id, status, retain_until, first_name, last_name, last, days,
		(SELECT pu.key ` + active("y.id", "y.now") + ` ORDER BY pu.retention_days DESC, pu.key LIMIT 1),
		EXISTS (SELECT 1 FROM rights_requests r WHERE r.person_id = y.id AND r.status NOT IN ('completed', 'rejected'))
	FROM (
` + inner + `
	) y
	WHERE (retain_until IS NOT NULL AND retain_until < today)
		OR (retain_until IS NULL AND days > 0 AND last < now - days * ` + strconv.FormatInt(dayMicros, 10) + `)
		OR (retain_until IS NULL AND days IS NULL AND inactive > 0 AND last < now - inactive * ` + strconv.FormatInt(dayMicros, 10) + `)
	ORDER BY id`
}

// rowQuerier is a read connection or a write transaction.
type rowQuerier interface {
	Query(q string, args ...any) (*sql.Rows, error)
}

type dbQ struct {
	ctx context.Context
	db  *store.DB
}

func (q dbQ) Query(query string, args ...any) (*sql.Rows, error) {
	return q.db.Query(q.ctx, query, args...)
}

// expired runs expiredQuery; ids, when given, limits it to those persons.
func expired(q rowQuerier, d store.Dialect, now time.Time, inactiveDays int, ids []int64) ([]Expired, error) {
	args := []any{store.Micros(now), now.Format(DateLayout), inactiveDays}
	filter := ""
	if ids == nil && d == store.Postgres {
		args = append(args, store.Micros(now))
	}
	if ids != nil {
		filter = " AND p.id IN (" + store.Placeholders(len(ids)) + ")"
		for _, id := range ids {
			args = append(args, id)
		}
	}
	rows, err := q.Query(expiredQuery(d, filter), args...)
	if err != nil {
		return nil, fmt.Errorf("retention: expired: %w", err)
	}
	defer rows.Close()
	var out []Expired
	for rows.Next() {
		var e Expired
		var status string
		var until, purpose sql.NullString
		var last int64
		var days sql.NullInt64
		var open bool
		if err := rows.Scan(&e.PersonID, &status, &until, &e.FirstName, &e.LastName, &last, &days, &purpose, &open); err != nil {
			return nil, fmt.Errorf("retention: expired: %w", err)
		}
		e.LastInteraction, e.RetainUntil = store.FromMicros(last), until.String
		switch {
		case until.Valid:
			e.Rule = RuleManual
		case days.Valid:
			e.Rule, e.Days, e.Purpose = RulePurpose, int(days.Int64), purpose.String
		default:
			e.Rule, e.Days = RuleInactive, inactiveDays
		}
		switch {
		case status == ledger.StatusRestricted:
			e.Skip = SkipRestricted
		case open:
			e.Skip = SkipOpenCase
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
