package outreach

import (
	"fmt"

	"github.com/consento/consento/internal/store"
)

// ErasePersonTx removes what outreach keeps about a person, for an erasure
// (GDPR Art. 17) running in tx: their mails in the outbox (sent or not,
// so nothing more goes out to them), their preference links and double
// opt-in records; their self-service requests stay as facts, without the
// data they carried (corrections, IP address, user agent). The consent
// events themselves are the ledger's to anonymize.
func ErasePersonTx(tx *store.Tx, personID int64) error {
	for _, q := range []string{
		`DELETE FROM mail_outbox WHERE person_id = ?`,
		`DELETE FROM preference_tokens WHERE person_id = ?`,
		`DELETE FROM optins WHERE person_id = ?`,
		`UPDATE selfservice_requests SET payload = '{}', ip = '', user_agent = '' WHERE person_id = ?`,
	} {
		if _, err := tx.Exec(q, personID); err != nil {
			return fmt.Errorf("outreach: erase person: %w", err)
		}
	}
	return nil
}

// ErasePersonsTx does what ErasePersonTx does for every person of ids,
// with one statement per table for up to 500 persons.
func ErasePersonsTx(tx *store.Tx, ids []int64) error {
	for lo := 0; lo < len(ids); lo += 500 {
		chunk := ids[lo:min(lo+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		in := store.Placeholders(len(chunk))
		for _, q := range []string{
			`DELETE FROM mail_outbox WHERE person_id IN (` + in + `)`,
			`DELETE FROM preference_tokens WHERE person_id IN (` + in + `)`,
			`DELETE FROM optins WHERE person_id IN (` + in + `)`,
			`UPDATE selfservice_requests SET payload = '{}', ip = '', user_agent = '' WHERE person_id IN (` + in + `)`,
		} {
			if _, err := tx.Exec(q, args...); err != nil {
				return fmt.Errorf("outreach: erase persons: %w", err)
			}
		}
	}
	return nil
}
