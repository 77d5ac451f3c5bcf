package addrbook

import (
	"crypto/sha256"
	"crypto/sha3"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Network is an address's network, numbered as BIP 155 (addrv2) numbers
// them.
type Network uint8

// The networks the book keeps. addrv2's Tor v2, I2P and CJDNS are not
// among them (wire/v2 drops them before they reach us).
const (
	NetIPv4  Network = 1
	NetIPv6  Network = 2
	NetTorV3 Network = 4

	// netNamed is no addrv2 network: a source that is a name (a DNS seed,
	// the fixed seeds), never an entry.
	netNamed Network = 0xfe
)

// String is the network's name as Core's getaddrmaninfo spells it.
func (n Network) String() string {
	switch n {
	case NetIPv4:
		return "ipv4"
	case NetIPv6:
		return "ipv6"
	case NetTorV3:
		return "onion"
	case netNamed:
		return "named"
	}
	return "net" + strconv.Itoa(int(n))
}

// Addr is a peer's address: an IPv4 or IPv6 address and port, or a Tor
// v3 service key and port. It is comparable (a map key) and holds no
// pointer. The zero Addr is not valid.
type Addr struct {
	net  Network
	port uint16
	raw  [32]byte // IPv4: 4 bytes, IPv6: 16 bytes, Tor v3: the ed25519 key
}

// AddrFrom returns the address of ap; an IPv4-mapped IPv6 address becomes
// IPv4, and an IPv6 zone is dropped. An invalid ap gives the zero Addr.
func AddrFrom(ap netip.AddrPort) Addr {
	ip := ap.Addr().Unmap()
	var a Addr
	switch {
	case ip.Is4():
		a.net = NetIPv4
		b := ip.As4()
		copy(a.raw[:], b[:])
	case ip.Is6():
		a.net = NetIPv6
		b := ip.As16()
		copy(a.raw[:], b[:])
	default:
		return Addr{}
	}
	a.port = ap.Port()
	return a
}

// TorV3 returns the address of the Tor v3 onion service whose ed25519
// public key is key.
func TorV3(key [32]byte, port uint16) Addr {
	return Addr{net: NetTorV3, port: port, raw: key}
}

// NamedSource returns a source for Add that is a name rather than a peer
// (a DNS seed's host name, "fixedseeds"): all that one name tells goes to
// the buckets of one source group, as Core's internal addresses do. It is
// never routable, so it never becomes an entry.
func NamedSource(name string) Addr {
	h := sha256.Sum256([]byte(name))
	a := Addr{net: netNamed}
	copy(a.raw[:], h[:10])
	return a
}

// ParseAddr parses "1.2.3.4:8333", "[2001:db8::1]:8333" or
// "<56 base32 characters>.onion:8333".
func ParseAddr(s string) (Addr, error) {
	host, port, ok := cutLast(s, ":")
	if ok && strings.HasSuffix(host, ".onion") {
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return Addr{}, fmt.Errorf("addrbook: bad port in %q", s)
		}
		key, err := parseOnion(strings.TrimSuffix(host, ".onion"))
		if err != nil {
			return Addr{}, fmt.Errorf("addrbook: %q: %w", s, err)
		}
		return TorV3(key, uint16(p)), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return Addr{}, fmt.Errorf("addrbook: %w", err)
	}
	return AddrFrom(ap), nil
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

var onionEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// onionChecksum is Tor's rend-spec-v3 checksum of key (version 3).
func onionChecksum(key []byte) [2]byte {
	h := sha3.New256()
	h.Write([]byte(".onion checksum"))
	h.Write(key)
	h.Write([]byte{3})
	var sum [32]byte
	h.Sum(sum[:0])
	return [2]byte{sum[0], sum[1]}
}

func parseOnion(s string) ([32]byte, error) {
	var key [32]byte
	if len(s) != 56 {
		return key, errors.New("not a Tor v3 address")
	}
	b, err := onionEncoding.DecodeString(strings.ToUpper(s))
	if err != nil || len(b) != 35 || b[34] != 3 {
		return key, errors.New("not a Tor v3 address")
	}
	if onionChecksum(b[:32]) != [2]byte{b[32], b[33]} {
		return key, errors.New("bad Tor v3 checksum")
	}
	copy(key[:], b[:32])
	return key, nil
}

// IsValid reports whether a is an address (not the zero Addr).
func (a Addr) IsValid() bool { return a.net == NetIPv4 || a.net == NetIPv6 || a.net == NetTorV3 }

// Network returns a's network.
func (a Addr) Network() Network { return a.net }

// Port returns a's port.
func (a Addr) Port() uint16 { return a.port }

// AddrPort returns a as an IP address and port; ok is false for Tor.
func (a Addr) AddrPort() (ap netip.AddrPort, ok bool) {
	switch a.net {
	case NetIPv4:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(a.raw[:4])), a.port), true
	case NetIPv6:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(a.raw[:16])), a.port), true
	}
	return netip.AddrPort{}, false
}

