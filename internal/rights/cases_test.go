package rights_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/records"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

func TestRequestCaseDeadlinesAndWorkflow(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		ctx := e.ctx
		now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
		e.r.SetClock(func() time.Time { return now })
		if err := e.r.SetHolidays(ctx, officer, "de", "", []rights.Holiday{{Day: "2026-12-25", Name: "1. Weihnachtstag"}, {Day: "2026-12-26"}}); err != nil {
			t.Fatal(err)
		}
		p := must[*ledger.Person](t)(e.l.CreatePerson(ctx, officer, ledger.PersonInput{FirstName: "Anna", Emails: []string{"anna@example.com"}}))

		// Received on a Wednesday; one month later is Friday 25 December,
		// a holiday, then a weekend: due Monday 28 December.
		r := must[*rights.Request](t)(e.r.CreateRequest(ctx, officer, rights.RequestInput{RequesterEmail: "Anna@Example.com", Type: rights.TypeAccess, Country: "DE", Channel: "api"}))
		if r.PersonID == nil || *r.PersonID != p.ID {
			t.Fatalf("the requester's address did not link the person: %+v", r.PersonID)
		}
		if r.ReceivedOn != "2026-11-25" || r.DueOn != "2026-12-28" || r.Status != rights.StatusReceived || r.Article != "Art. 15" {
			t.Fatalf("new case: %+v", r)
		}
		if _, err := e.r.CreateRequest(ctx, officer, rights.RequestInput{PersonID: &p.ID, Type: "access", ReceivedOn: "2026-12-01"}); code(err) != "validation" {
			t.Fatalf("receipt in the future: %v", err)
		}
		if _, err := e.r.CreateRequest(ctx, officer, rights.RequestInput{PersonID: &p.ID, Type: "forget-me"}); code(err) != "validation" {
			t.Fatalf("unknown type: %v", err)
		}
		if _, err := e.r.Start(ctx, officer, r.ID); code(err) != "invalid-transition" {
			t.Fatalf("start before verification: %v", err)
		}
		if _, err := e.r.Complete(ctx, officer, r.ID, "sent"); code(err) != "identity-not-verified" {
			t.Fatalf("complete before verification: %v", err)
		}
		r = must[*rights.Request](t)(e.r.VerifyIdentity(ctx, officer, r.ID, "answered from the stored address"))
		if r.Status != rights.StatusVerified || r.VerifiedBy != "user:1" {
			t.Fatalf("verified: %+v", r)
		}
		if _, err := e.r.Extend(ctx, officer, r.ID, "short"); code(err) != "validation" {
			t.Fatalf("extension without a reason: %v", err)
		}
		r = must[*rights.Request](t)(e.r.Extend(ctx, officer, r.ID, "many linked records across three systems"))
		// Three months from receipt: 25 February 2027, a Thursday.
		if r.ExtendedDueOn != "2027-02-25" || r.Deadline != "2027-02-25" || r.ExtensionReason == "" {
			t.Fatalf("extended: %+v", r)
		}
		if _, err := e.r.Extend(ctx, officer, r.ID, "once more, please, really"); code(err) != "already-extended" {
			t.Fatalf("second extension: %v", err)
		}
		must[*rights.Request](t)(e.r.AddNote(ctx, officer, r.ID, "internal: called back"))
		must[*rights.Request](t)(e.r.Start(ctx, officer, r.ID))
		r = must[*rights.Request](t)(e.r.Complete(ctx, officer, r.ID, "report sent by post"))
		if r.Status != rights.StatusCompleted || r.ClosedAt == nil || len(r.Notes) != 1 || r.Overdue {
			t.Fatalf("completed: %+v", r)
		}
		if _, err := e.r.Reject(ctx, officer, r.ID, "no"); code(err) != "request-closed" {
			t.Fatalf("reject a closed case: %v", err)
		}
		// Every step is in the audit log, sealed under the person's key.
		evs := must[[]audit.Event](t)(audit.List(ctx, e.db, audit.Filter{ObjectType: "rights_request"}))
		var actions []string
		for _, ev := range evs {
			actions = append(actions, ev.Action)
			if !ev.Sealed {
				t.Errorf("%s is not sealed", ev.Action)
			}
		}
		if got := strings.Join(actions, ","); got != "request.complete,request.start,request.note,request.extend,request.verify,request.create" {
			t.Fatalf("audit of the case: %s", got)
		}
	})
}

