package secrets_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/secrets"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

var officer = audit.Actor{Type: "user", ID: "officer"}

type env struct {
	ctx  context.Context
	db   *store.DB
	opts store.Options
	l    *ledger.Service
	s    *secrets.Service
	key  []byte
}

func newEnv(t testing.TB, e storetest.Engine) *env {
	t.Helper()
	ctx := context.Background()
	opts := storetest.Options(t, e)
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
	key, _ := secrets.ParseMasterKey(secrets.NewMasterKey())
	s, err := secrets.Open(ctx, db, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.SetVault(s)
	return &env{ctx: ctx, db: db, opts: opts, l: l, s: s, key: key}
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

func code(err error) string {
	if de, ok := ledger.AsError(err); ok {
		return de.Code
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func (e *env) person(t testing.TB, first string, custom map[string]any) *ledger.Person {
	t.Helper()
	return must[*ledger.Person](t)(e.l.CreatePerson(e.ctx, officer, ledger.PersonInput{FirstName: first, LastName: "Test", Custom: custom}))
}

func TestRoundTripMaskAndUnmask(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		p := e.person(t, "Anna", map[string]any{"national_id": "120385-1234", "bank_account": "DE89 3704 0044 0532 0130 00", "health_data": "Diabetes type 1"})
		if p.Custom["national_id"] != "••••1234" || p.Custom["bank_account"] != "••••3000" || p.Custom["health_data"] != "••••••••" {
			t.Fatalf("masks: %#v", p.Custom)
		}
		if len(p.Sensitive) != 3 || p.Sensitive[0].Key != "bank_account" || p.Sensitive[0].Label == "" {
			t.Fatalf("sensitive list: %+v", p.Sensitive)
		}
		var raw string
		if err := e.db.QueryRow(e.ctx, `SELECT custom FROM persons WHERE id = ?`, p.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if raw != "{}" {
			t.Fatalf("persons.custom holds %s", raw)
		}
		var n int
		e.db.QueryRow(e.ctx, `SELECT COUNT(*) FROM person_secrets WHERE person_id = ?`, p.ID).Scan(&n)
		if n != 3 {
			t.Fatalf("%d encrypted values, want 3", n)
		}

		if _, err := e.l.UnmaskSensitive(e.ctx, officer, p.ID, "national_id", " "); code(err) != "reason-required" {
			t.Fatalf("unmask without reason: %v", err)
		}
		if _, err := e.l.UnmaskSensitive(e.ctx, officer, p.ID, "first_name", "tax office asks"); code(err) != "unknown-sensitive-field" {
			t.Fatalf("unmask of a field that is not sensitive: %v", err)
		}
		v := must[string](t)(e.l.UnmaskSensitive(e.ctx, officer, p.ID, "bank_account", "refund of the deposit"))
		if v != "DE89 3704 0044 0532 0130 00" {
			t.Fatalf("unmasked %q", v)
		}
		evs := must[[]audit.Event](t)(audit.List(e.ctx, e.db, audit.Filter{PersonID: p.ID, Action: "sensitive.unmask"}))
		if len(evs) != 1 || evs[0].Payload == nil || evs[0].Payload.Reason != "refund of the deposit" || !strings.Contains(string(evs[0].Payload.After), `"bank_account"`) || evs[0].Actor != officer {
			t.Fatalf("audit of the unmasking: %+v", evs)
		}
		// The audit trail of the change never holds the value.
		all := must[[]audit.Event](t)(audit.List(e.ctx, e.db, audit.Filter{PersonID: p.ID}))
		for _, ev := range all {
			if ev.Payload != nil && (strings.Contains(string(ev.Payload.After), "3704") || strings.Contains(string(ev.Payload.After), "Diabetes")) {
				t.Fatalf("audit event %s holds a sensitive value: %s", ev.Action, ev.Payload.After)
			}
		}

		// Update: change one value, remove another, keep the third.
		p = must[*ledger.Person](t)(e.l.UpdatePerson(e.ctx, officer, p.ID, ledger.PersonPatch{Custom: map[string]any{"national_id": "120385-9876", "health_data": nil}}))
		if p.Custom["national_id"] != "••••9876" || p.Custom["health_data"] != nil || p.Custom["bank_account"] != "••••3000" {
			t.Fatalf("after update: %#v", p.Custom)
		}
		if _, err := e.l.UnmaskSensitive(e.ctx, officer, p.ID, "health_data", "check it is gone"); code(err) != "no-sensitive-value" {
			t.Fatalf("removed value: %v", err)
		}
	})
}

func TestAssociatedDataBindsPersonAndField(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		a := e.person(t, "Anna", map[string]any{"national_id": "AAAA-1111-2222", "bank_account": "DK5000400440116243"})
		b := e.person(t, "Bo", map[string]any{"national_id": "BBBB-3333-4444"})
		// Copy Anna's national ID ciphertext onto Bo's row, and Anna's
		// bank account ciphertext onto her national ID.
		err := e.db.Write(e.ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(`UPDATE person_secrets SET ciphertext = (SELECT ciphertext FROM person_secrets WHERE person_id = ? AND field_id = (SELECT id FROM custom_fields WHERE key = 'national_id'))
				WHERE person_id = ? AND field_id = (SELECT id FROM custom_fields WHERE key = 'national_id')`, a.ID, b.ID); err != nil {
				return err
			}
			_, err := tx.Exec(`UPDATE person_secrets SET ciphertext = (SELECT ciphertext FROM person_secrets WHERE person_id = ? AND field_id = (SELECT id FROM custom_fields WHERE key = 'bank_account'))
				WHERE person_id = ? AND field_id = (SELECT id FROM custom_fields WHERE key = 'national_id')`, a.ID, a.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.l.UnmaskSensitive(e.ctx, officer, b.ID, "national_id", "swapped row"); !errors.Is(err, secrets.ErrDecrypt) {
			t.Fatalf("a ciphertext moved to another person decrypted: %v", err)
		}
		if _, err := e.l.UnmaskSensitive(e.ctx, officer, a.ID, "national_id", "swapped field"); !errors.Is(err, secrets.ErrDecrypt) {
			t.Fatalf("a ciphertext moved to another field decrypted: %v", err)
		}
		if _, err := e.l.Person(e.ctx, b.ID); !errors.Is(err, secrets.ErrDecrypt) {
			t.Fatalf("reading the person: %v", err)
		}
		// The untouched value still opens.
		if v := must[string](t)(e.l.UnmaskSensitive(e.ctx, officer, a.ID, "bank_account", "untouched")); v != "DK5000400440116243" {
			t.Fatalf("untouched value: %q", v)
		}
	})
}

func TestBlindIndexFindsExactMatchOnly(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		a := e.person(t, "Anna", map[string]any{"national_id": "ab 123-456", "bank_account": "DE44 5001 0517 5407 3249 31"})
		e.person(t, "Bo", map[string]any{"national_id": "AB1234567"})
		e.person(t, "Cy", map[string]any{"bank_account": "AB123456"}) // same text, other field
		find := func(field, v string) []int64 {
			t.Helper()
			ps := must[[]*ledger.Person](t)(e.l.FindBySensitive(e.ctx, field, v))
			var ids []int64
			for _, p := range ps {
				ids = append(ids, p.ID)
				if !strings.HasPrefix(p.Custom[field].(string), ledger.MaskChar) {
					t.Fatalf("search result not masked: %v", p.Custom)
				}
			}
			return ids
		}
		if ids := find("national_id", "AB123456"); len(ids) != 1 || ids[0] != a.ID {
			t.Fatalf("exact (normalised) match: %v", ids)
		}
		if ids := find("national_id", " ab-123 456 "); len(ids) != 1 || ids[0] != a.ID {
			t.Fatalf("spacing and case: %v", ids)
		}
		for _, v := range []string{"AB12345", "AB1234", "123456", "AB1234567X"} {
			if ids := find("national_id", v); len(ids) > 1 || (len(ids) == 1 && v != "AB1234567") {
				t.Fatalf("%q found %v", v, ids)
			}
		}
		if ids := find("bank_account", "DE44500105175407324931"); len(ids) != 1 || ids[0] != a.ID {
			t.Fatalf("IBAN: %v", ids)
		}
		if _, err := e.l.FindBySensitive(e.ctx, "health_data", "x"); code(err) != "not-searchable" {
			t.Fatalf("health data search: %v", err)
		}
		// The index is keyed: it is not a plain hash of the value.
		var bi []byte
		e.db.QueryRow(e.ctx, `SELECT blind_index FROM person_secrets WHERE person_id = ? AND blind_index IS NOT NULL LIMIT 1`, a.ID).Scan(&bi)
		if len(bi) != 32 {
			t.Fatalf("blind index of %d bytes", len(bi))
		}
		var hn int
		e.db.QueryRow(e.ctx, `SELECT COUNT(*) FROM person_secrets WHERE blind_index IS NOT NULL AND field_id = (SELECT id FROM custom_fields WHERE key = 'health_data')`).Scan(&hn)
		if hn != 0 {
			t.Fatal("health data got a blind index")
		}
	})
}

// seedValues stores n values directly (two fields per person) for the
// rotation tests.
func seedValues(t testing.TB, e *env, persons int) map[int64]string {
	t.Helper()
	fs := must[[]ledger.CustomField](t)(e.l.SensitiveFields(e.ctx))
	want := map[int64]string{}
	for i := 0; i < persons; i++ {
		p := e.person(t, "P", nil)
		want[p.ID] = "ID-" + base64.RawURLEncoding.EncodeToString([]byte{byte(i), byte(i >> 8), 7})
		err := e.db.Write(e.ctx, func(tx *store.Tx) error {
			for _, f := range fs {
				if f.Key == "health_data" {
					continue
				}
				if err := e.s.StoreTx(tx, p.ID, f, want[p.ID]+f.Key); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return want
}

func checkValues(t testing.TB, e *env, l *ledger.Service, want map[int64]string) {
	t.Helper()
	ids := make([]int64, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	got := must[map[int64]map[string]string](t)(e.s.Reveal(e.ctx, ids))
	for id, v := range want {
		if got[id]["national_id"] != v+"national_id" || got[id]["bank_account"] != v+"bank_account" {
			t.Fatalf("person %d reads %v, want %s…", id, got[id], v)
		}
	}
}

func TestRotationReencryptsAllAndResumes(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		want := seedValues(t, e, 150) // 300 values

		// A second instance on the same database, with the keyset as it
		// was before the rotation.
		other := must[*secrets.Service](t)(secrets.Open(e.ctx, e.db, e.key, nil))
		l2 := ledger.New(e.db)
		l2.SetVault(other)

		before := must[*secrets.Status](t)(e.s.Status(e.ctx))
		if before.Total != 300 || before.Stale != 0 || len(before.Keys) != 1 {
			t.Fatalf("before: %+v", before)
		}
		job := must[*secrets.Job](t)(e.s.Rotate(e.ctx, officer))
		st := must[*secrets.Status](t)(e.s.Status(e.ctx))
		if len(st.Keys) != 2 || st.Stale != 300 || len(st.Jobs) != 1 || !st.Keys[1].Primary || st.Keys[1].ID != job.KeyID {
			t.Fatalf("after rotate: %+v", st)
		}

		// Interrupted after about 100 rows.
		if err := e.s.RunJobs(e.ctx, secrets.RunOptions{Batch: 40, Limit: 100}); !errors.Is(err, secrets.ErrLimit) {
			t.Fatalf("limited run: %v", err)
		}
		mid := must[*secrets.Status](t)(e.s.Status(e.ctx))
		if mid.Stale == 0 || mid.Stale == 300 || len(mid.Jobs) != 1 || mid.Jobs[0].Processed == 0 {
			t.Fatalf("mid-rotation: %+v", mid)
		}
		// Reads and writes go on, on both instances: the other one has
		// never seen the new key.
		checkValues(t, e, e.l, want)
		p := must[*ledger.Person](t)(l2.CreatePerson(e.ctx, officer, ledger.PersonInput{FirstName: "New", Custom: map[string]any{"national_id": "NEW-0000-1111"}}))
		var kid int64
		e.db.QueryRow(e.ctx, `SELECT key_id FROM person_secrets WHERE person_id = ?`, p.ID).Scan(&kid)
		if uint32(kid) != job.KeyID {
			t.Fatalf("a write on the other instance used key %d, not the new primary %d", kid, job.KeyID)
		}
		if v := must[string](t)(e.l.UnmaskSensitive(e.ctx, officer, p.ID, "national_id", "check")); v != "NEW-0000-1111" {
			t.Fatal(v)
		}

		// A third instance opened now reads everything too.
		third := must[*secrets.Service](t)(secrets.Open(e.ctx, e.db, e.key, nil))
		if _, err := third.Reveal(e.ctx, []int64{p.ID}); err != nil {
			t.Fatal(err)
		}

		// Resume (another instance could do it just as well).
		var mu sync.Mutex
		rows := 0
		if err := other.RunJobs(e.ctx, secrets.RunOptions{Batch: 40, Progress: func(_ *secrets.Job, n int) { mu.Lock(); rows += n; mu.Unlock() }}); err != nil {
			t.Fatal(err)
		}
		end := must[*secrets.Status](t)(e.s.Status(e.ctx))
		if end.Stale != 0 || len(end.Jobs) != 0 || end.Values[job.KeyID] != 301 || rows+int(mid.Jobs[0].Processed) != 300 {
			t.Fatalf("after resume: %+v (rows %d + %d)", end, rows, mid.Jobs[0].Processed)
		}
		checkValues(t, e, e.l, want)
		if evs := must[[]audit.Event](t)(audit.List(e.ctx, e.db, audit.Filter{Action: "keys.rotate"})); len(evs) != 1 {
			t.Fatalf("rotation audit: %d events", len(evs))
		}
	})
}

func TestMarkSensitiveMovesPlaintext(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		must[*ledger.CustomField](t)(e.l.CreateCustomField(e.ctx, officer, ledger.CustomField{Key: "passport", Label: "Passport", Type: "text"}))
		var ids []int64
		for i := 0; i < 25; i++ {
			custom := map[string]any{}
			if i%2 == 0 {
				custom["passport"] = "PASS-X7Q" + string(rune('A'+i))
			}
			ids = append(ids, e.person(t, "P", custom).ID)
		}
		if _, err := e.l.MarkSensitive(e.ctx, officer, "passport", true); err != nil {
			t.Fatal(err)
		}
		if _, err := e.l.MarkSensitive(e.ctx, officer, "passport", true); code(err) != "already-sensitive" {
			t.Fatalf("twice: %v", err)
		}
		// Before the job ran: masked on reading, though still plaintext.
		p := must[*ledger.Person](t)(e.l.Person(e.ctx, ids[0]))
		if p.Custom["passport"] != "••••X7QA" {
			t.Fatalf("not yet moved: %#v", p.Custom)
		}
		if err := e.s.RunJobs(e.ctx, secrets.RunOptions{Batch: 10}); err != nil {
			t.Fatal(err)
		}
		var left int
		e.db.QueryRow(e.ctx, `SELECT COUNT(*) FROM persons WHERE custom LIKE '%PASS-%'`).Scan(&left)
		if left != 0 {
			t.Fatalf("%d persons still hold the plaintext", left)
		}
		if v := must[string](t)(e.l.UnmaskSensitive(e.ctx, officer, ids[2], "passport", "border check")); v != "PASS-X7QC" {
			t.Fatal(v)
		}
		found := must[[]*ledger.Person](t)(e.l.FindBySensitive(e.ctx, "passport", "pass-x7qe"))
		if len(found) != 1 || found[0].ID != ids[4] {
			t.Fatalf("search after moving: %v", found)
		}
		var n int
		e.db.QueryRow(e.ctx, `SELECT COUNT(*) FROM person_secrets WHERE field_id = (SELECT id FROM custom_fields WHERE key = 'passport')`).Scan(&n)
		if n != 13 {
			t.Fatalf("%d values moved, want 13", n)
		}
	})
}

func TestNoVaultRefusesSensitiveValues(t *testing.T) {
	e := newEnv(t, storetest.SQLite)
	l := ledger.New(e.db)
	if _, err := l.CreatePerson(e.ctx, officer, ledger.PersonInput{FirstName: "X", Custom: map[string]any{"national_id": "123456789"}}); code(err) != "sensitive-unavailable" {
		t.Fatalf("without a master key: %v", err)
	}
	// A wrong master key does not open the keysets.
	wrong, _ := secrets.ParseMasterKey(secrets.NewMasterKey())
	if _, err := secrets.Open(e.ctx, e.db, wrong, nil); !errors.Is(err, secrets.ErrWrongMasterKey) {
		t.Fatalf("wrong master key: %v", err)
	}
}