// TorKey returns the onion service's public key; ok is false unless a is
// a Tor v3 address.
func (a Addr) TorKey() (key [32]byte, ok bool) {
	return a.raw, a.net == NetTorV3
}

// String formats a as ParseAddr reads it.
func (a Addr) String() string {
	switch a.net {
	case NetIPv4, NetIPv6:
		ap, _ := a.AddrPort()
		return ap.String()
	case NetTorV3:
		sum := onionChecksum(a.raw[:])
		b := append(append(a.raw[:], sum[:]...), 3)
		return strings.ToLower(onionEncoding.EncodeToString(b)) + ".onion:" + strconv.Itoa(int(a.port))
	case netNamed:
		return fmt.Sprintf("named:%x", a.raw[:10])
	}
	return "invalid"
}

// rawLen is the length of the address bytes of network n, 0 if the book
// keeps no address of n.
func rawLen(n Network) int {
	switch n {
	case NetIPv4:
		return 4
	case NetIPv6:
		return 16
	case NetTorV3:
		return 32
	}
	return 0
}

// appendKey appends a's identity (network, address bytes, port): what
// Core's GetKey hashes for bucket positions.
func (a Addr) appendKey(b []byte) []byte {
	b = append(b, byte(a.net))
	b = append(b, a.raw[:rawLen(a.net)]...)
	return binary.BigEndian.AppendUint16(b, a.port)
}

// Group is a network group: the addresses one operator is likely to
// control together, Core's GetGroup without an asmap. The first byte is
// the family; the rest are the prefix bits that make the group:
//
//	IPv4 (and IPv6 that embeds IPv4: 6to4, Teredo)   family 1, the /16
//	IPv6                                              family 2, the /32 (/36 in Hurricane Electric's 2001:470::/32)
//	Tor v3                                            family 4, the key's first 4 bits
//	loopback when the book is Local                   familyLocal, 127.A.B.C: A.B
//	loopback and 0.0.0.0/8 otherwise                  familyLocal alone
//	any other unroutable address                      familyUnroutable alone
//	a NamedSource                                     familyNamed, 5 bytes of the name's hash
//
// Groups are comparable; the zero Group is no address's.
type Group [6]byte

const (
	familyLocal      = 0x80
	familyUnroutable = 0x81
	familyNamed      = 0x82
)

// String is for logs and tests: "ipv4 1.2", "ipv6 2001:db8", "onion 7",
// "local 1.2".
func (g Group) String() string {
	switch g[0] {
	case byte(NetIPv4):
		return fmt.Sprintf("ipv4 %d.%d", g[1], g[2])
	case byte(NetIPv6):
		s := fmt.Sprintf("ipv6 %x:%x", uint16(g[1])<<8|uint16(g[2]), uint16(g[3])<<8|uint16(g[4]))
		if g[5] != 0 {
			s += fmt.Sprintf(":%x/36", g[5]>>4)
		}
		return s
	case byte(NetTorV3):
		return fmt.Sprintf("onion %x", g[1])
	case familyLocal:
		if g[1] == 0 && g[2] == 0 {
			return "local"
		}
		return fmt.Sprintf("local %d.%d", g[1], g[2])
	case familyUnroutable:
		return "unroutable"
	case familyNamed:
		return fmt.Sprintf("named %x", g[1:])
	}
	return "none"
}

