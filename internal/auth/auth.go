// Package auth manages staff users (passwords hashed with argon2id) and
// API tokens (random secrets stored as SHA-256 hashes, with scopes).
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/ratelimit"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
)

// Roles of staff users.
const (
	RoleAdmin          = "admin"
	RolePrivacyOfficer = "privacy_officer"
	RoleStaff          = "staff"
	RoleMarketing      = "marketing"
)

// Roles lists every role.
var Roles = []string{RoleAdmin, RolePrivacyOfficer, RoleStaff, RoleMarketing}

// Scopes an API token can hold.
var Scopes = []string{
	"persons:read", "persons:write",
	"consents:read", "consents:write",
	"config:read", "config:write",
	"audit:read",
}

// scopeRoles names, for each scope, the roles whose members may put it on
// a token they create: what the role may do in the staff UI, never more
// (a token must not lift its creator above their role). Each scopes_*.go
// file adds its scopes here with their roles.
var scopeRoles = map[string][]string{
	"persons:read":   Roles,
	"persons:write":  {RoleAdmin, RolePrivacyOfficer, RoleStaff},
	"consents:read":  Roles,
	"consents:write": {RoleAdmin, RolePrivacyOfficer, RoleStaff},
	"config:read":    Roles,
	"config:write":   {RoleAdmin, RolePrivacyOfficer},
	"audit:read":     {RoleAdmin, RolePrivacyOfficer},
}

// RoleGrants reports whether a member of role may put scope on a token.
func RoleGrants(role, scope string) bool { return slices.Contains(scopeRoles[scope], role) }

