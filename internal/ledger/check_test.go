package ledger

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// The snapshot that answers long bulk checks must give exactly the
// verdicts of looking each person up.
func TestCheckSnapshotMatchesLookups(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		db := storetest.Open(t, e)
		l := New(db)
		if err := l.Seed(ctx); err != nil {
			t.Fatal(err)
		}
		actor := audit.Actor{Type: "user", ID: "1"}
		past := time.Now().Add(-72 * time.Hour)
		var refs []string
		for i := range 40 {
			email := fmt.Sprintf("p%d@example.com", i)
			p, err := l.CreatePerson(ctx, actor, PersonInput{LastName: fmt.Sprint(i), Emails: []string{email}})
			if err != nil {
				t.Fatal(err)
			}
			in := ConsentInput{PersonID: p.ID, Purpose: "e_marketing"}
			switch i % 8 {
			case 0:
				in.Kind = Granted
			case 1:
				in.Kind = Withdrawn
			case 2:
				in.Kind = Objected
			case 3:
				in.Kind, in.OccurredAt = Granted, &past
				until := past.Add(time.Hour)
				in.ValidUntil = &until
			case 4:
				in.Kind = Refused
			case 5:
				in.Kind = Pending
			}
			if in.Kind != "" {
				if _, err := l.RecordConsent(ctx, actor, in); err != nil {
					t.Fatal(err)
				}
			}
			status := map[int]string{6: StatusRestricted, 7: StatusAnonymized}[i%8]
			if status != "" && i < 16 {
				if err := db.Write(ctx, func(tx *store.Tx) error {
					_, err := tx.Exec(`UPDATE persons SET status = ? WHERE id = ?`, status, p.ID)
					return err
				}); err != nil {
					t.Fatal(err)
				}
			}
			refs = append(refs, email, fmt.Sprint(p.ID))
		}
		refs = append(refs, "ghost@example.com", "999999", "not an address", "P3@EXAMPLE.COM")
		check := func(snapshotMin, sizeHint int) ([]Verdict, CheckSummary) {
			l.snapshotMin = snapshotMin
			i := 0
			var out []Verdict
			sum, err := l.Check(ctx, "e_marketing", sizeHint, func() (Ref, bool, error) {
				if i == len(refs) {
					return Ref{}, false, nil
				}
				i++
				return ParseRef(refs[i-1]), true, nil
			}, func(v Verdict) error { out = append(out, v); return nil })
			if err != nil {
				t.Fatal(err)
			}
			return out, sum
		}
		looked, lsum := check(1<<30, 0)
		for _, c := range []struct{ min, hint int }{{0, 0}, {0, len(refs)}, {20_000, len(refs)}} {
			snapped, ssum := check(c.min, c.hint)
			if !reflect.DeepEqual(looked, snapped) || !reflect.DeepEqual(lsum, ssum) {
				t.Fatalf("verdicts with snapshot minimum %d and size hint %d differ from lookups:\n%v\n%v", c.min, c.hint, looked, snapped)
			}
		}
		want := map[string]int{ReasonAllowed: 10, ReasonWithdrawn: 10, ReasonObjected: 10, ReasonExpired: 10, ReasonRefused: 10,
			ReasonNoConsent: 22, ReasonRestricted: 4, ReasonUnknown: 6, ReasonInvalid: 1}
		// p3 in capitals is the same person as p3: one more expired.
		want[ReasonExpired]++
		if !reflect.DeepEqual(lsum.Reasons, want) {
			t.Fatalf("reasons %v, want %v", lsum.Reasons, want)
		}
	})
}
