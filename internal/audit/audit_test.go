package audit_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

var staff = audit.Actor{Type: "user", ID: "7"}

// populate writes a person with some consent history: 1 + 4 events on top
// of the seed's events.
func populate(t *testing.T, db *store.DB) (personID int64) {
	t.Helper()
	ctx := context.Background()
	l := ledger.New(db)
	if err := l.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := l.CreatePerson(ctx, staff, ledger.PersonInput{FirstName: "Zoë", LastName: "Quixotic", Emails: []string{"zoe.quixotic@example.org"}, Reason: "met at fair"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []ledger.EventKind{ledger.Granted, ledger.Withdrawn, ledger.Granted, ledger.Objected} {
		purpose := "e_marketing"
		if k == ledger.Objected {
			purpose = "sales_service"
		}
		if _, err := l.RecordConsent(ctx, staff, ledger.ConsentInput{PersonID: p.ID, Purpose: purpose, Kind: k, Reason: "asked by phone"}); err != nil {
			t.Fatal(err)
		}
	}
	return p.ID
}

func verify(t *testing.T, db *store.DB) audit.Report {
	t.Helper()
	rep, err := audit.Verify(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func exec(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	if err := db.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.Exec(q, args...)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	cases := []struct {
		name    string
		tamper  string
		args    []any
		bad     func(n int64) int64
		problem string
	}{
		{"altered action", `UPDATE audit_events SET action = 'consent.granted' WHERE seq = ?`, []any{-2}, func(n int64) int64 { return n - 2 }, "altered"},
		{"altered actor", `UPDATE audit_events SET actor_id = '1' WHERE seq = ?`, []any{3}, func(int64) int64 { return 3 }, "altered"},
		{"altered payload", `UPDATE audit_events SET payload = hash WHERE seq = ?`, []any{-1}, func(n int64) int64 { return n - 1 }, "altered"},
		{"removed event", `DELETE FROM audit_events WHERE seq = ?`, []any{4}, func(int64) int64 { return 4 }, "missing"},
		{"removed tail", `DELETE FROM audit_events WHERE seq = ?`, []any{0}, func(n int64) int64 { return n }, "removed from the end"},
	}
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				db := storetest.Open(t, e)
				populate(t, db)
				rep := verify(t, db)
				if !rep.OK || rep.Events < 10 {
					t.Fatalf("untouched chain: %+v", rep)
				}
				n := rep.Events
				args := make([]any, len(c.args))
				for i, a := range c.args {
					v := a.(int)
					switch {
					case v < 0:
						args[i] = n + int64(v)
					case v == 0:
						args[i] = n
					default:
						args[i] = int64(v)
					}
				}
				exec(t, db, c.tamper, args...)
				rep = verify(t, db)
				if rep.OK {
					t.Fatalf("tampering not detected: %+v", rep)
				}
				if want := c.bad(n); rep.FirstBad != want || !strings.Contains(rep.Problem, c.problem) {
					t.Fatalf("first bad %d (%s), want %d (%s)", rep.FirstBad, rep.Problem, want, c.problem)
				}
			})
		}
		t.Run("reordered", func(t *testing.T) {
			db := storetest.Open(t, e)
			populate(t, db)
			// Swap the contents of events 5 and 6, keeping their seq numbers.
			exec(t, db, `UPDATE audit_events SET seq = -1 WHERE seq = 5`)
			exec(t, db, `UPDATE audit_events SET seq = 5 WHERE seq = 6`)
			exec(t, db, `UPDATE audit_events SET seq = 6 WHERE seq = -1`)
			rep := verify(t, db)
			if rep.OK || rep.FirstBad != 5 {
				t.Fatalf("reorder: %+v", rep)
			}
		})
	})
}

func TestCryptoShreddingKeepsChainValid(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		db := storetest.Open(t, e)
		pid := populate(t, db)
		evs, err := audit.List(ctx, db, audit.Filter{PersonID: pid})
		if err != nil || len(evs) != 5 {
			t.Fatalf("events %d %v", len(evs), err)
		}
		last := evs[len(evs)-1]
		if last.Action != "person.create" || last.Payload == nil || !strings.Contains(string(last.Payload.After), "Quixotic") || last.Payload.Reason != "met at fair" {
			t.Fatalf("readable payload expected: %+v", last.Payload)
		}
		// The name must not be stored in clear in the audit table.
		rows, err := db.Query(ctx, `SELECT seq, payload FROM audit_events`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var seq int64
			var payload []byte
			if err := rows.Scan(&seq, &payload); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(payload, []byte("Quixotic")) || bytes.Contains(payload, []byte("zoe.quixotic")) {
				t.Fatalf("audit event %d holds personal data in clear", seq)
			}
		}
		rows.Close()
		exec(t, db, `UPDATE person_keys SET key = NULL, destroyed_at = 1 WHERE person_id = ?`, pid)
		evs, err = audit.List(ctx, db, audit.Filter{PersonID: pid})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Payload != nil || !ev.Shredded {
				t.Fatalf("event %d still readable after its key was destroyed", ev.Seq)
			}
		}
		if rep := verify(t, db); !rep.OK {
			t.Fatalf("chain broken by crypto-shredding: %+v", rep)
		}
	})
}

// Long chains are verified in parallel slices; tampering at a slice's
// edge must be found as surely as anywhere else.
func TestVerifyAcrossSlices(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		const n = 12000
		for _, c := range []struct {
			name   string
			tamper string
			seq    int64
		}{
			{"last of first slice altered", `UPDATE audit_events SET action = 'x' WHERE seq = ?`, n / 2},
			{"first of second slice altered", `UPDATE audit_events SET object_id = 'x' WHERE seq = ?`, n/2 + 1},
			{"edge removed", `DELETE FROM audit_events WHERE seq = ?`, n / 2},
			{"hash at the edge rewritten", `UPDATE audit_events SET hash = payload WHERE seq = ?`, n / 2},
		} {
			t.Run(c.name, func(t *testing.T) {
				db := storetest.Open(t, e)
				if err := db.Write(context.Background(), func(tx *store.Tx) error {
					for i := range n {
						if _, err := audit.Append(tx, time.Now(), audit.Entry{Actor: staff, Action: "test", ObjectType: "thing", ObjectID: fmt.Sprint(i)}, nil); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if rep := verify(t, db); !rep.OK || rep.Events != n {
					t.Fatalf("untouched: %+v", rep)
				}
				exec(t, db, c.tamper, c.seq)
				if rep := verify(t, db); rep.OK || rep.FirstBad != c.seq {
					t.Fatalf("first bad %d (%s), want %d", rep.FirstBad, rep.Problem, c.seq)
				}
			})
		}
	})
}