// ScopesFor lists the scopes a member of role may put on a token, in the
// order of Scopes.
func ScopesFor(role string) []string {
	var out []string
	for _, sc := range Scopes {
		if RoleGrants(role, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// User is a staff member.
type User struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Language  string    `json:"language"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

// Token is an API token (its secret is shown once, at creation).
type Token struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Prefix    string     `json:"prefix"`
	Scopes    []string   `json:"scopes"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// Has reports whether the token holds scope.
func (t *Token) Has(scope string) bool { return slices.Contains(t.Scopes, scope) }

// Actor is the audit actor of the token.
func (t *Token) Actor() audit.Actor {
	return audit.Actor{Type: "token", ID: strconv.FormatInt(t.ID, 10)}
}

// Service manages users and tokens.
type Service struct {
	db    *store.DB
	mu    sync.Mutex
	cache map[[32]byte]cachedToken

	limiter     *ratelimit.Limiter
	loginLimits LoginLimits
	hashSlots   chan struct{} // see MaxConcurrentHashes
}

type cachedToken struct {
	tok     *Token
	fetched time.Time
}

// tokenCacheTTL bounds how long a revoked token may still be accepted by
// an instance that looked it up just before.
const tokenCacheTTL = 5 * time.Second

// New returns the service over db.
func New(db *store.DB) *Service {
	return &Service{db: db, cache: map[[32]byte]cachedToken{}, limiter: ratelimit.New(db), loginLimits: DefaultLoginLimits(),
		hashSlots: make(chan struct{}, MaxConcurrentHashes)}
}

var argonParams = struct {
	time, memory uint32
	threads      uint8
	keyLen       uint32
}{time: 2, memory: 64 * 1024, threads: 2, keyLen: 32}

// HashPassword hashes with argon2id in the PHC string format.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	k := argon2.IDKey([]byte(pw), salt, argonParams.time, argonParams.memory, argonParams.threads, argonParams.keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonParams.memory, argonParams.time, argonParams.threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(k)), nil
}

// CheckPassword compares pw with a PHC argon2id hash in constant time.
func CheckPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

func invalid(field, msg string) error {
	return &ledger.Error{Kind: ledger.KindInvalid, Code: "validation", Message: "some fields are invalid", Fields: []ledger.FieldError{ledger.Field(field, msg)}}
}

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 12

// CreateUser adds a staff user.
func (s *Service) CreateUser(ctx context.Context, actor audit.Actor, email, name, role, password string) (*User, error) {
	e, ok := ledger.NormalizeEmail(email)
	if !ok {
		return nil, invalid("email", "is not a valid e-mail address")
	}
	if !slices.Contains(Roles, role) {
		return nil, invalid("role", "must be one of "+strings.Join(Roles, ", "))
	}
	if len([]rune(password)) < MinPasswordLength {
		return nil, invalid("password", fmt.Sprintf("must be at least %d characters", MinPasswordLength))
	}
	if len(password) > maxPasswordBytes {
		return nil, invalid("password", fmt.Sprintf("must be at most %d bytes", maxPasswordBytes))
	}
	name = strings.TrimSpace(name)
	if err := ledger.CheckTexts(ledger.OneLine("name", name, textcheck.MaxName)); err != nil {
		return nil, err
	}
	if name == "" {
		name = e
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return nil, err
	}
	u := &User{Email: e, Name: name, Role: role, Language: "en", CreatedAt: time.Now().UTC()}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		now := store.Micros(u.CreatedAt)
		id, err := tx.InsertID(`INSERT INTO users (email, name, role, language, password_hash, disabled, created_at, updated_at) VALUES (?, ?, ?, 'en', ?, 0, ?, ?)`,
			u.Email, u.Name, u.Role, hash, now, now)
		if store.IsUniqueViolation(err) {
			return &ledger.Error{Kind: ledger.KindConflict, Code: "duplicate-user", Message: "a user with this e-mail address exists already"}
		}
		if err != nil {
			return err
		}
		u.ID = id
		_, err = audit.Append(tx, u.CreatedAt, audit.Entry{Actor: actor, Action: "user.create", ObjectType: "user", ObjectID: strconv.FormatInt(id, 10), After: u}, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// SetLanguage changes the language a user's pages are shown in.
func (s *Service) SetLanguage(ctx context.Context, actor audit.Actor, userID int64, lang string) error {
	if !slices.Contains(ledger.Languages, lang) {
		return invalid("language", "must be one of "+strings.Join(ledger.Languages, ", "))
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		var before string
		if err := tx.QueryRow(`SELECT language FROM users WHERE id = ?`, userID).Scan(&before); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return &ledger.Error{Kind: ledger.KindNotFound, Code: "unknown-user", Message: "there is no such user"}
			}
			return err
		}
		now := time.Now().UTC()
		if _, err := tx.Exec(`UPDATE users SET language = ?, updated_at = ? WHERE id = ?`, lang, store.Micros(now), userID); err != nil {
			return err
		}
		_, err := audit.Append(tx, now, audit.Entry{Actor: actor, Action: "user.update", ObjectType: "user", ObjectID: strconv.FormatInt(userID, 10),
			Before: map[string]string{"language": before}, After: map[string]string{"language": lang}}, nil)
		return err
	})
}

// Users lists staff users.
func (s *Service) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.Query(ctx, `SELECT id, email, name, role, language, disabled, created_at FROM users ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var dis, at int64
		if err := rows.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.Language, &dis, &at); err != nil {
			return nil, err
		}
		u.Disabled, u.CreatedAt = dis != 0, store.FromMicros(at)
		out = append(out, u)
	}
	return out, rows.Err()
}

// TokenPrefix starts every Consento API token, so secret scanners find them.
const TokenPrefix = "cns_"

// CreateToken issues a token with any scopes and returns it with its
// secret: for the operator (consento token create), who runs the server
// anyway. Tokens staff create go through CreateTokenAs.
func (s *Service) CreateToken(ctx context.Context, actor audit.Actor, name string, scopes []string, ttl time.Duration) (*Token, string, error) {
	return s.createToken(ctx, actor, "", name, scopes, ttl)
}

// CreateTokenAs issues a token for a staff member of role: only scopes
// that role grants (ScopesFor); any other is refused with a field error.
func (s *Service) CreateTokenAs(ctx context.Context, actor audit.Actor, role, name string, scopes []string, ttl time.Duration) (*Token, string, error) {
	if !slices.Contains(Roles, role) {
		return nil, "", invalid("role", "is not a staff role: "+strings.Join(Roles, ", "))
	}
	return s.createToken(ctx, actor, role, name, scopes, ttl)
}

// createToken issues a token; role "" is the operator, who may grant any
// scope.
func (s *Service) createToken(ctx context.Context, actor audit.Actor, role, name string, scopes []string, ttl time.Duration) (*Token, string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, "", invalid("name", "is required")
	}
	if err := ledger.CheckTexts(ledger.OneLine("name", name, textcheck.MaxName)); err != nil {
		return nil, "", err
	}
	offer := Scopes
	if role != "" {
		offer = ScopesFor(role)
	}
	if len(scopes) == 0 {
		return nil, "", invalid("scopes", "at least one scope is required: "+strings.Join(offer, ", "))
	}
	for _, sc := range scopes {
		if !slices.Contains(Scopes, sc) {
			return nil, "", invalid("scopes", fmt.Sprintf("unknown scope %q: use %s", sc, strings.Join(offer, ", ")))
		}
		if role != "" && !RoleGrants(role, sc) {
			return nil, "", invalid("scopes", fmt.Sprintf("%s is beyond what your role (%s) may do; a token you create may hold only %s", sc, role, strings.Join(offer, ", ")))
		}
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", err
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(secret))
	t := &Token{Name: name, Prefix: secret[:10], Scopes: scopes, CreatedAt: time.Now().UTC()}
	if ttl > 0 {
		exp := t.CreatedAt.Add(ttl)
		t.ExpiresAt = &exp
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var exp any
		if t.ExpiresAt != nil {
			exp = store.Micros(*t.ExpiresAt)
		}
		id, err := tx.InsertID(`INSERT INTO api_tokens (name, prefix, hash, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			t.Name, t.Prefix, sum[:], strings.Join(scopes, " "), store.Micros(t.CreatedAt), exp)
		if err != nil {
			return err
		}
		t.ID = id
		_, err = audit.Append(tx, t.CreatedAt, audit.Entry{Actor: actor, Action: "token.create", ObjectType: "api_token", ObjectID: strconv.FormatInt(id, 10), After: t}, nil)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return t, secret, nil
}

// ErrBadToken is returned for unknown, revoked or expired tokens.
var ErrBadToken = errors.New("auth: invalid token")

// LookupToken resolves a presented token secret.
func (s *Service) LookupToken(ctx context.Context, secret string) (*Token, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 100 {
		return nil, ErrBadToken
	}
	sum := sha256.Sum256([]byte(secret))
	now := time.Now()
	s.mu.Lock()
	c, ok := s.cache[sum]
	s.mu.Unlock()
	if ok && now.Sub(c.fetched) < tokenCacheTTL {
		if c.tok == nil || (c.tok.ExpiresAt != nil && now.After(*c.tok.ExpiresAt)) {
			return nil, ErrBadToken
		}
		return c.tok, nil
	}
	var t Token
	var scopes string
	var created int64
	var exp, revoked sql.NullInt64
	err := s.db.QueryRow(ctx, `SELECT id, name, prefix, scopes, created_at, expires_at, revoked_at FROM api_tokens WHERE hash = ?`, sum[:]).
		Scan(&t.ID, &t.Name, &t.Prefix, &scopes, &created, &exp, &revoked)
	var tok *Token
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, err
	case revoked.Valid:
	default:
		t.Scopes = strings.Fields(scopes)
		t.CreatedAt = store.FromMicros(created)
		if exp.Valid {
			e := store.FromMicros(exp.Int64)
			t.ExpiresAt = &e
		}
		tok = &t
	}
	s.mu.Lock()
	if len(s.cache) > 10000 {
		clear(s.cache)
	}
	s.cache[sum] = cachedToken{tok: tok, fetched: now}
	s.mu.Unlock()
	if tok == nil || (tok.ExpiresAt != nil && now.After(*tok.ExpiresAt)) {
		return nil, ErrBadToken
	}
	return tok, nil
}

