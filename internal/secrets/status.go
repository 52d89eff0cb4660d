package secrets

import (
	"context"
	"database/sql"
	"errors"
)

// Status is what `consento keys status` shows.
type Status struct {
	Keys []KeyInfo `json:"keys"`
	// Values counts the stored values by the key they are under.
	Values map[uint32]int64 `json:"values"`
	Total  int64            `json:"total"`
	// Stale is how many values are not under the primary key.
	Stale int64  `json:"stale"`
	Jobs  []*Job `json:"open_jobs"`
}

// Status reports the keys, the values under each and the open jobs.
func (s *Service) Status(ctx context.Context) (*Status, error) {
	keys, err := s.Keys(ctx)
	if err != nil {
		return nil, err
	}
	st := &Status{Keys: keys, Values: map[uint32]int64{}}
	rows, err := s.db.Query(ctx, `SELECT key_id, COUNT(*) FROM person_secrets GROUP BY key_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	_, primary, _ := s.current()
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		st.Values[uint32(id)] = n
		st.Total += n
		if uint32(id) != primary {
			st.Stale += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	st.Jobs, err = s.OpenJobs(ctx)
	return st, err
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
