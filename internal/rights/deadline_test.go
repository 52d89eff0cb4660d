package rights

import "testing"

func d(s string) Date {
	x, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return x
}

func TestAddMonthsKeepsTheDateOrTakesTheMonthsLastDay(t *testing.T) {
	for _, tc := range []struct {
		from   string
		months int
		want   string
	}{
		{"2026-03-10", 1, "2026-04-10"},
		{"2026-01-31", 1, "2026-02-28"}, // no 31 February
		{"2028-01-31", 1, "2028-02-29"}, // leap year
		{"2028-01-29", 1, "2028-02-29"},
		{"2026-01-29", 1, "2026-02-28"},
		{"2026-03-31", 1, "2026-04-30"},
		{"2026-02-28", 1, "2026-03-28"}, // not the end of March
		{"2026-12-31", 1, "2027-01-31"}, // over the year
		{"2026-12-15", 3, "2027-03-15"},
		{"2026-11-30", 3, "2027-02-28"},
		{"2027-11-30", 3, "2028-02-29"},
		{"2026-08-31", 1, "2026-09-30"},
	} {
		if got := d(tc.from).AddMonths(tc.months).String(); got != tc.want {
			t.Errorf("%s + %d months = %s, want %s", tc.from, tc.months, got, tc.want)
		}
	}
}

func TestDueDateMovesOffWeekendsAndHolidays(t *testing.T) {
	de := Calendar{Country: "DE", Holidays: map[Date]bool{d("2026-12-25"): true, d("2026-12-26"): true, d("2027-01-01"): true, d("2026-05-01"): true}}
	none := Calendar{}
	for _, tc := range []struct {
		cal      Calendar
		received string
		months   int
		want     string
	}{
		{none, "2026-03-10", 1, "2026-04-10"}, // Friday
		{none, "2026-03-11", 1, "2026-04-13"}, // Saturday 11 April -> Monday
		{none, "2026-03-12", 1, "2026-04-13"}, // Sunday -> Monday
		{none, "2026-01-31", 1, "2026-03-02"}, // 28 Feb is a Saturday -> Monday 2 March
		{none, "2028-01-31", 1, "2028-02-29"}, // leap day is a Tuesday
		{de, "2026-11-25", 1, "2026-12-28"},   // Fri 25 Dec holiday, Sat, Sun -> Monday 28
		{de, "2026-12-01", 1, "2027-01-04"},   // Fri 1 Jan holiday, weekend -> Monday 4 January
		{none, "2026-12-01", 1, "2027-01-01"}, // without the holiday: Friday 1 January
		{de, "2026-04-01", 1, "2026-05-04"},   // Fri 1 May holiday, weekend -> Monday
		{de, "2026-03-31", 3, "2026-06-30"},   // the extended period: three months in all
		{none, "2026-10-31", 3, "2027-02-01"}, // 31 Jan 2027 is a Sunday
	} {
		if got := tc.cal.Due(d(tc.received), tc.months).String(); got != tc.want {
			t.Errorf("%s received %s, %d month(s): due %s, want %s", tc.cal.Country, tc.received, tc.months, got, tc.want)
		}
	}
}
