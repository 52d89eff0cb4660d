package importer_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/consento/consento/internal/importer"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
)

// FuzzImport runs a dry-run import of any bytes against one SQLite
// database: it never panics; an error (empty file, broken header, columns
// that cannot be mapped) comes before any row and reads cleanly; every
// row read is counted once, as created or rejected; each rejected row is
// in the rejects file with a line of the input; the mapping lists every
// column; and nothing is written.
func FuzzImport(f *testing.F) {
	l := ledger.New(storetest.Open(f, storetest.SQLite))
	ctx := context.Background()
	if err := l.Seed(ctx); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"first_name,last_name,email,consent:e_marketing,consent_date:e_marketing\nAnna,Berg,anna@example.com,granted,2024-03-01\nBen,Kohl,ben@example,withdrawn,\n",
		"name,last_name,email\nAcme,Berg,a@example.com\n",
		"Vorname;Nachname;E-Mail\nAnna;Berg;\"a@example.com\nBen;Kohl;b@example.com\n",
		"\ufeffemail\tlast_name\r\nx@example.com\t\"Qu\"ote\"\r\n",
		"email\n\"unterminated\n",
		"email,last_name\na@example.com,A\x00B\nb@example.com,\xff\xfe\n",
		"email,email\na@example.com,b@example.com\n",
		"consent:nope\ngranted\n",
		"",
		"email\n" + strings.Repeat("x", 5000) + "@example.com\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var rejects bytes.Buffer
		rep, err := importer.Run(ctx, l, bytes.NewReader(data), importer.Options{DryRun: true, Rejects: &rejects, BatchSize: 8})
		if err != nil {
			if rep.RowsRead != 0 || !utf8.ValidString(err.Error()) || strings.Contains(err.Error(), "goroutine") {
				t.Fatalf("error after %d rows: %v", rep.RowsRead, err)
			}
			return
		}
		if !rep.RolledBack {
			t.Fatal("a dry run was not rolled back")
		}
		if rep.RowsRead != rep.Created+rep.Updated+rep.Unchanged+rep.Rejected {
			t.Fatalf("rows do not add up: %+v", rep)
		}
		var byReason int64
		for _, n := range rep.RejectReasons {
			byReason += n
		}
		if byReason != rep.Rejected {
			t.Fatalf("reasons %v for %d rejected rows", rep.RejectReasons, rep.Rejected)
		}
		ignored := 0
		for i, m := range rep.Mapping {
			if m.Position != i+1 || (m.Field == "") != (m.By == "") {
				t.Fatalf("mapping %+v", rep.Mapping)
			}
			if m.Field == "" {
				ignored++
			} else if rep.Columns[m.Field] != m.Column {
				t.Fatalf("column %q is %s in the mapping but %q in the columns", m.Column, m.Field, rep.Columns[m.Field])
			}
		}
		if ignored != len(rep.Ignored) {
			t.Fatalf("mapping ignores %d columns, the report %d", ignored, len(rep.Ignored))
		}
		if rep.Rejected > 0 {
			cr := csv.NewReader(&rejects)
			cr.Comma, _ = utf8.DecodeRuneInString(rep.Delimiter)
			cr.FieldsPerRecord = -1
			recs, err := cr.ReadAll()
			if err != nil || int64(len(recs)) != rep.Rejected+1 {
				t.Fatalf("rejects file: %d records, %v, for %d rejected rows", len(recs), err, rep.Rejected)
			}
			lines := bytes.Count(data, []byte{'\n'}) + bytes.Count(data, []byte{'\r'}) + 1
			prev := 1
			for _, r := range recs[1:] {
				n, err := strconv.Atoi(r[0])
				if err != nil || n <= prev || n > lines || r[1] == "" {
					t.Fatalf("rejected row at line %q (after %d, of %d) with reason %q", r[0], prev, lines, r[1])
				}
				prev = n
			}
		}
		var persons int
		if err := l.DB().QueryRow(ctx, `SELECT COUNT(*) FROM persons`).Scan(&persons); err != nil || persons != 0 {
			t.Fatalf("the dry run left %d persons (%v)", persons, err)
		}
	})
}
