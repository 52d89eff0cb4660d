package ledger

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/consento/consento/internal/store"
)

// The blocklist keeps the e-mail addresses of anonymized persons only as
// HMAC-SHA-256 under a secret of this server, over the normalized address,
// so that an erased person is never silently created or imported again,
// while the list itself names no one.

const blocklistKeySetting = "blocklist_hmac_key"

// blocklistKey loads the server's blocklist secret; create makes it on
// first use. A nil key means nothing was ever blocked.
func blocklistKey(tx *store.Tx, create bool) ([]byte, error) {
	var v string
	err := tx.QueryRow(`SELECT value FROM settings WHERE key = ?`, blocklistKeySetting).Scan(&v)
	switch {
	case err == nil:
		return hex.DecodeString(v)
	case !isNoRows(err):
		return nil, fmt.Errorf("ledger: blocklist key: %w", err)
	case !create:
		return nil, nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(`INSERT INTO settings (key, value) VALUES (?, ?)`, blocklistKeySetting, hex.EncodeToString(key)); err != nil {
		return nil, fmt.Errorf("ledger: store blocklist key: %w", err)
	}
	return key, nil
}

func blocklistHash(key []byte, email string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(email))
	return m.Sum(nil)
}

// BlockEmailsTx puts addresses on the blocklist (erasure, level 3).
func BlockEmailsTx(tx *store.Tx, emails []string, now time.Time) error {
	if len(emails) == 0 {
		return nil
	}
	key, err := blocklistKey(tx, true)
	if err != nil {
		return err
	}
	for _, e := range emails {
		n, ok := NormalizeEmail(e)
		if !ok {
			continue
		}
		if _, err := tx.Exec(`INSERT INTO email_blocklist (hash, created_at) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING`, blocklistHash(key, n), store.Micros(now)); err != nil {
			return fmt.Errorf("ledger: blocklist: %w", err)
		}
	}
	return nil
}

// BlockedEmailsTx returns those of the (normalized) addresses that are on
// the blocklist.
func BlockedEmailsTx(tx *store.Tx, emails []string) ([]string, error) {
	if len(emails) == 0 {
		return nil, nil
	}
	key, err := blocklistKey(tx, false)
	if err != nil || key == nil {
		return nil, err
	}
	var out []string
	for _, e := range emails {
		var one int
		err := tx.QueryRow(`SELECT 1 FROM email_blocklist WHERE hash = ?`, blocklistHash(key, e)).Scan(&one)
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

func checkBlocklist(tx *store.Tx, emails []string) error {
	blocked, err := BlockedEmailsTx(tx, emails)
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

// Blocked reports whether any of the addresses is on the blocklist; the
// list is read once per import.
func (b *Bulk) Blocked(emails []string) (bool, error) {
	if b.blocked == nil {
		b.blocked = map[string]bool{}
		key, err := blocklistKey(b.tx, false)
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
		if b.blocked[string(blocklistHash(b.blockKey, e))] {
			return true, nil
		}
	}
	return false, nil
}
