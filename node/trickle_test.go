package node

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/peerd/peerd/mempool"
	"github.com/peerd/peerd/peer"
)

// TestInboundTrickleSchedule: on a fake clock, a key's time is drawn once
// and handed to everyone who asks before it comes; a new one is drawn only
// when it has come (at that very instant too: a round is never run twice at
// one time); each key keeps its own.
func TestInboundTrickleSchedule(t *testing.T) {
	draws := 0
	s := newInboundTrickle(func() uint64 { draws++; return 1 << 63 }) // u = 0.5
	mean := 10 * time.Second
	delay := peer.PoissonDelay(1<<63, mean) // 6.93 s
	t0 := time.Unix(1_700_000_000, 0)

	first := s.Next(t0, mean, 1)
	if want := t0.Add(delay); !first.Equal(want) || draws != 1 {
		t.Fatalf("first time %v after %d draws, want %v after 1", first, draws, want)
	}
	for _, at := range []time.Duration{0, time.Millisecond, time.Second, delay - 1} {
		if got := s.Next(t0.Add(at), mean, 1); !got.Equal(first) {
			t.Fatalf("at +%v: %v, want the shared %v", at, got, first)
		}
	}
	if draws != 1 {
		t.Fatalf("%d draws before the time came, want 1", draws)
	}

	// Another key is independent of key 1: its own draw, from its own now.
	other := s.Next(t0.Add(time.Second), mean, 2)
	if want := t0.Add(time.Second + delay); !other.Equal(want) || draws != 2 {
		t.Fatalf("key 2: %v after %d draws, want %v after 2", other, draws, want)
	}

	// Key 1's time comes: the first to ask draws the next, which the
	// others then share; key 2 still has its own.
	next := s.Next(first, mean, 1)
	if want := first.Add(delay); !next.Equal(want) || draws != 3 {
		t.Fatalf("at the shared time: %v after %d draws, want %v after 3", next, draws, want)
	}
	if got := s.Next(first.Add(time.Millisecond), mean, 1); !got.Equal(next) || draws != 3 {
		t.Fatalf("just after: %v after %d draws, want %v after 3", got, draws, next)
	}
	if got := s.Next(first, mean, 2); !got.Equal(other) {
		t.Fatalf("key 2 moved to %v with key 1, want %v", got, other)
	}
}

// fakeConn is a connection with chosen addresses.
type fakeConn struct {
	net.Conn
	local, remote net.Addr
}

func (c fakeConn) LocalAddr() net.Addr  { return c.local }
func (c fakeConn) RemoteAddr() net.Addr { return c.remote }

func tcpAddr(s string) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		panic(err)
	}
	return a
}

// TestInboundNetKeys: inbound connections share a key when they came in
// through the same network to the same address of ours, as Core's network
// key; outbound connections get none.
func TestInboundNetKeys(t *testing.T) {
	n := &Node{}
	key := func(local, remote string, inbound bool) peer.NetKey {
		return n.inboundNetKeyLocked(fakeConn{local: tcpAddr(local), remote: tcpAddr(remote)}, inbound)
	}
	a := key("203.0.113.7:8333", "8.8.8.8:50000", true)
	if b := key("203.0.113.7:8333", "1.1.1.1:40000", true); b != a {
		t.Errorf("two IPv4 peers at one address of ours: keys %d and %d", a, b)
	}
	if b := key("[::ffff:203.0.113.7]:8333", "[::ffff:9.9.9.9]:1", true); b != a {
		t.Errorf("an IPv4-mapped peer: key %d, want IPv4's %d", b, a)
	}
	distinct := map[peer.NetKey]string{a: "ipv4 at 203.0.113.7:8333"}
	for what, k := range map[string]peer.NetKey{
		"ipv6 peer":                 key("203.0.113.7:8333", "[2606:4700::1111]:1", true),
		"unroutable peer":           key("203.0.113.7:8333", "192.168.1.5:1", true),
		"another port of ours":      key("203.0.113.7:8334", "8.8.8.8:1", true),
		"another address of ours":   key("203.0.113.8:8333", "8.8.8.8:1", true),
		"loopback (an onion proxy)": key("127.0.0.1:8334", "127.0.0.1:1", true),
	} {
		if prev, ok := distinct[k]; ok {
			t.Errorf("%s: key %d, the same as %s", what, k, prev)
		}
		distinct[k] = what
	}
	before := len(n.netKeys)
	if k := key("203.0.113.7:40001", "8.8.8.8:8333", false); k != 0 || len(n.netKeys) != before {
		t.Errorf("outbound: key %d and %d keys, want 0 and %d", k, len(n.netKeys), before)
	}
}

