package node

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/peerd/peerd/peer"
)

// inboundTrickle is the node's peer.InboundSchedule: Bitcoin Core's
// NextInvToInbounds, one next announcement time per network key, shared
// by every inbound peer with that key. A new time (now plus an
// exponential delay) is drawn only when a peer asks after the stored one
// has come, so every inbound peer of a network announces in the same
// rounds, however many connections one party opens.
//
// Core keeps every peer's timer running and so draws a round at each
// shared time; a peer here asks only when it has something to announce.
// The rounds that matter, those with an announcement in them, fall the
// same way: the delays are exponential, so a time drawn later is no
// easier to guess.
type inboundTrickle struct {
	rand func() uint64 // uniform random numbers, for the delays

	mu   sync.Mutex
	next map[peer.NetKey]time.Time
}

func newInboundTrickle(rand func() uint64) *inboundTrickle {
	return &inboundTrickle{rand: rand, next: make(map[peer.NetKey]time.Time)}
}

// Next implements peer.InboundSchedule.
func (s *inboundTrickle) Next(now time.Time, mean time.Duration, key peer.NetKey) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.next[key]; ok && t.After(now) {
		return t
	}
	t := now.Add(peer.PoissonDelay(s.rand(), mean))
	s.next[key] = t
	return t
}

// netKeyID is what Core's network key of an inbound connection is made
// of (its m_network_key, as its getaddr cache is keyed): the network the
// peer came through and our address and port on the connection, so that
// peers reaching us on different networks or at different addresses of
// ours (an onion service's local port among them) do not see one
// schedule, and cannot link those identities of ours by their timing.
type netKeyID struct {
	net   string // Core's GetNetClass of the peer's address
	local netip.AddrPort
}

// inboundNetKeyLocked returns the small name of the network key of an
// inbound connection, giving a new key the next number; 0 for an outbound
// one, which has no shared schedule (and whose local ports, one per dial,
// would make keys without end). Inbound keys are few (networks times our
// listening addresses), so they are never forgotten. n.mu is held.
func (n *Node) inboundNetKeyLocked(conn net.Conn, inbound bool) peer.NetKey {
	if !inbound {
		return 0
	}
	id := netKeyID{net: netClass(conn.RemoteAddr()), local: addrPortOf(conn.LocalAddr())}
	k, ok := n.netKeys[id]
	if !ok {
		if n.netKeys == nil {
			n.netKeys = make(map[netKeyID]peer.NetKey)
		}
		k = peer.NetKey(len(n.netKeys))
		n.netKeys[id] = k
	}
	return k
}

// netClass is Core's GetNetClass for an IP address: "unroutable" for an
// address no peer on the internet has (loopback, private, link-local and
// the like), else its family, an IPv4-mapped address counting as IPv4.
// An address that is no IP address (a test's pipe) is "other".
func netClass(a net.Addr) string {
	ap := addrPortOf(a)
	ip := ap.Addr().Unmap()
	switch {
	case !ip.IsValid():
		return "other"
	case ip.IsLoopback(), ip.IsPrivate(), ip.IsLinkLocalUnicast(), ip.IsUnspecified(),
		ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "unroutable"
	case ip.Is4():
		return "ipv4"
	}
	return "ipv6"
}

// addrPortOf is a's IP address and port, or the zero value.
func addrPortOf(a net.Addr) netip.AddrPort {
	if a == nil {
		return netip.AddrPort{}
	}
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
