package cli

import (
	"context"
	"time"

	"github.com/consento/consento/internal/webhook"
)

// webhooks is the webhook service for the configuration.
func (e *env) webhooks() *webhook.Service {
	c := e.cfg.Webhooks
	retention := time.Duration(c.RetentionDays) * 24 * time.Hour
	if c.RetentionDays == 0 {
		retention = -1 // keep
	}
	return webhook.New(e.db, webhook.Options{AllowHTTP: c.AllowHTTP, AllowPrivate: c.AllowPrivate, Workers: c.Workers,
		Retention: retention, Log: e.log})
}

// startWebhooks dispatches and delivers webhooks in the background until
// the returned function is called (it waits for attempts under way).
func (e *env) startWebhooks(ctx context.Context, svc *webhook.Service) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.Run(ctx)
	}()
	return func() { cancel(); <-done }
}
