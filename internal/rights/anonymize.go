package rights

import (
	"fmt"
	"strconv"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
)

// why is the reason an erasure records: its request case, or the origin
// given to AnonymizeTx or DeleteTx.
func (p *ErasurePlan) why() string {
	if p.origin != "" {
		return p.origin
	}
	return "erasure request " + strconv.FormatInt(p.RequestID, 10)
}

// source is the source the erasure's withdrawals record: an erasure
// request, or (AnonymizeTx, DeleteTx: no request case) the end of the
// retention period.
func (p *ErasurePlan) source() string {
	if p.origin != "" {
		return ledger.SourceRetention
	}
	return ledger.SourceErasure
}

// AnonymizeTx erases a person at level 3 (anonymize) in tx without a
// request case, for instance when their retention period has passed:
// exactly what Erase does at LevelAnonymize (blocklist, audit key
// destroyed, mails and links deleted, business records unlinked), with
// reason recorded where Erase records the request case and the source
// "retention" on its withdrawals where Erase records "erasure". Restricted and
// anonymized persons are refused as Erase refuses them. After the
// transaction the caller checkpoints SQLite's log (store.DB.Checkpoint).
func (s *Service) AnonymizeTx(tx *store.Tx, actor audit.Actor, personID int64, reason string) (*ErasurePlan, error) {
	p, err := plan(tx, 0, personID, LevelAnonymize)
	if err != nil {
		return nil, err
	}
	p.origin = reason
	if err := s.eraseTx(tx, actor, p, reason, s.now()); err != nil {
		return nil, err
	}
	return p, nil
}

// DeleteTx removes a person in tx: first AnonymizeTx (so the e-mail
// addresses go onto the blocklist, the audit key is destroyed and
// business records are unlinked), then the person's row and every row
// that refers to it: consents and their history, mail blocks, self-service
// requests, consent-request recipients and the key row. Closed request
// cases are kept, as proof of how a request was answered, but linked to no
// one (like business records). The audit event person.delete names no
// personal value.
//
// On SQLite a row id can be given again once the highest one is deleted;
// the person with the highest id therefore stays as an empty anonymized
// row, so that no later person inherits their audit events. kept reports
// that case.
func (s *Service) DeleteTx(tx *store.Tx, actor audit.Actor, personID int64, reason string) (kept bool, err error) {
	if _, err := s.AnonymizeTx(tx, actor, personID, reason); err != nil {
		return false, err
	}
	if tx.Dialect() == store.SQLite {
		var top int64
		if err := tx.QueryRow(`SELECT MAX(id) FROM persons`).Scan(&top); err != nil {
			return false, fmt.Errorf("rights: delete: %w", err)
		}
		if top == personID {
			return true, nil
		}
	}
	for _, q := range []string{
		`DELETE FROM consents WHERE person_id = ?`,
		`DELETE FROM consent_event_files WHERE event_id IN (SELECT id FROM consent_events WHERE person_id = ?)`,
		`DELETE FROM consent_events WHERE person_id = ?`,
		`DELETE FROM mail_blocks WHERE person_id = ?`,
		`DELETE FROM mail_outbox WHERE person_id = ?`,
		`DELETE FROM preference_tokens WHERE person_id = ?`,
		`DELETE FROM optins WHERE person_id = ?`,
		`DELETE FROM selfservice_requests WHERE person_id = ?`,
		`DELETE FROM consent_request_recipients WHERE person_id = ?`,
		`UPDATE rights_requests SET person_id = NULL WHERE person_id = ?`,
		`DELETE FROM person_keys WHERE person_id = ?`,
		`DELETE FROM persons WHERE id = ?`,
	} {
		if _, err := tx.Exec(q, personID); err != nil {
			return false, fmt.Errorf("rights: delete: %w", err)
		}
	}
	return false, appendAudit(tx, s.now(), audit.Entry{Actor: actor, Action: "person.delete", ObjectType: "person",
		ObjectID: strconv.FormatInt(personID, 10), Reason: reason})
}
