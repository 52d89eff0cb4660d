package input

import (
	"fmt"
	"strings"
	"time"
)

// DateError says why a date was refused.
type DateError struct {
	Value  string // the input, as given
	Format string // what was expected, for people
}

func (e *DateError) Error() string {
	return fmt.Sprintf("%s is not a date (use %s)", Quote(e.Value), e.Format)
}

const (
	formatDate       = "YYYY-MM-DD"
	formatDateOrTime = "YYYY-MM-DD or RFC 3339, e.g. 2024-05-31T14:00:00Z"
	formatTime       = "RFC 3339, e.g. 2024-05-31T14:00:00Z"
	formatMinute     = "YYYY-MM-DDTHH:MM"
)

// LocalMinute is the layout of an HTML datetime-local field.
const LocalMinute = "2006-01-02T15:04"

// Date reads a calendar day, YYYY-MM-DD, surrounding spaces ignored, as
// midnight UTC.
func Date(s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, &DateError{s, formatDate}
	}
	return t, nil
}

// Time reads an RFC 3339 time.
func Time(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, &DateError{s, formatTime}
	}
	return t, nil
}

// DateOrTime reads an RFC 3339 time or a calendar day (midnight UTC).
func DateOrTime(s string) (time.Time, error) {
	v := strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, &DateError{s, formatDateOrTime}
	}
	return t, nil
}

// Minute reads the value of an HTML datetime-local field
// (YYYY-MM-DDTHH:MM) as a time in UTC.
func Minute(s string) (time.Time, error) {
	t, err := time.Parse(LocalMinute, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, &DateError{s, formatMinute}
	}
	return t, nil
}
