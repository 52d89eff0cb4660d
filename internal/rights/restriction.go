package rights

import (
	"context"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
)

// Restrict freezes the person of a verified restriction request (GDPR
// Art. 18): no edits, no consent changes, no mail, blocked in every list
// check and export; API writes answer 423.
func (s *Service) Restrict(ctx context.Context, actor audit.Actor, requestID int64, reason string) (*Request, error) {
	if err := ledger.CheckTexts(ledger.MultiLine("reason", reason, textcheck.MaxReason)); err != nil {
		return nil, err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		now := s.now()
		_, pid, err := s.caseForTx(tx, requestID, TypeRestriction)
		if err != nil {
			return err
		}
		var status string
		if err := tx.QueryRow(`SELECT status FROM persons WHERE id = ?`, pid).Scan(&status); err != nil {
			return err
		}
		switch status {
		case ledger.StatusRestricted:
			return conflict("already-restricted", "processing of this person is restricted already")
		case ledger.StatusAnonymized:
			return &ledger.Error{Kind: ledger.KindGone, Code: "person-anonymized", Message: "this person was anonymized"}
		}
		if _, err := tx.Exec(`UPDATE persons SET status = ?, updated_at = ?, updated_by = ? WHERE id = ?`, ledger.StatusRestricted, store.Micros(now), actor.String(), pid); err != nil {
			return err
		}
		return appendAudit(tx, now, audit.Entry{Actor: actor, Action: "person.restrict", ObjectType: "person", ObjectID: strconv.FormatInt(pid, 10), PersonID: pid,
			Reason: reason, Before: map[string]string{"status": status}, After: map[string]any{"status": ledger.StatusRestricted, "request_id": requestID}})
	})
	if err != nil {
		return nil, err
	}
	return s.Request(ctx, requestID)
}

// LiftRestriction ends a restriction, with the reason (Art. 18(3): the
// person is told before it is lifted).
func (s *Service) LiftRestriction(ctx context.Context, actor audit.Actor, personID int64, reason string) error {
	reason = strings.TrimSpace(reason)
	if len(reason) < 5 || len(reason) > 2000 {
		return invalid("reason", "say why the restriction ends and that the person was told (5 to 2,000 characters)")
	}
	if err := ledger.CheckTexts(ledger.MultiLine("reason", reason, textcheck.MaxReason)); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		now := s.now()
		var status string
		err := tx.QueryRow(`SELECT status FROM persons WHERE id = ?`, personID).Scan(&status)
		if isNoRows(err) {
			return notFound("unknown-person", "there is no such person")
		}
		if err != nil {
			return err
		}
		if status != ledger.StatusRestricted {
			return conflict("not-restricted", "processing of this person is not restricted")
		}
		if _, err := tx.Exec(`UPDATE persons SET status = ?, updated_at = ?, updated_by = ? WHERE id = ?`, ledger.StatusActive, store.Micros(now), actor.String(), personID); err != nil {
			return err
		}
		return appendAudit(tx, now, audit.Entry{Actor: actor, Action: "person.unrestrict", ObjectType: "person", ObjectID: strconv.FormatInt(personID, 10), PersonID: personID,
			Reason: reason, Before: map[string]string{"status": status}, After: map[string]string{"status": ledger.StatusActive}})
	})
}

// Object records the objection of a verified objection request (GDPR Art.
// 21) to one purpose, whatever its legal basis: the request's purpose, or
// the one named. For direct marketing it is absolute.
func (s *Service) Object(ctx context.Context, actor audit.Actor, requestID int64, purpose string) (*ledger.ConsentEvent, error) {
	if err := ledger.CheckTexts(ledger.OneLine("purpose", purpose, textcheck.MaxShort)); err != nil {
		return nil, err
	}
	var ev *ledger.ConsentEvent
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		r, pid, err := s.caseForTx(tx, requestID, TypeObjection)
		if err != nil {
			return err
		}
		if purpose == "" {
			purpose = r.Purpose
		}
		if purpose == "" {
			return invalid("purpose", "name the purpose the person objects to")
		}
		var basis string
		err = tx.QueryRow(`SELECT c.legal_basis FROM consents c JOIN purposes p ON p.id = c.purpose_id WHERE c.person_id = ? AND p.key = ?`, pid, purpose).Scan(&basis)
		if err != nil && !isNoRows(err) {
			return err
		}
		in := ledger.ConsentInput{PersonID: pid, Purpose: purpose, Kind: ledger.Objected, LegalBasis: ledger.LegalBasis(basis),
			Reason: "objection request " + strconv.FormatInt(requestID, 10)}
		ev, err = s.ledger.RecordConsentTx(tx, actor, in)
		if de, ok := ledger.AsError(err); ok && de.Code == "legal-basis-not-allowed" {
			in.LegalBasis = ""
			ev, err = s.ledger.RecordConsentTx(tx, actor, in)
		}
		return err
	})
	return ev, err
}
