package breach_test

import (
	"context"
	"io"
	"log/slog"
	"mime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/breach"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/mail/mailtest"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

var officer = audit.Actor{Type: "user", ID: "7"}

type env struct {
	ctx   context.Context
	db    *store.DB
	l     *ledger.Service
	b     *breach.Service
	clock time.Time
}

func newEnv(t *testing.T, eng storetest.Engine) *env {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, eng)
	l := ledger.New(db)
	if err := l.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	e := &env{ctx: ctx, db: db, l: l, b: breach.New(db).SetController("Beispiel GmbH"), clock: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	e.b.SetClock(func() time.Time { return e.clock })
	return e
}

func code(err error) string {
	if de, ok := ledger.AsError(err); ok {
		if len(de.Fields) > 0 {
			return de.Code + ":" + de.Fields[0].Field
		}
		return de.Code
	}
	if err == nil {
		return ""
	}
	return "internal: " + err.Error()
}

func ptr[T any](v T) *T { return &v }

// incident is a complete incident, aware at the env's clock.
func (e *env) incident(t *testing.T, risk string) *breach.Breach {
	t.Helper()
	b, err := e.b.Create(e.ctx, officer, breach.Input{Title: "Stolen laptop", Description: "A laptop with the customer list was stolen from a car.",
		OccurredAt: ptr(e.clock.Add(-20 * time.Hour)), AwareAt: ptr(e.clock), DetectedBy: "IT helpdesk",
		DataCategories: []string{"contact", "financial", "loyalty card numbers"}, SubjectCategories: []string{"customers"},
		ApproxPersons: ptr[int64](1200), ApproxRecords: ptr[int64](3400), Consequences: "Phishing mails and misuse of bank details are possible.",
		Measures: "The disk was encrypted; we reset all passwords. Watch your bank statements.", Risk: risk, DPOContact: "Dana Schutz, dpo@example.com, +49 30 1234"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) person(t *testing.T, first, email, lang string) int64 {
	t.Helper()
	in := ledger.PersonInput{FirstName: first, LastName: "Testperson", Language: lang}
	if email != "" {
		in.Emails = []string{email}
	}
	p, err := e.l.CreatePerson(e.ctx, officer, in)
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func (e *env) auditActions(t *testing.T, id int64) []audit.Event {
	t.Helper()
	evs, err := audit.List(e.ctx, e.db, audit.Filter{ObjectType: "breach", ObjectID: strconv.FormatInt(id, 10), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestCreateValidatesAndUpdateIsAudited(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		for _, c := range []struct {
			in   breach.Input
			want string
		}{
			{breach.Input{Description: "x", AwareAt: ptr(e.clock)}, "validation:title"},
			{breach.Input{Title: "T", AwareAt: ptr(e.clock)}, "validation:description"},
			{breach.Input{Title: "T", Description: "x"}, "validation:aware_at"},
			{breach.Input{Title: "T", Description: "x", AwareAt: ptr(e.clock.Add(time.Hour))}, "validation:aware_at"},
			{breach.Input{Title: "T", Description: "x", AwareAt: ptr(e.clock), OccurredAt: ptr(e.clock.Add(time.Minute))}, "validation:occurred_at"},
			{breach.Input{Title: "T", Description: "x", AwareAt: ptr(e.clock), Risk: "medium"}, "validation:risk"},
			{breach.Input{Title: "T", Description: "x", AwareAt: ptr(e.clock), ApproxPersons: ptr[int64](-1)}, "validation:approx_persons"},
		} {
			if _, err := e.b.Create(e.ctx, officer, c.in); code(err) != c.want {
				t.Errorf("%+v: %v, want %s", c.in, err, c.want)
			}
		}
		// Occurrence unknown: fine. Risk defaults to "risk".
		b, err := e.b.Create(e.ctx, officer, breach.Input{Title: "Misaddressed mail", Description: "An invoice went to the wrong customer.", AwareAt: ptr(e.clock)})
		if err != nil {
			t.Fatal(err)
		}
		if b.OccurredAt != nil || b.Risk != breach.RiskSome || b.Status != breach.StatusOpen || !b.Deadline.Equal(e.clock.Add(72*time.Hour)) ||
			b.AuthorityState != breach.StatePending || b.SecondsLeft != 72*3600 || b.CreatedBy != "user:7" {
			t.Fatalf("created %+v", b)
		}
		in := breach.Input{Title: "Misaddressed invoice", Description: b.Description, AwareAt: &b.AwareAt, Risk: breach.RiskNone, Status: breach.StatusClosed,
			DataCategories: []string{"contact", " contact ", "order history"}}
		if b, err = e.b.Update(e.ctx, officer, b.ID, in); err != nil {
			t.Fatal(err)
		}
		if b.Title != "Misaddressed invoice" || b.ClosedAt == nil || !slices.Equal(b.DataCategories, []string{"contact", "order history"}) {
			t.Fatalf("updated %+v", b)
		}
		if _, err := e.b.Update(e.ctx, officer, 999, in); code(err) != "unknown-breach" {
			t.Errorf("unknown incident: %v", err)
		}
		evs := e.auditActions(t, b.ID)
		if len(evs) != 2 || evs[0].Action != "breach.update" || evs[1].Action != "breach.create" || evs[0].Sealed || evs[0].Payload == nil ||
			!strings.Contains(string(evs[0].Payload.Before), "Misaddressed mail") || !strings.Contains(string(evs[0].Payload.After), "Misaddressed invoice") {
			t.Fatalf("audit %+v", evs)
		}
		// Every breach is in the register (Art. 33(5)): the closed one too.
		all, err := e.b.List(e.ctx, breach.Filter{})
		if err != nil || len(all) != 1 {
			t.Fatalf("list %v %v", all, err)
		}
		if open, _ := e.b.List(e.ctx, breach.Filter{Status: "open"}); len(open) != 0 {
			t.Fatalf("open: %+v", open)
		}
	})
}

func TestAuthorityNotification(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		inTime := e.incident(t, breach.RiskSome)
		e.clock = e.clock.Add(71 * time.Hour)
		got, err := e.b.Get(e.ctx, inTime.ID)
		if err != nil || got.AuthorityState != breach.StatePending || got.SecondsLeft != 3600 {
			t.Fatalf("one hour before the deadline: %s, %d s left, %v", got.AuthorityState, got.SecondsLeft, err)
		}
		if _, err := e.b.RecordAuthority(e.ctx, officer, inTime.ID, breach.AuthorityInput{Reference: "X"}); code(err) != "validation:authority" {
			t.Errorf("without the authority: %v", err)
		}
		if _, err := e.b.RecordAuthority(e.ctx, officer, inTime.ID, breach.AuthorityInput{Authority: "BfDI", NotifiedAt: ptr(inTime.AwareAt.Add(-time.Minute))}); code(err) != "validation:notified_at" {
			t.Errorf("before awareness: %v", err)
		}
		// Exactly at the deadline is in time; no reason needed.
		e.clock = inTime.Deadline
		got, err = e.b.RecordAuthority(e.ctx, officer, inTime.ID, breach.AuthorityInput{Authority: "Berliner Beauftragte für Datenschutz", Reference: "BlnBDI-2026-117",
			NotifiedAt: ptr(inTime.Deadline), LateReason: "ignored when in time"})
		if err != nil {
			t.Fatal(err)
		}
		if got.AuthorityState != breach.StateNotifiedInTime || got.AuthorityReference != "BlnBDI-2026-117" || got.AuthorityLateReason != "" || got.AuthorityRecordedBy != "user:7" {
			t.Fatalf("in time: %+v", got)
		}
		if _, err := e.b.RecordAuthority(e.ctx, officer, inTime.ID, breach.AuthorityInput{Authority: "BfDI"}); code(err) != "already-notified" {
			t.Errorf("second notification: %v", err)
		}
		in := breach.Input{Title: got.Title, Description: got.Description, AwareAt: ptr(got.AwareAt.Add(time.Hour)), Risk: got.Risk}
		if _, err := e.b.Update(e.ctx, officer, got.ID, in); code(err) != "aware-at-fixed" {
			t.Errorf("moving awareness after the notification: %v", err)
		}

		// Later than 72 hours: only with the reasons for the delay.
		e.clock = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
		late := e.incident(t, breach.RiskHigh)
		e.clock = e.clock.Add(75*time.Hour + 30*time.Minute)
		if got, _ := e.b.Get(e.ctx, late.ID); got.AuthorityState != breach.StateOverdue || got.SecondsLeft != -(3*3600+30*60) {
			t.Fatalf("overdue: %s, %d s", got.AuthorityState, got.SecondsLeft)
		}
		if _, err := e.b.RecordAuthority(e.ctx, officer, late.ID, breach.AuthorityInput{Authority: "BfDI"}); code(err) != "validation:late_reason" {
			t.Errorf("late without a reason: %v", err)
		}
		got, err = e.b.RecordAuthority(e.ctx, officer, late.ID, breach.AuthorityInput{Authority: "BfDI", LateReason: "The scope was only clear after the forensic report."})
		if err != nil || got.AuthorityState != breach.StateNotifiedLate || got.AuthorityLateReason == "" {
			t.Fatalf("late with a reason: %+v %v", got, err)
		}
		// Follow-up information in phases (Art. 33(4)).
		if _, err := e.b.AddEntry(e.ctx, officer, late.ID, breach.EntryInput{Kind: breach.EntryFollowUp, Body: "Forensic report sent: 1,180 customers affected."}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.b.AddEntry(e.ctx, officer, late.ID, breach.EntryInput{Kind: breach.EntryAuthority, Body: "x"}); code(err) != "validation:kind" {
			t.Errorf("a notification as a manual entry: %v", err)
		}
		entries, err := e.b.Entries(e.ctx, late.ID)
		if err != nil || len(entries) != 2 || entries[0].Kind != breach.EntryAuthority || !strings.Contains(entries[0].Body, "forensic report") ||
			entries[1].Kind != breach.EntryFollowUp {
			t.Fatalf("timeline %+v %v", entries, err)
		}
		var actions []string
		for _, ev := range e.auditActions(t, late.ID) {
			actions = append(actions, ev.Action)
		}
		if !slices.Equal(actions, []string{"breach.add_followup", "breach.notify_authority", "breach.create"}) {
			t.Errorf("audit %v", actions)
		}

		// Not notifying needs the risk assessed as none and a reason; a
		// later higher assessment withdraws the decision.
		noRisk := e.incident(t, breach.RiskSome)
		if _, err := e.b.RecordAuthority(e.ctx, officer, noRisk.ID, breach.AuthorityInput{Decision: "not_notified", Reason: "encrypted disk, key not lost"}); code(err) != "risk-not-none" {
			t.Errorf("not notifying a risk: %v", err)
		}
		in = breach.Input{Title: noRisk.Title, Description: noRisk.Description, AwareAt: &noRisk.AwareAt, Risk: breach.RiskNone}
		if _, err := e.b.Update(e.ctx, officer, noRisk.ID, in); err != nil {
			t.Fatal(err)
		}
		if _, err := e.b.RecordAuthority(e.ctx, officer, noRisk.ID, breach.AuthorityInput{Decision: "not_notified"}); code(err) != "validation:reason" {
			t.Errorf("no reason: %v", err)
		}
		got, err = e.b.RecordAuthority(e.ctx, officer, noRisk.ID, breach.AuthorityInput{Decision: "not_notified", Reason: "The disk was encrypted (AES-256) and the key was not lost."})
		if err != nil || got.AuthorityState != breach.StateNotNotified || got.NoNotifyReason == "" {
			t.Fatalf("decision: %+v %v", got, err)
		}
		in.Risk = breach.RiskSome
		e.clock = e.clock.Add(80 * time.Hour)
		if got, err = e.b.Update(e.ctx, officer, noRisk.ID, in); err != nil || got.NoNotifyAt != nil || got.AuthorityState != breach.StateOverdue {
			t.Fatalf("after reassessment: %+v %v", got, err)
		}
		if open, overdue, err := e.b.OpenCount(e.ctx); err != nil || open != 3 || overdue != 1 {
			t.Errorf("open %d, overdue %d, %v", open, overdue, err)
		}
	})
}

func TestLinkPersonsByEmail(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		b := e.incident(t, breach.RiskHigh)
		anna := e.person(t, "Anna", "anna@example.com", "de")
		bo := e.person(t, "Bo", "bo@example.dk", "da")
		text := "ANNA@example.com, bo@example.dk\nnobody@example.com;not-an-address\n anna@example.com \n"
		res, err := e.b.LinkPersons(e.ctx, officer, b.ID, breach.LinkInput{Emails: breach.SplitAddresses(text)})
		if err != nil {
			t.Fatal(err)
		}
		if *res != (breach.LinkResult{Given: 3, Invalid: 1, Matched: 2, Unmatched: 1, Added: 2, Linked: 2}) {
			t.Fatalf("by address: %+v", *res)
		}
		// Other spellings of the mailboxes match the same persons.
		text = "\"Berg, Anna\" <Anna+Leak@EXAMPLE.com>; Bo <bo@example.dk>\n"
		res, err = e.b.LinkPersons(e.ctx, officer, b.ID, breach.LinkInput{Emails: breach.SplitAddresses(text)})
		if err != nil || *res != (breach.LinkResult{Given: 2, Matched: 2, AlreadyLinked: 2, Linked: 2}) {
			t.Fatalf("by other spellings: %+v %v", res, err)
		}
		res, err = e.b.LinkPersons(e.ctx, officer, b.ID, breach.LinkInput{PersonIDs: []int64{anna, 999999}})
		if err != nil || *res != (breach.LinkResult{Given: 2, Matched: 1, Unmatched: 1, AlreadyLinked: 1, Linked: 2}) {
			t.Fatalf("by id: %+v %v", res, err)
		}
		ps, err := e.b.Persons(e.ctx, b.ID)
		if err != nil || len(ps) != 2 || ps[0].PersonID != anna || ps[1].PersonID != bo || ps[0].Reach != breach.ReachMailable || ps[0].Email != "anna@example.com" {
			t.Fatalf("persons %+v %v", ps, err)
		}
		if got, _ := e.b.Get(e.ctx, b.ID); got.LinkedPersons != 2 {
			t.Fatalf("linked count %d", got.LinkedPersons)
		}
		evs := e.auditActions(t, b.ID)
		if evs[0].Action != "breach.link_persons" || evs[0].Payload == nil || !strings.Contains(string(evs[0].Payload.After), strconv.FormatInt(anna, 10)) {
			t.Fatalf("audit %+v", evs[0])
		}
		for _, ev := range evs {
			if ev.Action == "breach.link_persons" && ev.Payload != nil && (strings.Contains(string(ev.Payload.After), "@") || strings.Contains(string(ev.Payload.After), "Anna")) {
				t.Errorf("the audit event %s names a person in clear: %s", ev.Action, ev.Payload.After)
			}
		}
		if _, err := e.b.LinkPersons(e.ctx, officer, b.ID, breach.LinkInput{}); code(err) != "validation:person_ids" {
			t.Errorf("nothing given: %v", err)
		}
		// Bo was linked by mistake: removed with a reason, audited, counted down.
		if err := e.b.UnlinkPerson(e.ctx, officer, b.ID, bo, " "); code(err) != "validation:reason" {
			t.Fatalf("unlink without a reason: %v", err)
		}
		if err := e.b.UnlinkPerson(e.ctx, officer, b.ID, bo, "same name, other customer"); err != nil {
			t.Fatal(err)
		}
		if err := e.b.UnlinkPerson(e.ctx, officer, b.ID, bo, "again"); code(err) != "person-not-linked" {
			t.Fatalf("unlink twice: %v", err)
		}
		if ps, _ := e.b.Persons(e.ctx, b.ID); len(ps) != 1 || ps[0].PersonID != anna {
			t.Fatalf("after unlinking: %+v", ps)
		}
		if got, _ := e.b.Get(e.ctx, b.ID); got.LinkedPersons != 1 {
			t.Fatalf("linked count after unlinking %d", got.LinkedPersons)
		}
		if evs := e.auditActions(t, b.ID); evs[0].Action != "breach.unlink_person" || evs[0].Payload == nil || evs[0].Payload.Reason != "same name, other customer" ||
			!strings.Contains(string(evs[0].Payload.After), strconv.FormatInt(bo, 10)) {
			t.Fatalf("unlink audit %+v", evs[0])
		}
	})
}

// deliver sends the outbox to the test SMTP server and returns what arrived.
func (e *env) deliver(t *testing.T, srv *mailtest.Server, want int) []mailtest.Received {
	t.Helper()
	s, err := mail.ParseSMTPURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	w := mail.NewWorker(e.db, mail.Config{SMTP: s, From: "privacy@example.com", Rate: 1000}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := w.Drain(e.ctx); err != nil {
		t.Fatal(err)
	}
	return srv.Wait(t, want)
}

func TestNotifyPersonsByMail(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		srv := mailtest.Start(t)
		b := e.incident(t, breach.RiskHigh)
		anna := e.person(t, "Anna", "anna@example.com", "de")
		bo := e.person(t, "Bo", "bo@example.dk", "da")
		cleo := e.person(t, "Cleo", "cleo@example.org", "en")
		restricted := e.person(t, "Rita", "rita@example.com", "en")
		blocked := e.person(t, "Bert", "bert@example.com", "en")
		noMail := e.person(t, "Nils", "", "en")
		if err := e.db.Write(e.ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(`UPDATE persons SET status = 'restricted' WHERE id = ?`, restricted); err != nil {
				return err
			}
			_, err := tx.Exec(`INSERT INTO mail_blocks (person_id, created_at) VALUES (?, ?)`, blocked, store.Micros(e.clock))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.b.LinkPersons(e.ctx, officer, b.ID, breach.LinkInput{PersonIDs: []int64{anna, bo, cleo, restricted, blocked, noMail}}); err != nil {
			t.Fatal(err)
		}
		pre, err := e.b.PreviewNotice(e.ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if pre.Linked != 6 || pre.Mailable != 3 || pre.MailBlocked != 1 || pre.Restricted != 1 || pre.NoAddress != 1 || pre.Mailed != 0 || len(pre.Unreachable) != 3 {
			t.Fatalf("preview %+v", pre)
		}
		// The notice must carry the content of Art. 34(2).
		in := breach.Input{Title: b.Title, Description: b.Description, AwareAt: &b.AwareAt, Risk: b.Risk, DataCategories: b.DataCategories,
			Consequences: b.Consequences, Measures: b.Measures}
		if _, err := e.b.Update(e.ctx, officer, b.ID, in); err != nil {
			t.Fatal(err)
		}
		if _, err := e.b.NotifyPersons(e.ctx, officer, b.ID); code(err) != "validation:dpo_contact" {
			t.Fatalf("without a contact point: %v", err)
		}
		in.DPOContact = "Dana Schutz, dpo@example.com"
		if _, err := e.b.Update(e.ctx, officer, b.ID, in); err != nil {
			t.Fatal(err)
		}
		res, err := e.b.NotifyPersons(e.ctx, officer, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if res.Mailed != 3 || res.MailBlocked != 1 || res.Restricted != 1 || res.NoAddress != 1 || len(res.Unreachable) != 3 {
			t.Fatalf("notified %+v", res)
		}
		var unreachable []int64
		for _, u := range res.Unreachable {
			unreachable = append(unreachable, u.PersonID)
		}
		if !slices.Equal(unreachable, []int64{restricted, blocked, noMail}) {
			t.Errorf("unreachable %v", unreachable)
		}
		got := map[string]mailtest.Received{}
		for _, m := range e.deliver(t, srv, 3) {
			got[m.To[0]] = m
		}
		for _, c := range []struct{ to, subject, greeting, contact string }{
			{"anna@example.com", "Wichtig: Verletzung des Schutzes Ihrer personenbezogenen Daten", "Guten Tag Anna", "Datenschutzbeauftragten"},
			{"bo@example.dk", "Vigtigt: brud på sikkerheden omkring dine personoplysninger", "Kære Bo", "databeskyttelsesrådgiver"},
			{"cleo@example.org", "Important: a breach of security concerning your personal data", "Dear Cleo", "data protection officer"},
		} {
			m, ok := got[c.to]
			if !ok {
				t.Errorf("nothing arrived for %s", c.to)
				continue
			}
			if subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); subject != c.subject {
				t.Errorf("%s: subject %q", c.to, subject)
			}
			for _, want := range []string{c.greeting, c.contact, "A laptop with the customer list was stolen", "Phishing mails and misuse", "we reset all passwords",
				"Dana Schutz, dpo@example.com", "2026-11-20", "Beispiel GmbH"} {
				if !strings.Contains(m.Text, want) {
					t.Errorf("%s: the text lacks %q:\n%s", c.to, want, m.Text)
				}
			}
		}
		if len(srv.Messages()) != 3 {
			t.Errorf("%d mails arrived; blocked and restricted persons must get none", len(srv.Messages()))
		}
		ps, err := e.b.Persons(e.ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			mailed := p.PersonID == anna || p.PersonID == bo || p.PersonID == cleo
			if (p.NotifiedAt != nil) != mailed || (p.MailID != nil) != mailed {
				t.Errorf("person %d: notified %v, mail %v", p.PersonID, p.NotifiedAt, p.MailID)
			}
		}
		// A second notice skips those notified; with nobody left it is refused.
		if _, err := e.b.NotifyPersons(e.ctx, officer, b.ID); code(err) != "nobody-to-notify" {
			t.Fatalf("second notice: %v", err)
		}
		if err := e.b.UnlinkPerson(e.ctx, officer, b.ID, anna, "linked by mistake"); code(err) != "person-notified" {
			t.Fatalf("unlinking a person who was sent the notice: %v", err)
		}
		dora := e.person(t, "Dora", "dora@example.com", "en")
		if _, err := e.b.LinkPersons(e.ctx, officer, b.ID, breach.LinkInput{PersonIDs: []int64{dora}}); err != nil {
			t.Fatal(err)
		}
		res, err = e.b.NotifyPersons(e.ctx, officer, b.ID)
		if err != nil || res.Mailed != 1 || res.AlreadyNotified != 3 {
			t.Fatalf("notice to the one added: %+v %v", res, err)
		}
		if ms := e.deliver(t, srv, 4); len(ms) != 4 || ms[3].To[0] != "dora@example.com" {
			t.Fatalf("arrived %d", len(ms))
		}
		cur, _ := e.b.Get(e.ctx, b.ID)
		entries, _ := e.b.Entries(e.ctx, b.ID)
		if cur.PersonsNotified != 4 || len(entries) != 2 || entries[0].Mailed != 3 || entries[0].Unreachable != 3 || entries[1].Mailed != 1 {
			t.Fatalf("notified %d, entries %+v", cur.PersonsNotified, entries)
		}
		if evs := e.auditActions(t, b.ID); evs[0].Action != "breach.notify_persons" || strings.Contains(string(evs[0].Payload.After), "@") {
			t.Fatalf("audit %+v", evs[0])
		}
	})
}

// A level-3 erasure removes the person's link (and the mailed notice with
// the outbox); the incident keeps its counts and timeline.
func TestErasureRemovesTheLink(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		b := e.incident(t, breach.RiskHigh)
		zoe := e.person(t, "Zoe", "zoe@example.com", "en")
		other := e.person(t, "Olaf", "olaf@example.com", "en")
		if _, err := e.b.LinkPersons(e.ctx, officer, b.ID, breach.LinkInput{PersonIDs: []int64{zoe, other}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.b.NotifyPersons(e.ctx, officer, b.ID); err != nil {
			t.Fatal(err)
		}
		// Captured (no SMTP server): the sent notices stay in the outbox.
		if _, err := mail.NewWorker(e.db, mail.Config{From: "x@example.com"}, slog.New(slog.NewTextHandler(io.Discard, nil))).Drain(e.ctx); err != nil {
			t.Fatal(err)
		}
		r := rights.New(e.l)
		req, err := r.CreateRequest(e.ctx, officer, rights.RequestInput{PersonID: &zoe, Type: rights.TypeErasure})
		if err == nil {
			_, err = r.VerifyIdentity(e.ctx, officer, req.ID, "ID card")
		}
		if err == nil {
			_, err = r.Erase(e.ctx, officer, req.ID, rights.LevelAnonymize, "asked by mail")
		}
		if err != nil {
			t.Fatal(err)
		}
		ps, err := e.b.Persons(e.ctx, b.ID)
		if err != nil || len(ps) != 1 || ps[0].PersonID != other {
			t.Fatalf("after erasure: %+v %v", ps, err)
		}
		cur, _ := e.b.Get(e.ctx, b.ID)
		if cur.LinkedPersons != 2 || cur.PersonsNotified != 2 {
			t.Fatalf("counts after erasure: linked %d, notified %d", cur.LinkedPersons, cur.PersonsNotified)
		}
		var n int
		if err := e.db.QueryRow(e.ctx, `SELECT COUNT(*) FROM mail_outbox WHERE recipient = 'zoe@example.com'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("the erased person's notice is still in the outbox: %d %v", n, err)
		}
		if _, err := e.b.NotifyPersons(e.ctx, officer, b.ID); code(err) != "nobody-to-notify" {
			t.Fatalf("after erasure: %v", err)
		}
	})
}
