package i18n

import (
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	_ "time/tzdata" // the zone database, so a fresh machine needs no zoneinfo
)

// DefaultZone is the installation's time zone unless CONSENTO_TIMEZONE
// names another.
const DefaultZone = "Europe/Berlin"

// zone is the installation's time zone, set once at start by SetZone
// (nil: DefaultZone). It is the package's only mutable state.
var zone atomic.Pointer[time.Location]

// SetZone sets the time zone Date and DateTime show times in. Call it once
// at start, from the configuration.
func SetZone(loc *time.Location) { zone.Store(loc) }

// Zone is the installation's time zone.
func Zone() *time.Location {
	if loc := zone.Load(); loc != nil {
		return loc
	}
	loc, err := time.LoadLocation(DefaultZone)
	if err != nil {
		return time.UTC
	}
	zone.CompareAndSwap(nil, loc)
	return loc
}

var enMonths = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// Date is t's calendar day in the installation's zone:
// de and da "02.12.2026", en "2 Dec 2026".
func Date(lang string, t time.Time) string {
	t = t.In(Zone())
	switch lang {
	case "de", "da":
		return t.Format("02.01.2006")
	}
	return strconv.Itoa(t.Day()) + " " + enMonths[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// DateTime is t to the minute in the installation's zone, with the zone:
// de "02.12.2026 15:26 MEZ" (MESZ in summer), da "02.12.2026 kl. 15.26 CET",
// en "2 Dec 2026, 15:26 CET". The zero time is "".
func DateTime(lang string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(Zone())
	name, _ := t.Zone()
	switch lang {
	case "de":
		switch name {
		case "CET":
			name = "MEZ"
		case "CEST":
			name = "MESZ"
		}
		return t.Format("02.01.2006 15:04 ") + name
	case "da":
		return t.Format("02.01.2006 kl. 15.04 ") + name
	}
	return Date(lang, t) + ", " + t.Format("15:04 ") + name
}

// separators are a language's thousands separator and decimal mark.
func separators(lang string) (thousands, decimal string) {
	switch lang {
	case "de", "da":
		return ".", ","
	}
	return ",", "."
}

// group writes the digits of n (n >= 0) with a thousands separator.
func group(digits, sep string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	b.Grow(len(digits) + len(digits)/3)
	first := len(digits) % 3
	if first == 0 {
		first = 3
	}
	b.WriteString(digits[:first])
	for i := first; i < len(digits); i += 3 {
		b.WriteString(sep)
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

func sign(neg bool) string {
	if neg {
		return "-"
	}
	return ""
}

// Number is a whole number with thousands separators: de and da
// "1.234.567", en "1,234,567".
func Number(lang string, n int64) string {
	th, _ := separators(lang)
	u := uint64(n)
	if n < 0 {
		u = uint64(-(n + 1)) + 1
	}
	return sign(n < 0) + group(strconv.FormatUint(u, 10), th)
}

// Decimal is f rounded to places decimals: de and da "1.234,56",
// en "1,234.56".
func Decimal(lang string, f float64, places int) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	th, dec := separators(lang)
	s := strconv.FormatFloat(math.Abs(f), 'f', places, 64)
	whole, frac, _ := strings.Cut(s, ".")
	out := sign(f < 0 && strings.Trim(s, "0.") != "") + group(whole, th)
	if frac != "" {
		out += dec + frac
	}
	return out
}

var symbols = map[string]string{"EUR": "€", "DKK": "kr.", "USD": "$", "GBP": "£", "CHF": "CHF", "SEK": "kr", "NOK": "kr"}

// Money is an amount in cents (hundredths) of currency (ISO 4217 code):
// de "1.234,56 €", da "1.234,56 kr." (DKK) or "1.234,56 €",
// en "€1,234.56" (symbol first; "DKK 1,234.56" for a code without a
// one-character symbol).
func Money(lang string, cents int64, currency string) string {
	th, dec := separators(lang)
	u := uint64(cents)
	if cents < 0 {
		u = uint64(-(cents + 1)) + 1
	}
	amount := group(strconv.FormatUint(u/100, 10), th) + dec + strconv.FormatUint(u%100/10, 10) + strconv.FormatUint(u%10, 10)
	sym, ok := symbols[currency]
	switch lang {
	case "de", "da":
		if !ok {
			sym = currency
		}
		return sign(cents < 0) + amount + " " + sym
	}
	if ok && len([]rune(sym)) == 1 {
		return sign(cents < 0) + sym + amount
	}
	return sign(cents < 0) + currency + " " + amount
}

// civil is a calendar day "YYYY-MM-DD" (a due date, a holiday), which has
// no zone: it is shown as it is, never shifted.
func civil(day string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, day)
	return t, err == nil
}

// Day is a calendar day "YYYY-MM-DD" as Date shows it, without any zone
// shift: de and da "02.12.2026", en "2 Dec 2026". Any other text comes
// back unchanged.
func Day(lang, day string) string {
	t, ok := civil(day)
	if !ok {
		return day
	}
	return Date(lang, time.Date(t.Year(), t.Month(), t.Day(), 12, 0, 0, 0, Zone()))
}

var weekdays = map[string][7]string{
	"en": {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"},
	"de": {"So.", "Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa."},
	"da": {"søn.", "man.", "tirs.", "ons.", "tors.", "fre.", "lør."},
}

// DayLong is a calendar day "YYYY-MM-DD" with its weekday, for deadlines:
// de "Mi., 02.12.2026", da "ons. 02.12.2026", en "Wed 2 Dec 2026".
func DayLong(lang, day string) string {
	t, ok := civil(day)
	if !ok {
		return day
	}
	w, ok := weekdays[lang]
	if !ok {
		w = weekdays[Reference]
	}
	sep := " "
	if lang == "de" {
		sep = ", "
	}
	return w[t.Weekday()] + sep + Day(lang, day)
}

// Scalar writes a stored scalar as the reader does: yes and no, whole
// numbers and decimals with the language's separators, nothing for nil.
// ok is false for any other value (a text, a list), which the caller
// writes itself.
func Scalar(lang string, v any) (s string, ok bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case bool:
		if x {
			return T(lang, "settings.yes"), true
		}
		return T(lang, "settings.no"), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return Number(lang, int64(x)), true
		}
		return Decimal(lang, x, decimals(x)), true
	case int64:
		return Number(lang, x), true
	case int:
		return Number(lang, int64(x)), true
	}
	return "", false
}

// decimals is how many decimals f needs (at most 6).
func decimals(f float64) int {
	s := strconv.FormatFloat(math.Abs(f), 'f', -1, 64)
	if _, frac, ok := strings.Cut(s, "."); ok {
		return min(len(frac), 6)
	}
	return 0
}
