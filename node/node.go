// Package node is the one place that knows every peer. It listens for
// inbound connections, keeps the outbound ones the operator asked for
// (--connect, --addpeer) or, with neither, finds peers through the
// network's DNS seeds; it starts a peer.Peer on each connection, and shuts
// them all down with itself.
//
// Goroutines: one accept loop per listener, one dialer per persistent
// address, one seeder when DNS seeds are used, and per peer its owner loop
// and reader (see package peer). Run returns only after all of them have
// exited.
package node

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"github.com/btcsuite/btclog"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/internal/transport"
	"github.com/peerd/peerd/mempool"
	"github.com/peerd/peerd/peer"
	"github.com/peerd/peerd/peer/driver"
)

// Defaults, from btcd's connmgr and Bitcoin Core.
const (
	DefaultMaxPeers       = 125
	DefaultTargetOutbound = 8
	// Reconnect back-off for persistent peers: 5 s doubling to 5 min.
	DefaultRetryMin    = 5 * time.Second
	DefaultRetryMax    = 5 * time.Minute
	DefaultDialTimeout = 10 * time.Second
	// DefaultMaxPendingPerSubnet is btcd v0.26's limit on unfinished
	// inbound handshakes per /24.
	DefaultMaxPendingPerSubnet = 8
	DefaultDiscourageTime      = 24 * time.Hour
	// maxDiscouraged bounds the discouraged-address table.
	maxDiscouraged = 10000
	// evictionProtect is how many inbound peers each criterion protects
	// from eviction (lowest ping, longest connected).
	evictionProtect = 4
)

// Config is the node's configuration. Zero values mean the defaults.
type Config struct {
	// Params is the network (magic, default port, DNS seeds).
	Params *chaincfg.Params
	// Listen lists addresses to accept on; empty means ":" + the
	// network's default port, unless NoListen.
	Listen   []string
	NoListen bool
	// Connect: connect only to these, and keep them (reconnect with
	// back-off). No DNS seeds.
	Connect []string
	// AddPeer: keep these too (reconnect with back-off). As with
	// Connect, DNS seeds are used only when neither list is given.
	AddPeer []string
	// MaxPeers bounds inbound plus outbound peers.
	MaxPeers int
	// TargetOutbound is how many seed-found outbound peers to keep.
	TargetOutbound int
	// NoDNSSeed disables DNS seeding.
	NoDNSSeed bool
	// Peer is the per-peer policy (handshake, keepalive, write timeout).
	Peer driver.Config
	// RetryMin and RetryMax bound the reconnect back-off.
	RetryMin, RetryMax time.Duration
	// DialTimeout bounds one outbound dial.
	DialTimeout time.Duration
	// Mempool holds the operator's transactions to relay; nil relays
	// nothing.
	Mempool *mempool.Pool
	// Reannounce is the base interval for re-announcing unfetched
	// transactions (each round waits 1 to 1.5 times it); 0 means
	// DefaultReannounce.
	Reannounce time.Duration
	// ExecWorkers and ExecQueue size the executor; 0 means GOMAXPROCS
	// workers and 1024 queued jobs.
	ExecWorkers, ExecQueue int
	// BanFile keeps the operator's bans across restarts; "" keeps them in
	// memory only.
	BanFile string
	// MaxPendingPerSubnet bounds the inbound connections from one /24
	// (IPv4) or /64 (IPv6) that have not finished their handshake (btcd:
	// 8); 0 means DefaultMaxPendingPerSubnet, negative means no limit.
	MaxPendingPerSubnet int
	// MaxPerAddress bounds the inbound connections from one IP address;
	// 0 means no limit.
	MaxPerAddress int
	// DiscourageTime is how long an address whose peer misbehaved is
	// discouraged (refused while inbound slots are over half full, and
	// evicted first); 0 means DefaultDiscourageTime.
	DiscourageTime time.Duration

	// Dial and LookupHost replace the network for tests; nil means the
	// standard ones.
	Dial       func(ctx context.Context, network, addr string) (net.Conn, error)
	LookupHost func(ctx context.Context, host string) ([]string, error)
}

