// Package webhook sends the clients' events to their webhook receivers: where a receiver
// may point, the signed requests, and the worker that turns the change feed into
// deliveries and attempts them until they succeed or fail for good.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/custd/custd/internal/customer"
)

// Resolver looks up the addresses of a host name; net.DefaultResolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard decides where webhooks may be sent. By default only https URLs whose host has
// public addresses only: a tenant must not be able to make custd probe or call its own
// network (the loopback, private ranges, link-local addresses such as the cloud metadata
// service at 169.254.169.254). The check is made when a receiver is registered and again
// on every connection, on the address actually dialled, since DNS answers can change.
type Guard struct {
	// AllowPrivate allows http and internal addresses, for development and tests.
	AllowPrivate bool
	// Resolver looks up host names; nil means net.DefaultResolver.
	Resolver Resolver
}

func (g *Guard) resolver() Resolver {
	if g.Resolver == nil {
		return net.DefaultResolver
	}
	return g.Resolver
}

// CheckURL reports why a receiver may not point at raw. Errors: Invalid on url.
func (g *Guard) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return urlProblem("must be an absolute URL such as https://hooks.example.com/custd")
	}
	if u.Scheme != "https" && !g.AllowPrivate {
		return urlProblem("must be an https URL")
	}
	if g.AllowPrivate {
		return nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if internal(ip) {
			return urlProblem(fmt.Sprintf("must not point at an internal address (%s is %s)", host, kindOf(ip)))
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := g.resolver().LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return urlProblem(fmt.Sprintf("must name a host that resolves (%s does not)", host))
	}
	for _, ip := range ips {
		if internal(ip) {
			return urlProblem(fmt.Sprintf("must not point at an internal address (%s resolves to %s, %s)", host, ip.Unmap(), kindOf(ip)))
		}
	}
	return nil
}

func urlProblem(msg string) error { return customer.Problems{{Field: "url", Message: msg}}.Err() }

// internal reports whether ip is not a public unicast address.
func internal(ip netip.Addr) bool {
	ip = ip.Unmap()
	return !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() ||
		sharedAddressSpace.Contains(ip) || ip == netip.IPv4Unspecified()
}

// sharedAddressSpace is 100.64.0.0/10 (RFC 6598), carrier-grade NAT: not public.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

func kindOf(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	case ip.IsUnspecified():
		return "the unspecified address"
	}
	return "not a public address"
}

// errInternal is what a connection to an internal address fails with.
var errInternal = errors.New("refused: the receiver's address is internal")

// dialer is a net.Dialer whose Control hook refuses internal addresses, unless allowed.
func (g *Guard) dialer() *net.Dialer {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if !g.AllowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || internal(ap.Addr()) {
				return fmt.Errorf("%w (%s)", errInternal, address)
			}
			return nil
		}
	}
	return d
}

// dial connects to addr (host:port) through the guard: the host is resolved here and each
// address is dialled with the guard's Control hook, so that no address it refuses is
// connected to, whatever the name resolved to at registration.
func (g *Guard) dial(ctx context.Context, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, err := g.resolver().LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	d := g.dialer()
	var last error
	for _, ip := range ips {
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		last = err
	}
	if last == nil {
		last = fmt.Errorf("%s has no address", host)
	}
	return nil, last
}
