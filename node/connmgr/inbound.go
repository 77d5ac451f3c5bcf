package connmgr

import (
	"fmt"
	"net/netip"
	"sort"
	"time"
)

// offered decides on an inbound connection (rule 3 of the package doc),
// evicting a peer when that makes room.
func (m *Manager) offered(ev Event, out *[]Action) {
	ip := ev.Remote.Addr().Unmap()
	sub := subnetKey(ip)
	var err error
	switch {
	case m.peers[ev.ID] != nil || ev.ID == 0:
		err = fmt.Errorf("%w: %d", ErrDuplicateID, ev.ID)
	case !ip.IsValid():
		err = ErrBadAddress
	case m.isBanned(ip, ev.Now):
		err = fmt.Errorf("%w: %s", ErrBanned, ip)
	case m.cfg.MaxPendingPerSubnet > 0 && m.pending[sub] >= m.cfg.MaxPendingPerSubnet:
		err = fmt.Errorf("%w: %d from %s", ErrPendingLimit, m.pending[sub], sub)
	case m.cfg.MaxPerAddress > 0 && m.perIP[ip] >= m.cfg.MaxPerAddress:
		err = fmt.Errorf("%w: %d from %s", ErrAddressLimit, m.perIP[ip], ip)
	case m.isDiscouraged(ip, ev.Now) && 2*m.inbound >= m.cfg.MaxPeers:
		err = ErrDiscouraged
	case m.slots() >= m.cfg.MaxPeers:
		victim := m.victim(ev.MinPing, ev.Now)
		if victim == nil {
			err = fmt.Errorf("%w: %d peers, the maximum, and none to evict", ErrFull, m.cfg.MaxPeers)
			break
		}
		note(out, true, "evicting peer %d (%s) to make room for %s", victim.id, victim.remote, ev.Remote)
		m.disconnect(victim, WhyEvicted, out)
	}
	if err != nil {
		refuse(out, ev.ID, err)
		return
	}
	m.peers[ev.ID] = &conn{id: ev.ID, ip: ip, remote: ev.Remote, kind: KindInbound, since: ev.Now}
	m.inbound++
	m.perIP[ip]++
	m.pending[sub]++
	*out = append(*out, Action{Kind: ActAccept, ID: ev.ID})
}

// victim chooses the inbound peer to evict for a newcomer, a simpler take
// on Core's AttemptToEvictConnection: among the inbound peers that finished
// their handshake and are not already leaving, protect the EvictionProtect
// with the lowest ping (measured ones first) and the EvictionProtect
// connected longest; of the rest, take the most recently connected
// discouraged one, else the most recently connected. Outbound peers are
// never evicted. Nil: nobody may be evicted.
func (m *Manager) victim(minPing func(uint64) time.Duration, now time.Time) *conn {
	var cands []*conn
	for _, c := range m.peers {
		if c.kind == KindInbound && c.ready && !c.leaving {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	pings := make(map[uint64]time.Duration, len(cands))
	if minPing != nil {
		for _, c := range cands {
			pings[c.id] = minPing(c.id)
		}
	}
	protected := make(map[uint64]bool)
	sort.Slice(cands, func(i, j int) bool {
		a, b := pings[cands[i].id], pings[cands[j].id]
		if (a == 0) != (b == 0) {
			return b == 0
		}
		if a != b {
			return a < b
		}
		return cands[i].id < cands[j].id
	})
	for _, c := range cands[:min(EvictionProtect, len(cands))] {
		protected[c.id] = true
	}
	sort.Slice(cands, func(i, j int) bool {
		if !cands[i].since.Equal(cands[j].since) {
			return cands[i].since.Before(cands[j].since)
		}
		return cands[i].id < cands[j].id
	})
	for _, c := range cands[:min(EvictionProtect, len(cands))] {
		protected[c.id] = true
	}
	var newest, discouraged *conn
	for _, c := range cands { // oldest first
		if protected[c.id] {
			continue
		}
		newest = c
		if m.isDiscouraged(c.ip, now) {
			discouraged = c
		}
	}
	if discouraged != nil {
		return discouraged
	}
	return newest
}

// discourage notes ip as discouraged for DiscourageTime (rule 5).
func (m *Manager) discourage(ip netip.Addr, now time.Time, out *[]Action) {
	if _, ok := m.discouraged[ip]; !ok && len(m.discouraged) >= MaxDiscouraged {
		var first netip.Addr
		var t time.Time
		for a, until := range m.discouraged {
			if t.IsZero() || until.Before(t) || (until.Equal(t) && a.Less(first)) {
				first, t = a, until
			}
		}
		delete(m.discouraged, first)
	}
	m.discouraged[ip] = now.Add(m.cfg.DiscourageTime)
	note(out, true, "discouraging %s for %v", ip, m.cfg.DiscourageTime)
}

// isDiscouraged reports whether ip is discouraged at now, forgetting it
// once that has expired.
func (m *Manager) isDiscouraged(ip netip.Addr, now time.Time) bool {
	until, ok := m.discouraged[ip.Unmap()]
	if ok && !now.Before(until) {
		delete(m.discouraged, ip.Unmap())
		return false
	}
	return ok
}

// Discouraged reports whether ip is discouraged at now.
func (m *Manager) Discouraged(ip netip.Addr, now time.Time) bool {
	until, ok := m.discouraged[ip.Unmap()]
	return ok && now.Before(until)
}