// Node owns the listeners and peers. Create it with New, then Run it.
type Node struct {
	cfg       Config
	listeners []net.Listener

	// ctx is the node's lifetime, from New until Run's context ends, so
	// that admin calls made before Run (the RPC server starts first) are
	// safe.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	nextID   uint64
	mu       sync.Mutex // guards the fields below
	peers    map[uint64]*driver.Peer
	nonces   map[uint64]bool               // our outbound nonces, for self-connection checks
	outbound map[string]bool               // remote addresses with an outbound peer or dial under way
	added    map[string]context.CancelFunc // persistent addresses and how to stop keeping them
	freed    chan struct{}                 // signalled when an outbound seed peer ends

	bans        *banList
	discouraged map[netip.Addr]time.Time // guarded by mu
	admitted    admissionCounts          // guarded by mu

	txsMu sync.Mutex
	txs   map[chainhash.Hash]*peer.Tx // shared forms of mempool entries (relay.go)

	reports        reportBuf
	relayDropped   atomic.Uint64 // relay batches a full peer queue refused
	reportsDropped atomic.Uint64 // reports the full recorder queue refused
	started        time.Time
}

// New checks cfg and binds the listeners, so that a port in use is reported
// before anything runs.
func New(cfg Config) (*Node, error) {
	if cfg.Params == nil {
		return nil, errors.New("node: no network parameters")
	}
	if cfg.MaxPeers <= 0 {
		cfg.MaxPeers = DefaultMaxPeers
	}
	if cfg.TargetOutbound <= 0 {
		cfg.TargetOutbound = DefaultTargetOutbound
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = DefaultRetryMin
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(DefaultRetryMax, cfg.RetryMin)
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.Reannounce <= 0 {
		cfg.Reannounce = DefaultReannounce
	}
	if cfg.ExecWorkers <= 0 {
		cfg.ExecWorkers = runtime.GOMAXPROCS(0)
	}
	if cfg.ExecQueue <= 0 {
		cfg.ExecQueue = 1024
	}
	if cfg.MaxPendingPerSubnet == 0 {
		cfg.MaxPendingPerSubnet = DefaultMaxPendingPerSubnet
	}
	if cfg.DiscourageTime <= 0 {
		cfg.DiscourageTime = DefaultDiscourageTime
	}
	bans, err := loadBans(cfg.BanFile)
	if err != nil {
		log.Warnf("%v", err)
	}
	cfg.Peer.Net = cfg.Params.Net
	if cfg.Dial == nil {
		cfg.Dial = (&net.Dialer{KeepAlive: -1}).DialContext
	}
	if cfg.LookupHost == nil {
		cfg.LookupHost = net.DefaultResolver.LookupHost
	}
	for _, lists := range [][]string{cfg.Connect, cfg.AddPeer} {
		for i, a := range lists {
			na, err := NormalizeAddr(a, cfg.Params.DefaultPort)
			if err != nil {
				return nil, err
			}
			lists[i] = na
		}
	}
	n := &Node{
		cfg:      cfg,
		peers:    make(map[uint64]*driver.Peer),
		nonces:   make(map[uint64]bool),
		outbound: make(map[string]bool),
		added:    make(map[string]context.CancelFunc),
		freed:    make(chan struct{}, 1),
		reports:  reportBuf{wake: make(chan struct{}, 1)},
		started:  time.Now(),
		bans:     bans,

		discouraged: make(map[netip.Addr]time.Time),
		admitted:    newAdmissionCounts(),
		txs:         make(map[chainhash.Hash]*peer.Tx),
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.cfg.Peer.OnReady = n.peerReady
	if cfg.Mempool != nil {
		n.cfg.Peer.OnReport = n.peerReport
		n.cfg.Peer.Machine.CheckTx = mempool.CheckSanity
		n.cfg.Peer.Machine.LookupTx = n.lookupTx
	}
	if !cfg.NoListen {
		addrs := cfg.Listen
		if len(addrs) == 0 {
			addrs = []string{":" + cfg.Params.DefaultPort}
		}
		for _, a := range addrs {
			la, err := NormalizeAddr(a, cfg.Params.DefaultPort)
			if err != nil {
				n.closeListeners()
				return nil, err
			}
			l, err := p2pListen.Listen(context.Background(), "tcp", la)
			if err != nil {
				n.closeListeners()
				return nil, err // "listen tcp ADDR: bind: ..." says it all
			}
			n.listeners = append(n.listeners, l)
		}
	}
	return n, nil
}

// p2pListen turns TCP keep-alive off on accepted connections (Go turns it
// on): the peer machine's pings and inactivity timeouts already find dead
// peers, and keep-alive would cost three setsockopt calls per accepted
// connection. Outbound dials do the same. Bitcoin Core sets no keep-alive
// on its peer sockets either.
var p2pListen = net.ListenConfig{KeepAlive: -1}

// NormalizeAddr adds defaultPort to an address without one: "host",
// "1.2.3.4", "[::1]" and "host:port" are accepted.
func NormalizeAddr(addr, defaultPort string) (string, error) {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr, nil
	}
	host := addr
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	if host == "" && addr != "" {
		return "", fmt.Errorf("bad address %q", addr)
	}
	return net.JoinHostPort(host, defaultPort), nil
}

func (n *Node) closeListeners() {
	for _, l := range n.listeners {
		l.Close()
	}
}

// ListenAddrs returns the bound listener addresses.
func (n *Node) ListenAddrs() []net.Addr {
	out := make([]net.Addr, len(n.listeners))
	for i, l := range n.listeners {
		out[i] = l.Addr()
	}
	return out
}

// Run serves until ctx ends, then disconnects every peer and returns once
// every goroutine the node started has exited.
func (n *Node) Run(ctx context.Context) error {
	defer n.cancel()
	stop := context.AfterFunc(ctx, n.cancel)
	defer stop()
	ctx = n.ctx
	exec := NewExecutor(ctx, n.cfg.ExecWorkers, n.cfg.ExecQueue)
	defer exec.Wait()
	n.cfg.Peer.Exec = exec
	if n.cfg.Mempool != nil {
		n.wg.Add(2)
		go n.relayLoop()
		go n.recordLoop()
	}
	for _, l := range n.listeners {
		log.Infof("Listening on %s", l.Addr())
		n.wg.Add(1)
		go n.acceptLoop(l)
	}
	for _, a := range n.cfg.Connect {
		n.keep(a)
	}
	for _, a := range n.cfg.AddPeer {
		n.keep(a)
	}
	seeding := len(n.cfg.Connect) == 0 && len(n.cfg.AddPeer) == 0 && !n.cfg.NoDNSSeed
	if seeding && len(n.cfg.Params.DNSSeeds) > 0 {
		n.wg.Add(1)
		go n.seedLoop()
	}
	<-ctx.Done()
	log.Infof("Shutting down: closing listeners and %d peers", n.PeerCount())
	n.closeListeners()
	n.wg.Wait()
	return nil
}

func (n *Node) keep(addr string) {
	ctx, cancel := context.WithCancel(n.ctx)
	n.mu.Lock()
	n.added[addr] = cancel
	n.mu.Unlock()
	n.wg.Add(1)
	go n.persistent(ctx, addr)
}

// ErrAlreadyAdded and ErrNotAdded are AddPeer's and RemovePeer's refusals.
var (
	ErrAlreadyAdded = errors.New("node already added")
	ErrNotAdded     = errors.New("node has not been added")
)

// AddPeer keeps a connection to addr from now on, as --addpeer does (the
// addnode RPC's "add"). Safe for concurrent use while the node runs.
func (n *Node) AddPeer(addr string) error {
	addr, err := NormalizeAddr(addr, n.cfg.Params.DefaultPort)
	if err != nil {
		return err
	}
	n.mu.Lock()
	_, dup := n.added[addr]
	n.mu.Unlock()
	if dup {
		return ErrAlreadyAdded
	}
	n.keep(addr)
	return nil
}

// RemovePeer stops keeping a connection to addr (addnode "remove"); a
// connected peer stays until it drops.
func (n *Node) RemovePeer(addr string) error {
	addr, err := NormalizeAddr(addr, n.cfg.Params.DefaultPort)
	if err != nil {
		return err
	}
	n.mu.Lock()
	cancel, ok := n.added[addr]
	delete(n.added, addr)
	n.mu.Unlock()
	if !ok {
		return ErrNotAdded
	}
	cancel()
	return nil
}

// ConnectOnce dials addr once, without reconnecting (addnode "onetry").
func (n *Node) ConnectOnce(addr string) error {
	addr, err := NormalizeAddr(addr, n.cfg.Params.DefaultPort)
	if err != nil {
		return err
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		p, err := n.dial(addr)
		if err != nil {
			log.Infof("One-try connection to %s: %v", addr, err)
		} else {
			n.runPeer(p)
		}
		n.release(addr)
	}()
	return nil
}

// acceptLoop accepts inbound connections until the listener closes.
func (n *Node) acceptLoop(l net.Listener) {
	defer n.wg.Done()
	var delay time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			if n.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off briefly
			// rather than spin (as net/http does).
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			log.Warnf("Accept on %s: %v; retrying in %v", l.Addr(), err, delay)
			select {
			case <-time.After(delay):
			case <-n.ctx.Done():
				return
			}
			continue
		}
		delay = 0
		if why := n.refuseInbound(conn.RemoteAddr()); why != "" {
			log.Debugf("Refusing inbound %s: %s", conn.RemoteAddr(), why)
			conn.Close()
			continue
		}
		p := n.newPeer(conn, true, 0)
		n.wg.Add(1)
		// No goroutine of ours waits for an inbound peer: it serves
		// itself and reports its end (see peer.Start).
		p.Start(func(reason peer.Reason) {
			defer n.wg.Done()
			n.peerEnded(p, reason)
		})
	}
}

