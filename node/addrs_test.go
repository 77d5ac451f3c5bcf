package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/transport"
	"github.com/peerd/peerd/node/addrbook"
	"github.com/peerd/peerd/peer"
	"github.com/peerd/peerd/peer/driver"
)

func bookHas(n *Node, s string) bool {
	a, err := addrbook.ParseAddr(s)
	if err != nil {
		panic(err)
	}
	n.bookMu.Lock()
	defer n.bookMu.Unlock()
	_, ok := n.book.Lookup(a)
	return ok
}

// An inbound peer's addr lands in the book (regtest: loopback is
// routable), and its getaddr is answered from the book, as addrv2 since it
// sent sendaddrv2.
func TestAddrGossipInbound(t *testing.T) {
	n := startNode(t, testConfig())
	p := dialTestPeer(t, n.addr)
	p.handshake()

	m := wire.NewMsgAddr()
	m.AddAddress(wire.NewNetAddressIPPort(net.IPv4(127, 5, 6, 7), 18444, wire.SFNodeNetwork|wire.SFNodeWitness))
	p.send(m)
	waitFor(t, "the address in the book", func() bool { return bookHas(n.Node, "127.5.6.7:18444") })

	p.send(wire.NewMsgGetAddr())
	for {
		msg := p.next()
		if ping, ok := msg.(*wire.MsgPing); ok {
			p.send(wire.NewMsgPong(ping.Nonce))
			continue
		}
		a, ok := msg.(*wire.MsgAddrV2)
		if !ok {
			t.Fatalf("got %s, want addrv2", msg.Command())
		}
		if len(a.AddrList) != 1 || a.AddrList[0].Addr.String() != "127.5.6.7" || a.AddrList[0].Port != 18444 {
			t.Fatalf("getaddr answer: %+v", a.AddrList)
		}
		break
	}
	waitFor(t, "getpeerinfo's address counters", func() bool {
		s := n.Peers()
		return len(s) == 1 && s[0].AddrRelayEnabled && s[0].AddrProcessed == 1
	})
}

// An outbound node sends getaddr after the handshake and learns the other
// node's book; the connection's success is recorded (Good) when the
// address is in the book.
func TestAddrGossipBetweenNodes(t *testing.T) {
	a := startNode(t, testConfig())
	now := time.Now()
	a.bookMu.Lock()
	for _, s := range []string{"127.1.0.1:18444", "127.2.0.1:18444", "127.3.0.1:18444"} {
		ad, _ := addrbook.ParseAddr(s)
		a.book.Add(now, addrbook.NamedSource("test"), 0, addrbook.Advert{Addr: ad, Services: wire.SFNodeNetwork, Time: now})
	}
	a.bookMu.Unlock()

	cfg := testConfig()
	cfg.NoListen = true
	cfg.Connect = []string{a.addr}
	b := startNode(t, cfg)
	waitFor(t, "b to learn a's addresses", func() bool {
		return bookHas(b.Node, "127.1.0.1:18444") && bookHas(b.Node, "127.2.0.1:18444") && bookHas(b.Node, "127.3.0.1:18444")
	})
	waitFor(t, "b's counters", func() bool {
		s := b.Peers()
		return len(s) == 1 && s[0].AddrRelayEnabled && s[0].AddrProcessed == 3
	})
}

