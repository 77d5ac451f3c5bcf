package connmgr

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// Ban is one operator ban (rule 6 of the package doc).
type Ban struct {
	Subnet  netip.Prefix `json:"subnet"`
	Created time.Time    `json:"created"`
	Until   time.Time    `json:"until"`
}

// isBanned reports whether ip falls in a ban in force at now.
func (m *Manager) isBanned(ip netip.Addr, now time.Time) bool {
	ip = ip.Unmap()
	for _, b := range m.bans {
		if b.Subnet.Contains(ip) && now.Before(b.Until) {
			return true
		}
	}
	return false
}

func (m *Manager) dropExpiredBans(now time.Time) {
	for p, b := range m.bans {
		if !now.Before(b.Until) {
			delete(m.bans, p)
		}
	}
}

// Bans returns the bans in force at now, oldest first.
func (m *Manager) Bans(now time.Time) []Ban {
	out := make([]Ban, 0, len(m.bans))
	for _, b := range m.bans {
		if now.Before(b.Until) {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].Subnet.String() < out[j].Subnet.String()
	})
	return out
}

func (m *Manager) persistBans(now time.Time, out *[]Action) {
	m.dropExpiredBans(now)
	*out = append(*out, Action{Kind: ActPersistBans, Bans: m.Bans(now)})
}

// command carries out an operator command.
func (m *Manager) command(ev Event, out *[]Action) {
	now := ev.Now
	switch ev.Cmd {
	case CmdAdd, CmdRemove, CmdOneTry:
		if ev.Transport == TransportV2 && !m.cfg.V2 {
			refuse(out, 0, ErrV2Disabled)
			return
		}
	}
	v1 := ev.Transport == TransportV1
	switch ev.Cmd {
	case CmdAdd:
		if ev.Target == "" {
			refuse(out, 0, fmt.Errorf("%w: empty address", ErrBadAddress))
		} else if m.keptIndex[ev.Target] != nil {
			refuse(out, 0, ErrAlreadyAdded)
		} else {
			m.keep(ev.Target, KindPersistent, v1)
		}
	case CmdRemove:
		if !m.unkeep(ev.Target) {
			refuse(out, 0, ErrNotAdded)
		}
	case CmdOneTry:
		switch {
		case ev.Target == "":
			refuse(out, 0, fmt.Errorf("%w: empty address", ErrBadAddress))
		case m.started:
			m.dial(ev.Target, KindOneTry, v1, out)
		default:
			m.onetry = append(m.onetry, oneTry{ev.Target, v1})
		}
	case CmdPrivate:
		m.private(ev, out)
	case CmdBan:
		p := ev.Subnet
		switch {
		case !p.IsValid():
			refuse(out, 0, ErrBadSubnet)
			return
		case !now.Before(ev.Until):
			refuse(out, 0, ErrBadBanTime)
			return
		}
		p = unmapPrefix(p)
		if !p.IsValid() {
			refuse(out, 0, ErrBadSubnet)
			return
		}
		if b, ok := m.bans[p]; ok && now.Before(b.Until) {
			refuse(out, 0, ErrAlreadyBanned)
			return
		}
		m.bans[p] = Ban{Subnet: p, Created: now, Until: ev.Until}
		n := 0
		for _, c := range m.sortedPeers() {
			if p.Contains(c.ip) && !c.leaving {
				m.disconnect(c, WhyBanned, out)
				n++
			}
		}
		note(out, true, "banned %s until %s; disconnecting %d peers", p, ev.Until.UTC().Format(time.RFC3339), n)
		m.persistBans(now, out)
	case CmdUnban:
		p := ev.Subnet.Masked()
		if _, ok := m.bans[p]; !ok || !p.IsValid() {
			refuse(out, 0, ErrNotBanned)
			return
		}
		delete(m.bans, p)
		m.persistBans(now, out)
	case CmdClearBans:
		clear(m.bans)
		m.persistBans(now, out)
	case CmdDisconnect:
		c := m.peers[ev.ID]
		if c == nil {
			refuse(out, 0, fmt.Errorf("%w: %d", ErrNoPeer, ev.ID))
			return
		}
		m.disconnect(c, WhyOperator, out)
	case CmdDisconnectAddr:
		want := netip.AddrPortFrom(ev.Remote.Addr().Unmap(), ev.Remote.Port())
		n := 0
		for _, c := range m.sortedPeers() {
			if netip.AddrPortFrom(c.ip, c.remote.Port()) == want {
				m.disconnect(c, WhyOperator, out)
				n++
			}
		}
		if n == 0 {
			refuse(out, 0, fmt.Errorf("%w at %s", ErrNoPeer, ev.Remote))
		}
	case CmdDisconnectAll:
		for _, c := range m.sortedPeers() {
			m.disconnect(c, WhyOperator, out)
		}
	default:
		refuse(out, 0, fmt.Errorf("%w %d", ErrBadCommand, ev.Cmd))
	}
}

// unmapPrefix turns an IPv4-mapped IPv6 prefix of 96 bits or more into
// its IPv4 form (::ffff:1.2.3.0/120 is 1.2.3.0/24), since the manager
// compares unmapped addresses; other prefixes are only masked.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked()
	}
	return p.Masked()
}

// private carries out CmdPrivate (rule 11).
func (m *Manager) private(ev Event, out *[]Action) {
	ap, err := netip.ParseAddrPort(ev.Target)
	ip := ap.Addr().Unmap()
	if err != nil {
		// A Tor v3 name (through the proxy) has no IP to ban.
		if i := strings.LastIndexByte(ev.Target, ':'); i > 0 && strings.HasSuffix(ev.Target[:i], ".onion") {
			err = nil
		}
	}
	limit := m.cfg.MaxPrivate
	if limit <= 0 {
		limit = DefaultMaxPrivate
	}
	switch {
	case err != nil:
		refuse(out, 0, fmt.Errorf("%w: %q", ErrBadAddress, ev.Target))
	case m.busy[ev.Target] > 0:
		refuse(out, 0, fmt.Errorf("%w: %s", ErrBusy, ev.Target))
	case ip.IsValid() && (m.isBanned(ip, ev.Now) || m.isDiscouraged(ip, ev.Now)):
		refuse(out, 0, fmt.Errorf("%w: %s", ErrBanned, ev.Target))
	case m.privates >= limit:
		refuse(out, 0, fmt.Errorf("%w: %d private-broadcast connections, the maximum", ErrFull, limit))
	default:
		m.dial(ev.Target, KindPrivate, ev.Transport != TransportV2, out)
	}
}