func TestOverdueCasesAreRemindedAndEscalated(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		ctx := e.ctx
		a := auth.New(e.db)
		staffUser := must[*auth.User](t)(a.CreateUser(ctx, audit.System, "sam@example.com", "Sam", auth.RoleStaff, "a long enough password"))
		po := must[*auth.User](t)(a.CreateUser(ctx, audit.System, "pia@example.com", "Pia", auth.RolePrivacyOfficer, "a long enough password"))
		now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		e.r.SetClock(func() time.Time { return now })
		p := must[*ledger.Person](t)(e.l.CreatePerson(ctx, officer, ledger.PersonInput{LastName: "Berg"}))
		old := must[*rights.Request](t)(e.r.CreateRequest(ctx, officer, rights.RequestInput{PersonID: &p.ID, Type: "erasure", ReceivedOn: "2026-01-20", AssigneeID: &staffUser.ID}))
		soon := must[*rights.Request](t)(e.r.CreateRequest(ctx, officer, rights.RequestInput{PersonID: &p.ID, Type: "access", ReceivedOn: "2026-02-05"}))
		fresh := must[*rights.Request](t)(e.r.CreateRequest(ctx, officer, rights.RequestInput{PersonID: &p.ID, Type: "objection", ReceivedOn: "2026-03-01"}))
		if !old.Overdue || old.DaysLeft >= 0 || !soon.DueSoon || fresh.DueSoon || fresh.Overdue {
			t.Fatalf("traffic: old %+v soon %+v fresh %+v", old, soon, fresh)
		}
		for state, want := range map[string][]int64{"overdue": {old.ID}, "due_soon": {soon.ID}, "open": {old.ID, soon.ID, fresh.ID}, "closed": nil} {
			got := must[[]*rights.Request](t)(e.r.Requests(ctx, rights.RequestFilter{State: state}))
			var ids []int64
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			if len(ids) != len(want) || (len(ids) > 0 && ids[0] != want[0]) {
				t.Errorf("%s: %v, want %v (most urgent first)", state, ids, want)
			}
		}
		c := must[rights.Counts](t)(e.r.CountOpen(ctx))
		if c.Open != 3 || c.Overdue != 1 || c.DueSoon != 1 {
			t.Fatalf("counts %+v", c)
		}
		reminded, escalated, err := e.r.Sweep(ctx)
		if err != nil || reminded != 1 || escalated != 1 {
			t.Fatalf("sweep: reminded %d escalated %d %v", reminded, escalated, err)
		}
		old = must[*rights.Request](t)(e.r.Request(ctx, old.ID))
		if old.EscalatedAt == nil || old.AssigneeID == nil || *old.AssigneeID != po.ID {
			t.Fatalf("escalation did not reach the privacy officer: %+v", old)
		}
		if reminded, escalated, _ = e.r.Sweep(ctx); reminded+escalated != 0 {
			t.Fatalf("a second sweep repeated %d reminders and %d escalations", reminded, escalated)
		}
		// Extending after the first month is too late.
		if _, err := e.r.Extend(ctx, officer, old.ID, "many linked records to check"); code(err) != "extension-too-late" {
			t.Fatalf("late extension: %v", err)
		}
	})
}

