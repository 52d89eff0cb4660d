package rights_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/records"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

var (
	batchBuilt  = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	batchErased = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
)

// batchWorld is a dataset with everything an erasure touches, for
// several persons at once; ids are the persons to erase, in order.
type batchWorld struct {
	*env
	clock time.Time
	ids   []int64
	// refused are persons of ids an erasure must leave alone.
	refused map[int64]string
	// keys are the persons' audit keys just before the erasure, to read
	// the (sealed) withdrawals it records.
	keys map[int64][]byte
}

func (w *batchWorld) keepKeys(t *testing.T) {
	t.Helper()
	w.keys = map[int64][]byte{}
	rows, err := w.db.Query(w.ctx, `SELECT person_id, key FROM person_keys WHERE key IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var k []byte
		if err := rows.Scan(&id, &k); err != nil {
			t.Fatal(err)
		}
		w.keys[id] = k
	}
}

func newBatchWorld(t *testing.T, engine storetest.Engine) *batchWorld {
	t.Helper()
	w := &batchWorld{env: newEnv(t, engine), clock: batchBuilt, refused: map[int64]string{}}
	now := func() time.Time { return w.clock }
	w.l.SetClock(now)
	w.r.SetClock(now)
	w.l.SetBlocklistSecret([]byte("0123456789abcdef0123456789abcdef01"))
	ctx := w.ctx
	exec := func(q string, args ...any) {
		t.Helper()
		if err := w.db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(q, args...)
			return err
		}); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	person := func(first, last string, emails []string, phones ...string) int64 {
		var ph []ledger.Phone
		for _, n := range phones {
			ph = append(ph, ledger.Phone{Kind: "mobile", Number: n})
		}
		p := must[*ledger.Person](t)(w.l.CreatePerson(ctx, officer, ledger.PersonInput{FirstName: first, LastName: last, Emails: emails, Phones: ph,
			Address: ledger.Address{Street: last + "weg 1", PostalCode: "10115", City: "Berlin", Country: "DE"}, Language: "de"}))
		return p.ID
	}
	consent := func(pid int64, purpose string, kind ledger.EventKind, file string) {
		in := ledger.ConsentInput{PersonID: pid, Purpose: purpose, Kind: kind}
		if file != "" {
			in.Evidence = ledger.Evidence{Note: "signed up", IP: "198.51.100.7", Files: []ledger.File{{Name: "proof.eml", Content: []byte(file)}}}
		}
		must[*ledger.ConsentEvent](t)(w.l.RecordConsent(ctx, officer, in))
	}
	when := batchBuilt.Add(-time.Hour)
	a := person("Amalia", "Zwirbelmann", []string{"amalia@example.org", "amz@example.net"}, "+49 30 1111111", "+49 30 2222222")
	b := person("Bertold", "Quastfeld", []string{"bertold@example.org"}, "+49 30 3333333")
	c := person("Cosima", "", []string{"cosima@example.org"})
	d := person("", "Dee", nil)
	o := person("Olga", "Other", []string{"olga@example.com"})
	restricted := person("Rita", "Restrict", []string{"rita@example.org"})
	waiting := person("Norbert", "Notice", []string{"norbert@example.org"})
	w.ids = []int64{b, a, restricted, c, d, waiting}
	w.refused[restricted], w.refused[waiting] = "person-restricted", "notices-pending"
	// Amalia's earlier name, address and e-mail address, quoted by an order.
	str := func(s string) *string { return &s }
	must[*ledger.Person](t)(w.l.UpdatePerson(ctx, officer, a, ledger.PersonPatch{LastName: str("Kleinholz"), Emails: []string{"a.kleinholz@example.org"},
		Address: &ledger.Address{Street: "Ostertorsteinweg 8", PostalCode: "28203", City: "Bremen", Country: "DE"}}))
	must[*ledger.Person](t)(w.l.UpdatePerson(ctx, officer, a, ledger.PersonPatch{LastName: str("Zwirbelmann"), Emails: []string{"amalia@example.org", "amz@example.net"},
		Address: &ledger.Address{Street: "Zwirbelmannweg 1", PostalCode: "10115", City: "Berlin", Country: "DE"}}))
	for _, pid := range []int64{a, b, c, o, restricted, waiting} {
		consent(pid, "e_marketing", ledger.Granted, "")
	}
	consent(a, "sales_service", ledger.Granted, "shared evidence with Olga")
	consent(o, "sales_service", ledger.Granted, "shared evidence with Olga")
	consent(b, "sales_service", ledger.Granted, "shared evidence of Bertold and Cosima")
	consent(c, "sales_service", ledger.Pending, "shared evidence of Bertold and Cosima")
	consent(a, "e_marketing", ledger.Withdrawn, "")
	consent(a, "e_marketing", ledger.Granted, "Amalia's own file")
	exec(`UPDATE persons SET custom = ? WHERE id IN (?, ?)`, `{"shoe":"42 Amalia"}`, a, c)
	exec(`INSERT INTO organisations (name, created_at, updated_at) VALUES ('ACME', 1, 1)`)
	exec(`UPDATE persons SET organisation_id = (SELECT MIN(id) FROM organisations) WHERE id = ?`, b)
	for _, pid := range []int64{a, b, d} {
		must[*records.Activity](t)(w.rec.AddActivity(ctx, officer, records.ActivityInput{PersonID: pid, Kind: "call", Subject: "Call", Body: "call back", OccurredAt: &when}))
	}
	must[*records.Document](t)(w.rec.AddDocument(ctx, officer, records.DocumentInput{PersonID: a, Filename: "contract.txt", MediaType: "text/plain", Content: []byte("Zwirbelmann contract")}))
	for _, r := range [][2]int64{{o, a}, {a, b}, {b, a}, {c, o}, {d, b}} {
		must[*records.Relationship](t)(w.rec.AddRelationship(ctx, officer, records.RelationshipInput{PersonID: r[0], OtherID: r[1], Kind: "colleague"}))
	}
	must[*records.BusinessRecord](t)(w.rec.AddBusinessRecord(ctx, officer, records.BusinessRecordInput{PersonID: a, Kind: "order", Number: "ORD-1",
		IssuedOn: "2025-03-01", AmountCents: 100, Currency: "EUR", Description: "Order of Mrs KLEINHOLZ to the Ostertorsteinweg, confirmation to a.kleinholz@example.org"}))
	for i, pid := range []int64{a, a, b, o} {
		must[*records.BusinessRecord](t)(w.rec.AddBusinessRecord(ctx, officer, records.BusinessRecordInput{PersonID: pid, Kind: "invoice", Number: fmt.Sprintf("INV-%d", i),
			IssuedOn: "2026-03-01", AmountCents: 100, Currency: "EUR", Description: "Consulting for Amalia Zwirbelmann and Bertold, amz@example.net, +49 30 3333333"}))
	}
	for _, pid := range []int64{a, waiting, o} {
		r := w.verifiedCase(t, pid, rights.TypeErasure)
		must[*rights.Request](t)(w.r.AddNote(ctx, officer, r.ID, "phoned to confirm"))
	}
	exec(`INSERT INTO recipients (name, kind, email, created_at, created_by, updated_at, updated_by) VALUES ('Processor', 'processor', 'p@example.com', 1, 'x', 1, 'x')`)
	if err := w.db.Write(ctx, func(tx *store.Tx) error {
		// Mail: sent and queued, one with an attachment; Art. 19 notices, sent for a, waiting for waiting.
		for i, m := range []struct {
			pid    int64
			status string
		}{{a, "sent"}, {a, "queued"}, {b, "dead"}, {o, "queued"}} {
			id, err := mail.Enqueue(tx, mail.Message{Template: "preference_link", Language: "de", PersonID: m.pid, To: fmt.Sprintf("m%d@example.org", i),
				Data: map[string]any{"Name": "Amalia", "Controller": "Example GmbH", "PreferenceURL": "https://example.com/p/x"}})
			if err != nil {
				return err
			}
			if _, err := tx.Exec(`UPDATE mail_outbox SET status = ? WHERE id = ?`, m.status, id); err != nil {
				return err
			}
			if i == 0 {
				if _, err := tx.Exec(`INSERT INTO mail_attachments (mail_id, position, filename, media_type, content, size) VALUES (?, 0, 'a.pdf', 'application/pdf', ?, 3)`, id, []byte("pdf")); err != nil {
					return err
				}
			}
		}
		for _, n := range []struct {
			pid    int64
			status string
		}{{a, "sent"}, {waiting, "queued"}} {
			id, err := mail.Enqueue(tx, mail.Message{Template: "preference_link", Language: "de", To: "p@example.com",
				Data: map[string]any{"Name": "Processor", "Controller": "Example GmbH", "PreferenceURL": "https://example.com/p/y"}})
			if err != nil {
				return err
			}
			if _, err := tx.Exec(`UPDATE mail_outbox SET status = ? WHERE id = ?`, n.status, id); err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO recipient_notices (request_id, recipient_id, action, outbox_id, notified_at, notified_by)
				SELECT id, (SELECT MIN(id) FROM recipients), 'erasure', ?, 1, 'x' FROM rights_requests WHERE person_id = ?`, id, n.pid); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO web_forms (key, config, created_at, updated_at) VALUES ('f', '{}', 1, 1)`)
	exec(`INSERT INTO custom_fields (key, label, type, sensitive) VALUES ('health', 'Health', 'text', 1)`)
	exec(`INSERT INTO consent_requests (purpose_id, recipients, created_at, created_by) SELECT id, 2, 1, 'x' FROM purposes WHERE key = 'e_marketing'`)
	exec(`INSERT INTO breaches (title, description, aware_at, risk, created_at, created_by, updated_at, updated_by) VALUES ('b', 'd', 1, 'high', 1, 'x', 1, 'x')`)
	for i, pid := range []int64{a, b, c, o} {
		exec(`INSERT INTO preference_tokens (hash, person_id, created_at, expires_at) VALUES (?, ?, 1, 2)`, []byte(fmt.Sprintf("tok%d", i)), pid)
		exec(`INSERT INTO optins (token_hash, person_id, form_id, purposes, snapshot, ip, user_agent, created_at, expires_at) VALUES (?, ?, (SELECT MIN(id) FROM web_forms), '[]', '{}', '203.0.113.9', 'UA', 1, 2)`,
			[]byte(fmt.Sprintf("opt%d", i)), pid)
		exec(`INSERT INTO selfservice_requests (person_id, kind, payload, ip, user_agent, created_at) VALUES (?, 'correction', '{"street":"x"}', '203.0.113.9', 'UA', 1)`, pid)
		exec(`INSERT INTO consent_request_recipients (request_id, person_id) VALUES ((SELECT MIN(id) FROM consent_requests), ?)`, pid)
		exec(`INSERT INTO breach_persons (breach_id, person_id, added_at, added_by) VALUES ((SELECT MIN(id) FROM breaches), ?, 1, 'x')`, pid)
		exec(`INSERT INTO person_secrets (person_id, field_id, key_id, ciphertext, blind_index) VALUES (?, (SELECT MIN(id) FROM custom_fields), 1, ?, ?)`, pid, []byte("ct"), []byte(fmt.Sprintf("bi%d", i)))
	}
	exec(`INSERT INTO mail_blocks (person_id, created_at) VALUES (?, 1)`, c)
	for _, k := range []string{"create amz@example.net", "create olga@example.com", "create bertold@example.org x"} {
		exec(`INSERT INTO idempotency_keys (scope, key, request_hash, result, created_at) VALUES ('api', ?, ?, '{}', 1)`, k, []byte("h"))
	}
	exec(`UPDATE persons SET status = 'restricted' WHERE id = ?`, restricted)
	w.clock = batchErased
	return w
}

// dump is every table's rows as text, sorted; values that legitimately
// differ between two runs (audit payloads and hashes, random keys, the
// times the dataset was built at) are masked.
func (w *batchWorld) dump(t *testing.T) map[string][]string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if w.db.Dialect == store.Postgres {
		q = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`
	}
	rows, err := w.db.Query(w.ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	erased := store.Micros(batchErased)
	// On SQLite the id of a deleted consent event is given again: audit
	// events of deleted events name an id that says nothing.
	events := map[string]bool{}
	rows, err = w.db.Query(w.ctx, `SELECT id FROM consent_events`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		events[id] = true
	}
	rows.Close()
	out := map[string][]string{}
	for _, tb := range tables {
		if tb == "schema_migrations" || tb == "audit_head" {
			continue
		}
		rows, err := w.db.Query(w.ctx, `SELECT * FROM `+tb)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var parts []string
			objectType, action := "", ""
			if tb == "audit_events" {
				// The withdrawals the erasure records, opened: Before and After compared.
				var seq, pid int64
				var raw []byte
				for i, c := range cols {
					switch c {
					case "seq":
						seq, _ = vals[i].(int64)
					case "person_id":
						pid, _ = vals[i].(int64)
					case "payload":
						raw, _ = vals[i].([]byte)
					case "action":
						action = fmt.Sprint(vals[i])
						if b, ok := vals[i].([]byte); ok {
							action = string(b)
						}
					case "object_id":
						objectType = fmt.Sprint(vals[i])
						if b, ok := vals[i].([]byte); ok {
							objectType = string(b)
						}
					}
				}
				if action == "consent.withdrawn" && events[objectType] && w.keys[pid] != nil {
					p, err := audit.OpenPayload(seq, raw, w.keys[pid], true)
					if err != nil {
						t.Fatal(err)
					}
					b, _ := json.Marshal(p)
					parts = append(parts, "opened="+string(b))
				}
				objectType, action = "", ""
			}
			for i, c := range cols {
				v := vals[i]
				s := fmt.Sprint(v)
				if b, ok := v.([]byte); ok {
					s = string(b)
				}
				if tb == "audit_events" && c == "action" {
					action = s
				}
				// The payload of person.erase and person.delete is in clear
				// (the key is gone) and compared: it counts the changes.
				switch {
				case v == nil:
					s = "NULL"
				case tb == "audit_events" && (c == "payload" && action != "person.erase" && action != "person.delete" || c == "hash" || c == "at"):
					s = "*"
				case tb == "audit_events" && c == "object_type":
					objectType = s
				case tb == "audit_events" && c == "object_id" && objectType == "consent_event" && !events[s]:
					s = "deleted"
				case tb == "person_keys" && c == "key":
					s = "key"
				case tb == "settings" && c == "value" && slices.Contains(parts, "key=rate_limit_key"):
					s = "random" // each database makes its own
				case strings.HasSuffix(c, "_at") || strings.HasSuffix(c, "_until"):
					if n, ok := v.(int64); ok && n == erased {
						s = "ERASED"
					} else {
						s = "T"
					}
				}
				parts = append(parts, c+"="+s)
			}
			out[tb] = append(out[tb], strings.Join(parts, " "))
		}
		rows.Close()
		sort.Strings(out[tb])
	}
	return out
}

