package textcheck

import (
	"strings"
	"testing"
)

func TestLineAndText(t *testing.T) {
	for _, c := range []struct {
		in          string
		max         int
		line, multi Problem
	}{
		{"Anna Berg", 200, OK, OK},
		{"", 200, OK, OK},
		{"Ærø Jørgensen – Straße 5", 200, OK, OK},
		{"日本語のテキスト", 8, OK, OK},
		{"日本語のテキスト", 7, TooLong, TooLong},
		{strings.Repeat("x", 200), 200, OK, OK},
		{strings.Repeat("x", 201), 200, TooLong, TooLong},
		{strings.Repeat("x", 900<<10), 200, TooLong, TooLong},
		{"An\x00na", 200, Control, Control},
		{"\x00", 200, Control, Control},
		{"bell\x07", 200, Control, Control},
		{"esc\x1b[31m", 200, Control, Control},
		{"del\x7f", 200, Control, Control},
		{"c1\u0085", 200, Control, Control},
		{"two\nlines", 200, LineBreak, OK},
		{"crlf\r\nline", 200, LineBreak, OK},
		{"tab\there", 200, LineBreak, OK},
		{"broken \xff utf8", 200, NotUTF8, NotUTF8},
		{"cut \xe6\x97", 200, NotUTF8, NotUTF8},
		{"emoji 🙂", 7, OK, OK},
	} {
		if got := Line(c.in, c.max); got != c.line {
			t.Errorf("Line(%.40q, %d) = %v, want %v", c.in, c.max, got, c.line)
		}
		if got := Text(c.in, c.max); got != c.multi {
			t.Errorf("Text(%.40q, %d) = %v, want %v", c.in, c.max, got, c.multi)
		}
	}
}

func TestMessages(t *testing.T) {
	for p := NotUTF8; p <= Empty; p++ {
		if p.Message(200) == "" {
			t.Errorf("problem %d has no message", p)
		}
	}
	if m := TooLong.Message(254); !strings.Contains(m, "254") {
		t.Errorf("TooLong message %q does not state the limit", m)
	}
}

func TestClean(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"Mozilla/5.0 (X11)", 512, "Mozilla/5.0 (X11)"},
		{"bad\x00\xffua\r\n", 512, "bad\ufffd\ufffdua\ufffd\ufffd"},
		{"ÆØÅæøå", 3, "ÆØÅ"},
		{strings.Repeat("a", 600), 512, strings.Repeat("a", 512)},
	} {
		got := Clean(c.in, c.max)
		if got != c.want {
			t.Errorf("Clean(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
		if Line(got, c.max) != OK {
			t.Errorf("Clean(%q) = %q is not a valid line", c.in, got)
		}
	}
}

func TestFileName(t *testing.T) {
	for _, c := range []struct {
		in, want string
		p        Problem
	}{
		{"signup.eml", "signup.eml", OK},
		{"  Vertrag März.pdf ", "Vertrag März.pdf", OK},
		{"", "", Empty},
		{"   ", "", Empty},
		{"../../etc/passwd", "", PathSeparator},
		{`C:\fakepath\x.pdf`, "", PathSeparator},
		{"..", "", PathSeparator},
		{".", "", PathSeparator},
		{"a\x00.pdf", "", Control},
		{"a\r\nb.pdf", "", LineBreak},
		{strings.Repeat("a", 256), "", TooLong},
	} {
		got, p := FileName(c.in)
		if p != c.p || (p == OK && got != c.want) {
			t.Errorf("FileName(%.40q) = %q, %v; want %q, %v", c.in, got, p, c.want, c.p)
		}
	}
}

func TestCountry(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"DE", "DE", true}, {"de", "DE", true}, {" dk ", "DK", true}, {"Us", "US", true},
		{"AD", "AD", true}, {"ZW", "ZW", true}, {"GB", "GB", true},
		{"UK", "", false}, {"XX", "", false}, {"D", "", false}, {"DEU", "", false},
		{"Germany", "", false}, {"", "", false}, {"d\x00", "", false}, {"1A", "", false}, {"ÄÖ", "", false},
	} {
		got, ok := Country(c.in)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("Country(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	all := Countries()
	if len(all) != 249 {
		t.Fatalf("%d country codes, want the 249 of ISO 3166-1", len(all))
	}
	for i, c := range all {
		if i > 0 && all[i-1] >= c {
			t.Errorf("the list is not sorted at %s", c)
		}
		if got, ok := Country(strings.ToLower(c)); !ok || got != c {
			t.Errorf("Country(%q) = %q, %v", strings.ToLower(c), got, ok)
		}
	}
}

func BenchmarkLineASCII(b *testing.B) {
	s := "Hauptstraße is not ASCII but Anna Berg from Berlin is"[30:]
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		if Line(s, MaxName) != OK {
			b.Fatal("refused")
		}
	}
}

func BenchmarkLineUTF8(b *testing.B) {
	s := "Jørgen Ærøskøbing, Hauptstraße 5, Łódź"
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		if Line(s, MaxName) != OK {
			b.Fatal("refused")
		}
	}
}

func BenchmarkCountry(b *testing.B) {
	for b.Loop() {
		if _, ok := Country("de"); !ok {
			b.Fatal("refused")
		}
	}
}
