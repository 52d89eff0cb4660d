package ledger_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/importer"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// The contacts list's filters answer from counts kept beside the ledger
// (grant counts, persons per block of ids). After every kind of change —
// bulk import, single records, back-dated events, expiry, archiving a
// purpose, deletions — each filter must list exactly the persons a direct
// computation from the consents finds, page after page.
func TestListFiltersFollowEveryChange(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		l := newLedger(t, e)
		var b strings.Builder
		b.WriteString("first_name,last_name,email,consent:sales_service,consent:e_marketing\n")
		for i := 1; i <= 1300; i++ { // ids over two blocks of 1,024
			ss := "granted"
			if i%600 == 7 {
				ss = "" // no record: in both blocks
			}
			fmt.Fprintf(&b, "Vor%d,Nach%d,p%d@example.com,%s,%s\n", i, i, i, ss, []string{"granted", "withdrawn", ""}[i%3])
		}
		if _, err := importer.Run(ctx, l, strings.NewReader(b.String()), importer.Options{}); err != nil {
			t.Fatal(err)
		}
		clock := time.Now
		check := func(step string) {
			t.Helper()
			checkCounts(t, l, step)
			checkFilters(t, l, clock(), step)
		}
		check("after the import")

		p, err := l.CreatePerson(ctx, staff, ledger.PersonInput{LastName: "Neu", Emails: []string{"neu@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		check("a new person")
		record := func(id int64, purpose string, kind ledger.EventKind, at *time.Time, until *time.Time) {
			t.Helper()
			if _, err := l.RecordConsent(ctx, staff, ledger.ConsentInput{PersonID: id, Purpose: purpose, Kind: kind, OccurredAt: at, ValidUntil: until}); err != nil {
				t.Fatal(err)
			}
		}
		record(p.ID, "sales_service", ledger.Granted, nil, nil)
		record(p.ID, "e_marketing", ledger.Granted, nil, nil)
		check("two grants")
		record(p.ID, "e_marketing", ledger.Withdrawn, nil, nil)
		check("a withdrawal")
		yesterday := time.Now().Add(-24 * time.Hour)
		record(p.ID, "e_marketing", ledger.Granted, &yesterday, nil)
		check("a back-dated grant that does not apply")
		record(7, "sales_service", ledger.Granted, nil, nil)
		check("a first record in an old block")

		soon := time.Now().Add(time.Hour)
		record(p.ID, "e_marketing", ledger.Granted, nil, &soon)
		record(9, "sales_service", ledger.Granted, nil, &soon)
		clock = func() time.Time { return time.Now().Add(2 * time.Hour) }
		l.SetClock(clock)
		check("grants past valid_until, before the sweep")
		if n, err := l.ExpireDue(ctx, 100); err != nil || n != 2 {
			t.Fatalf("expiry sweep: %d, %v", n, err)
		}
		if st, _ := l.ConsentFor(ctx, 9, "sales_service"); st.State != ledger.Expired {
			t.Fatalf("after the sweep: %+v", st)
		}
		h, _ := l.History(ctx, 9, "sales_service")
		if len(h) < 2 || h[0].Kind != ledger.Expired || !h[0].OccurredAt.Equal(soon.UTC().Truncate(time.Microsecond)) {
			t.Fatalf("the expiry is not in the history at valid_until: %+v", h[0])
		}
		check("after the sweep")
		restore := ledger.SetDenseRows(1) // every filter the scanning way
		check("after the sweep, scanning")
		restore()
		if n, err := l.ExpireDue(ctx, 100); err != nil || n != 0 {
			t.Fatalf("second sweep: %d, %v", n, err)
		}

		archived := true
		if _, err := l.UpdatePurpose(ctx, staff, "e_marketing", ledger.PurposeUpdate{Archived: &archived}); err != nil {
			t.Fatal(err)
		}
		check("a purpose archived")
		archived = false
		if _, err := l.UpdatePurpose(ctx, staff, "e_marketing", ledger.PurposeUpdate{Archived: &archived}); err != nil {
			t.Fatal(err)
		}
		check("the purpose back")

		if err := l.DB().Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(`DELETE FROM consents WHERE person_id IN (3, 1100)`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		check("consents deleted")
	})
}

// checkCounts compares the kept counts with a count from the tables.
func checkCounts(t *testing.T, l *ledger.Service, step string) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{
		`SELECT COUNT(*) FROM persons p WHERE grant_count <> (SELECT COUNT(*) FROM consents c JOIN purposes pu ON pu.id = c.purpose_id
			AND pu.archived = 0 WHERE c.person_id = p.id AND c.kind = 'granted')`,
		`SELECT COUNT(*) FROM (SELECT id >> 10 AS block, COUNT(*) AS n FROM persons GROUP BY id >> 10) t
			LEFT JOIN person_blocks b ON b.block = t.block WHERE b.n IS NULL OR b.n <> t.n`,
		`SELECT COUNT(*) FROM (SELECT purpose_id, person_id >> 10 AS block, COUNT(*) AS n FROM consents GROUP BY purpose_id, person_id >> 10) t
			LEFT JOIN consent_blocks b ON b.purpose_id = t.purpose_id AND b.block = t.block WHERE b.n IS NULL OR b.n <> t.n`,
	} {
		var wrong int
		if err := l.DB().QueryRow(ctx, q).Scan(&wrong); err != nil {
			t.Fatal(err)
		}
		if wrong != 0 {
			t.Errorf("%s: %d counts wrong: %s", step, wrong, q)
		}
	}
}

// checkFilters lists every traffic light and "no record", page by page, and
// compares them with the persons found from the consents directly.
func checkFilters(t *testing.T, l *ledger.Service, now time.Time, step string) {
	t.Helper()
	ctx := context.Background()
	db := l.DB()
	var nActive int64
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM purposes WHERE archived = 0`).Scan(&nActive); err != nil {
		t.Fatal(err)
	}
	// The oracle: the current states straight from the consents table.
	type state struct {
		valid    int64
		recorded map[string]bool
		expired  []string
	}
	states := map[int64]*state{}
	var ids []int64
	rows, err := db.Query(ctx, `SELECT id FROM persons ORDER BY id DESC`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		states[id] = &state{recorded: map[string]bool{}}
	}
	rows.Close()
	rows, err = db.Query(ctx, `SELECT c.person_id, pu.key, pu.archived, c.kind, c.valid_until FROM consents c JOIN purposes pu ON pu.id = c.purpose_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, archived int64
		var key, kind string
		var until *int64
		if err := rows.Scan(&id, &key, &archived, &kind, &until); err != nil {
			t.Fatal(err)
		}
		st := states[id]
		st.recorded[key] = true
		live := until == nil || time.UnixMicro(*until).After(now)
		if kind == "granted" && archived == 0 && live {
			st.valid++
		}
		if kind == "expired" || kind == "granted" && !live {
			st.expired = append(st.expired, key)
		}
	}
	rows.Close()
	want := map[string][]int64{}
	for _, id := range ids {
		st := states[id]
		light := "yellow"
		switch {
		case st.valid == 0:
			light = "red"
		case st.valid >= nActive:
			light = "green"
		}
		want[light] = append(want[light], id)
		for _, pu := range []string{"sales_service", "e_marketing"} {
			if !st.recorded[pu] {
				want["none:"+pu] = append(want["none:"+pu], id)
			}
			if slices.Contains(st.expired, pu) {
				want["expired:"+pu] = append(want["expired:"+pu], id)
			}
		}
	}
	for _, k := range []string{"red", "yellow", "green", "none:sales_service", "none:e_marketing", "expired:sales_service", "expired:e_marketing"} {
		f := ledger.PersonFilter{Limit: 250}
		if state, pu, ok := strings.Cut(k, ":"); ok {
			f.Purpose, f.PurposeState, f.Limit = pu, state, 50
			if len(want[k]) < 20 {
				f.Limit = 2 // pages across the blocks' ranges
			}
		} else {
			f.Light = ledger.Light(k)
		}
		var got []int64
		for page := 0; ; page++ {
			ps, next, err := l.ListPersons(ctx, f)
			if err != nil {
				t.Fatalf("%s: %s: %v", step, k, err)
			}
			for _, p := range ps {
				got = append(got, p.ID)
				if f.Light != "" && p.Light != f.Light {
					t.Errorf("%s: %s lists person %d shown as %s", step, k, p.ID, p.Light)
				}
			}
			if next == "" || page > 1000 {
				break
			}
			f.Cursor = next
		}
		if !slices.Equal(got, want[k]) {
			t.Errorf("%s: filter %s: got %d persons, want %d (first got %v, want %v)", step, k, len(got), len(want[k]), head(got), head(want[k]))
		}
	}
}

func head(ids []int64) []int64 { return ids[:min(len(ids), 8)] }
