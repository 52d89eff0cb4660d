package retention_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/retention"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

var officer = audit.Actor{Type: "user", ID: "1"}

type env struct {
	db     *store.DB
	opts   store.Options
	l      *ledger.Service
	r      *rights.Service
	s      *retention.Service
	ctx    context.Context
	engine storetest.Engine
	// later is the sweep's clock: two years and a day after the persons
	// were made.
	later time.Time
}

func open(t testing.TB, opts store.Options) (*store.DB, *ledger.Service) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	l := ledger.New(db)
	if err := l.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	return db, l
}

func newEnv(t testing.TB, e storetest.Engine) *env {
	t.Helper()
	opts := storetest.Options(t, e)
	db, l := open(t, opts)
	v := &env{db: db, opts: opts, l: l, r: rights.New(l), s: retention.New(l, "test"), ctx: context.Background(), engine: e,
		later: time.Now().UTC().Add(731*24*time.Hour + time.Hour)}
	v.s.SetClock(func() time.Time { return v.later })
	return v
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func (e *env) person(t testing.TB, name string, grants ...string) int64 {
	t.Helper()
	p := must[*ledger.Person](t)(e.l.CreatePerson(e.ctx, officer, ledger.PersonInput{FirstName: name, LastName: "Test",
		Emails: []string{strings.ToLower(name) + "@example.com"}}))
	for _, g := range grants {
		must[*ledger.ConsentEvent](t)(e.l.RecordConsent(e.ctx, officer, ledger.ConsentInput{PersonID: p.ID, Purpose: g, Kind: ledger.Granted}))
	}
	return p.ID
}

func (e *env) exec(t testing.TB, q string, args ...any) {
	t.Helper()
	if err := e.db.Write(e.ctx, func(tx *store.Tx) error { _, err := tx.Exec(q, args...); return err }); err != nil {
		t.Fatal(err)
	}
}

func (e *env) configure(t testing.TB, inactive int, action string) {
	t.Helper()
	n, zero := 730, 0
	must[*ledger.Purpose](t)(e.l.UpdatePurpose(e.ctx, officer, "e_marketing", ledger.PurposeUpdate{RetentionDays: &n, Reason: "record of processing"}))
	// sales_service: no period, so its grants never expire.
	must[*ledger.Purpose](t)(e.l.UpdatePurpose(e.ctx, officer, "sales_service", ledger.PurposeUpdate{RetentionDays: &zero, Reason: "record of processing"}))
	must[retention.Settings](t)(e.s.SaveSettings(e.ctx, officer, retention.Settings{InactiveDays: inactive, Action: action}))
}

func (e *env) status(t testing.TB, id int64) string {
	t.Helper()
	var s string
	if err := e.db.QueryRow(e.ctx, `SELECT status FROM persons WHERE id = ?`, id).Scan(&s); err != nil {
		return "gone"
	}
	return s
}

func count(t testing.TB, db *store.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRules(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		e.configure(t, 365, retention.ActionAnonymize)
		ids := map[string]int64{
			"purpose":        e.person(t, "Purpose", "e_marketing"),
			"unlimited":      e.person(t, "Unlimited", "e_marketing", "sales_service"),
			"none":           e.person(t, "None"),
			"withdrawn":      e.person(t, "Withdrawn", "e_marketing"),
			"manual-past":    e.person(t, "Manualpast", "sales_service"),
			"manual-future":  e.person(t, "Manualfuture"),
			"restricted":     e.person(t, "Restricted"),
			"open-case":      e.person(t, "Opencase"),
			"recent":         e.person(t, "Recent"),
			"recent-consent": e.person(t, "Recentconsent", "e_marketing"),
			"anonymized":     e.person(t, "Anonymized"),
		}
		must[*ledger.ConsentEvent](t)(e.l.RecordConsent(e.ctx, officer, ledger.ConsentInput{PersonID: ids["withdrawn"], Purpose: "e_marketing", Kind: ledger.Withdrawn}))
		today := e.later.Format(retention.DateLayout)
		must[string](t)("", e.s.SetRetainUntil(e.ctx, officer, ids["manual-past"], e.later.AddDate(0, 0, -1).Format(retention.DateLayout), "contract ended"))
		must[string](t)("", e.s.SetRetainUntil(e.ctx, officer, ids["manual-future"], e.later.AddDate(0, 0, 30).Format(retention.DateLayout), "legal hold"))
		e.exec(t, `UPDATE persons SET status = 'restricted' WHERE id = ?`, ids["restricted"])
		e.exec(t, `UPDATE persons SET status = 'anonymized' WHERE id = ?`, ids["anonymized"])
		must[*rights.Request](t)(e.r.CreateRequest(e.ctx, officer, rights.RequestInput{PersonID: ptr(ids["open-case"]), Type: rights.TypeAccess}))
		// An activity 400 days later: 331 days before the sweep.
		recent := e.later.Add(-331 * 24 * time.Hour)
		e.exec(t, `INSERT INTO activities (person_id, kind, occurred_at, author, created_at) VALUES (?, 'call', ?, 'user:1', ?)`,
			ids["recent"], store.Micros(recent), store.Micros(recent))
		// A consent event 700 days later: within the purpose's 730 days.
		e.exec(t, `UPDATE consent_events SET occurred_at = ? WHERE person_id = ?`, store.Micros(e.later.Add(-31*24*time.Hour)), ids["recent-consent"])

		want := map[string]struct{ rule, skip, why string }{
			"purpose":     {retention.RulePurpose, "", "purpose e_marketing: 730 days after last interaction on "},
			"none":        {retention.RuleInactive, "", "no active purpose: 365 days after last interaction on "},
			"withdrawn":   {retention.RuleInactive, "", "no active purpose: 365 days"},
			"manual-past": {retention.RuleManual, "", "manual date " + e.later.AddDate(0, 0, -1).Format(retention.DateLayout)},
			"restricted":  {retention.RuleInactive, retention.SkipRestricted, "no active purpose"},
			"open-case":   {retention.RuleInactive, retention.SkipOpenCase, "no active purpose"},
		}
		check := func(list []retention.Expired) {
			t.Helper()
			got := map[int64]retention.Expired{}
			for _, x := range list {
				got[x.PersonID] = x
			}
			for name, id := range ids {
				x, ok := got[id]
				w, expect := want[name]
				if ok != expect {
					t.Errorf("%s: expired=%v, want %v (%+v)", name, ok, expect, x)
					continue
				}
				if !ok {
					continue
				}
				if x.Rule != w.rule || x.Skip != w.skip || !strings.Contains(x.Why(), w.why) {
					t.Errorf("%s: rule %q skip %q why %q; want %q %q %q", name, x.Rule, x.Skip, x.Why(), w.rule, w.skip, w.why)
				}
			}
		}
		list := must[[]retention.Expired](t)(e.s.Preview(e.ctx))
		check(list)
		_ = today

		// The dry run lists the same and changes nothing but its report.
		persons := count(t, e.db, `SELECT COUNT(*) FROM persons WHERE status = 'active'`)
		events := count(t, e.db, `SELECT COUNT(*) FROM audit_events`)
		dry := must[*retention.Report](t)(e.s.Run(e.ctx, officer, true))
		check(dry.Persons)
		if dry.Expired != 6 || dry.Skipped != 2 || dry.Anonymized != 0 || dry.Examined != 10 || !dry.DryRun {
			t.Fatalf("dry run: %+v", dry.Sweep)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM persons WHERE status = 'active'`); n != persons {
			t.Fatalf("the dry run changed persons: %d active, had %d", n, persons)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM audit_events`); n != events+1 {
			t.Fatalf("the dry run wrote %d audit events, want its one report", n-events)
		}

		rep := must[*retention.Report](t)(e.s.Run(e.ctx, officer, false))
		if rep.Expired != 6 || rep.Anonymized != 4 || rep.Skipped != 2 || rep.Deleted != 0 || rep.Error != "" {
			t.Fatalf("sweep: %+v", rep.Sweep)
		}
		for name, id := range ids {
			st := e.status(t, id)
			w, expired := want[name]
			switch {
			case name == "anonymized":
			case name == "restricted" && st != ledger.StatusRestricted:
				t.Errorf("restricted person is %s", st)
			case expired && w.skip == "" && st != ledger.StatusAnonymized:
				t.Errorf("%s: %s after the sweep, want anonymized", name, st)
			case (!expired || w.skip != "") && name != "restricted" && st != ledger.StatusActive:
				t.Errorf("%s: %s after the sweep, want active", name, st)
			}
		}
		// Each erasure is audited like a rights erasure, with its rule.
		reasons := erasures(t, e.db)
		if len(reasons) != 4 || reasons[ids["purpose"]] != "retention: purpose e_marketing, 730 days" || reasons[ids["manual-past"]] != "retention: manual date" {
			t.Fatalf("erasure audit events: %v", reasons)
		}
		p := must[*ledger.Person](t)(e.l.Person(e.ctx, ids["none"]))
		if p.FirstName != "" || len(p.Emails) != 0 {
			t.Fatalf("anonymized person keeps %+v", p)
		}
		sweeps := must[[]retention.Sweep](t)(e.s.Sweeps(e.ctx, 10))
		if len(sweeps) != 2 || sweeps[0].DryRun || !sweeps[1].DryRun || sweeps[0].Anonymized != 4 || sweeps[0].FinishedAt == nil {
			t.Fatalf("sweeps: %+v", sweeps)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM audit_events WHERE action = 'retention.sweep'`); n != 2 {
			t.Fatalf("%d retention.sweep audit events, want 2", n)
		}
		rv, err := audit.Verify(e.ctx, e.db)
		if err != nil || !rv.OK {
			t.Fatalf("audit chain: %+v %v", rv, err)
		}
		// A second sweep finds only the skipped ones.
		again := must[*retention.Report](t)(e.s.Run(e.ctx, officer, false))
		if again.Expired != 2 || again.Skipped != 2 || again.Anonymized != 0 {
			t.Fatalf("second sweep: %+v", again.Sweep)
		}
		// Clearing the hold: the person expires by the inactivity period.
		must[string](t)("", e.s.SetRetainUntil(e.ctx, officer, ids["manual-future"], "", "hold lifted"))
		if got := must[[]retention.Expired](t)(e.s.Preview(e.ctx)); len(got) != 3 {
			t.Fatalf("after lifting the hold: %+v", got)
		}
		if err := e.s.SetRetainUntil(e.ctx, officer, ids["none"], "2030-01-01", ""); err == nil {
			t.Fatal("a manual date for an anonymized person was accepted")
		}
		if err := e.s.SetRetainUntil(e.ctx, officer, ids["recent"], "31.12.2030", ""); err == nil {
			t.Fatal("a date that is no ISO date was accepted")
		}
	})
}

func ptr[T any](v T) *T { return &v }

// erasures maps each person erased at level 3 to the reason of the event.
func erasures(t testing.TB, db *store.DB) map[int64]string {
	t.Helper()
	evs := must[[]audit.Event](t)(audit.List(context.Background(), db, audit.Filter{Action: "person.erase", Limit: 100000}))
	out := map[int64]string{}
	for _, ev := range evs {
		id := must[int64](t)(strconv.ParseInt(ev.ObjectID, 10, 64))
		if _, dup := out[id]; dup {
			t.Fatalf("person %d erased twice", id)
		}
		if ev.Payload == nil {
			t.Fatalf("erasure event %d unreadable", ev.Seq)
		}
		out[id] = ev.Payload.Reason
	}
	return out
}

func TestSettingsValidation(t *testing.T) {
	e := newEnv(t, storetest.SQLite)
	if _, err := e.s.SaveSettings(e.ctx, officer, retention.Settings{InactiveDays: -1, Action: "anonymize"}); err == nil {
		t.Fatal("negative days accepted")
	}
	if _, err := e.s.SaveSettings(e.ctx, officer, retention.Settings{InactiveDays: 1, Action: "shred"}); err == nil {
		t.Fatal("unknown action accepted")
	}
	// The seeded purposes come with periods; without them nothing is set.
	zero := 0
	for _, k := range []string{"e_marketing", "sales_service"} {
		must[*ledger.Purpose](t)(e.l.UpdatePurpose(e.ctx, officer, k, ledger.PurposeUpdate{RetentionDays: &zero, Reason: "no limit"}))
	}
	if ok := must[bool](t)(e.s.Configured(e.ctx)); ok {
		t.Fatal("no period anywhere counts as configured")
	}
	got := must[retention.Settings](t)(e.s.SaveSettings(e.ctx, officer, retention.Settings{InactiveDays: 400, Action: "delete", Scheduled: true}))
	back := must[retention.Settings](t)(e.s.Settings(e.ctx))
	if back.InactiveDays != 400 || back.Action != "delete" || !back.Scheduled || back.UpdatedBy != "user:1" || got.InactiveDays != 400 {
		t.Fatalf("settings: %+v", back)
	}
	if ok := must[bool](t)(e.s.Configured(e.ctx)); !ok {
		t.Fatal("an inactivity period does not count as configured")
	}
}

// The scheduled sweep acts only when switched on, and an instance skips
// its turn while another's sweep of the last half interval is recent.
func TestScheduledSweep(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		e.configure(t, 365, retention.ActionAnonymize)
		id := e.person(t, "Old")
		if rep, err := e.s.ScheduledOnce(e.ctx, 24*time.Hour); rep != nil || err != nil {
			t.Fatalf("switched off, yet: %+v %v", rep, err)
		}
		must[retention.Settings](t)(e.s.SaveSettings(e.ctx, officer, retention.Settings{InactiveDays: 365, Action: retention.ActionAnonymize, Scheduled: true}))
		rep := must[*retention.Report](t)(e.s.ScheduledOnce(e.ctx, 24*time.Hour))
		if rep == nil || rep.Anonymized != 1 || rep.Actor != "system:consento" || e.status(t, id) != ledger.StatusAnonymized {
			t.Fatalf("scheduled sweep: %+v", rep)
		}
		other := retention.New(e.l, "other")
		other.SetClock(func() time.Time { return e.later.Add(time.Hour) })
		if rep, err := other.ScheduledOnce(e.ctx, 24*time.Hour); rep != nil || err != nil {
			t.Fatalf("another instance swept again within the interval: %+v %v", rep, err)
		}
		other.SetClock(func() time.Time { return e.later.Add(13 * time.Hour) })
		if rep, err := other.ScheduledOnce(e.ctx, 24*time.Hour); rep == nil || err != nil {
			t.Fatalf("no sweep after half the interval: %v", err)
		}
	})
}
