package webhook

import (
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzVerify checks any signature header, secret and message as a
// receiver does: a message signed with a secret verifies with it, within
// any list of other signatures; a header verifies only when it holds the
// signature itself; a malformed secret verifies nothing; and a changed
// body, id or timestamp never verifies with the old signature.
func FuzzVerify(f *testing.F) {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	sig, _ := Sign(secret, "msg_1", 1700000000, []byte(`{"a":1}`))
	for _, h := range []string{sig, "v1,AAAA " + sig, "v1," + strings.Repeat("A", 44), "", "v1,", sig + "=", strings.ToUpper(sig), "v2," + sig[3:], "\x00", "\xff"} {
		f.Add(secret, "msg_1", int64(1700000000), []byte(`{"a":1}`), h)
	}
	f.Add("whsec_", "", int64(0), []byte(""), "")
	f.Add("whsec_!!!!", "id", int64(-1), []byte("x"), "v1,x")
	f.Add("whsec_"+base64.StdEncoding.EncodeToString(make([]byte, 65)), "id", int64(1), []byte("x"), "v1,x")
	f.Fuzz(func(t *testing.T, secret, id string, ts int64, body []byte, header string) {
		key, kerr := secretKey(secret)
		want, err := Sign(secret, id, ts, body)
		if (err == nil) != (kerr == nil) || err == nil && (len(key) < 24 || len(key) > 64) {
			t.Fatalf("Sign error %v, key error %v, key of %d bytes", err, kerr, len(key))
		}
		ok := Verify(secret, id, ts, body, header)
		if err != nil {
			if ok {
				t.Fatalf("a malformed secret %q verified %q", secret, header)
			}
			return
		}
		if ok != strings.Contains(" "+strings.Join(strings.Fields(header), " ")+" ", " "+want+" ") {
			t.Fatalf("Verify(%q) = %v, signature %q", header, ok, want)
		}
		if !Verify(secret, id, ts, body, "v1,bogus "+want+" v1,other") {
			t.Fatal("the signature does not verify among others")
		}
		if Verify(secret, id, ts, append(append([]byte(nil), body...), '!'), want) || Verify(secret, id+"x", ts, body, want) || Verify(secret, id, ts+1, body, want) {
			t.Fatal("a changed message verifies with the old signature")
		}
	})
}
