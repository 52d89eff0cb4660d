package input

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzCSV reads any bytes as a CSV file: it never panics, every syntax
// error names a line of the file and says in words what is wrong, and
// fields written by encoding/csv (after a byte order mark, with CRLF line
// ends or not) read back as they were.
func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"email,kind\nanna@example.com,call\n",
		"a,b\n1,\"2\n3,4\n",               // unterminated quote
		"a,b\n1,x\"y\n",                   // bare quote
		"\ufeff\"email\",kind\r\nx,y\r\n", // BOM, CRLF
		"a\x00b,c\n",                      // NUL
		"\xff\xfe,\xc3\n",                 // invalid UTF-8
		"\"a\"\"b\",\"c\nd\"\n",
		strings.Repeat("x", 70000) + "\n",
	} {
		f.Add([]byte(s), "")
	}
	f.Add([]byte(""), "a\x1fb\x1e\x1fc d\x1e")
	f.Fuzz(func(t *testing.T, data []byte, fields string) {
		lines := bytes.Count(data, []byte{'\n'}) + bytes.Count(data, []byte{'\r'}) + 1
		cr := NewCSVReader(bytes.NewReader(data))
		for n := 0; ; n++ {
			_, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err == nil {
				continue
			}
			var le *LineError
			if !errors.As(CSVError(err), &le) {
				t.Fatalf("read error %v is not a *LineError", err)
			}
			if le.Line < 1 || le.Line > lines {
				t.Fatalf("error at line %d of a %d-line input: %v", le.Line, lines, le)
			}
			if le.Msg == "" || strings.Contains(le.Msg, "parse error") || !utf8.ValidString(le.Error()) {
				t.Fatalf("unclear error %q", le.Msg)
			}
			if n > len(data)+1 {
				t.Fatal("the reader does not advance")
			}
		}

		// Round trip: records as encoding/csv writes them.
		var recs [][]string
		for _, r := range strings.Split(fields, "\x1e") {
			recs = append(recs, strings.Split(r, "\x1f"))
		}
		for _, crlf := range []bool{false, true} {
			var b bytes.Buffer
			b.WriteString(BOM)
			w := csv.NewWriter(&b)
			w.UseCRLF = crlf
			w.WriteAll(recs)
			got, err := NewCSVReader(&b).ReadAll()
			if err != nil {
				t.Fatalf("reading what csv.Writer wrote: %v", CSVError(err))
			}
			want := canonical(recs, crlf)
			if len(got) != len(want) {
				t.Fatalf("round trip: %q, want %q", got, want)
			}
			for i := range got {
				if strings.Join(got[i], "\x1f") != strings.Join(want[i], "\x1f") {
					t.Fatalf("round trip of record %d: %q, want %q", i, got[i], want[i])
				}
			}
		}
	})
}

// canonical is what encoding/csv reads back from what it wrote: empty
// lines (a record of one empty field) are skipped, and line ends inside
// quoted fields change as noted.
func canonical(recs [][]string, crlf bool) [][]string {
	var out [][]string
	for _, r := range recs {
		if len(r) == 1 && r[0] == "" {
			continue
		}
		c := make([]string, len(r))
		for i, f := range r {
			// csv.Writer drops \r in CRLF mode; csv.Reader turns \r\n into \n.
			if crlf {
				c[i] = strings.ReplaceAll(f, "\r", "")
			} else {
				c[i] = strings.ReplaceAll(f, "\r\n", "\n")
			}
		}
		out = append(out, c)
	}
	return out
}

// FuzzDates: each date parser accepts exactly what it can print back, and
// refuses the rest with a message naming the format.
func FuzzDates(f *testing.F) {
	for _, s := range []string{"2024-05-31", "2024-05-31T14:00:00Z", "2024-05-31T14:00:00+02:00", "2024-05-31T14:00", " 2024-02-29 ",
		"2023-02-29", "31.12.2024", "0000-01-01", "9999-12-31T23:59:59.999999999-23:59", "2024-13-01", "2024-05-31T24:00", "\x00", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range []struct {
			name   string
			parse  func(string) (time.Time, error)
			layout string
		}{{"Date", Date, time.DateOnly}, {"Time", Time, time.RFC3339Nano}, {"DateOrTime", DateOrTime, time.RFC3339Nano}, {"Minute", Minute, LocalMinute}} {
			tm, err := p.parse(s)
			if err != nil {
				var de *DateError
				if !errors.As(err, &de) || !utf8.ValidString(err.Error()) || !strings.Contains(err.Error(), "use ") || de.Value != s {
					t.Fatalf("%s(%q): unclear error %v", p.name, s, err)
				}
				continue
			}
			back, err := p.parse(tm.Format(p.layout))
			if err != nil || !back.Equal(tm) {
				t.Fatalf("%s(%q) = %v, which reads back as %v, %v", p.name, s, tm, back, err)
			}
			if y := tm.Year(); y < 0 || y > 9999 {
				t.Fatalf("%s(%q): year %d", p.name, s, y)
			}
			if p.name == "Date" || p.name == "Minute" {
				if tm.Location() != time.UTC {
					t.Fatalf("%s(%q) is not in UTC: %v", p.name, s, tm)
				}
			}
		}
	})
}

// FuzzCheckRequest is every form post and query string: a request passes
// exactly when all its text can be stored, and a refusal names a field
// that can be shown.
func FuzzCheckRequest(f *testing.F) {
	f.Add("/contacts", "q=anna", "first_name=Anna&last_name=Berg")
	f.Add("/contacts/1", "q=%00", "a=b")
	f.Add("/x%00", "", "")
	f.Add("/", "a=%ff", "first_name=%ff%fe")
	f.Add("/", "", "%00=x&y=z")
	f.Add("/", "a=1;b=2", "x=%zz")
	f.Fuzz(func(t *testing.T, path, query, body string) {
		u := &url.URL{Scheme: "http", Host: "x", RawPath: "", RawQuery: query}
		if p, err := url.PathUnescape(path); err == nil {
			u.Path = p
		} else {
			u.Path = path
		}
		r, err := http.NewRequest("POST", "http://x/", strings.NewReader(body))
		if err != nil {
			t.Skip()
		}
		r.URL = u
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		e := CheckRequest(r)
		all := []string{u.Path}
		qv, _ := url.ParseQuery(query)
		fv, _ := url.ParseQuery(body)
		for _, vs := range []url.Values{qv, fv} {
			for k, list := range vs {
				all = append(append(all, k), list...)
			}
		}
		bad := false
		for _, s := range all {
			bad = bad || Text(s) != nil
		}
		if (e != nil) != bad {
			t.Fatalf("CheckRequest(%q, %q, %q) = %v, but some text is bad: %v", path, query, body, e, bad)
		}
		if e != nil && (!utf8.ValidString(e.Error()) || strings.ContainsRune(e.Error(), 0)) {
			t.Fatalf("the refusal cannot be shown: %q", e.Error())
		}
	})
}

// FuzzText: Text refuses exactly invalid UTF-8 and NUL.
func FuzzText(f *testing.F) {
	for _, s := range []string{"Anna", "Østergaard", "a\x00", "\xff", "\xe2\x82", "日本\x00語", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := Text(s)
		want := !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0
		if (err != nil) != want {
			t.Fatalf("Text(%q) = %v", s, err)
		}
		if q := Quote(s); !utf8.ValidString(q) || strings.IndexByte(q, 0) >= 0 {
			t.Fatalf("Quote(%q) = %q", s, q)
		}
	})
}
