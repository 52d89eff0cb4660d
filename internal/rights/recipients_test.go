package rights_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// purposeIDs maps the seeded purposes' keys to their ids.
func (e *env) purposeIDs(t *testing.T) map[string]int64 {
	t.Helper()
	ps := must[[]*ledger.Purpose](t)(e.l.Purposes(e.ctx, true))
	out := map[string]int64{}
	for _, p := range ps {
		out[p.Key] = p.ID
	}
	return out
}

// otherPurpose creates a purpose richPerson holds no record for.
func (e *env) otherPurpose(t *testing.T) int64 {
	t.Helper()
	p := must[*ledger.Purpose](t)(e.l.CreatePurpose(e.ctx, officer, ledger.PurposeInput{Key: "postal_ads", DefaultLegalBasis: ledger.LegitimateInterests,
		AllowedLegalBases: []ledger.LegalBasis{ledger.LegitimateInterests}, BalancingTest: "existing customers expect catalogues",
		Texts: map[string]ledger.Text{"en": {Name: "Catalogues"}, "de": {Name: "Kataloge"}, "da": {Name: "Kataloger"}}}))
	return p.ID
}

func (e *env) auditCount(t *testing.T, action string) int {
	t.Helper()
	var n int
	if err := e.db.QueryRow(e.ctx, `SELECT COUNT(*) FROM audit_events WHERE action = ?`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRecipientRegister(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		ctx := e.ctx
		ids := e.purposeIDs(t)
		for _, c := range []struct {
			in   rights.RecipientInput
			code string
		}{
			{rights.RecipientInput{Name: "", Kind: "processor", Email: "dpa@mailer.example"}, "validation"},
			{rights.RecipientInput{Name: "Mailer", Kind: "friend", Email: "dpa@mailer.example"}, "validation"},
			{rights.RecipientInput{Name: "Mailer", Kind: "processor", Email: "not an address"}, "validation"},
			{rights.RecipientInput{Name: "Mailer", Kind: "third_country", Email: "dpa@mailer.example"}, "validation"},
			{rights.RecipientInput{Name: "Mailer", Kind: "processor", Email: "dpa@mailer.example", Country: "Germany"}, "validation"},
			{rights.RecipientInput{Name: "Mailer", Kind: "processor", Email: "dpa@mailer.example", Language: "fr"}, "validation"},
			{rights.RecipientInput{Name: "Mailer", Kind: "processor", Email: "dpa@mailer.example", PurposeIDs: []int64{999999}}, "validation"},
		} {
			if _, err := e.r.CreateRecipient(ctx, officer, c.in); code(err) != c.code {
				t.Errorf("%+v: got %v, want %s", c.in, err, c.code)
			}
		}
		if all := must[[]*rights.Recipient](t)(e.r.Recipients(ctx, false)); len(all) != 0 {
			t.Fatalf("refused input was stored: %+v", all)
		}
		r := must[*rights.Recipient](t)(e.r.CreateRecipient(ctx, officer, rights.RecipientInput{Name: " Mailer GmbH ", Kind: rights.KindProcessor,
			Email: "DPA@Mailer.example", Country: "de", PurposeIDs: []int64{ids["e_marketing"], ids["e_marketing"]}}))
		if r.Name != "Mailer GmbH" || r.Email != "dpa@mailer.example" || r.Country != "DE" || r.Language != "en" || !r.Active ||
			len(r.Purposes) != 1 || r.Purposes[0] != "e_marketing" {
			t.Fatalf("created: %+v", r)
		}
		off := false
		r = must[*rights.Recipient](t)(e.r.UpdateRecipient(ctx, officer, r.ID, rights.RecipientInput{Name: "Mailer GmbH", Kind: rights.KindThirdCountry,
			Email: "dpa@mailer.example", Country: "US", Language: "de", PurposeIDs: []int64{ids["sales_service"]}}))
		if r.Kind != rights.KindThirdCountry || r.Country != "US" || r.Language != "de" || !r.Active || strings.Join(r.Purposes, ",") != "sales_service" {
			t.Fatalf("updated: %+v", r)
		}
		r = must[*rights.Recipient](t)(e.r.SetRecipientActive(ctx, officer, r.ID, off))
		if r.Active {
			t.Fatal("still active")
		}
		if act := must[[]*rights.Recipient](t)(e.r.Recipients(ctx, true)); len(act) != 0 {
			t.Fatalf("inactive recipient listed as active: %+v", act)
		}
		if _, err := e.r.UpdateRecipient(ctx, officer, 424242, rights.RecipientInput{Name: "X", Kind: "processor", Email: "x@example.com"}); code(err) != "unknown-recipient" {
			t.Fatalf("unknown recipient: %v", err)
		}
		for _, a := range []string{"recipient.create", "recipient.update", "recipient.deactivate"} {
			if n := e.auditCount(t, a); n != 1 {
				t.Errorf("%d audit events %s", n, a)
			}
		}
	})
}