// isLocal is Core's IsLocal: 127.0.0.0/8, 0.0.0.0/8 and ::1.
func (a Addr) isLocal() bool {
	switch a.net {
	case NetIPv4:
		return a.raw[0] == 127 || a.raw[0] == 0
	case NetIPv6:
		return [16]byte(a.raw[:16]) == [16]byte{15: 1}
	}
	return false
}

// isLoopback is 127.0.0.0/8 or ::1.
func (a Addr) isLoopback() bool {
	return a.isLocal() && !(a.net == NetIPv4 && a.raw[0] == 0)
}

// routableIP is Core's IsRoutable for everything but local addresses, plus
// multicast and IPv4's reserved 240.0.0.0/4, where no peer can listen.
func (a Addr) routableIP() bool {
	r := a.raw
	switch a.net {
	case NetIPv4:
		switch {
		case r[0] == 10, // RFC 1918
			r[0] == 172 && r[1]&0xf0 == 16,
			r[0] == 192 && r[1] == 168,
			r[0] == 198 && r[1]&0xfe == 18,        // RFC 2544
			r[0] == 169 && r[1] == 254,            // RFC 3927
			r[0] == 100 && r[1]&0xc0 == 64,        // RFC 6598
			r[0] == 192 && r[1] == 0 && r[2] == 2, // RFC 5737
			r[0] == 198 && r[1] == 51 && r[2] == 100,
			r[0] == 203 && r[1] == 0 && r[2] == 113,
			r[0] >= 224: // multicast, reserved, broadcast
			return false
		}
		return true
	case NetIPv6:
		switch {
		case [16]byte(r[:16]) == [16]byte{}, // unspecified
			r[0] == 0x20 && r[1] == 0x01 && r[2] == 0x0d && r[3] == 0xb8,      // RFC 3849 documentation
			r[0] == 0xfe && r[1]&0xc0 == 0x80,                                 // link-local (RFC 4862)
			r[0]&0xfe == 0xfc,                                                 // RFC 4193 unique local (and OnionCat)
			r[0] == 0x20 && r[1] == 0x01 && r[2] == 0x00 && r[3]&0xf0 == 0x10, // RFC 4843 ORCHID
			r[0] == 0x20 && r[1] == 0x01 && r[2] == 0x00 && r[3]&0xf0 == 0x20, // RFC 7343 ORCHIDv2
			r[0] == 0xff: // multicast
			return false
		}
		return true
	case NetTorV3:
		return true
	}
	return false
}

// routable reports whether a may be an entry: Core's IsRoutable, where a
// Local book also takes loopback.
func routable(a Addr, local bool) bool {
	if a.isLocal() {
		return local && a.isLoopback()
	}
	return a.routableIP()
}

// groupOf returns a's network group (see Group).
func groupOf(a Addr, local bool) Group {
	var g Group
	r := a.raw
	switch {
	case a.net == netNamed:
		g[0] = familyNamed
		copy(g[1:], r[:5])
	case a.isLocal():
		g[0] = familyLocal
		if local && a.net == NetIPv4 && r[0] == 127 {
			g[1], g[2] = r[1], r[2]
		}
	case !a.routableIP():
		g[0] = familyUnroutable
	case a.net == NetIPv4:
		g[0], g[1], g[2] = byte(NetIPv4), r[0], r[1]
	case a.net == NetIPv6 && r[0] == 0x20 && r[1] == 0x02: // 6to4: 2002:AABB:CCDD::
		g[0], g[1], g[2] = byte(NetIPv4), r[2], r[3]
	case a.net == NetIPv6 && [4]byte(r[:4]) == [4]byte{0x20, 0x01, 0, 0}: // Teredo: the client's IPv4, inverted, last
		g[0], g[1], g[2] = byte(NetIPv4), r[12]^0xff, r[13]^0xff
	case a.net == NetIPv6:
		g[0] = byte(NetIPv6)
		copy(g[1:5], r[:4])
		if [4]byte(r[:4]) == [4]byte{0x20, 0x01, 0x04, 0x70} { // Hurricane Electric: /36
			g[5] = r[4] & 0xf0
		}
	case a.net == NetTorV3:
		g[0], g[1] = byte(NetTorV3), r[0]>>4
	}
	return g
}
