package records

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
)

// FuzzImport runs dry-run imports of activities and business records
// from any bytes against one SQLite database: bad files are validation
// errors naming the line, never a panic or another error; every row is
// imported or rejected with a line of the input, in order.
func FuzzImport(f *testing.F) {
	db := storetest.Open(f, storetest.SQLite)
	ctx := context.Background()
	l := ledger.New(db)
	if err := l.Seed(ctx); err != nil {
		f.Fatal(err)
	}
	if _, err := l.CreatePerson(ctx, audit.System, ledger.PersonInput{LastName: "Berg", Emails: []string{"anna@example.com"}}); err != nil {
		f.Fatal(err)
	}
	s := New(db)
	for _, c := range []string{
		"email,kind,occurred_at,subject\nanna@example.com,note,2026-01-02,Met at the fair\nanna@example.com,fax,x,y\n",
		"person_id,kind,number,issued_on,amount,currency\n1,order,O-1,2026-01-02,5.00,EUR\n1,invoice,R-1,1.3.2026,5,EUR\n",
		"email,kind,subject\nanna@example.com,call,\"Called\nanna@example.com,call,x\n",
		"\ufeff\"email\",kind\r\nanna@example.com,ca\"ll\r\n",
		"email,kind,subject\nanna@example.com,note,A\x00B\nanna@example.com,note,\xff\n",
		"person_id,amount\n-1,99999999999999999999\n0,1.234\n",
		"",
	} {
		f.Add([]byte(c), false)
		f.Add([]byte(c), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, business bool) {
		kind := ImportActivities
		if business {
			kind = ImportBusinessRecords
		}
		rep, err := s.Import(ctx, audit.System, kind, bytes.NewReader(data), true)
		if err != nil {
			de, ok := ledger.AsError(err)
			if !ok || de.Kind != ledger.KindInvalid || len(de.Fields) != 1 || de.Fields[0].Field != "file" || !utf8.ValidString(de.Message) {
				t.Fatalf("not a clean validation error: %v", err)
			}
			if strings.HasPrefix(de.Message, "the CSV file, ") && !strings.HasPrefix(de.Message, "the CSV file, line ") {
				t.Fatalf("a syntax error without its line: %q", de.Message)
			}
			return
		}
		if rep.Imported+len(rep.Rejected) != rep.Rows {
			t.Fatalf("%d rows, %d imported, %d rejected", rep.Rows, rep.Imported, len(rep.Rejected))
		}
		lines := bytes.Count(data, []byte{'\n'}) + bytes.Count(data, []byte{'\r'}) + 1
		prev := 1
		for _, r := range rep.Rejected {
			if r.Line <= prev || r.Line > lines || r.Reason == "" || !utf8.ValidString(r.Reason) {
				t.Fatalf("rejected line %d (after %d, of %d): %q", r.Line, prev, lines, r.Reason)
			}
			prev = r.Line
		}
	})
}

// FuzzParseAmount: an amount that is accepted prints back as itself in
// cents; nothing overflows.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"12", "12.5", "12,50", "-3.20", "0.001", "", "-", ".5", "1.", "9223372036854775807", "10000000000000", " 7 ", "+1", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseAmount(s)
		if !ok {
			return
		}
		if v > 1e15 || v < -1e15 {
			t.Fatalf("parseAmount(%q) = %d: out of range", s, v)
		}
		abs, sign := v, ""
		if v < 0 {
			abs, sign = -v, "-"
		}
		back, ok := parseAmount(fmt.Sprintf("%s%d.%02d", sign, abs/100, abs%100))
		if !ok || back != v {
			t.Fatalf("parseAmount(%q) = %d, which prints back as %d, %v", s, v, back, ok)
		}
	})
}
