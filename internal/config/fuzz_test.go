package config

import (
	"net/url"
	"strings"
	"testing"

	cmail "github.com/consento/consento/internal/mail"
)

// FuzzSMTPURL reads any text as --smtp-url and --mail-from: a URL that is
// accepted names a host and a port in range, with the user and password
// it holds; one that is refused says why without repeating the URL, which
// may hold the password.
func FuzzSMTPURL(f *testing.F) {
	for _, u := range []string{"smtp://mail.example.com", "smtps://user:p%40ss@mail.example.com:465", "smtp://u:secret@[::1]:2525?tls=required",
		"smtp://mail.example.com:0", "smtp://mail.example.com:65536", "smtp://:25", "http://mail.example.com", "smtp://u:secret@host?tls=maybe",
		"smtp://u:secret@host:99999999999999999999", "smtp://u:se cret@ho\x00st", "smtp://\xff", "%", ""} {
		f.Add(u, "Privacy <privacy@example.com>")
	}
	f.Fuzz(func(t *testing.T, raw, from string) {
		s, err := cmail.ParseSMTPURL(raw)
		if err != nil {
			u, _ := url.Parse(raw)
			secret := ""
			if u != nil && u.User != nil {
				secret, _ = u.User.Password()
			}
			if len(secret) >= 4 && strings.Contains(err.Error(), secret) || len(raw) >= 8 && strings.Contains(err.Error(), raw) {
				t.Fatalf("the error repeats the URL: %v", err)
			}
		} else if raw != "" {
			if s == nil || s.Host == "" || s.Port < 1 || s.Port > 65535 {
				t.Fatalf("ParseSMTPURL(%q) = %+v", raw, s)
			}
			u, perr := url.Parse(raw)
			if perr != nil || !strings.EqualFold(u.Hostname(), s.Host) {
				t.Fatalf("ParseSMTPURL(%q) = host %q", raw, s.Host)
			}
			if pw, _ := u.User.Password(); pw != s.Password || u.User.Username() != s.Username {
				t.Fatalf("ParseSMTPURL(%q): user %q password %q", raw, s.Username, s.Password)
			}
		}
		c := Config{SMTPURL: raw, MailFrom: from, MailRate: 10}
		if verr := c.validateMail(); verr != nil && len(raw) >= 8 && strings.Contains(verr.Error(), raw) {
			t.Fatalf("the configuration error repeats the URL: %v", verr)
		}
	})
}
