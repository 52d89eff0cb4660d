package rights_test

import (
	"testing"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/records"
	"github.com/consento/consento/internal/store"
)

// earlier are values richPerson had before: names, e-mail addresses,
// addresses, a phone number and a correction they asked for. Only their
// audit events (sealed) and the business records quoting them hold them.
var earlier = []string{"Wilhelmina", "Hartwig", "Oldenbarnevelt", "w.hartwig@example.org", "wilma.olden@example.net", "Grachtenweg",
	"Mühlenkamp", "SW1A 2AA", "D02 X285", "Zuidhorn", "Winsum", "Obergum", "5551234", "Korrekturgasse", "signup-wilhelmina"}

// fragmentsOnly is an invoice text that names earlier values only by
// single words: a last name alone, a street name alone.
const fragmentsOnly = "Note: Mrs OLDENBARNEVELT asked to deliver to the mühlenkamp entrance, invoice to Hartwig."

// pastLives gives person pid (richPerson) a history: two earlier names,
// addresses, e-mail addresses and phone numbers, changed back to the
// current ones, one change sent with an idempotency key naming them, a
// correction they asked for, and business records quoting all of it.
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
	if err := e.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(`INSERT INTO selfservice_requests (person_id, kind, payload, ip, user_agent, created_at) VALUES (?, 'rectification', ?, '198.51.100.23', 'Firefox', 1)`,
			pid, `{"FirstName":"Zebulon","Street":"Korrekturgasse 9"}`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for i, d := range []string{
		"Order shipped to Wilhelmina Hartwig, Grachtenweg 12, SW1A 2AA Zuidhorn, ref signup-wilhelmina",
		"Reminder sent to w.hartwig@example.org and WILMA.OLDEN@example.net, phone +31 50 5551234; new address Mühlenkamp 3a, D02 X285 Winsum-Obergum",
		fragmentsOnly,
		"Delivery to Korrekturgasse 9 as asked",
	} {
		must[*records.BusinessRecord](t)(e.rec.AddBusinessRecord(ctx, officer, records.BusinessRecordInput{PersonID: pid, Kind: "order",
			Number: "ORD-" + string(rune('A'+i)), IssuedOn: "2025-06-01", AmountCents: 10_00, Currency: "EUR", Description: d}))
	}
}
