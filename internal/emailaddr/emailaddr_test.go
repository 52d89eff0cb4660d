package emailaddr

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	long := strings.Repeat("a", 65)
	for _, c := range []struct {
		in, want, key string
		err           error
	}{
		// The stored form: as given, but trimmed, lower case, NFC, Unicode domain.
		{in: "anna@example.com", want: "anna@example.com", key: "anna@example.com"},
		{in: "  Anna.Berg@Example.COM \t", want: "anna.berg@example.com", key: "anna.berg@example.com"},
		{in: "anna@bücher.de", want: "anna@bücher.de", key: "anna@xn--bcher-kva.de"},
		{in: "anna@xn--bcher-kva.de", want: "anna@bücher.de", key: "anna@xn--bcher-kva.de"},
		{in: "ANNA@XN--BCHER-KVA.DE", want: "anna@bücher.de", key: "anna@xn--bcher-kva.de"},
		{in: "anna@BÜCHER.de", want: "anna@bücher.de", key: "anna@xn--bcher-kva.de"},
		{in: "anna@ｂüｃｈｅｒ.de", want: "anna@bücher.de", key: "anna@xn--bcher-kva.de"}, // full-width letters
		{in: "anna@straße.de", want: "anna@straße.de", key: "anna@xn--strae-oqa.de"}, // IDNA 2008: ß stays
		{in: "Jürgen@example.com", want: "jürgen@example.com", key: "jürgen@example.com"},
		{in: "Ju\u0308rgen@example.com", want: "jürgen@example.com", key: "jürgen@example.com"}, // NFD -> NFC
		{in: "δοκιμή@παράδειγμα.δοκιμή", want: "δοκιμή@παράδειγμα.δοκιμή", key: "δοκιμή@xn--hxajbheg2az3al.xn--jxalpdlp"},
		// Name-addr pasted from a mail program.
		{in: "Anna Berg <anna@example.com>", want: "anna@example.com", key: "anna@example.com"},
		{in: `"Berg, Anna" <Anna@Example.com>`, want: "anna@example.com", key: "anna@example.com"},
		{in: "<anna@example.com>", want: "anna@example.com", key: "anna@example.com"},
		{in: "anna@example.com (Anna Berg)", want: "anna@example.com", key: "anna@example.com"},
		{in: "Anna <anna@example.com> (work)", want: "anna@example.com", key: "anna@example.com"},
		{in: "=?utf-8?q?Anna_B=C3=A9rg?= <anna@bücher.de>", want: "anna@bücher.de", key: "anna@xn--bcher-kva.de"},
		{in: `"anna"@example.com`, want: "anna@example.com", key: "anna@example.com"},
		// Plus tags and dots stay stored; the key drops them.
		{in: "anna+news@example.com", want: "anna+news@example.com", key: "anna@example.com"},
		{in: "Anna+News+2024@Example.com", want: "anna+news+2024@example.com", key: "anna@example.com"},
		{in: "+news@example.com", want: "+news@example.com", key: "+news@example.com"},
		{in: "anna.berg@example.com", want: "anna.berg@example.com", key: "anna.berg@example.com"},
		{in: "Anna.Berg@gmail.com", want: "anna.berg@gmail.com", key: "annaberg@gmail.com"},
		{in: "a.n.n.a.berg+x@googlemail.com", want: "a.n.n.a.berg+x@googlemail.com", key: "annaberg@gmail.com"},
		{in: "annaberg@GoogleMail.com", want: "annaberg@googlemail.com", key: "annaberg@gmail.com"},
		// Refused.
		{in: "", err: ErrEmpty},
		{in: "   ", err: ErrEmpty},
		{in: "anna", err: ErrSyntax},
		{in: "anna@@example.com", err: ErrSyntax},
		{in: "anna@berg@example.com", err: ErrSyntax},
		{in: `"a@b"@example.com`, err: ErrSyntax},
		{in: `"anna berg"@example.com`, err: ErrSyntax},
		{in: "@example.com", err: ErrSyntax},
		{in: "anna@", err: ErrSyntax},
		{in: ".anna@example.com", err: ErrSyntax},
		{in: "an..na@example.com", err: ErrSyntax},
		{in: "an na@example.com", err: ErrSyntax},
		{in: "anna\u200d@example.com", err: ErrSyntax}, // zero-width joiner
		{in: "anna\x00@example.com", err: ErrSyntax},
		{in: "Anna Berg anna@example.com", err: ErrSyntax},
		{in: "anna@example", err: ErrSyntax},
		{in: "anna@example.com.", err: ErrSyntax},
		{in: "anna@exa_mple.com", err: ErrDomain},
		{in: "anna@-example.com", err: ErrDomain},
		{in: "anna@ab--cd.com", err: ErrDomain},
		{in: "anna@xn--zz.de", err: ErrDomain}, // bad punycode
		{in: "anna@xn--a.de", err: ErrDomain},
		{in: "anna@[192.0.2.1]", err: ErrDomain},
		{in: "anna@" + strings.Repeat("a", 64) + ".com", err: ErrDomain},
		{in: "anna@exa\u200dmple.com", err: ErrDomain},
		{in: "a@b.c, d@e.f", err: ErrMultiple},
		{in: "Anna <a@b.com>, Ben <b@b.com>", err: ErrMultiple},
		{in: "Friends: anna@example.com, ben@example.com;", err: ErrGroup},
		{in: "Friends: anna@example.com;", err: ErrGroup},
		{in: "undisclosed-recipients:;", err: ErrGroup},
		{in: long + "@example.com", err: ErrTooLong},
		{in: "anna@" + strings.Repeat("abcdefghi.", 25) + "com", err: ErrTooLong},
		{in: strings.Repeat("x", 2000) + "@example.com", err: ErrTooLong},
	} {
		got, err := Normalize(c.in)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("Normalize(%q) = %q, %v; want error %v", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", c.in, got, err, c.want)
			continue
		}
		if k, err := Key(c.in); err != nil || k != c.key {
			t.Errorf("Key(%q) = %q, %v; want %q", c.in, k, err, c.key)
		}
	}
}

