package peer

import (
	"time"

	"github.com/btcsuite/btcd/wire/v2"
)

// Address gossip, on Bitcoin Core's rules (net_processing.cpp:
// ProcessAddrs, the GETADDR handler, SetupAddressRelay):
//
//  1. An outbound peer whose Params.GetAddr is set (a full-relay
//     connection) takes part in address relay from the handshake on, and
//     is sent one getaddr when the handshake completes; that getaddr adds
//     MaxAddrPerMsg tokens to its bucket, beyond the cap. An outbound peer
//     without GetAddr (Core's block-relay-only) never relays addresses:
//     its addr, addrv2 and getaddr are ignored. An inbound peer takes part
//     once it sends addr, addrv2 or getaddr.
//  2. addr and addrv2 (at most MaxAddrPerMsg entries: the reader
//     disconnects above that) refill the peer's token bucket at
//     AddrRate per second up to AddrBucketCap, then take one token per
//     entry, in random order; entries beyond the tokens are dropped and
//     counted as rate-limited. Entries with neither NODE_NETWORK nor
//     NODE_NETWORK_LIMITED are dropped. A timestamp at or before
//     addrTimeFloor or more than addrFutureSlack ahead is replaced by now
//     less addrPastPenalty. The rest are counted as processed and go to
//     the node in one ActAddrs.
//  3. getaddr is answered once per connection, and only to an inbound
//     peer: the machine emits ActGetAddr, the node hands the addresses
//     back with EvAddrs, and the machine sends them, at most
//     MaxAddrPerMsg, as addrv2 to a peer that sent sendaddrv2 and as addr
//     (IPv4 and IPv6 only) otherwise.
//  4. An addr or addrv2 of at most maxRelayMsg entries that no getaddr of
//     ours asked for is gossip: ActAddrs says so (AddrGossip), and the
//     node relays its fresh entries to two peers of its choice (node's
//     rule). Addresses the node relays to this peer (EvAddrRelay) wait in
//     a queue of at most MaxAddrPerMsg (a random one is replaced when it
//     is full) and go out together after a Poisson delay of mean
//     Config.AddrTrickle (Core: 30 s), as addrv2 or addr as in rule 3.
//     Addresses the peer told us of or that we sent it (up to
//     KnownAddrs) are not sent to it again.

// Core's address relay numbers.
const (
	// MaxAddrPerMsg is MAX_ADDR_TO_SEND: the most entries an addr or
	// addrv2 carries, and the getaddr bonus.
	MaxAddrPerMsg = 1000
	// AddrRate is MAX_ADDR_RATE_PER_SECOND: tokens gained per second.
	AddrRate = 0.1
	// AddrBucketCap is MAX_ADDR_PROCESSING_TOKEN_BUCKET: the refill stops
	// here (the getaddr bonus may go beyond it).
	AddrBucketCap = MaxAddrPerMsg

	addrTimeFloor   = 100_000_000 // Unix seconds (1973): a timestamp at or below is bogus
	addrFutureSlack = 10 * time.Minute
	addrPastPenalty = 5 * 24 * time.Hour

	usefulServices = wire.SFNodeNetwork | wire.SFNodeNetworkLimited

	// maxRelayMsg: a larger address message is an answer, not gossip
	// (Core relays from messages of at most 10 entries).
	maxRelayMsg = 10
	// KnownAddrs bounds the per-peer set of addresses the peer is known
	// to have (Core: a 5,000-entry rolling filter).
	KnownAddrs = 5000
	// DefaultAddrTrickle is Core's mean delay between address sends to
	// one peer (AVG_ADDRESS_BROADCAST_INTERVAL).
	DefaultAddrTrickle = 30 * time.Second
)

