package node

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/peerd/peerd/peer"
	"github.com/peerd/peerd/peer/driver"
)

// misbehaved says which disconnect reasons are misbehaviour (Core's
// Misbehaving: messages over their limits, such as an inv of 50,001
// entries or an addr of 1,001). The peer's address is then discouraged.
func misbehaved(r peer.Reason) bool {
	return r == peer.ReasonOversized
}

// discourage notes addr's IP as discouraged for DiscourageTime.
func (n *Node) discourage(addr string) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.discouraged) >= maxDiscouraged {
		// Drop the entry that expires first.
		var oldest netip.Addr
		var t time.Time
		for a, until := range n.discouraged {
			if t.IsZero() || until.Before(t) {
				oldest, t = a, until
			}
		}
		delete(n.discouraged, oldest)
	}
	n.discouraged[ap.Addr().Unmap()] = time.Now().Add(n.cfg.DiscourageTime)
	log.Infof("Discouraging %s for %v", ap.Addr(), n.cfg.DiscourageTime)
}

func (n *Node) isDiscouragedLocked(ip netip.Addr) bool {
	until, ok := n.discouraged[ip]
	if ok && time.Now().After(until) {
		delete(n.discouraged, ip)
		return false
	}
	return ok
}

// refuseInbound decides whether to take a new inbound connection and says
// why not: banned; too many unfinished handshakes from its subnet; too many
// connections from its address; discouraged while slots are over half
// full; or no slot left and no peer worth evicting.
func (n *Node) refuseInbound(remote net.Addr) string {
	ip, ok := remoteAddr(remote)
	if !ok {
		return "unparsable address"
	}
	if n.bans.banned(ip) {
		return "banned"
	}
	subnet := subnetKey(ip)
	n.mu.Lock()
	pending := n.admitted.pending[subnet]
	fromIP := n.admitted.perIP[ip]
	inbound := len(n.admitted.peers)
	total := len(n.peers)
	discouraged := n.isDiscouragedLocked(ip)
	n.mu.Unlock()

	switch {
	case n.cfg.MaxPendingPerSubnet > 0 && pending >= n.cfg.MaxPendingPerSubnet:
		return fmt.Sprintf("%d unfinished handshakes from %s already", pending, subnet)
	case n.cfg.MaxPerAddress > 0 && fromIP >= n.cfg.MaxPerAddress:
		return fmt.Sprintf("%d connections from %s already", fromIP, ip)
	case discouraged && 2*inbound >= n.cfg.MaxPeers:
		return "discouraged, and inbound slots are over half full"
	case total >= n.cfg.MaxPeers && !n.evictInbound():
		return fmt.Sprintf("%d peers, the maximum, and none to evict", n.cfg.MaxPeers)
	}
	return ""
}

// admissionCounts keeps what refuseInbound needs to know about the inbound
// peers (connections per address, unfinished handshakes per subnet) up to
// date as they arrive, finish their handshake and leave, so that admitting
// the ten-thousandth peer costs two map lookups, not a walk over the
// other 9,999.
type admissionCounts struct {
	peers   map[uint64]inboundPeer
	perIP   map[netip.Addr]int
	pending map[netip.Prefix]int
}

type inboundPeer struct {
	ip      netip.Addr
	pending bool // handshake not finished
}

func newAdmissionCounts() admissionCounts {
	return admissionCounts{
		peers:   make(map[uint64]inboundPeer),
		perIP:   make(map[netip.Addr]int),
		pending: make(map[netip.Prefix]int),
	}
}

// add counts a new inbound peer, its handshake unfinished.
func (c *admissionCounts) add(id uint64, remote net.Addr) {
	ip, ok := remoteAddr(remote)
	if !ok {
		ip = netip.IPv6Unspecified()
	}
	c.peers[id] = inboundPeer{ip: ip, pending: true}
	c.perIP[ip]++
	c.pending[subnetKey(ip)]++
}

// ready notes that peer id finished its handshake.
func (c *admissionCounts) ready(id uint64) {
	if rec, ok := c.peers[id]; ok && rec.pending {
		rec.pending = false
		c.peers[id] = rec
		decrement(c.pending, subnetKey(rec.ip))
	}
}

