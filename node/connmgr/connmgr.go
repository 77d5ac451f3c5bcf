// Package connmgr is the node's connection policy as a pure machine: which
// inbound connections to take, which addresses to dial and when, which peer
// to evict, whom to ban or discourage. It does no I/O, reads no clock and
// starts no goroutine; the node feeds it Events (each carrying Now) through
// Step and carries out the Actions it returns: dial, close a peer, query
// the DNS seeds, write the ban list. Deadline says when the node must send
// EvTick next.
//
// It is a Step/Deadline machine like the peer's, not one built on
// internal/fsm: the manager has no state of its own to move between, only
// tables (peers, kept addresses, bans, discouraged addresses, candidates)
// that every event updates. The one part with states, a kept address
// (dialing, connected, waiting to redial), is a field of that address.
//
// The policy, rule by rule:
//
//  1. Kept addresses (--connect: KindManual; --addpeer and addnode add:
//     KindPersistent) are dialled at start; after a failed dial or the end
//     of their peer they are redialled after a back-off that starts at
//     RetryMin and doubles to RetryMax, and returns to RetryMin once a
//     peer on the address has finished its handshake.
//  2. Unless --connect is given (it means only those), the manager keeps
//     TargetOutbound automatic outbound full-relay peers (KindSeed)
//     besides the kept ones, with addresses drawn from the Book, at most
//     one per network group: no two outbound peers or dials other than
//     feelers share a group. An address already dialled or connected, or
//     banned or discouraged, is drawn again (MaxSelectTries per dial);
//     every dial is recorded in the book by the node (Attempt; not when
//     the proxy could not be reached, as Core), whose
//     Select then favours other addresses: that is the back-off per
//     address. While under target, the book is looked at again every
//     RefillInterval. A failed automatic dial is replaced at once, unless
//     the proxy could not be reached (EvDialFailed with ProxyDown): every
//     other address would fail alike, so the book waits for the next
//     refill.
//  3. Inbound: refused when banned; when MaxPendingPerSubnet inbound peers
//     of its /24 (IPv6: /64) have not finished their handshake; when
//     MaxPerAddress inbound peers come from its address; when discouraged
//     and inbound peers fill half of MaxPeers; when MaxPeers are connected
//     and no inbound peer may be evicted (see evict).
//  4. Outbound: a connection to a banned address or beyond MaxPeers is
//     refused (and counts as a failed dial).
//  5. A misbehaving inbound or automatic (seed, feeler) peer's address is discouraged for
//     DiscourageTime (at most MaxDiscouraged addresses; the one that
//     expires first makes room).
//  6. Operator bans cover subnets until a time; a new ban closes the peers
//     it covers; every change is persisted.
//  7. An inbound version carrying the nonce of one of our outbound
//     connections whose handshake is unfinished is a connection to
//     ourselves (IsOwnNonce, as Core's CheckIncomingNonce). Once that
//     handshake is done, the nonce is no longer ours to recognise.
//  8. With V2, an address the operator named is dialled with BIP 324
//     unless the operator asked for v1 (addnode's v2transport=false, which
//     a kept address remembers); an automatic or feeler connection with
//     BIP 324 when the book says the address offers NODE_P2P_V2
//     (Candidate.V2, as Core reads addrman's service bits), else v1.
//     Asking for v2 without V2 is refused (ErrV2Disabled). A v2 attempt closed
//     before the peer sent a byte (EvClosed with V2Refused) marks the
//     address v1-only (in memory, at most MaxV1Only) and dials it again
//     at once with v1: a kept address without growing its back-off, a
//     one-try address once more (Core's ShouldReconnectV1).
//  9. Every FeelerInterval once the target is met, a feeler (KindFeeler)
//     is dialled to an address from the book's new table, in a group no
//     outbound peer holds; it does not count toward the target and is
//     disconnected (WhyFeeler) as soon as its handshake completes, which
//     the node records in the book (Good: the address moves to tried).
//  10. With Seeds (and not --connect), the DNS seeds are asked SeedsDelayFew
//     after start when the book holds fewer than SeedsBookThreshold
//     addresses, SeedsDelayMany when more, at once when it is empty; not
//     at all while SeedsEnough automatic peers have finished their
//     handshake. Their answer goes into the book (the node adds it) and
//     becomes candidates through it. An empty answer asks again after a
//     back-off (RetryMin doubling to RetryMax), one with addresses no
//     sooner than RetryMax, each only while still needed.
//  11. Private-broadcast connections (CmdPrivate, KindPrivate) are
//     dialled once on the node's request, never redialled, outside
//     MaxPeers and the group rule, at most MaxPrivate, and refused for
//     busy, banned or discouraged addresses.
//  12. With SeedNames (the node has a proxy, which must resolve every
//     name), the seeds are asked at the same times by an addr-fetch
//     connection (KindAddrFetch) to each seed's name instead of a DNS
//     query: it is disconnected (WhyAddrFetch) as soon as the node
//     reports its answer (EvAddrFetched), or AddrFetchTimeout after it
//     was made; it counts for no target and no network group. When the
//     last of them has ended, the query is over, with as many addresses
//     as they brought (rule 10's back-offs).
//
// Addresses for automatic connections come from one place, the Book
// interface (candidates.go), which the manager calls while it is stepped;
// why an interface rather than candidates passed in events is said there.
//
// A Manager is not safe for concurrent use: the node steps it under a
// mutex.
package connmgr

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"time"
)

