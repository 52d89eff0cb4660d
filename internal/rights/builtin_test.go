package rights

import (
	"slices"
	"strings"
	"testing"
)

// The official lists of public holidays 2024–2027 (the Länder's and the
// Federal Ministry of the Interior's tables for Germany; the Danish
// Helligdagsloven with the 2024 abolition of Store Bededag), typed in as
// dates, not computed.
var (
	deNational = map[int][]string{
		2024: {"2024-01-01", "2024-03-29", "2024-04-01", "2024-05-01", "2024-05-09", "2024-05-20", "2024-10-03", "2024-12-25", "2024-12-26"},
		2025: {"2025-01-01", "2025-04-18", "2025-04-21", "2025-05-01", "2025-05-29", "2025-06-09", "2025-10-03", "2025-12-25", "2025-12-26"},
		2026: {"2026-01-01", "2026-04-03", "2026-04-06", "2026-05-01", "2026-05-14", "2026-05-25", "2026-10-03", "2026-12-25", "2026-12-26"},
		2027: {"2027-01-01", "2027-03-26", "2027-03-29", "2027-05-01", "2027-05-06", "2027-05-17", "2027-10-03", "2027-12-25", "2027-12-26"},
	}
	// The days each Land adds to the national ones.
	deStates = map[string]map[int][]string{
		"DE-BW": {2024: {"2024-01-06", "2024-05-30", "2024-11-01"}, 2025: {"2025-01-06", "2025-06-19", "2025-11-01"}, 2026: {"2026-01-06", "2026-06-04", "2026-11-01"}, 2027: {"2027-01-06", "2027-05-27", "2027-11-01"}},
		"DE-BY": {2024: {"2024-01-06", "2024-05-30", "2024-11-01"}, 2025: {"2025-01-06", "2025-06-19", "2025-11-01"}, 2026: {"2026-01-06", "2026-06-04", "2026-11-01"}, 2027: {"2027-01-06", "2027-05-27", "2027-11-01"}},
		"DE-BE": {2024: {"2024-03-08"}, 2025: {"2025-03-08", "2025-05-08"}, 2026: {"2026-03-08"}, 2027: {"2027-03-08"}},
		"DE-BB": {2024: {"2024-10-31"}, 2025: {"2025-10-31"}, 2026: {"2026-10-31"}, 2027: {"2027-10-31"}},
		"DE-HB": {2024: {"2024-10-31"}, 2025: {"2025-10-31"}, 2026: {"2026-10-31"}, 2027: {"2027-10-31"}},
		"DE-HH": {2024: {"2024-10-31"}, 2025: {"2025-10-31"}, 2026: {"2026-10-31"}, 2027: {"2027-10-31"}},
		"DE-HE": {2024: {"2024-05-30"}, 2025: {"2025-06-19"}, 2026: {"2026-06-04"}, 2027: {"2027-05-27"}},
		"DE-MV": {2024: {"2024-03-08", "2024-10-31"}, 2025: {"2025-03-08", "2025-10-31"}, 2026: {"2026-03-08", "2026-10-31"}, 2027: {"2027-03-08", "2027-10-31"}},
		"DE-NI": {2024: {"2024-10-31"}, 2025: {"2025-10-31"}, 2026: {"2026-10-31"}, 2027: {"2027-10-31"}},
		"DE-NW": {2024: {"2024-05-30", "2024-11-01"}, 2025: {"2025-06-19", "2025-11-01"}, 2026: {"2026-06-04", "2026-11-01"}, 2027: {"2027-05-27", "2027-11-01"}},
		"DE-RP": {2024: {"2024-05-30", "2024-11-01"}, 2025: {"2025-06-19", "2025-11-01"}, 2026: {"2026-06-04", "2026-11-01"}, 2027: {"2027-05-27", "2027-11-01"}},
		"DE-SL": {2024: {"2024-05-30", "2024-08-15", "2024-11-01"}, 2025: {"2025-06-19", "2025-08-15", "2025-11-01"}, 2026: {"2026-06-04", "2026-08-15", "2026-11-01"}, 2027: {"2027-05-27", "2027-08-15", "2027-11-01"}},
		"DE-SN": {2024: {"2024-10-31", "2024-11-20"}, 2025: {"2025-10-31", "2025-11-19"}, 2026: {"2026-10-31", "2026-11-18"}, 2027: {"2027-10-31", "2027-11-17"}},
		"DE-ST": {2024: {"2024-01-06", "2024-10-31"}, 2025: {"2025-01-06", "2025-10-31"}, 2026: {"2026-01-06", "2026-10-31"}, 2027: {"2027-01-06", "2027-10-31"}},
		"DE-SH": {2024: {"2024-10-31"}, 2025: {"2025-10-31"}, 2026: {"2026-10-31"}, 2027: {"2027-10-31"}},
		"DE-TH": {2024: {"2024-09-20", "2024-10-31"}, 2025: {"2025-09-20", "2025-10-31"}, 2026: {"2026-09-20", "2026-10-31"}, 2027: {"2027-09-20", "2027-10-31"}},
	}
	dk = map[int][]string{
		// Skærtorsdag, Langfredag, 2. påskedag, Kristi himmelfartsdag,
		// 2. pinsedag; no Store Bededag from 2024; Grundlovsdag,
		// Juleaftensdag and Nytårsaftensdag as non-working days.
		2023: {"2023-01-01", "2023-04-06", "2023-04-07", "2023-04-10", "2023-05-05", "2023-05-18", "2023-05-29", "2023-06-05", "2023-12-24", "2023-12-25", "2023-12-26", "2023-12-31"},
		2024: {"2024-01-01", "2024-03-28", "2024-03-29", "2024-04-01", "2024-05-09", "2024-05-20", "2024-06-05", "2024-12-24", "2024-12-25", "2024-12-26", "2024-12-31"},
		2025: {"2025-01-01", "2025-04-17", "2025-04-18", "2025-04-21", "2025-05-29", "2025-06-09", "2025-06-05", "2025-12-24", "2025-12-25", "2025-12-26", "2025-12-31"},
		2026: {"2026-01-01", "2026-04-02", "2026-04-03", "2026-04-06", "2026-05-14", "2026-05-25", "2026-06-05", "2026-12-24", "2026-12-25", "2026-12-26", "2026-12-31"},
		2027: {"2027-01-01", "2027-03-25", "2027-03-26", "2027-03-29", "2027-05-06", "2027-05-17", "2027-06-05", "2027-12-24", "2027-12-25", "2027-12-26", "2027-12-31"},
	}
)