// recordingTrickle is the node's schedule, recording what it handed out.
type recordingTrickle struct {
	*inboundTrickle
	mu    sync.Mutex
	given []time.Time
	keys  map[peer.NetKey]bool
}

func (r *recordingTrickle) Next(now time.Time, mean time.Duration, key peer.NetKey) time.Time {
	t := r.inboundTrickle.Next(now, mean, key)
	r.mu.Lock()
	r.given = append(r.given, t)
	r.keys[key] = true
	r.mu.Unlock()
	return t
}

// TestInboundPeersShareAnnouncementRound: several inbound peers over real
// sockets hear of a transaction in one announcement round. The node's
// schedule draws a fixed delay here (0.69 of the 2 s mean), so the test
// does not depend on a short draw: every peer was handed the one time
// drawn, none was announced to before it, and all got the inv. That the
// announcements land within a second of each other is the loose check,
// on the recorded times (each peer's loop wakes at the shared time, give
// or take the scheduler).
func TestInboundPeersShareAnnouncementRound(t *testing.T) {
	const peers = 4
	pool, err := mempool.Open(mempool.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	sched := &recordingTrickle{inboundTrickle: newInboundTrickle(func() uint64 { return 1 << 63 }), keys: map[peer.NetKey]bool{}}
	cfg := testConfig()
	cfg.Mempool = pool
	cfg.Peer.Machine.Trickle = 2 * time.Second
	cfg.Peer.Machine.InboundTrickle = sched
	n := startNode(t, cfg)
	var tps []*testPeer
	for range peers {
		p := dialTestPeer(t, n.addr)
		p.handshakeWith(true)
		tps = append(tps, p)
	}
	waitFor(t, "ready peers", func() bool { return len(n.readyPeers()) == peers })

	e, err := pool.Add(testTx(7))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range tps {
		if inv := p.nextInv(); len(inv.InvList) != 1 || inv.InvList[0].Hash != e.WTxID {
			t.Fatalf("peer %d got %+v, want only %v", i, inv.InvList, e.WTxID)
		}
	}
	var prop mempool.Propagation
	waitFor(t, "every inv recorded", func() bool {
		prop, _ = pool.Propagation(e.TxID)
		return len(prop.InvSent) == peers
	})

	sched.mu.Lock()
	given, keys := append([]time.Time(nil), sched.given...), len(sched.keys)
	sched.mu.Unlock()
	if len(given) != peers || keys != 1 {
		t.Fatalf("the schedule was asked %d times for %d keys, want %d times for 1 (loopback peers at one address)", len(given), keys, peers)
	}
	round := given[0]
	for i, g := range given {
		if !g.Equal(round) {
			t.Fatalf("peer %d was given %v, peer 0 %v: not one round", i, g, round)
		}
	}
	first, last := prop.InvSent[0].At, prop.InvSent[0].At
	for _, ev := range prop.InvSent {
		if ev.At.Before(round) {
			t.Errorf("announced to %s at %v, before the round at %v", ev.Peer.Addr, ev.At, round)
		}
		first, last = minTime(first, ev.At), maxTime(last, ev.At)
	}
	if spread := last.Sub(first); spread > time.Second {
		t.Errorf("announcements %v apart, want one round", spread)
	}
	t.Logf("%d inbound peers announced to within %v of each other, at the shared round", peers, last.Sub(first))
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
