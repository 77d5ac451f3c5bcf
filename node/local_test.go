package node

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/node/addrbook"
)

// A node listening on a routable address (on regtest 127.A.B.C counts)
// sends it to the node it dials once the handshake is done, and that node
// books it with the listening port: how the nodes of a local network
// learn each other. --externalip replaces the listener's address.
func TestAdvertiseLocal(t *testing.T) {
	b := startNode(t, testConfig())

	// Gossip keeps only addresses of nodes with NODE_NETWORK or
	// NODE_NETWORK_LIMITED (Core's rule): a peerd that advertises its
	// address must say network (--services=network,witness).
	advertising := func() Config {
		cfg := testConfig()
		cfg.Peer.Machine.Handshake.Services = wire.SFNodeNetwork | wire.SFNodeWitness
		return cfg
	}
	cfg := advertising()
	cfg.Listen = []string{"127.3.0.1:0"}
	cfg.AddPeer = []string{b.addr}
	a := startNode(t, cfg)
	waitFor(t, "b to book a's listening address", func() bool { return bookHas(b.Node, a.addr) })

	cfg = advertising()
	cfg.Listen = []string{"127.0.0.1:0"}
	cfg.ExternalIPs = []string{"127.4.0.1", "127.5.0.1:18555", "10.1.2.3"} // the last is private: left out
	cfg.AddPeer = []string{b.addr}
	c := startNode(t, cfg)
	_, port, _ := net.SplitHostPort(c.addr)
	want := []string{"127.4.0.1:" + port, "127.5.0.1:18555"}
	if got := fmt.Sprint(c.LocalAddrs()); got != fmt.Sprint(want) {
		t.Fatalf("LocalAddrs = %v, want %v", got, want)
	}
	// getnetworkinfo's localaddresses says the same, as manual ones.
	if ni := NewAdmin(c.Node, 1, func() {}).NetworkInfo(); fmt.Sprint(ni.LocalAddrs) != fmt.Sprint(want) || !ni.Manual {
		t.Fatalf("NetworkInfo local addresses %v (manual %v), want %v", ni.LocalAddrs, ni.Manual, want)
	}
	waitFor(t, "b to book one of c's external addresses", func() bool {
		return bookHas(b.Node, want[0]) || bookHas(b.Node, want[1])
	})
	if bookHas(b.Node, c.addr) {
		t.Errorf("b booked c's listener %s although --externalip names others", c.addr)
	}
}

// What is advertised: routable listeners only, nothing without a
// listener, and an --externalip that is not an address is refused.
func TestLocalAddrs(t *testing.T) {
	cases := []struct {
		name     string
		listen   []string
		noListen bool
		external []string
		want     string // "" none; "PORT" stands for the first listener's port
		err      string
	}{
		{name: "loopback on regtest", listen: []string{"127.0.0.1:0"}, want: "[127.0.0.1:PORT]"},
		{name: "unspecified", listen: []string{"0.0.0.0:0"}, want: "[]"},
		{name: "no listener", noListen: true, external: []string{"127.8.0.1"}, want: "[]"},
		{name: "external", listen: []string{"0.0.0.0:0"}, external: []string{"[::ffff:127.8.0.1]:1"}, want: "[127.8.0.1:1]"},
		{name: "external name", listen: []string{"127.0.0.1:0"}, external: []string{"example.org"}, err: "not an IP address"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Listen, cfg.NoListen, cfg.ExternalIPs = tc.listen, tc.noListen, tc.external
			n, err := New(cfg)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("New: %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer n.closeListeners()
			want := tc.want
			if as := n.ListenAddrs(); len(as) > 0 {
				want = strings.ReplaceAll(want, "PORT", fmt.Sprint(as[0].(*net.TCPAddr).Port))
			}
			got := n.LocalAddrs()
			if fmt.Sprint(got) != want && !(want == "[]" && len(got) == 0) {
				t.Fatalf("LocalAddrs = %v, want %s", got, want)
			}
		})
	}
}

// Our own address, heard back through gossip, is in the book but never
// offered to the connection manager (Core's IsLocal check): a node that
// dialled it connected to itself, over and over (hundreds of times a
// second in the local network of the e2e suite).
func TestOwnAddressNotDialled(t *testing.T) {
	cfg := testConfig()
	cfg.Listen = []string{"127.3.0.1:0"}
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.closeListeners()
	own := n.LocalAddrs()
	if len(own) != 1 {
		t.Fatalf("LocalAddrs = %v, want the listener", own)
	}
	now := time.Now()
	for _, s := range []string{own[0].String(), "127.9.0.1:18444"} {
		ad, err := addrbook.ParseAddr(s)
		if err != nil {
			t.Fatal(err)
		}
		n.bookMu.Lock()
		n.book.Add(now, addrbook.NamedSource("test"), 0, addrbook.Advert{Addr: ad, Services: wire.SFNodeNetwork, Time: now})
		n.bookMu.Unlock()
	}
	if got := n.book.Len(); got != 2 {
		t.Fatalf("book holds %d addresses, want 2", got)
	}
	src := &bookSource{n: n}
	other := 0
	for range 200 {
		ap, ok := src.Select(now, false)
		if !ok {
			t.Fatal("Select found nothing in a book of 2")
		}
		if ap.Target == own[0].String() {
			t.Fatalf("Select offered our own address %v", ap)
		}
		if ap.Target != "" {
			other++
		}
	}
	if other == 0 {
		t.Fatal("Select never offered the other address")
	}
}