// AddrStats is the machine's address relay state for getpeerinfo.
type AddrStats struct {
	// RelayEnabled: the peer takes part in address relay (Core's
	// addr_relay_enabled).
	RelayEnabled bool
	// Processed counts received entries that passed the rate limit and
	// the service filter (addr_processed).
	Processed uint64
	// RateLimited counts received entries dropped for want of tokens
	// (addr_rate_limited).
	RateLimited uint64
}

// addrState is the standby machine's address relay with one peer.
type addrState struct {
	stats       AddrStats
	tokens      float64
	tokensAt    time.Time // when tokens was last refilled
	getAddrSent bool      // we sent our one getaddr
	getAddrRecv bool      // the peer's one getaddr was taken
	asked       bool      // ActGetAddr is out; EvAddrs is expected

	known    knownAddrs
	pending  []*wire.NetAddressV2 // relayed addresses waiting for nextSend
	nextSend time.Time            // zero when nothing is pending
}

// knownAddrs is a bounded set of hashes of addresses the peer has; the
// oldest are evicted first. It is made at its first use, so a peer that
// gossips nothing holds none.
type knownAddrs struct {
	m    map[uint64]struct{}
	ring []uint64
	next int
}

func (k *knownAddrs) has(h uint64) bool {
	_, ok := k.m[h]
	return ok
}

func (k *knownAddrs) add(h uint64) {
	if k.m == nil {
		k.m = make(map[uint64]struct{})
	}
	if _, ok := k.m[h]; ok {
		return
	}
	if len(k.ring) < KnownAddrs {
		k.ring = append(k.ring, h)
	} else {
		delete(k.m, k.ring[k.next])
		k.ring[k.next] = h
		k.next = (k.next + 1) % KnownAddrs
	}
	k.m[h] = struct{}{}
}

// addrHash identifies an address (host as wire prints it, and port) in
// knownAddrs: FNV-1a, so a rare collision only skips one send.
func addrHash(host string, port uint16) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(host); i++ {
		h ^= uint64(host[i])
		h *= 1099511628211
	}
	for _, b := range [2]byte{byte(port >> 8), byte(port)} {
		h ^= uint64(b)
		h *= 1099511628211
	}
	return h
}

func hashV1(na *wire.NetAddress) uint64 {
	ip := na.IP
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	return addrHash(ip.String(), na.Port)
}

func hashV2(na *wire.NetAddressV2) uint64 { return addrHash(na.Addr.String(), na.Port) }

// AddrStats returns the peer's address relay counters.
func (m *Machine) AddrStats() AddrStats {
	if m.addr == nil {
		return AddrStats{}
	}
	return m.addr.stats
}

// addrs is the address relay state, made at its first use: the token
// bucket started with one token when the connection did.
func (m *Machine) addrs() *addrState {
	if m.addr == nil {
		// The bucket started with one token when the connection did.
		m.addr = &addrState{tokens: 1, tokensAt: m.connectedAt}
	}
	return m.addr
}

// addrReady runs when the handshake completes: an outbound full-relay peer
// joins address relay and is sent our one getaddr.
func (m *Machine) addrReady(out *[]Action) {
	if m.params.Inbound || !m.params.GetAddr {
		return
	}
	a := m.addrs()
	a.stats.RelayEnabled = true
	a.getAddrSent = true
	a.tokens += MaxAddrPerMsg
	*out = append(*out, Action{Kind: ActSend, Msg: wire.NewMsgGetAddr()})
}

// addrRelay reports whether the peer takes part in address relay, making
// an inbound peer take part on its first address message (Core's
// SetupAddressRelay).
func (m *Machine) addrRelay() bool {
	if m.params.Inbound {
		m.addrs().stats.RelayEnabled = true
	}
	return m.addr != nil && m.addr.stats.RelayEnabled
}

// refill adds the tokens earned since the last refill, up to the cap.
func (a *addrState) refill(now time.Time) {
	if a.tokens < AddrBucketCap {
		if d := now.Sub(a.tokensAt); d > 0 {
			a.tokens = min(a.tokens+d.Seconds()*AddrRate, AddrBucketCap)
		}
	}
	a.tokensAt = now
}