func TestRestrictionFreezesThePerson(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		ctx := e.ctx
		p := must[*ledger.Person](t)(e.l.CreatePerson(ctx, officer, ledger.PersonInput{LastName: "Berg", Emails: []string{"berg@example.com"}}))
		must[*ledger.ConsentEvent](t)(e.l.RecordConsent(ctx, officer, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Granted}))
		c := e.verifiedCase(t, p.ID, rights.TypeRestriction)
		must[*rights.Request](t)(e.r.Restrict(ctx, officer, c.ID, "accuracy contested"))
		if _, err := e.l.UpdatePerson(ctx, officer, p.ID, ledger.PersonPatch{LastName: ptr("Borg")}); code(err) != "person-restricted" {
			t.Fatalf("edit while restricted: %v", err)
		}
		if _, err := e.l.RecordConsent(ctx, officer, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Withdrawn}); code(err) != "person-restricted" {
			t.Fatalf("consent while restricted: %v", err)
		}
		if _, err := e.rec.AddActivity(ctx, officer, records.ActivityInput{PersonID: p.ID, Kind: "note", Subject: "x"}); code(err) != "person-restricted" {
			t.Fatalf("activity while restricted: %v", err)
		}
		refs := []ledger.Ref{ledger.ParseRef("berg@example.com")}
		i := 0
		var v ledger.Verdict
		_, err := e.l.Check(ctx, "e_marketing", 1, func() (ledger.Ref, bool, error) {
			if i == len(refs) {
				return ledger.Ref{}, false, nil
			}
			i++
			return refs[i-1], true, nil
		}, func(x ledger.Verdict) error { v = x; return nil })
		if err != nil || v.Allowed || v.Reason != ledger.ReasonRestricted {
			t.Fatalf("list check of a restricted person: %+v %v", v, err)
		}
		// No mail of any kind while restricted.
		if err := e.db.Write(ctx, func(tx *store.Tx) error {
			id, err := mail.Enqueue(tx, mail.Message{Template: "preference_link", Language: "en", PersonID: p.ID, To: "berg@example.com",
				Data: map[string]any{"Name": "x", "Controller": "Example Ltd", "PreferenceURL": "https://example.com/p/z"}})
			if err == nil && id != 0 {
				err = fmt.Errorf("mail %d queued for a restricted person", id)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := e.r.LiftRestriction(ctx, officer, p.ID, ""); code(err) != "validation" {
			t.Fatalf("lift without a reason: %v", err)
		}
		if err := e.r.LiftRestriction(ctx, officer, p.ID, "accuracy confirmed, person informed"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.l.UpdatePerson(ctx, officer, p.ID, ledger.PersonPatch{LastName: ptr("Borg")}); err != nil {
			t.Fatalf("edit after lifting: %v", err)
		}
		evs := must[[]audit.Event](t)(audit.List(ctx, e.db, audit.Filter{PersonID: p.ID}))
		var seen []string
		for _, ev := range evs {
			if strings.HasPrefix(ev.Action, "person.") && ev.Action != "person.create" && ev.Action != "person.update" {
				seen = append(seen, ev.Action+":"+ev.Payload.Reason)
			}
		}
		if strings.Join(seen, ",") != "person.unrestrict:accuracy confirmed, person informed,person.restrict:accuracy contested" {
			t.Fatalf("restriction audit: %v", seen)
		}
	})
}

func TestObjectionToDirectMarketingIsAbsolute(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		ctx := e.ctx
		p := must[*ledger.Person](t)(e.l.CreatePerson(ctx, officer, ledger.PersonInput{LastName: "Berg"}))
		must[*ledger.Purpose](t)(e.l.CreatePurpose(ctx, officer, ledger.PurposeInput{Key: "postal_ads", DefaultLegalBasis: ledger.LegitimateInterests,
			AllowedLegalBases: []ledger.LegalBasis{ledger.LegitimateInterests, ledger.Consent}, DPVPurpose: "https://w3id.org/dpv#DirectMarketing",
			BalancingTest: "existing customers expect catalogues", Texts: map[string]ledger.Text{"en": {Name: "Catalogues"}, "de": {Name: "Kataloge"}, "da": {Name: "Kataloger"}}}))
		for _, purpose := range []string{"postal_ads", "sales_service"} {
			must[*ledger.ConsentEvent](t)(e.l.RecordConsent(ctx, officer, ledger.ConsentInput{PersonID: p.ID, Purpose: purpose, Kind: ledger.Granted, LegalBasis: ledger.LegitimateInterests}))
			c, err := e.r.CreateRequest(ctx, officer, rights.RequestInput{PersonID: &p.ID, Type: rights.TypeObjection, Purpose: purpose})
			if err != nil {
				t.Fatal(err)
			}
			must[*rights.Request](t)(e.r.VerifyIdentity(ctx, officer, c.ID, "signed letter"))
			ev := must[*ledger.ConsentEvent](t)(e.r.Object(ctx, officer, c.ID, ""))
			if ev.Kind != ledger.Objected || ev.LegalBasis != ledger.LegitimateInterests {
				t.Fatalf("objection to %s: %+v", purpose, ev)
			}
			st := must[*ledger.ConsentState](t)(e.l.ConsentFor(ctx, p.ID, purpose))
			if st.Valid {
				t.Fatalf("%s still allowed after the objection", purpose)
			}
		}
		// Direct marketing: no grounds override it, only the person's consent.
		_, err := e.l.RecordConsent(ctx, officer, ledger.ConsentInput{PersonID: p.ID, Purpose: "postal_ads", Kind: ledger.Granted, LegalBasis: ledger.LegitimateInterests,
			Reason: "we have very compelling legitimate grounds indeed"})
		if code(err) != "objection-absolute" {
			t.Fatalf("overriding an objection to direct marketing: %v", err)
		}
		// A consent recorded by staff lifts it only with proof that it is the person's own.
		_, err = e.l.RecordConsent(ctx, officer, ledger.ConsentInput{PersonID: p.ID, Purpose: "postal_ads", Kind: ledger.Granted, LegalBasis: ledger.Consent})
		if code(err) != "objection-needs-own-consent" {
			t.Fatalf("a consent without proof lifted the objection to direct marketing: %v", err)
		}
		must[*ledger.ConsentEvent](t)(e.l.RecordConsent(ctx, officer, ledger.ConsentInput{PersonID: p.ID, Purpose: "postal_ads", Kind: ledger.Granted, LegalBasis: ledger.Consent,
			Source: ledger.SourceWebForm, Evidence: ledger.Evidence{Note: "signed up again on the catalogue form"}}))
		// Other purposes: only with compelling legitimate grounds written down.
		_, err = e.l.RecordConsent(ctx, officer, ledger.ConsentInput{PersonID: p.ID, Purpose: "sales_service", Kind: ledger.Granted, LegalBasis: ledger.LegitimateInterests})
		if code(err) != "objection-needs-grounds" {
			t.Fatalf("resuming without grounds: %v", err)
		}
		must[*ledger.ConsentEvent](t)(e.l.RecordConsent(ctx, officer, ledger.ConsentInput{PersonID: p.ID, Purpose: "sales_service", Kind: ledger.Granted,
			LegalBasis: ledger.LegitimateInterests, Reason: "legal claims pending: records needed for the court case"}))
	})
}

