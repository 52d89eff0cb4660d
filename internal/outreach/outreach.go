// Package outreach is what Consento does with data subjects directly:
// personal preference links, web forms with double opt-in, one-click
// unsubscribe, self-service requests (erasure, rectification) and consent
// requests by e-mail. It is the domain behind the public self-service
// pages and the staff pages that manage them; it speaks no HTTP.
package outreach

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/input"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/store"
)

// Errors the public pages answer without detail.
var (
	// ErrInvalidToken: unknown, revoked or expired link.
	ErrInvalidToken = errors.New("outreach: the link is not valid")
	// ErrUsed: a single-use link was used already.
	ErrUsed = errors.New("outreach: the link was used already")
	// ErrNotFound: no such form, request or purpose.
	ErrNotFound = errors.New("outreach: not found")
)

// InputError lists what is wrong with submitted input, by field.
type InputError struct{ Fields map[string]string }

func (e *InputError) Error() string {
	return fmt.Sprintf("outreach: invalid input (%d fields)", len(e.Fields))
}

// Config is what outreach needs to know about the installation.
type Config struct {
	PublicURL  string // base URL of the public pages, no trailing slash
	Controller string // the data controller's name, shown in mails
	PrivacyURL string // default privacy notice link
	// UnsubscribeMailto is shown in List-Unsubscribe when an inbound
	// mailbox processes it; empty (the default) leaves mailto out.
	UnsubscribeMailto string
	// OpenErasureCase, when set, runs in the transaction that files a
	// person's erasure request from the preference page: it opens the
	// privacy officer's case (the rights engine's).
	OpenErasureCase func(tx *store.Tx, personID int64) error
}

// Service is outreach over one database and ledger.
type Service struct {
	db     *store.DB
	ledger *ledger.Service
	cfg    Config
	key    []byte // HMAC key: unsubscribe tokens and CSRF tokens
	now    func() time.Time
}

// New returns the service; Init must run before use.
func New(db *store.DB, l *ledger.Service, cfg Config) *Service {
	return &Service{db: db, ledger: l, cfg: cfg, now: func() time.Time { return time.Now().UTC() }}
}

// Config returns the configuration.
func (s *Service) Config() Config { return s.cfg }

// Ledger is the ledger the service records consent in.
func (s *Service) Ledger() *ledger.Service { return s.ledger }

// DB is the database.
func (s *Service) DB() *store.DB { return s.db }

// SetClock replaces the clock (for tests of expiry).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Init loads the installation's HMAC key, creating it on first start.
func (s *Service) Init(ctx context.Context) error {
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var v string
		err := tx.QueryRow(`SELECT value FROM settings WHERE key = 'outreach.key'`).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			b := make([]byte, 32)
			rand.Read(b)
			v = hex.EncodeToString(b)
			_, err = tx.Exec(`INSERT INTO settings (key, value) VALUES ('outreach.key', ?) ON CONFLICT (key) DO NOTHING`, v)
			if err == nil {
				err = tx.QueryRow(`SELECT value FROM settings WHERE key = 'outreach.key'`).Scan(&v)
			}
		}
		if err != nil {
			return err
		}
		s.key, err = hex.DecodeString(v)
		return err
	})
	if err != nil {
		return fmt.Errorf("outreach: load key: %w", err)
	}
	return nil
}

// MAC is the installation's HMAC-SHA256 of parts (for CSRF tokens).
func (s *Service) MAC(parts ...string) []byte {
	m := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		m.Write([]byte(strconv.Itoa(len(p))))
		m.Write([]byte{':'})
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// Subject is the audit actor for a person acting on their own data.
func Subject(personID int64) audit.Actor {
	return audit.Actor{Type: "subject", ID: strconv.FormatInt(personID, 10)}
}

// Client is where a public request came from (kept as proof).
type Client struct {
	IP        string
	UserAgent string
}

func (c Client) trimmed() Client {
	return Client{IP: storable(c.IP, 64), UserAgent: storable(c.UserAgent, 512)}
}

// storable cuts a header value to at most max bytes of valid UTF-8
// without NUL: HTTP lets a client send any byte above 0x7f in a header,
// and the proof of consent must still be stored on every engine.
func storable(s string, max int) string {
	if input.Text(s) != nil {
		s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	}
	if len(s) > max {
		s = s[:max]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

// setting reads a runtime setting, def when unset.
func (s *Service) setting(ctx context.Context, key, def string) (string, error) {
	var v string
	err := s.db.QueryRow(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return def, nil
	}
	return v, err
}

func setSettingTx(tx *store.Tx, key, value string) error {
	_, err := tx.Exec(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// recordPerson appends an audit event sealed under the person's key.
func recordPerson(tx *store.Tx, at time.Time, e audit.Entry) error {
	key, err := audit.PersonKey(tx, e.PersonID)
	if err != nil {
		return err
	}
	_, err = audit.Append(tx, at, e, key)
	return err
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// RetryMail puts a dead mail back in the queue (staff, audited).
func (s *Service) RetryMail(ctx context.Context, actor audit.Actor, id int64) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if err := mail.RetryTx(tx, id); err != nil {
			return err
		}
		_, err := audit.Append(tx, s.now(), audit.Entry{Actor: actor, Action: "mail.retry", ObjectType: "mail", ObjectID: strconv.FormatInt(id, 10)}, nil)
		return err
	})
}

// SaveTemplate stores a staff version of a mail template, or restores the
// built-in one when src is empty (audited).
func (s *Service) SaveTemplate(ctx context.Context, actor audit.Actor, name, lang, src string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if err := mail.SaveSourceTx(tx, actor.String(), name, lang, src); err != nil {
			return err
		}
		_, err := audit.Append(tx, s.now(), audit.Entry{Actor: actor, Action: "mail_template.save", ObjectType: "mail_template", ObjectID: name + "." + lang, After: src}, nil)
		return err
	})
}
