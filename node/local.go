package node

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/node/addrbook"
	"github.com/peerd/peerd/peer/driver"
)

// This file advertises our own address, as Core's AdvertiseLocal does:
// when the node listens, one address it can be reached at (an
// --externalip one, else a listener bound to a routable address; on
// regtest and simnet loopback counts) goes to each peer once after the
// handshake, through the peer's address relay queue, so it leaves as addr
// or addrv2 as the peer asked, after the same trickle delay as relayed
// gossip, and only to a peer that takes part in address relay (an
// outbound full-relay peer from the start; an inbound one once it sent
// addr, addrv2 or getaddr, which Core's periodic AdvertiseLocal would
// catch later and peerd does not). The version message's addr_from stays
// empty, as Core sends it nowadays. Addresses are not discovered from the
// machine's interfaces (Core's -discover): a node listening on 0.0.0.0
// names its public address with --externalip.

// localAddrs works out the addresses advertised as ours: cfg.ExternalIPs,
// each "ip" or "ip:port" (the port defaults to our first listener's, else
// the network's), or when none is given the listeners bound to a routable
// address. An external IP the book would not take (private, loopback off
// regtest and simnet) is left out with a warning. A node that does not
// listen advertises nothing.
func (n *Node) localAddrs() ([]netip.AddrPort, error) {
	port := n.cfg.Params.DefaultPort
	if len(n.listeners) > 0 {
		if ta, ok := n.listeners[0].Addr().(*net.TCPAddr); ok {
			port = strconv.Itoa(ta.Port)
		}
	}
	var out []netip.AddrPort
	for _, s := range n.cfg.ExternalIPs {
		hp, err := NormalizeAddr(s, port)
		if err != nil {
			return nil, fmt.Errorf("externalip %q: %w", s, err)
		}
		ap, err := netip.ParseAddrPort(hp)
		if err != nil {
			return nil, fmt.Errorf("externalip %q: not an IP address (with an optional port)", s)
		}
		ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		if !n.book.Routable(addrbook.AddrFrom(ap)) {
			log.Warnf("externalip %s is not routable on this network; not advertised", ap)
			continue
		}
		out = append(out, ap)
	}
	if len(n.listeners) == 0 {
		return nil, nil
	}
	if len(n.cfg.ExternalIPs) > 0 {
		return out, nil
	}
	for _, l := range n.listeners {
		ta, ok := l.Addr().(*net.TCPAddr)
		if !ok {
			continue
		}
		ap := ta.AddrPort()
		if ap.Addr().IsUnspecified() || !n.book.Routable(addrbook.AddrFrom(ap)) {
			continue
		}
		out = append(out, ap)
	}
	return out, nil
}

// advertiseLocal hands a peer whose handshake completed one of our own
// addresses, timestamped now, with the services our version message
// carries. One, as Core's GetLocalAddrForPeer picks one: an inbound
// peer's token bucket holds a single token at first. It prefers the
// peer's own family (IPv4, IPv6), and among several spreads the peers
// over them by connection id.
func (n *Node) advertiseLocal(p *driver.Peer) {
	if len(n.local) == 0 {
		return
	}
	cands := n.local
	if ap, err := netip.ParseAddrPort(p.Addr()); err == nil {
		v4 := ap.Addr().Unmap().Is4()
		var same []netip.AddrPort
		for _, l := range n.local {
			if l.Addr().Is4() == v4 {
				same = append(same, l)
			}
		}
		if len(same) > 0 {
			cands = same
		}
	}
	ap := cands[p.ID()%uint64(len(cands))]
	na := wire.NetAddressV2FromBytes(time.Now(), n.cfg.Peer.Machine.Handshake.Services, ap.Addr().AsSlice(), ap.Port())
	p.RelayAddrs([]*wire.NetAddressV2{na}) // a full queue drops it, as gossip may
}

// LocalAddrs returns the addresses the node advertises as its own.
// Safe for concurrent use.
func (n *Node) LocalAddrs() []netip.AddrPort { return append([]netip.AddrPort(nil), n.local...) }
