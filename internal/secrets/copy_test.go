package secrets_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/outreach"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/secrets"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// Distinctive values: found in a copy of the database only if stored in
// clear (or in hex or base64 of it).
var sensitiveValues = []string{"ZQXNID-81729364", "ZQXIBAN99887766", "ZQXHEALTH hypertension", "ZQXOLD-55443322", "ZQXPASS-7788"}

const (
	markerName = "ZQXMARKERNAME"  // a person's first name: not sensitive
	markerNote = "ZQXMARKERNOTE1" // a custom field that is not sensitive
)

// forms are the encodings a value is searched for.
func forms(v string) [][]byte {
	return [][]byte{[]byte(v), []byte(hex.EncodeToString([]byte(v))), []byte(strings.ToUpper(hex.EncodeToString([]byte(v)))),
		[]byte(base64.StdEncoding.EncodeToString([]byte(v))), []byte(base64.RawURLEncoding.EncodeToString([]byte(v)))}
}

func findIn(data []byte, v string) bool {
	for _, f := range forms(v) {
		if bytes.Contains(data, f) {
			return true
		}
	}
	return false
}

// writeDistinctive stores the distinctive values through every path: a
// create, an update that replaces a value, a field marked sensitive
// later (its plaintext moved), an unmasking and a key rotation.
func writeDistinctive(t *testing.T, e *env) *ledger.Person {
	t.Helper()
	must[*ledger.CustomField](t)(e.l.CreateCustomField(e.ctx, officer, ledger.CustomField{Key: "note", Label: "Note", Type: "text"}))
	must[*ledger.CustomField](t)(e.l.CreateCustomField(e.ctx, officer, ledger.CustomField{Key: "passport", Label: "Passport", Type: "text"}))
	p := e.person(t, markerName, map[string]any{"note": markerNote, "national_id": "ZQXOLD-55443322", "bank_account": "ZQXIBAN99887766",
		"health_data": "ZQXHEALTH hypertension", "passport": "ZQXPASS-7788"})
	must[*ledger.Person](t)(e.l.UpdatePerson(e.ctx, officer, p.ID, ledger.PersonPatch{Custom: map[string]any{"national_id": "ZQXNID-81729364"}}))
	must[*ledger.CustomField](t)(e.l.MarkSensitive(e.ctx, officer, "passport", true))
	if err := e.s.RunJobs(e.ctx, secrets.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	must[string](t)(e.l.UnmaskSensitive(e.ctx, officer, p.ID, "national_id", "copy test"))
	must[*secrets.Job](t)(e.s.Rotate(e.ctx, officer))
	if err := e.s.RunJobs(e.ctx, secrets.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDatabaseCopyRevealsNoSensitiveValue copies the database (the SQLite
// file with its WAL as it is while running; a pg_dump) and searches the
// copy for the values: the markers in fields that are not sensitive are
// found, the sensitive values are not, in clear, hex or base64. The audit
// log of the copy, opened with the person keys it holds, has none either,
// and an instance on the copy with another master key cannot decrypt.
func TestDatabaseCopyRevealsNoSensitiveValue(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		p := writeDistinctive(t, e)
		var dump []byte
		copyDir := t.TempDir()
		if engine == storetest.SQLite {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				src := e.db.Path + suffix
				b, err := os.ReadFile(src)
				if errors.Is(err, os.ErrNotExist) {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				dump = append(dump, b...)
				if err := os.WriteFile(filepath.Join(copyDir, filepath.Base(src)), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if entries, _ := os.ReadDir(filepath.Dir(e.db.Path)); len(entries) == 0 {
				t.Fatal("no database files")
			}
		} else {
			if _, err := exec.LookPath("pg_dump"); err != nil {
				t.Skip("pg_dump not installed")
			}
			out, err := exec.Command("pg_dump", "--no-owner", "--dbname="+e.opts.DatabaseURL).Output()
			if err != nil {
				t.Fatalf("pg_dump: %v", err)
			}
			dump = out
		}
		if len(dump) < 10_000 {
			t.Fatalf("the copy has only %d bytes", len(dump))
		}
		for _, m := range []string{markerName, markerNote} {
			if !findIn(dump, m) {
				t.Fatalf("the search does not find the plaintext marker %s: it proves nothing", m)
			}
		}
		for _, v := range sensitiveValues {
			if findIn(dump, v) {
				t.Errorf("the copy reveals the sensitive value %q", v)
			}
		}

		// The copy opened as a database: its audit log (person keys
		// included) holds no sensitive value either.
		var cp *store.DB
		var err error
		if engine == storetest.SQLite {
			cp, err = store.Open(e.ctx, store.Options{DataDir: copyDir})
		} else {
			cp, err = store.Open(e.ctx, store.Options{DatabaseURL: e.opts.DatabaseURL}) // the dump restores to the same rows
		}
		if err != nil {
			t.Fatal(err)
		}
		defer cp.Close()
		evs := must[[]audit.Event](t)(audit.List(e.ctx, cp, audit.Filter{PersonID: p.ID, Limit: 500}))
		all, _ := json.Marshal(evs)
		if len(evs) < 3 || !strings.Contains(string(all), markerName) {
			t.Fatalf("the audit log of the copy was not read: %d events", len(evs))
		}
		for _, v := range sensitiveValues {
			// The passport was stored while the field was not yet
			// sensitive: the person events of that time keep it, sealed
			// under the person key (README: marking a field sensitive
			// protects its values from then on).
			if findIn(all, v) && v != "ZQXPASS-7788" {
				t.Errorf("the copy's audit log reveals %q", v)
			}
		}

		// Another instance on the copy with its own master key: the
		// keysets do not open; without a vault nothing is shown.
		other, _ := secrets.ParseMasterKey(secrets.NewMasterKey())
		if _, err := secrets.Open(e.ctx, cp, other, nil); !errors.Is(err, secrets.ErrWrongMasterKey) {
			t.Fatalf("a different master key opened the copy's keysets: %v", err)
		}
		blind := ledger.New(cp)
		q := must[*ledger.Person](t)(blind.Person(e.ctx, p.ID))
		shown, _ := json.Marshal(q)
		for _, v := range sensitiveValues {
			if findIn(shown, v) {
				t.Errorf("an instance without the key shows %q", v)
			}
		}
		if q.FirstName != markerName {
			t.Fatalf("the copy does not hold the person: %+v", q)
		}
		// With the right key the copy is a working backup.
		if engine == storetest.SQLite {
			right := must[*secrets.Service](t)(secrets.Open(e.ctx, cp, e.key, nil))
			got := must[map[int64]map[string]string](t)(right.Reveal(e.ctx, []int64{p.ID}))
			if got[p.ID]["national_id"] != "ZQXNID-81729364" || got[p.ID]["passport"] != "ZQXPASS-7788" {
				t.Fatalf("the backup with its master key: %v", got[p.ID])
			}
		}
	})
}

// TestPersonsOwnCopyHoldsTheirSensitiveValues: what goes to the person
// (the Art. 15 report staff download for them or e-mail to them, the Art.
// 20 export, the JSON download on their preference page) holds their IBAN,
// national id and other sensitive values in full (Art. 15(3): it is their
// copy), each disclosure audited without the values; what staff see on
// screen (the person as the ledger shows it, the report and export
// gathered for staff) stays masked. Level-3 erasure deletes the values.
func TestPersonsOwnCopyHoldsTheirSensitiveValues(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
		e := newEnv(t, engine)
		own := []string{"ZQXNID-81729364", "DE89 3704 0044 0532 0130 00", "ZQXHEALTH hypertension"}
		p := e.person(t, "Rita", map[string]any{"national_id": own[0], "bank_account": own[1], "health_data": own[2]})
		must[*ledger.Person](t)(e.l.UpdatePerson(e.ctx, officer, p.ID, ledger.PersonPatch{Emails: []string{"rita@example.org"}}))
		r := rights.New(e.l)

		// Staff screens: masked.
		var staff []byte
		shown := must[*ledger.Person](t)(e.l.Person(e.ctx, p.ID))
		j, _ := json.Marshal(shown)
		staff = append(staff, j...)
		j, _ = json.Marshal(must[*rights.Report](t)(r.PersonReport(e.ctx, p.ID)))
		staff = append(staff, j...)
		j, _ = json.Marshal(must[*rights.Portable](t)(r.PersonPortable(e.ctx, p.ID)))
		staff = append(staff, j...)
		for _, v := range own {
			if findIn(staff, v) {
				t.Errorf("a staff view shows %q", v)
			}
		}
		if !bytes.Contains(staff, []byte("••••9364")) {
			t.Fatal("the staff views do not show the masked value")
		}

		// The person's copies: in clear.
		access := must[*rights.Request](t)(r.CreateRequest(e.ctx, officer, rights.RequestInput{PersonID: &p.ID, Type: rights.TypeAccess}))
		must[*rights.Request](t)(r.VerifyIdentity(e.ctx, officer, access.ID, "ID card checked"))
		rep := must[*rights.Report](t)(r.Report(e.ctx, officer, access.ID, "json"))
		copies := map[string][]byte{}
		copies["report json"], _ = json.Marshal(rep)
		var html, xb bytes.Buffer
		if err := rep.WriteHTML(&html); err != nil {
			t.Fatal(err)
		}
		copies["report html"] = html.Bytes()
		if err := rep.WriteXLSX(&xb); err != nil {
			t.Fatal(err)
		}
		copies["report xlsx"] = xlsxText(t, &xb)
		port := must[*rights.Request](t)(r.CreateRequest(e.ctx, officer, rights.RequestInput{PersonID: &p.ID, Type: rights.TypePortability}))
		must[*rights.Request](t)(r.VerifyIdentity(e.ctx, officer, port.ID, "ID card checked"))
		x := must[*rights.Portable](t)(r.Portability(e.ctx, officer, port.ID, "csv"))
		copies["export json"], _ = json.Marshal(x)
		var csv bytes.Buffer
		if err := x.WriteCSV(&csv); err != nil {
			t.Fatal(err)
		}
		copies["export csv"] = csv.Bytes()
		self := must[*outreach.Export](t)(outreach.New(e.db, e.l, outreach.Config{}).ExportData(e.ctx, p.ID))
		copies["preference page download"], _ = json.Marshal(self)
		for name, b := range copies {
			for _, v := range own {
				if !bytes.Contains(b, []byte(v)) {
					t.Errorf("the person's %s lacks their own %q", name, v)
				}
			}
			if bytes.Contains(b, []byte("••••")) {
				t.Errorf("the person's %s shows masks", name)
			}
		}
		must[*rights.ReportEmail](t)(r.EmailReport(e.ctx, officer, access.ID))

		// Each disclosure to the person is in the audit log, naming the
		// fields, never their values.
		evs := must[[]audit.Event](t)(audit.List(e.ctx, e.db, audit.Filter{PersonID: p.ID, Action: "sensitive.disclose_to_subject"}))
		var reasons []string
		for _, ev := range evs {
			if ev.Payload == nil {
				t.Fatalf("a disclosure event without payload: %+v", ev)
			}
			reasons = append(reasons, ev.Payload.Reason)
			for _, v := range own {
				if strings.Contains(string(ev.Payload.After), v) {
					t.Errorf("the audit event of a disclosure holds the value %q", v)
				}
			}
			if !strings.Contains(string(ev.Payload.After), "bank_account") || !strings.Contains(string(ev.Payload.After), "national_id") {
				t.Errorf("the audit event does not name the fields: %s", ev.Payload.After)
			}
		}
		want := []string{"e-mailed to the person", "preference page", "Art. 20 export", "Art. 15 copy for access request"}
		if len(evs) != len(want) {
			t.Fatalf("%d disclosure events, want %d: %q", len(evs), len(want), reasons)
		}
		for i, w := range want { // newest first
			if !strings.Contains(reasons[i], w) {
				t.Errorf("disclosure %d: reason %q, want mention of %q", i, reasons[i], w)
			}
		}

		c := must[*rights.Request](t)(r.CreateRequest(e.ctx, officer, rights.RequestInput{PersonID: &p.ID, Type: rights.TypeErasure}))
		must[*rights.Request](t)(r.VerifyIdentity(e.ctx, officer, c.ID, "test"))
		if _, err := r.Erase(e.ctx, officer, c.ID, rights.LevelAnonymize, "request"); err != nil {
			t.Fatal(err)
		}
		var n int
		e.db.QueryRow(e.ctx, `SELECT COUNT(*) FROM person_secrets WHERE person_id = ?`, p.ID).Scan(&n)
		if n != 0 {
			t.Fatalf("%d encrypted values left after level-3 erasure", n)
		}
	})
}

func xlsxText(t *testing.T, r io.Reader) []byte {
	t.Helper()
	f, err := excelize.OpenReader(r)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, sh := range f.GetSheetList() {
		rows, _ := f.GetRows(sh)
		for _, row := range rows {
			out = append(out, strings.Join(row, "|")...)
			out = append(out, '\n')
		}
	}
	return out
}