func TestLinkedRecordsImportFromCSV(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		ctx := e.ctx
		p := must[*ledger.Person](t)(e.l.CreatePerson(ctx, officer, ledger.PersonInput{LastName: "Berg", Emails: []string{"berg@example.com"}}))
		csv := "email,kind,occurred_at,subject,body,author\n" +
			"Berg@Example.com,call,2026-03-02,Called back,about the offer,Sam\n" +
			"berg@example.com,fax,2026-03-02,Fax,,Sam\n" +
			"nobody@example.com,note,2026-03-02,Note,,Sam\n" +
			"berg@example.com,meeting,02.03.2026,Visit,,Sam\n"
		rep, err := e.rec.Import(ctx, officer, records.ImportActivities, strings.NewReader(csv), false)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Rows != 4 || rep.Imported != 1 || len(rep.Rejected) != 3 || rep.Rejected[0].Line != 3 || !strings.Contains(rep.Rejected[0].Reason, "kind") ||
			!strings.Contains(rep.Rejected[1].Reason, "no person") || !strings.Contains(rep.Rejected[2].Reason, "occurred_at") {
			t.Fatalf("activities import: %+v", rep)
		}
		acts := must[[]records.Activity](t)(e.rec.Activities(ctx, p.ID))
		if len(acts) != 1 || acts[0].Author != "Sam" || acts[0].OccurredAt.Format("2006-01-02") != "2026-03-02" {
			t.Fatalf("activities: %+v", acts)
		}
		csv = "person_id,kind,number,issued_on,amount,currency,description\n" +
			"1,invoice,R-1,2026-01-31,119.00,eur,Consulting\n" +
			"1,invoice,R-2,2026-01-31,12.345,EUR,\n"
		rep, err = e.rec.Import(ctx, officer, records.ImportBusinessRecords, strings.NewReader(csv), true)
		if err != nil || rep.Imported != 1 || len(rep.Rejected) != 1 {
			t.Fatalf("dry run: %+v %v", rep, err)
		}
		if bs := must[[]records.BusinessRecord](t)(e.rec.BusinessRecords(ctx, p.ID)); len(bs) != 0 {
			t.Fatalf("a dry run stored %d records", len(bs))
		}
		must[*records.ImportReport](t)(e.rec.Import(ctx, officer, records.ImportBusinessRecords, strings.NewReader(csv), false))
		bs := must[[]records.BusinessRecord](t)(e.rec.BusinessRecords(ctx, p.ID))
		if len(bs) != 1 || bs[0].AmountCents != 11900 || bs[0].Currency != "EUR" {
			t.Fatalf("business records: %+v", bs)
		}
	})
}

func ptr[T any](v T) *T { return &v }
