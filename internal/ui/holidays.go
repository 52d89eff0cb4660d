package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/rights"
)

// The holiday calendars (settings): a country's or region's days off in a
// year, the privacy officer's extra closing days and working-day
// overrides of built-in holidays, and the default calendar of cases.

func init() {
	pageNames = append(pageNames, "settings_holidays")
}

func (s *Server) holidayRoutes() {
	s.handle("GET /settings/holidays", "settings.edit", s.holidaysPage)
	s.handle("POST /settings/holidays/days", "settings.edit", s.setHolidayDay)
	s.handle("POST /settings/holidays/days/remove", "settings.edit", s.removeHolidayDay)
	s.handle("POST /settings/holidays/default", "settings.edit", s.setDefaultCalendar)
}

type holidaysData struct {
	Country, Region string
	Year            int
	Builtin         bool
	Countries       []string
	Regions         []rights.Region
	DaysOff         []rights.CalendarDay
	Entries         []rights.Holiday
	Calendars       []rights.CalendarRef
	Default         rights.CalendarRef
	Form            rights.Holiday
	Message         string
	Errors          []ledger.FieldError
}

// Prev and Next are the neighbouring years.
func (d holidaysData) Prev() int { return d.Year - 1 }
func (d holidaysData) Next() int { return d.Year + 1 }

// Query is the page's address for another year.
func (d holidaysData) Query(year int) string {
	q := url.Values{"country": {d.Country}, "year": {strconv.Itoa(year)}}
	if d.Region != "" {
		q.Set("region", d.Region)
	}
	return q.Encode()
}

func (s *Server) renderHolidays(w http.ResponseWriter, r *http.Request, p page, d holidaysData, status int) {
	ctx, svc := r.Context(), s.rights()
	d.Country, d.Region = strings.ToUpper(strings.TrimSpace(d.Country)), strings.ToUpper(strings.TrimSpace(d.Region))
	var err error
	if d.Default, err = svc.DefaultCalendar(ctx); err != nil {
		s.failErr(w, p, err, "holidays page")
		return
	}
	if d.Country == "" {
		d.Country, d.Region = d.Default.Country, d.Default.Region
	}
	if d.Country == "" {
		d.Country = rights.BuiltinCountries[0]
	}
	if d.Year == 0 {
		d.Year = time.Now().UTC().Year()
	}
	d.Countries, d.Regions, d.Builtin = rights.BuiltinCountries, rights.Regions(d.Country), rights.HasBuiltin(d.Country)
	if d.Calendars, err = svc.Calendars(ctx); err != nil {
		s.failErr(w, p, err, "holidays page")
		return
	}
	if d.DaysOff, err = svc.DaysOff(ctx, d.Country, d.Region, d.Year); err == nil {
		d.Entries, err = svc.Holidays(ctx, d.Country, d.Region)
	}
	if err != nil {
		if de, ok := ledger.AsError(err); ok && d.Message == "" {
			// A country or region typed in the address that is no calendar.
			d.Message, d.Errors, status = problemHead(p.Lang, de), de.Fields, domainStatus(de)
		} else if !ok {
			s.failErr(w, p, err, "holidays page")
			return
		}
	}
	p.Title, p.Data = i18n.T(p.Lang, "holidays.title"), d
	s.render(w, status, "settings_holidays", p)
}

func (s *Server) holidaysPage(w http.ResponseWriter, r *http.Request, p page) {
	q := r.URL.Query()
	d := holidaysData{Country: q.Get("country"), Region: q.Get("region")}
	if v := q.Get("year"); v != "" {
		d.Year, _ = strconv.Atoi(v)
	}
	switch q.Get("saved") {
	case "":
	case "removed":
		p.Flash = i18n.T(p.Lang, "holidays.flash.removed")
	default:
		p.Flash = i18n.T(p.Lang, "settings.flash.saved")
	}
	s.renderHolidays(w, r, p, d, http.StatusOK)
}

// holidayRefused shows a refused change on the page with the form as typed.
func (s *Server) holidayRefused(w http.ResponseWriter, r *http.Request, p page, d holidaysData, err error, what string) {
	de, ok := ledger.AsError(err)
	if !ok {
		s.failErr(w, p, err, what)
		return
	}
	d.Message, d.Errors = problemHead(p.Lang, de), de.Fields
	s.renderHolidays(w, r, p, d, domainStatus(de))
}

func holidayForm(r *http.Request) holidaysData {
	d := holidaysData{Country: r.PostFormValue("country"), Region: r.PostFormValue("region"),
		Form: rights.Holiday{Day: r.PostFormValue("day"), Name: r.PostFormValue("name"), Working: r.PostFormValue("kind") == "working"}}
	d.Year, _ = strconv.Atoi(r.PostFormValue("year"))
	if dt, err := rights.ParseDate(strings.TrimSpace(d.Form.Day)); err == nil {
		d.Year = dt.Year
	}
	return d
}

func (s *Server) backToHolidays(w http.ResponseWriter, r *http.Request, d holidaysData, saved string) {
	q := url.Values{"country": {strings.ToUpper(strings.TrimSpace(d.Country))}, "saved": {saved}}
	if d.Region != "" {
		q.Set("region", strings.ToUpper(strings.TrimSpace(d.Region)))
	}
	if d.Year != 0 {
		q.Set("year", strconv.Itoa(d.Year))
	}
	http.Redirect(w, r, "/settings/holidays?"+q.Encode(), http.StatusSeeOther)
}

func (s *Server) setHolidayDay(w http.ResponseWriter, r *http.Request, p page) {
	d := holidayForm(r)
	if err := s.rights().SetCalendarDay(r.Context(), userActor(p), d.Country, d.Region, d.Form); err != nil {
		s.holidayRefused(w, r, p, d, err, "set holiday")
		return
	}
	s.backToHolidays(w, r, d, "day")
}

func (s *Server) removeHolidayDay(w http.ResponseWriter, r *http.Request, p page) {
	d := holidayForm(r)
	if err := s.rights().RemoveCalendarDay(r.Context(), userActor(p), d.Country, d.Region, d.Form.Day); err != nil {
		d.Form = rights.Holiday{}
		s.holidayRefused(w, r, p, d, err, "remove holiday")
		return
	}
	s.backToHolidays(w, r, d, "removed")
}

func (s *Server) setDefaultCalendar(w http.ResponseWriter, r *http.Request, p page) {
	d := holidaysData{Country: r.PostFormValue("country"), Region: r.PostFormValue("region")}
	if err := s.rights().SetDefaultCalendar(r.Context(), userActor(p), d.Country, d.Region); err != nil {
		s.holidayRefused(w, r, p, d, err, "default calendar")
		return
	}
	s.backToHolidays(w, r, d, "default")
}
