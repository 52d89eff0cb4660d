package netx_test

import (
	"net/http/httptest"
	"testing"

	"github.com/consento/consento/internal/netx"
)

func TestClientIP(t *testing.T) {
	ps, err := netx.ParseProxies("10.0.0.0/8, 192.0.2.7 ,2001:db8::/32")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, peer, xff string
		proxies         netx.Proxies
		want            string
	}{
		{"no proxies trusted: the peer, whatever the header says", "198.51.100.1:5000", "203.0.113.9", nil, "198.51.100.1"},
		{"an untrusted peer cannot claim another address", "198.51.100.1:5000", "203.0.113.9", ps, "198.51.100.1"},
		{"behind the load balancer", "10.1.2.3:443", "203.0.113.9", ps, "203.0.113.9"},
		{"two proxies", "10.1.2.3:443", "203.0.113.9, 192.0.2.7", ps, "203.0.113.9"},
		{"a forged hop left of the real client is ignored", "10.1.2.3:443", "1.1.1.1, 203.0.113.9", ps, "203.0.113.9"},
		{"IPv6", "[2001:db8::1]:443", "2001:db8:ffff::2, 2a00:1450::1", ps, "2a00:1450::1"},
		{"no header", "10.1.2.3:443", "", ps, "10.1.2.3"},
		{"a malformed header keeps the proxy", "10.1.2.3:443", "203.0.113.9, not-an-ip", ps, "10.1.2.3"},
		{"only proxies in the header", "10.1.2.3:443", "10.9.9.9", ps, "10.1.2.3"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := c.proxies.ClientIP(r); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	if _, err := netx.ParseProxies("10.0.0.0/8, example.com"); err == nil {
		t.Error("a host name was accepted as a trusted proxy")
	}
}
