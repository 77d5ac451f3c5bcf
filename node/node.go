// Package node is the one place that knows every peer. It listens for
// inbound connections and carries out the connection manager's decisions
// (package connmgr: whom to accept, dial, evict, ban; when to ask the DNS
// seeds); it starts a driver.Peer on each connection, and shuts them all
// down with itself.
//
// Goroutines: one accept loop per listener; one timer loop for the
// connection manager's deadline; one short-lived goroutine per dial and
// per DNS seed query; with a mempool, the relay and recorder loops; the
// executor's workers; and per peer one goroutine (see package peer). Run
// returns only after all of them have exited.
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

	"github.com/peerd/peerd/internal/fsm"
	"github.com/peerd/peerd/internal/proxydial"
	"github.com/peerd/peerd/mempool"
	"github.com/peerd/peerd/node/addrbook"
	"github.com/peerd/peerd/node/connmgr"
	"github.com/peerd/peerd/node/privbcast"
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
	// ExternalIPs are the addresses we advertise as ours ("ip" or
	// "ip:port"; the port defaults to the first listener's), instead of
	// the listeners bound to a routable address (local.go). Ignored when
	// the node does not listen.
	ExternalIPs []string
	// MaxPeers bounds inbound plus outbound peers.
	MaxPeers int
	// TargetOutbound is how many automatic outbound full-relay peers,
	// drawn from the address book in distinct network groups, to keep
	// besides --addpeer's (none with --connect); 0 means the default,
	// negative means none.
	TargetOutbound int
	// NoDNSSeed disables DNS seeding.
	NoDNSSeed bool
	// V2Transport speaks BIP 324: inbound peers may open with v2 or v1
	// (told apart by their first bytes), outbound connections the
	// connection manager marks v2 are opened with v2, and we advertise
	// NODE_P2P_V2. Off: v1 only, and the service bit is cleared.
	V2Transport bool
	// Peer is the per-peer policy (handshake, keepalive, write timeout).
	// A nil Peer.Machine.InboundTrickle becomes the node's own schedule:
	// one announcement time per network key for the inbound peers, as
	// Core's (trickle.go).
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
	// AddrBookFile keeps the address book across restarts (loaded at
	// start, written every AddrBookSave and at shutdown); "" keeps it in
	// memory only.
	AddrBookFile string
	// AddrBookSave is how often the book is written; 0 means
	// DefaultAddrBookSave.
	AddrBookSave time.Duration
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

	// Proxy is the SOCKS5 proxy ("host:port") every outbound connection
	// goes through (Core's -proxy); host names go to it unresolved, and
	// the DNS seeds are asked by addr-fetch connections to their names
	// through it, never by a DNS query. "" dials directly.
	Proxy string
	// Onion is the SOCKS5 proxy for .onion addresses (Core's -onion);
	// "" means Proxy. Without either, .onion addresses are never dialled.
	Onion string
	// NoProxyRandomize sends no credentials to the proxies. By default
	// each connection offers random ones (and no authentication), so that
	// Tor gives each connection its own circuit (Core's -proxyrandomize).
	NoProxyRandomize bool
	// OnlyNet limits automatic outbound connections to these networks
	// ("ipv4", "ipv6", "onion": Core's -onlynet); empty means every
	// network the node can reach. Connections the operator names are not
	// limited.
	OnlyNet []string
	// PrivateBroadcast sends the operator's transactions
	// (SendRawTransaction) over short-lived private-broadcast connections
	// only (private.go), until an ordinary peer announces them back. It
	// needs a Mempool and no Connect (the connections go to random
	// addresses from the book); the caller sees that those connections
	// go through a proxy (cmd/peerd refuses it without one).
	PrivateBroadcast bool
	// PrivateBroadcastPeers is how many connections each transaction is
	// sent over per round; 0 means privbcast.DefaultPeersPerTx (3).
	PrivateBroadcastPeers int

	// Dial and LookupHost replace the network for tests; nil means the
	// standard ones. With a proxy, Dial opens the connections to the
	// proxy, and LookupHost is never called.
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

	mu       sync.Mutex // guards the fields below
	nextID   uint64
	peers    map[uint64]*driver.Peer
	m        *connmgr.Manager // the connection policy (conns.go)
	stopping bool             // Run is waiting for the goroutines; spawn no more
	// observe, if set before Run, sees every step of the manager (tests).
	observe func(connmgr.Event, []connmgr.Action)
	netKeys map[netKeyID]peer.NetKey // inbound connections' network keys (trickle.go)

	wake   chan struct{} // the manager's deadline may have moved
	banMu  sync.Mutex    // serialises writes of the ban file
	banErr error         // the ban file did not load

	bookMu        sync.Mutex // guards the fields below (addrs.go)
	book          *addrbook.Book
	getAddrAnswer []*wire.NetAddressV2 // the cached getaddr answer, shared read-only
	getAddrAt     time.Time            // when it was drawn
	bookLocal     bool                 // regtest or simnet (immutable)
	bookErr       error                // the book's file did not load (immutable)
	bookSaveMu    sync.Mutex           // serialises writes of the book's file
	relayKey      [32]byte             // keys the choice of address relay peers (immutable)

	local []netip.AddrPort   // the addresses we advertise as ours (immutable after New; local.go)
	nets  []addrbook.Network // the networks automatic connections may go to (immutable; proxy.go)

	txsMu sync.Mutex
	txs   map[chainhash.Hash]*peer.Tx // shared forms of mempool entries (relay.go)

	priv *privState // private broadcast (private.go); nil when off

	reports        reportBuf
	recent         recentRing // the peers' latest transitions (transitions.go)
	stats          *Stats     // event counters (stats.go)
	endedSent      uint64     // bytes of the peers that ended; guarded by mu
	endedRecv      uint64
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
	if cfg.PrivateBroadcast {
		switch {
		case cfg.Mempool == nil:
			return nil, errors.New("node: private broadcast needs a mempool")
		case len(cfg.Connect) > 0:
			return nil, errors.New("node: private broadcast cannot be used with --connect: it must reach random peers from the address book")
		}
	}
	if cfg.MaxPeers <= 0 {
		cfg.MaxPeers = DefaultMaxPeers
	}
	switch {
	case cfg.TargetOutbound == 0:
		cfg.TargetOutbound = DefaultTargetOutbound
	case cfg.TargetOutbound < 0:
		cfg.TargetOutbound = 0 // none
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
	if cfg.AddrBookSave <= 0 {
		cfg.AddrBookSave = DefaultAddrBookSave
	}
	bans, banErr := loadBans(cfg.BanFile)
	local := localNet(cfg.Params.Net)
	book, bookErr := loadBook(cfg.AddrBookFile, local)
	cfg.Peer.Net = cfg.Params.Net
	if cfg.Dial == nil {
		cfg.Dial = (&net.Dialer{KeepAlive: -1}).DialContext
	}
	nets, err := reachable(cfg)
	if err != nil {
		return nil, err
	}
	cfg.Dial = proxydial.New(proxydial.Config{Proxy: cfg.Proxy, Onion: cfg.Onion,
		Randomize: !cfg.NoProxyRandomize, Direct: cfg.Dial}).DialContext
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
	src := &bookSource{nets: nets}
	m, err := connmgr.New(connmgr.Config{
		MaxPeers:            cfg.MaxPeers,
		TargetOutbound:      cfg.TargetOutbound,
		RetryMin:            cfg.RetryMin,
		RetryMax:            cfg.RetryMax,
		MaxPendingPerSubnet: cfg.MaxPendingPerSubnet,
		MaxPerAddress:       cfg.MaxPerAddress,
		DiscourageTime:      cfg.DiscourageTime,
		Connect:             cfg.Connect,
		AddPeer:             cfg.AddPeer,
		Seeds:               !cfg.NoDNSSeed && len(cfg.Params.DNSSeeds) > 0,
		SeedNames:           seedNames(cfg),
		Bans:                bans,
		V2:                  cfg.V2Transport,
		Book:                src,
	})
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg:     cfg,
		peers:   make(map[uint64]*driver.Peer),
		m:       m,
		wake:    make(chan struct{}, 1),
		banErr:  banErr,
		reports: reportBuf{wake: make(chan struct{}, 1)},
		started: time.Now(),
		txs:     make(map[chainhash.Hash]*peer.Tx),
		book:    book,
		bookErr: bookErr,
		nets:    nets,
	}
	n.bookLocal = local
	src.n = n
	if cfg.PrivateBroadcast {
		n.priv = newPrivState(privbcast.Config{PeersPerTx: cfg.PrivateBroadcastPeers})
	}
	crand.Read(n.relayKey[:])
	n.ctx, n.cancel = context.WithCancel(context.Background())
	// NODE_P2P_V2 is advertised exactly when v2 is spoken, whatever
	// the configured services say (as Core does).
	if cfg.V2Transport {
		n.cfg.Peer.Machine.Handshake.Services |= wire.SFNodeP2PV2
	} else {
		n.cfg.Peer.Machine.Handshake.Services &^= wire.SFNodeP2PV2
	}
	if n.cfg.Peer.Machine.InboundTrickle == nil {
		// One announcement schedule for the inbound peers of each
		// network, as Core's (trickle.go).
		n.cfg.Peer.Machine.InboundTrickle = newInboundTrickle(rand.Uint64)
	}
	n.stats = newStats()
	if n.cfg.Peer.Stats == nil {
		n.cfg.Peer.Stats = n.stats.Peer
	} else {
		n.stats.Peer = n.cfg.Peer.Stats
	}
	n.cfg.Peer.OnReady = n.peerReady
	if f := n.cfg.Peer.OnTransition; f != nil {
		n.cfg.Peer.OnTransition = func(p *driver.Peer, t fsm.Transition) { n.peerTransitioned(p, t); f(p, t) }
	} else {
		n.cfg.Peer.OnTransition = n.peerTransitioned
	}
	n.cfg.Peer.OnAddrs = n.peerAddrs
	n.cfg.Peer.OnGetAddr = n.peerGetAddr
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
	if n.local, err = n.localAddrs(); err != nil {
		n.closeListeners()
		return nil, err
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
	if n.banErr != nil {
		log.Warnf("%v", n.banErr)
	}
	if n.bookErr != nil {
		log.Warnf("%v", n.bookErr)
	}
	n.bookMu.Lock()
	log.Infof("Address book: %d addresses", n.book.Len())
	n.bookMu.Unlock()
	n.wg.Add(1)
	go n.bookLoop()
	for _, l := range n.listeners {
		log.Infof("Listening on %s", l.Addr())
		n.wg.Add(1)
		go n.acceptLoop(l)
	}
	n.wg.Add(1)
	go n.timerLoop()
	n.step(connmgr.Event{Kind: connmgr.EvStart})
	if n.priv != nil {
		n.wg.Add(1)
		go n.privLoop()
		// The queue survives restarts: every private entry resumes.
		for _, e := range n.cfg.Mempool.Entries() {
			if e.Private() {
				log.Infof("Private broadcast of %v resumes", e.TxID)
				n.privAdd(e.TxID)
			}
		}
	}
	<-ctx.Done()
	n.mu.Lock()
	n.stopping = true
	n.mu.Unlock()
	log.Infof("Shutting down: closing listeners and %d peers", n.PeerCount())
	n.closeListeners()
	n.wg.Wait()
	if err := n.saveBook(); err != nil {
		log.Warnf("Writing the address book: %v", err)
	}
	return nil
}