func TestReportListsRecipientsOfThePersonsPurposes(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		ctx := e.ctx
		ids := e.purposeIDs(t)
		p, _ := e.richPerson(t)
		must[*rights.Recipient](t)(e.r.CreateRecipient(ctx, officer, rights.RecipientInput{Name: "Newsletter Mailer GmbH", Kind: rights.KindProcessor,
			Email: "dpa@mailer.example", Country: "DE", PurposeIDs: []int64{ids["e_marketing"]}}))
		must[*rights.Recipient](t)(e.r.CreateRecipient(ctx, officer, rights.RecipientInput{Name: "Unrelated Analytics Inc", Kind: rights.KindThirdCountry,
			Email: "privacy@analytics.example", Country: "US", PurposeIDs: []int64{e.otherPurpose(t)}}))
		gone := must[*rights.Recipient](t)(e.r.CreateRecipient(ctx, officer, rights.RecipientInput{Name: "Former Printer KG", Kind: rights.KindProcessor,
			Email: "info@printer.example", PurposeIDs: []int64{ids["sales_service"]}}))
		must[*rights.Recipient](t)(e.r.SetRecipientActive(ctx, officer, gone.ID, false))

		c := e.verifiedCase(t, p.ID, rights.TypeAccess)
		rep := must[*rights.Report](t)(e.r.Report(ctx, officer, c.ID, "json"))
		if len(rep.Recipients) != 1 || rep.Recipients[0].Name != "Newsletter Mailer GmbH" || rep.Recipients[0].Kind != rights.KindProcessor ||
			strings.Join(rep.Recipients[0].Purposes, ",") != "e_marketing" {
			t.Fatalf("recipients: %+v", rep.Recipients)
		}
		for _, format := range []string{"json", "html", "xlsx"} {
			b, _, err := rep.Render(format)
			if err != nil {
				t.Fatal(err)
			}
			if format == "xlsx" {
				f, err := excelize.OpenReader(bytes.NewReader(b))
				if err != nil {
					t.Fatal(err)
				}
				rows, _ := f.GetRows("Ihre Daten")
				f.Close()
				var cell string
				for _, r := range rows {
					if len(r) > 1 && r[0] == "Empfänger" {
						cell = r[1]
					}
				}
				if cell != "Newsletter Mailer GmbH (Auftragsverarbeiter, DE): E-Marketing" {
					t.Fatalf("xlsx recipients: %q", cell)
				}
				continue
			}
			if !bytes.Contains(b, []byte("Newsletter Mailer GmbH")) {
				t.Errorf("%s lacks the recipient", format)
			}
			if bytes.Contains(b, []byte("Unrelated Analytics")) || bytes.Contains(b, []byte("Former Printer")) {
				t.Errorf("%s lists a recipient that receives none of the person's data", format)
			}
		}
		if format := "html"; true {
			b, _, _ := rep.Render(format)
			if !bytes.Contains(b, []byte("Auftragsverarbeiter")) {
				t.Error("the kind of recipient is not named in the person's language")
			}
		}
	})
}

