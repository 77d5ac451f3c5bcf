package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/internal/wireio"
	"github.com/peerd/peerd/node/connmgr"
	"github.com/peerd/peerd/peer"
	"github.com/peerd/peerd/peer/driver"
)

// testPeer is a raw TCP client that speaks the wire protocol by hand, to
// poke a running node with good and bad input.
type testPeer struct {
	t    testing.TB
	conn net.Conn
	r    *wireio.Reader
	w    *wireio.Writer
}

func dialTestPeer(t testing.TB, addr string) *testPeer {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	return dialTestPeerConn(t, conn)
}

// dialTestPeerConn wraps an established connection.
func dialTestPeerConn(t testing.TB, conn net.Conn) *testPeer {
	net := chaincfg.RegressionNetParams.Net
	return &testPeer{t: t, conn: conn, r: wireio.NewReader(conn, net), w: wireio.NewWriter(conn, net)}
}

func (p *testPeer) send(msg wire.Message) {
	p.t.Helper()
	if err := p.w.Write(msg); err != nil {
		p.t.Fatalf("send %s: %v", msg.Command(), err)
	}
}

func (p *testPeer) raw(b []byte) {
	p.t.Helper()
	if _, err := p.conn.Write(b); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

// rawMayFail writes b to a node that may close the connection before it
// has read it all (it refuses oversized messages on their header).
func (p *testPeer) rawMayFail(b []byte) { p.conn.Write(b) }

// next reads the next message, skipping nothing.
func (p *testPeer) next() wire.Message {
	p.t.Helper()
	msg, err := p.r.Next()
	if err != nil {
		p.t.Fatalf("read: %v", err)
	}
	return msg
}

func (p *testPeer) expect(cmd string) wire.Message {
	p.t.Helper()
	msg := p.next()
	if msg.Command() != cmd {
		p.t.Fatalf("got %s, want %s", msg.Command(), cmd)
	}
	return msg
}

// handshake runs the inbound side's view of a client: version, wtxidrelay,
// sendaddrv2, verack out; the node's version, wtxidrelay, sendaddrv2,
// verack back in exactly that order, then its first ping, answered.
func (p *testPeer) handshake() { p.t.Helper(); p.handshakeWith(true) }

// handshakeWith is handshake, sending wtxidrelay only when wtxid is set.
func (p *testPeer) handshakeWith(wtxid bool) { p.t.Helper(); p.handshakeFull(wtxid, true) }

// handshakeFull is handshake with wtxidrelay and the version's relay flag
// chosen.
func (p *testPeer) handshakeFull(wtxid, relay bool) {
	p.t.Helper()
	p.handshakeNonce(wtxid, relay, 0x5eed)
}

// handshakeNonce is handshakeFull with the version's nonce chosen.
func (p *testPeer) handshakeNonce(wtxid, relay bool, nonce uint64) {
	p.t.Helper()
	v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, nonce, 0)
	v.DisableRelayTx = !relay
	v.Services = wire.SFNodeWitness | wire.SFNodeNetwork
	v.UserAgent = "/testpeer:1.0/"
	p.send(v)
	if wtxid {
		p.send(wire.NewMsgWTxIdRelay())
	}
	p.send(wire.NewMsgSendAddrV2())
	p.send(wire.NewMsgVerAck())
	var got []string
	for _, want := range []string{"version", "wtxidrelay", "sendaddrv2", "verack", "ping"} {
		msg := p.next()
		got = append(got, msg.Command())
		if msg.Command() != want {
			p.t.Fatalf("handshake replies %v, want version wtxidrelay sendaddrv2 verack ping", got)
		}
		if ping, ok := msg.(*wire.MsgPing); ok {
			p.send(wire.NewMsgPong(ping.Nonce))
		}
	}
}

// pingPong checks the node still answers.
func (p *testPeer) pingPong(nonce uint64) {
	p.t.Helper()
	p.send(wire.NewMsgPing(nonce))
	for {
		msg := p.next()
		if pong, ok := msg.(*wire.MsgPong); ok {
			if pong.Nonce != nonce {
				p.t.Fatalf("pong nonce %d, want %d", pong.Nonce, nonce)
			}
			return
		}
	}
}

