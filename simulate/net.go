package simulate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// DiscoveryName is the first label of the name a phone without a
// provisioned URL looks up: ucupdates-r2.<domain>.
const DiscoveryName = "ucupdates-r2"

// Network timeouts, in wall time. A responder on loopback answers in
// milliseconds; these only keep a hung server from hanging the run.
const (
	dialTimeout     = 10 * time.Second
	dnsTimeout      = 5 * time.Second
	checkTimeout    = 30 * time.Second
	downloadTimeout = 10 * time.Minute // a 40 MB image on a slow link
	// sessionCacheSize bounds the TLS sessions kept for resumption; the
	// phones talk to a handful of names.
	sessionCacheSize = 64
)

// Network is how phones reach the service.
type Network struct {
	// InternalURL and ExternalURL are what in-band provisioning gave the
	// phones on which a user signed in, such as
	// https://ucupdates-r2.contoso.com and
	// https://ucupdates-r2.contoso.com:4443.
	InternalURL, ExternalURL string
	// Domain is the DNS domain phones without a user look up
	// ucupdates-r2.<Domain> in.
	Domain string
	// DNS is the server (host:port) inside phones resolve names with,
	// OutsideDNS the one outside phones use (DNS when empty); "" for the
	// system's resolver.
	DNS, OutsideDNS string
	// InsidePort and OutsidePort, when set, replace the port of every
	// connection inside (outside) phones open, on the address the name
	// resolved to: for a responder listening on test ports, or for the
	// external web site that a reverse proxy publishes on 443.
	InsidePort, OutsidePort string
	// Bind, when valid, gives each phone its own source address from this
	// prefix (127.0.0.0/8 on loopback), as real phones have, so that the
	// responder's per-address limits see phones and not one client. Each
	// phone then opens its own connections.
	Bind netip.Prefix
	// RootCAs are the CAs the phones trust; nil for the system's.
	RootCAs *x509.CertPool
	// NewConnections makes every request open a new connection, as a
	// fleet of phones that each check once does.
	NewConnections bool
}

func (n *Network) check() error {
	for _, u := range []struct{ name, s string }{{"internal URL", n.InternalURL}, {"external URL", n.ExternalURL}} {
		if u.s == "" {
			continue
		}
		pu, err := url.Parse(u.s)
		if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			return fmt.Errorf("simulate: %s %q: want http(s)://host[:port]", u.name, u.s)
		}
	}
	for _, p := range []string{n.InsidePort, n.OutsidePort} {
		if p == "" {
			continue
		}
		if pn, err := netip.ParseAddrPort("0.0.0.0:" + p); err != nil || pn.Port() == 0 {
			return fmt.Errorf("simulate: port %q: want 1 to 65535", p)
		}
	}
	for _, d := range []string{n.DNS, n.OutsideDNS} {
		if d == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(d); err != nil {
			return fmt.Errorf("simulate: DNS server %q: want host:port", d)
		}
	}
	if n.Domain == "" || strings.ContainsAny(n.Domain, "/: ") {
		return fmt.Errorf("simulate: DNS domain %q: want a domain such as contoso.com", n.Domain)
	}
	return nil
}

// DomainOf returns the DNS domain of a service URL: what follows
// ucupdates-r2., or the host without its first label.
func DomainOf(serviceURL string) string {
	u, err := url.Parse(serviceURL)
	if err != nil {
		return ""
	}
	h := u.Hostname()
	if d, ok := strings.CutPrefix(h, DiscoveryName+"."); ok {
		return d
	}
	if _, d, ok := strings.Cut(h, "."); ok {
		return d
	}
	return ""
}

// side is inside or outside the firewall.
type side int

const (
	inside side = iota
	outside
)

func (s side) String() string {
	if s == outside {
		return "outside"
	}
	return "inside"
}

func sideOf(p *Phone) side {
	if p.Outside {
		return outside
	}
	return inside
}

