package peer

import (
	"fmt"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/internal/fsm"
)

// Keepalive defaults, as in Bitcoin Core (net_processing.cpp PING_INTERVAL,
// net.h TIMEOUT_INTERVAL).
const (
	DefaultPingInterval = 2 * time.Minute
	DefaultPingTimeout  = 20 * time.Minute
	DefaultIdleTimeout  = 20 * time.Minute
)

// The wire peer's top-level states.
const (
	// Handshake: the connection is up and the handshake machine runs
	// inside this state. Nothing but handshake messages leaves.
	Handshake fsm.State = "handshake"
	// Standby: the handshake is done. The peer answers pings, sends its
	// own, and watches for silence.
	Standby fsm.State = "standby"
	// Disconnected: the connection is closed or closing. Final.
	Disconnected fsm.State = "disconnected"
)

// Edge labels of the wire peer machine.
const (
	onHandshakeDone   = "handshake done"
	onHandshakeFailed = "handshake failed"
	onDisconnect      = "closed, operator or shutdown"
	onPingTimeout     = "ping timeout"
	onIdleTimeout     = "idle timeout"
	onViolation       = "protocol violation"
)

// Spec is the wire peer machine's definition; the handshake runs as the
// composed state Handshake.
var Spec = fsm.MustIndex(&fsm.Spec{
	Name:    "peer",
	Initial: Handshake,
	States:  []fsm.State{Handshake, Standby, Broadcast, Disconnected},
	Final:   []fsm.State{Disconnected},
	Edges: []fsm.Edge{
		{From: Handshake, To: Standby, On: onHandshakeDone},
		{From: Handshake, To: Disconnected, On: onHandshakeFailed},
		{From: Handshake, To: Disconnected, On: onDisconnect},
		{From: Standby, To: Disconnected, On: onPingTimeout},
		{From: Standby, To: Disconnected, On: onIdleTimeout},
		{From: Standby, To: Disconnected, On: onViolation},
		{From: Standby, To: Disconnected, On: onDisconnect},
		{From: Handshake, To: Broadcast, On: onBroadcastHandshake},
		{From: Broadcast, To: Disconnected, On: onBroadcastDone},
		{From: Broadcast, To: Disconnected, On: onBroadcastTimeout},
		{From: Broadcast, To: Disconnected, On: onNoGetData},
		{From: Broadcast, To: Disconnected, On: onDisconnect},
	},
	Inner: map[fsm.State]*fsm.Spec{Handshake: handshake.Spec, Standby: ValidatingSpec, Broadcast: BroadcastSpec},
	Notes: map[fsm.State]string{
		Broadcast: "a private-broadcast connection (broadcast.go): one transaction, then closed; at most 3 min from connect",
		Standby:   "answers ping with pong, pings every PingInterval, announces relayed txs (trickle), serves getdata; a tx from the peer enters validating; address gossip (addr.go): getaddr once to an outbound full-relay peer, addr/addrv2 through a token bucket to the node, an inbound getaddr answered once, relayed addresses trickled",
	},
})

