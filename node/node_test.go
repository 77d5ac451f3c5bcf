package node

import (
	"context"
	"net"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/node/connmgr"
)

func standby(n *testNode, inbound bool) func() bool {
	return func() bool {
		for _, s := range n.Peers() {
			if s.State == "standby" && s.Inbound == inbound {
				return true
			}
		}
		return false
	}
}

func TestTwoNodesHandshakeAndShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	a := startNode(t, testConfig())
	cfg := testConfig()
	cfg.NoListen = true
	cfg.Connect = []string{a.addr}
	b := startNode(t, cfg)
	waitFor(t, "a to see b in standby", standby(a, true))
	waitFor(t, "b to see a in standby", standby(b, false))
	s := b.Peers()[0]
	if s.UserAgent != "/peerd:test/" || s.ProtocolVersion != 70016 || !s.WTxIDRelay || !s.AddrV2 {
		t.Fatalf("b's view of a: %+v", s)
	}
	waitFor(t, "a ping round trip", func() bool { return b.Peers()[0].LastPing > 0 })
	b.stop()
	a.stop()
	settleGoroutines(t, before)
}

func TestSelfConnectionRefused(t *testing.T) {
	cfg := testConfig()
	// Bind first so the node can be told to connect to itself.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg.Listen = []string{addr}
	cfg.Connect = []string{addr}
	cfg.RetryMin = time.Hour // one attempt is enough to look at
	rec := &stepRecorder{}
	startNodeWith(t, cfg, rec)
	// The inbound side sees our own outbound nonce and drops the
	// connection; then the outbound side sees it close. Neither may have
	// finished its handshake.
	in := rec.wait(t, "the inbound side to be accepted", func(s recordedStep) bool {
		return s.ev.Kind == connmgr.EvInbound && hasAction(s.acts, connmgr.ActAccept)
	}).ev.ID
	out := rec.wait(t, "the outbound side to be accepted", func(s recordedStep) bool {
		return s.ev.Kind == connmgr.EvConnected && hasAction(s.acts, connmgr.ActAccept)
	}).ev.ID
	closed := rec.wait(t, "the inbound side to end", func(s recordedStep) bool {
		return s.ev.Kind == connmgr.EvClosed && s.ev.ID == in
	})
	if closed.ev.Reason != string(handshake.FailSelfConnection) {
		t.Fatalf("inbound side ended with %q, want %q", closed.ev.Reason, handshake.FailSelfConnection)
	}
	rec.wait(t, "the outbound side to end", func(s recordedStep) bool {
		return s.ev.Kind == connmgr.EvClosed && s.ev.ID == out
	})
	if s, ok := rec.find(func(s recordedStep) bool { return s.ev.Kind == connmgr.EvReady }); ok {
		t.Fatalf("peer %d finished a handshake with ourselves", s.ev.ID)
	}
}

// Our nonce on an outbound connection identifies a connection to
// ourselves only while that outbound handshake is unfinished (Core's
// CheckIncomingNonce): once it is done, an inbound peer that happens to
// send the same nonce is an ordinary peer.
func TestSelfNonceOnlyDuringOutboundHandshake(t *testing.T) {
	remote, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	cfg := testConfig()
	cfg.Connect = []string{remote.Addr().String()}
	rec := &stepRecorder{}
	n := startNodeWith(t, cfg, rec)

	conn, err := remote.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	out := dialTestPeerConn(t, conn)
	nonce := out.expect("version").(*wire.MsgVersion).Nonce

	// Unfinished: an inbound version with that nonce is refused.
	self := dialTestPeer(t, n.addr)
	self.send(versionWithNonce(nonce))
	self.expectClosed()
	rec.wait(t, "the refusal", func(s recordedStep) bool {
		return s.ev.Kind == connmgr.EvClosed && s.ev.Reason == string(handshake.FailSelfConnection)
	})

	// Finished: the same nonce is an ordinary peer's.
	out.send(versionWithNonce(0x0700))
	out.send(wire.NewMsgVerAck())
	outID := rec.wait(t, "the outbound peer to connect", func(s recordedStep) bool {
		return s.ev.Kind == connmgr.EvConnected && hasAction(s.acts, connmgr.ActAccept)
	}).ev.ID
	rec.wait(t, "the outbound handshake to finish", func(s recordedStep) bool {
		return s.ev.Kind == connmgr.EvReady && s.ev.ID == outID
	})
	later := dialTestPeer(t, n.addr)
	later.handshakeNonce(true, true, nonce)
	later.pingPong(3)
}

func versionWithNonce(nonce uint64) *wire.MsgVersion {
	v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, nonce, 0)
	v.Services = wire.SFNodeWitness | wire.SFNodeNetwork
	return v
}

func hasAction(acts []connmgr.Action, k connmgr.ActionKind) bool {
	for _, a := range acts {
		if a.Kind == k {
			return true
		}
	}
	return false
}

func TestPersistentPeerReconnects(t *testing.T) {
	a := startNode(t, testConfig())
	cfg := testConfig()
	cfg.NoListen = true
	cfg.AddPeer = []string{a.addr}
	b := startNode(t, cfg)
	waitFor(t, "first connection", standby(a, true))
	first := a.Peers()[0].ID
	if n := a.DisconnectAll(); n != 1 {
		t.Fatalf("DisconnectAll closed %d peers, want 1", n)
	}
	waitFor(t, "reconnection", func() bool {
		ps := a.Peers()
		return len(ps) == 1 && ps[0].ID != first && ps[0].State == "standby"
	})
	_ = b
}

