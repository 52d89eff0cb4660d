package mail

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/consento/consento/internal/emailaddr"
)

// SMTP is where the worker delivers, parsed from CONSENTO_SMTP_URL:
// smtp://user:pass@host:587 (STARTTLS when offered, required when
// ?tls=required), smtps://user:pass@host:465 (implicit TLS).
type SMTP struct {
	Host     string
	Port     int
	Username string
	Password string
	SSL      bool
	TLS      gomail.TLSPolicy
}

// ParseSMTPURL parses an smtp:// or smtps:// URL; "" means no SMTP server.
func ParseSMTPURL(raw string) (*SMTP, error) {
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("the SMTP URL is not a valid URL")
	}
	s := &SMTP{Host: u.Hostname(), TLS: gomail.TLSOpportunistic}
	switch u.Scheme {
	case "smtp":
		s.Port = 587
	case "smtps":
		s.Port, s.SSL = 465, true
	default:
		return nil, errors.New("the SMTP URL must start with smtp:// or smtps://")
	}
	if s.Host == "" {
		return nil, errors.New("the SMTP URL has no host")
	}
	if p := u.Port(); p != "" {
		if s.Port, err = strconv.Atoi(p); err != nil || s.Port <= 0 || s.Port > 65535 {
			return nil, errors.New("the SMTP URL has an invalid port")
		}
	}
	switch u.Query().Get("tls") {
	case "", "opportunistic":
	case "required":
		s.TLS = gomail.TLSMandatory
	case "none":
		s.TLS = gomail.NoTLS
	default:
		return nil, errors.New("the SMTP URL's tls= must be opportunistic, required or none")
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	return s, nil
}

// Outgoing is a queued mail ready to send.
type Outgoing struct {
	ID                  int64
	To                  string
	Subject, Text, HTML string
	Unsubscribe         string // List-Unsubscribe value, "" for none
	Attachments         []Attachment
}

// Sender delivers a batch of mails over one connection, reporting each
// mail's outcome through done (nil error: accepted by the server).
type Sender interface {
	Send(ctx context.Context, batch []Outgoing, done func(i int, err error)) error
}

type smtpSender struct {
	cfg  *SMTP
	from string
	wait func(ctx context.Context) error // the rate limit
}

func (s *smtpSender) client() (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(30 * time.Second), gomail.WithTLSPortPolicy(s.cfg.TLS)}
	if s.cfg.SSL {
		opts = append(opts, gomail.WithSSLPort(false))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	return gomail.NewClient(s.cfg.Host, opts...)
}

// Build turns an outgoing mail into a MIME message: plain text with an
// HTML alternative, and the RFC 8058 headers for marketing mail.
func Build(from string, o Outgoing) (*gomail.Msg, error) {
	m := gomail.NewMsg()
	if err := m.From(from); err != nil {
		return nil, fmt.Errorf("mail: sender address: %w", err)
	}
	// Addresses are stored with Unicode domains; the envelope and header
	// carry punycode, which every server accepts.
	if err := m.To(emailaddr.ASCII(o.To)); err != nil {
		return nil, ErrRecipient
	}
	m.Subject(o.Subject)
	m.SetDate()
	m.SetMessageID()
	m.SetBodyString(gomail.TypeTextPlain, o.Text)
	m.AddAlternativeString(gomail.TypeTextHTML, o.HTML)
	attach(m, o.Attachments)
	if o.Unsubscribe != "" {
		m.SetGenHeaderPreformatted("List-Unsubscribe", o.Unsubscribe)
		if strings.Contains(o.Unsubscribe, "<http") {
			m.SetGenHeaderPreformatted("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
		}
	}
	return m, nil
}

func (s *smtpSender) Send(ctx context.Context, batch []Outgoing, done func(int, error)) error {
	c, err := s.client()
	if err != nil {
		return fmt.Errorf("mail: smtp client: %w", err)
	}
	if err := c.DialWithContext(ctx); err != nil {
		return fmt.Errorf("mail: connect to %s: %w", net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)), err)
	}
	defer c.Close()
	for i, o := range batch {
		if err := s.wait(ctx); err != nil {
			return err
		}
		m, err := Build(s.from, o)
		if err != nil {
			done(i, err)
			continue
		}
		err = c.Send(m)
		done(i, err)
		if err != nil {
			// After a failed transaction the connection may be unusable:
			// reset it, and stop the batch if that fails too.
			if rerr := c.Reset(); rerr != nil {
				return fmt.Errorf("mail: smtp reset: %w", rerr)
			}
		}
	}
	return nil
}