// Limits of the policy.
const (
	// MaxDiscouraged bounds the discouraged-address table.
	MaxDiscouraged = 10000
	// EvictionProtect is how many inbound peers each criterion protects
	// from eviction (lowest ping, longest connected).
	EvictionProtect = 4
)

// Errors of the manager: the reasons of ActRefuse (wrapped with details)
// and of a refused operator command.
var (
	ErrBadAddress   = errors.New("unusable address")
	ErrDuplicateID  = errors.New("connection id already in use")
	ErrUnknownDial  = errors.New("no such dial")
	ErrBanned       = errors.New("banned")
	ErrPendingLimit = errors.New("too many unfinished handshakes from the subnet")
	ErrAddressLimit = errors.New("too many connections from the address")
	ErrDiscouraged  = errors.New("discouraged, and inbound slots are over half full")
	ErrFull         = errors.New("no slot left")

	ErrAlreadyAdded  = errors.New("node already added")
	ErrNotAdded      = errors.New("node has not been added")
	ErrBadSubnet     = errors.New("invalid IP/Subnet")
	ErrBadBanTime    = errors.New("ban ends in the past")
	ErrAlreadyBanned = errors.New("IP/Subnet already banned")
	ErrNotBanned     = errors.New("unban failed: requested address/subnet was not previously manually banned")
	ErrNoPeer        = errors.New("no such peer")
	ErrBadCommand    = errors.New("unknown command")
	ErrV2Disabled    = errors.New("v2transport requested but not enabled")
	ErrBusy          = errors.New("address already dialled or connected")
)

// DefaultMaxPrivate bounds private-broadcast connections open at once
// (Core's MAX_PRIVATE_BROADCAST_CONNECTIONS).
const DefaultMaxPrivate = 64

// Config is the policy's configuration. The node fills in defaults; New
// checks what remains.
type Config struct {
	// MaxPeers bounds inbound plus outbound peers.
	MaxPeers int
	// TargetOutbound is how many automatic outbound peers (KindSeed) to
	// keep; 0 means none.
	TargetOutbound int
	// RetryMin and RetryMax bound the back-offs.
	RetryMin, RetryMax time.Duration
	// MaxPendingPerSubnet bounds unfinished inbound handshakes per /24
	// (/64); 0 or less means no limit.
	MaxPendingPerSubnet int
	// MaxPerAddress bounds inbound peers per IP; 0 or less means none.
	MaxPerAddress int
	// DiscourageTime is how long a misbehaving peer's address stays
	// discouraged.
	DiscourageTime time.Duration
	// Connect and AddPeer are the kept addresses, "host:port".
	Connect, AddPeer []string
	// Seeds: the network has DNS seeds and seeding is allowed.
	Seeds bool
	// SeedNames, when set, are the DNS seeds as "name:port", asked by
	// addr-fetch connections rather than DNS queries (rule 12).
	SeedNames []string
	// Book gives the addresses of automatic connections; nil means no
	// automatic connection (nor DNS seeds).
	Book Book
	// Bans are the bans loaded from disk; expired ones are dropped at
	// start.
	Bans []Ban
	// V2: we speak BIP 324, and dial v2 to the addresses whose services
	// are not known beforehand but that the operator named (KindManual,
	// KindPersistent, KindOneTry), as Core dials its added nodes, and to
	// book addresses that advertise NODE_P2P_V2 (Candidate.V2); seed
	// answers carry no services, so they are dialled with v1.
	V2 bool
	// MaxPrivate bounds private-broadcast dials and peers (rule 11); 0
	// means DefaultMaxPrivate.
	MaxPrivate int
}

