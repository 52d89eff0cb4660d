package ledger

import (
	"fmt"

	"github.com/consento/consento/internal/store"
)

// The contacts list finds persons through counts kept beside the ledger
// (migration 0003): persons.grant_count, the person's current grants for
// purposes that are not archived, and the number of persons, and of
// persons with a record per purpose, in each block of 1,024 ids. The code
// that inserts persons and consents, or changes a consent's state, keeps
// them; deletions are counted by triggers.

// blockShift makes a person id into its block: id >> blockShift.
const blockShift = 10

// addPersonBlock counts n new persons in the block of id.
func addPersonBlock(tx *store.Tx, block, n int64) error {
	_, err := tx.Exec(`INSERT INTO person_blocks (block, n) VALUES (?, ?) ON CONFLICT (block) DO UPDATE SET n = person_blocks.n + excluded.n`, block, n)
	if err != nil {
		return fmt.Errorf("ledger: count person: %w", err)
	}
	return nil
}

// addConsentBlock counts n persons in block with a first record for purposeID.
func addConsentBlock(tx *store.Tx, purposeID, block, n int64) error {
	_, err := tx.Exec(`INSERT INTO consent_blocks (purpose_id, block, n) VALUES (?, ?, ?)
		ON CONFLICT (purpose_id, block) DO UPDATE SET n = consent_blocks.n + excluded.n`, purposeID, block, n)
	if err != nil {
		return fmt.Errorf("ledger: count consent: %w", err)
	}
	return nil
}

// addGrants moves a person's grant count by delta.
func addGrants(tx *store.Tx, personID, delta int64) error {
	if delta == 0 {
		return nil
	}
	if _, err := tx.Exec(`UPDATE persons SET grant_count = grant_count + ? WHERE id = ?`, delta, personID); err != nil {
		return fmt.Errorf("ledger: count grants: %w", err)
	}
	return nil
}

// archiveGrants moves the grant counts of every person with a grant for the
// purpose when it is archived (-1) or brought back (+1).
func archiveGrants(tx *store.Tx, purposeID, delta int64) error {
	_, err := tx.Exec(`UPDATE persons SET grant_count = grant_count + ?
		WHERE id IN (SELECT person_id FROM consents WHERE purpose_id = ? AND kind = 'granted')`, delta, purposeID)
	if err != nil {
		return fmt.Errorf("ledger: count grants: %w", err)
	}
	return nil
}

// grantDelta is how a consent event changes the person's grant count:
// prev is the stored state ("" for none); a back-dated event (applied false)
// changes nothing.
func grantDelta(prev, next EventKind, applied, active bool) int64 {
	if !applied || !active {
		return 0
	}
	var d int64
	if prev == Granted {
		d--
	}
	if next == Granted {
		d++
	}
	return d
}
