package rights_test

import (
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/storetest"
)

// A case knows its calendar: a Bavarian case skips Corpus Christi, a
// Danish one Easter; a case in a country without holidays is flagged
// until the privacy officer enters them; the officer's changes (an extra
// closing day, a built-in holiday made a working day) count, and setting
// a case's calendar computes its deadline again.
func TestCaseCalendars(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		ctx := e.ctx
		now := time.Date(2026, 6, 20, 9, 0, 0, 0, time.UTC)
		e.r.SetClock(func() time.Time { return now })
		p := must[*ledger.Person](t)(e.l.CreatePerson(ctx, officer, ledger.PersonInput{FirstName: "Anna", Emails: []string{"anna@example.com"}}))
		open := func(country, region, received string) *rights.Request {
			t.Helper()
			return must[*rights.Request](t)(e.r.CreateRequest(ctx, officer, rights.RequestInput{PersonID: &p.ID, Type: rights.TypeAccess, Country: country, Region: region, ReceivedOn: received}))
		}

		// One month from Monday 4 May 2026 is Thursday 4 June, Corpus
		// Christi in Bavaria (not in Berlin).
		by := open("de", "de-by", "2026-05-04")
		if by.DueOn != "2026-06-05" || by.Region != "DE-BY" || by.CalendarMissing {
			t.Fatalf("DE-BY case over Corpus Christi: %+v", by)
		}
		if be := open("DE", "DE-BE", "2026-05-04"); be.DueOn != "2026-06-04" {
			t.Fatalf("DE-BE case: due %s, want 2026-06-04", be.DueOn)
		}
		// One month from 2 March 2026 is Maundy Thursday 2 April; Good
		// Friday, the weekend and Easter Monday follow.
		dk := open("DK", "", "2026-03-02")
		if dk.DueOn != "2026-04-07" || dk.CalendarMissing {
			t.Fatalf("DK case over Easter: %+v", dk)
		}

		// France has no built-in holidays: the case counts weekends only
		// and says so.
		fr := open("FR", "", "2026-06-12") // one month: Sunday 12 July -> Monday 13 July
		if fr.DueOn != "2026-07-13" || !fr.CalendarMissing {
			t.Fatalf("FR case without calendar: %+v", fr)
		}
		none := must[*rights.Request](t)(e.r.CreateRequest(ctx, officer, rights.RequestInput{PersonID: &p.ID, Type: rights.TypeErasure}))
		if !none.CalendarMissing || none.Country != "" {
			t.Fatalf("case without a country: %+v", none)
		}
		list := must[[]*rights.Request](t)(e.r.Requests(ctx, rights.RequestFilter{State: "all"}))
		flagged := 0
		for _, r := range list {
			if r.CalendarMissing {
				flagged++
			}
		}
		if flagged != 2 {
			t.Fatalf("%d cases flagged in the list, want 2 (FR and none)", flagged)
		}

		// The privacy officer enters the French holidays: the flag goes,
		// and setting the case's calendar again computes the deadline
		// with Bastille Day... and a closing day on Monday 13 July.
		if err := e.r.SetHolidays(ctx, officer, "fr", "", []rights.Holiday{{Day: "2026-07-14", Name: "Fête nationale"}, {Day: "2026-07-13", Name: "Fermeture"}}); err != nil {
			t.Fatal(err)
		}
		fr = must[*rights.Request](t)(e.r.Request(ctx, fr.ID))
		if fr.CalendarMissing || fr.DueOn != "2026-07-13" {
			t.Fatalf("FR case after the holidays were entered: %+v", fr)
		}
		fr = must[*rights.Request](t)(e.r.SetCaseCalendar(ctx, officer, fr.ID, "FR", ""))
		if fr.DueOn != "2026-07-15" {
			t.Fatalf("FR case recomputed: due %s, want 2026-07-15", fr.DueOn)
		}
		none = must[*rights.Request](t)(e.r.SetCaseCalendar(ctx, officer, none.ID, "DE", "DE-BY"))
		if none.CalendarMissing || none.Country != "DE" || none.Region != "DE-BY" {
			t.Fatalf("calendar set: %+v", none)
		}

		// A built-in holiday made a working day, an extra closing day in
		// one region; both audited.
		if err := e.r.SetCalendarDay(ctx, officer, "DE", "DE-BY", rights.Holiday{Day: "2026-06-04", Working: true}); err != nil {
			t.Fatal(err)
		}
		if c := open("DE", "DE-BY", "2026-05-04"); c.DueOn != "2026-06-04" {
			t.Fatalf("Corpus Christi made a working day: due %s", c.DueOn)
		}
		if err := e.r.SetCalendarDay(ctx, officer, "DE", "DE-BY", rights.Holiday{Day: "2026-06-04", Name: "Betriebsruhe"}); err != nil {
			t.Fatal(err)
		}
		if c := open("DE", "DE-BY", "2026-05-04"); c.DueOn != "2026-06-05" {
			t.Fatalf("extra closing day: due %s", c.DueOn)
		}
		if c := open("DE", "", "2026-05-04"); c.DueOn != "2026-06-04" {
			t.Fatalf("a Bavarian closing day counts in the whole country: due %s", c.DueOn)
		}
		off := must[[]rights.CalendarDay](t)(e.r.DaysOff(ctx, "DE", "DE-BY", 2026))
		found := false
		for _, d := range off {
			if d.Day == "2026-06-04" {
				found = d.Source == rights.SourceAdded && d.Name == "Betriebsruhe"
			}
		}
		if !found || len(off) != 12 {
			t.Fatalf("days off DE-BY 2026 (%d): %+v", len(off), off)
		}
		if err := e.r.RemoveCalendarDay(ctx, officer, "DE", "DE-BY", "2026-06-04"); err != nil {
			t.Fatal(err)
		}
		if err := e.r.RemoveCalendarDay(ctx, officer, "DE", "DE-BY", "2026-06-04"); code(err) != "unknown-holiday" {
			t.Fatalf("removing twice: %v", err)
		}
		if err := e.r.SetCalendarDay(ctx, officer, "DE", "DE-BY", rights.Holiday{Day: "2026-06-09", Working: true}); code(err) != "validation" {
			t.Fatalf("a working day where no holiday is: %v", err)
		}
		for _, bad := range [][2]string{{"DEU", ""}, {"DE", "DE-XX"}, {"DE", "AT-9"}, {"FR", "FR-"}} {
			if _, err := e.r.CreateRequest(ctx, officer, rights.RequestInput{PersonID: &p.ID, Type: rights.TypeAccess, Country: bad[0], Region: bad[1]}); code(err) != "validation" {
				t.Errorf("calendar %v: %v", bad, err)
			}
		}
		evs := must[[]audit.Event](t)(audit.List(ctx, e.db, audit.Filter{ObjectType: "holidays"}))
		if len(evs) != 4 {
			t.Fatalf("%d holiday audit events, want 4 (set, 2 day_set, day_remove)", len(evs))
		}

		// The default calendar applies to cases opened without a country,
		// including erasure requests from the preference page.
		if err := e.r.SetDefaultCalendar(ctx, officer, "dk", ""); err != nil {
			t.Fatal(err)
		}
		c := must[*rights.Request](t)(e.r.CreateRequest(ctx, officer, rights.RequestInput{PersonID: &p.ID, Type: rights.TypeAccess, ReceivedOn: "2026-03-02"}))
		if c.Country != "DK" || c.DueOn != "2026-04-07" || c.CalendarMissing {
			t.Fatalf("case in the default calendar: %+v", c)
		}
	})
}
