package rights

import "testing"

func TestScrubReplacesValuesAndTheirWords(t *testing.T) {
	v := newValues()
	v.snapshot(&snapshot{FirstName: "Zoë", LastName: "van der Berg", Emails: []string{"zb@example.org", "zoe.berg@gmail.com"}})
	v.phone("+49 30 98765432")
	v.address("Mühlenkamp 3a")
	v.address("SW1A 2AA")
	v.address("Bad Oldesloe")
	v.address("Hauptstraße 5")
	v.address("Info")
	sc := v.scrubber()
	for _, c := range []struct{ in, want string }{
		// Whole values anywhere, ignoring case.
		{"Invoice for ZOË VAN DER BERG", "Invoice for [erased]"},
		{"mail to ZB@Example.org please", "mail to [erased] please"},
		{"call +49 30 98765432", "call [erased]"},
		// Words of values where they stand alone, ignoring case.
		{"Delivery to mühlenkamp, ask for Berg", "Delivery to [erased], ask for [erased]"},
		{"Frau Berg's order, postcode sw1a", "Frau [erased]'s order, postcode [erased]"},
		{"ring 98765432 or write to zoe at home", "ring [erased] or write to [erased] at home"},
		{"Shipped from Oldesloe", "Shipped from [erased]"},
		// Not inside longer words.
		{"Bergamo, Zoëlogy, 987654321", "Bergamo, Zoëlogy, 987654321"},
		// Common words, short words, house numbers and e-mail domains stay.
		{"van der Hauptstraße: gmail.com, example.org, Bad, 3a, 30, 5", "van der [erased]: gmail.com, example.org, Bad, 3a, 30, 5"},
		{"see info sheet", "see info sheet"},
		{"", ""},
	} {
		if got := sc.scrub(c.in); got != c.want {
			t.Errorf("scrub(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestScrubTakesEarlierValuesFromAuditPayloads(t *testing.T) {
	v := newValues()
	v.person([]byte(`{"first_name":"Wilhelmina","last_name":"Hartwig","emails":["w.h@example.org"],"phones":[{"kind":"home","number":"040 5551234"}],
		"address":{"street":"Grachtenweg 12","postal_code":"D02 X285","city":"Zuidhorn"}}`))
	v.request([]byte(`{"kind":"rectification","payload":{"FirstName":"Wil","Street":"Korrekturgasse 9","Email":"new.wil@example.net"}}`))
	sc := v.scrubber()
	in := "Wilhelmina Hartwig, Grachtenweg 12, D02 X285 Zuidhorn; w.h@example.org; 040 5551234; Korrekturgasse; new.wil@example.net; Wil"
	want := "[erased], [erased], [erased] [erased]; [erased]; [erased]; [erased]; [erased]; [erased]"
	if got := sc.scrub(in); got != want {
		t.Errorf("scrub = %q, want %q", got, want)
	}
}
