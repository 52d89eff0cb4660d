package ledger

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/consento/consento/internal/emailaddr"
	"github.com/consento/consento/internal/store"
)

// The blocklist keeps the e-mail addresses of anonymized persons only as
// HMAC-SHA-256 under a secret of this server, over the mailbox key of the
// address (emailaddr.KeyOf: punycode domain, no plus tag, no Gmail dots),
// so that an erased person is never silently created or imported again,
// in any spelling of the mailbox, while the list itself names no one.
//
// Entries made before mailbox keys hash the address as it was stored
// then (lower case, the domain as typed). Hashes cannot be re-keyed, so a
// look-up also tries those legacy forms of the address (blockForms): the
// exact spelling stays blocked, other spellings of such an old entry
// cannot be recognised. For a plain address the key is the old form.

const (
	blocklistKeySetting   = "blocklist_hmac_key"  // the generated key, when no secret is configured
	blocklistCheckSetting = "blocklist_key_check" // proves which key made the stored hashes
)

// SetBlocklistSecret sets the server secret that keys the blocklist (from
// CONSENTO_BLOCKLIST_SECRET). Without one, a random key is generated on
// first use and kept in the database.
func (s *Service) SetBlocklistSecret(secret []byte) {
	s.blocklistSecret = secret
}

// CheckBlocklistSecret fails when the configured secret is not the one
// the stored blocklist was made with (checked at start).
func (s *Service) CheckBlocklistSecret(ctx context.Context) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		_, err := s.blocklistKey(tx, false)
		return err
	})
}

// ErrBlocklistKey means the configured secret is not the one the stored
// blocklist was made with: its hashes would no longer match.
var ErrBlocklistKey = errors.New("ledger: the blocklist secret (CONSENTO_BLOCKLIST_SECRET) differs from the one the stored blocklist was made with; restore it")

// blocklistKey returns the key of the blocklist's hashes; create makes it
// on first use. A nil key means nothing was ever blocked.
func (s *Service) blocklistKey(tx *store.Tx, create bool) ([]byte, error) {
	var check string
	err := tx.QueryRow(`SELECT value FROM settings WHERE key = ?`, blocklistCheckSetting).Scan(&check)
	if err != nil && !isNoRows(err) {
		return nil, fmt.Errorf("ledger: blocklist key: %w", err)
	}
	exists := err == nil
	if !exists && !create {
		return nil, nil
	}
	var key []byte
	if len(s.blocklistSecret) > 0 {
		m := hmac.New(sha256.New, s.blocklistSecret)
		m.Write([]byte("consento-blocklist-v1"))
		key = m.Sum(nil)
	} else {
		var v string
		switch err := tx.QueryRow(`SELECT value FROM settings WHERE key = ?`, blocklistKeySetting).Scan(&v); {
		case err == nil:
			if key, err = hex.DecodeString(v); err != nil {
				return nil, fmt.Errorf("ledger: blocklist key: %w", err)
			}
		case !isNoRows(err):
			return nil, fmt.Errorf("ledger: blocklist key: %w", err)
		case exists:
			return nil, ErrBlocklistKey
		default:
			key = make([]byte, 32)
			if _, err := rand.Read(key); err != nil {
				return nil, err
			}
			if _, err := tx.Exec(`INSERT INTO settings (key, value) VALUES (?, ?)`, blocklistKeySetting, hex.EncodeToString(key)); err != nil {
				return nil, fmt.Errorf("ledger: store blocklist key: %w", err)
			}
		}
	}
	want := hex.EncodeToString(blocklistHash(key, "consento-blocklist-check"))
	if !exists {
		if _, err := tx.Exec(`INSERT INTO settings (key, value) VALUES (?, ?)`, blocklistCheckSetting, want); err != nil {
			return nil, fmt.Errorf("ledger: store blocklist check: %w", err)
		}
	} else if !hmac.Equal([]byte(check), []byte(want)) {
		return nil, ErrBlocklistKey
	}
	return key, nil
}

func blocklistHash(key []byte, email string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(email))
	return m.Sum(nil)
}

