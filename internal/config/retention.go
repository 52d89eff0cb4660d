package config

import "errors"

func (c *Config) validateRetention() error {
	if c.RetentionInterval < 0 {
		return errors.New("--retention-interval / CONSENTO_RETENTION_INTERVAL must be a duration such as 24h or 6h30m, or 0 to never sweep on a schedule")
	}
	if c.RetentionInterval > 0 && c.RetentionInterval.Minutes() < 1 {
		return errors.New("--retention-interval / CONSENTO_RETENTION_INTERVAL must be at least 1m (or 0)")
	}
	return nil
}
