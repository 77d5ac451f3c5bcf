// Package driver runs a peer machine (package peer) on a connection: one
// goroutine per peer that reads messages through a transport, steps the
// machine with them and with whatever else arrives (operator commands,
// relay batches, executor answers, deadlines), and carries out the
// machine's actions. Everything that touches the network, the clock or
// other goroutines is here; the machine stays pure.
//
// The files follow the concerns: peer.go (the Peer, its fields and who
// owns them), loop.go (the owner loop and its moves), inbox.go (what other
// goroutines hand the loop), actions.go (steps and their actions), direct.go
// (Relay's announcements to an idle peer on the caller's goroutine),
// snapshot.go (what the admin interface sees), stack.go (keeping an idle
// peer's stack small) and lockcheck*.go (lock ownership checks in race and
// debug builds).
package driver

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/fsm"
	"github.com/peerd/peerd/internal/transport"
	"github.com/peerd/peerd/peer"
)

// Peer is one connection and the one goroutine that serves it (Run or
// Start). That goroutine owns the machine and does all of the peer's I/O:
// it reads a message, steps the machine, writes what the machine says, and
// reads on. While it waits for the peer it blocks in a read whose deadline
// is the machine's next deadline, so an idle peer costs one parked
// goroutine and no timer or channel of its own.
//
// Other goroutines hand it work (operator commands, relay batches,
// executor answers) through a small bounded inbox and wake it by moving the
// read deadline into the past; the transport keeps any partly read message
// and resumes it. The one exception is a relay batch for a peer whose loop
// is waiting in its read: Relay then steps the machine and writes the
// announcement itself (see direct.go). Disconnect, or the end of the
// context given to New, closes the connection, which also ends a write
// stuck on a peer that does not read.
//
// Methods other than Run and Start are safe for concurrent use.
//
// Locks, in the order they may be taken: own, then inMu or mu (never both,
// and neither is held while own is taken). Race-detector and debug builds
// check that own is held where a method needs it (lockcheck.go).
type Peer struct {
	// Immutable after New.
	id      uint64
	nonce   uint64
	conn    net.Conn
	addr    string
	cfg     *Config
	started int64 // unix nanoseconds
	parent  context.Context
	done    chan struct{}
	hooks   *testHooks // nil outside tests

	// Guarded by own, which the owner loop holds for each of its moves
	// but not while it waits in a read, and Relay holds for its own
	// steps (TryLock: it never waits). The transport's write half
	// belongs here; its read half belongs to the owner loop.
	own       ownLock
	m         *peer.Machine
	t         transport.Transport
	taken     []peer.Event // the events taken by the last drain, kept for reuse
	dw        *directWrite // Relay's non-blocking writes; made at the first one
	handoffAt time.Time    // when the loop moves, if nothing else happens
	broken    bool         // the machine panicked; the peer is closing
	direct    bool         // the step running is Relay's: its writes must not block
	worked    bool         // a step ran since the loop last moved to a fresh goroutine
	moved     bool         // the machine changed state since the last publish
	inbound   bool         // immutable after New; here, it shares the word of the bools above

	// Owned by the owner loop: set by Start, used when the peer ends.
	onEnd      func(peer.Reason)
	stopParent func() bool

	// Guarded by inMu.
	inMu sync.Mutex
	in   inbox

	// Guarded by mu.
	mu       sync.Mutex
	closeWhy peer.Reason // set once, by the first Disconnect
	snap     machineSnap
	hist     *fsm.History

	// Atomics, written by the owner loop (and Relay), read by anyone.
	woken     atomic.Bool // something is in the inbox, or the peer is closing
	closing   atomic.Bool // Disconnect was called; closeWhy says why
	ready     atomic.Bool // the handshake completed once
	addrRelay atomic.Bool // the machine takes part in address relay
	bytesRecv atomic.Uint64
	bytesSent atomic.Uint64
	lastRecv  atomic.Int64 // unix nanoseconds
	lastSend  atomic.Int64
	// Bytes per command and the peer's feefilter (traffic.go); nil
	// until the first message. Written by the owner (own held).
	traffic atomic.Pointer[traffic]
}

