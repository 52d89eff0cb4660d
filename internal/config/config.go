// Package config holds Consento's start-up configuration: flags and
// CONSENTO_* environment variables (secrets also from *_FILE), validated
// once at start with messages that say what to fix.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/consento/consento/internal/netx"
	"github.com/consento/consento/internal/store"
)

// Config is the validated configuration.
type Config struct {
	Addr        string
	DataDir     string
	DatabaseURL string
	// PublicURL is where users and integrators reach this server.
	PublicURL string
	LogLevel  string
	// The data controller, named in consent receipts.
	ControllerName    string
	ControllerContact string
	PrivacyNoticeURL  string
	// Outgoing e-mail: SMTPURL empty captures mail in the outbox.
	SMTPURL  string
	MailFrom string
	MailRate float64

	// BlocklistSecret keys the hashes of erased e-mail addresses; empty:
	// a random key kept in the database.
	BlocklistSecret string
	// MailRetentionDays: sent, captured and failed mails are deleted after
	// this many days (0 keeps them).
	MailRetentionDays int
	// TrustedProxies are the load balancers whose X-Forwarded-For names
	// the client (rate limits, consent evidence, login throttling).
	TrustedProxies netx.Proxies
	// Webhooks configures webhook deliveries.
	Webhooks WebhookConfig
	// MasterKey (base64 of 32 bytes) encrypts the keysets of the sensitive
	// fields; empty on SQLite: generated once into <data dir>/master.key.
	MasterKey string
	// RetentionInterval: how often serve runs the retention sweep (when
	// the retention settings switch it on); 0 never.
	RetentionInterval time.Duration
	// TimeZone names the installation's time zone (IANA name) in which
	// pages, mail and documents show dates and times; Location is it,
	// loaded by Validate.
	TimeZone string
	Location *time.Location
}

// Option describes one setting: its flag, environment variable and default.
type Option struct {
	Flag, Env, Default, Usage string
	Secret                    bool // may also come from <Env>_FILE
}

// Options lists every setting, in the order of the README's table.
var Options = []Option{
	{Flag: "addr", Env: "CONSENTO_ADDR", Default: "127.0.0.1:8080", Usage: "address to listen on (host:port)"},
	{Flag: "data-dir", Env: "CONSENTO_DATA_DIR", Default: "./consento-data", Usage: "directory of the embedded SQLite database"},
	{Flag: "database-url", Env: "CONSENTO_DATABASE_URL", Usage: "postgres:// URL to use PostgreSQL instead of SQLite", Secret: true},
	{Flag: "public-url", Env: "CONSENTO_PUBLIC_URL", Usage: "public base URL of this server (default http://<addr>)"},
	{Flag: "log-level", Env: "CONSENTO_LOG_LEVEL", Default: "info", Usage: "debug, info, warn or error"},
	{Flag: "controller-name", Env: "CONSENTO_CONTROLLER_NAME", Default: "Consento controller", Usage: "name of the data controller, shown in consent receipts"},
	{Flag: "controller-contact", Env: "CONSENTO_CONTROLLER_CONTACT", Usage: "contact (e-mail or address) of the data controller"},
	{Flag: "privacy-notice-url", Env: "CONSENTO_PRIVACY_NOTICE_URL", Usage: "URL of the privacy notice, cited in consent receipts"},
	{Flag: "smtp-url", Env: "CONSENTO_SMTP_URL", Usage: "smtp://user:pass@host:587 or smtps://…:465 to send e-mail (empty: mail is captured for staff to read)", Secret: true},
	{Flag: "mail-from", Env: "CONSENTO_MAIL_FROM", Default: "Consento <consento@localhost>", Usage: "sender address of Consento's e-mail"},
	{Flag: "mail-rate", Env: "CONSENTO_MAIL_RATE", Default: "10", Usage: "most e-mails sent per second"},
	{Flag: "blocklist-secret", Env: "CONSENTO_BLOCKLIST_SECRET", Usage: "secret (at least 32 characters) that keys the hashes of erased e-mail addresses", Secret: true},
	{Flag: "mail-retention-days", Env: "CONSENTO_MAIL_RETENTION_DAYS", Default: "180", Usage: "days the outbox keeps sent, captured and failed mails (0: forever)"},
	{Flag: "master-key", Env: "CONSENTO_MASTER_KEY", Usage: "base64 of 32 random bytes (openssl rand -base64 32) that encrypts the keys of the sensitive fields; never stored in the database (empty with SQLite: generated once into <data dir>/master.key; required with PostgreSQL once sensitive values exist)", Secret: true},
	{Flag: "retention-interval", Env: "CONSENTO_RETENTION_INTERVAL", Default: "24h", Usage: "how often the server runs the retention sweep when it is switched on in the retention settings (e.g. 24h, 6h; 0 never)"},
	{Flag: "timezone", Env: "CONSENTO_TIMEZONE", Default: "Europe/Berlin", Usage: "time zone (IANA name such as Europe/Berlin or Europe/Copenhagen) in which pages, e-mails and documents show dates and times"},
	{Flag: "trusted-proxies", Env: "CONSENTO_TRUSTED_PROXIES", Usage: "addresses or CIDR ranges of the load balancers in front of Consento, whose X-Forwarded-For header names the client (empty: the peer is the client)"},
}

