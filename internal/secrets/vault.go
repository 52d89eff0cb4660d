package secrets

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
)

// ErrDecrypt means a stored value cannot be decrypted: the ciphertext was
// moved to another person or field, tampered with, or is under a key the
// keyset does not hold.
var ErrDecrypt = errors.New("secrets: a sensitive value cannot be decrypted")

// associatedData binds a ciphertext to its row: moved to another person
// or field it no longer decrypts.
func associatedData(personID int64, fieldKey string) []byte {
	return []byte("consento/person_secrets/v1|" + strconv.FormatInt(personID, 10) + "|" + fieldKey)
}

// Normalize is the form a searchable value is indexed and looked up in:
// without white space and hyphens, upper case ("de89 3704-0044" and
// "DE8937040044" match).
func Normalize(v string) string {
	var b strings.Builder
	for _, r := range v {
		if unicode.IsSpace(r) || r == '-' {
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// blindIndex is the keyed PRF of the field key and the normalised value:
// equal values of one field have equal indexes, nothing else is learnt.
func (s *Service) blindIndex(fieldKey, value string) ([]byte, error) {
	_, _, p := s.current()
	out, err := p.ComputePrimaryPRF([]byte("consento/blind_index/v1|"+fieldKey+"|"+Normalize(value)), 32)
	if err != nil {
		return nil, fmt.Errorf("secrets: blind index: %w", err)
	}
	return out, nil
}

// Encrypt seals value for the person's field under the primary key.
func (s *Service) Encrypt(personID int64, fieldKey, value string) ([]byte, uint32, error) {
	a, primary, _ := s.current()
	ct, err := a.Encrypt([]byte(value), associatedData(personID, fieldKey))
	if err != nil {
		return nil, 0, fmt.Errorf("secrets: encrypt: %w", err)
	}
	return ct, primary, nil
}

// Decrypt opens a value; when its key is unknown (another instance
// rotated) the keysets are reloaded once.
func (s *Service) Decrypt(ctx context.Context, personID int64, fieldKey string, ct []byte) (string, error) {
	a, _, _ := s.current()
	pt, err := a.Decrypt(ct, associatedData(personID, fieldKey))
	if err == nil {
		return string(pt), nil
	}
	s.mu.RLock()
	known := s.keys[keyIDOf(ct)]
	s.mu.RUnlock()
	if known {
		return "", ErrDecrypt
	}
	if err := s.reload(ctx); err != nil {
		return "", err
	}
	a, _, _ = s.current()
	if pt, err = a.Decrypt(ct, associatedData(personID, fieldKey)); err != nil {
		return "", ErrDecrypt
	}
	return string(pt), nil
}

// StoreTx encrypts and stores a person's value of a sensitive field.
func (s *Service) StoreTx(tx *store.Tx, personID int64, f ledger.CustomField, value string) error {
	if err := s.freshTx(tx); err != nil {
		return err
	}
	ct, keyID, err := s.Encrypt(personID, f.Key, value)
	if err != nil {
		return err
	}
	var bi any
	if f.Searchable {
		if bi, err = s.blindIndex(f.Key, value); err != nil {
			return err
		}
	}
	_, err = tx.Exec(`INSERT INTO person_secrets (person_id, field_id, key_id, ciphertext, blind_index) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (person_id, field_id) DO UPDATE SET key_id = excluded.key_id, ciphertext = excluded.ciphertext, blind_index = excluded.blind_index`,
		personID, f.ID, int64(keyID), ct, bi)
	if err != nil {
		return fmt.Errorf("secrets: store: %w", err)
	}
	return nil
}

// RemoveTx deletes a person's value of a field.
func (s *Service) RemoveTx(tx *store.Tx, personID, fieldID int64) error {
	_, err := tx.Exec(`DELETE FROM person_secrets WHERE person_id = ? AND field_id = ?`, personID, fieldID)
	return err
}

// RevealTx decrypts one value inside a write transaction.
func (s *Service) RevealTx(tx *store.Tx, personID int64, f ledger.CustomField) (string, bool, error) {
	var ct []byte
	err := tx.QueryRow(`SELECT ciphertext FROM person_secrets WHERE person_id = ? AND field_id = ?`, personID, f.ID).Scan(&ct)
	if isNoRows(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	v, err := s.Decrypt(tx.Ctx(), personID, f.Key, ct)
	return v, err == nil, err
}

// Reveal decrypts the stored values of the persons.
func (s *Service) Reveal(ctx context.Context, personIDs []int64) (map[int64]map[string]string, error) {
	out := map[int64]map[string]string{}
	if len(personIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(personIDs))
	for i, id := range personIDs {
		args[i] = id
	}
	rows, err := s.db.Query(ctx, `SELECT ps.person_id, cf.key, ps.ciphertext FROM person_secrets ps JOIN custom_fields cf ON cf.id = ps.field_id
		WHERE ps.person_id IN (`+store.Placeholders(len(args))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("secrets: reveal: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var pid int64
		var key string
		var ct []byte
		if err := rows.Scan(&pid, &key, &ct); err != nil {
			return nil, err
		}
		v, err := s.Decrypt(ctx, pid, key, ct)
		if err != nil {
			return nil, err
		}
		if out[pid] == nil {
			out[pid] = map[string]string{}
		}
		out[pid][key] = v
	}
	return out, rows.Err()
}

// Lookup finds the persons whose value of a searchable field equals value.
func (s *Service) Lookup(ctx context.Context, f ledger.CustomField, value string) ([]int64, error) {
	bi, err := s.blindIndex(f.Key, value)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT person_id FROM person_secrets WHERE field_id = ? AND blind_index = ? ORDER BY person_id DESC LIMIT 501`, f.ID, bi)
	if err != nil {
		return nil, fmt.Errorf("secrets: lookup: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

var _ ledger.Vault = (*Service)(nil)

// Value is one sensitive value for StoreManyTx.
type Value struct {
	PersonID int64
	Field    ledger.CustomField
	Text     string
}

// StoreManyTx stores many values at once, encrypting them in parallel
// (bulk loads and the rotation benchmark).
func (s *Service) StoreManyTx(tx *store.Tx, vs []Value) error {
	if err := s.freshTx(tx); err != nil {
		return err
	}
	type enc struct {
		ct, bi []byte
		keyID  uint32
		err    error
	}
	out := make([]enc, len(vs))
	workers := runtime.GOMAXPROCS(0)
	per := (len(vs) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(vs); lo += per {
		hi := min(lo+per, len(vs))
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				v := vs[i]
				out[i].ct, out[i].keyID, out[i].err = s.Encrypt(v.PersonID, v.Field.Key, v.Text)
				if out[i].err == nil && v.Field.Searchable {
					out[i].bi, out[i].err = s.blindIndex(v.Field.Key, v.Text)
				}
			}
		}(lo, hi)
	}
	wg.Wait()
	st, err := tx.Prepare(`INSERT INTO person_secrets (person_id, field_id, key_id, ciphertext, blind_index) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (person_id, field_id) DO UPDATE SET key_id = excluded.key_id, ciphertext = excluded.ciphertext, blind_index = excluded.blind_index`)
	if err != nil {
		return err
	}
	defer st.Close()
	for i, v := range vs {
		if out[i].err != nil {
			return out[i].err
		}
		var bi any
		if out[i].bi != nil {
			bi = out[i].bi
		}
		if _, err := st.ExecContext(tx.Ctx(), v.PersonID, v.Field.ID, int64(out[i].keyID), out[i].ct, bi); err != nil {
			return fmt.Errorf("secrets: store: %w", err)
		}
	}
	return nil
}
