package node

import (
	"net"
	"net/netip"
	"testing"
)

// The admission counts follow inbound peers through arrival, handshake and
// departure, whatever the order of the last two.
func TestAdmissionCounts(t *testing.T) {
	a := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1}
	b := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 2} // same /24
	c := &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 3}
	ipA, ipB := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	sub := netip.MustParsePrefix("10.0.0.0/24")
	sub6 := netip.MustParsePrefix("2001:db8::/64")

	cnt := newAdmissionCounts()
	check := func(step string, perA, perB, pending, pending6, peers int) {
		t.Helper()
		if cnt.perIP[ipA] != perA || cnt.perIP[ipB] != perB || cnt.pending[sub] != pending ||
			cnt.pending[sub6] != pending6 || len(cnt.peers) != peers {
			t.Fatalf("%s: perIP %d/%d, pending %d (v6 %d), peers %d; want %d/%d, %d (v6 %d), %d", step,
				cnt.perIP[ipA], cnt.perIP[ipB], cnt.pending[sub], cnt.pending[sub6], len(cnt.peers),
				perA, perB, pending, pending6, peers)
		}
	}
	cnt.add(1, a)
	cnt.add(2, a)
	cnt.add(3, b)
	cnt.add(4, c)
	check("four arrive", 2, 1, 3, 1, 4)
	cnt.ready(1)
	cnt.ready(1) // reported twice: counted once
	check("one ready", 2, 1, 2, 1, 4)
	cnt.remove(2) // leaves before its handshake finished
	check("pending one leaves", 1, 1, 1, 1, 3)
	cnt.remove(1) // leaves after it
	check("ready one leaves", 0, 1, 1, 1, 2)
	cnt.remove(99) // an outbound peer: not counted
	cnt.ready(99)
	check("outbound ignored", 0, 1, 1, 1, 2)
	cnt.remove(3)
	cnt.remove(4)
	check("all gone", 0, 0, 0, 0, 0)
	if len(cnt.perIP) != 0 || len(cnt.pending) != 0 {
		t.Fatalf("maps keep empty entries: %v %v", cnt.perIP, cnt.pending)
	}
}
