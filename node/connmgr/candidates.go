package connmgr

import (
	"net/netip"
	"time"
)

// Book is where automatic outbound connections (KindSeed, KindFeeler) find
// their addresses: the node's address book, which the DNS seeds' answers
// and gossip fill. The manager calls it synchronously while it is stepped
// (the node implements it over its book, under the book's lock), so the
// manager stays pure and its decisions are made on the book as it is at
// that step, with no copy of candidates to go stale; the randomness of
// Select is the book's own, given to it by the node.
type Book interface {
	// Select picks an address to dial (Core's addrman Select): from the
	// new table only when newOnly, else from new or tried. Recently tried
	// and failing addresses come back less often: that is the back-off
	// per address. A Candidate with no Target is drawn again (an address
	// the node will not dial); false means the book has nothing.
	Select(now time.Time, newOnly bool) (Candidate, bool)
	// Group is the network group of ip (/16 of IPv4, /32 of IPv6; on
	// regtest and simnet 127.A.B for 127.A.B.C).
	Group(ip netip.Addr) string
	// Len is how many addresses the book holds.
	Len() int
}

// Candidate is an address the Book offers.
type Candidate struct {
	// Target is what to dial: "ip:port", or "<key>.onion:port" for a Tor
	// onion service.
	Target string
	// IP is the target's address; invalid for an onion service, which
	// bans and discouragement cannot cover.
	IP netip.Addr
	// Group is the target's network group; "" means Book.Group(IP).
	Group string
	// V2: the book says the address offers NODE_P2P_V2, so an
	// automatic or feeler connection to it opens with BIP 324 (rule 8).
	V2 bool
}

// CandidateOf is the Candidate of an IP address and port.
func CandidateOf(ap netip.AddrPort) Candidate {
	return Candidate{Target: ap.String(), IP: ap.Addr()}
}

// Timings of the automatic outbound connections, as Core has them.
const (
	// MaxSelectTries is how many addresses one automatic dial may draw
	// from the book before giving up until the next refill (Core's 100
	// in ThreadOpenConnections).
	MaxSelectTries = 100
	// RefillInterval is how often the manager looks in the book again
	// while it has fewer than TargetOutbound automatic peers (the book
	// learns addresses by gossip without the manager hearing of it).
	RefillInterval = time.Second
	// FeelerInterval is the time between two feeler connections (Core's
	// FEELER_INTERVAL; Core draws it from an exponential law, here it is
	// fixed).
	FeelerInterval = 2 * time.Minute
	// SeedsDelayFew and SeedsDelayMany are how long the manager lets the
	// book's addresses be tried before asking the DNS seeds, when the book
	// holds fewer than SeedsBookThreshold addresses and when it holds more
	// (Core's DNSSEEDS_DELAY_FEW_PEERS, DNSSEEDS_DELAY_MANY_PEERS and
	// DNSSEEDS_DELAY_PEER_THRESHOLD). An empty book asks at once.
	SeedsDelayFew      = 11 * time.Second
	SeedsDelayMany     = 5 * time.Minute
	SeedsBookThreshold = 1000
	// SeedsEnough is how many automatic outbound peers, handshake done,
	// make the DNS seeds unnecessary (Core's nRelevant >= 2).
	SeedsEnough = 2
)

// candidate draws from the book an address to dial: not dialled or
// connected already, not banned or discouraged, and in a network group
// that groups does not hold. It returns the address and its group.
func (m *Manager) candidate(now time.Time, newOnly bool, groups map[string]bool) (Candidate, bool) {
	for range MaxSelectTries {
		c, ok := m.cfg.Book.Select(now, newOnly)
		if !ok {
			break
		}
		if c.Target == "" || m.busy[c.Target] > 0 {
			continue
		}
		if c.IP.IsValid() || !isName(c.Target) {
			ap, err := netip.ParseAddrPort(c.Target)
			ip := ap.Addr().Unmap()
			if err != nil || !ip.IsValid() || ap.Port() == 0 {
				continue
			}
			c.Target = netip.AddrPortFrom(ip, ap.Port()).String()
			if m.busy[c.Target] > 0 || m.isBanned(ip, now) || m.isDiscouraged(ip, now) {
				continue
			}
			if c.Group == "" {
				c.Group = m.cfg.Book.Group(ip)
			}
		}
		if groups[c.Group] {
			continue
		}
		return c, true
	}
	return Candidate{}, false
}

// outboundGroups is the set of network groups of the outbound peers and
// dials that are not feelers (short-lived, they do not count, as in
// Core): kept, one-try and automatic alike.
func (m *Manager) outboundGroups() map[string]bool {
	gs := make(map[string]bool)
	add := func(ip netip.Addr) {
		if ip.IsValid() {
			gs[m.cfg.Book.Group(ip.Unmap())] = true
		}
	}
	for _, c := range m.peers {
		switch {
		case c.kind == KindInbound || c.kind == KindFeeler || c.kind == KindPrivate || c.kind == KindAddrFetch:
		case c.group != "":
			gs[c.group] = true
		default:
			add(c.remote.Addr())
		}
	}
	for _, d := range m.dials {
		switch {
		case d.kind == KindFeeler || d.kind == KindPrivate || d.kind == KindAddrFetch:
		case d.group != "":
			gs[d.group] = true
		default:
			if ap, err := netip.ParseAddrPort(d.target); err == nil {
				add(ap.Addr())
			}
		}
	}
	return gs
}

