package config

import (
	"errors"
	"strconv"
	"strings"
)

// WebhookConfig configures webhook deliveries.
type WebhookConfig struct {
	// Workers is how many deliveries are sent at once.
	Workers int
	// AllowHTTP accepts http:// receivers beyond this machine.
	AllowHTTP bool
	// AllowPrivate accepts receivers on loopback, private and link-local
	// addresses (an internal CRM; tests).
	AllowPrivate bool
	// RetentionDays: delivered and failed deliveries are deleted after
	// this many days (0 keeps them).
	RetentionDays int
}

func init() {
	Options = append(Options,
		Option{Flag: "webhook-workers", Env: "CONSENTO_WEBHOOK_WORKERS", Default: "16", Usage: "webhook deliveries sent at once"},
		Option{Flag: "webhook-allow-http", Env: "CONSENTO_WEBHOOK_ALLOW_HTTP", Default: "false", Usage: "accept http:// webhook receivers beyond this machine (true/false)"},
		Option{Flag: "webhook-allow-private", Env: "CONSENTO_WEBHOOK_ALLOW_PRIVATE", Default: "false", Usage: "accept webhook receivers on loopback, private and link-local addresses (true/false)"},
		Option{Flag: "webhook-retention-days", Env: "CONSENTO_WEBHOOK_RETENTION_DAYS", Default: "30", Usage: "days the delivery log keeps delivered and failed webhook deliveries (0: forever)"},
	)
}

// ParseWebhookConfig reads the settings' text values; bad values are
// marked so that Validate refuses them.
func ParseWebhookConfig(workers, allowHTTP, allowPrivate, retentionDays string) WebhookConfig {
	c := WebhookConfig{Workers: -1, RetentionDays: -1}
	if n, err := strconv.Atoi(strings.TrimSpace(workers)); err == nil {
		c.Workers = n
	}
	if n, err := strconv.Atoi(strings.TrimSpace(retentionDays)); err == nil {
		c.RetentionDays = n
	}
	c.AllowHTTP, _ = strconv.ParseBool(strings.TrimSpace(allowHTTP))
	c.AllowPrivate, _ = strconv.ParseBool(strings.TrimSpace(allowPrivate))
	return c
}

func (c *Config) validateWebhooks() error {
	var errs []error
	if c.Webhooks.Workers < 1 || c.Webhooks.Workers > 256 {
		errs = append(errs, errors.New("--webhook-workers / CONSENTO_WEBHOOK_WORKERS must be a whole number from 1 to 256"))
	}
	if c.Webhooks.RetentionDays < 0 {
		errs = append(errs, errors.New("--webhook-retention-days / CONSENTO_WEBHOOK_RETENTION_DAYS must be a whole number of days, 0 or more"))
	}
	return errors.Join(errs...)
}