// TokenInfo is a token as listed: never its secret.
type TokenInfo struct {
	Token
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Tokens lists every token, newest first.
func (s *Service) Tokens(ctx context.Context) ([]TokenInfo, error) {
	rows, err := s.db.Query(ctx, `SELECT id, name, prefix, scopes, created_at, expires_at, revoked_at FROM api_tokens ORDER BY id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TokenInfo
	for rows.Next() {
		var t TokenInfo
		var scopes string
		var created int64
		var exp, rev sql.NullInt64
		if err := rows.Scan(&t.ID, &t.Name, &t.Prefix, &scopes, &created, &exp, &rev); err != nil {
			return nil, err
		}
		t.Scopes, t.CreatedAt = strings.Fields(scopes), store.FromMicros(created)
		if exp.Valid {
			e := store.FromMicros(exp.Int64)
			t.ExpiresAt = &e
		}
		if rev.Valid {
			r := store.FromMicros(rev.Int64)
			t.RevokedAt = &r
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes a token by id. This instance stops accepting it at
// once; other instances within tokenCacheTTL.
func (s *Service) RevokeToken(ctx context.Context, actor audit.Actor, id int64) error {
	defer func() {
		s.mu.Lock()
		for k, c := range s.cache {
			if c.tok != nil && c.tok.ID == id {
				delete(s.cache, k)
			}
		}
		s.mu.Unlock()
	}()
	return s.db.Write(ctx, func(tx *store.Tx) error {
		now := time.Now().UTC()
		res, err := tx.Exec(`UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, store.Micros(now), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &ledger.Error{Kind: ledger.KindNotFound, Code: "unknown-token", Message: "there is no such active token"}
		}
		_, err = audit.Append(tx, now, audit.Entry{Actor: actor, Action: "token.revoke", ObjectType: "api_token", ObjectID: strconv.FormatInt(id, 10)}, nil)
		return err
	})
}