// conn is one peer the manager has accepted.
type conn struct {
	id      uint64
	ip      netip.Addr
	remote  netip.AddrPort
	kind    Kind
	target  string // outbound: the address dialled
	nonce   uint64 // outbound: ours
	since   time.Time
	ready   bool
	leaving bool // a disconnect was asked; no longer a live slot
	v2      bool // outbound: dialled with BIP 324
	group   string
}

// Manager is the connection policy. Create it with New.
type Manager struct {
	cfg     Config
	started bool

	peers    map[uint64]*conn
	leaving  int                  // peers with a disconnect asked
	inbound  int                  // inbound peers
	perIP    map[netip.Addr]int   // inbound peers per address
	pending  map[netip.Prefix]int // inbound peers per subnet, handshake unfinished
	ownNonce map[uint64]uint64    // outbound peers' nonces, handshake unfinished → id
	busy     map[string]int       // dials and outbound peers per dialled address
	dials    map[uint64]dial      // dials under way
	v1Only   map[string]bool      // addresses that refused a v2 attempt (at most MaxV1Only)
	nextDial uint64

	kept      []*target // in the order added
	keptIndex map[string]*target
	onetry    []oneTry // asked before start

	auto        bool // automatic outbound connections (rule 2)
	seeding     bool // and DNS seeds (rule 10)
	querying    bool
	seedAt      time.Time // the next query, no sooner
	seedBackoff time.Duration
	seedPeers   int       // KindSeed dials and peers
	privates    int       // KindPrivate dials and peers
	privLive    int       // KindPrivate peers not leaving
	fetching    int       // KindAddrFetch dials and peers of the query under way
	fetched     int       // addresses they brought
	autoReady   int       // KindSeed peers whose handshake is done
	fillAt      time.Time // under target: look in the book again
	drawAt      time.Time // an automatic dial failed: draw no other before
	feelerAt    time.Time // the next feeler, no sooner

	discouraged map[netip.Addr]time.Time
	bans        map[netip.Prefix]Ban
}

// oneTry is an addnode onetry asked before the manager started.
type oneTry struct {
	target string
	v1     bool // the operator asked for v1
}

type dial struct {
	target string
	kind   Kind
	v2     bool
	group  string // automatic: the target's network group
}

// New returns a manager for cfg, or an error naming a bad setting.
func New(cfg Config) (*Manager, error) {
	switch {
	case cfg.MaxPeers <= 0:
		return nil, fmt.Errorf("connmgr: MaxPeers %d", cfg.MaxPeers)
	case cfg.TargetOutbound < 0:
		return nil, fmt.Errorf("connmgr: TargetOutbound %d", cfg.TargetOutbound)
	case cfg.RetryMin <= 0 || cfg.RetryMax < cfg.RetryMin:
		return nil, fmt.Errorf("connmgr: retry back-off %v to %v", cfg.RetryMin, cfg.RetryMax)
	case cfg.DiscourageTime <= 0:
		return nil, fmt.Errorf("connmgr: DiscourageTime %v", cfg.DiscourageTime)
	}
	m := &Manager{
		cfg:         cfg,
		peers:       make(map[uint64]*conn),
		perIP:       make(map[netip.Addr]int),
		pending:     make(map[netip.Prefix]int),
		ownNonce:    make(map[uint64]uint64),
		busy:        make(map[string]int),
		dials:       make(map[uint64]dial),
		v1Only:      make(map[string]bool),
		keptIndex:   make(map[string]*target),
		discouraged: make(map[netip.Addr]time.Time),
		bans:        make(map[netip.Prefix]Ban),
		seedBackoff: cfg.RetryMin,
	}
	m.auto = cfg.Book != nil && len(cfg.Connect) == 0 && cfg.TargetOutbound > 0
	m.seeding = m.auto && cfg.Seeds
	for _, b := range cfg.Bans {
		if b.Subnet.IsValid() {
			m.bans[b.Subnet.Masked()] = b
		}
	}
	for _, a := range cfg.Connect {
		m.keep(a, KindManual, false)
	}
	for _, a := range cfg.AddPeer {
		m.keep(a, KindPersistent, false)
	}
	return m, nil
}

