package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
)

func TestStats(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		l := newLedger(t, e)
		// Wednesday of ISO week 2025-W10 (3–9 March 2025).
		now := time.Date(2025, 3, 5, 12, 0, 0, 0, time.UTC)
		l.SetClock(func() time.Time { return now })
		mk := func(name string, purposes ...string) int64 {
			t.Helper()
			p, err := l.CreatePerson(ctx, staff, ledger.PersonInput{FirstName: name, LastName: "Stats", Emails: []string{name + "@example.com"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, pu := range purposes {
				if _, err := l.RecordConsent(ctx, staff, ledger.ConsentInput{PersonID: p.ID, Purpose: pu, Kind: ledger.Granted}); err != nil {
					t.Fatal(err)
				}
			}
			return p.ID
		}
		mk("green1", "e_marketing", "sales_service")
		mk("yellow1", "e_marketing")
		mk("yellow2", "sales_service")
		mk("red1")
		red2 := mk("red2")
		// Granted two weeks ago, withdrawn last week (back-dated): red now.
		twoAgo, last := now.AddDate(0, 0, -14), now.AddDate(0, 0, -7)
		if _, err := l.RecordConsent(ctx, staff, ledger.ConsentInput{PersonID: red2, Purpose: "e_marketing", Kind: ledger.Granted, OccurredAt: &twoAgo}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.RecordConsent(ctx, staff, ledger.ConsentInput{PersonID: red2, Purpose: "e_marketing", Kind: ledger.Withdrawn, OccurredAt: &last}); err != nil {
			t.Fatal(err)
		}
		// Granted long ago: outside the window.
		old := now.AddDate(0, -6, 0)
		if _, err := l.RecordConsent(ctx, staff, ledger.ConsentInput{PersonID: red2, Purpose: "sales_service", Kind: ledger.Granted, OccurredAt: &old}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.RecordConsent(ctx, staff, ledger.ConsentInput{PersonID: red2, Purpose: "sales_service", Kind: ledger.Withdrawn}); err != nil {
			t.Fatal(err)
		}

		counts, err := l.LightCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if counts[ledger.Green] != 1 || counts[ledger.Yellow] != 2 || counts[ledger.Red] != 2 {
			t.Fatalf("light counts %v, want green 1, yellow 2, red 2", counts)
		}

		weeks, err := l.ConsentActivity(ctx, 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(weeks) != 4 {
			t.Fatalf("%d weeks, want 4", len(weeks))
		}
		this, prev := weeks[3], weeks[2]
		if this.Year != 2025 || this.Week != 10 || !this.Start.Equal(time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("this week %+v", this)
		}
		if this.Granted != 4 || this.Withdrawn != 1 {
			t.Fatalf("this week: granted %d withdrawn %d, want 4 and 1", this.Granted, this.Withdrawn)
		}
		if prev.Week != 9 || prev.Granted != 0 || prev.Withdrawn != 1 {
			t.Fatalf("last week %+v, want 1 withdrawn", prev)
		}
		if weeks[1].Granted != 1 || weeks[1].Withdrawn != 0 || weeks[0].Granted+weeks[0].Withdrawn != 0 {
			t.Fatalf("older weeks: %+v", weeks[:2])
		}
		if _, err := l.ConsentActivity(ctx, 0); err == nil {
			t.Fatal("0 weeks accepted")
		}

		recent, err := l.RecentConsentEvents(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(recent) != 3 {
			t.Fatalf("%d recent events, want 3", len(recent))
		}
		if recent[0].PersonID != red2 || recent[0].Kind != ledger.Withdrawn || recent[0].Purpose != "sales_service" {
			t.Fatalf("newest event %+v", recent[0])
		}
		for i := 1; i < len(recent); i++ {
			if recent[i].OccurredAt.After(recent[i-1].OccurredAt) {
				t.Fatal("recent events not newest first")
			}
		}
		all, _ := l.RecentConsentEvents(ctx, 100)
		if len(all) != 8 {
			t.Fatalf("%d events in all, want 8", len(all))
		}
	})
}
