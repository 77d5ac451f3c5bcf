package proxydial

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/peerd/peerd/internal/socks5test"
)

// echoServer accepts connections on 127.0.0.1 and echoes what they send.
func echoServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return l.Addr().String()
}

// noDirect fails the test if anything is dialled but the proxy.
func noDirect(t *testing.T, proxyAddr string) DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr != proxyAddr {
			t.Errorf("direct dial of %s", addr)
			return nil, errors.New("direct dial")
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
}

func echo(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "ping" {
		t.Fatalf("echo: %q, %v", b, err)
	}
}

func dial(t *testing.T, d *Dialer, addr string) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Each connection offers its own random credentials; the server that
// accepts only user/password sees them, and one that accepts only "no
// authentication" is still served: both methods are offered, as Core does.
func TestRandomCredentialsPerConnection(t *testing.T) {
	target := echoServer(t)
	s := socks5test.Start(t, socks5test.Options{UserPass: true})
	d := New(Config{Proxy: s.Addr(), Randomize: true, Direct: noDirect(t, s.Addr())})
	for range 3 {
		echo(t, dial(t, d, target))
	}
	seen := map[string]bool{}
	for _, c := range s.Conns() {
		if c.User == "" || c.Password == "" || c.Target != target {
			t.Fatalf("connection %+v: want credentials and target %s", c, target)
		}
		seen[c.User+":"+c.Password] = true
	}
	if len(s.Conns()) != 3 || len(seen) != 3 {
		t.Fatalf("connections %+v: want 3 with distinct credentials", s.Conns())
	}
	noAuth := socks5test.Start(t, socks5test.Options{NoAuth: true})
	echo(t, dial(t, New(Config{Proxy: noAuth.Addr(), Randomize: true}), target))
}

// Without Randomize no credentials are offered: a server that accepts
// both methods sees none.
func TestNoRandomize(t *testing.T) {
	target := echoServer(t)
	s := socks5test.Start(t, socks5test.Options{})
	d := New(Config{Proxy: s.Addr(), Direct: noDirect(t, s.Addr())})
	for range 2 {
		echo(t, dial(t, d, target))
	}
	for _, c := range s.Conns() {
		if c.User != "" || c.Password != "" {
			t.Fatalf("credentials sent without Randomize: %+v", c)
		}
	}
	userPassOnly := socks5test.Start(t, socks5test.Options{UserPass: true})
	_, err := New(Config{Proxy: userPassOnly.Addr()}).DialContext(context.Background(), "tcp", target)
	if err == nil {
		t.Fatal("a server that wants credentials accepted none")
	}
}

// A host name reaches the proxy as a name, never resolved here; the
// connection reports the target, not the proxy, as its remote address,
// and offers the socket's descriptor.
func TestNamePassedUnresolved(t *testing.T) {
	target := echoServer(t)
	_, port, _ := net.SplitHostPort(target)
	s := socks5test.Start(t, socks5test.Options{Resolve: map[string]string{"seed.example": "127.0.0.1"}})
	d := New(Config{Proxy: s.Addr(), Randomize: true, Direct: noDirect(t, s.Addr())})
	c := dial(t, d, "seed.example:"+port)
	echo(t, c)
	if got := s.Conns()[0]; !got.Name || got.Target != "seed.example:"+port {
		t.Fatalf("the proxy was asked for %+v", got)
	}
	if c.RemoteAddr().String() != "seed.example:"+port {
		t.Fatalf("remote address %s", c.RemoteAddr())
	}
	// The descriptor carries the peer's bytes, as the peer driver's direct
	// writes need: a write to it comes back from the echo server.
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatal("no descriptor")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	if err := rc.Write(func(fd uintptr) bool {
		_, werr = syscall.Write(int(fd), []byte("ping"))
		return werr != syscall.EAGAIN
	}); err != nil || werr != nil {
		t.Fatal(err, werr)
	}
	b := make([]byte, 4)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "ping" {
		t.Fatalf("direct write echoed %q, %v", b, err)
	}
	ip := dial(t, d, target)
	if ta, ok := ip.RemoteAddr().(*net.TCPAddr); !ok || ta.String() != target {
		t.Fatalf("remote address %v, want %s", ip.RemoteAddr(), target)
	}
}

// .onion goes to the onion proxy, or Proxy without one, and is refused
// without any; other targets go to Proxy or directly.
func TestOnionRouting(t *testing.T) {
	onion := "vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd.onion:8333"
	cases := []struct {
		cfg         Config
		target, via string
		ok          bool
	}{
		{Config{}, onion, "", false},
		{Config{}, "1.2.3.4:8333", "", true},
		{Config{Proxy: "p:1"}, onion, "p:1", true},
		{Config{Onion: "o:1"}, onion, "o:1", true},
		{Config{Onion: "o:1"}, "1.2.3.4:8333", "", true},
		{Config{Proxy: "p:1", Onion: "o:1"}, onion, "o:1", true},
		{Config{Proxy: "p:1", Onion: "o:1"}, "x.example:8333", "p:1", true},
		{Config{}, "X.ONION.:1", "", false},
	}
	for _, c := range cases {
		via, ok := New(c.cfg).ProxyFor(c.target)
		if via != c.via || ok != c.ok {
			t.Errorf("%+v %s: %q %v, want %q %v", c.cfg, c.target, via, ok, c.via, c.ok)
		}
	}
	_, err := New(Config{Direct: noDirect(t, "")}).DialContext(context.Background(), "tcp", onion)
	if !errors.Is(err, ErrNoOnionProxy) {
		t.Fatalf("onion without a proxy: %v", err)
	}
}

// A proxy that is down, refuses, or answers garbage gives an *Error that
// names the proxy and the target; nothing is dialled directly.
func TestBadProxy(t *testing.T) {
	target := echoServer(t)
	down, _ := net.Listen("tcp", "127.0.0.1:0")
	downAddr := down.Addr().String()
	down.Close()
	refusing := socks5test.Start(t, socks5test.Options{Refuse: true})
	garbage, _ := net.Listen("tcp", "127.0.0.1:0")
	t.Cleanup(func() { garbage.Close() })
	go func() {
		for {
			c, err := garbage.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\n"))
			c.Close()
		}
	}()
	for _, c := range []struct{ name, proxy, stage, says string }{
		{"down", downAddr, "connecting to the proxy", "refused"},
		{"refusing", refusing.Addr(), "SOCKS5 handshake", "not allowed"},
		{"garbage", garbage.Addr().String(), "SOCKS5 handshake", "version"},
	} {
		d := New(Config{Proxy: c.proxy, Randomize: true, Direct: noDirect(t, c.proxy)})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := d.DialContext(ctx, "tcp", target)
		cancel()
		var pe *Error
		if !errors.As(err, &pe) || pe.Proxy != c.proxy || pe.Target != target || pe.Stage != c.stage ||
			!strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
