package ledger

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/storetest"
)

// lineCount is the number of lines a reader could count in b.
func lineCount(b []byte) int { return bytes.Count(b, []byte{'\n'}) + bytes.Count(b, []byte{'\r'}) + 1 }

// drain reads every reference; it stops at the first error.
func drain(t *testing.T, next func() (Ref, bool, error), max int) ([]Ref, error) {
	var refs []Ref
	for {
		r, ok, err := next()
		if err != nil || !ok {
			return refs, err
		}
		refs = append(refs, r)
		if len(refs) > max {
			t.Fatalf("more references (%d) than the input has lines (%d)", len(refs), max)
		}
	}
}

func checkRefs(t *testing.T, data []byte, refs []Ref, err error) {
	t.Helper()
	if err != nil {
		var re *RefError
		if !errors.As(err, &re) {
			t.Fatalf("error %v is not a *RefError", err)
		}
		if re.Line < 1 || re.Line > lineCount(data) || re.Msg == "" || !utf8.ValidString(re.Error()) {
			t.Fatalf("error at line %d of %d: %q", re.Line, lineCount(data), re.Error())
		}
	}
	for _, r := range refs {
		if r.Input != strings.TrimSpace(r.Input) {
			t.Fatalf("reference %q is not trimmed", r.Input)
		}
		if !r.bad && r.id == 0 && r.email == "" {
			t.Fatalf("reference %q is neither bad, an id nor an e-mail", r.Input)
		}
	}
}

// FuzzCSVRefs reads any bytes as the CSV list of a bulk check: it never
// panics, a syntax error names a line of the input, and references written
// by encoding/csv (one per line, a header first) come back in order.
func FuzzCSVRefs(f *testing.F) {
	for _, s := range []string{"email\nanna@example.com\n42\n", "\ufeffemail\r\nb@example.com\r\n", "\"a@example.com\n", "a\"b@example.com\n",
		"x\x00@example.com\n", "\xff@example.com\n", ",,,\n\n  \n7,8\n"} {
		f.Add([]byte(s), "anna@example.com\x1f42\x1f")
	}
	f.Fuzz(func(t *testing.T, data []byte, list string) {
		refs, err := drain(t, CSVRefs(bytes.NewReader(data)), lineCount(data))
		checkRefs(t, data, refs, err)

		var want []string
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		w.Write([]string{"email"})
		for _, s := range strings.Split(list, "\x1f") {
			s = strings.ReplaceAll(strings.ReplaceAll(s, "\r", ""), "\n", "")
			if strings.TrimSpace(s) == "" {
				continue
			}
			w.Write([]string{s})
			want = append(want, strings.TrimSpace(s))
		}
		w.Flush()
		got, err := drain(t, CSVRefs(&b), len(want)+1)
		if err != nil || len(got) != len(want) {
			t.Fatalf("round trip: %d references, %v; want %q", len(got), err, want)
		}
		for i := range got {
			if got[i].Input != want[i] {
				t.Fatalf("reference %d is %q, want %q", i, got[i].Input, want[i])
			}
		}
	})
}

// FuzzJSONRefs reads any bytes as the JSON lines of a bulk check, with
// the same promises; strings and objects encoded by encoding/json come back.
func FuzzJSONRefs(f *testing.F) {
	for _, s := range []string{"\"anna@example.com\"\n42\n{\"email\":\"b@example.com\"}\n{\"id\":7}\n", "\"unterminated\n", "{\"email\":\"x\"\n",
		"\"\\u0000@example.com\"\n", "\xff\n", "\n\n\r\n", "[1,2]\n", "1e3\n"} {
		f.Add([]byte(s), "anna@example.com")
	}
	f.Fuzz(func(t *testing.T, data []byte, s string) {
		refs, err := drain(t, JSONRefs(bufio.NewReaderSize(bytes.NewReader(data), 4096)), lineCount(data))
		checkRefs(t, data, refs, err)

		a, _ := json.Marshal(s)
		o, _ := json.Marshal(map[string]string{"email": s})
		in := append(append(append(a, '\n'), o...), '\n')
		got, err := drain(t, JSONRefs(bufio.NewReaderSize(bytes.NewReader(in), 64<<10)), 2)
		var decoded string
		json.Unmarshal(a, &decoded) // encoding/json's view of s: invalid UTF-8 replaced
		want := strings.TrimSpace(decoded)
		if len(in) > 64<<10 {
			return
		}
		if err != nil || len(got) != 2 || got[0].Input != want || (want != "" && got[1].Input != want) {
			t.Fatalf("round trip of %q: %+v %v", s, got, err)
		}
	})
}

// FuzzCheck runs the bulk check itself on any CSV: one verdict per
// reference, in order, each with a reason; or a *RefError before any
// verdict of a later line. One database serves every input.
func FuzzCheck(f *testing.F) {
	db := storetest.Open(f, storetest.SQLite)
	l := New(db)
	ctx := context.Background()
	if err := l.Seed(ctx); err != nil {
		f.Fatal(err)
	}
	actor := audit.Actor{Type: "user", ID: "1"}
	p, err := l.CreatePerson(ctx, actor, PersonInput{LastName: "Berg", Emails: []string{"anna@example.com"}})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := l.RecordConsent(ctx, actor, ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: Granted}); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"email\nanna@example.com\nANNA@Example.com\n1\n999\nnobody@example.com\nnot an address\n", "\"anna@example.com\n", "\ufeff1\r\n2\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		refs, refErr := drain(t, CSVRefs(bytes.NewReader(data)), lineCount(data))
		var verdicts []Verdict
		sum, err := l.Check(ctx, "e_marketing", 0, CSVRefs(bytes.NewReader(data)), func(v Verdict) error {
			verdicts = append(verdicts, v)
			return nil
		})
		if (err == nil) != (refErr == nil) {
			t.Fatalf("check error %v, reading error %v", err, refErr)
		}
		if err != nil {
			var re *RefError
			if !errors.As(err, &re) {
				t.Fatalf("check error %v is not a *RefError", err)
			}
			if len(verdicts) > len(refs) {
				t.Fatalf("%d verdicts for %d references before the error", len(verdicts), len(refs))
			}
			return
		}
		if len(verdicts) != len(refs) || sum.Total != len(refs) || sum.Allowed+sum.Denied != sum.Total {
			t.Fatalf("%d verdicts, summary %+v, for %d references", len(verdicts), sum, len(refs))
		}
		for i, v := range verdicts {
			if v.Ref != refs[i].Input || v.Reason == "" || (v.Allowed && v.PersonID != p.ID) {
				t.Fatalf("verdict %d %+v for reference %q", i, v, refs[i].Input)
			}
		}
	})
}