func TestSplitList(t *testing.T) {
	got := SplitList(` anna@example.com; "Berg, Anna" <anna@bücher.de>,ben@example.com (Ben; work);;`)
	want := []string{"anna@example.com", `"Berg, Anna" <anna@bücher.de>`, "ben@example.com (Ben; work)"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("SplitList = %q, want %q", got, want)
	}
	for _, item := range got {
		if _, err := Normalize(item); err != nil {
			t.Errorf("%q: %v", item, err)
		}
	}
}

// Every spelling of one mailbox has one key.
func TestKeySameMailbox(t *testing.T) {
	for _, group := range [][]string{
		{"anna@bücher.de", "ANNA@XN--BCHER-KVA.DE", " Anna <anna@Bücher.DE> ", "anna+news@bücher.de", `"Anna" <ANNA+X@xn--bcher-kva.de>`},
		{"anna.berg@gmail.com", "annaberg@gmail.com", "Anna.Berg+news@googlemail.com", "a.n.n.a.b.e.r.g@GMAIL.com"},
		{"jürgen@example.com", "Ju\u0308rgen@example.com", "JÜRGEN@EXAMPLE.COM"},
		{"anna@example.com", "anna.+news@example.com"},
	} {
		want, err := Key(group[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range group[1:] {
			if k, err := Key(s); err != nil || k != want {
				t.Errorf("Key(%q) = %q, %v; want %q like %q", s, k, err, want, group[0])
			}
		}
	}
	// Distinct mailboxes stay distinct.
	a, _ := Key("anna.berg@example.com")
	b, _ := Key("annaberg@example.com")
	if a == b {
		t.Errorf("dots outside Gmail must count: %q", a)
	}
}

func TestLegacyForms(t *testing.T) {
	if got := LegacyForms("anna@bücher.de"); len(got) != 2 || got[1] != "anna@xn--bcher-kva.de" {
		t.Errorf("LegacyForms = %q", got)
	}
	if got := LegacyForms("anna+x@example.com"); len(got) != 1 || got[0] != "anna+x@example.com" {
		t.Errorf("LegacyForms = %q", got)
	}
}

// The ASCII fast path gives exactly what the full path gives.
func TestFastPathAgrees(t *testing.T) {
	for _, s := range []string{"anna@example.com", "Anna.Berg+x@Example.COM", "a!#$%&'*+-/=?^_`{|}~@a-b.c0", "x@ab-cd.de", "x@a.b.c.d.e"} {
		fast, ok := fastNormalize(s)
		slow, err := slowNormalize(s)
		if !ok || err != nil || fast != slow {
			t.Errorf("%q: fast %q %v, slow %q %v", s, fast, ok, slow, err)
		}
	}
}

func BenchmarkNormalize(b *testing.B) {
	for _, c := range []struct{ name, in string }{
		{"ascii", "anna.berg@example.com"},
		{"ascii-upper", "Anna.Berg@Example.com"},
		{"unicode-domain", "anna@bücher.de"},
		{"name-addr", `"Berg, Anna" <anna@example.com>`},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n, err := Normalize(c.in)
				if err != nil {
					b.Fatal(err)
				}
				_ = KeyOf(n)
			}
		})
	}
}
