// Package audit keeps Consento's tamper-evident audit trail: an append-only,
// hash-chained log of who changed what, when and why.
//
// Each event's hash covers the previous event's hash and the event's stored
// bytes. When an event concerns a person, its payload (reason, before,
// after) is sealed with AES-256-GCM under that person's own key, and the
// chain hashes the ciphertext. Destroying the key (crypto-shredding, on
// erasure) makes those payloads unreadable while the chain still verifies.
package audit

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"time"
	"unsafe"

	"github.com/consento/consento/internal/store"
)

// Actor is who caused a change.
type Actor struct {
	// Type is "user", "token", "subject" (the person themself) or "system".
	Type string `json:"type"`
	ID   string `json:"id"`
}

func (a Actor) String() string { return a.Type + ":" + a.ID }

// System is the actor for changes Consento makes on its own.
var System = Actor{Type: "system", ID: "consento"}

// Entry is one change to record.
type Entry struct {
	Actor      Actor
	Action     string // e.g. "person.create", "consent.record"
	ObjectType string
	ObjectID   string
	// PersonID, when set, seals the payload under the person's key.
	PersonID int64
	Reason   string
	Before   any
	After    any
}

// Payload is the content of an event: sealed when it concerns a person.
type Payload struct {
	Reason string          `json:"reason,omitempty"`
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
}

// Event is a stored audit event.
type Event struct {
	Seq        int64     `json:"seq"`
	At         time.Time `json:"at"`
	Actor      Actor     `json:"actor"`
	Action     string    `json:"action"`
	ObjectType string    `json:"object_type"`
	ObjectID   string    `json:"object_id"`
	PersonID   *int64    `json:"person_id,omitempty"`
	Sealed     bool      `json:"sealed"`
	// Payload is nil when the person's key has been destroyed.
	Payload  *Payload `json:"payload,omitempty"`
	Shredded bool     `json:"shredded,omitempty"`
	Hash     string   `json:"hash"`

	raw  []byte
	hash []byte
}

// NewPersonKey creates and stores the audit key of a new person.
func NewPersonKey(tx *store.Tx, personID int64) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(`INSERT INTO person_keys (person_id, key) VALUES (?, ?)`, personID, key); err != nil {
		return nil, fmt.Errorf("audit: store person key: %w", err)
	}
	return key, nil
}

// PersonKey loads a person's key inside a write transaction.
func PersonKey(tx *store.Tx, personID int64) ([]byte, error) {
	var key []byte
	err := tx.QueryRow(`SELECT key FROM person_keys WHERE person_id = ?`, personID).Scan(&key)
	if err != nil {
		return nil, fmt.Errorf("audit: person key %d: %w", personID, err)
	}
	if len(key) == 0 {
		return nil, ErrShredded
	}
	return key, nil
}

// ErrShredded means the person's key was destroyed.
var ErrShredded = errors.New("audit: the person's key has been destroyed")

