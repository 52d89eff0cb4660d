package rights

import (
	"fmt"
	"time"

	"github.com/consento/consento/internal/input"
)

// Date is a calendar day, independent of time zones.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads an ISO date (YYYY-MM-DD).
func ParseDate(s string) (Date, error) {
	t, err := input.Date(s)
	if err != nil {
		return Date{}, fmt.Errorf("rights: %q is not a date (YYYY-MM-DD)", s)
	}
	return DateOf(t), nil
}

// DateOf is the calendar day of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// Time is the start of the day in UTC.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// AddDays moves the date by n days.
func (d Date) AddDays(n int) Date { return DateOf(d.Time().AddDate(0, 0, n)) }

// Before reports whether d is an earlier day than e.
func (d Date) Before(e Date) bool { return d.Time().Before(e.Time()) }

// DaysUntil counts the days from d to e (negative when e is earlier).
func (d Date) DaysUntil(e Date) int { return int(e.Time().Sub(d.Time()).Hours() / 24) }

// AddMonths counts a period of n months from the day of an event as
// Regulation (EEC, Euratom) No 1182/71 Art. 3(1)(c) and 3(2)(c) do: it
// ends on the day of the last month that has the same number as the
// event's day, or on that month's last day when there is no such day
// (31 January + 1 month = 28 or 29 February). Unlike time.AddDate it never
// spills into the month after.
func (d Date) AddMonths(n int) Date {
	first := time.Date(d.Year, d.Month, 1, 0, 0, 0, 0, time.UTC).AddDate(0, n, 0)
	y, m, _ := first.Date()
	last := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return Date{y, m, min(d.Day, last)}
}

// Calendar tells working days from Saturdays, Sundays and the public
// holidays of one country, or one region of it: the built-in holidays
// (BuiltinHolidays) with the privacy officer's changes.
type Calendar struct {
	Country string
	Region  string // ISO 3166-2, e.g. DE-BY; "" for the whole country
	// Holidays are days off the privacy officer added (or, for a country
	// without built-in holidays, all of its holidays).
	Holidays map[Date]bool
	// Working are days that are working days although a built-in holiday
	// falls on them.
	Working map[Date]bool
	// Builtin counts the built-in holidays of Country and Region.
	Builtin bool
}

// WorkingDay reports whether d is neither a weekend day nor a holiday.
func (c Calendar) WorkingDay(d Date) bool {
	switch d.Time().Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	switch {
	case c.Working[d]:
		return true
	case c.Holidays[d]:
		return false
	}
	return !c.Builtin || builtinHoliday(c.Country, c.Region, d) == ""
}

// Missing reports whether the calendar knows no holiday at all: no
// country, or a country with neither built-in nor added holidays. Its
// deadlines count weekends only.
func (c Calendar) Missing() bool { return !c.Builtin && len(c.Holidays) == 0 }

// NextWorkingDay is d, or the first working day after it.
func (c Calendar) NextWorkingDay(d Date) Date {
	for i := 0; i < 366 && !c.WorkingDay(d); i++ {
		d = d.AddDays(1)
	}
	return d
}

// Due is the last day of a period of months after receipt by Regulation
// 1182/71 Art. 3: the day of receipt does not count, the period ends on the
// same date months later (or that month's last day), and a period ending
// on a Saturday, Sunday or public holiday runs to the end of the next
// working day (Art. 3(4)).
func (c Calendar) Due(received Date, months int) Date {
	return c.NextWorkingDay(received.AddMonths(months))
}

// Answer periods of GDPR Art. 12(3), counted from receipt.
const (
	// AnswerMonths is the period to answer a request.
	AnswerMonths = 1
	// ExtendedMonths is the longest period with the extension "by two
	// further months": three months from receipt in all.
	ExtendedMonths = 3
)
