package node

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/node/addrbook"
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
