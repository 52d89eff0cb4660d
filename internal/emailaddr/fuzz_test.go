package emailaddr

import "testing"

// FuzzNormalizeEmail: Normalize never panics, is idempotent, and the key
// of the normalized form is the key of the input.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"anna@example.com", " Anna.Berg+news@Example.COM ", "anna@bücher.de", "anna@xn--bcher-kva.de",
		`"Berg, Anna" <anna@example.com>`, "Anna <anna@example.com> (work)", "a.n.n.a@googlemail.com",
		"Ju\u0308rgen@example.com", "Friends: a@b.c;", "a@b.c, d@e.f", "a@@b.c", "@b.c", "a@xn--zz.de",
		"=?utf-8?q?Anna?= <a@b.c>", "δοκιμή@παράδειγμα.δοκιμή", "a@[1.2.3.4]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Normalize(s)
		if err != nil {
			return
		}
		n2, err := Normalize(n)
		if err != nil || n2 != n {
			t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q, %v", s, n, n, n2, err)
		}
		k1, err := Key(s)
		if err != nil {
			t.Fatalf("Key(%q): %v", s, err)
		}
		if k2 := KeyOf(n); k2 != k1 {
			t.Fatalf("Key(%q) = %q but KeyOf(%q) = %q", s, k1, n, k2)
		}
		if k3, err := Key(k1); err != nil || k3 != k1 {
			t.Fatalf("the key %q is not its own key: %q, %v", k1, k3, err)
		}
		if fast, ok := fastNormalize(s); ok && fast != n {
			t.Fatalf("fast path %q, full path %q", fast, n)
		}
	})
}