func TestMaxPeers(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPeers = 2
	n := startNode(t, cfg)
	p1 := dialTestPeer(t, n.addr)
	p1.handshake()
	p2 := dialTestPeer(t, n.addr)
	p2.handshake()
	p3 := dialTestPeer(t, n.addr)
	p3.expectClosed()
	p1.pingPong(1)
	p2.pingPong(2)
}

func TestDNSSeedsFindPeers(t *testing.T) {
	a := startNode(t, testConfig())
	_, port, _ := net.SplitHostPort(a.addr)
	params := chaincfg.RegressionNetParams
	params.DefaultPort = port
	params.DNSSeeds = []chaincfg.DNSSeed{{Host: "seed.example"}, {Host: "broken.example"}}
	cfg := testConfig()
	cfg.Params = &params
	cfg.NoListen = true
	cfg.TargetOutbound = 1
	asked := make(chan string, 10)
	cfg.LookupHost = func(_ context.Context, host string) ([]string, error) {
		asked <- host
		if host == "seed.example" {
			return []string{"127.0.0.1"}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	b := startNode(t, cfg)
	waitFor(t, "a peer found through the seed", standby(b, false))
	if got := <-asked; got != "seed.example" {
		t.Fatalf("first seed asked %q", got)
	}
}

// With --connect, the manager asks no DNS seed: not at start, when it
// decides, nor after the --connect address failed (the scenario script
// seeds_only_without_kept.txt covers the rule; this checks the node wires
// it so).
func TestNoSeedsWhenConnectGiven(t *testing.T) {
	params := chaincfg.RegressionNetParams
	params.DNSSeeds = []chaincfg.DNSSeed{{Host: "seed.example"}}
	cfg := testConfig()
	cfg.Params = &params
	cfg.NoListen = true
	cfg.Connect = []string{"127.0.0.1:1"}
	cfg.LookupHost = func(context.Context, string) ([]string, error) {
		t.Error("DNS seed queried although --connect was given")
		return nil, nil
	}
	rec := &stepRecorder{}
	startNodeWith(t, cfg, rec)
	start := rec.wait(t, "the start", func(s recordedStep) bool { return s.ev.Kind == connmgr.EvStart })
	if !hasAction(start.acts, connmgr.ActDial) || hasAction(start.acts, connmgr.ActQuerySeeds) {
		t.Fatalf("start: %v, want a dial and no seed query", start.acts)
	}
	rec.wait(t, "the --connect dial to fail", func(s recordedStep) bool { return s.ev.Kind == connmgr.EvDialFailed })
	if s, ok := rec.find(func(s recordedStep) bool { return hasAction(s.acts, connmgr.ActQuerySeeds) }); ok {
		t.Fatalf("seeds queried after %v", s.ev.Kind)
	}
}

// TestConnectDisconnectCycles opens and drops 1,000 connections, half of
// them after a full handshake, and checks that every goroutine is gone.
func TestConnectDisconnectCycles(t *testing.T) {
	n := startNode(t, testConfig())
	p := dialTestPeer(t, n.addr)
	p.handshake()
	waitFor(t, "one peer", func() bool { return n.PeerCount() == 1 })
	base := runtime.NumGoroutine()
	cycles := 1000
	if testing.Short() {
		cycles = 100
	}
	for i := range cycles {
		c := dialTestPeer(t, n.addr)
		if i%2 == 0 {
			c.handshake()
		}
		c.conn.Close()
	}
	waitFor(t, "peers to go", func() bool { return n.PeerCount() == 1 })
	settleGoroutines(t, base)
	p.pingPong(7)
}

func TestNormalizeAddr(t *testing.T) {
	cases := []struct{ in, want string }{
		{"1.2.3.4", "1.2.3.4:18444"},
		{"1.2.3.4:1", "1.2.3.4:1"},
		{"[::1]", "[::1]:18444"},
		{"[::1]:5", "[::1]:5"},
		{"host.example", "host.example:18444"},
		{":7", ":7"},
	}
	for _, c := range cases {
		got, err := NormalizeAddr(c.in, "18444")
		if err != nil || got != c.want {
			t.Errorf("NormalizeAddr(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestRemoteNetAddress(t *testing.T) {
	cases := []struct {
		addr     string
		routable bool
	}{
		{"127.0.0.1:1", false},
		{"10.1.2.3:1", false},
		{"192.168.1.1:1", false},
		{"8.8.8.8:8333", true},
		{"[2001:4860::1]:8333", true},
		{"[fe80::1]:1", false},
	}
	for _, c := range cases {
		ap, _ := net.ResolveTCPAddr("tcp", c.addr)
		na := remoteNetAddress(ap)
		if got := na.IP != nil; got != c.routable {
			t.Errorf("%s: routable=%v, want %v", c.addr, got, c.routable)
		}
		if c.routable && strconv.Itoa(int(na.Port)) != c.addr[len(c.addr)-4:] {
			t.Errorf("%s: port %d", c.addr, na.Port)
		}
	}
}
