// Package proxydial opens the node's outbound connections, directly or
// through a SOCKS5 proxy (Bitcoin Core's -proxy and -onion): with a proxy,
// the target's host name goes to the proxy unresolved, so no connection and
// no DNS query leaves the machine directly; .onion names go to the onion
// proxy and are refused when there is none.
//
// With Randomize (Core's -proxyrandomize, on by default) every connection
// offers the proxy both "no authentication" and a fresh random user name
// and password, as Core does: Tor isolates streams by their credentials,
// so each peer gets its own circuit.
//
// A connection through a proxy is not a *net.TCPConn, but it keeps the
// socket underneath: the SOCKS5 handshake runs on a TCP connection this
// package dialled itself, so the returned conn offers that socket's
// descriptor (syscall.Conn) for the peer driver's direct writes, and
// reports the target, not the proxy, as its remote address.
package proxydial

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"

	"golang.org/x/net/proxy"
)

// ErrNoOnionProxy refuses a .onion target when no proxy can reach Tor.
var ErrNoOnionProxy = errors.New("no proxy for .onion addresses (set --onion or --proxy)")

// DialFunc is the shape of net.Dialer.DialContext.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Config says how to reach the network.
type Config struct {
	// Proxy is the SOCKS5 proxy for every outbound connection,
	// "host:port"; "" dials directly.
	Proxy string
	// Onion is the SOCKS5 proxy for .onion targets; "" means Proxy.
	Onion string
	// Randomize gives each connection its own random credentials.
	Randomize bool
	// Direct opens the TCP connections: to the proxy, or, without one,
	// to the target. Nil means a net.Dialer without keep-alive.
	Direct DialFunc
}

// Dialer opens connections as its Config says. It is safe for concurrent
// use.
type Dialer struct {
	cfg Config
}

// New returns a Dialer for cfg.
func New(cfg Config) *Dialer {
	if cfg.Direct == nil {
		cfg.Direct = (&net.Dialer{KeepAlive: -1}).DialContext
	}
	return &Dialer{cfg: cfg}
}

// IsOnion reports whether addr ("host:port" or "host") names a Tor
// onion service.
func IsOnion(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	return strings.HasSuffix(strings.ToLower(strings.TrimSuffix(host, ".")), ".onion")
}

// ProxyFor is the proxy a connection to addr goes through: "" for a
// direct connection; ok is false when addr cannot be reached at all (a
// .onion without an onion proxy).
func (d *Dialer) ProxyFor(addr string) (proxyAddr string, ok bool) {
	if IsOnion(addr) {
		p := d.cfg.Onion
		if p == "" {
			p = d.cfg.Proxy
		}
		return p, p != ""
	}
	return d.cfg.Proxy, true
}

// Error is a failed connection through a proxy: it names both the proxy
// and the target, so that a log line says which was at fault.
type Error struct {
	Proxy, Target string
	// Stage is where it failed: StageConnect or StageHandshake.
	Stage string
	Err   error
}

// Stages of a connection through a proxy.
const (
	// StageConnect: the proxy could not be reached; the target is not
	// to blame.
	StageConnect = "connecting to the proxy"
	// StageHandshake: the SOCKS5 exchange failed, or the proxy could not
	// reach the target.
	StageHandshake = "SOCKS5 handshake"
)

func (e *Error) Error() string {
	return fmt.Sprintf("proxy %s to %s: %s: %v", e.Proxy, e.Target, e.Stage, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// DialContext connects to addr ("host:port") over network "tcp", through
// the proxy that ProxyFor names. Errors through a proxy are *Error.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	p, ok := d.ProxyFor(addr)
	if !ok {
		return nil, fmt.Errorf("dial %s: %w", addr, ErrNoOnionProxy)
	}
	if p == "" {
		return d.cfg.Direct(ctx, network, addr)
	}
	c, err := d.cfg.Direct(ctx, "tcp", p)
	if err != nil {
		return nil, &Error{Proxy: p, Target: addr, Stage: StageConnect, Err: err}
	}
	var auth *proxy.Auth
	if d.cfg.Randomize {
		auth = &proxy.Auth{User: randomCredential(), Password: randomCredential()}
	}
	// The proxy's own dial is never used: the handshake runs on c.
	pd, err := proxy.SOCKS5("tcp", p, auth, nil)
	if err != nil {
		c.Close()
		return nil, &Error{Proxy: p, Target: addr, Stage: StageHandshake, Err: err}
	}
	wc, ok := pd.(interface {
		DialWithConn(ctx context.Context, c net.Conn, network, address string) (net.Addr, error)
	})
	if !ok {
		c.Close()
		return nil, &Error{Proxy: p, Target: addr, Stage: StageHandshake, Err: errors.New("x/net/proxy's dialer has no DialWithConn")}
	}
	if _, err := wc.DialWithConn(ctx, c, network, addr); err != nil {
		c.Close()
		return nil, &Error{Proxy: p, Target: addr, Stage: StageHandshake, Err: err}
	}
	return &conn{Conn: c, remote: targetAddr(addr)}, nil
}

// randomCredential is 16 random bytes in hex: SOCKS5 allows up to 255.
func randomCredential() string {
	var b [16]byte
	crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// conn is a connection through a proxy: the proxy's TCP connection, with
// the target as its remote address.
type conn struct {
	net.Conn
	remote net.Addr
}

func (c *conn) RemoteAddr() net.Addr { return c.remote }

// SyscallConn offers the underlying socket, whose bytes after the SOCKS5
// handshake are the peer's.
func (c *conn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.New("proxydial: connection has no descriptor")
}

// targetAddr is the remote address of a connection to addr: a
// *net.TCPAddr for an IP address, a Name for a host name.
func targetAddr(addr string) net.Addr {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return net.TCPAddrFromAddrPort(ap)
	}
	return Name(addr)
}

// Name is the remote address of a connection to a host name ("host:port"),
// which only the proxy resolved.
type Name string

// Network is "tcp".
func (Name) Network() string { return "tcp" }

func (n Name) String() string { return string(n) }
