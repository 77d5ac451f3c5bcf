package node

import (
	"net/netip"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/node/addrbook"
	"github.com/peerd/peerd/node/connmgr"
	"github.com/peerd/peerd/peer"
)

// reasonFeeler ends a feeler connection once its handshake is done.
const reasonFeeler peer.Reason = "feeler connection done"

// bookSource is the connection manager's view of the address book
// (connmgr.Book): the manager calls it while it is stepped, under n.mu,
// and it takes bookMu briefly. The lock order is n.mu then bookMu; no code
// takes n.mu while it holds bookMu.
type bookSource struct {
	n *Node
	// nets are the networks automatic connections may go to (immutable;
	// reachable in proxy.go).
	nets []addrbook.Network
}

var _ connmgr.Book = (*bookSource)(nil)

func (s *bookSource) Select(now time.Time, newOnly bool) (connmgr.Candidate, bool) {
	s.n.bookMu.Lock()
	e, ok := s.n.book.Select(now, newOnly, s.nets...)
	var g addrbook.Group
	if ok {
		g = s.n.book.Group(e.Addr)
	}
	s.n.bookMu.Unlock()
	if !ok {
		return connmgr.Candidate{}, false
	}
	if e.Addr.Network() == addrbook.NetTorV3 {
		return connmgr.Candidate{Target: e.Addr.String(), Group: g.String(),
			V2: e.Services&wire.SFNodeP2PV2 != 0}, true
	}
	ap, ok := e.Addr.AddrPort()
	if !ok || s.n.isLocal(ap) {
		// Our own address, heard back through gossip: never dialled
		// (Core's IsLocal check in ThreadOpenConnections). No target
		// makes the manager draw again.
		return connmgr.Candidate{}, true
	}
	return connmgr.Candidate{Target: ap.String(), IP: ap.Addr(), Group: g.String(),
		V2: e.Services&wire.SFNodeP2PV2 != 0}, true
}

// isLocal reports whether ap is one of the addresses we advertise as ours
// (n.local is immutable after New).
func (n *Node) isLocal(ap netip.AddrPort) bool {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	for _, l := range n.local {
		if netip.AddrPortFrom(l.Addr().Unmap(), l.Port()) == ap {
			return true
		}
	}
	return false
}

func (s *bookSource) Group(ip netip.Addr) string {
	s.n.bookMu.Lock()
	defer s.n.bookMu.Unlock()
	return s.n.book.Group(addrbook.AddrFrom(netip.AddrPortFrom(ip, 0))).String()
}

func (s *bookSource) Len() int {
	s.n.bookMu.Lock()
	defer s.n.bookMu.Unlock()
	return s.n.book.Len()
}

// ConnKind is the connection manager's kind of peer id (inbound, manual,
// persistent, seed: automatic outbound full-relay, onetry, feeler), for
// getpeerinfo's connection_type; false when the manager does not know id.
func (n *Node) ConnKind(id uint64) (connmgr.Kind, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.m.Kind(id)
}
