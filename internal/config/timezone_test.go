package config

import (
	"strings"
	"testing"
)

func TestTimeZone(t *testing.T) {
	c := Config{TimeZone: "Europe/Copenhagen"}
	if err := c.validateTimeZone(); err != nil {
		t.Fatal(err)
	}
	if c.Location == nil || c.Location.String() != "Europe/Copenhagen" {
		t.Errorf("location = %v", c.Location)
	}
	c.TimeZone = ""
	if err := c.validateTimeZone(); err != nil || c.Location.String() != "Europe/Berlin" {
		t.Errorf("default zone: %v, %v", c.Location, err)
	}
	c.TimeZone = "Mars/Olympus"
	if err := c.validateTimeZone(); err == nil || !strings.Contains(err.Error(), "CONSENTO_TIMEZONE") {
		t.Errorf("unknown zone: %v", err)
	}
}