// SetRole changes a user's role.
func (s *Service) SetRole(ctx context.Context, actor audit.Actor, userID int64, role string) error {
	if !slices.Contains(Roles, role) {
		return invalid("role", "must be one of "+strings.Join(Roles, ", "))
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		var before string
		if err := tx.QueryRow(`SELECT role FROM users WHERE id = ?`, userID).Scan(&before); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return &ledger.Error{Kind: ledger.KindNotFound, Code: "unknown-user", Message: "there is no such user"}
			}
			return err
		}
		now := time.Now().UTC()
		if _, err := tx.Exec(`UPDATE users SET role = ?, updated_at = ? WHERE id = ?`, role, store.Micros(now), userID); err != nil {
			return err
		}
		_, err := audit.Append(tx, now, audit.Entry{Actor: actor, Action: "user.update", ObjectType: "user", ObjectID: strconv.FormatInt(userID, 10),
			Before: map[string]string{"role": before}, After: map[string]string{"role": role}}, nil)
		return err
	})
}

// SetDisabled disables or enables a user; disabling also ends all of the
// user's sessions.
func (s *Service) SetDisabled(ctx context.Context, actor audit.Actor, userID int64, disabled bool) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		var before int64
		if err := tx.QueryRow(`SELECT disabled FROM users WHERE id = ?`, userID).Scan(&before); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return &ledger.Error{Kind: ledger.KindNotFound, Code: "unknown-user", Message: "there is no such user"}
			}
			return err
		}
		now := time.Now().UTC()
		var flag int64
		if disabled {
			flag = 1
		}
		if _, err := tx.Exec(`UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?`, flag, store.Micros(now), userID); err != nil {
			return err
		}
		if disabled {
			if _, err := tx.Exec(`DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
				return err
			}
		}
		_, err := audit.Append(tx, now, audit.Entry{Actor: actor, Action: "user.update", ObjectType: "user", ObjectID: strconv.FormatInt(userID, 10),
			Before: map[string]bool{"disabled": before != 0}, After: map[string]bool{"disabled": disabled}}, nil)
		return err
	})
}
