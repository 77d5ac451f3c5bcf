// Package handshake is the version/verack machine that opens every wire
// connection, for outbound and inbound peers alike. It is pure: it imports no
// net, reads no clock and starts no goroutine. Events carry the time; the
// machine answers with actions (messages to send, a failure) and exposes the
// deadline by which it wants to be ticked.
//
// The handshake, as Bitcoin Core runs it (BIP 14, BIP 155, BIP 339):
//
//  1. The outbound side sends its version as soon as the connection is up;
//     the inbound side sends nothing yet.
//  2. On the peer's version, each side checks it (protocol version at least
//     MinProtocolVersion, not our own nonce, required services) and replies,
//     in this order: its own version if not yet sent, wtxidrelay and
//     sendaddrv2 if the common version is at least 70016, then verack.
//  3. Between the peer's version and its verack, the peer may send
//     wtxidrelay and sendaddrv2; they are recorded. Anything else is ignored.
//  4. The peer's verack ends the handshake. Nothing but the messages of steps
//     1 and 2 is ever sent before it.
//
// Messages before the peer's version are ignored, as is a second version.
// If the handshake has not ended by the timeout, it fails.
package handshake

import (
	"fmt"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/fsm"
)

// Protocol versions that change the handshake.
const (
	// ProtocolVersion is the version we announce.
	ProtocolVersion uint32 = wire.ProtocolVersion // 70016
	// WTxIDRelayVersion is the first version that negotiates wtxidrelay
	// and sendaddrv2 (BIP 339, BIP 155).
	WTxIDRelayVersion uint32 = 70016
	// MinProtocolVersion is the oldest version we talk to, as in Core
	// (MIN_PEER_PROTO_VERSION).
	MinProtocolVersion uint32 = 31800
	// DefaultTimeout is how long a handshake may take (Core's
	// -peertimeout).
	DefaultTimeout = 60 * time.Second
)

// The handshake's states.
const (
	// Init: the connection is up; nothing has been sent or received.
	Init fsm.State = "init"
	// KeyExchange: the transport runs its own handshake first (BIP 324's
	// key exchange, or an inbound transport telling v1 from v2); no
	// message goes out until it is done.
	KeyExchange fsm.State = "keyExchange"
	// SentVersion: outbound; our version is out, theirs has not come.
	SentVersion fsm.State = "sentVersion"
	// AwaitVersion: inbound; we wait for their version before sending ours.
	AwaitVersion fsm.State = "awaitVersion"
	// AwaitVerack: their version is checked and accepted; ours, our
	// wtxidrelay, sendaddrv2 and verack are out; we wait for their verack.
	AwaitVerack fsm.State = "awaitVerack"
	// Done: their verack arrived. Final.
	Done fsm.State = "done"
	// Failed: the handshake was refused or timed out. Final.
	Failed fsm.State = "failed"
)

// Edge labels.
const (
	onStartOutbound = "start outbound"
	onStartInbound  = "start inbound"
	onStartKeys     = "start, transport handshake"
	onReadyOutbound = "transport ready, outbound"
	onReadyInbound  = "transport ready, inbound"
	onVersion       = "version"
	onVerack        = "verack"
	onRefused       = "version refused"
	onTimeout       = "timeout"
)

// Spec is the handshake machine's definition.
var Spec = fsm.MustIndex(&fsm.Spec{
	Name:    "handshake",
	Initial: Init,
	States:  []fsm.State{Init, KeyExchange, SentVersion, AwaitVersion, AwaitVerack, Done, Failed},
	Final:   []fsm.State{Done, Failed},
	Edges: []fsm.Edge{
		{From: Init, To: SentVersion, On: onStartOutbound},
		{From: Init, To: AwaitVersion, On: onStartInbound},
		{From: Init, To: KeyExchange, On: onStartKeys},
		{From: KeyExchange, To: SentVersion, On: onReadyOutbound},
		{From: KeyExchange, To: AwaitVersion, On: onReadyInbound},
		{From: KeyExchange, To: Failed, On: onTimeout},
		{From: SentVersion, To: AwaitVerack, On: onVersion},
		{From: AwaitVersion, To: AwaitVerack, On: onVersion},
		{From: AwaitVerack, To: Done, On: onVerack},
		{From: SentVersion, To: Failed, On: onRefused},
		{From: AwaitVersion, To: Failed, On: onRefused},
		{From: SentVersion, To: Failed, On: onTimeout},
		{From: AwaitVersion, To: Failed, On: onTimeout},
		{From: AwaitVerack, To: Failed, On: onTimeout},
	},
	Notes: map[fsm.State]string{
		AwaitVerack: "peer's wtxidrelay and sendaddrv2 recorded here",
	},
})