// persistent keeps one outbound connection to addr: dial, run the peer,
// and after it ends wait a back-off that starts at RetryMin, doubles on
// each failure and resets once a peer reached standby.
func (n *Node) persistent(ctx context.Context, addr string) {
	defer n.wg.Done()
	backoff := n.cfg.RetryMin
	for ctx.Err() == nil {
		ready := false
		if p, err := n.dial(addr); err != nil {
			log.Debugf("Dial %s: %v", addr, err)
		} else {
			n.runPeer(p)
			ready = p.WasReady()
		}
		n.release(addr)
		if ctx.Err() != nil {
			return
		}
		if ready {
			backoff = n.cfg.RetryMin
		}
		log.Debugf("Reconnecting to %s in %v", addr, backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		if !ready {
			backoff = min(2*backoff, n.cfg.RetryMax)
		}
	}
}

// dial connects to addr and prepares an outbound peer, registering addr as
// connected; the caller releases it when the peer has ended.
func (n *Node) dial(addr string) (*driver.Peer, error) {
	if ap, err := netip.ParseAddrPort(addr); err == nil && n.bans.banned(ap.Addr()) {
		return nil, fmt.Errorf("%s is banned", addr)
	}
	n.mu.Lock()
	n.outbound[addr] = true
	n.mu.Unlock()
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.DialTimeout)
	defer cancel()
	conn, err := n.cfg.Dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if n.PeerCount() >= n.cfg.MaxPeers {
		conn.Close()
		return nil, fmt.Errorf("%d peers, the maximum", n.cfg.MaxPeers)
	}
	return n.newPeer(conn, false, randNonce()), nil
}