// Step applies ev and returns what the node must do, in order.
func (m *Manager) Step(ev Event) []Action {
	var out []Action
	now := ev.Now
	switch ev.Kind {
	case EvStart:
		if m.started {
			break
		}
		m.started = true
		m.dropExpiredBans(now)
		m.feelerAt = now.Add(FeelerInterval)
		if m.seeding {
			m.seedAt = now.Add(seedsDelay(m.cfg.Book.Len()))
		}
		for _, o := range m.onetry {
			m.dial(o.target, KindOneTry, o.v1, &out)
		}
		m.onetry = nil
	case EvTick:
	case EvInbound:
		m.offered(ev, &out)
	case EvConnected:
		m.connected(ev, &out)
	case EvDialFailed:
		m.dialFailed(ev, &out)
	case EvReady:
		m.ready(ev, &out)
	case EvClosed:
		m.closed(ev, &out)
	case EvSeeds:
		m.seeded(ev, &out)
	case EvCmd:
		m.command(ev, &out)
	case EvAddrFetched:
		m.addrFetched(ev, &out)
	}
	m.fill(now, &out)
	return out
}

// fill starts the dials that are due: kept addresses whose wait is over,
// then the automatic ones (fillAuto).
func (m *Manager) fill(now time.Time, out *[]Action) {
	if !m.started {
		return
	}
	for _, t := range m.kept {
		if t.state == waiting && !now.Before(t.retryAt) {
			m.dialKept(t, now, out)
		}
	}
	if m.auto {
		m.fillAuto(now, out)
	}
	if m.fetching > 0 {
		m.expireAddrFetch(now, out)
	}
}

// Deadline is when the node must send EvTick next; zero means no timer
// is needed. Call it after each Step.
func (m *Manager) Deadline() time.Time {
	if !m.started {
		return time.Time{}
	}
	var d time.Time
	earliest := func(t time.Time) {
		if d.IsZero() || t.Before(d) {
			d = t
		}
	}
	for _, t := range m.kept {
		if t.state == waiting {
			earliest(t.retryAt)
		}
	}
	if m.wantSeeds() {
		earliest(m.seedAt)
	}
	if m.auto {
		if !m.fillAt.IsZero() {
			earliest(m.fillAt)
		}
		if m.seedPeers >= m.cfg.TargetOutbound {
			earliest(m.feelerAt)
		}
	}
	if m.fetching > 0 {
		for _, c := range m.peers {
			if c.kind == KindAddrFetch && !c.leaving {
				earliest(c.since.Add(AddrFetchTimeout))
			}
		}
	}
	return d
}

// dial emits a dial of target and counts it; v1: the operator asked for
// v1 (rule 8 decides otherwise).
func (m *Manager) dial(target string, kind Kind, v1 bool, out *[]Action) uint64 {
	m.nextDial++
	v2 := m.cfg.V2 && kind != KindAddrFetch && !v1 && !m.v1Only[target]
	m.dials[m.nextDial] = dial{target: target, kind: kind, v2: v2}
	m.busy[target]++
	switch kind {
	case KindSeed:
		m.seedPeers++
	case KindPrivate:
		m.privates++
	}
	*out = append(*out, Action{Kind: ActDial, Dial: m.nextDial, Target: target, Conn: kind, V2: v2})
	return m.nextDial
}

// undial forgets dial id, which failed or was refused.
func (m *Manager) undial(id uint64) (dial, bool) {
	d, ok := m.dials[id]
	if !ok {
		return d, false
	}
	delete(m.dials, id)
	decrement(m.busy, d.target)
	switch d.kind {
	case KindSeed:
		m.seedPeers--
	case KindPrivate:
		m.privates--
	}
	return d, true
}