// New prepares a peer on an established connection, which t frames.
// p.Inbound says who dialed; Run or Start serves it. When parent ends, the
// peer disconnects.
func New(parent context.Context, id uint64, conn net.Conn, t transport.Transport, cfg *Config, p peer.Params) *Peer {
	pr := &Peer{
		id:      id,
		nonce:   p.Nonce,
		conn:    conn,
		inbound: p.Inbound,
		addr:    conn.RemoteAddr().String(),
		cfg:     cfg,
		started: time.Now().UnixNano(),
		parent:  parent,
		done:    make(chan struct{}),
		hist:    fsm.NewHistory(HistorySize),
		t:       t,
	}
	pr.m = peer.NewMachine(&cfg.Machine, p, fsm.ObserverFunc(pr.transitioned))
	pr.snap.path = pr.m.Path()
	pr.snap.transport = t.Name()
	pr.snap.session, _ = t.(sessioner)
	return pr
}

// ID returns the peer's node-wide id.
func (p *Peer) ID() uint64 { return p.id }

// Nonce returns our version nonce on this connection.
func (p *Peer) Nonce() uint64 { return p.nonce }

// WasReady reports whether the handshake completed.
func (p *Peer) WasReady() bool { return p.ready.Load() }

// Addr returns the remote address.
func (p *Peer) Addr() string { return p.addr }

// Inbound reports whether the peer dialed us.
func (p *Peer) Inbound() bool { return p.inbound }

// Done is closed when the peer has ended and every goroutine of it has
// exited.
func (p *Peer) Done() <-chan struct{} { return p.done }

func (p *Peer) String() string {
	dir := "outbound"
	if p.inbound {
		dir = "inbound"
	}
	return fmt.Sprintf("peer %d (%s, %s)", p.id, p.addr, dir)
}

// Disconnect asks the peer to close for reason. It never blocks; the
// first reason given is kept, and the peer's own if it is already
// closing.
func (p *Peer) Disconnect(reason peer.Reason) {
	p.mu.Lock()
	first := p.closeWhy == ""
	if first {
		p.closeWhy = reason
	}
	p.mu.Unlock()
	if first {
		p.closing.Store(true)
		p.woken.Store(true)
		// Ends a blocked read or a write stuck on a peer that does
		// not read; the loop then sees closing.
		p.conn.Close()
	}
}

// Ping asks the peer to send a ping now (Core's ping RPC). It reports false
// when the inbox already holds CmdQueue commands; the peer pings on its own
// schedule anyway.
func (p *Peer) Ping() bool {
	return p.put(peer.Event{Kind: peer.EvCmd, Cmd: peer.CmdPing})
}

// AnswerGetAddr hands the peer the addresses that answer its getaddr (see
// Config.OnGetAddr); the machine sends at most peer.MaxAddrPerMsg of them.
// It never blocks, and reports false when an answer already waits. The
// peer only reads addrs.
func (p *Peer) AnswerGetAddr(addrs []*wire.NetAddressV2) bool {
	return p.put(peer.Event{Kind: peer.EvAddrs, Addrs: addrs})
}

// RelayAddrs hands the peer addresses to send it after its address
// trickle delay (peer.EvAddrRelay). It never blocks, and reports false
// when AddrRelayQueue batches already wait. The peer only reads addrs.
func (p *Peer) RelayAddrs(addrs []*wire.NetAddressV2) bool {
	return p.put(peer.Event{Kind: peer.EvAddrRelay, Addrs: addrs})
}

// AddrRelay reports whether the peer takes part in address relay (as of
// its last step).
func (p *Peer) AddrRelay() bool { return p.addrRelay.Load() }

// AddrV2 reports whether the peer sent sendaddrv2 (false before the
// handshake completes).
func (p *Peer) AddrV2() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.snap.info != nil && p.snap.info.AddrV2
}

// localAddr is our end of conn (getpeerinfo's addrbind), "" when the
// connection reports none. Asked when a snapshot is taken, not kept: an
// idle peer holds no more than it needs.
func localAddr(conn net.Conn) string {
	if a := conn.LocalAddr(); a != nil {
		return a.String()
	}
	return ""
}