func days(hs []Holiday) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Day)
	}
	return out
}

func sorted(ds ...[]string) []string {
	out := slices.Concat(ds...)
	slices.Sort(out)
	return out
}

func TestBuiltinHolidaysMatchTheOfficialLists(t *testing.T) {
	if got := len(Regions("DE")); got != 16 {
		t.Fatalf("%d German Länder, want 16", got)
	}
	for year, want := range deNational {
		if got := days(BuiltinHolidays("DE", "", year)); !slices.Equal(got, want) {
			t.Errorf("DE %d:\n got %v\nwant %v", year, got, want)
		}
		for _, st := range Regions("DE") {
			extra, ok := deStates[st.Code]
			if !ok {
				t.Fatalf("no official list for %s", st.Code)
			}
			want := sorted(deNational[year], extra[year])
			if got := days(BuiltinHolidays("DE", st.Code, year)); !slices.Equal(got, want) {
				t.Errorf("%s %d:\n got %v\nwant %v", st.Code, year, got, want)
			}
		}
	}
	for year, want := range dk {
		if got := days(BuiltinHolidays("DK", "", year)); !slices.Equal(got, sorted(want)) {
			t.Errorf("DK %d:\n got %v\nwant %v", year, got, sorted(want))
		}
	}
	for _, h := range BuiltinHolidays("DK", "", 2024) {
		if strings.Contains(h.Name, "bededag") {
			t.Errorf("Store Bededag in 2024: %+v", h)
		}
	}
	if BuiltinHolidays("FR", "", 2026) != nil || HasBuiltin("FR") {
		t.Error("France has no built-in calendar")
	}
}

func TestEaster(t *testing.T) {
	for year, want := range map[int]string{2000: "2000-04-23", 2008: "2008-03-23", 2011: "2011-04-24", 2019: "2019-04-21", 2024: "2024-03-31",
		2025: "2025-04-20", 2026: "2026-04-05", 2027: "2027-03-28", 2038: "2038-04-25", 2285: "2285-03-22"} {
		if got := Easter(year).String(); got != want {
			t.Errorf("Easter %d = %s, want %s", year, got, want)
		}
	}
}

func TestBuiltinCalendarMovesDeadlines(t *testing.T) {
	by := Calendar{Country: "DE", Region: "DE-BY", Builtin: true}
	be := Calendar{Country: "DE", Region: "DE-BE", Builtin: true}
	dkCal := Calendar{Country: "DK", Builtin: true}
	for _, tc := range []struct {
		cal            Calendar
		received, want string
	}{
		{by, "2026-05-04", "2026-06-05"},    // 4 June 2026 is Corpus Christi in Bavaria
		{be, "2026-05-04", "2026-06-04"},    // not in Berlin
		{dkCal, "2026-03-02", "2026-04-07"}, // 2 April Maundy Thursday, Good Friday, weekend, Easter Monday
	} {
		if got := tc.cal.Due(mustDate(tc.received), 1).String(); got != tc.want {
			t.Errorf("%s/%s received %s: due %s, want %s", tc.cal.Country, tc.cal.Region, tc.received, got, tc.want)
		}
	}
	over := Calendar{Country: "DE", Region: "DE-BY", Builtin: true, Working: map[Date]bool{mustDate("2026-06-04"): true}}
	if got := over.Due(mustDate("2026-05-04"), 1).String(); got != "2026-06-04" {
		t.Errorf("Corpus Christi made a working day: due %s, want 2026-06-04", got)
	}
	if !(Calendar{Country: "FR"}).Missing() || (Calendar{Country: "FR", Holidays: map[Date]bool{mustDate("2026-07-14"): true}}).Missing() || by.Missing() {
		t.Error("Missing")
	}
}

func mustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}
