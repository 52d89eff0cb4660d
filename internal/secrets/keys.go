// Package secrets keeps the values of sensitive fields (national ID, bank
// account, health data, any custom field staff mark sensitive) encrypted
// at rest: AEAD (tink, AES-256-GCM) with the person and field bound as
// associated data, an exact-match blind index (tink HMAC-SHA256 PRF) for
// the searchable ones, and key rotation that re-encrypts in the
// background, resumably.
//
// The two tink keysets live in the database, encrypted under the master
// key (key encryption key), which never does: it comes from
// CONSENTO_MASTER_KEY or, for the embedded SQLite quick start, from a file
// beside the database. A copy of the database without the master key
// reveals no sensitive value.
package secrets

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/aead/subtle"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/prf"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/consento/consento/internal/store"
)

// MasterKeyFile is the file beside the SQLite database that holds the
// generated master key when CONSENTO_MASTER_KEY is not set.
const MasterKeyFile = "master.key"

// ErrNoMasterKey means sensitive values exist (or are to be stored) but
// no master key was given.
var ErrNoMasterKey = errors.New("secrets: sensitive values are stored in this database but no master key is configured: set CONSENTO_MASTER_KEY (or CONSENTO_MASTER_KEY_FILE) to the key the values were written with")

// ErrWrongMasterKey means the master key does not open the stored keysets.
var ErrWrongMasterKey = errors.New("secrets: the master key does not open the keysets stored in this database (wrong CONSENTO_MASTER_KEY?)")

// ParseMasterKey decodes a master key: base64 (standard or URL alphabet,
// padded or not) of exactly 32 bytes.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != 32 {
				return nil, fmt.Errorf("secrets: the master key must be 32 bytes (base64 of 32 random bytes, e.g. openssl rand -base64 32), not %d", len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("secrets: the master key must be base64 of 32 random bytes (e.g. openssl rand -base64 32)")
}

// NewMasterKey returns a fresh random master key, base64-encoded.
func NewMasterKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// MasterKeyFromFile reads the master key file in dir, creating it (0600)
// with a fresh key when it does not exist. created tells which. Processes
// that start on a fresh data directory at once agree on one key: the key is
// written to a temporary file first and linked into place only when
// complete, so no process ever reads a half-written file, and a process
// that loses the race reads the winner's key.
func MasterKeyFromFile(dir string) (key []byte, path string, created bool, err error) {
	path = filepath.Join(dir, MasterKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, path, false, err
		}
		enc := NewMasterKey()
		won, err := createComplete(path, []byte(enc+"\n"))
		if err != nil {
			return nil, path, false, fmt.Errorf("secrets: create master key file: %w", err)
		}
		if !won { // another process was quicker
			return MasterKeyFromFile(dir)
		}
		k, err := ParseMasterKey(enc)
		return k, path, true, err
	}
	if err != nil {
		return nil, path, false, fmt.Errorf("secrets: read master key file: %w", err)
	}
	k, err := ParseMasterKey(string(b))
	if err != nil {
		return nil, path, false, fmt.Errorf("%s: %w", path, err)
	}
	return k, path, false, nil
}

