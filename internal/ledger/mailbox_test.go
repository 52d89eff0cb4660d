package ledger

import (
	"context"
	"testing"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/storetest"
)

// A second person with another spelling of a stored mailbox is a
// duplicate; every look-up by e-mail finds the stored person.
func TestDuplicateInAnotherSpelling(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		l := New(storetest.Open(t, e))
		if err := l.Seed(ctx); err != nil {
			t.Fatal(err)
		}
		staff := audit.Actor{Type: "user", ID: "1"}
		anna, err := l.CreatePerson(ctx, staff, PersonInput{FirstName: "Anna", Emails: []string{`"Berg, Anna" <Anna@Bücher.de>`, "anna@xn--bcher-kva.de", "ANNA+news@bücher.de"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(anna.Emails) != 1 || anna.Emails[0] != "anna@bücher.de" {
			t.Fatalf("stored addresses %q: one spelling per mailbox, as given, reduced and lower case", anna.Emails)
		}
		gmail, err := l.CreatePerson(ctx, staff, PersonInput{FirstName: "Ben", Emails: []string{"Ben.Stone+crm@gmail.com"}})
		if err != nil || gmail.Emails[0] != "ben.stone+crm@gmail.com" {
			t.Fatalf("a Gmail address is stored as given: %+v, %v", gmail, err)
		}
		for _, c := range []struct {
			spelling string
			owner    int64
		}{
			{"anna@xn--bcher-kva.de", anna.ID},
			{"Anna Berg <ANNA@BÜCHER.DE>", anna.ID},
			{" anna+shop@bücher.de ", anna.ID},
			{"benstone@googlemail.com", gmail.ID},
			{"b.e.n.s.t.o.n.e@gmail.com", gmail.ID},
		} {
			_, err := l.CreatePerson(ctx, staff, PersonInput{FirstName: "Dup", Emails: []string{c.spelling}})
			if de, ok := AsError(err); !ok || de.Code != "duplicate-email" {
				t.Errorf("creating %q: %v, want duplicate-email", c.spelling, err)
			}
			p, err := l.PersonByEmail(ctx, c.spelling)
			if err != nil || p.ID != c.owner {
				t.Errorf("PersonByEmail(%q) = %+v, %v; want person %d", c.spelling, p, err, c.owner)
			}
		}
		// Adding a spelling of a person's own mailbox is no conflict.
		if _, err := l.UpdatePerson(ctx, staff, anna.ID, PersonPatch{Emails: []string{"anna@bücher.de", "anna@example.com"}}); err != nil {
			t.Fatal(err)
		}
		// Distinct mailboxes stay distinct: dots count outside Gmail.
		if _, err := l.CreatePerson(ctx, staff, PersonInput{FirstName: "Other", Emails: []string{"a.nna@bücher.de"}}); err != nil {
			t.Fatalf("a distinct mailbox: %v", err)
		}
		// Field errors say what is wrong.
		for in, want := range map[string]string{
			"anna@example.com, ben@example.com": "contains more than one e-mail address; give one",
			"Team: anna@example.com;":           "is a group of addresses (name: a, b;); give one e-mail address",
			"anna@xn--zz.de":                    "is not a valid e-mail address: the part after the @ is not a valid domain name",
		} {
			_, err := l.CreatePerson(ctx, staff, PersonInput{FirstName: "X", Emails: []string{in}})
			de, ok := AsError(err)
			if !ok || len(de.Fields) != 1 || de.Fields[0].Field != "emails[0]" || de.Fields[0].Message != want {
				t.Errorf("creating %q: %v %+v; want %q", in, err, de, want)
			}
		}

		// The bulk check finds the person under any spelling, by look-ups
		// and from the snapshot alike.
		if _, err := l.RecordConsent(ctx, staff, ConsentInput{PersonID: anna.ID, Purpose: "e_marketing", Kind: Withdrawn}); err != nil {
			t.Fatal(err)
		}
		refs := []string{"ANNA+newsletter@xn--bcher-kva.de", "anna@bücher.de", "Ben Stone <benstone@googlemail.com>", "nobody@bücher.de"}
		for _, snapshotMin := range []int{1 << 30, 0} {
			l.snapshotMin = snapshotMin
			i := 0
			var got []Verdict
			if _, err := l.Check(ctx, "e_marketing", len(refs), func() (Ref, bool, error) {
				if i == len(refs) {
					return Ref{}, false, nil
				}
				i++
				return ParseRef(refs[i-1]), true, nil
			}, func(v Verdict) error { got = append(got, v); return nil }); err != nil {
				t.Fatal(err)
			}
			want := []struct {
				id     int64
				reason string
			}{{anna.ID, ReasonWithdrawn}, {anna.ID, ReasonWithdrawn}, {gmail.ID, ReasonNoConsent}, {0, ReasonUnknown}}
			for j, w := range want {
				if got[j].PersonID != w.id || got[j].Reason != w.reason {
					t.Errorf("snapshot minimum %d: %q → %+v, want person %d %s", snapshotMin, refs[j], got[j], w.id, w.reason)
				}
			}
		}
	})
}
