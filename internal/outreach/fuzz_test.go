package outreach

import (
	"bytes"
	"encoding/base64"
	"testing"
)

// FuzzUnsubscribeToken parses any text as the token of a one-click
// unsubscribe link: tokens made for a person and purpose read back as
// them; anything else accepted must be exactly the token the
// installation would make for what it names (no second spelling, no
// forgery).
func FuzzUnsubscribeToken(f *testing.F) {
	s := &Service{key: bytes.Repeat([]byte{9}, 32)}
	valid := s.UnsubscribeToken(1234, 5)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for _, tok := range []string{valid, valid[:len(valid)-1] + string(alphabet[(bytes.IndexByte([]byte(alphabet), valid[len(valid)-1])^1)]),
		valid + "A", valid[1:], "", "AAAAAAAAAAAAAAAAAAAAAAAA", "////", "\x00", "\xff\xfe", s.UnsubscribeToken(0, 0), s.UnsubscribeToken(-1, 1<<62)} {
		f.Add(tok, int64(1234), int64(5))
	}
	f.Fuzz(func(t *testing.T, tok string, person, purpose int64) {
		pid, pur, ok := s.parseUnsubscribe(tok)
		if ok && s.UnsubscribeToken(pid, pur) != tok {
			t.Fatalf("%q is accepted for person %d, purpose %d, whose token is %q", tok, pid, pur, s.UnsubscribeToken(pid, pur))
		}
		made := s.UnsubscribeToken(person, purpose)
		if p, q, ok := s.parseUnsubscribe(made); !ok || p != person || q != purpose {
			t.Fatalf("the token of %d/%d reads back as %d/%d, %v", person, purpose, p, q, ok)
		}
		other := &Service{key: bytes.Repeat([]byte{8}, 32)}
		if _, _, ok := other.parseUnsubscribe(made); ok {
			t.Fatalf("another installation accepts %q", made)
		}
	})
}

// FuzzLinkToken checks the shape test that guards preference links and
// double opt-in confirmations before any lookup: exactly the canonical
// spelling of 32 random bytes passes.
func FuzzLinkToken(f *testing.F) {
	raw, _ := newToken()
	for _, tok := range []string{raw, raw[:42] + "B", raw + "A", raw[:42], "", "\x00", "../../etc/passwd", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "\xff"} {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		ok := validTokenShape(tok)
		b, err := base64.RawURLEncoding.DecodeString(tok)
		want := err == nil && len(b) == 32 && base64.RawURLEncoding.EncodeToString(b) == tok
		if ok != want {
			t.Fatalf("validTokenShape(%q) = %v", tok, ok)
		}
		if len(hashToken(tok)) != 32 {
			t.Fatal("hash length")
		}
	})
}
