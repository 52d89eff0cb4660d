package rights_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/importer"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/records"
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
	rec    *records.Service
	ctx    context.Context
	engine storetest.Engine
}

func newEnv(t *testing.T, e storetest.Engine) *env {
	t.Helper()
	return newEnvTB(t, e)
}

func newEnvTB(t testing.TB, e storetest.Engine) *env {
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
	return &env{db: db, opts: opts, l: l, r: rights.New(l), rec: records.New(db), ctx: ctx, engine: e}
}

func must[T any](t *testing.T) func(T, error) T {
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
	if err == nil {
		return ""
	}
	return "internal: " + err.Error()
}

// verifiedCase opens a request of typ for the person and verifies it.
func (e *env) verifiedCase(t *testing.T, pid int64, typ string) *rights.Request {
	t.Helper()
	r, err := e.r.CreateRequest(e.ctx, officer, rights.RequestInput{PersonID: &pid, Type: typ, Details: "by letter"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = e.r.VerifyIdentity(e.ctx, officer, r.ID, "copy of ID card checked"); err != nil {
		t.Fatal(err)
	}
	return r
}

// The personal values of the person to be erased: none may survive.
var secrets = []string{"Zebulon", "Quixotefield", "zebulon.q@example.org", "zq.private@example.net", "+49 30 98765432", "Gänsemarkt 77", "Quedlinburg-Nord"}

// richPerson creates the person with everything a CRM keeps about them.
func (e *env) richPerson(t *testing.T) (*ledger.Person, *ledger.Person) {
	t.Helper()
	ctx := e.ctx
	p := must[*ledger.Person](t)(e.l.CreatePerson(ctx, officer, ledger.PersonInput{FirstName: "Zebulon", LastName: "Quixotefield",
		Emails: []string{"zebulon.q@example.org", "zq.private@example.net"}, Phones: []ledger.Phone{{Kind: "mobile", Number: "+49 30 98765432"}},
		Address: ledger.Address{Street: "Gänsemarkt 77", PostalCode: "06484", City: "Quedlinburg-Nord", Country: "DE"}, Language: "de"}))
	other := must[*ledger.Person](t)(e.l.CreatePerson(ctx, officer, ledger.PersonInput{FirstName: "Olga", LastName: "Other", Emails: []string{"olga@example.com"}}))
	must[*ledger.ConsentEvent](t)(e.l.RecordConsent(ctx, officer, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Granted,
		Evidence: ledger.Evidence{Note: "Zebulon Quixotefield signed up", IP: "198.51.100.23", Form: map[string]string{"email": "zebulon.q@example.org"},
			Files: []ledger.File{{Name: "signup.eml", Content: []byte("From: zebulon.q@example.org\r\nSubject: yes")}}}}))
	must[*ledger.ConsentEvent](t)(e.l.RecordConsent(ctx, officer, ledger.ConsentInput{PersonID: p.ID, Purpose: "sales_service", Kind: ledger.Granted}))
	must[*ledger.Person](t)(e.l.UpdatePerson(ctx, officer, p.ID, ledger.PersonPatch{Custom: nil, Reason: "Zebulon called about his address"}))
	when := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	must[*records.Activity](t)(e.rec.AddActivity(ctx, officer, records.ActivityInput{PersonID: p.ID, Kind: "call", Subject: "Call with Zebulon Quixotefield",
		Body: "Asked to call back on +49 30 98765432", OccurredAt: &when}))
	must[*records.Document](t)(e.rec.AddDocument(ctx, officer, records.DocumentInput{PersonID: p.ID, Filename: "contract-quixotefield.txt", MediaType: "text/plain",
		Content: []byte("Contract between ACME and Zebulon Quixotefield, Gänsemarkt 77")}))
	must[*records.Relationship](t)(e.rec.AddRelationship(ctx, officer, records.RelationshipInput{PersonID: other.ID, OtherID: p.ID, Kind: "colleague"}))
	must[*records.BusinessRecord](t)(e.rec.AddBusinessRecord(ctx, officer, records.BusinessRecordInput{PersonID: p.ID, Kind: "invoice", Number: "INV-2026-0042",
		IssuedOn: "2026-03-01", AmountCents: 119_00, Currency: "EUR", Description: "Consulting for Zebulon Quixotefield"}))
	return p, other
}

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

// found lists the secrets present in the haystack, as text or (for bytea
// in a dump, and to be sure) as hex.
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

func TestLevel3ErasureLeavesNothingBehind(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		ctx := e.ctx
		p, other := e.richPerson(t)
		e.pastLives(t, p.ID)
		secrets := append(append([]string{}, secrets...), earlier...)
		c := e.verifiedCase(t, p.ID, rights.TypeErasure)
		must[*rights.Request](t)(e.r.AddNote(ctx, officer, c.ID, "Zebulon Quixotefield phoned to confirm"))
		// Mail sent to them, and mail still queued: the outbox keeps both.
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
			return nil
		}); err != nil {
			t.Fatal(err)
		}

		if got := found(e.haystack(t), secrets); len(got) != len(secrets) {
			t.Fatalf("before erasure the store holds only %v of %v: the search cannot be trusted", got, secrets)
		}
		plan := must[*rights.ErasurePlan](t)(e.r.PreviewErasure(ctx, c.ID, rights.LevelAnonymize))
		var actions []string
		for _, ch := range plan.Changes {
			actions = append(actions, ch.Action+" "+ch.What)
		}
		joined := strings.Join(actions, "\n")
		for _, want := range []string{"withdraw purpose e_marketing", "block mail", "delete phone numbers", "clear postal address", "clear name",
			"blocklist e-mail addresses", "delete documents", "unlink business records", "destroy the person's audit key"} {
			if !strings.Contains(joined, want) {
				t.Errorf("preview lacks %q:\n%s", want, joined)
			}
		}
		if _, err := e.r.Erase(ctx, officer, c.ID, rights.LevelAnonymize, "request by letter"); err != nil {
			t.Fatal(err)
		}

		if left := found(e.haystack(t), secrets); len(left) > 0 {
			t.Fatalf("after level-3 erasure the %s store still holds %v", engine, left)
		}
		// Their mail is blocked: nothing more is queued for them.
		if err := e.db.Write(ctx, func(tx *store.Tx) error {
			id, err := mail.Enqueue(tx, mail.Message{Template: "preference_link", Language: "de", PersonID: p.ID, To: "someone@example.org",
				Data: map[string]any{"Name": "x", "Controller": "Example GmbH", "PreferenceURL": "https://example.com/p/y"}})
			if err == nil && id != 0 {
				err = fmt.Errorf("mail %d queued for an erased person", id)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		got := must[*ledger.Person](t)(e.l.Person(ctx, p.ID))
		if got.Status != ledger.StatusAnonymized || got.FirstName != "" || len(got.Emails) != 0 || len(got.Phones) != 0 {
			t.Fatalf("person after erasure: %+v", got)
		}
		var kept, linked int
		if err := e.db.QueryRow(ctx, `SELECT COUNT(*), COUNT(person_id) FROM business_records WHERE number = 'INV-2026-0042'`).Scan(&kept, &linked); err != nil || kept != 1 || linked != 0 {
			t.Fatalf("invoice kept %d, linked %d (%v): want kept and linked to no one", kept, linked, err)
		}
		// A text naming them by single words only keeps the rest.
		var text string
		if err := e.db.QueryRow(ctx, `SELECT description FROM business_records WHERE number = 'ORD-C'`).Scan(&text); err != nil {
			t.Fatal(err)
		}
		if want := "Note: Mrs [erased] asked to deliver to the [erased] entrance, invoice to [erased]."; text != want {
			t.Fatalf("order text after erasure %q, want %q", text, want)
		}
		rels := must[[]records.Relationship](t)(e.rec.Relationships(ctx, other.ID))
		if len(rels) != 0 {
			t.Fatalf("the other person still has %d relationship(s) to the erased one", len(rels))
		}
		rep, err := audit.Verify(ctx, e.db)
		if err != nil || !rep.OK {
			t.Fatalf("audit chain after erasure: %+v %v", rep, err)
		}
		evs := must[[]audit.Event](t)(audit.List(ctx, e.db, audit.Filter{PersonID: p.ID}))
		if len(evs) < 5 {
			t.Fatalf("only %d audit events of the person", len(evs))
		}
		for _, ev := range evs {
			if ev.Sealed && ev.Payload != nil {
				t.Fatalf("audit event %d (%s) is still readable", ev.Seq, ev.Action)
			}
		}
		// The erased address never comes back: not by hand, not by import.
		_, err = e.l.CreatePerson(ctx, officer, ledger.PersonInput{FirstName: "Z", Emails: []string{" Zebulon.Q@Example.org "}})
		if code(err) != ledger.ErrBlockedCode {
			t.Fatalf("re-creating an erased address: %v, want %s", err, ledger.ErrBlockedCode)
		}
		_, err = e.l.UpdatePerson(ctx, officer, other.ID, ledger.PersonPatch{Emails: []string{"olga@example.com", "zq.private@example.net"}})
		if code(err) != ledger.ErrBlockedCode {
			t.Fatalf("adding an erased address to another person: %v", err)
		}
		var rejects bytes.Buffer
		irep, err := importer.Run(ctx, e.l, strings.NewReader("first_name,last_name,email\nZeb,Q,zebulon.q@example.org\nNew,Person,new@example.com\n"), importer.Options{Rejects: &rejects})
		if err != nil {
			t.Fatal(err)
		}
		if irep.Created != 1 || irep.RejectReasons[ledger.ErrBlockedCode] != 1 || !strings.Contains(rejects.String(), "erased") {
			t.Fatalf("import of an erased address: %+v %q", irep, rejects.String())
		}
		if _, err := e.r.Erase(ctx, officer, c.ID, rights.LevelAnonymize, ""); code(err) != "person-anonymized" {
			t.Fatalf("erasing twice: %v", err)
		}
	})
}

