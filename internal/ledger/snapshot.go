package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"unsafe"

	"golang.org/x/sync/errgroup"

	"github.com/consento/consento/internal/store"
)

// A checkSnapshot answers a long bulk check from memory. Looking up a
// million references one by one costs three index descents each; reading
// the few columns a verdict needs for every person once, in three ordered
// scans, costs much less once the list is a fair share of all persons.
// Its size follows the number of persons, never the length of the list.
type checkSnapshot struct {
	status []string         // by person id; "" for no such person
	kinds  []EventKind      // by person id: the consent for the purpose
	until  map[int64]int64  // valid_until of consents that have one
	emails map[string]int64 // mailbox key -> person id (the oldest)
}

// snapshotWorth reports after how many references a check switches to a
// snapshot. Looking a reference up costs about as much as reading 0.35
// persons into a snapshot, so a list known (from sizeHint) to reach 35 %
// of all persons starts with one and a list known to be shorter never
// takes one. A list of unknown length switches after a twentieth of all
// persons: a long list then pays little for the lookups before, a short
// one little for the snapshot.
func (s *Service) snapshotWorth(ctx context.Context, sizeHint int) (int, error) {
	var maxID sql.NullInt64
	if err := s.db.QueryRow(ctx, `SELECT MAX(id) FROM persons`).Scan(&maxID); err != nil {
		return 0, err
	}
	persons := int(maxID.Int64)
	switch {
	case sizeHint <= 0:
		return max(s.snapshotMin, persons/20), nil
	case sizeHint >= persons*35/100 && sizeHint >= s.snapshotMin:
		return 0, nil
	}
	return math.MaxInt, nil
}

func (s *Service) loadSnapshot(ctx context.Context, p *Purpose) (*checkSnapshot, error) {
	var maxID sql.NullInt64
	if err := s.db.QueryRow(ctx, `SELECT MAX(id) FROM persons`).Scan(&maxID); err != nil {
		return nil, err
	}
	n := maxID.Int64 + 1
	snap := &checkSnapshot{
		status: make([]string, n),
		kinds:  make([]EventKind, n),
		until:  map[int64]int64{},
		emails: make(map[string]int64, n),
	}
	// Persons created after MAX(id) was read are left out; lookups treat
	// them as unknown, as a lookup made a moment earlier would have.
	var g errgroup.Group
	g.Go(func() error {
		return scanRaw(ctx, s.db, `SELECT id, status FROM persons`, nil, "it", func(r *rawRow) error {
			if id := r.ints[0].Int64; id < n {
				snap.status[id] = statusOf(r.bytes[1])
			}
			return nil
		})
	})
	g.Go(func() error {
		return scanRaw(ctx, s.db, `SELECT person_id, kind, valid_until FROM consents WHERE purpose_id = ?`, []any{p.ID}, "iti", func(r *rawRow) error {
			if id := r.ints[0].Int64; id < n {
				snap.kinds[id] = kindOf(r.bytes[1])
				if r.ints[2].Valid {
					snap.until[id] = r.ints[2].Int64
				}
			}
			return nil
		})
	})
	g.Go(func() error {
		// The addresses are copied into large blocks and the map's keys
		// point into them: one allocation per megabyte, not per address.
		var block []byte
		return scanRaw(ctx, s.db, `SELECT mailbox, person_id FROM person_emails`, nil, "ti", func(r *rawRow) error {
			email := r.bytes[0]
			if old, ok := snap.emails[string(email)]; ok && old <= r.ints[1].Int64 {
				return nil
			}
			if len(block)+len(email) > cap(block) {
				block = make([]byte, 0, max(1<<20, len(email)))
			}
			start := len(block)
			block = append(block, email...)
			snap.emails[unsafe.String(&block[start], len(email))] = r.ints[1].Int64
			return nil
		})
	})
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("ledger: check snapshot: %w", err)
	}
	return snap, nil
}

// statusOf and kindOf return the constants, so that a million rows do
// not allocate a million strings.
func statusOf(b []byte) string {
	switch string(b) {
	case StatusActive:
		return StatusActive
	case StatusRestricted:
		return StatusRestricted
	case StatusAnonymized:
		return StatusAnonymized
	}
	return string(b)
}

func kindOf(b []byte) EventKind {
	for _, k := range []EventKind{Granted, Withdrawn, Refused, Objected, Pending, Expired} {
		if string(b) == string(k) {
			return k
		}
	}
	return EventKind(b)
}

// row gives the snapshot's answer in the form of a looked-up row.
func (snap *checkSnapshot) row(ref Ref) (checkRow, bool) {
	id := ref.id
	if id == 0 {
		var ok bool
		if id, ok = snap.emails[ref.email]; !ok {
			return checkRow{}, false
		}
	}
	if id <= 0 || id >= int64(len(snap.status)) || snap.status[id] == "" {
		return checkRow{}, false
	}
	r := checkRow{id: id, status: snap.status[id]}
	if k := snap.kinds[id]; k != "" {
		r.kind = sql.NullString{String: string(k), Valid: true}
	}
	if u, ok := snap.until[id]; ok {
		r.validUntil = sql.NullInt64{Int64: u, Valid: true}
	}
	return r, true
}

// rawRow is one row of scanRaw: column i is in ints[i] or bytes[i],
// as the kinds string says ('i' for integers, 't' for text or bytes).
// The bytes are valid only during the callback.
type rawRow struct {
	ints  []sql.NullInt64
	bytes [][]byte
}

// scanRaw runs a long read query and calls fn for each row without
// copying values: through sql.RawBytes on SQLite and pgx's binary rows on
// PostgreSQL.
func scanRaw(ctx context.Context, db *store.DB, q string, args []any, kinds string, fn func(*rawRow) error) error {
	r := &rawRow{ints: make([]sql.NullInt64, len(kinds)), bytes: make([][]byte, len(kinds))}
	if db.Dialect == store.Postgres {
		return db.RawRows(ctx, q, args, func(vals [][]byte) error {
			for i, k := range kinds {
				if k == 'i' {
					r.ints[i].Int64, r.ints[i].Valid = store.RawInt(vals[i])
				} else {
					r.bytes[i] = vals[i]
				}
			}
			return fn(r)
		})
	}
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	raws := make([]sql.RawBytes, len(kinds))
	dest := make([]any, len(kinds))
	for i, k := range kinds {
		if k == 'i' {
			dest[i] = &r.ints[i]
		} else {
			dest[i] = &raws[i]
		}
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		for i := range raws {
			r.bytes[i] = raws[i]
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}
