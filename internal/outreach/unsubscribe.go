package outreach

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
)

// UnsubscribeToken is the hard-to-forge token of a one-click unsubscribe
// link (RFC 8058) for one person and purpose: their ids and a 128-bit
// HMAC under the installation's key. It needs no storage, so mass mailings
// do not write one row per link.
func (s *Service) UnsubscribeToken(personID, purposeID int64) string {
	b := binary.AppendUvarint(nil, uint64(personID))
	b = binary.AppendUvarint(b, uint64(purposeID))
	mac := s.MAC("unsubscribe", string(b))
	return base64.RawURLEncoding.EncodeToString(append(b, mac[:16]...))
}

// UnsubscribeURL is the https link of a token.
func (s *Service) UnsubscribeURL(personID, purposeID int64) string {
	return s.cfg.PublicURL + "/u/" + s.UnsubscribeToken(personID, purposeID)
}

func (s *Service) parseUnsubscribe(tok string) (int64, int64, bool) {
	if len(tok) > 64 {
		return 0, 0, false
	}
	// One spelling per token: the decoder would skip \r and \n, and accept
	// other values of the unused bits.
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 18 || base64.RawURLEncoding.EncodeToString(b) != tok {
		return 0, 0, false
	}
	body, mac := b[:len(b)-16], b[len(b)-16:]
	pid, n := binary.Uvarint(body)
	if n <= 0 {
		return 0, 0, false
	}
	purpose, m := binary.Uvarint(body[n:])
	if m <= 0 || n+m != len(body) {
		return 0, 0, false
	}
	if !hmac.Equal(mac, s.MAC("unsubscribe", string(body))[:16]) {
		return 0, 0, false
	}
	return int64(pid), int64(purpose), true
}

// UnsubscribePurpose names the purpose of a valid token, for the page a
// GET shows (a GET never unsubscribes).
func (s *Service) UnsubscribePurpose(ctx context.Context, tok string) (*ledger.Person, *ledger.Purpose, error) {
	pid, purposeID, ok := s.parseUnsubscribe(tok)
	if !ok {
		return nil, nil, ErrInvalidToken
	}
	p, err := s.ledger.Person(ctx, pid)
	if err != nil {
		return nil, nil, ErrInvalidToken
	}
	pu, err := s.ledger.PurposeByID(ctx, purposeID)
	if err != nil {
		return nil, nil, ErrInvalidToken
	}
	return p, pu, nil
}

// Unsubscribe stops the token's purpose at once: it withdraws a consent
// the person gave, refuses one never given, and records an objection (Art.
// 21) where the purpose is processed on another basis (legitimate
// interests, contract). It is idempotent: a second call records nothing.
func (s *Service) Unsubscribe(ctx context.Context, tok string, cl Client) error {
	pid, purposeID, ok := s.parseUnsubscribe(tok)
	if !ok {
		return ErrInvalidToken
	}
	cl = cl.trimmed()
	return s.db.Write(ctx, func(tx *store.Tx) error {
		var key, status, allowed string
		var kind, basis *string
		err := tx.QueryRow(`SELECT pu.key, pu.allowed_legal_bases, p.status, c.kind, c.legal_basis FROM persons p JOIN purposes pu ON pu.id = ?
			LEFT JOIN consents c ON c.person_id = p.id AND c.purpose_id = pu.id WHERE p.id = ?`, purposeID, pid).Scan(&key, &allowed, &status, &kind, &basis)
		if isNoRows(err) {
			return ErrInvalidToken
		}
		if err != nil {
			return err
		}
		if status != ledger.StatusActive {
			return nil // restricted or erased: nothing is sent to them anyway
		}
		var state ledger.EventKind
		var current ledger.LegalBasis
		if kind != nil {
			state, current = ledger.EventKind(*kind), ledger.LegalBasis(*basis)
		}
		switch state {
		case ledger.Withdrawn, ledger.Refused, ledger.Objected:
			return nil // already off
		}
		next := ledger.StopKind(allowsConsent(allowed), state, current)
		_, err = s.ledger.RecordConsentTx(tx, Subject(pid), ledger.ConsentInput{PersonID: pid, Purpose: key, Kind: next, Source: ledger.SourceSelfService,
			Evidence: ledger.Evidence{Note: "one-click unsubscribe (RFC 8058) from purpose " + strconv.Quote(key), IP: cl.IP, UserAgent: cl.UserAgent}})
		return err
	})
}

// allowsConsent reports whether a purpose's allowed_legal_bases column
// names consent.
func allowsConsent(allowed string) bool {
	return slices.Contains(strings.Split(allowed, ","), string(ledger.Consent))
}
