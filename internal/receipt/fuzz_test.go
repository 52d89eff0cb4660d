package receipt

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzVerify checks any token against any key set, and against the real
// one: it never panics; refusals are the documented errors; and a token
// that verifies is exactly the one that was signed (no second spelling
// of it verifies too).
func FuzzVerify(f *testing.F) {
	s := newSigner(bytes.Repeat([]byte{7}, 32))
	tok, err := s.Sign(map[string]any{"jti": "r-1", "purposes": []string{"e_marketing"}})
	if err != nil {
		f.Fatal(err)
	}
	jwks := s.JWKS()
	parts := strings.Split(tok, ".")
	for _, c := range []string{tok, parts[0] + "." + parts[1] + ".", tok[:len(tok)-1] + "B", tok + "=", parts[0] + "." + parts[1], "..", "a.b.c.d",
		"eyJhbGciOiJub25lIn0.e30.", "eyJhbGciOiJFZERTQSIsImtpZCI6IngiLCJjcml0IjpbImIiXX0.e30.AA", "\x00.\xff.\n"} {
		f.Add(c, jwks)
	}
	// The signature's last character with its unused low bits flipped.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	f.Add(tok[:len(tok)-1]+string(alphabet[strings.IndexByte(alphabet, tok[len(tok)-1])^1]), jwks)
	f.Add(tok[:len(tok)-10]+"\r\n"+tok[len(tok)-10:], jwks) // the decoder skips line breaks
	f.Add(tok, []byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"`+s.kid+`","x":"AA"}]}`))
	f.Add(tok, []byte(`{"keys":`))
	f.Fuzz(func(t *testing.T, token string, set []byte) {
		if _, err := Verify(set, token); err != nil && !utf8.ValidString(strings.ToValidUTF8(err.Error(), "")) {
			t.Fatalf("error %q", err)
		}
		payload, err := Verify(jwks, token)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrAlg) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Verify(%q): undocumented error %v", token, err)
			}
			return
		}
		if token != tok {
			t.Fatalf("Verify accepts %q, a second spelling of %q", token, tok)
		}
		if !bytes.Contains(payload, []byte(`"r-1"`)) {
			t.Fatalf("payload %s", payload)
		}
	})
}
