package driver

import (
	"time"

	"github.com/btcsuite/btcd/wire/v2"
	"github.com/btcsuite/btclog"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/internal/fsm"
	"github.com/peerd/peerd/peer"
)

// machineSnap is what the owner loop publishes after each step.
type machineSnap struct {
	path                           string
	pingSent                       time.Time
	reason                         peer.Reason
	minRTT                         time.Duration
	lastRTT                        time.Duration
	addrProcessed, addrRateLimited uint64    // the machine's AddrStats (RelayEnabled: Peer.addrRelay)
	transport                      string    // the transport's name
	session                        sessioner // a v2 transport, for its session id; nil otherwise
	// info points at the machine's record of the handshake, which the
	// machine writes once, before the peer is ready, and never again;
	// nil until then.
	info *handshake.Info
}

// sessioner is a transport with a BIP 324 session id.
type sessioner interface{ SessionID() [32]byte }

// showTransport publishes what Snapshot says of the transport, which
// changes only when the transport's own handshake ends; own must be held.
func (p *Peer) showTransport() {
	s, _ := p.t.(sessioner)
	p.mu.Lock()
	p.snap.transport, p.snap.session = p.t.Name(), s
	p.mu.Unlock()
}

// transitioned is the machine's observer: it logs a transition and keeps
// it in the peer's history. It runs inside a step, with own held.
func (p *Peer) transitioned(t fsm.Transition) {
	p.moved = true
	if log.Level() <= btclog.LevelDebug {
		log.Debugf("%v: %s", p, t)
	}
	p.mu.Lock()
	p.hist.Transitioned(t)
	p.mu.Unlock()
	if f := p.cfg.OnTransition; f != nil {
		f(p, t)
	}
}

// publish copies what Snapshot shows from the machine, after a step; own
// must be held.
func (p *Peer) publish(now time.Time) {
	minRTT, last := p.m.RTT()
	wait := p.m.PingWait(now)
	addr := p.m.AddrStats()
	if last != 0 && last != p.snap.lastRTT && p.cfg.Stats != nil {
		// A pong came (own is held, and only publish writes lastRTT).
		p.cfg.Stats.PingRTT.Observe(last)
	}
	p.addrRelay.Store(addr.RelayEnabled)
	var path string
	if p.moved {
		path, p.moved = p.m.Path(), false
	}
	p.mu.Lock()
	if path != "" {
		p.snap.path = path
	}
	p.snap.reason = p.m.Reason()
	p.snap.minRTT, p.snap.lastRTT = minRTT, last
	p.snap.addrProcessed, p.snap.addrRateLimited = addr.Processed, addr.RateLimited
	p.snap.pingSent = time.Time{}
	if wait != 0 {
		p.snap.pingSent = now.Add(-wait)
	}
	if p.snap.info == nil && p.ready.Load() {
		p.snap.info = p.m.InfoRef()
	}
	p.mu.Unlock()
}

// Snapshot is a consistent view of a peer for the admin interface.
type Snapshot struct {
	ID          uint64
	Addr        string
	LocalAddr   string // our end of the connection (Core's addrbind)
	Inbound     bool
	Transport   string // "v1", "v2", or "detecting" (inbound, not known yet)
	SessionID   []byte // BIP 324's session id, once a v2 session is set up
	State       string // state path, e.g. "standby"
	ConnectedAt time.Time
	LastSend    time.Time
	LastRecv    time.Time
	BytesSent   uint64
	BytesRecv   uint64
	// Bytes per command, header included, as Core's bytessent_per_msg
	// and bytesrecv_per_msg (a command not in wireio's table counts as
	// "*other*"); nil before the first message.
	BytesSentPerMsg map[string]uint64
	BytesRecvPerMsg map[string]uint64
	// MinFeeFilter is the fee rate of the peer's last feefilter, in
	// satoshis per 1000 virtual bytes (0: none).
	MinFeeFilter    int64
	ProtocolVersion uint32
	Services        wire.ServiceFlag
	UserAgent       string
	StartHeight     int32
	Relay           bool
	WTxIDRelay      bool
	AddrV2          bool
	MinPing         time.Duration
	LastPing        time.Duration
	PingWait        time.Duration
	// Address relay (Core's addr_relay_enabled, addr_processed,
	// addr_rate_limited).
	AddrRelayEnabled bool
	AddrProcessed    uint64
	AddrRateLimited  uint64
	DisconnectedFor  peer.Reason
	History          []fsm.Transition
}

// Snapshot returns the peer's current view. Safe for concurrent use.
func (p *Peer) Snapshot() Snapshot {
	p.mu.Lock()
	var s Snapshot
	if info := p.snap.info; info != nil {
		s.ProtocolVersion, s.Services, s.UserAgent = info.ProtocolVersion, info.Services, info.UserAgent
		s.StartHeight, s.Relay, s.WTxIDRelay, s.AddrV2 = info.StartHeight, info.Relay, info.WTxIDRelay, info.AddrV2
	}
	s.MinPing, s.LastPing = p.snap.minRTT, p.snap.lastRTT
	s.AddrRelayEnabled, s.AddrProcessed, s.AddrRateLimited = p.addrRelay.Load(), p.snap.addrProcessed, p.snap.addrRateLimited
	s.State = p.snap.path
	s.DisconnectedFor = p.snap.reason
	if !p.snap.pingSent.IsZero() {
		s.PingWait = time.Since(p.snap.pingSent)
	}
	s.History = p.hist.Snapshot()
	s.Transport = p.snap.transport
	session := p.snap.session
	p.mu.Unlock()
	if session != nil && s.Transport == "v2" {
		if id := session.SessionID(); id != ([32]byte{}) {
			s.SessionID = id[:]
		}
	}
	s.ID, s.Addr, s.LocalAddr, s.Inbound, s.ConnectedAt = p.id, p.addr, localAddr(p.conn), p.inbound, time.Unix(0, p.started)
	s.BytesSent, s.BytesRecv = p.bytesSent.Load(), p.bytesRecv.Load()
	s.LastSend, s.LastRecv = unixNano(p.lastSend.Load()), unixNano(p.lastRecv.Load())
	p.perMsg(&s)
	return s
}

func unixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Brief is the little of a peer that a scrape of the node's metrics
// counts peers by: no history, no maps, nothing allocated.
type Brief struct {
	State     string // state path, e.g. "standby/validating"
	Transport string // "v1", "v2" or "detecting"
	Inbound   bool
}

// Brief returns the peer's state path and transport. Safe for concurrent
// use.
func (p *Peer) Brief() Brief {
	p.mu.Lock()
	b := Brief{State: p.snap.path, Transport: p.snap.transport, Inbound: p.inbound}
	p.mu.Unlock()
	return b
}

// Bytes returns the bytes sent to and received from the peer so far.
// Safe for concurrent use.
func (p *Peer) Bytes() (sent, recv uint64) { return p.bytesSent.Load(), p.bytesRecv.Load() }