// blockKey is what the blocklist hashes for an address: its mailbox key;
// an address the current rules refuse (one stored by an older version)
// is hashed as it was stored then.
func blockKey(e string) string {
	if n, err := emailaddr.Normalize(e); err == nil {
		return emailaddr.KeyOf(n)
	}
	return strings.ToLower(strings.TrimSpace(e))
}

// blockForms lists what a look-up hashes for an address: its mailbox key
// and the forms under which older versions blocklisted this spelling.
func blockForms(e string) []string {
	n, err := emailaddr.Normalize(e)
	if err != nil {
		return []string{strings.ToLower(strings.TrimSpace(e))}
	}
	out := []string{emailaddr.KeyOf(n)}
	for _, f := range emailaddr.LegacyForms(n) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// BlockEmailsTx puts addresses on the blocklist (erasure, level 3).
func (s *Service) BlockEmailsTx(tx *store.Tx, emails []string, now time.Time) error {
	if len(emails) == 0 {
		return nil
	}
	key, err := s.blocklistKey(tx, true)
	if err != nil {
		return err
	}
	for _, e := range emails {
		k := blockKey(e)
		if k == "" {
			continue
		}
		if _, err := tx.Exec(`INSERT INTO email_blocklist (hash, created_at) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING`, blocklistHash(key, k), store.Micros(now)); err != nil {
			return fmt.Errorf("ledger: blocklist: %w", err)
		}
	}
	return nil
}

// BlockedEmailsTx returns those of the (normalized) addresses that are on
// the blocklist in any spelling of their mailbox.
func (s *Service) BlockedEmailsTx(tx *store.Tx, emails []string) ([]string, error) {
	if len(emails) == 0 {
		return nil, nil
	}
	key, err := s.blocklistKey(tx, false)
	if err != nil || key == nil {
		return nil, err
	}
	var out []string
	for _, e := range emails {
		forms := blockForms(e)
		args := make([]any, len(forms))
		for i, f := range forms {
			args[i] = blocklistHash(key, f)
		}
		var one int
		err := tx.QueryRow(`SELECT 1 FROM email_blocklist WHERE hash IN (`+store.Placeholders(len(args))+`) LIMIT 1`, args...).Scan(&one)
		if err == nil {
			out = append(out, e)
		} else if !isNoRows(err) {
			return nil, err
		}
	}
	return out, nil
}

// ErrBlockedCode is the code of the error that refuses a blocked address.
const ErrBlockedCode = "email-blocked"

func (s *Service) checkBlocklist(tx *store.Tx, emails []string) error {
	blocked, err := s.BlockedEmailsTx(tx, emails)
	if err != nil || len(blocked) == 0 {
		return err
	}
	fields := make([]FieldError, 0, len(blocked))
	for i, e := range emails {
		for _, b := range blocked {
			if e == b {
				fields = append(fields, FieldError{Field: fmt.Sprintf("emails[%d]", i), Message: "belongs to an erased person"})
			}
		}
	}
	return conflict(ErrBlockedCode, "this e-mail address belonged to a person who was erased (GDPR Art. 17); it is on the blocklist and is not stored again", fields...)
}

// Blocked reports whether any of the (normalized) addresses is on the
// blocklist in any spelling of its mailbox; the list is read once per import.
func (b *Bulk) Blocked(emails []string) (bool, error) {
	if b.blocked == nil {
		b.blocked = map[string]bool{}
		key, err := b.s.blocklistKey(b.tx, false)
		if err != nil {
			return false, err
		}
		if key != nil {
			rows, err := b.tx.Query(`SELECT hash FROM email_blocklist`)
			if err != nil {
				return false, err
			}
			for rows.Next() {
				var h []byte
				if err := rows.Scan(&h); err != nil {
					rows.Close()
					return false, err
				}
				b.blocked[string(h)] = true
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return false, err
			}
		}
		b.blockKey = key
	}
	if b.blockKey == nil {
		return false, nil
	}
	for _, e := range emails {
		for _, f := range blockForms(e) {
			if b.blocked[string(blocklistHash(b.blockKey, f))] {
				return true, nil
			}
		}
	}
	return false, nil
}
