package retention_test

import (
	"testing"

	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/retention"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// A person the erasure refuses inside the batch (a notice to a recipient
// about them still waiting to be sent) is skipped as "error"; the others
// of the same batch are anonymized.
func TestSweepSkipsWhomTheBatchRefuses(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		e.configure(t, 365, retention.ActionAnonymize)
		first := e.person(t, "First")
		waiting := e.person(t, "Waiting")
		last := e.person(t, "Last")
		pid := waiting
		c := must[*rights.Request](t)(e.r.CreateRequest(e.ctx, officer, rights.RequestInput{PersonID: &pid, Type: rights.TypeAccess, Details: "letter"}))
		must[*rights.Request](t)(e.r.VerifyIdentity(e.ctx, officer, c.ID, "ID card"))
		must[*rights.Request](t)(e.r.Complete(e.ctx, officer, c.ID, "answered"))
		e.exec(t, `INSERT INTO recipients (name, kind, email, created_at, created_by, updated_at, updated_by) VALUES ('Processor', 'processor', 'p@example.com', 1, 'x', 1, 'x')`)
		if err := e.db.Write(e.ctx, func(tx *store.Tx) error {
			id, err := mail.Enqueue(tx, mail.Message{Template: "preference_link", Language: "de", To: "p@example.com",
				Data: map[string]any{"Name": "Processor", "Controller": "Example GmbH", "PreferenceURL": "https://example.com/p/y"}})
			if err != nil {
				return err
			}
			_, err = tx.Exec(`INSERT INTO recipient_notices (request_id, recipient_id, action, outbox_id, notified_at, notified_by)
				VALUES (?, (SELECT MIN(id) FROM recipients), 'erasure', ?, 1, 'x')`, c.ID, id)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		rep := must[*retention.Report](t)(e.s.Run(e.ctx, officer, false))
		if rep.Anonymized != 2 || rep.Skipped != 1 || rep.Error != "" {
			t.Fatalf("sweep: %+v", rep.Sweep)
		}
		for _, p := range rep.Persons {
			if p.PersonID == waiting && (p.Outcome != "skipped" || p.Skip != "error") {
				t.Fatalf("the refused person: %+v", p)
			}
		}
		if e.status(t, waiting) != "active" || e.status(t, first) != "anonymized" || e.status(t, last) != "anonymized" {
			t.Fatalf("statuses: %s %s %s", e.status(t, first), e.status(t, waiting), e.status(t, last))
		}
	})
}