func diffDumps(t *testing.T, what string, x, y map[string][]string) {
	t.Helper()
	for tb, xs := range x {
		ys := y[tb]
		if strings.Join(xs, "\n") != strings.Join(ys, "\n") {
			t.Errorf("%s: table %s differs:\nper person:\n  %s\nbatch:\n  %s", what, tb, strings.Join(xs, "\n  "), strings.Join(ys, "\n  "))
		}
	}
	if len(x) != len(y) {
		t.Errorf("%s: %d tables against %d", what, len(x), len(y))
	}
}

func countRows(t *testing.T, db *store.DB, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBatchErasureEqualsPerPerson(t *testing.T) {
	for _, del := range []bool{false, true} {
		name := "anonymize"
		if del {
			name = "delete"
		}
		t.Run(name, func(t *testing.T) {
			storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
				one, all := newBatchWorld(t, engine), newBatchWorld(t, engine)
				diffDumps(t, "before", one.dump(t), all.dump(t))
				if t.Failed() {
					t.FailNow()
				}
				one.keepKeys(t)
				all.keepKeys(t)
				// Per person, each in its own transaction as a refusal rolls back.
				var keptOne []int64
				for _, pid := range one.ids {
					err := one.db.Write(one.ctx, func(tx *store.Tx) error {
						if del {
							kept, err := one.r.DeleteTx(tx, audit.System, pid, fmt.Sprintf("retention: test %d", pid))
							if kept {
								keptOne = append(keptOne, pid)
							}
							return err
						}
						_, err := one.r.AnonymizeTx(tx, audit.System, pid, fmt.Sprintf("retention: test %d", pid))
						return err
					})
					if want := one.refused[pid]; code(err) != want {
						t.Fatalf("per person %d: %v, want %q", pid, err, want)
					}
				}
				var batch []rights.BatchPerson
				for _, pid := range all.ids {
					batch = append(batch, rights.BatchPerson{PersonID: pid, Reason: fmt.Sprintf("retention: test %d", pid)})
				}
				var refused map[int64]error
				var kept map[int64]bool
				if err := all.db.Write(all.ctx, func(tx *store.Tx) (err error) {
					if del {
						kept, refused, err = all.r.DeleteBatchTx(tx, audit.System, batch)
						return err
					}
					refused, err = all.r.AnonymizeBatchTx(tx, audit.System, batch)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				if len(refused) != len(all.refused) {
					t.Fatalf("refused %v, want %v", refused, all.refused)
				}
				for pid, want := range all.refused {
					if code(refused[pid]) != want {
						t.Fatalf("refused %d: %v, want %s", pid, refused[pid], want)
					}
				}
				if len(kept) != len(keptOne) {
					t.Fatalf("kept %v, per person kept %v", kept, keptOne)
				}
				for _, pid := range keptOne {
					if !kept[pid] {
						t.Fatalf("kept %v, per person kept %v", kept, keptOne)
					}
				}
				x, y := one.dump(t), all.dump(t)
				diffDumps(t, "after", x, y)
				// The comparison means something: the erasure did change things.
				if n := countRows(t, all.db, `SELECT COUNT(*) FROM audit_events WHERE action = 'person.erase'`); n != 4 {
					t.Fatalf("%d person.erase events, want 4", n)
				}
				// Earlier values too are gone from the kept order, on both paths.
				for _, db := range []*store.DB{one.db, all.db} {
					if n := countRows(t, db, `SELECT COUNT(*) FROM business_records WHERE description = 'Order of Mrs [erased] to the [erased], confirmation to [erased]'`); n != 1 {
						t.Fatalf("the order naming Amalia's earlier values is not scrubbed (%d)", n)
					}
				}
				if n := countRows(t, all.db, `SELECT COUNT(*) FROM evidence_files`); n != 1 {
					t.Fatalf("%d evidence files left, want the one Olga still uses", n)
				}
				for _, db := range []*store.DB{one.db, all.db} {
					rep, err := audit.Verify(one.ctx, db)
					if err != nil || !rep.OK {
						t.Fatalf("audit chain: %+v %v", rep, err)
					}
				}
			})
		})
	}
}