// expectClosed waits for the node to close the connection.
func (p *testPeer) expectClosed() {
	p.t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, err := p.r.Next()
		if err == nil {
			continue
		}
		var soft *wireio.SoftError
		if errors.As(err, &soft) {
			continue
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
			strings.Contains(err.Error(), "connection reset") {
			return
		}
		p.t.Fatalf("waiting for close: %v", err)
	}
}

// testNode runs a node on a free loopback port until the test ends.
type testNode struct {
	*Node
	addr   string
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func testConfig() Config {
	params := chaincfg.RegressionNetParams
	return Config{
		Params: &params,
		Listen: []string{"127.0.0.1:0"},
		Peer: driver.Config{Machine: peer.Config{Handshake: handshake.Config{
			UserAgent: "/peerd:test/",
			Timeout:   30 * time.Second, // generous: a loaded machine under -race is slow; tests of the timeout set their own
		}}},
		RetryMin: 50 * time.Millisecond,
		RetryMax: 200 * time.Millisecond,
		Dial:     loopbackOnly,
	}
}

// loopbackOnly is the node tests' dialer: a node may learn any address
// through gossip and dial it on its own, but a test talks only to
// 127.0.0.0/8 (and [::1]); anything else fails as an unreachable network.
func loopbackOnly(ctx context.Context, network, addr string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Unmap().IsLoopback() {
		return nil, fmt.Errorf("test dialer: %s is not a loopback address", addr)
	}
	return (&net.Dialer{KeepAlive: -1}).DialContext(ctx, network, addr)
}

func startNode(t testing.TB, cfg Config) *testNode {
	t.Helper()
	return startNodeWith(t, cfg, nil)
}

// startNodeWith is startNode, with rec (if not nil) seeing every step of
// the node's connection manager from the start.
func startNodeWith(t testing.TB, cfg Config, rec *stepRecorder) *testNode {
	t.Helper()
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rec != nil {
		n.observe = rec.observe
	}
	ctx, cancel := context.WithCancel(context.Background())
	tn := &testNode{Node: n, cancel: cancel, done: make(chan error, 1)}
	if as := n.ListenAddrs(); len(as) > 0 {
		tn.addr = as[0].String()
	}
	go func() { tn.done <- n.Run(ctx) }()
	t.Cleanup(tn.stop)
	return tn
}

// stop shuts the node down and waits for Run to return; it may be called
// more than once.
func (tn *testNode) stop() {
	tn.once.Do(func() {
		tn.cancel()
		select {
		case <-tn.done:
		case <-time.After(15 * time.Second):
			buf := make([]byte, 1<<20)
			panic("node did not stop:\n" + string(buf[:runtime.Stack(buf, true)]))
		}
	})
}

// waitFor polls cond every 10 ms for up to 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settleGoroutines waits until the goroutine count drops to at most want.
func settleGoroutines(t testing.TB, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stepRecorder keeps the connection manager's steps, so that a test can
// wait for a decision itself rather than for time to pass.
type stepRecorder struct {
	mu    sync.Mutex
	steps []recordedStep
}

type recordedStep struct {
	ev   connmgr.Event
	acts []connmgr.Action
}

// observe is the node's hook; it runs under the node's lock and only
// appends.
func (r *stepRecorder) observe(ev connmgr.Event, acts []connmgr.Action) {
	r.mu.Lock()
	r.steps = append(r.steps, recordedStep{ev, acts})
	r.mu.Unlock()
}

// find returns the first recorded step that match accepts.
func (r *stepRecorder) find(match func(recordedStep) bool) (recordedStep, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.steps {
		if match(s) {
			return s, true
		}
	}
	return recordedStep{}, false
}

// wait waits (up to waitFor's bound) for a step that match accepts.
func (r *stepRecorder) wait(t testing.TB, what string, match func(recordedStep) bool) recordedStep {
	t.Helper()
	var got recordedStep
	waitFor(t, what, func() bool {
		s, ok := r.find(match)
		got = s
		return ok
	})
	return got
}
