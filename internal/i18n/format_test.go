package i18n

import (
	"testing"
	"time"
)

func TestDatesNumbersMoney(t *testing.T) {
	winter := time.Date(2026, 12, 2, 14, 26, 0, 0, time.UTC)
	summer := time.Date(2026, 7, 2, 13, 26, 0, 0, time.UTC)
	for _, tc := range []struct{ got, want string }{
		{Date("de", winter), "02.12.2026"},
		{Date("en", winter), "2 Dec 2026"},
		{DateTime("de", winter), "02.12.2026 15:26 MEZ"},
		{DateTime("de", summer), "02.07.2026 15:26 MESZ"},
		{DateTime("da", winter), "02.12.2026 kl. 15.26 CET"},
		{DateTime("en", winter), "2 Dec 2026, 15:26 CET"},
		{DateTime("en", time.Time{}), ""},
		{Number("de", 1234567), "1.234.567"},
		{Number("en", -1234), "-1,234"},
		{Number("da", 999), "999"},
		{Decimal("de", 1234.5, 2), "1.234,50"},
		{Decimal("en", -0.004, 2), "0.00"},
		{Money("de", 123456, "EUR"), "1.234,56 €"},
		{Money("da", 123456, "DKK"), "1.234,56 kr."},
		{Money("en", 123456, "EUR"), "€1,234.56"},
		{Money("en", -5, "DKK"), "-DKK 0.05"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	old := Zone()
	SetZone(tokyo)
	defer SetZone(old)
	if got := DateTime("en", winter); got != "2 Dec 2026, 23:26 JST" {
		t.Errorf("in Tokyo: %q", got)
	}
}
