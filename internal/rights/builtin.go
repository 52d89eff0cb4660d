package rights

import (
	"slices"
	"time"
)

// Built-in public holidays, computed for any year: Germany (national and
// the 16 Länder, ISO 3166-2 codes DE-BW … DE-TH) and Denmark. Only days
// that are holidays in a whole Land are built in; holidays of single
// municipalities (Assumption in Bavaria's Catholic municipalities, Corpus
// Christi in parts of Saxony and Thuringia, the Augsburger Friedensfest)
// are added per calendar by the privacy officer. The rules follow the
// Länder's holiday acts from 1995 on (Repentance Day kept only in Saxony);
// earlier years get the same rules. Denmark: the holidays of the
// Helligdagsloven (Store Bededag until 2023, abolished from 2024) and, as
// non-working days of the public sector and most employers, Constitution
// Day (5 June), Christmas Eve and New Year's Eve.

// BuiltinCountries lists the countries with built-in holidays.
var BuiltinCountries = []string{"DE", "DK"}

// Region is a subdivision of a country with holidays of its own.
type Region struct {
	Code string `json:"code"` // ISO 3166-2, e.g. DE-BY
	Name string `json:"name"`
}

// germanStates are the Länder, by ISO 3166-2 code.
var germanStates = []Region{
	{"DE-BW", "Baden-Württemberg"}, {"DE-BY", "Bayern"}, {"DE-BE", "Berlin"}, {"DE-BB", "Brandenburg"},
	{"DE-HB", "Bremen"}, {"DE-HH", "Hamburg"}, {"DE-HE", "Hessen"}, {"DE-MV", "Mecklenburg-Vorpommern"},
	{"DE-NI", "Niedersachsen"}, {"DE-NW", "Nordrhein-Westfalen"}, {"DE-RP", "Rheinland-Pfalz"}, {"DE-SL", "Saarland"},
	{"DE-SN", "Sachsen"}, {"DE-ST", "Sachsen-Anhalt"}, {"DE-SH", "Schleswig-Holstein"}, {"DE-TH", "Thüringen"},
}

// Regions lists the regions of a country that have built-in holidays of
// their own (none for most countries).
func Regions(country string) []Region {
	if country == "DE" {
		return slices.Clone(germanStates)
	}
	return nil
}

// HasBuiltin reports whether the country has built-in holidays.
func HasBuiltin(country string) bool { return slices.Contains(BuiltinCountries, country) }

func knownRegion(country, region string) bool {
	for _, r := range Regions(country) {
		if r.Code == region {
			return true
		}
	}
	return false
}

// Easter is Easter Sunday of the Gregorian calendar (the anonymous
// Gregorian algorithm of Meeus/Jones/Butcher).
func Easter(year int) Date {
	a, b, c := year%19, year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return Date{year, time.Month(month), day}
}

// BuiltinHolidays lists the built-in holidays of a country (and region,
// an ISO 3166-2 code, or "" for the national ones) in a year, by date.
func BuiltinHolidays(country, region string, year int) []Holiday {
	var out []Holiday
	add := func(d Date, name string) { out = append(out, Holiday{Day: d.String(), Name: name}) }
	fixed := func(m time.Month, day int, name string) { add(Date{year, m, day}, name) }
	easter := Easter(year)
	moved := func(days int, name string) { add(easter.AddDays(days), name) }
	in := func(regions ...string) bool { return slices.Contains(regions, region) }
	switch country {
	case "DE":
		fixed(time.January, 1, "Neujahr")
		if in("DE-BW", "DE-BY", "DE-ST") {
			fixed(time.January, 6, "Heilige Drei Könige")
		}
		if (region == "DE-BE" && year >= 2019) || (region == "DE-MV" && year >= 2023) {
			fixed(time.March, 8, "Internationaler Frauentag")
		}
		moved(-2, "Karfreitag")
		moved(1, "Ostermontag")
		fixed(time.May, 1, "Tag der Arbeit")
		if region == "DE-BE" && (year == 2020 || year == 2025) {
			fixed(time.May, 8, "Tag der Befreiung") // one-off holidays by Berlin law
		}
		moved(39, "Christi Himmelfahrt")
		moved(50, "Pfingstmontag")
		if in("DE-BW", "DE-BY", "DE-HE", "DE-NW", "DE-RP", "DE-SL") {
			moved(60, "Fronleichnam")
		}
		if region == "DE-SL" {
			fixed(time.August, 15, "Mariä Himmelfahrt")
		}
		if region == "DE-TH" && year >= 2019 {
			fixed(time.September, 20, "Weltkindertag")
		}
		fixed(time.October, 3, "Tag der Deutschen Einheit")
		if in("DE-BB", "DE-MV", "DE-SN", "DE-ST", "DE-TH") || (in("DE-HB", "DE-HH", "DE-NI", "DE-SH") && year >= 2018) || year == 2017 {
			fixed(time.October, 31, "Reformationstag")
		}
		if in("DE-BW", "DE-BY", "DE-NW", "DE-RP", "DE-SL") {
			fixed(time.November, 1, "Allerheiligen")
		}
		if region == "DE-SN" {
			// The Wednesday before 23 November.
			d := Date{year, time.November, 22}
			for d.Time().Weekday() != time.Wednesday {
				d = d.AddDays(-1)
			}
			add(d, "Buß- und Bettag")
		}
		fixed(time.December, 25, "1. Weihnachtstag")
		fixed(time.December, 26, "2. Weihnachtstag")
	case "DK":
		fixed(time.January, 1, "Nytårsdag")
		moved(-3, "Skærtorsdag")
		moved(-2, "Langfredag")
		moved(1, "2. påskedag")
		if year <= 2023 {
			moved(26, "Store bededag")
		}
		moved(39, "Kristi himmelfartsdag")
		moved(50, "2. pinsedag")
		fixed(time.June, 5, "Grundlovsdag")
		fixed(time.December, 24, "Juleaftensdag")
		fixed(time.December, 25, "Juledag")
		fixed(time.December, 26, "2. juledag")
		fixed(time.December, 31, "Nytårsaftensdag")
	}
	slices.SortFunc(out, func(a, b Holiday) int {
		if a.Day < b.Day {
			return -1
		}
		if a.Day > b.Day {
			return 1
		}
		return 0
	})
	return out
}

// builtinHoliday names the built-in holiday on d, or "".
func builtinHoliday(country, region string, d Date) string {
	if !HasBuiltin(country) {
		return ""
	}
	s := d.String()
	for _, h := range BuiltinHolidays(country, region, d.Year) {
		if h.Day == s {
			return h.Name
		}
	}
	return ""
}