// createComplete creates path holding data, written and synced in full
// before the name appears. It reports false when path exists already.
func createComplete(path string, data []byte) (bool, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return false, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return false, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// HasValues reports whether the database holds any sensitive value.
func HasValues(ctx context.Context, db *store.DB) (bool, error) {
	var one int
	err := db.QueryRow(ctx, `SELECT 1 FROM person_secrets LIMIT 1`).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// Keyset names in secret_keysets.
const (
	aeadKeyset = "aead"
	prfKeyset  = "prf"
)

// Service encrypts, decrypts and indexes sensitive values.
type Service struct {
	db  *store.DB
	kek tink.AEAD
	now func() time.Time
	log *slog.Logger

	mu      sync.RWMutex
	handle  *keyset.Handle // the AEAD keyset
	aead    tink.AEAD
	primary uint32
	keys    map[uint32]bool
	version int64
	prf     *prf.Set

	wake chan struct{}
}

// Open loads the keysets with the master key, creating them on first
// use. Several instances may open the same database at once.
func Open(ctx context.Context, db *store.DB, masterKey []byte, log *slog.Logger) (*Service, error) {
	kek, err := subtle.NewAESGCM(masterKey)
	if err != nil {
		return nil, fmt.Errorf("secrets: master key: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{db: db, kek: kek, now: func() time.Time { return time.Now().UTC() }, log: log, wake: make(chan struct{}, 1)}
	err = db.Write(ctx, func(tx *store.Tx) error {
		for _, k := range []struct {
			name string
			tmpl func() *keyset.Handle
		}{
			{aeadKeyset, func() *keyset.Handle { h, _ := keyset.NewHandle(aead.AES256GCMKeyTemplate()); return h }},
			{prfKeyset, func() *keyset.Handle { h, _ := keyset.NewHandle(prf.HMACSHA256PRFKeyTemplate()); return h }},
		} {
			var n int
			if err := tx.QueryRow(`SELECT COUNT(*) FROM secret_keysets WHERE name = ?`, k.name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			h := k.tmpl()
			if h == nil {
				return errors.New("secrets: cannot create a keyset")
			}
			if err := s.saveKeysetTx(tx, k.name, h, 1, true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

func keysetAD(name string) []byte { return []byte("consento/secret_keysets/v1|" + name) }

func (s *Service) saveKeysetTx(tx *store.Tx, name string, h *keyset.Handle, version int64, insert bool) error {
	var buf bytes.Buffer
	if err := h.WriteWithAssociatedData(keyset.NewBinaryWriter(&buf), s.kek, keysetAD(name)); err != nil {
		return fmt.Errorf("secrets: encrypt keyset: %w", err)
	}
	now := store.Micros(s.now())
	if insert {
		_, err := tx.Exec(`INSERT INTO secret_keysets (name, keyset, version, updated_at) VALUES (?, ?, ?, ?)`, name, buf.Bytes(), version, now)
		return err
	}
	_, err := tx.Exec(`UPDATE secret_keysets SET keyset = ?, version = ?, updated_at = ? WHERE name = ?`, buf.Bytes(), version, now, name)
	return err
}

func (s *Service) readKeyset(raw []byte, name string) (*keyset.Handle, error) {
	h, err := keyset.ReadWithAssociatedData(keyset.NewBinaryReader(bytes.NewReader(raw)), s.kek, keysetAD(name))
	if err != nil {
		return nil, ErrWrongMasterKey
	}
	return h, nil
}

type querier interface {
	QueryRow(query string, args ...any) *sql.Row
}

type dbQuerier struct {
	ctx context.Context
	db  *store.DB
}

func (q dbQuerier) QueryRow(query string, args ...any) *sql.Row {
	return q.db.QueryRow(q.ctx, query, args...)
}

// reload reads both keysets from the database.
func (s *Service) reload(ctx context.Context) error { return s.reloadFrom(dbQuerier{ctx, s.db}) }

func (s *Service) reloadFrom(q querier) error {
	var rawA, rawP []byte
	var version int64
	if err := q.QueryRow(`SELECT keyset, version FROM secret_keysets WHERE name = ?`, aeadKeyset).Scan(&rawA, &version); err != nil {
		return fmt.Errorf("secrets: load keyset: %w", err)
	}
	if err := q.QueryRow(`SELECT keyset FROM secret_keysets WHERE name = ?`, prfKeyset).Scan(&rawP); err != nil {
		return fmt.Errorf("secrets: load keyset: %w", err)
	}
	ha, err := s.readKeyset(rawA, aeadKeyset)
	if err != nil {
		return err
	}
	hp, err := s.readKeyset(rawP, prfKeyset)
	if err != nil {
		return err
	}
	a, err := aead.New(ha)
	if err != nil {
		return fmt.Errorf("secrets: aead: %w", err)
	}
	p, err := prf.NewPRFSet(hp)
	if err != nil {
		return fmt.Errorf("secrets: prf: %w", err)
	}
	keys := map[uint32]bool{}
	for _, k := range ha.KeysetInfo().GetKeyInfo() {
		keys[k.GetKeyId()] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if version < s.version {
		return nil // a newer one is loaded already
	}
	s.handle, s.aead, s.prf, s.keys, s.version = ha, a, p, keys, version
	s.primary = ha.KeysetInfo().GetPrimaryKeyId()
	return nil
}

// current returns the loaded primitives.
func (s *Service) current() (tink.AEAD, uint32, *prf.Set) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.aead, s.primary, s.prf
}

// freshTx makes sure a write encrypts under the primary key the database
// names: another instance may have rotated.
func (s *Service) freshTx(tx *store.Tx) error {
	var v int64
	if err := tx.QueryRow(`SELECT version FROM secret_keysets WHERE name = ?`, aeadKeyset).Scan(&v); err != nil {
		return fmt.Errorf("secrets: keyset version: %w", err)
	}
	s.mu.RLock()
	stale := v != s.version
	s.mu.RUnlock()
	if stale {
		return s.reloadFrom(tx)
	}
	return nil
}

// keyIDOf reads the tink key id from a ciphertext's 5-byte prefix.
func keyIDOf(ct []byte) uint32 {
	if len(ct) < 5 {
		return 0
	}
	return uint32(ct[1])<<24 | uint32(ct[2])<<16 | uint32(ct[3])<<8 | uint32(ct[4])
}

// KeyInfo describes one key of the AEAD keyset.
type KeyInfo struct {
	ID      uint32 `json:"id"`
	Primary bool   `json:"primary"`
	Status  string `json:"status"`
}

// Keys lists the AEAD keys, oldest first.
func (s *Service) Keys(ctx context.Context) ([]KeyInfo, error) {
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []KeyInfo
	for _, k := range s.handle.KeysetInfo().GetKeyInfo() {
		out = append(out, KeyInfo{ID: k.GetKeyId(), Primary: k.GetKeyId() == s.primary, Status: strings.ToLower(k.GetStatus().String())})
	}
	return out, nil
}