// Failure names why a handshake failed. Failures are logged and become the
// peer's disconnect reason.
type Failure string

// The ways a handshake fails.
const (
	FailTimeout         Failure = "handshake timeout"
	FailObsoleteVersion Failure = "obsolete protocol version"
	FailSelfConnection  Failure = "connected to self"
	FailMissingServices Failure = "missing required services"
)

// Config is what the node says about itself in every handshake. It is
// shared by all peers and never modified after the node starts.
type Config struct {
	// ProtocolVersion we announce; 0 means ProtocolVersion.
	ProtocolVersion uint32
	// MinProtocolVersion we accept; 0 means MinProtocolVersion.
	MinProtocolVersion uint32
	// Services we advertise.
	Services wire.ServiceFlag
	// RequiredServices an outbound peer must advertise.
	RequiredServices wire.ServiceFlag
	// UserAgent in BIP 14 form, e.g. "/peerd:0.1.0/", at most 256 bytes.
	UserAgent string
	// StartHeight we announce; peerd keeps no chain, so 0.
	StartHeight int32
	// DisableRelay announces relay = false (we want no transactions).
	DisableRelay bool
	// Timeout is the handshake deadline; 0 means DefaultTimeout.
	Timeout time.Duration
}

func (c *Config) protocolVersion() uint32 {
	if c.ProtocolVersion == 0 {
		return ProtocolVersion
	}
	return c.ProtocolVersion
}

func (c *Config) minProtocolVersion() uint32 {
	if c.MinProtocolVersion == 0 {
		return MinProtocolVersion
	}
	return c.MinProtocolVersion
}

