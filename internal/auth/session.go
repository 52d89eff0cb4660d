package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
)

// SessionTTL is how long a staff session lasts.
const SessionTTL = 12 * time.Hour

// ErrBadLogin is the one answer to a failed login, whatever failed.
var ErrBadLogin = errors.New("auth: wrong e-mail address or password")

// ErrThrottled means too many login attempts from this address or for
// this account, or too many at once on this server: errors.Is matches a
// *ThrottledError, which tells how long to wait.
var ErrThrottled = errors.New("auth: too many login attempts, try again later")

// ThrottledError is a login refused before the password was checked.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("auth: too many login attempts, try again in %s", e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrThrottled) match.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// maxPasswordBytes bounds what a login hashes.
const maxPasswordBytes = 1024

// Authenticate checks a staff user's password. The attempt is counted in
// the database before the password is hashed (see throttle.go), so
// simultaneous attempts cannot all slip under the limits and every
// instance on the database counts against the same limits; at most
// MaxConcurrentHashes passwords are hashed at once. Every failure looks
// the same, whether the account exists or not.
func (s *Service) Authenticate(ctx context.Context, email, password, client string) (*User, error) {
	norm, _ := ledger.NormalizeEmail(email)
	res, err := s.reserveLogin(ctx, norm, client)
	if err != nil {
		return nil, err
	}
	if !res.ok {
		return nil, &ThrottledError{RetryAfter: res.wait}
	}
	if len(password) > maxPasswordBytes {
		return nil, ErrBadLogin
	}
	var u User
	var hash string
	var disabled, created int64
	err = s.db.QueryRow(ctx, `SELECT id, email, name, role, language, password_hash, disabled, created_at FROM users WHERE email = ?`, norm).
		Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.Language, &hash, &disabled, &created)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	release, waited := s.hashSlot(ctx)
	if !waited {
		return nil, &ThrottledError{RetryAfter: time.Second}
	}
	if errors.Is(err, sql.ErrNoRows) {
		hash = dummyHash() // spend the same time as for a known account
	}
	good := CheckPassword(hash, password)
	release()
	if !good || err != nil || disabled != 0 {
		return nil, ErrBadLogin
	}
	if err := s.loginSucceeded(ctx, res); err != nil {
		return nil, err
	}
	u.CreatedAt = store.FromMicros(created)
	return &u, nil
}

var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("consento-no-such-user")
	return h
})

// Session is a signed-in staff user.
type Session struct {
	User User
	CSRF string // the token every form of this session must carry
}

// CreateSession signs a user in and returns the cookie value.
func (s *Service) CreateSession(ctx context.Context, userID int64) (string, error) {
	token, csrf := randomToken(), randomToken()
	sum := sha256.Sum256([]byte(token))
	now := time.Now()
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(`DELETE FROM sessions WHERE expires_at < ?`, store.Micros(now)); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			sum[:], userID, csrf, store.Micros(now), store.Micros(now.Add(SessionTTL)))
		return err
	})
	return token, err
}

// Session resolves a cookie value; nil when it is unknown or expired.
func (s *Service) Session(ctx context.Context, token string) (*Session, error) {
	if token == "" || len(token) > 100 {
		return nil, nil
	}
	sum := sha256.Sum256([]byte(token))
	var se Session
	var disabled int64
	err := s.db.QueryRow(ctx, `SELECT u.id, u.email, u.name, u.role, u.language, u.disabled, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ? AND s.expires_at > ?`, sum[:], store.Micros(time.Now())).
		Scan(&se.User.ID, &se.User.Email, &se.User.Name, &se.User.Role, &se.User.Language, &disabled, &se.CSRF)
	if errors.Is(err, sql.ErrNoRows) || disabled != 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &se, nil
}

// EndSession signs out.
func (s *Service) EndSession(ctx context.Context, token string) error {
	sum := sha256.Sum256([]byte(token))
	return s.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(`DELETE FROM sessions WHERE token_hash = ?`, sum[:])
		return err
	})
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
