package api_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/consento/consento/internal/storetest"
)

// Through the API a case names its calendar (country and region), its due
// date follows that calendar's holidays, and a case whose calendar knows
// no holiday says so in calendar_missing until it gets one.
func TestAPICaseCalendars(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		type kase struct {
			ID              int64  `json:"id"`
			Country         string `json:"country"`
			Region          string `json:"region"`
			DueOn           string `json:"due_on"`
			CalendarMissing *bool  `json:"calendar_missing"`
		}
		create := func(country, region, received string) kase {
			t.Helper()
			return decode[kase](t, e.do("POST", "/api/v1/rights-requests", map[string]any{"requester_email": "anna@example.com", "type": "access",
				"country": country, "region": region, "received_on": received}), http.StatusCreated)
		}
		// 19 June 2025, one month after 19 May, is Corpus Christi.
		if k := create("DE", "DE-BY", "2025-05-19"); k.DueOn != "2025-06-20" || k.Region != "DE-BY" || k.CalendarMissing == nil || *k.CalendarMissing {
			t.Fatalf("DE-BY case over Corpus Christi: %+v", k)
		}
		// 17 April 2025 is Maundy Thursday; Easter Monday is 21 April.
		if k := create("DK", "", "2025-03-17"); k.DueOn != "2025-04-22" || *k.CalendarMissing {
			t.Fatalf("DK case over Easter: %+v", k)
		}
		fr := create("FR", "", "2025-03-17")
		if fr.CalendarMissing == nil || !*fr.CalendarMissing {
			t.Fatalf("FR case without a calendar is not flagged: %+v", fr)
		}
		res := e.do("PUT", "/api/v1/holidays", map[string]any{"country": "FR", "holidays": []map[string]any{{"day": "2025-04-21", "name": "Lundi de Pâques"}}})
		decode[map[string]any](t, res, http.StatusOK)
		got := decode[kase](t, e.do("GET", "/api/v1/rights-requests/"+strID(fr.ID), nil), http.StatusOK)
		if *got.CalendarMissing {
			t.Fatalf("FR case still flagged after its holidays were entered: %+v", got)
		}
		got = decode[kase](t, e.do("POST", "/api/v1/rights-requests/"+strID(fr.ID)+"/calendar", map[string]any{"country": "DK"}), http.StatusOK)
		if got.Country != "DK" || got.DueOn != "2025-04-22" {
			t.Fatalf("calendar set: %+v", got)
		}
		problem := decode[map[string]any](t, e.do("POST", "/api/v1/rights-requests", map[string]any{"requester_email": "anna@example.com", "type": "access",
			"country": "DE", "region": "DE-XY"}), http.StatusUnprocessableEntity)
		if fields, _ := problem["errors"].([]any); len(fields) == 0 {
			t.Fatalf("no field error for an unknown region: %v", problem)
		}
	})
}

func strID(n int64) string { return strconv.FormatInt(n, 10) }