func (n *Node) release(addr string) {
	n.mu.Lock()
	delete(n.outbound, addr)
	n.mu.Unlock()
}

func (n *Node) newPeer(conn net.Conn, inbound bool, nonce uint64) *driver.Peer {
	if inbound {
		nonce = randNonce()
	}
	n.mu.Lock()
	n.nextID++
	id := n.nextID
	if !inbound {
		n.nonces[nonce] = true
	}
	n.mu.Unlock()
	p := driver.New(n.ctx, id, conn, transport.NewV1(conn, n.cfg.Params.Net), &n.cfg.Peer, peer.Params{
		Params: handshake.Params{
			Inbound:    inbound,
			Nonce:      nonce,
			Remote:     remoteNetAddress(conn.RemoteAddr()),
			IsOwnNonce: n.isOwnNonce,
		},
		Rand: rand.Uint64,
	})
	n.mu.Lock()
	n.peers[id] = p
	if inbound {
		n.admitted.add(id, conn.RemoteAddr())
	}
	n.mu.Unlock()
	if log.Level() <= btclog.LevelDebug {
		log.Debugf("New %v", p)
	}
	return p
}

// runPeer runs p, waiting for it, and forgets it afterwards.
func (n *Node) runPeer(p *driver.Peer) { n.peerEnded(p, p.Run()) }

// peerEnded forgets p, which ended for reason.
func (n *Node) peerEnded(p *driver.Peer, reason peer.Reason) {
	if p.Inbound() && misbehaved(reason) {
		n.discourage(p.Addr())
	}
	n.mu.Lock()
	delete(n.peers, p.ID())
	delete(n.nonces, p.Nonce())
	n.admitted.remove(p.ID())
	n.mu.Unlock()
	if log.Level() <= btclog.LevelDebug {
		log.Debugf("%v ended: %s", p, reason)
	}
}

func (n *Node) isOwnNonce(nonce uint64) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.nonces[nonce]
}

// PeerCount returns the number of connected peers.
func (n *Node) PeerCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.peers)
}