// undialed finishes a dial that failed or was refused.
func (m *Manager) undialed(d dial, now time.Time, out *[]Action) {
	if d.kind == KindAddrFetch {
		m.addrFetchEnded(now, out)
	}
}

func (m *Manager) dialFailed(ev Event, out *[]Action) {
	d, ok := m.undial(ev.Dial)
	if !ok {
		return
	}
	if t := m.keptIndex[d.target]; t != nil && t.state == dialing && t.dial == ev.Dial {
		m.keptDialFailed(t, ev.Err, ev.Now, out)
	} else {
		note(out, false, "dial %s (%s): %v", d.target, d.kind, ev.Err)
	}
	m.undialed(d, ev.Now, out)
	if ev.ProxyDown && (d.kind == KindSeed || d.kind == KindFeeler) {
		// Not the address's fault, and every other would fail alike:
		// the book is not drawn from again until the next refill.
		m.drawAt = ev.Now.Add(RefillInterval)
	}
}

// connected answers an outbound connection: accepted unless its address is
// banned or every slot is taken.
func (m *Manager) connected(ev Event, out *[]Action) {
	d, ok := m.dials[ev.Dial]
	if !ok {
		refuse(out, ev.ID, fmt.Errorf("%w %d", ErrUnknownDial, ev.Dial))
		return
	}
	ip := ev.Remote.Addr().Unmap()
	var err error
	switch {
	case m.peers[ev.ID] != nil || ev.ID == 0:
		err = fmt.Errorf("%w: %d", ErrDuplicateID, ev.ID)
	case !ip.IsValid() && !isName(d.target):
		// A connection to a name (through a proxy, which resolved it)
		// has no address of ours to check.
		err = ErrBadAddress
	case m.isBanned(ip, ev.Now):
		err = fmt.Errorf("%w: %s", ErrBanned, ip)
	case m.slots() >= m.cfg.MaxPeers && d.kind != KindPrivate:
		err = fmt.Errorf("%w: %d peers, the maximum", ErrFull, m.cfg.MaxPeers)
	}
	if err != nil {
		m.undial(ev.Dial)
		refuse(out, ev.ID, err)
		m.keptFailed(d.target, ev.Dial, ev.Now, out)
		m.undialed(d, ev.Now, out)
		return
	}
	delete(m.dials, ev.Dial)
	c := &conn{id: ev.ID, ip: ip, remote: ev.Remote, kind: d.kind, target: d.target, nonce: ev.Nonce, since: ev.Now, v2: d.v2, group: d.group}
	m.peers[c.id] = c
	if c.kind == KindPrivate {
		m.privLive++
	}
	if c.nonce != 0 {
		m.ownNonce[c.nonce] = c.id
	}
	if t := m.keptIndex[d.target]; t != nil && t.state == dialing && t.dial == ev.Dial {
		t.state, t.peer = connected, c.id
	}
	*out = append(*out, Action{Kind: ActAccept, ID: c.id})
}

func (m *Manager) ready(ev Event, out *[]Action) {
	c := m.peers[ev.ID]
	if c == nil || c.ready {
		return
	}
	c.ready = true
	switch c.kind {
	case KindSeed:
		m.autoReady++
	case KindFeeler:
		m.disconnect(c, WhyFeeler, out)
	}
	if c.kind == KindInbound {
		decrement(m.pending, subnetKey(c.ip))
	}
	if c.nonce != 0 && m.ownNonce[c.nonce] == c.id {
		delete(m.ownNonce, c.nonce)
	}
	if t := m.keptIndex[c.target]; t != nil && t.peer == c.id {
		t.backoff = m.cfg.RetryMin
		m.keptReached(t, out)
	}
}