// The book survives a restart in its file; a corrupt or truncated file is
// set aside and the node starts with an empty book.
func TestAddrBookFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "addrbook.dat")
	cfg := testConfig()
	cfg.NoListen = true
	cfg.AddrBookFile = path
	n := startNode(t, cfg)
	ad, _ := addrbook.ParseAddr("127.9.0.1:18444")
	now := time.Now()
	n.bookMu.Lock()
	n.book.Add(now, addrbook.NamedSource("test"), 0, addrbook.Advert{Addr: ad, Services: wire.SFNodeNetwork, Time: now})
	n.bookMu.Unlock()
	n.stop()

	n2, err := New(cfg)
	if err != nil || n2.bookErr != nil {
		t.Fatalf("reload: %v, %v", err, n2.bookErr)
	}
	if !bookHas(n2, "127.9.0.1:18444") {
		t.Fatal("the saved address did not come back")
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	for name, data := range map[string][]byte{
		"garbage":   []byte("not a book at all"),
		"truncated": good[:len(good)/2],
		"flipped":   append(append([]byte{}, good[:len(good)-1]...), good[len(good)-1]^1),
	} {
		t.Run(name, func(t *testing.T) {
			os.Remove(path + ".corrupt")
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			n, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !errors.Is(n.bookErr, addrbook.ErrCorrupt) {
				t.Fatalf("bookErr = %v, want a report of the corrupt file", n.bookErr)
			}
			if n.book.Len() != 0 {
				t.Fatalf("book has %d entries, want an empty book", n.book.Len())
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("corrupt file still at %s: %v", path, err)
			}
			aside, err := os.ReadFile(path + ".corrupt")
			if err != nil || !bytes.Equal(aside, data) {
				t.Fatalf("set-aside file: %v", err)
			}
		})
	}
}

func TestAdvertConversion(t *testing.T) {
	key := make([]byte, 32)
	key[0] = 7
	for _, tc := range []struct {
		na   *wire.NetAddressV2
		want string
	}{
		{wire.NetAddressV2FromBytes(time.Now(), 1, []byte{1, 2, 3, 4}, 8333), "1.2.3.4:8333"},
		{wire.NetAddressV2FromBytes(time.Now(), 1, net.ParseIP("2001:db8::1"), 8333), "[2001:db8::1]:8333"},
		{wire.NetAddressV2FromBytes(time.Now(), 1, key, 8333), ""},
	} {
		ad, ok := advertV2(tc.na)
		if !ok {
			t.Fatalf("%v: not converted", tc.na.Addr)
		}
		if tc.want == "" {
			k, ok := ad.Addr.TorKey()
			if !ok || k[0] != 7 {
				t.Fatalf("tor v3: %v", ad.Addr)
			}
		} else if ad.Addr.String() != tc.want {
			t.Fatalf("got %v, want %s", ad.Addr, tc.want)
		}
		back := netAddressV2(addrbook.Entry{Addr: ad.Addr, Services: 1, Seen: time.Unix(1_700_000_000, 0)})
		if back == nil || back.Addr.String() != tc.na.Addr.String() || back.Port != 8333 {
			t.Fatalf("round trip of %v: %+v", tc.na.Addr, back)
		}
	}
	if _, ok := bookAddr("not-an-address"); ok {
		t.Fatal("bookAddr took a name")
	}
}

// getnodeaddresses and getaddrmaninfo through Admin: counts per network,
// the network filter, the count, Tor hosts without their port.
func TestAdminNodeAddresses(t *testing.T) {
	cfg := testConfig()
	cfg.NoListen = true
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var ads []addrbook.Advert
	for _, s := range []string{"127.1.0.1:18444", "127.2.0.1:18444", "[2001:db8::1]:8333",
		"aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaahmjqd.onion:8333"} {
		a, err := addrbook.ParseAddr(s)
		if err != nil {
			t.Fatal(err)
		}
		ads = append(ads, addrbook.Advert{Addr: a, Services: wire.SFNodeNetwork, Time: now})
	}
	n.book.Add(now, addrbook.NamedSource("test"), 0, ads...)
	a := NewAdmin(n, 100, func() {})

	info := a.AddrManInfo()
	want := []AddrBookCount{{"ipv4", 2, 0}, {"ipv6", 0, 0}, {"onion", 1, 0}, {"i2p", 0, 0}, {"cjdns", 0, 0}, {"all_networks", 3, 0}}
	// 2001:db8:: is documentation space: not routable, not in the book.
	if len(info) != len(want) {
		t.Fatalf("AddrManInfo = %+v", info)
	}
	for i := range want {
		if info[i] != want[i] {
			t.Errorf("AddrManInfo[%d] = %+v, want %+v", i, info[i], want[i])
		}
	}
	if got := a.NodeAddresses(0, ""); len(got) != 3 {
		t.Fatalf("NodeAddresses(0) = %+v", got)
	}
	if got := a.NodeAddresses(1, ""); len(got) != 1 {
		t.Fatalf("NodeAddresses(1) = %+v", got)
	}
	got := a.NodeAddresses(0, "onion")
	if len(got) != 1 || got[0].Host != "aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaahmjqd.onion" || got[0].Port != 8333 || got[0].Network != "onion" {
		t.Fatalf("NodeAddresses(onion) = %+v", got)
	}
	if got := a.NodeAddresses(0, "ipv4"); len(got) != 2 || got[0].Network != "ipv4" || got[0].Port != 18444 {
		t.Fatalf("NodeAddresses(ipv4) = %+v", got)
	}
	if got := a.NodeAddresses(0, "i2p"); len(got) != 0 {
		t.Fatalf("NodeAddresses(i2p) = %+v", got)
	}
}