// fixTime is Core's rule for a gossiped timestamp: bogus or future times
// become five days ago.
func fixTime(t, now time.Time) time.Time {
	if t.Unix() <= addrTimeFloor || t.After(now.Add(addrFutureSlack)) {
		return now.Add(-addrPastPenalty)
	}
	return t
}

// shuffle returns 0..n-1 in random order: which entries the tokens cover
// is the peer's to guess, as in Core.
func (m *Machine) shuffle(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := int(m.params.Rand() % uint64(i+1))
		idx[i], idx[j] = idx[j], idx[i]
	}
	return idx
}

// take spends a token on one entry with services s, counting it; it
// reports whether the entry goes on to the node.
func (a *addrState) take(s wire.ServiceFlag) bool {
	if a.tokens < 1 {
		a.stats.RateLimited++
		return false
	}
	a.tokens--
	if s&usefulServices == 0 {
		return false
	}
	a.stats.Processed++
	return true
}

// gotAddr handles addr from a peer in standby.
func (m *Machine) gotAddr(now time.Time, msg *wire.MsgAddr, out *[]Action) {
	fields := func(na *wire.NetAddress) (wire.ServiceFlag, *time.Time) { return na.Services, &na.Timestamp }
	ok, gossip, relay := takeAddrs(m, now, "addr", msg.AddrList, fields, hashV1, out)
	if relay && len(ok) > 0 {
		*out = append(*out, Action{Kind: ActAddrs, Addrs: ok, AddrGossip: gossip})
	}
}

// gotAddrV2 handles addrv2 from a peer in standby. wire/v2 has already
// dropped entries of networks it does not know (BIP 155's I2P, CJDNS and
// unknown ids).
func (m *Machine) gotAddrV2(now time.Time, msg *wire.MsgAddrV2, out *[]Action) {
	fields := func(na *wire.NetAddressV2) (wire.ServiceFlag, *time.Time) { return na.Services, &na.Timestamp }
	ok, gossip, relay := takeAddrs(m, now, "addrv2", msg.AddrList, fields, hashV2, out)
	if relay && len(ok) > 0 {
		*out = append(*out, Action{Kind: ActAddrs, AddrsV2: ok, AddrGossip: gossip})
	}
}

// takeAddrs runs an addr or addrv2 message's entries, in random order,
// through the token bucket and the service filter: it returns copies of
// those taken, timestamps fixed, whether the message may be relayed on
// (gossip), and relay false when the peer takes no part in address relay.
func takeAddrs[T wire.NetAddress | wire.NetAddressV2](m *Machine, now time.Time, cmd string, list []*T,
	fields func(*T) (wire.ServiceFlag, *time.Time), hash func(*T) uint64, out *[]Action) (ok []T, gossip, relay bool) {
	if !m.addrRelay() {
		note(out, "ignored %s: no address relay with this peer", cmd)
		return nil, false, false
	}
	a := m.addrs()
	a.refill(now)
	for _, i := range m.shuffle(len(list)) {
		na := list[i]
		if services, _ := fields(na); !a.take(services) {
			continue
		}
		a.known.add(hash(na))
		e := *na
		_, stamp := fields(&e)
		*stamp = fixTime(*stamp, now)
		ok = append(ok, e)
	}
	gossip = m.isGossip(len(list))
	m.addrDone(len(list), len(ok), out)
	return ok, gossip, true
}

// isGossip reports whether an address message of n entries may be relayed
// on: small, and not while our getaddr waits for its answer.
func (m *Machine) isGossip(n int) bool {
	return n <= maxRelayMsg && (m.addr == nil || !m.addr.getAddrSent)
}

