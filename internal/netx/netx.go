// Package netx finds the client of an HTTP request behind reverse proxies.
package netx

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the reverse proxies (load balancers) whose X-Forwarded-For
// header Consento believes. Without any, the peer address is the client.
type Proxies []netip.Prefix

// ParseProxies reads a comma-separated list of addresses and CIDR ranges,
// such as "10.0.0.0/8, 192.0.2.7".
func ParseProxies(s string) (Proxies, error) {
	var out Proxies
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q is neither an address nor a CIDR range", f)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither an address nor a CIDR range", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (ps Proxies) trusted(addr string) bool {
	a, err := netip.ParseAddr(strings.TrimSpace(addr))
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP is the address of the client that made r: the peer address,
// unless the peer is a trusted proxy; then the nearest address in
// X-Forwarded-For that is not a trusted proxy. Addresses a client wrote
// into the header itself sit to the left of that one and are ignored.
func (ps Proxies) ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(ps) == 0 || !ps.trusted(host) {
		return host
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if _, err := netip.ParseAddr(hop); err != nil {
			return host // a malformed header: keep the proxy's address
		}
		if !ps.trusted(hop) {
			return hop
		}
	}
	return host
}