// remove forgets peer id; outbound ids are not there and are ignored.
func (c *admissionCounts) remove(id uint64) {
	rec, ok := c.peers[id]
	if !ok {
		return
	}
	delete(c.peers, id)
	decrement(c.perIP, rec.ip)
	if rec.pending {
		decrement(c.pending, subnetKey(rec.ip))
	}
}

func decrement[K comparable](m map[K]int, k K) {
	if m[k] <= 1 {
		delete(m, k)
		return
	}
	m[k]--
}

func peerAddr(p *driver.Peer) net.Addr {
	ap, err := netip.ParseAddrPort(p.Addr())
	if err != nil {
		return &net.TCPAddr{}
	}
	return net.TCPAddrFromAddrPort(ap)
}

// evictInbound makes room for a new inbound peer, a simpler take on Core's
// AttemptToEvictConnection: among the inbound peers that completed their
// handshake, protect the evictionProtect with the lowest ping and the
// evictionProtect connected longest; of the rest, evict a discouraged one if
// any, else the most recently connected. Outbound and manual peers are
// never evicted. It reports whether a peer was evicted.
func (n *Node) evictInbound() bool {
	var cands []driver.Snapshot
	for _, s := range n.Peers() {
		if s.Inbound && strings.HasPrefix(s.State, "standby") {
			cands = append(cands, s)
		}
	}
	protected := map[uint64]bool{}
	byPing := append([]driver.Snapshot(nil), cands...)
	sort.Slice(byPing, func(i, j int) bool {
		a, b := byPing[i].MinPing, byPing[j].MinPing
		if (a == 0) != (b == 0) {
			return b == 0 // peers with a measured ping first
		}
		return a < b
	})
	for _, s := range byPing[:min(evictionProtect, len(byPing))] {
		protected[s.ID] = true
	}
	byAge := append([]driver.Snapshot(nil), cands...)
	sort.Slice(byAge, func(i, j int) bool { return byAge[i].ConnectedAt.Before(byAge[j].ConnectedAt) })
	for _, s := range byAge[:min(evictionProtect, len(byAge))] {
		protected[s.ID] = true
	}
	var victim *driver.Snapshot
	n.mu.Lock()
	for i := range byAge {
		s := &byAge[i]
		if protected[s.ID] {
			continue
		}
		p := n.peers[s.ID]
		if p == nil {
			continue // gone meanwhile
		}
		if ip, ok := remoteAddr(peerAddr(p)); ok && n.isDiscouragedLocked(ip) {
			victim = s
			break
		}
		victim = s // the newest unprotected, since byAge is oldest first
	}
	p := (*driver.Peer)(nil)
	if victim != nil {
		p = n.peers[victim.ID]
	}
	n.mu.Unlock()
	if p == nil {
		return false
	}
	log.Infof("Evicting %v to make room for a new inbound peer", p)
	p.Disconnect(peer.ReasonEvicted)
	return true
}

// Ban adds an operator ban and disconnects the peers it covers.
func (n *Node) Ban(subnet netip.Prefix, until time.Time) error {
	if err := n.bans.add(subnet, until); err != nil {
		return err
	}
	n.mu.Lock()
	var hit []*driver.Peer
	for _, p := range n.peers {
		if ip, ok := remoteAddr(peerAddr(p)); ok && subnet.Contains(ip) {
			hit = append(hit, p)
		}
	}
	n.mu.Unlock()
	for _, p := range hit {
		p.Disconnect(peer.ReasonBanned)
	}
	log.Infof("Banned %s until %s; disconnected %d peers", subnet, until.Format(time.RFC3339), len(hit))
	return nil
}

// Unban removes an operator ban.
func (n *Node) Unban(subnet netip.Prefix) error { return n.bans.remove(subnet) }

// Bans lists the bans in force.
func (n *Node) Bans() []Ban { return n.bans.list() }

// ClearBans removes every ban.
func (n *Node) ClearBans() error { return n.bans.clear() }