// Peers returns a snapshot of every peer, ordered by id. Safe for
// concurrent use.
func (n *Node) Peers() []driver.Snapshot {
	n.mu.Lock()
	ps := make([]*driver.Peer, 0, len(n.peers))
	for _, p := range n.peers {
		ps = append(ps, p)
	}
	n.mu.Unlock()
	out := make([]driver.Snapshot, len(ps))
	for i, p := range ps {
		out[i] = p.Snapshot()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Uptime is how long ago the node was created.
func (n *Node) Uptime() time.Duration { return time.Since(n.started) }

// Config returns the node's configuration, with defaults filled in.
func (n *Node) Config() *Config { return &n.cfg }

// PingAll asks every peer to ping now (the ping RPC).
func (n *Node) PingAll() {
	for _, p := range n.readyPeers() {
		p.Ping()
	}
}

// DisconnectAddr closes the peers connected to addr; it reports whether
// there was one.
func (n *Node) DisconnectAddr(addr string) bool {
	n.mu.Lock()
	var ps []*driver.Peer
	for _, p := range n.peers {
		if p.Addr() == addr {
			ps = append(ps, p)
		}
	}
	n.mu.Unlock()
	for _, p := range ps {
		p.Disconnect(peer.ReasonOperator)
	}
	return len(ps) > 0
}

// Disconnect closes the peer with the given id; it reports whether one was
// connected.
func (n *Node) Disconnect(id uint64) bool {
	n.mu.Lock()
	p := n.peers[id]
	n.mu.Unlock()
	if p == nil {
		return false
	}
	p.Disconnect(peer.ReasonOperator)
	return true
}

// DisconnectAll closes every peer (the seed's "kill all peers") and
// returns how many were connected. Persistent peers reconnect.
func (n *Node) DisconnectAll() int {
	n.mu.Lock()
	ps := make([]*driver.Peer, 0, len(n.peers))
	for _, p := range n.peers {
		ps = append(ps, p)
	}
	n.mu.Unlock()
	for _, p := range ps {
		p.Disconnect(peer.ReasonOperator)
	}
	return len(ps)
}

// seedLoop keeps TargetOutbound outbound peers from addresses that the
// network's DNS seeds return, querying the seeds when it has no candidate
// left and backing off when they return nothing new.
func (n *Node) seedLoop() {
	defer n.wg.Done()
	var pool []string
	backoff := n.cfg.RetryMin
	for n.ctx.Err() == nil {
		if n.outboundCount() >= n.cfg.TargetOutbound {
			select {
			case <-n.freed:
			case <-n.ctx.Done():
				return
			}
			continue
		}
		if len(pool) == 0 {
			pool = n.querySeeds()
			if len(pool) == 0 {
				log.Infof("DNS seeds returned no addresses; retrying in %v", backoff)
				select {
				case <-time.After(backoff):
				case <-n.ctx.Done():
					return
				}
				backoff = min(2*backoff, n.cfg.RetryMax)
				continue
			}
			backoff = n.cfg.RetryMin
		}
		addr := pool[len(pool)-1]
		pool = pool[:len(pool)-1]
		if n.isOutbound(addr) {
			continue
		}
		p, err := n.dial(addr)
		if err != nil {
			log.Debugf("Dial %s: %v", addr, err)
			n.release(addr)
			continue
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.runPeer(p)
			n.release(addr)
			select {
			case n.freed <- struct{}{}:
			default:
			}
		}()
	}
}

// querySeeds resolves every DNS seed of the network and returns the
// addresses found, shuffled, with the network's default port.
func (n *Node) querySeeds() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range n.cfg.Params.DNSSeeds {
		ctx, cancel := context.WithTimeout(n.ctx, n.cfg.DialTimeout)
		hosts, err := n.cfg.LookupHost(ctx, s.Host)
		cancel()
		if err != nil {
			log.Debugf("DNS seed %s: %v", s.Host, err)
			continue
		}
		log.Debugf("DNS seed %s: %d addresses", s.Host, len(hosts))
		for _, h := range hosts {
			a := net.JoinHostPort(h, n.cfg.Params.DefaultPort)
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func (n *Node) outboundCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.outbound)
}

func (n *Node) isOutbound(addr string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.outbound[addr]
}

// remoteNetAddress is our version's addr_recv: the peer's address when it
// is routable, zeros otherwise (as Core does for private addresses).
func remoteNetAddress(a net.Addr) wire.NetAddress {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return wire.NetAddress{}
	}
	ip := ap.Addr().Unmap()
	if !ip.IsGlobalUnicast() || ip.IsPrivate() {
		return wire.NetAddress{}
	}
	return wire.NetAddress{IP: net.IP(ip.AsSlice()), Port: ap.Port()}
}

func randNonce() uint64 {
	var b [8]byte
	for {
		if _, err := crand.Read(b[:]); err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		if v := binary.LittleEndian.Uint64(b[:]); v != 0 {
			return v
		}
	}
}
