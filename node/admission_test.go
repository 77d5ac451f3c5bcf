package node

import (
	"errors"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
)

// dialFrom connects to addr from a chosen loopback source address, so that
// tests can play peers from several /24s.
func dialFrom(t *testing.T, src, addr string) *testPeer {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	p := dialTestPeerConn(t, conn)
	return p
}

func TestUnfinishedHandshakesPerSubnet(t *testing.T) {
	n := startNode(t, testConfig())
	var silent []*testPeer
	for range DefaultMaxPendingPerSubnet {
		silent = append(silent, dialTestPeer(t, n.addr))
	}
	waitFor(t, "8 pending peers", func() bool { return n.PeerCount() == DefaultMaxPendingPerSubnet })
	// A ninth unfinished handshake from 127.0.0.0/24 is refused...
	dialTestPeer(t, n.addr).expectClosed()
	// ...but another /24 is not affected,
	other := dialFrom(t, "127.0.1.1", n.addr)
	other.handshake()
	// and once one of the eight finishes, there is room again.
	silent[0].handshake()
	dialTestPeer(t, n.addr).handshake()
}

func TestBans(t *testing.T) {
	cfg := testConfig()
	cfg.BanFile = filepath.Join(t.TempDir(), "banlist.json")
	n := startNode(t, cfg)
	a := NewAdmin(n.Node, 100, func() {})
	victim := dialFrom(t, "127.0.2.1", n.addr)
	victim.handshake()

	if err := a.SetBan("127.0.2.0/24", "add", 3600, false); err != nil {
		t.Fatal(err)
	}
	victim.expectClosed() // a ban disconnects the peers it covers
	dialFrom(t, "127.0.2.9", n.addr).expectClosed()
	dialFrom(t, "127.0.3.1", n.addr).handshake() // outside the ban

	for _, c := range []struct {
		name string
		err  error
		kind ErrorKind
		is   error
	}{
		{"already banned", a.SetBan("127.0.2.0/24", "add", 0, false), ErrKindExists, ErrAlreadyBanned},
		{"invalid subnet", a.SetBan("300.1.1.1", "add", 0, false), ErrKindInvalidAddress, ErrBadSubnet},
		{"unban unknown", a.SetBan("10.0.0.0/8", "remove", 0, false), ErrKindNotFound, ErrNotBanned},
		{"bad command", a.SetBan("10.0.0.1", "jump", 0, false), 0, nil},
		{"absolute time in the past", a.SetBan("10.0.0.2", "add", time.Now().Add(-time.Hour).Unix(), true), ErrKindInvalidParameter, nil},
	} {
		if c.err == nil || KindOf(c.err) != c.kind || c.is != nil && !errors.Is(c.err, c.is) {
			t.Errorf("%s: %v (kind %v), want kind %v wrapping %v", c.name, c.err, KindOf(c.err), c.kind, c.is)
		}
	}
	if err := a.SetBan("::1", "add", time.Now().Add(time.Hour).Unix(), true); err != nil {
		t.Fatal(err)
	}
	bans := a.ListBanned()
	if len(bans) != 2 || bans[0].Subnet.String() != "127.0.2.0/24" || time.Until(bans[0].Until) < 3500*time.Second || bans[1].Subnet.String() != "::1/128" {
		t.Fatalf("listbanned %+v", bans)
	}

	// Bans persist across a restart.
	n.stop()
	cfg2 := testConfig()
	cfg2.BanFile = cfg.BanFile
	n2 := startNode(t, cfg2)
	dialFrom(t, "127.0.2.5", n2.addr).expectClosed()
	a2 := NewAdmin(n2.Node, 100, func() {})
	if len(a2.ListBanned()) != 2 {
		t.Fatalf("after restart: %+v", a2.ListBanned())
	}
	if err := a2.SetBan("127.0.2.0/24", "remove", 0, false); err != nil {
		t.Fatal(err)
	}
	dialFrom(t, "127.0.2.5", n2.addr).handshake()
	a2.ClearBanned()
	if len(a2.ListBanned()) != 0 {
		t.Fatal("clearbanned left bans")
	}
}

func TestMisbehaviourDiscourages(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPeers = 4
	n := startNode(t, cfg)
	bad := dialFrom(t, "127.0.4.1", n.addr)
	bad.handshake()
	bad.rawMayFail(header(wire.TestNet, "ping", 5000)) // over the command's limit
	bad.expectClosed()
	waitFor(t, "discouraged", func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.m.Discouraged(netip.MustParseAddr("127.0.4.1"), time.Now())
	})
	// With inbound slots over half full, the discouraged address is
	// refused; others are not.
	dialFrom(t, "127.0.5.1", n.addr).handshake()
	dialFrom(t, "127.0.5.2", n.addr).handshake()
	dialFrom(t, "127.0.4.1", n.addr).expectClosed()
	dialFrom(t, "127.0.5.3", n.addr).handshake()
}

func TestEvictionKeepsTheOldestAndFastest(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPeers = 10
	n := startNode(t, cfg)
	var ps []*testPeer
	for i := range 10 {
		p := dialFrom(t, "127.0.6."+itoa(i+1), n.addr)
		p.handshake()
		ps = append(ps, p)
		time.Sleep(5 * time.Millisecond) // distinct connection times
	}
	waitFor(t, "ten ready peers", func() bool { return len(n.readyPeers()) == 10 })
	newcomer := dialFrom(t, "127.0.7.1", n.addr)
	newcomer.handshake()
	// One peer made room; which one depends on the measured pings, but
	// never one of the four connected longest.
	waitFor(t, "an eviction", func() bool { return n.PeerCount() == 10 })
	for _, p := range ps[:4] {
		p.pingPong(3)
	}
	newcomer.pingPong(4)
}

func itoa(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }
