package cli

import (
	"context"
	"strconv"
	"time"

	"github.com/consento/consento/internal/mail"
)

// parseRate reads --mail-rate; a bad value becomes 0, which Validate refuses.
func parseRate(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return f
}

// parseDays reads --mail-retention-days; a bad value becomes -1, which
// Validate refuses.
func parseDays(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// mailWorker is the outbox worker for the configuration.
func (e *env) mailWorker() *mail.Worker {
	smtp, _ := mail.ParseSMTPURL(e.cfg.SMTPURL) // validated at start
	return mail.NewWorker(e.db, mail.Config{SMTP: smtp, From: e.cfg.MailFrom, Rate: e.cfg.MailRate,
		Retention: time.Duration(e.cfg.MailRetentionDays) * 24 * time.Hour}, e.log)
}

// startMailWorker delivers the outbox in the background until the returned
// function is called (it waits for the worker to stop).
func (e *env) startMailWorker(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.mailWorker().Run(ctx)
	}()
	if e.cfg.SMTPURL == "" {
		e.log.Info("no SMTP server configured: e-mail is captured in the outbox (staff UI: Outbox)")
	}
	return func() { cancel(); <-done }
}
