package connmgr

import (
	"net/netip"
	"time"
)

// EventKind says what an Event is.
type EventKind uint8

// Event kinds. Every event carries Now.
const (
	// EvStart: the node runs; the manager dials its kept addresses and, if
	// seeding, asks for the DNS seeds. Events before it are taken (an
	// operator may add a peer before the node runs) but no dial or query
	// is emitted until it arrives.
	EvStart EventKind = iota
	// EvTick: the deadline the manager asked for (Deadline) has come.
	EvTick
	// EvInbound: a connection was accepted from Remote; the node has
	// given it ID. The answer is ActAccept or ActRefuse for ID, and maybe
	// an ActDisconnect of the peer evicted to make room. MinPing, if set,
	// reports a ready peer's lowest measured ping (0: none yet); it is
	// called only while the manager chooses a peer to evict.
	EvInbound
	// EvConnected: dial Dial succeeded; the connection reaches Remote and
	// the node has given it ID. Nonce is our version nonce on it. The
	// answer is ActAccept or ActRefuse for ID.
	EvConnected
	// EvDialFailed: dial Dial failed with Err; ProxyDown says the
	// proxy itself could not be reached.
	EvDialFailed
	// EvReady: peer ID finished its handshake.
	EvReady
	// EvClosed: peer ID ended for Reason; Misbehaved says whether the
	// reason is misbehaviour (the node's judgement).
	EvClosed
	// EvSeeds: the DNS seeds answered a query with Addrs (none, when they
	// all failed).
	EvSeeds
	// EvCmd: an operator command (Cmd). Refused commands get an ActRefuse
	// with ID 0 and an error.
	EvCmd
	// EvAddrFetched: addr-fetch peer ID answered our getaddr with Count
	// addresses (the node put them in the book).
	EvAddrFetched
)

var eventNames = [...]string{"start", "tick", "inbound", "connected", "dial failed", "ready", "closed", "seeds", "cmd", "addr fetched"}

func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "event?"
}

// Cmd names an operator command.
type Cmd uint8

// Operator commands (Core's addnode, setban, clearbanned, disconnectnode).
const (
	// CmdAdd keeps a connection to Target (addnode add).
	CmdAdd Cmd = iota + 1
	// CmdRemove stops keeping Target (addnode remove); a connected peer
	// stays until it drops.
	CmdRemove
	// CmdOneTry dials Target once (addnode onetry).
	CmdOneTry
	// CmdBan bans Subnet until Until and disconnects the peers in it.
	CmdBan
	// CmdUnban lifts the ban on Subnet.
	CmdUnban
	// CmdClearBans lifts every ban.
	CmdClearBans
	// CmdDisconnect closes peer ID.
	CmdDisconnect
	// CmdDisconnectAddr closes the peers connected to Remote.
	CmdDisconnectAddr
	// CmdDisconnectAll closes every peer.
	CmdDisconnectAll
	// CmdPrivate dials Target once for a private broadcast (rule 11):
	// the node's own command, not the operator's.
	CmdPrivate
)

var cmdNames = [...]string{"", "add", "remove", "onetry", "ban", "unban", "clearbans", "disconnect", "disconnect addr", "disconnect all", "private"}

func (c Cmd) String() string {
	if int(c) < len(cmdNames) && c != 0 {
		return cmdNames[c]
	}
	return "cmd?"
}

// Transport is the transport an operator command asks for (addnode's
// optional v2transport parameter).
type Transport uint8

// Transports.
const (
	// TransportAuto: as the manager's V2 says (addnode without
	// v2transport).
	TransportAuto Transport = iota
	// TransportV1: dial with v1 even when V2 is on (v2transport=false).
	TransportV1
	// TransportV2: dial with BIP 324 (v2transport=true); refused with
	// ErrV2Disabled when V2 is off, for every addnode command as in Core.
	TransportV2
)

var transportNames = [...]string{"auto", "v1", "v2"}

func (t Transport) String() string {
	if int(t) < len(transportNames) {
		return transportNames[t]
	}
	return "transport?"
}

// Event is one thing that happened to the manager. Which fields are set
// depends on Kind (see the kinds).
type Event struct {
	Kind EventKind
	Now  time.Time

	ID         uint64         // EvInbound, EvConnected, EvReady, EvClosed, CmdDisconnect
	Dial       uint64         // EvConnected, EvDialFailed: the ActDial's number
	Remote     netip.AddrPort // EvInbound, EvConnected, CmdDisconnectAddr
	Nonce      uint64         // EvConnected
	Err        error          // EvDialFailed; EvSeeds: why no seed answered
	ProxyDown  bool           // EvDialFailed: the proxy could not be reached (rule 2)
	Reason     string         // EvClosed
	Misbehaved bool           // EvClosed
	V2Refused  bool           // EvClosed: an outbound v2 attempt closed before any reply
	Addrs      []netip.AddrPort
	Count      int                           // EvAddrFetched
	MinPing    func(id uint64) time.Duration // EvInbound

	Cmd       Cmd
	Target    string       // CmdAdd, CmdRemove, CmdOneTry: "host:port"
	Transport Transport    // CmdAdd, CmdRemove, CmdOneTry: addnode's v2transport
	Subnet    netip.Prefix // CmdBan, CmdUnban
	Until     time.Time    // CmdBan
}