// ErrAlreadyAdded and ErrNotAdded are AddPeer's and RemovePeer's refusals.
var (
	ErrAlreadyAdded = connmgr.ErrAlreadyAdded
	ErrNotAdded     = connmgr.ErrNotAdded
)

// ErrV2NotEnabled refuses a request for BIP 324 when V2Transport is off.
var ErrV2NotEnabled = connmgr.ErrV2Disabled

// Transport is the transport an addnode asks for.
type Transport = connmgr.Transport

// Transports: TransportAuto is v2 exactly when V2Transport is on;
// TransportV1 dials with v1 even then; TransportV2 dials with BIP 324
// (falling back to v1 as any v2 dial does) and is refused with
// ErrV2NotEnabled when V2Transport is off.
const (
	TransportAuto = connmgr.TransportAuto
	TransportV1   = connmgr.TransportV1
	TransportV2   = connmgr.TransportV2
)

// AddPeer keeps a connection to addr from now on, as --addpeer does (the
// addnode RPC's "add"), dialled with tr whenever it is dialled. Safe for
// concurrent use, before and while the node runs.
func (n *Node) AddPeer(addr string, tr Transport) error {
	return n.addnode(connmgr.CmdAdd, addr, tr)
}

// RemovePeer stops keeping a connection to addr (addnode "remove"); a
// connected peer stays until it drops.
func (n *Node) RemovePeer(addr string) error {
	return n.addnode(connmgr.CmdRemove, addr, TransportAuto)
}

