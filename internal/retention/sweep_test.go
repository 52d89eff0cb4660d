package retention_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/records"
	"github.com/consento/consento/internal/retention"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// The personal values of the person to be deleted: none may survive.
var secrets = []string{"Zebulon", "Quixotefield", "zebulon.q@example.org", "zq.private@example.net", "+49 30 98765432", "Gänsemarkt 77", "Quedlinburg-Nord"}

// haystack is everything the engine keeps: the SQLite file and its WAL,
// or a pg_dump of the PostgreSQL database.
func (e *env) haystack(t *testing.T) []byte {
	t.Helper()
	if e.engine == storetest.SQLite {
		var all []byte
		for _, suffix := range []string{"", "-wal", "-journal"} {
			b, err := os.ReadFile(e.db.Path + suffix)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		return all
	}
	out, err := exec.Command("pg_dump", "--no-owner", "--dbname", e.opts.DatabaseURL).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	return out
}

func found(hay []byte, values []string) []string {
	lower := bytes.ToLower(hay)
	var out []string
	for _, v := range values {
		if bytes.Contains(lower, bytes.ToLower([]byte(v))) || bytes.Contains(lower, []byte(hex.EncodeToString([]byte(v)))) {
			out = append(out, v)
		}
	}
	return out
}

// richPerson creates the person with everything a CRM keeps about them,
// and a person related to them.
func (e *env) richPerson(t *testing.T) (int64, int64) {
	t.Helper()
	ctx := e.ctx
	rec := records.New(e.db)
	p := must[*ledger.Person](t)(e.l.CreatePerson(ctx, officer, ledger.PersonInput{FirstName: "Zebulon", LastName: "Quixotefield",
		Emails: []string{"zebulon.q@example.org", "zq.private@example.net"}, Phones: []ledger.Phone{{Kind: "mobile", Number: "+49 30 98765432"}},
		Address: ledger.Address{Street: "Gänsemarkt 77", PostalCode: "06484", City: "Quedlinburg-Nord", Country: "DE"}, Language: "de"}))
	other := must[*ledger.Person](t)(e.l.CreatePerson(ctx, officer, ledger.PersonInput{FirstName: "Olga", LastName: "Other", Emails: []string{"olga@example.com"}}))
	must[*ledger.ConsentEvent](t)(e.l.RecordConsent(ctx, officer, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Granted,
		Evidence: ledger.Evidence{Note: "Zebulon Quixotefield signed up", IP: "198.51.100.23", Form: map[string]string{"email": "zebulon.q@example.org"},
			Files: []ledger.File{{Name: "signup.eml", Content: []byte("From: zebulon.q@example.org\r\nSubject: yes")}}}}))
	when := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	must[*records.Activity](t)(rec.AddActivity(ctx, officer, records.ActivityInput{PersonID: p.ID, Kind: "call", Subject: "Call with Zebulon Quixotefield",
		Body: "Asked to call back on +49 30 98765432", OccurredAt: &when}))
	must[*records.Document](t)(rec.AddDocument(ctx, officer, records.DocumentInput{PersonID: p.ID, Filename: "contract-quixotefield.txt", MediaType: "text/plain",
		Content: []byte("Contract between ACME and Zebulon Quixotefield, Gänsemarkt 77")}))
	must[*records.Relationship](t)(rec.AddRelationship(ctx, officer, records.RelationshipInput{PersonID: other.ID, OtherID: p.ID, Kind: "colleague"}))
	must[*records.BusinessRecord](t)(rec.AddBusinessRecord(ctx, officer, records.BusinessRecordInput{PersonID: p.ID, Kind: "invoice", Number: "INV-2026-0042",
		IssuedOn: "2026-03-01", AmountCents: 119_00, Currency: "EUR", Description: "Consulting for Zebulon Quixotefield"}))
	// A closed access request, with a note naming them.
	pid := p.ID
	c := must[*rights.Request](t)(e.r.CreateRequest(ctx, officer, rights.RequestInput{PersonID: &pid, Type: rights.TypeAccess, Details: "letter from Zebulon Quixotefield"}))
	must[*rights.Request](t)(e.r.VerifyIdentity(ctx, officer, c.ID, "copy of ID card checked"))
	must[*rights.Request](t)(e.r.AddNote(ctx, officer, c.ID, "Zebulon Quixotefield phoned"))
	must[*rights.Request](t)(e.r.Complete(ctx, officer, c.ID, "report sent"))
	if err := e.db.Write(ctx, func(tx *store.Tx) error {
		for _, status := range []string{"sent", "queued"} {
			id, err := mail.Enqueue(tx, mail.Message{Template: "preference_link", Language: "de", PersonID: p.ID, To: "zebulon.q@example.org",
				Data: map[string]any{"Name": "Zebulon Quixotefield", "Controller": "Example GmbH", "PreferenceURL": "https://example.com/p/x"}})
			if err != nil {
				return err
			}
			if _, err := tx.Exec(`UPDATE mail_outbox SET status = ? WHERE id = ?`, status, id); err != nil {
				return err
			}
		}
		_, err := tx.Exec(`INSERT INTO selfservice_requests (person_id, kind, payload, ip, user_agent, created_at) VALUES (?, 'rectification', '{"last_name":"Quixotefield"}', '198.51.100.23', 'Firefox', 1)`, p.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return p.ID, other.ID
}

// earlier are values the rich person had before (see pastLives).
var earlier = []string{"Wilhelmina", "Hartwig", "Oldenbarnevelt", "w.hartwig@example.org", "wilma.olden@example.net", "Grachtenweg",
	"Mühlenkamp", "SW1A 2AA", "D02 X285", "Zuidhorn", "Winsum", "Obergum", "5551234", "signup-wilhelmina"}

// pastLives gives person pid two earlier names, addresses, e-mail
// addresses and phone numbers, changed back to the current ones (one
// change sent with an idempotency key naming them), and orders quoting
// them, one by single words only.
func (e *env) pastLives(t *testing.T, pid int64) {
	t.Helper()
	ctx := e.ctx
	cur := must[*ledger.Person](t)(e.l.Person(ctx, pid))
	str := func(s string) *string { return &s }
	idem := store.WithIdempotency(ctx, store.Idempotency{Scope: "token:1", Key: "signup-wilhelmina-w.hartwig@example.org", RequestHash: []byte("h")})
	must[*ledger.Person](t)(e.l.UpdatePerson(idem, officer, pid, ledger.PersonPatch{FirstName: str("Wilhelmina"), LastName: str("Hartwig"),
		Emails: []string{"w.hartwig@example.org"}, Phones: []ledger.Phone{{Kind: "home", Number: "+31 50 5551234"}},
		Address: &ledger.Address{Street: "Grachtenweg 12", PostalCode: "SW1A 2AA", City: "Zuidhorn", Country: "NL"}}))
	must[*ledger.Person](t)(e.l.UpdatePerson(ctx, officer, pid, ledger.PersonPatch{LastName: str("Oldenbarnevelt"),
		Emails: []string{"wilma.olden@example.net"}, Address: &ledger.Address{Street: "Mühlenkamp 3a", PostalCode: "D02 X285", City: "Winsum-Obergum", Country: "NL"}}))
	must[*ledger.Person](t)(e.l.UpdatePerson(ctx, officer, pid, ledger.PersonPatch{FirstName: &cur.FirstName, LastName: &cur.LastName,
		Emails: cur.Emails, Phones: cur.Phones, Address: &cur.Address}))
	rec := records.New(e.db)
	for i, d := range []string{
		"Order shipped to Wilhelmina Hartwig, Grachtenweg 12, SW1A 2AA Zuidhorn, ref signup-wilhelmina",
		"Reminder sent to w.hartwig@example.org and WILMA.OLDEN@example.net, phone +31 50 5551234; new address Mühlenkamp 3a, D02 X285 Winsum-Obergum",
		"Note: Mrs OLDENBARNEVELT asked to deliver to the mühlenkamp entrance, invoice to Hartwig.",
	} {
		must[*records.BusinessRecord](t)(rec.AddBusinessRecord(ctx, officer, records.BusinessRecordInput{PersonID: pid, Kind: "order",
			Number: fmt.Sprintf("ORD-%d", i), IssuedOn: "2025-06-01", AmountCents: 10_00, Currency: "EUR", Description: d}))
	}
}

func TestDeleteLeavesNothingBehind(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		e.configure(t, 365, retention.ActionDelete)
		pid, other := e.richPerson(t)
		e.pastLives(t, pid)
		secrets := append(append([]string{}, secrets...), earlier...)
		// Made last, so that the deleted person's id is not the highest.
		newest := e.person(t, "Newest")
		if got := found(e.haystack(t), secrets); len(got) != len(secrets) {
			t.Fatalf("before the sweep the store holds only %v of %v: the search cannot be trusted", got, secrets)
		}
		rep := must[*retention.Report](t)(e.s.Run(e.ctx, officer, false))
		// The rich person (purpose e_marketing), Olga and Newest (no
		// purpose); on SQLite Newest, the highest id, stays anonymized.
		wantDeleted, wantAnon := 3, 0
		if engine == storetest.SQLite {
			wantDeleted, wantAnon = 2, 1
		}
		if rep.Deleted != wantDeleted || rep.Anonymized != wantAnon || rep.Error != "" {
			t.Fatalf("sweep: %+v", rep.Sweep)
		}
		if e.status(t, pid) != "gone" || e.status(t, other) != "gone" {
			t.Fatalf("deleted persons are still there: %s, %s", e.status(t, pid), e.status(t, other))
		}
		// SQLite gives the highest id again once it is deleted: that person
		// stays as an empty anonymized row. PostgreSQL never reuses an id.
		if st := e.status(t, newest); (engine == storetest.SQLite) != (st == ledger.StatusAnonymized) || (engine == storetest.Postgres && st != "gone") {
			t.Fatalf("newest person: %s on %s", st, engine)
		}
		if left := found(e.haystack(t), secrets); len(left) > 0 {
			t.Fatalf("after deletion the %s store still holds %v", engine, left)
		}
		for _, tbl := range []string{"consents", "consent_events", "person_emails", "person_phones", "activities", "documents", "mail_blocks",
			"mail_outbox", "selfservice_requests", "person_keys", "preference_tokens", "optins", "rights_requests"} {
			if n := count(t, e.db, `SELECT COUNT(*) FROM `+tbl+` WHERE person_id = ?`, pid); n != 0 {
				t.Errorf("%s keeps %d rows of the deleted person", tbl, n)
			}
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM relationships WHERE person_id = ? OR other_id = ?`, pid, pid); n != 0 {
			t.Errorf("%d relationships remain", n)
		}
		var kept, linked int
		if err := e.db.QueryRow(e.ctx, `SELECT COUNT(*), COUNT(person_id) FROM business_records WHERE number = 'INV-2026-0042'`).Scan(&kept, &linked); err != nil || kept != 1 || linked != 0 {
			t.Fatalf("invoice kept %d, linked %d (%v): want kept and linked to no one", kept, linked, err)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM business_records WHERE description = 'Note: Mrs [erased] asked to deliver to the [erased] entrance, invoice to [erased].'`); n != 1 {
			t.Fatalf("the order naming earlier values by single words is not scrubbed (%d)", n)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM rights_requests WHERE person_id IS NULL AND status = 'completed'`); n != 1 {
			t.Fatalf("the closed case is not kept unlinked: %d", n)
		}
		// The counts behind the contacts list follow.
		if n := count(t, e.db, `SELECT COALESCE(SUM(n), 0) FROM person_blocks`); n != count(t, e.db, `SELECT COUNT(*) FROM persons`) {
			t.Fatalf("person blocks count %d, persons %d", n, count(t, e.db, `SELECT COUNT(*) FROM persons`))
		}
		rv, err := audit.Verify(e.ctx, e.db)
		if err != nil || !rv.OK {
			t.Fatalf("audit chain after deletion: %+v %v", rv, err)
		}
		for _, ev := range must[[]audit.Event](t)(audit.List(e.ctx, e.db, audit.Filter{PersonID: pid, Limit: 1000})) {
			if ev.Payload != nil {
				t.Fatalf("audit event %d (%s) of the deleted person is still readable", ev.Seq, ev.Action)
			}
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM audit_events WHERE action = 'person.delete'`); n != rep.Deleted {
			t.Fatalf("%d person.delete events for %d deletions", n, rep.Deleted)
		}
		// The address stays blocked.
		if _, err := e.l.CreatePerson(e.ctx, officer, ledger.PersonInput{FirstName: "Z", Emails: []string{"zebulon.q@example.org"}}); err == nil {
			t.Fatal("the deleted person's address can be used again")
		}
	})
}

// Two sweeps at once (two instances on one database): each expired person
// is anonymized exactly once and the two reports add up.
func TestConcurrentSweepsHandleEachPersonOnce(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		e.configure(t, 365, retention.ActionAnonymize)
		const n = 60
		if err := e.db.Write(e.ctx, func(tx *store.Tx) error {
			for i := range n {
				if _, err := e.l.CreatePersonTx(tx, officer, ledger.PersonInput{FirstName: "P", LastName: fmt.Sprint(i), Emails: []string{fmt.Sprintf("p%d@example.com", i)}}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		reps := make([]*retention.Report, 2)
		errs := make([]error, 2)
		start := make(chan struct{})
		// Both sweeps list everyone before either handles a batch: each
		// batch then meets persons the other sweep may have handled.
		var listed sync.WaitGroup
		listed.Add(2)
		for i := range 2 {
			db, l := open(t, e.opts)
			s := retention.New(l, fmt.Sprintf("instance-%d", i))
			s.SetClock(func() time.Time { return e.later })
			s.SetBatch(7)
			var once sync.Once
			s.SetBeforeBatch(func() { once.Do(func() { listed.Done(); listed.Wait() }) })
			_ = db
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				reps[i], errs[i] = s.Run(context.Background(), officer, false)
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("sweep %d: %v", i, err)
			}
		}
		if got := reps[0].Anonymized + reps[1].Anonymized; got != n {
			t.Fatalf("the sweeps anonymized %d + %d persons, want %d in all", reps[0].Anonymized, reps[1].Anonymized, n)
		}
		if got := reps[0].Elsewhere + reps[1].Elsewhere; got != n {
			t.Fatalf("persons handled by the other sweep: %d + %d, want %d", reps[0].Elsewhere, reps[1].Elsewhere, n)
		}
		if reps[0].Skipped+reps[1].Skipped != 0 {
			t.Fatalf("skipped: %+v %+v", reps[0].Sweep, reps[1].Sweep)
		}
		if got := erasures(t, e.db); len(got) != n {
			t.Fatalf("%d erasure events, want %d", len(got), n)
		}
		if n := count(t, e.db, `SELECT COUNT(*) FROM persons WHERE status <> 'anonymized'`); n != 0 {
			t.Fatalf("%d persons left", n)
		}
		rv, err := audit.Verify(e.ctx, e.db)
		if err != nil || !rv.OK {
			t.Fatalf("audit chain: %+v %v", rv, err)
		}
		t.Logf("%s: instance-0 anonymized %d, instance-1 %d", engine, reps[0].Anonymized, reps[1].Anonymized)
	})
}