func (c *Config) timeout() time.Duration {
	if c.Timeout <= 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// Params describe one connection.
type Params struct {
	// Inbound is true when the peer dialed us.
	Inbound bool
	// Nonce is our random nonce for this connection's version message.
	Nonce uint64
	// Remote is the peer's address as we see it: our version's addr_recv
	// when routable, otherwise leave it zero.
	Remote wire.NetAddress
	// IsOwnNonce reports whether a nonce is one of our outbound
	// connections' nonces; an inbound version carrying one means we have
	// connected to ourselves. Nil disables the check.
	IsOwnNonce func(uint64) bool
	// KeyExchange: the connection's transport has a handshake of its
	// own to finish (TransportReady) before the version handshake
	// starts. The handshake's deadline covers both.
	KeyExchange bool
	// Private marks a private-broadcast connection: our version tells
	// the peer nothing about us, as Bitcoin Core's on such connections
	// (protocol PrivateProtocolVersion, services 0, time 0, both
	// addresses zero, start height 0, relay false, user agent
	// PrivateUserAgent), and neither wtxidrelay nor sendaddrv2 is sent.
	Private bool
}

// What a private-broadcast connection's version says (Core's
// p2p_private_broadcast.py asserts the same values).
const (
	PrivateProtocolVersion uint32 = 70016
	PrivateUserAgent              = "/pynode:0.0.1/"
)

// Info is what the handshake learned about the peer.
type Info struct {
	// ProtocolVersion the peer announced.
	ProtocolVersion uint32
	// CommonVersion is the lower of theirs and ours.
	CommonVersion uint32
	Services      wire.ServiceFlag
	UserAgent     string
	StartHeight   int32
	// Relay is false when the peer asked for no transaction announcements.
	Relay bool
	// Nonce from the peer's version.
	Nonce uint64
	// Timestamp from the peer's version, for time offset reporting.
	Timestamp time.Time
	// LocalAddr is how the peer sees us (its addr_recv).
	LocalAddr wire.NetAddress
	// WTxIDRelay: the peer sent wtxidrelay; announce transactions to it by
	// wtxid (MSG_WTX).
	WTxIDRelay bool
	// AddrV2: the peer sent sendaddrv2; send it addrv2 instead of addr.
	AddrV2 bool
	// VersionAt and VerackAt are when the two messages arrived.
	VersionAt, VerackAt time.Time
}

// Kind says what an Event is.
type Kind uint8

// Event kinds.
const (
	// Start begins the handshake; sent once, when the connection is up.
	Start Kind = iota
	// Recv carries a message from the peer.
	Recv
	// Tick says the time is Now; the machine checks its deadline.
	Tick
	// TransportReady says the transport's own handshake is done
	// (KeyExchange); the version handshake starts.
	TransportReady
)

// Event is one input to the machine.
type Event struct {
	Kind Kind
	Now  time.Time
	Msg  wire.Message // Recv: the decoded message, or nil for one not decoded
	// Command names a Recv'd message that was not decoded (Msg nil).
	Command string
}

// command is the received message's command.
func (e *Event) command() string {
	if e.Msg != nil {
		return e.Msg.Command()
	}
	return e.Command
}

// Action is one output of the machine: exactly one of Send, Fail or Note
// is set.
type Action struct {
	// Send is a message to write to the peer, in order.
	Send wire.Message
	// Fail ends the connection for this reason.
	Fail Failure
	// Note is a remark for the debug log (an ignored message, say).
	Note string
}

// Machine is one connection's handshake. It is not safe for concurrent use;
// the peer's owner goroutine owns it.
type Machine struct {
	fsm.Core
	cfg      *Config
	params   Params
	deadline time.Time
	sentVer  bool
	info     Info
	failure  Failure
}

// New returns a machine in Init. prefix and obs are passed to fsm.NewCore:
// the path of the enclosing state and the transition observer.
func New(cfg *Config, p Params, prefix string, obs fsm.Observer) *Machine {
	return &Machine{Core: fsm.NewCore(Spec, prefix, obs), cfg: cfg, params: p}
}

// Info returns what the handshake learned; complete once State() is Done.
func (m *Machine) Info() Info { return m.info }

// Failure returns why the machine failed, or "".
func (m *Machine) Failure() Failure { return m.failure }

// Deadline returns when the machine must next be ticked, or the zero time
// when it has ended.
func (m *Machine) Deadline() time.Time {
	if m.Ended() {
		return time.Time{}
	}
	return m.deadline
}

// Step feeds one event to the machine and appends its actions to out. It
// returns fsm.Ended on the event that brings it to Done or Failed, and
// fsm.Handled otherwise: the handshake consumes every message, because before
// verack nothing is answered, not even a ping.
func (m *Machine) Step(ev Event, out *[]Action) fsm.Result {
	switch ev.Kind {
	case Start:
		if m.State() != Init {
			return fsm.Handled
		}
		m.deadline = ev.Now.Add(m.cfg.timeout())
		if m.params.KeyExchange {
			m.Become(ev.Now, KeyExchange, onStartKeys)
			return fsm.Handled
		}
		if m.params.Inbound {
			m.Become(ev.Now, AwaitVersion, onStartInbound)
			return fsm.Handled
		}
		m.sendVersion(ev.Now, out)
		m.Become(ev.Now, SentVersion, onStartOutbound)
		return fsm.Handled
	case TransportReady:
		if m.State() != KeyExchange {
			note(out, "ignored a transport's readiness in %s", m.State())
			return fsm.Handled
		}
		if m.params.Inbound {
			m.Become(ev.Now, AwaitVersion, onReadyInbound)
			return fsm.Handled
		}
		m.sendVersion(ev.Now, out)
		m.Become(ev.Now, SentVersion, onReadyOutbound)
		return fsm.Handled
	case Tick:
		if m.Ended() || m.State() == Init || ev.Now.Before(m.deadline) {
			return fsm.Handled
		}
		return m.fail(ev.Now, FailTimeout, onTimeout, out)
	case Recv:
		return m.recv(ev, out)
	}
	return fsm.Handled
}

func (m *Machine) recv(ev Event, out *[]Action) fsm.Result {
	switch m.State() {
	case SentVersion, AwaitVersion:
		msg, ok := ev.Msg.(*wire.MsgVersion)
		if !ok {
			note(out, "ignored %s before version", ev.command())
			return fsm.Handled
		}
		return m.version(ev.Now, msg, out)
	case AwaitVerack:
		switch ev.Msg.(type) {
		case *wire.MsgVerAck:
			m.info.VerackAt = ev.Now
			m.Become(ev.Now, Done, onVerack)
			return fsm.Ended
		case *wire.MsgWTxIdRelay:
			// Core honours wtxidrelay only from peers whose common
			// version has it; a duplicate is ignored.
			if m.info.CommonVersion >= WTxIDRelayVersion {
				m.info.WTxIDRelay = true
			}
		case *wire.MsgSendAddrV2:
			m.info.AddrV2 = true
		case *wire.MsgVersion:
			note(out, "ignored duplicate version")
		default:
			note(out, "ignored %s prior to verack", ev.command())
		}
		return fsm.Handled
	}
	return fsm.Handled
}

// version checks the peer's version and, if it is acceptable, replies with
// ours (inbound), wtxidrelay, sendaddrv2 and verack.
func (m *Machine) version(now time.Time, v *wire.MsgVersion, out *[]Action) fsm.Result {
	pver := uint32(max(v.ProtocolVersion, 0))
	switch {
	case pver < m.cfg.minProtocolVersion():
		return m.fail(now, FailObsoleteVersion, onRefused, out)
	case m.params.Inbound && m.params.IsOwnNonce != nil && m.params.IsOwnNonce(v.Nonce):
		return m.fail(now, FailSelfConnection, onRefused, out)
	case !m.params.Inbound && v.Services&m.cfg.RequiredServices != m.cfg.RequiredServices:
		return m.fail(now, FailMissingServices, onRefused, out)
	}
	m.info = Info{
		ProtocolVersion: pver,
		CommonVersion:   min(pver, m.cfg.protocolVersion()),
		Services:        v.Services,
		UserAgent:       v.UserAgent,
		StartHeight:     v.LastBlock,
		Relay:           !v.DisableRelayTx,
		Nonce:           v.Nonce,
		Timestamp:       v.Timestamp,
		LocalAddr:       v.AddrYou,
		VersionAt:       now,
	}
	if !m.sentVer {
		m.sendVersion(now, out)
	}
	if m.info.CommonVersion >= WTxIDRelayVersion && !m.params.Private {
		send(out, wire.NewMsgWTxIdRelay())
		send(out, wire.NewMsgSendAddrV2())
	}
	send(out, wire.NewMsgVerAck())
	m.Become(now, AwaitVerack, onVersion)
	return fsm.Handled
}

func (m *Machine) sendVersion(now time.Time, out *[]Action) {
	if m.params.Private {
		var zero wire.NetAddress
		v := wire.NewMsgVersion(&zero, &zero, m.params.Nonce, 0)
		v.ProtocolVersion = int32(PrivateProtocolVersion)
		v.Services = 0
		v.Timestamp = time.Unix(0, 0)
		v.UserAgent = PrivateUserAgent
		v.DisableRelayTx = true
		m.sentVer = true
		send(out, v)
		return
	}
	me := wire.NetAddress{Services: m.cfg.Services, Timestamp: time.Unix(0, 0)}
	you := m.params.Remote
	v := wire.NewMsgVersion(&me, &you, m.params.Nonce, m.cfg.StartHeight)
	v.ProtocolVersion = int32(m.cfg.protocolVersion())
	v.Services = m.cfg.Services
	v.Timestamp = time.Unix(now.Unix(), 0)
	v.UserAgent = m.cfg.UserAgent
	v.DisableRelayTx = m.cfg.DisableRelay
	m.sentVer = true
	send(out, v)
}

func (m *Machine) fail(now time.Time, f Failure, on string, out *[]Action) fsm.Result {
	m.failure = f
	m.Become(now, Failed, on)
	*out = append(*out, Action{Fail: f})
	return fsm.Ended
}

func send(out *[]Action, msg wire.Message) { *out = append(*out, Action{Send: msg}) }

func note(out *[]Action, format string, args ...any) {
	*out = append(*out, Action{Note: fmt.Sprintf(format, args...)})
}
