package config

import (
	"errors"
	"net/mail"

	cmail "github.com/consento/consento/internal/mail"
)

func (c *Config) validateMail() error {
	var errs []error
	if _, err := cmail.ParseSMTPURL(c.SMTPURL); err != nil {
		errs = append(errs, errors.New("--smtp-url / CONSENTO_SMTP_URL: "+err.Error()))
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		errs = append(errs, errors.New("--mail-from / CONSENTO_MAIL_FROM must be an e-mail address, e.g. \"Privacy <privacy@example.com>\""))
	}
	if c.MailRate <= 0 || c.MailRate > 10000 {
		errs = append(errs, errors.New("--mail-rate / CONSENTO_MAIL_RATE must be a number of mails per second between 0 and 10000"))
	}
	if c.MailRetentionDays < 0 {
		errs = append(errs, errors.New("--mail-retention-days / CONSENTO_MAIL_RETENTION_DAYS must be a whole number of days, 0 or more"))
	}
	return errors.Join(errs...)
}
