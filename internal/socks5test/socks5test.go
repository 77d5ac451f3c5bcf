// Package socks5test runs real SOCKS5 servers for tests, on 127.0.0.1:
// Debian's microsocks (the plain path, as an operator would run a proxy),
// and an in-process server on github.com/armon/go-socks5 that accepts any
// credentials and logs, per connection, the credentials offered and the
// target as the client sent it (a host name stays a name: the server's
// resolver, which the test gives, maps it and logs it).
package socks5test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	socks5 "github.com/armon/go-socks5"
)

// Conn is one CONNECT request the server was asked for.
type Conn struct {
	// User and Password are the credentials the client authenticated
	// with; both empty for "no authentication".
	User, Password string
	// Target is the destination as the client sent it: "name:port" for a
	// host name, "ip:port" for an address.
	Target string
	// Name is true when the client sent a host name.
	Name bool
}

// Options choose the server's behaviour.
type Options struct {
	// NoAuth accepts "no authentication"; UserPass accepts any user name
	// and password. Neither means both. The server takes the first
	// method, in the client's order of offer, that it accepts.
	NoAuth, UserPass bool
	// Resolve maps host names to IP addresses (the proxy's resolver);
	// an unknown name is answered "host unreachable". Nothing is ever
	// resolved through DNS.
	Resolve map[string]string
	// Refuse answers every CONNECT "not allowed by ruleset".
	Refuse bool
}

// Server is an in-process SOCKS5 server. Create it with Start; it stops
// when the test ends.
type Server struct {
	l     net.Listener
	mu    sync.Mutex
	creds map[string]string // user → password, as offered
	conns []Conn
	open  []net.Conn
	names []string // names the resolver was asked for
	done  chan struct{}
}

// Start runs a server on a free 127.0.0.1 port until the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{l: l, creds: map[string]string{}, done: make(chan struct{})}
	if !opts.NoAuth && !opts.UserPass {
		opts.NoAuth, opts.UserPass = true, true
	}
	var auths []socks5.Authenticator
	if opts.NoAuth {
		auths = append(auths, socks5.NoAuthAuthenticator{})
	}
	if opts.UserPass {
		auths = append(auths, socks5.UserPassAuthenticator{Credentials: anyCreds{s}})
	}
	srv, err := socks5.New(&socks5.Config{
		AuthMethods: auths,
		Resolver:    resolver{s, opts.Resolve},
		Rules:       rules{s, opts.Refuse},
		Logger:      log.New(io.Discard, "", 0),
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.done)
		srv.Serve(trackingListener{l, s})
	}()
	t.Cleanup(s.Close)
	return s
}

// Addr is the server's "127.0.0.1:port".
func (s *Server) Addr() string { return s.l.Addr().String() }

// Conns returns the CONNECT requests so far, in order.
func (s *Server) Conns() []Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Conn(nil), s.conns...)
}

// Names returns the host names the server was asked to resolve.
func (s *Server) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.names...)
}

// Close stops accepting and closes every connection the server took.
func (s *Server) Close() {
	s.l.Close()
	<-s.done
	s.mu.Lock()
	for _, c := range s.open {
		c.Close()
	}
	s.open = nil
	s.mu.Unlock()
}

type trackingListener struct {
	net.Listener
	s *Server
}

func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.open = append(l.s.open, c)
		l.s.mu.Unlock()
	}
	return c, err
}

// anyCreds accepts every user name and password and remembers them.
type anyCreds struct{ s *Server }

func (c anyCreds) Valid(user, password string) bool {
	c.s.mu.Lock()
	c.s.creds[user] = password
	c.s.mu.Unlock()
	return true
}

type resolver struct {
	s     *Server
	names map[string]string
}

func (r resolver) Resolve(ctx context.Context, name string) (context.Context, net.IP, error) {
	r.s.mu.Lock()
	r.s.names = append(r.s.names, name)
	r.s.mu.Unlock()
	if ip := net.ParseIP(r.names[name]); ip != nil {
		return ctx, ip, nil
	}
	return ctx, nil, fmt.Errorf("socks5test: unknown name %q", name)
}

// rules logs every request, then allows it (or, with refuse, not).
type rules struct {
	s      *Server
	refuse bool
}

func (r rules) Allow(ctx context.Context, req *socks5.Request) (context.Context, bool) {
	c := Conn{}
	if a := req.AuthContext; a != nil {
		c.User = a.Payload["Username"]
	}
	if d := req.DestAddr; d != nil {
		c.Name = d.FQDN != ""
		host := d.FQDN
		if !c.Name {
			host = d.IP.String()
		}
		c.Target = net.JoinHostPort(host, strconv.Itoa(d.Port))
	}
	r.s.mu.Lock()
	c.Password = r.s.creds[c.User]
	r.s.conns = append(r.s.conns, c)
	r.s.mu.Unlock()
	return ctx, !r.refuse
}

// Microsocks starts Debian's microsocks on a free 127.0.0.1 port until
// the test ends and returns its address; args go to microsocks (-b ADDR
// binds its outgoing connections to ADDR, so that their peers can tell
// them from direct ones). Without microsocks the test skips, or fails when
// the CI variable is set (.ci/run installs it).
func Microsocks(t testing.TB, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("microsocks")
	if err != nil {
		msg := "this test needs a real SOCKS5 server: apt-get install microsocks " +
			"(go test caches this skip: run it again with -count=1, as README's command does)"
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v", msg, err)
		}
		t.Skip(msg)
	}
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		l.Close()
		cmd := exec.Command(bin, append([]string{"-i", "127.0.0.1", "-p", port}, args...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		addr := net.JoinHostPort("127.0.0.1", port)
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			select {
			case <-exited:
				deadline = time.Time{} // lost the port: try another
				continue
			default:
			}
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				t.Cleanup(func() {
					cmd.Process.Kill()
					<-exited
				})
				return addr
			}
			time.Sleep(10 * time.Millisecond)
		}
		cmd.Process.Kill()
		<-exited
	}
	t.Fatal("microsocks did not start")
	return ""
}