// Validate checks c and fills derived defaults.
func (c *Config) Validate() error {
	var errs []error
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		errs = append(errs, fmt.Errorf("--addr / CONSENTO_ADDR %q must be host:port, e.g. 127.0.0.1:8080", c.Addr))
	}
	if c.DatabaseURL != "" {
		if !store.IsPostgresURL(c.DatabaseURL) {
			errs = append(errs, errors.New("--database-url / CONSENTO_DATABASE_URL must start with postgres:// or postgresql:// (leave it empty for the embedded SQLite database)"))
		} else if _, err := url.Parse(c.DatabaseURL); err != nil {
			errs = append(errs, errors.New("--database-url / CONSENTO_DATABASE_URL is not a valid URL"))
		}
	} else if strings.TrimSpace(c.DataDir) == "" {
		errs = append(errs, errors.New("--data-dir / CONSENTO_DATA_DIR must not be empty"))
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("--public-url / CONSENTO_PUBLIC_URL %q must be an http(s) URL", c.PublicURL))
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if _, err := c.Level(); err != nil {
		errs = append(errs, err)
	}
	if c.PrivacyNoticeURL != "" {
		if u, err := url.Parse(c.PrivacyNoticeURL); err != nil || u.Host == "" {
			errs = append(errs, errors.New("--privacy-notice-url / CONSENTO_PRIVACY_NOTICE_URL must be an absolute URL"))
		}
	}
	if err := c.validateMail(); err != nil {
		errs = append(errs, err)
	}
	if err := c.validateWebhooks(); err != nil {
		errs = append(errs, err)
	}
	if err := c.validateRetention(); err != nil {
		errs = append(errs, err)
	}
	if err := c.validateTimeZone(); err != nil {
		errs = append(errs, err)
	}
	if c.BlocklistSecret != "" && len(c.BlocklistSecret) < 32 {
		errs = append(errs, errors.New("--blocklist-secret / CONSENTO_BLOCKLIST_SECRET must be at least 32 characters (e.g. openssl rand -hex 32)"))
	}
	return errors.Join(errs...)
}

// Level parses the log level.
func (c *Config) Level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("--log-level / CONSENTO_LOG_LEVEL %q must be debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}

// Redacted is the database URL without its password, for messages.
func (c *Config) Redacted() string {
	if c.DatabaseURL == "" {
		return "SQLite in " + c.DataDir
	}
	u, err := url.Parse(c.DatabaseURL)
	if err != nil {
		return "PostgreSQL"
	}
	return "PostgreSQL at " + u.Redacted()
}
