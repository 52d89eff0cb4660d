package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
)

// SessionTTL is how long a staff session lasts.
const SessionTTL = 12 * time.Hour

// ErrBadLogin is the one answer to a failed login, whatever failed.
var ErrBadLogin = errors.New("auth: wrong e-mail address or password")

// ErrThrottled means too many failed logins from this address or for
// this account; the caller should answer as for a bad login.
var ErrThrottled = errors.New("auth: too many failed logins, try again later")

// Authenticate checks a staff user's password. Failures are throttled per
// account and per client address; every failure looks the same.
func (s *Service) Authenticate(ctx context.Context, email, password, client string) (*User, error) {
	norm, _ := ledger.NormalizeEmail(email)
	if s.throttle.blocked(norm, client) {
		return nil, ErrThrottled
	}
	var u User
	var hash string
	var disabled, created int64
	err := s.db.QueryRow(ctx, `SELECT id, email, name, role, language, password_hash, disabled, created_at FROM users WHERE email = ?`, norm).
		Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.Language, &hash, &disabled, &created)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if errors.Is(err, sql.ErrNoRows) {
		hash = dummyHash() // spend the same time as for a known account
	}
	if !CheckPassword(hash, password) || err != nil || disabled != 0 {
		s.throttle.fail(norm, client)
		return nil, ErrBadLogin
	}
	s.throttle.reset(norm)
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

// throttle counts failed logins per account and per client address in a
// sliding window; past the limit, logins are refused until it passes.
type throttle struct {
	mu       sync.Mutex
	failures map[string][]time.Time
}

const (
	throttleWindow = 15 * time.Minute
	throttleMax    = 5
)

func (t *throttle) keys(email, client string) []string {
	return []string{"account:" + strings.ToLower(email), "client:" + client}
}

func (t *throttle) blocked(email, client string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range t.keys(email, client) {
		if len(t.recent(k)) >= throttleMax {
			return true
		}
	}
	return false
}

func (t *throttle) recent(k string) []time.Time {
	cut := time.Now().Add(-throttleWindow)
	fs := t.failures[k]
	for len(fs) > 0 && fs[0].Before(cut) {
		fs = fs[1:]
	}
	if len(fs) == 0 {
		delete(t.failures, k)
	} else {
		t.failures[k] = fs
	}
	return fs
}

func (t *throttle) fail(email, client string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failures == nil || len(t.failures) > 100_000 {
		t.failures = map[string][]time.Time{}
	}
	for _, k := range t.keys(email, client) {
		t.failures[k] = append(t.recent(k), time.Now())
	}
}

func (t *throttle) reset(email string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, "account:"+strings.ToLower(email))
}