// A fresh address gossiped by one peer is relayed to two of the others
// that take part in address relay, never back to its teller.
func TestAddrRelayToTwoPeers(t *testing.T) {
	n := startNode(t, testConfig())
	var ps []*testPeer
	for range 4 {
		p := dialTestPeer(t, n.addr)
		p.handshake()
		// An inbound peer joins address relay with its first address
		// message (an empty addr costs no token).
		p.send(wire.NewMsgAddr())
		ps = append(ps, p)
	}
	waitFor(t, "4 peers in address relay", func() bool {
		c := 0
		for _, s := range n.Peers() {
			if s.AddrRelayEnabled {
				c++
			}
		}
		return c == 4
	})
	gossip := func() {
		m := wire.NewMsgAddr()
		na := wire.NewNetAddressIPPort(net.IPv4(127, 7, 7, 7), 18444, wire.SFNodeNetwork|wire.SFNodeWitness)
		na.Timestamp = time.Now().Truncate(time.Second)
		m.AddAddress(na)
		ps[0].send(m)
	}
	// Who received the relay: each of ps[1:] reads until an addrv2 or a
	// quiet second.
	received := func() []int {
		var got []int
		for i, p := range ps[1:] {
			p.conn.SetReadDeadline(time.Now().Add(time.Second))
			for {
				msg, err := p.r.Next()
				if err != nil {
					break
				}
				if ping, ok := msg.(*wire.MsgPing); ok {
					p.send(wire.NewMsgPong(ping.Nonce))
					continue
				}
				if a, ok := msg.(*wire.MsgAddrV2); ok && len(a.AddrList) == 1 && a.AddrList[0].Addr.String() == "127.7.7.7" {
					got = append(got, i+1)
					break
				}
			}
			p.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		}
		return got
	}
	gossip()
	first := received()
	if len(first) != 2 {
		t.Fatalf("relayed to peers %v, want two of 1..3", first)
	}
}

// The relay peers of an address are the same two throughout its 24-hour
// window, and other addresses go to other peers.
func TestRelayTargetsStable(t *testing.T) {
	cfg := testConfig()
	cfg.NoListen = true
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var peers []*driver.Peer
	for id := range uint64(8) {
		c, far := net.Pipe()
		t.Cleanup(func() { c.Close(); far.Close() })
		peers = append(peers, driver.New(context.Background(), id+1, c, transport.NewV1(c, cfg.Params.Net), &n.cfg.Peer, peer.Params{}))
	}
	targets := func(s string, at time.Time) string {
		a, _ := addrbook.ParseAddr(s)
		var ids []string
		for _, p := range n.relayTargets(a, peers, at) {
			ids = append(ids, fmt.Sprint(p.ID()))
		}
		return strings.Join(ids, ",")
	}
	start := time.Unix(1_700_000_000, 0)
	seen := map[string]bool{}
	for i := range 20 {
		addr := fmt.Sprintf("1.2.3.%d:8333", i)
		want := targets(addr, start)
		if strings.Count(want, ",") != 1 {
			t.Fatalf("%s goes to %q, want two peers", addr, want)
		}
		seen[want] = true
		// Within a day the pair changes at most once (the window's
		// edge is shifted per address): count the changes by the hour.
		changes := 0
		prev := want
		for h := 1; h <= 24; h++ {
			if got := targets(addr, start.Add(time.Duration(h)*time.Hour)); got != prev {
				changes++
				prev = got
			}
		}
		if changes > 1 {
			t.Errorf("%s changed peers %d times in 24 hours", addr, changes)
		}
	}
	if len(seen) < 5 {
		t.Errorf("20 addresses went to only %d pairs of peers: %v", len(seen), seen)
	}
}

