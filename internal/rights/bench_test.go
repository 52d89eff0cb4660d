package rights_test

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/records"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// seedLinked gives a new person n linked records: activities, or with
// invoices every tenth record a business record instead.
func seedLinked(b *testing.B, e *env, n int, invoices bool) *ledger.Person {
	b.Helper()
	p, err := e.l.CreatePerson(e.ctx, officer, ledger.PersonInput{FirstName: "Bente", LastName: "Benchmark", Emails: []string{fmt.Sprintf("bente%d@example.com", time.Now().UnixNano())},
		Phones: []ledger.Phone{{Number: "+45 12 34 56 78"}}, Address: ledger.Address{Street: "Vestergade 1", City: "Aarhus"}, Language: "da"})
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC)
	err = e.db.WriteAlone(e.ctx, func(tx *store.Tx) error {
		for i := range n {
			when := at.Add(time.Duration(i) * time.Hour)
			if invoices && i%10 == 9 {
				if _, err := tx.Exec(`INSERT INTO business_records (person_id, kind, number, issued_on, amount_cents, currency, description, created_at, created_by) VALUES (?, 'invoice', ?, '2024-01-01', 1000, 'EUR', 'Service for Bente Benchmark', 0, 'user:1')`,
					p.ID, fmt.Sprintf("R-%d-%d", p.ID, i)); err != nil {
					return err
				}
				continue
			}
			if _, err := e.rec.AddActivityTx(tx, officer, records.ActivityInput{PersonID: p.ID, Kind: "call", Subject: fmt.Sprintf("Call %d with Bente about the renewal", i),
				Body: "Talked about the offer and the delivery date; she asked for a written summary.", OccurredAt: &when}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func benchEnv(b *testing.B, engine storetest.Engine) *env {
	b.Helper()
	return newEnvTB(b, engine)
}

// BenchmarkReportPDF10kActivities is the Art. 15 report of a person with
// 10,000 activities: gathering everything, then the PDF.
func BenchmarkReportPDF10kActivities(b *testing.B) {
	for _, engine := range []storetest.Engine{storetest.SQLite, storetest.Postgres} {
		b.Run(string(engine), func(b *testing.B) {
			e := benchEnv(b, engine)
			p := seedLinked(b, e, 10_000, false)
			b.ResetTimer()
			for range b.N {
				rep, err := e.r.PersonReport(e.ctx, p.ID)
				if err != nil {
					b.Fatal(err)
				}
				if len(rep.Activities) != 10_000 {
					b.Fatalf("%d activities", len(rep.Activities))
				}
				if err := rep.WritePDF(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkErasureLevel3With10kRecords anonymizes a person with 10,000
// linked records (9,000 activities with their audit events, 1,000
// invoices), the SQLite checkpoint included.
func BenchmarkErasureLevel3With10kRecords(b *testing.B) {
	for _, engine := range []storetest.Engine{storetest.SQLite, storetest.Postgres} {
		b.Run(string(engine), func(b *testing.B) {
			e := benchEnv(b, engine)
			for range b.N {
				b.StopTimer()
				p := seedLinked(b, e, 10_000, true)
				r, err := e.r.CreateRequest(e.ctx, officer, rights.RequestInput{PersonID: &p.ID, Type: rights.TypeErasure})
				if err == nil {
					_, err = e.r.VerifyIdentity(e.ctx, officer, r.ID, "bench")
				}
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := e.r.Erase(e.ctx, officer, r.ID, rights.LevelAnonymize, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