// Config is the keepalive and handshake policy shared by every peer. It is
// read-only once peers run.
type Config struct {
	Handshake handshake.Config
	// PingInterval between our pings; 0 means DefaultPingInterval.
	PingInterval time.Duration
	// PingTimeout: disconnect when a ping stays unanswered this long;
	// 0 means DefaultPingTimeout.
	PingTimeout time.Duration
	// IdleTimeout: disconnect when nothing arrives this long; 0 means
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Trickle is the mean delay before announcing transactions to an
	// inbound peer; outbound peers wait 2/5 of it. 0 announces at once.
	Trickle time.Duration
	// InboundTrickle, if set, times the announcement rounds of inbound
	// peers: every inbound peer with the same Params.NetKey announces at
	// the time it gives, as Core's one timer per network (relay.go). Nil:
	// each inbound peer draws its own times, as outbound peers always do.
	InboundTrickle InboundSchedule
	// AddrTrickle is the mean delay before addresses relayed to a peer
	// are sent (DefaultAddrTrickle is Core's); 0 sends them at once.
	AddrTrickle time.Duration
	// CheckTx runs the context-free checks on a transaction a peer sent;
	// it runs on the executor, never on the peer's loop. Nil accepts all.
	CheckTx func(*wire.MsgTx) error
	// LookupTx finds a transaction of ours by the hash a getdata asks for
	// (by wtxid when byWTxID, else by txid), or returns nil. The peer
	// remembers each transaction it announced by the hash it announced
	// it by only; a getdata by the other hash is answered through
	// LookupTx, and only for a transaction announced to this peer. Nil:
	// such requests get notfound.
	LookupTx func(h chainhash.Hash, byWTxID bool) *Tx
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Params describe one connection.
type Params struct {
	handshake.Params
	// Rand returns random numbers for ping nonces and the order in which
	// received addresses take tokens.
	Rand func() uint64
	// GetAddr marks an outbound full-relay connection: it takes part in
	// address relay and is sent one getaddr after the handshake. An
	// outbound connection without it relays no addresses (Core's
	// block-relay-only). Inbound connections ignore it (addr.go).
	GetAddr bool
	// NetKey names the network an inbound connection came in through
	// (Core's network key: the network and our local address); inbound
	// peers with the same key share Config.InboundTrickle's times.
	// Outbound connections ignore it.
	NetKey NetKey // in the padding after GetAddr
	// Broadcast makes an outbound connection a private broadcast of
	// this one transaction (broadcast.go); the handshake then runs with
	// handshake.Params.Private.
	Broadcast *Tx
}

// connParams is what the machine keeps of its Params once the handshake
// machine has its own copy of the rest: an idle peer holds no more.
type connParams struct {
	Rand      func() uint64
	Broadcast *Tx
	Inbound   bool
	GetAddr   bool
	NetKey    NetKey // in the padding after the two bools
}

// Machine is one wire peer's state machine: pure, driven by Step. It is not
// safe for concurrent use; the peer's owner goroutine owns it.
type Machine struct {
	fsm.Core
	cfg    *Config
	params connParams

	level   level              // this machine as an fsm.Composite
	hs      *handshake.Machine // running while in Handshake
	hsLevel hsLevel
	hsOut   []handshake.Action
	val     *validating   // running inside Standby while checks are out
	bc      *broadcasting // running inside Broadcast until the receipt

	relayState relayState
	addr       *addrState // nil until the peer's address relay first needs it (addr.go)

	info        handshake.Info
	reason      Reason
	connectedAt time.Time

	// Standby bookkeeping.
	checksFrom time.Time // inactivity checks start here (Core: connect + peertimeout)
	lastRecv   time.Time
	nextPing   time.Time
	pingNonce  uint64
	pingSent   time.Time // zero when no ping is outstanding
	pingQueued bool
	minRTT     time.Duration
	lastRTT    time.Duration

	// Reused outgoing messages: a ping or pong costs no allocation. A
	// message in an action is valid until the next Step.
	ping wire.MsgPing
	pong wire.MsgPong
}

// NewMachine returns a machine in Handshake, waiting for EvStart. obs, which
// may be nil, sees every transition of the machine and its inner machines.
func NewMachine(cfg *Config, p Params, obs fsm.Observer) *Machine {
	if p.Broadcast != nil {
		p.Params.Private = true
	}
	m := &Machine{Core: fsm.NewCore(Spec, "", obs), cfg: cfg, params: connParams{
		Rand: p.Rand, Broadcast: p.Broadcast, Inbound: p.Inbound, GetAddr: p.GetAddr,
		NetKey: p.NetKey,
	}}
	m.hs = handshake.New(&cfg.Handshake, p.Params, string(Handshake), obs)
	m.level.m, m.hsLevel.m = m, m
	return m
}

// Step feeds one event through the machine and its running inner machine,
// appending the resulting actions to out.
func (m *Machine) Step(ev Event, out *[]Action) {
	// The previous step's actions are done with: a large announcement's
	// buffers can go.
	m.relayState.releaseInv()
	fsm.Dispatch[Event, Action](&m.level, ev, out)
}

// Path returns the current state path, e.g. "handshake/awaitVerack" or
// "standby/validating".
func (m *Machine) Path() string { return fsm.Path[Event, Action](&m.level) }

// Info returns what the handshake learned about the peer (complete once the
// machine has left Handshake).
func (m *Machine) Info() handshake.Info { return m.info }

// InfoRef returns the machine's own record of the handshake. The machine
// writes it once, when the handshake completes, and never afterwards, so
// after ActReady it may be read from any goroutine that learned of the
// completion through a synchronizing operation.
func (m *Machine) InfoRef() *handshake.Info { return &m.info }

// Reason returns why the peer was disconnected, or "".
func (m *Machine) Reason() Reason { return m.reason }

// RTT returns the minimum and last ping round-trip times (zero before the
// first pong).
func (m *Machine) RTT() (minRTT, last time.Duration) { return m.minRTT, m.lastRTT }

// PingWait returns how long the outstanding ping has waited at now, or 0.
func (m *Machine) PingWait(now time.Time) time.Duration {
	if m.pingSent.IsZero() {
		return 0
	}
	return now.Sub(m.pingSent)
}

// Deadline returns when the machine next needs an EvTick, or the zero time
// when it needs none.
func (m *Machine) Deadline() time.Time {
	switch m.State() {
	case Handshake:
		return m.hs.Deadline()
	case Broadcast:
		d := m.connectedAt.Add(BroadcastLifetime)
		if m.bc != nil {
			if t := m.bc.deadline(); !t.IsZero() {
				d = earlier(t, d)
			}
		}
		return d
	case Standby:
		d := later(m.lastRecv.Add(orDefault(m.cfg.IdleTimeout, DefaultIdleTimeout)), m.checksFrom)
		if m.pingSent.IsZero() {
			d = earlier(m.nextPing, d)
		} else {
			d = earlier(later(m.pingSent.Add(orDefault(m.cfg.PingTimeout, DefaultPingTimeout)), m.checksFrom), d)
		}
		if t := m.relayState.nextTrickle; !t.IsZero() {
			d = earlier(t, d)
		}
		if a := m.addr; a != nil && !a.nextSend.IsZero() {
			d = earlier(a.nextSend, d)
		}
		return d
	}
	return time.Time{}
}

// level is the Machine seen by the engine: an fsm.Composite whose inner
// machine is the handshake while it runs.
type level struct{ m *Machine }

func (l *level) Step(ev Event, out *[]Action) fsm.Result { return l.m.step(ev, out) }

func (l *level) Path() string { return l.m.Core.Path() }

func (l *level) Inner() fsm.Stepper[Event, Action] {
	switch {
	case l.m.hs != nil:
		return &l.m.hsLevel
	case l.m.val != nil:
		return l.m.val
	case l.m.bc != nil:
		return l.m.bc
	}
	return nil
}

func (l *level) InnerEnded(ev Event, out *[]Action) fsm.Result {
	if l.m.val != nil {
		// Every check has answered and been reported: back to Standby.
		l.m.val = nil
		return fsm.Handled
	}
	if l.m.bc != nil {
		// The receipt came: the connection has done its job.
		l.m.disconnect(ev.Now, ReasonBroadcastDone, onBroadcastDone, out)
		return fsm.Handled
	}
	return l.m.innerEnded(ev, out)
}

// innerEnded: the handshake ended on ev. On success the peer enters
// Standby and pings at once; otherwise it is disconnected with the
// handshake's failure as the reason.
func (m *Machine) innerEnded(ev Event, out *[]Action) fsm.Result {
	hs := m.hs
	m.hs = nil
	if hs.State() != handshake.Done {
		m.disconnect(ev.Now, Reason(hs.Failure()), onHandshakeFailed, out)
		return fsm.Handled
	}
	m.info = hs.Info()
	if m.params.Broadcast != nil {
		m.startBroadcast(ev.Now, out)
		return fsm.Handled
	}
	m.Become(ev.Now, Standby, onHandshakeDone)
	m.checksFrom = m.connectedAt.Add(orDefault(m.cfg.Handshake.Timeout, handshake.DefaultTimeout))
	m.lastRecv = ev.Now
	*out = append(*out, Action{Kind: ActReady})
	// Core pings a new peer at once to learn its round-trip time.
	m.sendPing(ev.Now, out)
	m.addrReady(out)
	return fsm.Handled
}

// step handles what no inner machine took: first what every state shares,
// then the current state's own events.
func (m *Machine) step(ev Event, out *[]Action) fsm.Result {
	if m.State() == Disconnected {
		return fsm.Handled
	}
	switch ev.Kind {
	case EvStart:
		m.connectedAt = ev.Now
	case EvClosed:
		m.disconnect(ev.Now, ev.Reason, onDisconnect, out)
		return fsm.Handled
	case EvCmd:
		if ev.Cmd == CmdDisconnect {
			m.disconnect(ev.Now, ev.Reason, onDisconnect, out)
			return fsm.Handled
		}
	case EvBadMsg:
		note(out, "dropped message: %v", ev.Err)
		return fsm.Handled
	}
	switch m.State() {
	case Standby:
		m.standby(ev, out)
	case Broadcast:
		if ev.Kind != EvTick {
			break
		}
		switch {
		case !ev.Now.Before(m.connectedAt.Add(BroadcastLifetime)):
			m.disconnect(ev.Now, ReasonBroadcastTimeout, onBroadcastTimeout, out)
		case m.bc != nil && m.bc.tick(ev.Now, out):
			m.disconnect(ev.Now, ReasonBroadcastNoGetData, onNoGetData, out)
		}
	}
	return fsm.Handled
}

// standby runs with the handshake complete: info holds the peer's version,
// and a ping is outstanding or nextPing is set.
func (m *Machine) standby(ev Event, out *[]Action) {
	switch ev.Kind {
	case EvTick:
		m.tick(ev.Now, out)
	case EvCmd:
		if ev.Cmd == CmdPing {
			if m.pingSent.IsZero() {
				m.sendPing(ev.Now, out)
			} else {
				m.pingQueued = true
			}
		}
	case EvMsg:
		m.lastRecv = ev.Now
		m.message(ev.Now, ev.Msg, out)
	case EvUnknown:
		m.lastRecv = ev.Now
		note(out, "ignored %s (%d bytes)", ev.Unknown.Command, ev.Unknown.Size)
	case EvRelay:
		m.relay(ev.Now, ev.Txs, out)
	case EvDone:
		note(out, "executor answer with no check outstanding")
	case EvAddrs:
		m.answerGetAddr(ev.Addrs, out)
	case EvAddrRelay:
		m.relayAddrs(ev.Now, ev.Addrs, out)
	}
}

func (m *Machine) tick(now time.Time, out *[]Action) {
	if now.Before(m.checksFrom) {
		// Core runs no inactivity check before the handshake timeout
		// has passed since the connection opened.
	} else if !m.pingSent.IsZero() && !now.Before(m.pingSent.Add(orDefault(m.cfg.PingTimeout, DefaultPingTimeout))) {
		m.disconnect(now, ReasonPingTimeout, onPingTimeout, out)
		return
	} else if !now.Before(m.lastRecv.Add(orDefault(m.cfg.IdleTimeout, DefaultIdleTimeout))) {
		m.disconnect(now, ReasonIdle, onIdleTimeout, out)
		return
	}
	if m.pingSent.IsZero() && !now.Before(m.nextPing) {
		m.sendPing(now, out)
	}
	m.trickle(now, out)
	m.addrTrickle(now, out)
}

func (m *Machine) message(now time.Time, msg wire.Message, out *[]Action) {
	switch msg := msg.(type) {
	case *wire.MsgPing:
		m.pong.Nonce = msg.Nonce
		*out = append(*out, Action{Kind: ActSend, Msg: &m.pong})
	case *wire.MsgPong:
		m.gotPong(now, msg.Nonce, out)
	case *wire.MsgWTxIdRelay:
		m.disconnect(now, ReasonWTxIDRelayAfterVerack, onViolation, out)
	case *wire.MsgSendAddrV2:
		m.disconnect(now, ReasonAddrV2AfterVerack, onViolation, out)
	case *wire.MsgVersion:
		note(out, "ignored duplicate version")
	case *wire.MsgVerAck:
		note(out, "ignored duplicate verack")
	case *wire.MsgGetData:
		m.getData(msg, out)
	case *wire.MsgInv:
		m.inv(msg, out)
	case *wire.MsgTx:
		m.startValidating(now, msg, out)
	case *wire.MsgMemPool:
		// BIP 35: Core answers only peers it offers NODE_BLOOM to (or
		// that have the permission) and disconnects the others.
		if m.cfg.Handshake.Services&wire.SFNodeBloom == 0 {
			m.disconnect(now, ReasonMempoolRequest, onViolation, out)
		} else {
			note(out, "ignored mempool request: not supported")
		}
	case *wire.MsgFilterLoad:
		m.bloomFilter(now, msg, ReasonFilterLoad, out)
	case *wire.MsgFilterAdd:
		m.bloomFilter(now, msg, ReasonFilterAdd, out)
	case *wire.MsgFilterClear:
		m.bloomFilter(now, msg, ReasonFilterClear, out)
	case *wire.MsgAddr:
		m.gotAddr(now, msg, out)
	case *wire.MsgAddrV2:
		m.gotAddrV2(now, msg, out)
	case *wire.MsgGetAddr:
		m.gotGetAddr(out)
	}
	// Everything else (feefilter, sendheaders, notfound) needs nothing
	// from a node with no chain. feefilter is not honoured: without a UTXO set we know no fees.
}

// bloomFilter handles a BIP 37 filter message (its limits were checked by
// the reader). Core disconnects a peer that sends one when it does not
// offer NODE_BLOOM, without discouraging it (BIP 111); peerd filters
// nothing, so with NODE_BLOOM offered the message is only noted.
func (m *Machine) bloomFilter(now time.Time, msg wire.Message, r Reason, out *[]Action) {
	if m.cfg.Handshake.Services&wire.SFNodeBloom == 0 {
		m.disconnect(now, r, onViolation, out)
		return
	}
	note(out, "ignored %s: bloom filters not supported", msg.Command())
}

// gotPong matches a pong to the outstanding ping. A pong with another nonce
// leaves the ping outstanding; an unsolicited one is only noted.
func (m *Machine) gotPong(now time.Time, nonce uint64, out *[]Action) {
	switch {
	case m.pingSent.IsZero():
		note(out, "unsolicited pong")
		return
	case nonce != m.pingNonce:
		note(out, "pong nonce mismatch: got %d, want %d", nonce, m.pingNonce)
		return
	}
	rtt := now.Sub(m.pingSent)
	m.lastRTT = rtt
	if m.minRTT == 0 || rtt < m.minRTT {
		m.minRTT = rtt
	}
	m.nextPing = m.pingSent.Add(orDefault(m.cfg.PingInterval, DefaultPingInterval))
	m.pingSent = time.Time{}
	note(out, "pong: round trip %v (min %v)", rtt, m.minRTT)
	if m.pingQueued {
		m.pingQueued = false
		m.sendPing(now, out)
	}
}

func (m *Machine) sendPing(now time.Time, out *[]Action) {
	nonce := m.params.Rand()
	for nonce == 0 {
		nonce = m.params.Rand()
	}
	m.pingNonce, m.pingSent = nonce, now
	m.ping.Nonce = nonce
	*out = append(*out, Action{Kind: ActSend, Msg: &m.ping})
}

func (m *Machine) disconnect(now time.Time, r Reason, on string, out *[]Action) {
	m.hs, m.val, m.bc = nil, nil, nil
	m.reason = r
	m.Become(now, Disconnected, on)
	*out = append(*out, Action{Kind: ActDisconnect, Reason: r})
}

func note(out *[]Action, format string, args ...any) {
	*out = append(*out, Action{Kind: ActNote, Note: fmt.Sprintf(format, args...)})
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// InvTypeWTx is BIP 339's MSG_WTX inventory type, which btcd's wire/v2 does
// not name.
const InvTypeWTx wire.InvType = 5

// hsLevel adapts the handshake machine, which has its own event and action
// types so that it stays free of peer's, to the peer hierarchy.
type hsLevel struct{ m *Machine }

func (l *hsLevel) Path() string { return l.m.hs.Path() }

// Step translates ev for the handshake and its actions back. Events the
// handshake has no notion of (commands, dropped messages, a closed
// connection) go up to the peer machine.
func (l *hsLevel) Step(ev Event, out *[]Action) fsm.Result {
	var hev handshake.Event
	switch ev.Kind {
	case EvStart:
		hev = handshake.Event{Kind: handshake.Start, Now: ev.Now}
	case EvMsg:
		hev = handshake.Event{Kind: handshake.Recv, Now: ev.Now, Msg: ev.Msg}
	case EvUnknown:
		hev = handshake.Event{Kind: handshake.Recv, Now: ev.Now, Command: ev.Unknown.Command}
	case EvTick:
		hev = handshake.Event{Kind: handshake.Tick, Now: ev.Now}
	case EvTransport:
		hev = handshake.Event{Kind: handshake.TransportReady, Now: ev.Now}
	default:
		return fsm.Unhandled
	}
	m := l.m
	if ev.Kind == EvStart {
		// The peer machine records the connection time too (the
		// address token bucket starts from it).
		m.connectedAt = ev.Now
	}
	if m.hsOut == nil {
		// Room for a handshake's largest step (version, wtxidrelay,
		// sendaddrv2, verack) at once; released when it ends.
		m.hsOut = make([]handshake.Action, 0, 4)
	}
	m.hsOut = m.hsOut[:0]
	res := m.hs.Step(hev, &m.hsOut)
	for _, a := range m.hsOut {
		switch {
		case a.Send != nil:
			*out = append(*out, Action{Kind: ActSend, Msg: a.Send})
		case a.Note != "":
			*out = append(*out, Action{Kind: ActNote, Note: a.Note})
		}
		// a.Fail is reported by InnerEnded with the disconnect.
	}
	// Keep neither the sent messages nor, once the handshake is over,
	// the slice: an idle peer should hold no more than it needs.
	clear(m.hsOut)
	if m.hs.Ended() {
		m.hsOut = nil
	}
	return res
}
