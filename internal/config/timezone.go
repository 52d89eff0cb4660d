package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/consento/consento/internal/i18n"
)

// validateTimeZone loads the installation's time zone (default
// Europe/Berlin); the zone database is built in, so any IANA name works.
func (c *Config) validateTimeZone() error {
	name := strings.TrimSpace(c.TimeZone)
	if name == "" {
		name = i18n.DefaultZone
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		return fmt.Errorf("--timezone / CONSENTO_TIMEZONE %q must be a time zone name such as Europe/Berlin or Europe/Copenhagen", c.TimeZone)
	}
	c.TimeZone, c.Location = name, loc
	return nil
}
