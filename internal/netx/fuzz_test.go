package netx_test

import (
	"net"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/consento/consento/internal/netx"
)

// FuzzProxies reads any text as --trusted-proxies and any header as
// X-Forwarded-For: a list that is accepted holds masked ranges and reads
// back the same from its own printout; a refusal quotes the bad entry; and
// the client is the peer or an address from the header, never a trusted
// proxy unless the peer itself is one that sent no usable header.
func FuzzProxies(f *testing.F) {
	for _, c := range [][3]string{
		{"10.0.0.0/8, 192.0.2.7", "10.1.2.3:443", "203.0.113.9, 10.0.0.5"},
		{"::1, fd00::/8", "[::1]:80", "2001:db8::1"},
		{"::ffff:10.0.0.1", "10.0.0.1:1", "198.51.100.2,198.51.100.3"},
		{"10.0.0.0/33", "1.2.3.4:5", ""},
		{"10.0.0.1/8", "10.9.9.9:1", "not-an-ip, 1.1.1.1"},
		{"fe80::1%eth0", "x", "\x00"},
		{",,, ,", "10.0.0.1:1", "1.1.1.1"},
		{"0.0.0.0/0", "10.0.0.1:1", "1.1.1.1, 2.2.2.2"},
	} {
		f.Add(c[0], c[1], c[2])
	}
	f.Fuzz(func(t *testing.T, list, peer, xff string) {
		ps, err := netx.ParseProxies(list)
		if err != nil {
			if !strings.Contains(err.Error(), "trusted proxy \"") {
				t.Fatalf("error %q does not quote the entry", err)
			}
			return
		}
		var printed []string
		for _, p := range ps {
			if p != p.Masked() {
				t.Fatalf("%v is not masked", p)
			}
			printed = append(printed, p.String())
		}
		again, err := netx.ParseProxies(strings.Join(printed, ","))
		if err != nil || len(again) != len(ps) {
			t.Fatalf("%q reads back as %v, %v", printed, again, err)
		}
		for i := range again {
			if again[i] != ps[i] {
				t.Fatalf("%v reads back as %v", ps[i], again[i])
			}
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		got := ps.ClientIP(r)
		host, _, err := net.SplitHostPort(peer)
		if err != nil {
			host = peer
		}
		if got == host {
			return
		}
		inHeader := false
		for _, h := range strings.Split(xff, ",") {
			inHeader = inHeader || strings.TrimSpace(h) == got
		}
		a, perr := netip.ParseAddr(got)
		if !inHeader || perr != nil {
			t.Fatalf("client %q is neither the peer %q nor in %q", got, peer, xff)
		}
		for _, p := range ps {
			if p.Contains(a.Unmap()) {
				t.Fatalf("client %q is a trusted proxy (%v)", got, p)
			}
		}
	})
}