func (m *Manager) closed(ev Event, out *[]Action) {
	c := m.peers[ev.ID]
	if c == nil {
		return
	}
	delete(m.peers, c.id)
	if c.leaving {
		m.leaving--
	} else if c.kind == KindPrivate {
		m.privLive--
	}
	if c.nonce != 0 && m.ownNonce[c.nonce] == c.id {
		delete(m.ownNonce, c.nonce)
	}
	if c.kind == KindInbound {
		m.inbound--
		decrement(m.perIP, c.ip)
		if !c.ready {
			decrement(m.pending, subnetKey(c.ip))
		}
	} else {
		decrement(m.busy, c.target)
		switch c.kind {
		case KindSeed:
			m.seedPeers--
			if c.ready {
				m.autoReady--
			}
		case KindPrivate:
			m.privates--
		}
	}
	if c.kind == KindAddrFetch {
		m.addrFetchEnded(ev.Now, out)
	}
	if ev.Misbehaved && c.ip.IsValid() && (c.kind == KindInbound || c.kind == KindSeed || c.kind == KindFeeler || c.kind == KindPrivate) {
		m.discourage(c.ip, ev.Now, out)
	}
	if c.v2 && ev.V2Refused {
		m.refusedV2(c, ev.Now, out)
		return
	}
	if t := m.keptIndex[c.target]; t != nil && t.state == connected && t.peer == c.id {
		m.wait(t, ev.Now, out)
	}
}

// MaxV1Only bounds the addresses remembered as v1-only.
const MaxV1Only = 10000

// refusedV2 handles an outbound v2 attempt that the peer closed before
// sending a byte (rule 8): the address is remembered as v1-only and dialled
// again at once with v1, a kept address without growing its back-off, a
// one-try address once more.
func (m *Manager) refusedV2(c *conn, now time.Time, out *[]Action) {
	if len(m.v1Only) >= MaxV1Only {
		for a := range m.v1Only {
			delete(m.v1Only, a) // any one: the map only saves a wasted attempt
			break
		}
	}
	m.v1Only[c.target] = true
	if c.kind == KindPrivate {
		// Never redialled (rule 11): the next private dial to it uses v1.
		note(out, true, "%s closed our v2 handshake unanswered: v1 from now on", c.target)
		return
	}
	note(out, true, "%s closed our v2 handshake unanswered: dialing it again with v1", c.target)
	if t := m.keptIndex[c.target]; t != nil && t.state == connected && t.peer == c.id {
		t.state, t.retryAt = waiting, now
		m.dialKept(t, now, out)
		return
	}
	if c.kind == KindOneTry {
		m.dial(c.target, KindOneTry, true, out)
	}
}

// IsOwnNonce reports whether nonce is ours on an outbound connection whose
// handshake is unfinished: an inbound version carrying it comes from
// ourselves.
func (m *Manager) IsOwnNonce(nonce uint64) bool {
	_, ok := m.ownNonce[nonce]
	return ok
}

// live is the number of peers not asked to leave.
func (m *Manager) live() int { return len(m.peers) - m.leaving }

// slots is the number of peers that take a slot of MaxPeers: the live
// ones but private-broadcast connections (rule 11).
func (m *Manager) slots() int { return m.live() - m.privLive }

func (m *Manager) disconnect(c *conn, why Why, out *[]Action) {
	if !c.leaving {
		c.leaving = true
		m.leaving++
		if c.kind == KindPrivate {
			m.privLive--
		}
	}
	*out = append(*out, Action{Kind: ActDisconnect, ID: c.id, Why: why})
}

// sortedPeers returns the peers ordered by id, for output that does not
// depend on map order.
func (m *Manager) sortedPeers() []*conn {
	ps := make([]*conn, 0, len(m.peers))
	for _, c := range m.peers {
		ps = append(ps, c)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].id < ps[j].id })
	return ps
}

func refuse(out *[]Action, id uint64, err error) {
	*out = append(*out, Action{Kind: ActRefuse, ID: id, Err: err})
}

func note(out *[]Action, info bool, format string, args ...any) {
	*out = append(*out, Action{Kind: ActNote, Info: info, Note: fmt.Sprintf(format, args...)})
}

func decrement[K comparable](m map[K]int, k K) {
	if m[k] <= 1 {
		delete(m, k)
		return
	}
	m[k]--
}

// isName reports whether target ("host:port") names its host rather than
// giving an IP address.
func isName(target string) bool {
	_, err := netip.ParseAddrPort(target)
	return err != nil
}

// subnetKey groups addresses for the unfinished-handshake limit: the /24
// of an IPv4 address, the /64 of an IPv6 one.
func subnetKey(a netip.Addr) netip.Prefix {
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p
}
