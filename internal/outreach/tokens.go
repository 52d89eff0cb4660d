package outreach

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/store"
)

// PreferenceTTL is how long a personal preference link stays valid.
const PreferenceTTL = 90 * 24 * time.Hour

// newToken returns a random token (256 bits, URL-safe) and its SHA-256.
func newToken() (string, []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	raw := base64.RawURLEncoding.EncodeToString(b)
	return raw, hashToken(raw)
}

func hashToken(raw string) []byte {
	h := sha256.Sum256([]byte(raw))
	return h[:]
}

// validTokenShape rejects what cannot be a token before any lookup.
func validTokenShape(raw string) bool {
	if len(raw) != 43 {
		return false
	}
	// Canonical base64 only: the decoder would skip \r and \n, and accept
	// other values of the unused bits.
	b, err := base64.RawURLEncoding.DecodeString(raw)
	return err == nil && len(b) == 32 && base64.RawURLEncoding.EncodeToString(b) == raw
}

// IssueTokenTx creates a personal preference link token for a person.
// Only its hash is stored; the token itself goes into a mail or a redirect.
func (s *Service) IssueTokenTx(tx *store.Tx, personID int64) (string, error) {
	raw, h := newToken()
	now := s.now()
	if _, err := tx.Exec(`INSERT INTO preference_tokens (hash, person_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		h, personID, store.Micros(now), store.Micros(now.Add(PreferenceTTL))); err != nil {
		return "", fmt.Errorf("outreach: issue token: %w", err)
	}
	return raw, nil
}

// PreferenceURL is the public link of a token.
func (s *Service) PreferenceURL(raw string) string { return s.cfg.PublicURL + "/p/" + raw }

// PersonForToken resolves a preference link to its person and their
// language.
func (s *Service) PersonForToken(ctx context.Context, raw string) (int64, string, error) {
	if !validTokenShape(raw) {
		return 0, "", ErrInvalidToken
	}
	var pid int64
	var lang string
	st, err := s.db.Stmt(ctx, `SELECT t.person_id, p.language FROM preference_tokens t JOIN persons p ON p.id = t.person_id
		WHERE t.hash = ? AND t.revoked_at IS NULL AND t.expires_at > ? AND p.status = 'active'`)
	if err != nil {
		return 0, "", err
	}
	err = st.QueryRowContext(ctx, hashToken(raw), store.Micros(s.now())).Scan(&pid, &lang)
	if isNoRows(err) {
		return 0, "", ErrInvalidToken
	}
	if err != nil {
		return 0, "", fmt.Errorf("outreach: token: %w", err)
	}
	return pid, lang, nil
}

// RenewLink revokes a person's preference links and mails a new one
// (staff action, audited).
func (s *Service) RenewLink(ctx context.Context, actor audit.Actor, personID int64) error {
	p, err := s.ledger.Person(ctx, personID)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if err := s.revokeTx(tx, actor, personID); err != nil {
			return err
		}
		if len(p.Emails) == 0 {
			return nil
		}
		raw, err := s.IssueTokenTx(tx, personID)
		if err != nil {
			return err
		}
		_, err = mail.Enqueue(tx, s.linkMail(p, raw))
		return err
	})
}

// RevokeLinks makes every preference link of a person invalid (audited).
func (s *Service) RevokeLinks(ctx context.Context, actor audit.Actor, personID int64) error {
	if _, err := s.ledger.Person(ctx, personID); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error { return s.revokeTx(tx, actor, personID) })
}

func (s *Service) revokeTx(tx *store.Tx, actor audit.Actor, personID int64) error {
	now := s.now()
	res, err := tx.Exec(`UPDATE preference_tokens SET revoked_at = ? WHERE person_id = ? AND revoked_at IS NULL`, store.Micros(now), personID)
	if err != nil {
		return err
	}
	n, _ := res.RowsAffected()
	return recordPerson(tx, now, audit.Entry{Actor: actor, Action: "preference_link.revoke", ObjectType: "person", ObjectID: strconv.FormatInt(personID, 10),
		PersonID: personID, After: map[string]int64{"revoked": n}})
}

// ActiveLinks counts a person's valid preference links.
func (s *Service) ActiveLinks(ctx context.Context, personID int64) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM preference_tokens WHERE person_id = ? AND revoked_at IS NULL AND expires_at > ?`, personID, store.Micros(s.now())).Scan(&n)
	return n, err
}

func (s *Service) linkMail(p *ledger.Person, raw string) mail.Message {
	return mail.Message{Template: "preference_link", Language: p.Language, PersonID: p.ID, To: p.Emails[0],
		Data: map[string]any{"Name": p.FirstName, "Controller": s.cfg.Controller, "PreferenceURL": s.PreferenceURL(raw)}}
}

// RequestLink mails a fresh preference link to the address when it
// belongs to an active person, before it returns. The public page queues
// the same work with QueueLinkRequest, so that its answer takes as long
// whether the address is known.
func (s *Service) RequestLink(ctx context.Context, email string) error {
	norm, ok := ledger.NormalizeEmail(email)
	if !ok {
		return &InputError{Fields: map[string]string{"email": "invalid"}}
	}
	return s.db.Write(ctx, func(tx *store.Tx) error { return s.requestLinkTx(tx, norm) })
}

// requestLinkTx looks the normalised address up and, for an active person
// with fewer than three links today, issues a link and queues its mail.
func (s *Service) requestLinkTx(tx *store.Tx, norm string) error {
	// Any spelling of the mailbox finds the person; the link goes to the
	// address stored for them, never to the spelling typed here.
	pid, to, err := ledger.EmailOwnerTx(tx, norm)
	if err != nil || pid == 0 {
		return err
	}
	var first, lang, status string
	if err := tx.QueryRow(`SELECT first_name, language, status FROM persons WHERE id = ?`, pid).Scan(&first, &lang, &status); err != nil {
		return err
	}
	if status != ledger.StatusActive {
		return nil
	}
	// At most three links a day per person: the form cannot be used
	// to flood someone's mailbox.
	var recent int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM preference_tokens WHERE person_id = ? AND created_at > ?`, pid, store.Micros(s.now().Add(-24*time.Hour))).Scan(&recent); err != nil {
		return err
	}
	if recent >= 3 {
		return nil
	}
	raw, err := s.IssueTokenTx(tx, pid)
	if err != nil {
		return err
	}
	_, err = mail.Enqueue(tx, s.linkMail(&ledger.Person{ID: pid, FirstName: first, Language: lang, Emails: []string{to}}, raw))
	return err
}