// Gossip about banned or discouraged addresses is dropped before the book
// and relay see it.
func TestNotBanned(t *testing.T) {
	cfg := testConfig()
	cfg.NoListen = true
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Ban(netip.MustParsePrefix("127.66.0.0/16"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var ads []addrbook.Advert
	for _, s := range []string{"127.66.0.1:18444", "127.67.0.1:18444", "aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaahmjqd.onion:8333", "127.66.9.9:1"} {
		a, _ := addrbook.ParseAddr(s)
		ads = append(ads, addrbook.Advert{Addr: a})
	}
	got := n.notBanned(ads, time.Now())
	if len(got) != 2 || got[0].Addr.String() != "127.67.0.1:18444" || got[1].Addr.Network() != addrbook.NetTorV3 {
		t.Fatalf("notBanned kept %v", got)
	}
}

// addpeeraddress's node side: on regtest an address goes to new, or with
// tried to tried; again, it is refused as Core's "failed-adding-to-new";
// elsewhere the method does not exist.
func TestAdminAddPeerAddress(t *testing.T) {
	cfg := testConfig()
	cfg.NoListen = true
	n := startNode(t, cfg)
	a := NewAdmin(n.Node, 0, nil)
	if !a.TestNetwork() {
		t.Fatal("regtest is not a test network")
	}
	for _, c := range []struct {
		ip    string
		port  uint16
		tried bool
		want  PeerAddressResult
	}{
		{"127.20.0.1", 18444, false, PeerAddressAdded},
		{"127.21.0.1", 18444, true, PeerAddressAdded},
		{"127.20.0.1", 18444, false, PeerAddressNotAdded},
		{"::ffff:127.22.0.1", 1, false, PeerAddressAdded},
		{"10.0.0.1", 18444, false, PeerAddressNotAdded}, // private: not routable
	} {
		got, err := a.AddPeerAddress(c.ip, c.port, c.tried)
		if err != nil || got != c.want {
			t.Errorf("AddPeerAddress(%s, %d, %v) = %v, %v; want %v", c.ip, c.port, c.tried, got, err, c.want)
		}
	}
	counts := a.AddrManInfo()
	if all := counts[len(counts)-1]; all.New != 2 || all.Tried != 1 {
		t.Errorf("book after addpeeraddress: %+v, want 2 new and 1 tried", all)
	}
	if !bookHas(n.Node, "127.22.0.1:1") {
		t.Error("the IPv4-mapped address is not in the book as IPv4")
	}
	if _, err := a.AddPeerAddress("example.org", 1, false); KindOf(err) != ErrKindInvalidAddress {
		t.Errorf("a name: %v, want an invalid address", err)
	}

	main := testConfig()
	params := chaincfg.MainNetParams
	main.Params, main.NoListen, main.NoDNSSeed = &params, true, true
	m := startNode(t, main)
	if _, err := NewAdmin(m.Node, 0, nil).AddPeerAddress("1.2.3.4", 8333, false); !errors.Is(err, ErrTestOnly) || KindOf(err) != ErrKindUnavailable {
		t.Errorf("on mainnet: %v, want ErrTestOnly", err)
	}
}