func TestErasureLevelsOneAndTwo(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		ctx := e.ctx
		p, _ := e.richPerson(t)
		c := e.verifiedCase(t, p.ID, rights.TypeErasure)
		if _, err := e.r.Erase(ctx, officer, c.ID, 1, ""); err != nil {
			t.Fatal(err)
		}
		for _, purpose := range []string{"e_marketing", "sales_service"} {
			st := must[*ledger.ConsentState](t)(e.l.ConsentFor(ctx, p.ID, purpose))
			if st.Valid || st.State != ledger.Withdrawn {
				t.Fatalf("level 1: %s is %s (valid %v)", purpose, st.State, st.Valid)
			}
		}
		got := must[*ledger.Person](t)(e.l.Person(ctx, p.ID))
		if len(got.Phones) != 1 || got.Address.Street == "" {
			t.Fatalf("level 1 deleted contact data: %+v", got)
		}
		plan := must[*rights.ErasurePlan](t)(e.r.PreviewErasure(ctx, c.ID, 2))
		for _, ch := range plan.Changes {
			if ch.Level == 1 {
				t.Fatalf("after level 1 the level-2 preview still lists %+v", ch)
			}
		}
		if _, err := e.r.Erase(ctx, officer, c.ID, 2, ""); err != nil {
			t.Fatal(err)
		}
		got = must[*ledger.Person](t)(e.l.Person(ctx, p.ID))
		if len(got.Phones) != 0 || got.Address.Street != "" || got.Address.City != "" || len(got.Emails) != 1 || got.Emails[0] != "zebulon.q@example.org" || got.FirstName != "Zebulon" {
			t.Fatalf("level 2: %+v", got)
		}
		if acts := must[[]records.Activity](t)(e.rec.Activities(ctx, p.ID)); len(acts) != 0 {
			t.Fatalf("level 2 kept %d activities", len(acts))
		}
		if docs := must[[]records.Document](t)(e.rec.Documents(ctx, p.ID)); len(docs) != 1 {
			t.Fatalf("level 2 deleted documents: %d left", len(docs))
		}
	})
}

func TestNothingIsErasedOrDisclosedBeforeVerification(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		ctx := e.ctx
		p, _ := e.richPerson(t)
		c := must[*rights.Request](t)(e.r.CreateRequest(ctx, officer, rights.RequestInput{PersonID: &p.ID, Type: rights.TypeErasure}))
		if _, err := e.r.PreviewErasure(ctx, c.ID, 3); code(err) != "identity-not-verified" {
			t.Fatalf("preview before verification: %v", err)
		}
		if _, err := e.r.Erase(ctx, officer, c.ID, 3, ""); code(err) != "identity-not-verified" {
			t.Fatalf("erase before verification: %v", err)
		}
		if _, err := e.r.Report(ctx, officer, c.ID, "json"); code(err) != "wrong-request-type" {
			t.Fatalf("report from an erasure case: %v", err)
		}
		a := must[*rights.Request](t)(e.r.CreateRequest(ctx, officer, rights.RequestInput{PersonID: &p.ID, Type: rights.TypeAccess}))
		if _, err := e.r.Report(ctx, officer, a.ID, "json"); code(err) != "identity-not-verified" {
			t.Fatalf("report before verification: %v", err)
		}
		if got := must[*ledger.Person](t)(e.l.Person(ctx, p.ID)); got.FirstName != "Zebulon" {
			t.Fatal("changed")
		}
	})
}