func TestNotifyRecipients(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		ctx := e.ctx
		ids := e.purposeIDs(t)
		p, _ := e.richPerson(t)
		mailer := must[*rights.Recipient](t)(e.r.CreateRecipient(ctx, officer, rights.RecipientInput{Name: "Newsletter Mailer GmbH", Kind: rights.KindProcessor,
			Email: "dpa@mailer.example", Language: "de", PurposeIDs: []int64{ids["e_marketing"]}}))
		must[*rights.Recipient](t)(e.r.CreateRecipient(ctx, officer, rights.RecipientInput{Name: "Unrelated Analytics Inc", Kind: rights.KindThirdCountry,
			Email: "privacy@analytics.example", Country: "US", PurposeIDs: []int64{e.otherPurpose(t)}}))

		// Not before the identity check, not for other request types.
		open := must[*rights.Request](t)(e.r.CreateRequest(ctx, officer, rights.RequestInput{PersonID: &p.ID, Type: rights.TypeRectification}))
		if _, err := e.r.NotifyRecipients(ctx, officer, open.ID); code(err) != "identity-not-verified" {
			t.Fatalf("before verification: %v", err)
		}
		access := e.verifiedCase(t, p.ID, rights.TypeAccess)
		if _, err := e.r.NotifyRecipients(ctx, officer, access.ID); code(err) != "wrong-request-type" {
			t.Fatalf("access request: %v", err)
		}

		// The person is restricted: they get no mail, the recipients do.
		c := e.verifiedCase(t, p.ID, rights.TypeRestriction)
		must[*rights.Request](t)(e.r.Restrict(ctx, officer, c.ID, "accuracy contested"))
		ns := must[[]rights.Notice](t)(e.r.NotifyRecipients(ctx, officer, c.ID))
		if len(ns) != 1 || ns[0].RecipientID != mailer.ID || ns[0].Action != rights.TypeRestriction || ns[0].OutboxID == nil {
			t.Fatalf("notices: %+v", ns)
		}
		m, err := mail.Get(ctx, e.db, *ns[0].OutboxID)
		if err != nil {
			t.Fatal(err)
		}
		if m.To != "dpa@mailer.example" || m.PersonID != 0 || m.Template != rights.NoticeTemplate || m.Status != "queued" || m.Language != "de" {
			t.Fatalf("outbox: %+v", m)
		}
		for _, want := range []string{"Zebulon Quixotefield", "zebulon.q@example.org", "Einschränkung", "Art. 18", "Newsletter Mailer GmbH"} {
			if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, want) {
				t.Errorf("notice lacks %q:\n%s", want, m.Text)
			}
		}
		if !strings.Contains(m.Subject, "Art. 19") {
			t.Errorf("subject: %q", m.Subject)
		}
		all, err := mail.List(ctx, e.db, "", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range all {
			if x.To == "privacy@analytics.example" {
				t.Error("a recipient that receives none of the person's data was notified")
			}
		}
		if _, err := e.r.NotifyRecipients(ctx, officer, c.ID); code(err) != "already-notified" {
			t.Fatalf("second notice: %v", err)
		}
		if after, _ := mail.List(ctx, e.db, "", 0, 100); len(after) != len(all) {
			t.Fatal("a second notice was queued")
		}
		listed := must[[]rights.Notice](t)(e.r.Notices(ctx, c.ID))
		if len(listed) != 1 || listed[0].Recipient != "Newsletter Mailer GmbH" || listed[0].NotifiedBy != officer.String() {
			t.Fatalf("listed: %+v", listed)
		}
		if n := e.auditCount(t, "request.notify_recipients"); n != 1 {
			t.Fatalf("%d audit events", n)
		}
	})
}

func TestErasureAfterNoticeLeavesNothingBehind(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		ctx := e.ctx
		ids := e.purposeIDs(t)
		p, _ := e.richPerson(t)
		must[*rights.Recipient](t)(e.r.CreateRecipient(ctx, officer, rights.RecipientInput{Name: "Newsletter Mailer GmbH", Kind: rights.KindProcessor,
			Email: "dpa@mailer.example", PurposeIDs: []int64{ids["e_marketing"]}}))
		c := e.verifiedCase(t, p.ID, rights.TypeErasure)
		ns := must[[]rights.Notice](t)(e.r.NotifyRecipients(ctx, officer, c.ID))
		m, err := mail.Get(ctx, e.db, *ns[0].OutboxID)
		if err != nil || !strings.Contains(m.Text, "Zebulon Quixotefield") || !strings.Contains(m.Text, "erase all personal data") {
			t.Fatalf("erasure notice: %v\n%s", err, m.Text)
		}
		// A notice not yet sent holds anonymization back.
		if _, err := e.r.Erase(ctx, officer, c.ID, rights.LevelAnonymize, "request by letter"); code(err) != "notices-pending" {
			t.Fatalf("erasure with a queued notice: %v", err)
		}
		if err := e.db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(`UPDATE mail_outbox SET status = 'sent' WHERE id = ?`, *ns[0].OutboxID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		plan := must[*rights.ErasurePlan](t)(e.r.PreviewErasure(ctx, c.ID, rights.LevelAnonymize))
		var inPlan bool
		for _, ch := range plan.Changes {
			inPlan = inPlan || (ch.Key == "recipient_notices" && ch.Count == 1 && ch.Action == "delete")
		}
		if !inPlan {
			t.Errorf("the preview does not list the notice: %+v", plan.Changes)
		}
		if _, err := e.r.Erase(ctx, officer, c.ID, rights.LevelAnonymize, "request by letter"); err != nil {
			t.Fatal(err)
		}
		if left := found(e.haystack(t), secrets); len(left) > 0 {
			t.Fatalf("after level-3 erasure the %s store still holds %v", engine, left)
		}
		listed := must[[]rights.Notice](t)(e.r.Notices(ctx, c.ID))
		if len(listed) != 1 || listed[0].Recipient != "Newsletter Mailer GmbH" {
			t.Fatalf("the case no longer shows whom it notified: %+v", listed)
		}
	})
}