// network holds the resolvers and clients of a run.
type network struct {
	Network
	resolvers [2]*net.Resolver
	shared    [2]*http.Client
	sessions  tls.ClientSessionCache
	conns     int
}

func newNetwork(n Network, concurrency int) *network {
	nw := &network{Network: n, sessions: tls.NewLRUClientSessionCache(sessionCacheSize), conns: concurrency}
	for s, server := range []string{n.DNS, n.OutsideDNS} {
		if server == "" && s == int(outside) {
			server = n.DNS
		}
		if server == "" {
			nw.resolvers[s] = net.DefaultResolver
			continue
		}
		nw.resolvers[s] = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			d := net.Dialer{Timeout: dnsTimeout}
			return d.DialContext(ctx, network, server)
		}}
	}
	for s := range nw.shared {
		nw.shared[s] = &http.Client{Transport: nw.transport(side(s), netip.Addr{})}
	}
	return nw
}

// resolve looks a name up as a phone on side s does.
func (nw *network) resolve(ctx context.Context, s side, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a, nil
	}
	ctx, cancel := context.WithTimeout(ctx, dnsTimeout)
	defer cancel()
	addrs, err := nw.resolvers[s].LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		if a.Unmap().Is4() {
			return a.Unmap(), nil
		}
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("lookup %s: no addresses", host)
	}
	return addrs[0], nil
}

// why words a failed lookup: the DNS server asked and what it said. (The
// resolver's own message names the system's server even when it asked
// another.)
func (nw *network) why(s side, err error) string {
	server := nw.DNS
	if s == outside && nw.OutsideDNS != "" {
		server = nw.OutsideDNS
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		err = errors.New(de.Err)
		if de.IsNotFound {
			err = errors.New("no such name")
		}
	}
	if server == "" {
		return fmt.Sprintf(": %v", err)
	}
	return fmt.Sprintf(" at DNS server %s: %v", server, err)
}

func (nw *network) transport(s side, src netip.Addr) *http.Transport {
	port := nw.InsidePort
	if s == outside {
		port = nw.OutsidePort
	}
	d := &net.Dialer{Timeout: dialTimeout}
	if src.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, p, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			ip, err := nw.resolve(ctx, s, host)
			if err != nil {
				return nil, err
			}
			if port != "" {
				p = port
			}
			return d.DialContext(ctx, network, net.JoinHostPort(ip.String(), p))
		},
		TLSClientConfig:     &tls.Config{RootCAs: nw.RootCAs, ClientSessionCache: nw.sessions, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: dialTimeout,
		// Phones speak HTTP/1.1.
		ForceAttemptHTTP2:     false,
		MaxIdleConns:          nw.conns,
		MaxIdleConnsPerHost:   nw.conns,
		ResponseHeaderTimeout: checkTimeout,
		DisableKeepAlives:     nw.NewConnections,
	}
}

// client returns the HTTP client phone i on side s uses for one step, and
// what to call when the step is over.
func (nw *network) client(s side, i int) (*http.Client, func()) {
	if !nw.Bind.IsValid() {
		return nw.shared[s], func() {}
	}
	tr := nw.transport(s, addrAt(nw.Bind, i+1))
	return &http.Client{Transport: tr}, tr.CloseIdleConnections
}

func (nw *network) close() {
	for _, c := range nw.shared {
		c.Transport.(*http.Transport).CloseIdleConnections()
	}
}

// addrAt returns the i-th address of a prefix (0 is the prefix's own).
func addrAt(p netip.Prefix, i int) netip.Addr {
	b := p.Masked().Addr().As16()
	carry := uint64(i)
	for k := 15; k >= 0 && carry > 0; k-- {
		sum := uint64(b[k]) + carry&0xff
		b[k] = byte(sum)
		carry = carry>>8 + sum>>8
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		a = a.Unmap()
	}
	return a
}

// bindRoom reports whether a prefix has n addresses besides its own.
func bindRoom(p netip.Prefix, n int) bool {
	host := p.Addr().BitLen() - p.Bits()
	return host >= 31 || n < 1<<host-1
}
