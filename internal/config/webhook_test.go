package config

import (
	"strings"
	"testing"
)

func TestWebhookSettings(t *testing.T) {
	base := Config{Addr: "127.0.0.1:8080", DataDir: "./data", LogLevel: "info", MailFrom: "a@example.com", MailRate: 10}
	for _, c := range []struct {
		workers, http, private, days string
		bad                          string
	}{
		{"16", "false", "false", "30", ""},
		{"1", "true", "1", "0", ""},
		{"0", "false", "false", "30", "CONSENTO_WEBHOOK_WORKERS"},
		{"lots", "false", "false", "30", "CONSENTO_WEBHOOK_WORKERS"},
		{"16", "false", "false", "-1", "CONSENTO_WEBHOOK_RETENTION_DAYS"},
	} {
		cfg := base
		cfg.Webhooks = ParseWebhookConfig(c.workers, c.http, c.private, c.days)
		err := cfg.Validate()
		if (c.bad == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.bad)) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	w := ParseWebhookConfig("4", "true", "false", "7")
	if w.Workers != 4 || !w.AllowHTTP || w.AllowPrivate || w.RetentionDays != 7 {
		t.Errorf("parsed %+v", w)
	}
}
