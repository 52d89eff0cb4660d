package rights_test

import (
	"testing"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// withdrawnFrom are the sources of a person's withdrawals.
func (e *env) withdrawnFrom(t *testing.T, pid int64) []string {
	t.Helper()
	rows, err := e.db.Query(e.ctx, `SELECT COALESCE(s.key, '') FROM consent_events ev LEFT JOIN sources s ON s.id = ev.source_id
		WHERE ev.person_id = ? AND ev.kind = 'withdrawn' ORDER BY ev.id`, pid)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	return out
}

// The withdrawals of an erasure record "erasure" (staff made it: they were
// "phone" before), those of an erasure without a request case (the end of a
// retention period) "retention"; an objection staff record from a rights
// case "staff_entry".
func TestErasureAndObjectionSources(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		ctx := e.ctx
		grant := func(pid int64, purposes ...string) {
			for _, pu := range purposes {
				must[*ledger.ConsentEvent](t)(e.l.RecordConsent(ctx, officer, ledger.ConsentInput{PersonID: pid, Purpose: pu, Kind: ledger.Granted, Source: "email"}))
			}
		}
		erased := must[*ledger.Person](t)(e.l.CreatePerson(ctx, officer, ledger.PersonInput{LastName: "Erased", Emails: []string{"erased@example.com"}}))
		grant(erased.ID, "e_marketing", "sales_service")
		c := e.verifiedCase(t, erased.ID, rights.TypeErasure)
		if _, err := e.r.Erase(ctx, officer, c.ID, rights.LevelBlock, "request by letter"); err != nil {
			t.Fatal(err)
		}
		if got := e.withdrawnFrom(t, erased.ID); len(got) != 2 || got[0] != "erasure" || got[1] != "erasure" {
			t.Fatalf("erasure withdrawals from %v", got)
		}
		expired := must[*ledger.Person](t)(e.l.CreatePerson(ctx, officer, ledger.PersonInput{LastName: "Expired", Emails: []string{"expired@example.com"}}))
		grant(expired.ID, "e_marketing")
		if err := e.db.Write(ctx, func(tx *store.Tx) error {
			_, err := e.r.AnonymizeTx(tx, officer, expired.ID, "retention period ended")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if got := e.withdrawnFrom(t, expired.ID); len(got) != 1 || got[0] != "retention" {
			t.Fatalf("retention withdrawals from %v", got)
		}
		objecting := must[*ledger.Person](t)(e.l.CreatePerson(ctx, officer, ledger.PersonInput{LastName: "Objecting"}))
		grant(objecting.ID, "sales_service")
		oc := e.verifiedCase(t, objecting.ID, rights.TypeObjection)
		ev := must[*ledger.ConsentEvent](t)(e.r.Object(ctx, officer, oc.ID, "sales_service"))
		if ev.Source != ledger.SourceStaffEntry {
			t.Fatalf("objection recorded from %q", ev.Source)
		}
	})
}
