package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/breach"
	"github.com/consento/consento/internal/i18n/i18ntest"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/records"
	"github.com/consento/consento/internal/retention"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// The privacy officer's pages — request cases, the erasure preview,
// self-service requests, breaches, retention, linked records, sensitive
// values, recipients and holiday calendars — show a German or Danish
// reader every value in their words: every case type and state, every
// breach state, status, entry kind and data category, retention rules and
// skip reasons, record and activity kinds, sensitive field names and
// recipient kinds; no catalogue key, no raw value, no English sentence.
func TestRightsPagesSpeakGermanAndDanish(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e, _ := newOutreachEnv(t, eng)
		ctx := context.Background()
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		sys := audit.System
		l, rs := e.ledger, rights.New(e.ledger)

		// Persons: one with every sensitive field, one restricted, one old.
		karl, err := l.CreatePerson(ctx, sys, ledger.PersonInput{FirstName: "Karl", LastName: "Sensibel", Emails: []string{"karl@example.com"}, Language: "de",
			Custom: map[string]any{"national_id": "DE-770011-4242", "health_data": "Pollenallergie", "bank_account": "DE89 3704 0044 0532 0130 00"}})
		must(err)
		ole, err := l.CreatePerson(ctx, sys, ledger.PersonInput{FirstName: "Ole", LastName: "Jensen", Emails: []string{"ole@example.dk"}, Language: "da"})
		must(err)
		old := store.Micros(time.Now().AddDate(0, 0, -800))
		must(e.db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(`UPDATE persons SET created_at = ?, updated_at = ? WHERE id IN (?, ?)`, old, old, e.person.ID, ole.ID)
			return err
		}))

		// A case of every type, in every state.
		cases := map[string]int64{}
		for _, typ := range rights.Types {
			in := rights.RequestInput{Type: typ, Channel: "staff", PersonID: &karl.ID, Country: "DE", Details: "Bitte um Bearbeitung"}
			if typ == rights.TypeObjection {
				in.Purpose = "e_marketing"
			}
			req, err := rs.CreateRequest(ctx, sys, in)
			must(err)
			cases[typ] = req.ID
		}
		for _, ch := range []string{"self_service", "api"} {
			_, err := rs.CreateRequest(ctx, sys, rights.RequestInput{Type: rights.TypeAccess, Channel: ch, RequesterEmail: "ole@example.dk", Country: "DK"})
			must(err)
		}
		for _, typ := range []string{"erasure", "objection", "access", "rectification", "restriction"} {
			_, err := rs.VerifyIdentity(ctx, sys, cases[typ], "Personalausweis")
			must(err)
		}
		_, err = rs.Start(ctx, sys, cases["objection"])
		must(err)
		_, err = rs.Extend(ctx, sys, cases["objection"], "Komplexe Anfrage mit vielen Systemen")
		must(err)
		_, err = rs.AddNote(ctx, sys, cases["objection"], "Rückruf vereinbart")
		must(err)
		_, err = rs.Complete(ctx, sys, cases["access"], "Auskunft erteilt")
		must(err)
		_, err = rs.Reject(ctx, sys, cases["rectification"], "Daten sind korrekt")
		must(err)

		// Recipients of every kind.
		ps, err := l.Purposes(ctx, false)
		must(err)
		for i, kind := range []string{"controller", "processor", "third_country"} {
			in := rights.RecipientInput{Name: "Empfänger " + strconv.Itoa(i), Kind: kind, Email: "r" + strconv.Itoa(i) + "@example.com", Language: "de", PurposeIDs: []int64{ps[0].ID}}
			if kind == "third_country" {
				in.Country = "US"
			}
			_, err := rs.CreateRecipient(ctx, sys, in)
			must(err)
		}

		// Linked records of every kind.
		rec := records.New(e.db)
		for _, k := range records.ActivityKinds {
			_, err := rec.AddActivity(ctx, sys, records.ActivityInput{PersonID: karl.ID, Kind: k, Subject: "Gespräch"})
			must(err)
		}
		for _, k := range []string{"invoice", "order"} {
			_, err := rec.AddBusinessRecord(ctx, sys, records.BusinessRecordInput{PersonID: karl.ID, Kind: k, Number: "R-1", IssuedOn: "2026-03-02", AmountCents: 123456, Currency: "EUR"})
			must(err)
		}
		for _, k := range []string{"colleague", "family"} {
			_, err := rec.AddRelationship(ctx, sys, records.RelationshipInput{PersonID: karl.ID, OtherID: ole.ID, Kind: k})
			must(err)
		}

		// Breaches in every state, with every entry kind and category.
		bs := breach.New(e.db)
		mk := func(title string, aware time.Duration, risk string) *breach.Breach {
			b, err := bs.Create(ctx, sys, breach.Input{Title: title, Description: "Beschreibung des Vorfalls", AwareAt: ptr(time.Now().Add(-aware)), Risk: risk,
				DataCategories: breach.DataCategories, SubjectCategories: breach.SubjectCategories, ApproxPersons: ptr(int64(1200)), ApproxRecords: ptr(int64(34000)),
				Consequences: "Phishing möglich", Measures: "Passwörter zurückgesetzt", DPOContact: "dsb@example.com"})
			must(err)
			return b
		}
		pending := mk("Offener Vorfall", 2*time.Hour, "high")
		_, err = bs.LinkPersons(ctx, sys, pending.ID, breach.LinkInput{PersonIDs: []int64{karl.ID, ole.ID, e.person.ID}})
		must(err)
		_, err = bs.NotifyPersons(ctx, sys, pending.ID)
		must(err)
		for _, k := range breach.ManualEntryKinds {
			_, err := bs.AddEntry(ctx, sys, pending.ID, breach.EntryInput{Kind: k, Body: "Eintrag"})
			must(err)
		}
		mk("Überfälliger Vorfall", 80*time.Hour, "risk")
		inTime := mk("Rechtzeitig gemeldet", 10*time.Hour, "risk")
		_, err = bs.RecordAuthority(ctx, sys, inTime.ID, breach.AuthorityInput{Authority: "LfDI", Reference: "A-17"})
		must(err)
		late := mk("Verspätet gemeldet", 100*time.Hour, "risk")
		_, err = bs.RecordAuthority(ctx, sys, late.ID, breach.AuthorityInput{Authority: "Datatilsynet", LateReason: "Erst bei der Inventur entdeckt"})
		must(err)
		none := mk("Nicht meldepflichtig", 5*time.Hour, "none")
		_, err = bs.RecordAuthority(ctx, sys, none.ID, breach.AuthorityInput{Decision: "not_notified", Reason: "Daten waren verschlüsselt"})
		must(err)
		_, err = bs.Update(ctx, sys, none.ID, breach.Input{Title: none.Title, Description: none.Description, AwareAt: &none.AwareAt, Risk: "risk"})
		must(err)
		closed := mk("Abgeschlossen", 5*time.Hour, "risk")
		_, err = bs.Update(ctx, sys, closed.ID, breach.Input{Title: closed.Title, Description: closed.Description, AwareAt: &closed.AwareAt, Risk: "risk", Status: "closed"})
		must(err)

		oleCase, err := rs.CreateRequest(ctx, sys, rights.RequestInput{Type: rights.TypeRestriction, Channel: "staff", PersonID: &ole.ID, Country: "DK"})
		must(err)
		_, err = rs.VerifyIdentity(ctx, sys, oleCase.ID, "MitID")
		must(err)
		_, err = rs.Restrict(ctx, sys, oleCase.ID, "Bestreitet die Richtigkeit")
		must(err)

		// Retention: a dry run and a sweep that skips Ole (restricted) and
		// Karl (open case) and anonymizes Grete.
		ret := retention.New(l, "test")
		_, err = ret.SaveSettings(ctx, sys, retention.Settings{InactiveDays: 365, Action: "anonymize"})
		must(err)
		must(ret.SetRetainUntil(ctx, sys, karl.ID, time.Now().AddDate(0, 0, -3).Format("2006-01-02"), "Vertragsende"))
		_, err = ret.Run(ctx, sys, true)
		must(err)

		// Self-service requests of both kinds.
		must(e.db.Write(ctx, func(tx *store.Tx) error {
			now := store.Micros(time.Now())
			if _, err := tx.Exec(`INSERT INTO selfservice_requests (person_id, kind, payload, status, ip, user_agent, created_at) VALUES (?, 'erasure', '{}', 'open', '', '', ?)`, ole.ID, now); err != nil {
				return err
			}
			_, err := tx.Exec(`INSERT INTO selfservice_requests (person_id, kind, payload, status, ip, user_agent, created_at) VALUES (?, 'rectification', ?, 'open', '', '', ?)`,
				ole.ID, `{"FirstName":"Ole","LastName":"Jensen","City":"Aarhus","Country":"DK","Language":"da"}`, now)
			return err
		}))

		for _, lang := range []string{"de", "da"} {
			b, u := e.user(auth.RoleAdmin, lang)
			if code := b.login(u.Email, password); code != http.StatusSeeOther {
				t.Fatalf("login: %d", code)
			}
			token := b.csrf("/requests")
			get := func(path string) string {
				t.Helper()
				code, body, _ := b.do("GET", path, nil)
				if code != http.StatusOK {
					t.Fatalf("%s %s: %d", lang, path, code)
				}
				return body
			}
			pages := map[string]string{}
			for _, st := range []string{"open", "overdue", "due_soon", "closed", "all"} {
				pages["requests?state="+st] = get("/requests?state=" + st)
			}
			for typ, id := range cases {
				pages["case "+typ] = get("/requests/" + itoa(id) + "?done=verify")
			}
			pages["case restricted"] = get("/requests/" + itoa(oleCase.ID))
			for _, lvl := range []string{"1", "2", "3"} {
				pages["erasure preview "+lvl] = get("/requests/" + itoa(cases["erasure"]) + "/erasure?level=" + lvl)
			}
			pages["self-service requests"] = get("/selfservice-requests")
			for _, f := range []string{"open", "closed", "all"} {
				pages["breaches "+f] = get("/breaches?status=" + f)
			}
			for _, br := range []*breach.Breach{pending, inTime, late, none, closed} {
				pages["breach "+br.Title] = get("/breaches/" + itoa(br.ID) + "?done=notified&mailed=2")
			}
			pages["retention"] = get("/retention?preview=1&saved=1")
			pages["records"] = get("/contacts/" + itoa(karl.ID) + "/records?done=1")
			pages["sensitive search"] = get("/contacts/sensitive-search")
			code, body, _ := b.do("POST", "/contacts/sensitive-search", url.Values{"csrf": {token}, "field": {"national_id"}, "value": {"DE-770011-4242"}})
			if code != 200 {
				t.Fatalf("%s sensitive search: %d", lang, code)
			}
			pages["sensitive results"] = body
			for _, f := range []string{"national_id", "health_data", "bank_account"} {
				code, body, _ := b.do("POST", "/contacts/"+itoa(karl.ID)+"/sensitive", url.Values{"csrf": {token}, "field": {f}, "reason": {"Anruf des Kunden, Ticket 881"}})
				if code != 200 {
					t.Fatalf("%s unmask %s: %d", lang, f, code)
				}
				pages["sensitive value "+f] = body
			}
			code, body, _ = b.do("POST", "/contacts/"+itoa(karl.ID)+"/sensitive", url.Values{"csrf": {token}, "field": {"national_id"}, "reason": {""}})
			if code != http.StatusUnprocessableEntity {
				t.Fatalf("%s unmask without reason: %d", lang, code)
			}
			pages["sensitive value refused"] = body
			pages["recipients"] = get("/settings/recipients")
			pages["holidays"] = get("/settings/holidays?country=DE&region=DE-BY&year=2026")
			// Problems: a bad form, a missing page, a refused step.
			for what, req := range map[string]struct {
				method, path string
				form         url.Values
			}{
				"error: bad person id":        {"POST", "/requests", url.Values{"csrf": {token}, "type": {"access"}, "person_id": {"x"}}},
				"error: not found":            {"GET", "/requests/999999", nil},
				"error: refused step":         {"POST", "/requests/" + itoa(cases["access"]) + "/complete", url.Values{"csrf": {token}, "outcome": {"noch einmal"}}},
				"error: breach bad number":    {"POST", "/breaches/" + itoa(pending.ID), url.Values{"csrf": {token}, "title": {"x"}, "description": {"x"}, "aware_at": {"2026-01-01T10:00"}, "approx_persons": {"viele"}}},
				"error: breach future":        {"POST", "/breaches", url.Values{"csrf": {token}, "title": {"x"}, "description": {"x"}, "aware_at": {time.Now().UTC().Add(3 * time.Hour).Format("2006-01-02T15:04")}}},
				"error: retention bad days":   {"POST", "/retention/settings", url.Values{"csrf": {token}, "inactive_days": {"ein Jahr"}, "action": {"anonymize"}}},
				"error: retention bad action": {"POST", "/retention/settings", url.Values{"csrf": {token}, "inactive_days": {"365"}, "action": {"schreddern"}}},
				"error: recipient incomplete": {"POST", "/settings/recipients", url.Values{"csrf": {token}, "name": {"Cloud Inc"}, "kind": {"third_country"}, "email": {"c@example.com"}, "language": {"en"}}},
			} {
				code, body, _ := b.do(req.method, req.path, req.form)
				if code < 400 {
					t.Fatalf("%s %s: %d", lang, what, code)
				}
				pages[what] = body
			}
			for what, body := range pages {
				if dir := os.Getenv("CONSENTO_DUMP"); dir != "" && eng == storetest.SQLite {
					os.WriteFile(filepath.Join(dir, lang+" "+strings.ReplaceAll(what, "/", "_")+".txt"), []byte(strings.Join(strings.Fields(i18ntest.VisibleText(body)), " ")), 0o644)
				}
				i18ntest.Check(t, lang, what+", "+lang, i18ntest.VisibleText(body),
					// Typed by users in this test.
					"Cloud Inc")
			}
		}
	})
}
