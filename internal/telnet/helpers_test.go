package telnet

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"

	"github.com/peerd/peerd/node"
)

// guard bounds every wait in these tests.
const guard = 10 * time.Second

// startServer runs a server on 127.0.0.1 until the test ends; stop ends
// it early and returns Serve's error once Serve has returned.
func startServer(t *testing.T, cfg Config) (srv *Server, stop func() error) {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	if cfg.Version == "" {
		cfg.Version, cfg.Network = "9.9.9", "regtest"
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	var once sync.Once
	var serveErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case serveErr = <-done:
			case <-time.After(guard):
				t.Error("Serve did not return")
			}
		})
		return serveErr
	}
	t.Cleanup(func() { stop() })
	return srv, stop
}

// client is a raw TCP client of a session.
type client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, srv *Server) *client {
	t.Helper()
	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, r: bufio.NewReader(c)}
}

// open dials and reads the greeting.
func open(t *testing.T, srv *Server) *client {
	t.Helper()
	c := dial(t, srv)
	c.expect(greeting(0)...)
	return c
}

// greeting is what a session says first, without its first line (which
// has the session number).
func greeting(skip int) []string {
	g := []string{"", "[welcome -> standby on at once]", "you are in standby: say PING? to start; /help for console commands"}
	return g[skip:]
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := c.c.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// line reads one line, without its CR LF, which every line must end with.
func (c *client) line() string {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(guard))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("reading a line: %v (got %q)", err, l)
	}
	if !strings.HasSuffix(l, "\r\n") {
		c.t.Fatalf("line %q does not end with CR LF", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// expect reads len(want) lines and compares them; an empty want matches
// any line whatever.
func (c *client) expect(want ...string) {
	c.t.Helper()
	var got []string
	for range want {
		got = append(got, c.line())
	}
	for i := range want {
		if want[i] != "" && got[i] != want[i] {
			c.t.Fatalf("got lines\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
		}
	}
}

// lines reads n lines.
func (c *client) lines(n int) []string {
	c.t.Helper()
	out := make([]string, n)
	for i := range out {
		out[i] = c.line()
	}
	return out
}

// say sends a line with CR LF and expects the answer.
func (c *client) say(line string, want ...string) {
	c.t.Helper()
	c.send(line + "\r\n")
	c.expect(want...)
}

// eof expects the server to have closed the session: no more lines.
func (c *client) eof() {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(guard))
	rest, err := io.ReadAll(c.r)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.t.Fatalf("the session is still open (read %q)", rest)
		}
	}
	if len(rest) > 0 {
		c.t.Fatalf("more output before the end: %q", rest)
	}
}

// fakeConsole records what the console asks.
type fakeConsole struct {
	mu           sync.Mutex
	peers        []node.PeerInfo
	mempool      []node.MempoolEntry
	sent         []string
	disconnected []string
	killed       int
	panics       bool
}

func (f *fakeConsole) Peers() []node.PeerInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.panics {
		panic("peer table on fire")
	}
	return slices.Clone(f.peers)
}

func (f *fakeConsole) MempoolEntries() []node.MempoolEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mempool
}

// SendRawTransaction refuses 00 as no transaction and fails dead with a
// plain error.
func (f *fakeConsole) SendRawTransaction(raw []byte) (chainhash.Hash, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch h := hex.EncodeToString(raw); h {
	case "00":
		return chainhash.Hash{}, &node.Error{Kind: node.ErrKindTxDecode, Err: errors.New("transaction does not decode: EOF")}
	case "dead":
		return chainhash.Hash{}, errors.New("disk full")
	default:
		f.sent = append(f.sent, h)
	}
	var txid chainhash.Hash
	for i := range txid {
		txid[i] = 0xab
	}
	return txid, nil
}

func (f *fakeConsole) DisconnectNode(addr string, id int64, byID bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.peers {
		if byID && int64(p.ID) == id || !byID && p.Addr == addr {
			f.disconnected = append(f.disconnected, p.Addr)
			return nil
		}
	}
	return &node.Error{Kind: node.ErrKindNotFound, Err: errors.New("no such fake peer")}
}

func (f *fakeConsole) DisconnectAll() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.killed++
	return len(f.peers)
}

// peerInfo is a wire peer in standby, with a short history.
func peerInfo(id uint64, subver string) node.PeerInfo {
	return node.PeerInfo{
		ID: id, Addr: fmt.Sprintf("127.0.0.1:%d", 40000+id), UserAgent: subver, State: "standby", LastPing: 1500 * time.Microsecond, Transport: "v1",
		Transitions: []node.Transition{
			{At: time.UnixMilli(1700000000250), From: "handshake/init", To: "handshake/sentVersion", On: "start outbound"},
			{At: time.UnixMilli(1700000000500), From: "handshake", To: "standby", On: "handshake done"},
		},
	}
}

func dialErr(srv *Server) (net.Conn, error) {
	return net.DialTimeout("tcp", srv.Addr().String(), guard)
}

// waitFor polls cond until it holds, for at most guard.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitGoroutines waits until no more goroutines run than before.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
