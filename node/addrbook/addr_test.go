package addrbook

import (
	"net/netip"
	"testing"
)

func mustAddr(t testing.TB, s string) Addr {
	t.Helper()
	a, err := ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestRoutableAndGroup: which addresses may enter the book and which
// group each falls in, on mainnet rules and on a Local (regtest) book.
func TestRoutableAndGroup(t *testing.T) {
	tests := []struct {
		addr          string
		routable      bool
		group         string
		localRoutable bool
		localGroup    string
	}{
		{"1.2.3.4:8333", true, "ipv4 1.2", true, "ipv4 1.2"},
		{"1.2.200.9:8333", true, "ipv4 1.2", true, "ipv4 1.2"},
		{"[::ffff:1.2.3.4]:8333", true, "ipv4 1.2", true, "ipv4 1.2"},
		{"127.0.0.1:8333", false, "local", true, "local"},
		{"127.3.4.1:18444", false, "local", true, "local 3.4"},
		{"127.3.5.1:18444", false, "local", true, "local 3.5"},
		{"0.1.2.3:8333", false, "local", false, "local"},
		{"[::1]:8333", false, "local", true, "local"},
		{"10.1.2.3:8333", false, "unroutable", false, "unroutable"},
		{"172.16.0.1:8333", false, "unroutable", false, "unroutable"},
		{"172.32.0.1:8333", true, "ipv4 172.32", true, "ipv4 172.32"},
		{"192.168.1.1:8333", false, "unroutable", false, "unroutable"},
		{"169.254.1.1:8333", false, "unroutable", false, "unroutable"},
		{"100.64.0.1:8333", false, "unroutable", false, "unroutable"},
		{"100.128.0.1:8333", true, "ipv4 100.128", true, "ipv4 100.128"},
		{"198.18.0.1:8333", false, "unroutable", false, "unroutable"},
		{"192.0.2.1:8333", false, "unroutable", false, "unroutable"},
		{"203.0.113.1:8333", false, "unroutable", false, "unroutable"},
		{"224.0.0.1:8333", false, "unroutable", false, "unroutable"},
		{"255.255.255.255:8333", false, "unroutable", false, "unroutable"},
		{"[2a01:4f8:1:2::1]:8333", true, "ipv6 2a01:4f8", true, "ipv6 2a01:4f8"},
		{"[2001:470:1f0b::1]:8333", true, "ipv6 2001:470:1/36", true, "ipv6 2001:470:1/36"},
		{"[2002:102:304::1]:8333", true, "ipv4 1.2", true, "ipv4 1.2"},                      // 6to4
		{"[2001:0:4136:e378:8000:63bf:fefd:fcfb]:8333", true, "ipv4 1.2", true, "ipv4 1.2"}, // Teredo, 1.2.3.4
		{"[2001:db8::1]:8333", false, "unroutable", false, "unroutable"},
		{"[fe80::1]:8333", false, "unroutable", false, "unroutable"},
		{"[fc00::1]:8333", false, "unroutable", false, "unroutable"},
		{"[2001:10::1]:8333", false, "unroutable", false, "unroutable"},
		{"[2001:20::1]:8333", false, "unroutable", false, "unroutable"},
		{"[ff02::1]:8333", false, "unroutable", false, "unroutable"},
		{"[::]:8333", false, "unroutable", false, "unroutable"},
	}
	for _, tt := range tests {
		a := mustAddr(t, tt.addr)
		if got := routable(a, false); got != tt.routable {
			t.Errorf("%s: routable %v, want %v", tt.addr, got, tt.routable)
		}
		if got := groupOf(a, false).String(); got != tt.group {
			t.Errorf("%s: group %q, want %q", tt.addr, got, tt.group)
		}
		if got := routable(a, true); got != tt.localRoutable {
			t.Errorf("%s: Local: routable %v, want %v", tt.addr, got, tt.localRoutable)
		}
		if got := groupOf(a, true).String(); got != tt.localGroup {
			t.Errorf("%s: Local: group %q, want %q", tt.addr, got, tt.localGroup)
		}
	}
}

// TestTorV3: an onion address prints and parses with Tor's checksum, is
// routable, and its group is its key's first 4 bits.
func TestTorV3(t *testing.T) {
	var key [32]byte
	for i := range key {
		key[i] = byte(0xa0 + i)
	}
	a := TorV3(key, 9050)
	s := a.String()
	b, err := ParseAddr(s)
	if err != nil || b != a {
		t.Fatalf("ParseAddr(%q) = %v, %v; want %v", s, b, err, a)
	}
	if len(s) != 56+len(".onion:9050") {
		t.Errorf("%q: not 56 characters and .onion", s)
	}
	if !routable(a, false) || groupOf(a, false).String() != "onion a" {
		t.Errorf("routable %v group %v", routable(a, false), groupOf(a, false))
	}
	if k, ok := a.TorKey(); !ok || k != key {
		t.Errorf("TorKey = %x, %v", k, ok)
	}
	if _, ok := a.AddrPort(); ok {
		t.Error("an onion address has an AddrPort")
	}
	// one character changed: the checksum catches it
	bad := []byte(s)
	bad[3] ^= 1
	if bad[3] < 'a' || bad[3] > 'z' {
		bad[3] = 'a'
	}
	if _, err := ParseAddr(string(bad)); err == nil {
		t.Errorf("%s parsed", bad)
	}
}

// TestAddrFrom: IPv4-mapped addresses become IPv4; an AddrPort survives the
// round trip.
func TestAddrFrom(t *testing.T) {
	for _, s := range []string{"1.2.3.4:1", "[2a01::5]:65535", "[::ffff:8.8.8.8]:53"} {
		ap := netip.MustParseAddrPort(s)
		a := AddrFrom(ap)
		back, ok := a.AddrPort()
		if !ok || back.Addr() != ap.Addr().Unmap() || back.Port() != ap.Port() {
			t.Errorf("%s: back %v %v", s, back, ok)
		}
	}
	if AddrFrom(netip.AddrPort{}).IsValid() {
		t.Error("the zero AddrPort gave a valid Addr")
	}
	if NamedSource("seed.example").IsValid() || routable(NamedSource("x"), true) {
		t.Error("a named source is an address")
	}
	if groupOf(NamedSource("a"), false) == groupOf(NamedSource("b"), false) {
		t.Error("two names, one group")
	}
}