// ConnectOnce dials addr once with tr, without reconnecting (addnode
// "onetry"); a v2 attempt the peer refuses is followed by one v1 dial.
func (n *Node) ConnectOnce(addr string, tr Transport) error {
	return n.addnode(connmgr.CmdOneTry, addr, tr)
}

func (n *Node) addnode(cmd connmgr.Cmd, addr string, tr Transport) error {
	addr, err := NormalizeAddr(addr, n.cfg.Params.DefaultPort)
	if err != nil {
		return err
	}
	_, err = n.step(connmgr.Event{Kind: connmgr.EvCmd, Cmd: cmd, Target: addr, Transport: tr})
	return err
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
		n.admit(conn)
	}
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

// DisconnectAddr closes the peers connected to addr ("ip:port"); it
// reports whether there was one.
func (n *Node) DisconnectAddr(addr string) bool {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return false
	}
	acts, err := n.step(connmgr.Event{Kind: connmgr.EvCmd, Cmd: connmgr.CmdDisconnectAddr, Remote: ap})
	return err == nil && countDisconnects(acts) > 0
}

// Disconnect closes the peer with the given id; it reports whether one was
// connected.
func (n *Node) Disconnect(id uint64) bool {
	acts, err := n.step(connmgr.Event{Kind: connmgr.EvCmd, Cmd: connmgr.CmdDisconnect, ID: id})
	return err == nil && countDisconnects(acts) > 0
}

// DisconnectAll closes every peer (the seed's "kill all peers") and
// returns how many were connected. Kept peers reconnect.
func (n *Node) DisconnectAll() int {
	acts, _ := n.step(connmgr.Event{Kind: connmgr.EvCmd, Cmd: connmgr.CmdDisconnectAll})
	return countDisconnects(acts)
}

func countDisconnects(acts []connmgr.Action) int {
	c := 0
	for _, a := range acts {
		if a.Kind == connmgr.ActDisconnect {
			c++
		}
	}
	return c
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