// InsertSQL writes an event prepared by Prepare.
const InsertSQL = `INSERT INTO audit_events (seq, at, actor_type, actor_id, action, object_type, object_id, person_id, payload, hash)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// Append writes one event at the head of the chain. key must be the
// person's key when e.PersonID is set (see PersonKey / NewPersonKey).
func Append(tx *store.Tx, at time.Time, e Entry, key []byte) (int64, error) {
	args, err := Prepare(tx, at, e, key)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(InsertSQL, args...); err != nil {
		return 0, fmt.Errorf("audit: append: %w", err)
	}
	return args[0].(int64), nil
}

// Prepare seals and chains one event at the head of the chain and returns
// the arguments of InsertSQL, which the caller must run in the same
// transaction (Append does; a caller may fold it into a larger statement).
func Prepare(tx *store.Tx, at time.Time, e Entry, key []byte) ([]any, error) {
	p := Payload{Reason: e.Reason}
	var err error
	if e.Before != nil {
		if p.Before, err = json.Marshal(e.Before); err != nil {
			return nil, fmt.Errorf("audit: encode before: %w", err)
		}
	}
	if e.After != nil {
		if p.After, err = json.Marshal(e.After); err != nil {
			return nil, fmt.Errorf("audit: encode after: %w", err)
		}
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	seq, prev := tx.Head()
	if prev == nil {
		prev = []byte{}
	}
	seq++
	var personID any
	if e.PersonID != 0 {
		if len(key) != 32 {
			return nil, errors.New("audit: a person-bound event needs the person's key")
		}
		if raw, err = seal(key, seq, raw); err != nil {
			return nil, err
		}
		personID = e.PersonID
	}
	at = at.UTC().Truncate(time.Microsecond)
	hash := (&Link{Seq: seq, At: at, Actor: e.Actor, Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID,
		PersonID: e.PersonID, Payload: raw, Prev: prev}).Hash()
	tx.SetHead(seq, hash)
	return []any{seq, store.Micros(at), e.Actor.Type, e.Actor.ID, e.Action, e.ObjectType, e.ObjectID, personID, raw, hash}, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Link is an audit event as the chain hashes it: every stored field.
// Append and the ledger's bulk import both build events through it.
type Link struct {
	Seq        int64
	At         time.Time
	Actor      Actor
	Action     string
	ObjectType string
	ObjectID   string
	PersonID   int64  // 0: not bound to a person, and not sealed
	Payload    []byte // the stored bytes: sealed when PersonID is set
	Prev       []byte // hash of the event before
}

// Hash is SHA-256 over the previous hash and every stored field, each
// length-prefixed so that no two different events encode alike.
func (l *Link) Hash() []byte {
	pid := int64(-1)
	if l.PersonID != 0 {
		pid = l.PersonID
	}
	return hashFields(sha256.New(), nil, l.Prev, l.Seq, l.At.UnixMicro(), bytesOf(l.Actor.Type), bytesOf(l.Actor.ID),
		bytesOf(l.Action), bytesOf(l.ObjectType), bytesOf(l.ObjectID), pid, l.PersonID != 0, l.Payload)
}

// bytesOf views a string's bytes without copying; they are only hashed.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// hashFields is the one definition of an event's hash, over the stored
// columns as bytes (Verify passes them without copying).
func hashFields(h hash.Hash, dst, prev []byte, seq, at int64, actorType, actorID, action, objType, objID []byte, personID int64, sealed bool, raw []byte) []byte {
	h.Reset()
	var buf [binary.MaxVarintLen64]byte
	field := func(b []byte) {
		h.Write(buf[:binary.PutUvarint(buf[:], uint64(len(b)))])
		h.Write(b)
	}
	num := func(v int64) { h.Write(buf[:binary.PutVarint(buf[:], v)]) }
	h.Write([]byte("consento-audit-v1"))
	field(prev)
	num(seq)
	num(at)
	field(actorType)
	field(actorID)
	field(action)
	field(objType)
	field(objID)
	num(personID)
	num(int64(b2i(sealed)))
	field(raw)
	return h.Sum(dst)
}

// NewAEAD returns the cipher that seals a person's payloads under key.
func NewAEAD(key []byte) (cipher.AEAD, error) { return gcm(key) }

// Seal encrypts a payload of event seq; nonce must be fresh random bytes
// of aead.NonceSize(). The result is the nonce followed by the ciphertext.
func Seal(aead cipher.AEAD, nonce []byte, seq int64, plain []byte) []byte {
	return aead.Seal(nonce[:len(nonce):len(nonce)], nonce, plain, aad(seq))
}

func seal(key []byte, seq int64, plain []byte) ([]byte, error) {
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return Seal(aead, nonce, seq, plain), nil
}

func open(key []byte, seq int64, sealed []byte) ([]byte, error) {
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("audit: sealed payload too short")
	}
	return aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], aad(seq))
}

func aad(seq int64) []byte { return strconv.AppendInt([]byte("consento-audit:"), seq, 10) }

func gcm(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("audit: key: %w", err)
	}
	return cipher.NewGCM(block)
}