// fillAuto keeps TargetOutbound automatic peers in distinct groups, dials
// a feeler when one is due, and asks the DNS seeds when they are needed
// (rules 2 and 9 of the package doc).
func (m *Manager) fillAuto(now time.Time, out *[]Action) {
	var groups map[string]bool
	if m.seedPeers < m.cfg.TargetOutbound || !now.Before(m.feelerAt) {
		groups = m.outboundGroups()
	}
	for m.seedPeers < m.cfg.TargetOutbound && !now.Before(m.drawAt) {
		c, ok := m.candidate(now, false, groups)
		if !ok {
			break
		}
		groups[c.Group] = true
		m.dialGroup(c, KindSeed, out)
	}
	switch {
	case m.seedPeers >= m.cfg.TargetOutbound:
		m.fillAt = time.Time{}
	case !m.fillAt.After(now):
		m.fillAt = now.Add(RefillInterval)
	case m.fillAt.Before(m.drawAt):
		m.fillAt = m.drawAt
	}
	// As in Core, a feeler waits until the target is met: until then the
	// automatic dials test the book's addresses themselves.
	if !now.Before(m.feelerAt) && m.seedPeers >= m.cfg.TargetOutbound {
		m.feelerAt = now.Add(FeelerInterval)
		if c, ok := m.candidate(now, true, groups); ok {
			m.dialGroup(c, KindFeeler, out)
		}
	}
	if m.wantSeeds() && !now.Before(m.seedAt) {
		m.askSeeds(now, out)
	}
}

// dialGroup dials an automatic connection to c (v2 when the book says it
// offers it), recording its network group.
func (m *Manager) dialGroup(c Candidate, kind Kind, out *[]Action) {
	id := m.dial(c.Target, kind, !c.V2, out)
	d := m.dials[id]
	d.group = c.Group
	m.dials[id] = d
}

// AddrFetchTimeout is how long an addr-fetch connection may take, from
// its connection to its answer.
const AddrFetchTimeout = 2 * time.Minute

// askSeeds asks the DNS seeds: by a query (ActQuerySeeds), or, with
// SeedNames, by an addr-fetch connection to each (rule 12).
func (m *Manager) askSeeds(now time.Time, out *[]Action) {
	m.querying = true
	if len(m.cfg.SeedNames) == 0 {
		*out = append(*out, Action{Kind: ActQuerySeeds})
		return
	}
	m.fetched = 0
	for _, name := range m.cfg.SeedNames {
		if m.busy[name] > 0 {
			continue
		}
		m.fetching++
		m.dial(name, KindAddrFetch, true, out)
	}
	if m.fetching == 0 {
		m.seeded(Event{Now: now}, out)
	}
}

// addrFetched takes an addr-fetch peer's answer: its addresses are in the
// book; the connection has served its purpose.
func (m *Manager) addrFetched(ev Event, out *[]Action) {
	c := m.peers[ev.ID]
	if c == nil || c.kind != KindAddrFetch || c.leaving {
		return
	}
	m.fetched += ev.Count
	note(out, true, "addr-fetch %s: %d addresses", c.target, ev.Count)
	m.disconnect(c, WhyAddrFetch, out)
}

// expireAddrFetch closes the addr-fetch peers that had AddrFetchTimeout
// to answer.
func (m *Manager) expireAddrFetch(now time.Time, out *[]Action) {
	for _, c := range m.sortedPeers() {
		if c.kind == KindAddrFetch && !c.leaving && !now.Before(c.since.Add(AddrFetchTimeout)) {
			note(out, true, "addr-fetch %s: no answer in %v", c.target, AddrFetchTimeout)
			m.disconnect(c, WhyAddrFetch, out)
		}
	}
}

// addrFetchEnded counts the end of one addr-fetch dial or peer; the last
// one ends the query with what they all brought.
func (m *Manager) addrFetchEnded(now time.Time, out *[]Action) {
	if m.fetching == 0 {
		return
	}
	m.fetching--
	if m.fetching == 0 {
		m.seeded(Event{Now: now, Count: m.fetched}, out)
	}
}

// wantSeeds says whether the DNS seeds are to be asked (at seedAt): while
// fewer than SeedsEnough automatic peers have finished their handshake.
func (m *Manager) wantSeeds() bool {
	return m.seeding && !m.querying && m.autoReady < SeedsEnough
}

// seedsDelay is how long after start the DNS seeds are first asked, by
// the size of the book.
func seedsDelay(n int) time.Duration {
	switch {
	case n == 0:
		return 0
	case n < SeedsBookThreshold:
		return SeedsDelayFew
	}
	return SeedsDelayMany
}

// seeded takes the DNS seeds' answer: its addresses went into the book
// (the node adds them) and become candidates through it. After an answer
// with addresses the seeds are asked again, if still needed, no sooner
// than RetryMax; after an empty one, after a back-off from RetryMin
// doubling to RetryMax.
func (m *Manager) seeded(ev Event, out *[]Action) {
	m.querying = false
	if len(ev.Addrs) == 0 && ev.Count == 0 {
		m.seedAt = ev.Now.Add(m.seedBackoff)
		why := ""
		if ev.Err != nil {
			why = " (" + ev.Err.Error() + ")"
		}
		note(out, true, "DNS seeds returned no addresses%s; asking again in %v if still needed", why, m.seedBackoff)
		m.seedBackoff = min(2*m.seedBackoff, m.cfg.RetryMax)
		return
	}
	m.seedBackoff = m.cfg.RetryMin
	m.seedAt = ev.Now.Add(m.cfg.RetryMax)
}

// Kind returns the kind of peer id, for the node's peer information
// (getpeerinfo's connection_type).
func (m *Manager) Kind(id uint64) (Kind, bool) {
	c := m.peers[id]
	if c == nil {
		return 0, false
	}
	return c.kind, true
}
