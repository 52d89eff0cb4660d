package ledger_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// A recorded source says what happened: staff without a source is a staff
// entry (it was "phone"), an import an import, an expiry an expiry; an
// actor with no honest default must name one.
func TestDefaultSourcesSayWhatHappened(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		l := newLedger(t, e)
		p, err := l.CreatePerson(ctx, staff, ledger.PersonInput{LastName: "Berg", Emails: []string{"berg@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		for actor, want := range map[audit.Actor]string{
			staff: ledger.SourceStaffEntry, {Type: "token", ID: "7"}: ledger.SourceAPI, {Type: "subject", ID: "1"}: ledger.SourceSelfService,
			{Type: "system", ID: "import"}: ledger.SourceImport, {Type: "system", ID: "cli"}: ledger.SourceStaffEntry,
		} {
			ev, err := l.RecordConsent(ctx, actor, ledger.ConsentInput{PersonID: p.ID, Purpose: "sales_service", Kind: ledger.Granted})
			if err != nil || ev.Source != want {
				t.Fatalf("%s without a source: %+v %v, want %s", actor, ev, err, want)
			}
		}
		_, err = l.RecordConsent(ctx, audit.System, ledger.ConsentInput{PersonID: p.ID, Purpose: "sales_service", Kind: ledger.Withdrawn})
		if de, ok := ledger.AsError(err); !ok || de.Code != "source-required" || de.Fields[0].Field != "source" {
			t.Fatalf("Consento itself without a source: %v", err)
		}
		// An expiry records "expiry".
		until := time.Now().Add(time.Hour)
		if _, err := l.RecordConsent(ctx, staff, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Granted, Source: "email", ValidUntil: &until}); err != nil {
			t.Fatal(err)
		}
		l.SetClock(func() time.Time { return time.Now().UTC().Add(2 * time.Hour) })
		if n, err := l.ExpireDue(ctx, 100); err != nil || n != 1 {
			t.Fatalf("expire: %d %v", n, err)
		}
		if st, _ := l.ConsentFor(ctx, p.ID, "e_marketing"); st.State != ledger.Expired || st.Source != ledger.SourceExpiry {
			t.Fatalf("expired: %+v", st)
		}
	})
}

// Built-in sources cannot be deactivated: Consento records them on its own.
func TestBuiltInSourcesStayActive(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		l := newLedger(t, e)
		off := false
		for _, key := range ledger.BuiltInSources {
			_, err := l.UpdateSource(ctx, staff, key, ledger.SourceInput{Active: &off})
			if de, ok := ledger.AsError(err); !ok || de.Code != "built-in-source" || de.Fields[0].Field != "active" {
				t.Fatalf("deactivating %s: %v", key, err)
			}
		}
		if src, err := l.UpdateSource(ctx, staff, "phone", ledger.SourceInput{Active: &off}); err != nil || src.Active {
			t.Fatalf("deactivating phone: %+v %v", src, err)
		}
	})
}

// Migration 0016 gives an installation seeded before it the new built-in
// sources (a user's own source with such a key keeps its name) and
// reactivates built-in sources that were deactivated.
func TestMigrationAddsBuiltInSources(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		l := newLedger(t, e)
		db := l.DB()
		dialect := "sqlite"
		if db.Dialect == store.Postgres {
			dialect = "postgres"
		}
		migration, err := os.ReadFile(filepath.Join("..", "store", "migrations", dialect, "0016_builtin_sources.sql"))
		if err != nil {
			t.Fatal(err)
		}
		// As an installation seeded before 0016: no new sources yet, one
		// key taken by a source of the user's, the API source deactivated.
		if err := db.Write(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(`DELETE FROM sources WHERE key IN ('staff_entry', 'erasure', 'retention')`); err != nil {
				return err
			}
			if _, err := tx.Exec(`UPDATE sources SET name = 'Expo 2025', active = 0 WHERE key = 'expiry'`); err != nil {
				return err
			}
			if _, err := tx.Exec(`UPDATE sources SET active = 0 WHERE key IN ('api', 'phone')`); err != nil {
				return err
			}
			_, err := tx.Exec(string(migration))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		srcs, err := l.Sources(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]ledger.Source{}
		for _, s := range srcs {
			got[s.Key] = s
		}
		for _, key := range ledger.BuiltInSources {
			if s, ok := got[key]; !ok || !s.Active {
				t.Fatalf("after the migration %s is %+v", key, s)
			}
		}
		if got["staff_entry"].Name != "Staff entry" || got["expiry"].Name != "Expo 2025" || got["phone"].Active || len(srcs) != 14 {
			t.Fatalf("after the migration: %+v", srcs)
		}
	})
}
