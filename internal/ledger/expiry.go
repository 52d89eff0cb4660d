package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/store"
)

// ExpireDue records an "expired" event, at the moment it expired, for every
// grant whose valid_until has passed, at most max per call; it returns how
// many it recorded. Checks read valid_until themselves and never count
// such a grant; the event puts the expiry in the person's history and in
// the contacts list's counts. Several instances may run it at once: the
// grant is read again inside the write.
func (s *Service) ExpireDue(ctx context.Context, max int) (int, error) {
	now := store.Micros(s.now())
	rows, err := s.db.Query(ctx, fmt.Sprintf(`SELECT c.person_id, pu.key FROM consents c JOIN purposes pu ON pu.id = c.purpose_id
		WHERE c.kind = 'granted' AND c.valid_until IS NOT NULL AND c.valid_until <= ? ORDER BY c.valid_until LIMIT %d`, max), now)
	if err != nil {
		return 0, fmt.Errorf("ledger: due grants: %w", err)
	}
	type due struct {
		person  int64
		purpose string
	}
	var all []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.person, &d.purpose); err != nil {
			rows.Close()
			return 0, err
		}
		all = append(all, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(all) == 0 {
		return 0, err
	}
	n := 0
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		for _, d := range all {
			var until int64
			err := tx.QueryRow(`SELECT c.valid_until FROM consents c JOIN purposes pu ON pu.id = c.purpose_id
				WHERE c.person_id = ? AND pu.key = ? AND c.kind = 'granted' AND c.valid_until <= ?`, d.person, d.purpose, now).Scan(&until)
			if isNoRows(err) {
				continue // recorded meanwhile, or changed since
			}
			if err != nil {
				return err
			}
			at := time.UnixMicro(until).UTC()
			if _, err := s.RecordConsentTx(tx, audit.System, ConsentInput{PersonID: d.person, Purpose: d.purpose, Kind: Expired, Source: SourceExpiry,
				OccurredAt: &at, Reason: "the consent's validity ended"}); err != nil {
				return fmt.Errorf("ledger: expire consent: %w", err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
