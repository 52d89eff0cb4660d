package rights

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
)

// Holiday is one day of a calendar: a holiday, or (Working) a working day
// although a built-in holiday falls on it.
type Holiday struct {
	Day     string `json:"day"`
	Name    string `json:"name"`
	Working bool   `json:"working,omitempty"`
}

// CalendarDay is a day off in a calendar's year, with where it comes from.
type CalendarDay struct {
	Day    string `json:"day"`
	Name   string `json:"name"`
	Source string `json:"source"` // "builtin" or "added"
	// Region is the region whose entry made the day ("" for the country).
	Region string `json:"region,omitempty"`
}

// Source values of CalendarDay.
const (
	SourceBuiltin = "builtin"
	SourceAdded   = "added"
)

// validCountry reports whether c is an ISO 3166-1 alpha-2 code (upper case).
func validCountry(c string) bool {
	n, ok := textcheck.Country(c)
	return ok && n == c
}

// normCalendar normalises and checks a calendar's country and region.
// field names the country's form field ("country"); the region's is
// "region".
func normCalendar(country, region string) (string, string, error) {
	country = strings.ToUpper(strings.TrimSpace(country))
	region = strings.ToUpper(strings.TrimSpace(region))
	if !validCountry(country) {
		return country, region, invalid("country", "must be an ISO 3166-1 alpha-2 code such as DE")
	}
	if region == "" {
		return country, region, nil
	}
	code, ok := strings.CutPrefix(region, country+"-")
	switch {
	case !ok || code == "" || len(code) > 3 || strings.Trim(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "":
		return country, region, invalid("region", "must be an ISO 3166-2 code of the country, such as "+country+"-"+map[bool]string{true: "BY", false: "01"}[country == "DE"])
	case Regions(country) != nil && !knownRegion(country, region):
		return country, region, invalid("region", "is not a region of "+country)
	}
	return country, region, nil
}

type queryFunc func(q string, args ...any) (*sql.Rows, error)

// loadCalendar reads the privacy officer's days of the country and the
// region; the region's entry wins over the country's.
func loadCalendar(query queryFunc, country, region string) (Calendar, error) {
	cal := Calendar{Country: country, Region: region, Holidays: map[Date]bool{}, Working: map[Date]bool{}, Builtin: HasBuiltin(country)}
	if country == "" {
		return cal, nil
	}
	rows, err := query(`SELECT region, day, closed FROM calendar_days WHERE country = ? AND region IN ('', ?) ORDER BY region`, country, region)
	if err != nil {
		return cal, fmt.Errorf("rights: holidays: %w", err)
	}
	defer rows.Close()
	for rows.Next() { // the country's rows first, then the region's
		var reg, day string
		var closed int64
		if err := rows.Scan(&reg, &day, &closed); err != nil {
			return cal, err
		}
		d, err := ParseDate(day)
		if err != nil {
			continue
		}
		delete(cal.Holidays, d)
		delete(cal.Working, d)
		if closed != 0 {
			cal.Holidays[d] = true
		} else {
			cal.Working[d] = true
		}
	}
	return cal, rows.Err()
}

// Calendar loads the calendar of a country and region.
func (s *Service) Calendar(ctx context.Context, country, region string) (Calendar, error) {
	return loadCalendar(func(q string, args ...any) (*sql.Rows, error) { return s.db.Query(ctx, q, args...) }, country, region)
}

func calendarTx(tx *store.Tx, country, region string) (Calendar, error) {
	return loadCalendar(tx.Query, country, region)
}

// Holidays lists the privacy officer's days of a calendar (the country's
// when region is ""): added holidays, and working days that override a
// built-in holiday.
func (s *Service) Holidays(ctx context.Context, country, region string) ([]Holiday, error) {
	country, region, err := normCalendar(country, region)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT day, name, closed FROM calendar_days WHERE country = ? AND region = ? ORDER BY day`, country, region)
	if err != nil {
		return nil, fmt.Errorf("rights: holidays: %w", err)
	}
	defer rows.Close()
	out := []Holiday{}
	for rows.Next() {
		var h Holiday
		var closed int64
		if err := rows.Scan(&h.Day, &h.Name, &closed); err != nil {
			return nil, err
		}
		h.Working = closed == 0
		out = append(out, h)
	}
	return out, rows.Err()
}

// DaysOff lists the days off of a calendar in a year (weekends aside):
// the built-in holidays not overridden and the added ones.
func (s *Service) DaysOff(ctx context.Context, country, region string, year int) ([]CalendarDay, error) {
	country, region, err := normCalendar(country, region)
	if err != nil {
		return nil, err
	}
	if year < 1900 || year > 2200 {
		return nil, invalid("year", "must be a year from 1900 to 2200")
	}
	cal, err := s.Calendar(ctx, country, region)
	if err != nil {
		return nil, err
	}
	names := map[string]CalendarDay{}
	for _, h := range BuiltinHolidays(country, region, year) {
		names[h.Day] = CalendarDay{Day: h.Day, Name: h.Name, Source: SourceBuiltin}
	}
	rows, err := s.db.Query(ctx, `SELECT region, day, name FROM calendar_days WHERE country = ? AND region IN ('', ?) AND closed = 1 AND day LIKE ?`,
		country, region, fmt.Sprintf("%04d-%%", year))
	if err != nil {
		return nil, fmt.Errorf("rights: holidays: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d CalendarDay
		if err := rows.Scan(&d.Region, &d.Day, &d.Name); err != nil {
			return nil, err
		}
		d.Source = SourceAdded
		if prev, ok := names[d.Day]; ok && d.Name == "" {
			d.Name = prev.Name
		}
		names[d.Day] = d
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := []CalendarDay{}
	for day, cd := range names {
		d, _ := ParseDate(day)
		if cal.Working[d] {
			continue
		}
		out = append(out, cd)
	}
	sortDays(out)
	return out, nil
}

func sortDays(ds []CalendarDay) {
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && ds[j].Day < ds[j-1].Day; j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}

// checkHoliday validates one day of a calendar; at names its place in the
// request ("holidays[2]" or "").
func checkHoliday(h *Holiday, at string) error {
	field := func(f string) string {
		if at == "" {
			return f
		}
		return at + "." + f
	}
	d, err := ParseDate(strings.TrimSpace(h.Day))
	if err != nil {
		return invalid(field("day"), "must be a date (YYYY-MM-DD)")
	}
	h.Day = d.String()
	h.Name = strings.TrimSpace(h.Name)
	if bad := textcheck.Line(h.Name, textcheck.MaxName); bad != textcheck.OK {
		return invalid(field("name"), bad.Message(textcheck.MaxName))
	}
	return nil
}

func closedInt(h Holiday) int {
	if h.Working {
		return 0
	}
	return 1
}

// SetHolidays replaces the privacy officer's days of a calendar (the
// country's when region is ""). Deadlines already computed stay as they
// are; SetCaseCalendar computes a case's again.
func (s *Service) SetHolidays(ctx context.Context, actor audit.Actor, country, region string, days []Holiday) error {
	country, region, err := normCalendar(country, region)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for i := range days {
		if err := checkHoliday(&days[i], fmt.Sprintf("holidays[%d]", i)); err != nil {
			return err
		}
		if seen[days[i].Day] {
			return invalid(fmt.Sprintf("holidays[%d].day", i), "is listed twice")
		}
		seen[days[i].Day] = true
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(`DELETE FROM calendar_days WHERE country = ? AND region = ?`, country, region); err != nil {
			return err
		}
		for _, h := range days {
			if _, err := tx.Exec(`INSERT INTO calendar_days (country, region, day, name, closed) VALUES (?, ?, ?, ?, ?)`, country, region, h.Day, h.Name, closedInt(h)); err != nil {
				return fmt.Errorf("rights: store holiday: %w", err)
			}
		}
		return appendAudit(tx, s.now(), audit.Entry{Actor: actor, Action: "holidays.set", ObjectType: "holidays", ObjectID: calendarID(country, region), After: days})
	})
}

func calendarID(country, region string) string {
	if region != "" {
		return region
	}
	return country
}

// SetCalendarDay adds a day off to a calendar, or (h.Working) makes a
// built-in holiday a working day; it replaces the calendar's entry for
// the same day.
func (s *Service) SetCalendarDay(ctx context.Context, actor audit.Actor, country, region string, h Holiday) error {
	country, region, err := normCalendar(country, region)
	if err != nil {
		return err
	}
	if err := checkHoliday(&h, ""); err != nil {
		return err
	}
	if h.Working {
		d, _ := ParseDate(h.Day)
		name := builtinHoliday(country, region, d)
		if name == "" {
			return invalid("day", "no built-in holiday of this calendar falls on this day: only a built-in holiday can be made a working day")
		}
		if h.Name == "" {
			h.Name = name
		}
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		var before []Holiday
		var old Holiday
		var closed int64
		switch err := tx.QueryRow(`SELECT day, name, closed FROM calendar_days WHERE country = ? AND region = ? AND day = ?`, country, region, h.Day).Scan(&old.Day, &old.Name, &closed); {
		case err == nil:
			old.Working = closed == 0
			before = []Holiday{old}
			if _, err := tx.Exec(`DELETE FROM calendar_days WHERE country = ? AND region = ? AND day = ?`, country, region, h.Day); err != nil {
				return err
			}
		case !isNoRows(err):
			return err
		}
		if _, err := tx.Exec(`INSERT INTO calendar_days (country, region, day, name, closed) VALUES (?, ?, ?, ?, ?)`, country, region, h.Day, h.Name, closedInt(h)); err != nil {
			return fmt.Errorf("rights: store holiday: %w", err)
		}
		return appendAudit(tx, s.now(), audit.Entry{Actor: actor, Action: "holidays.day_set", ObjectType: "holidays", ObjectID: calendarID(country, region),
			Before: before, After: h})
	})
}

// RemoveCalendarDay removes the privacy officer's entry for a day: an
// added holiday goes, an overridden built-in holiday counts again.
func (s *Service) RemoveCalendarDay(ctx context.Context, actor audit.Actor, country, region, day string) error {
	country, region, err := normCalendar(country, region)
	if err != nil {
		return err
	}
	h := Holiday{Day: day}
	if err := checkHoliday(&h, ""); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		var old Holiday
		var closed int64
		err := tx.QueryRow(`SELECT day, name, closed FROM calendar_days WHERE country = ? AND region = ? AND day = ?`, country, region, h.Day).Scan(&old.Day, &old.Name, &closed)
		if isNoRows(err) {
			return notFound("unknown-holiday", "this calendar has no entry for this day")
		}
		if err != nil {
			return err
		}
		old.Working = closed == 0
		if _, err := tx.Exec(`DELETE FROM calendar_days WHERE country = ? AND region = ? AND day = ?`, country, region, h.Day); err != nil {
			return err
		}
		return appendAudit(tx, s.now(), audit.Entry{Actor: actor, Action: "holidays.day_remove", ObjectType: "holidays", ObjectID: calendarID(country, region), Before: old})
	})
}

const defaultCalendarSetting = "rights.default_calendar"

// CalendarRef names a calendar: a country and optionally a region.
type CalendarRef struct {
	Country string `json:"country"`
	Region  string `json:"region,omitempty"`
}

// DefaultCalendar is the calendar of cases opened without a country
// (zero when none is set).
func (s *Service) DefaultCalendar(ctx context.Context) (CalendarRef, error) {
	var v string
	err := s.db.QueryRow(ctx, `SELECT value FROM settings WHERE key = ?`, defaultCalendarSetting).Scan(&v)
	return parseCalendarRef(v), ignoreNoRows(err)
}

func defaultCalendarTx(tx *store.Tx) (CalendarRef, error) {
	var v string
	err := tx.QueryRow(`SELECT value FROM settings WHERE key = ?`, defaultCalendarSetting).Scan(&v)
	return parseCalendarRef(v), ignoreNoRows(err)
}

func parseCalendarRef(v string) CalendarRef {
	var ref CalendarRef
	_ = json.Unmarshal([]byte(v), &ref)
	return ref
}

func ignoreNoRows(err error) error {
	if isNoRows(err) {
		return nil
	}
	return err
}

// SetDefaultCalendar sets the calendar of cases opened without a country
// (an empty country clears it).
func (s *Service) SetDefaultCalendar(ctx context.Context, actor audit.Actor, country, region string) error {
	var ref CalendarRef
	if strings.TrimSpace(country) != "" {
		c, r, err := normCalendar(country, region)
		if err != nil {
			return err
		}
		ref = CalendarRef{Country: c, Region: r}
	}
	b, _ := json.Marshal(ref)
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(`DELETE FROM settings WHERE key = ?`, defaultCalendarSetting); err != nil {
			return err
		}
		if ref.Country != "" {
			if _, err := tx.Exec(`INSERT INTO settings (key, value) VALUES (?, ?)`, defaultCalendarSetting, string(b)); err != nil {
				return err
			}
		}
		return appendAudit(tx, s.now(), audit.Entry{Actor: actor, Action: "setting.update", ObjectType: "setting", ObjectID: defaultCalendarSetting, After: ref})
	})
}

// Calendars lists the calendars with entries of the privacy officer.
func (s *Service) Calendars(ctx context.Context) ([]CalendarRef, error) {
	rows, err := s.db.Query(ctx, `SELECT DISTINCT country, region FROM calendar_days ORDER BY country, region`)
	if err != nil {
		return nil, fmt.Errorf("rights: calendars: %w", err)
	}
	defer rows.Close()
	out := []CalendarRef{}
	for rows.Next() {
		var c CalendarRef
		if err := rows.Scan(&c.Country, &c.Region); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// flagCalendars sets CalendarMissing on cases whose calendar knows no
// holiday: no country, or one with neither built-in nor added holidays.
func (s *Service) flagCalendars(ctx context.Context, rs ...*Request) error {
	known := map[CalendarRef]bool{}
	for _, r := range rs {
		ref := CalendarRef{Country: r.Country, Region: r.Region}
		ok, seen := known[ref]
		if !seen {
			switch {
			case ref.Country == "":
			case HasBuiltin(ref.Country):
				ok = true
			default:
				var n int
				if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM calendar_days WHERE country = ? AND region IN ('', ?) AND closed = 1`, ref.Country, ref.Region).Scan(&n); err != nil {
					return fmt.Errorf("rights: calendar: %w", err)
				}
				ok = n > 0
			}
			known[ref] = ok
		}
		r.CalendarMissing = !ok
	}
	return nil
}
