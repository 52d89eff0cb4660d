package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Receivers must be public: a subscription must not turn Consento into a
// way to reach internal services (server-side request forgery). URLs are
// checked when saved and every address is checked again when dialled, so
// a name that later resolves to an internal address is refused too.

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// internalAddr reports whether a is loopback, private, link-local,
// unspecified, multicast or shared (CGNAT) address space.
func internalAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() ||
		a.IsMulticast() || a.IsUnspecified() || cgnat.Contains(a)
}

// CheckURL validates a receiver URL under the service's options.
func (s *Service) CheckURL(ctx context.Context, raw string) error {
	const field = "url"
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return invalid(field, "the receiver URL is required")
	}
	if len(raw) > 2000 {
		return invalid(field, "the URL is too long (at most 2,000 characters)")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return invalid(field, "enter an absolute URL, e.g. https://crm.example.com/hooks/consento")
	}
	if u.User != nil {
		return invalid(field, "the URL must not contain a user name or password")
	}
	if u.Fragment != "" {
		return invalid(field, "the URL must not contain a fragment (#…)")
	}
	host := u.Hostname()
	addrs, err := s.resolve(ctx, host)
	if err != nil {
		return invalid(field, "the host "+host+" cannot be resolved")
	}
	switch u.Scheme {
	case "https":
	case "http":
		loopback := len(addrs) > 0
		for _, a := range addrs {
			loopback = loopback && a.Unmap().IsLoopback()
		}
		if !s.opts.AllowHTTP && !loopback {
			return invalid(field, "use https:// (http:// only to this machine, unless CONSENTO_WEBHOOK_ALLOW_HTTP is set)")
		}
	default:
		return invalid(field, "the URL must start with https://")
	}
	if !s.opts.AllowPrivate {
		for _, a := range addrs {
			if internalAddr(a) {
				return invalid(field, "the host resolves to an internal address ("+a.String()+"); receivers must be public unless CONSENTO_WEBHOOK_ALLOW_PRIVATE is set")
			}
		}
	}
	return nil
}

func (s *Service) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{a}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err == nil && len(addrs) == 0 {
		err = errors.New("no address")
	}
	return addrs, err
}

// errInternal is the error of a refused dial.
var errInternal = errors.New("webhook: the receiver resolves to an internal address")

func (s *Service) newClient() *http.Client {
	d := &net.Dialer{Timeout: s.opts.Timeout}
	if !s.opts.AllowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("webhook: dial %q: %w", address, err)
			}
			if internalAddr(ap.Addr()) {
				return errInternal
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would dial for us, unchecked
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   s.opts.Timeout,
		ResponseHeaderTimeout: s.opts.Timeout,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   s.opts.Timeout,
		// A redirect is an answer, not a delivery: it could lead anywhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