// addrDone ends the handling of an address message of n entries: an
// answer short of a full message ends what our getaddr asked for (Core's
// m_getaddr_sent).
func (m *Machine) addrDone(n, kept int, out *[]Action) {
	if n < MaxAddrPerMsg {
		m.addrs().getAddrSent = false
	}
	if kept < n {
		note(out, "addresses: %d of %d kept (processed %d, rate-limited %d in all)",
			kept, n, m.addrs().stats.Processed, m.addrs().stats.RateLimited)
	}
}

// gotGetAddr handles getaddr: the first one from an inbound peer asks the
// node for addresses; the rest are ignored, as Core does.
func (m *Machine) gotGetAddr(out *[]Action) {
	switch {
	case !m.params.Inbound:
		note(out, "ignored getaddr from an outbound peer")
		return
	case m.addrs().getAddrRecv:
		note(out, "ignored repeated getaddr")
		return
	}
	m.addrRelay()
	m.addrs().getAddrRecv, m.addrs().asked = true, true
	*out = append(*out, Action{Kind: ActGetAddr})
}

// answerGetAddr sends the node's answer (EvAddrs) to the peer's getaddr:
// addrv2 when the peer sent sendaddrv2, otherwise addr with the IPv4 and
// IPv6 entries; at most MaxAddrPerMsg either way. An answer nobody asked
// for is dropped.
func (m *Machine) answerGetAddr(addrs []*wire.NetAddressV2, out *[]Action) {
	if m.addr == nil || !m.addr.asked {
		note(out, "addresses from the node with no getaddr to answer")
		return
	}
	m.addrs().asked = false
	if len(addrs) > MaxAddrPerMsg {
		addrs = addrs[:MaxAddrPerMsg]
	}
	m.sendAddrs(addrs, out)
}

// sendAddrs sends addrs as addrv2 to a peer that sent sendaddrv2, else as
// addr with the IPv4 and IPv6 entries; nothing when none is left.
func (m *Machine) sendAddrs(addrs []*wire.NetAddressV2, out *[]Action) {
	if len(addrs) == 0 {
		return // Core sends no empty address message
	}
	if m.info.AddrV2 {
		msg := wire.NewMsgAddrV2()
		msg.AddrList = addrs
		*out = append(*out, Action{Kind: ActSend, Msg: msg})
		return
	}
	msg := &wire.MsgAddr{AddrList: make([]*wire.NetAddress, 0, len(addrs))}
	for _, na := range addrs {
		if l := na.ToLegacy(); l != nil && !na.IsTorV3() {
			msg.AddrList = append(msg.AddrList, l)
		}
	}
	if len(msg.AddrList) > 0 {
		*out = append(*out, Action{Kind: ActSend, Msg: msg})
	}
}

// relayAddrs queues addresses the node relays to this peer (rule 4).
func (m *Machine) relayAddrs(now time.Time, addrs []*wire.NetAddressV2, out *[]Action) {
	a := m.addr
	if a == nil || !a.stats.RelayEnabled {
		return
	}
	for _, na := range addrs {
		if (na.IsTorV3() && !m.info.AddrV2) || a.known.has(hashV2(na)) {
			continue
		}
		if len(a.pending) < MaxAddrPerMsg {
			a.pending = append(a.pending, na)
		} else {
			a.pending[m.params.Rand()%uint64(len(a.pending))] = na
		}
	}
	if len(a.pending) > 0 && a.nextSend.IsZero() {
		a.nextSend = now.Add(m.poisson(m.cfg.AddrTrickle))
	}
	m.addrTrickle(now, out)
}

// addrTrickle sends the queued addresses once nextSend has come.
func (m *Machine) addrTrickle(now time.Time, out *[]Action) {
	a := m.addr
	if a == nil || a.nextSend.IsZero() || now.Before(a.nextSend) {
		return
	}
	for _, na := range a.pending {
		a.known.add(hashV2(na))
	}
	m.sendAddrs(a.pending, out)
	a.pending, a.nextSend = nil, time.Time{}
}
