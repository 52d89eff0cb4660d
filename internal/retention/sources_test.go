package retention_test

import (
	"testing"

	"github.com/consento/consento/internal/retention"
	"github.com/consento/consento/internal/storetest"
)

// withdrawalSources are the sources of a person's withdrawals, by count.
func (e *env) withdrawalSources(t *testing.T, pid int64) map[string]int {
	t.Helper()
	rows, err := e.db.Query(e.ctx, `SELECT COALESCE(s.key, ''), COUNT(*) FROM consent_events ev LEFT JOIN sources s ON s.id = ev.source_id
		WHERE ev.person_id = ? AND ev.kind = 'withdrawn' GROUP BY s.key`, pid)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		out[k] = n
	}
	return out
}

// The withdrawals a retention sweep makes record the source "retention",
// whoever started the sweep (here a staff member), never "phone".
func TestSweepWithdrawalsRecordRetention(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		e.configure(t, 365, retention.ActionAnonymize)
		a := e.person(t, "Expired", "e_marketing")
		b := e.person(t, "Another", "e_marketing")
		rep := must[*retention.Report](t)(e.s.Run(e.ctx, officer, false))
		if rep.Anonymized != 2 || rep.Error != "" {
			t.Fatalf("sweep: %+v", rep.Sweep)
		}
		for pid, want := range map[int64]int{a: 1, b: 1} {
			if got := e.withdrawalSources(t, pid); len(got) != 1 || got["retention"] != want {
				t.Fatalf("person %d: withdrawals by source %v, want %d from retention", pid, got, want)
			}
		}
	})
}
