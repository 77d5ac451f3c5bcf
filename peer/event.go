package peer

import (
	"fmt"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// EventKind says what an Event carries.
type EventKind uint8

// Event kinds. Every input to the machine is one of these.
const (
	// EvStart: the connection is up; begin the handshake.
	EvStart EventKind = iota
	// EvMsg: a decoded message from the peer (Msg).
	EvMsg
	// EvBadMsg: a message was read and dropped (Err says why); the
	// connection is still usable.
	EvBadMsg
	// EvTick: the machine's deadline may have passed.
	EvTick
	// EvCmd: an operator command (Cmd).
	EvCmd
	// EvClosed: the connection is gone (Reason says why); the driver
	// sends it once, last.
	EvClosed
	// EvRelay: transactions to announce to the peer (Txs).
	EvRelay
	// EvDone: the executor finished a job this peer asked for (Done).
	EvDone
	// EvUnknown: a message the driver does not decode was read and
	// skipped (Unknown says which).
	EvUnknown
	// EvTransport: the transport's own handshake is done (BIP 324's key
	// exchange, or an inbound transport's choice of v1 or v2); the
	// version handshake may start (handshake.Params.KeyExchange).
	EvTransport
	// EvAddrs: the node's addresses (Addrs) answering the ActGetAddr
	// this peer emitted.
	EvAddrs
	// EvAddrRelay: addresses (Addrs) the node relays to this peer.
	EvAddrRelay
)

var eventNames = [...]string{
	EvStart: "start", EvMsg: "msg", EvBadMsg: "bad msg", EvTick: "tick",
	EvCmd: "cmd", EvClosed: "closed", EvRelay: "relay", EvDone: "done",
	EvUnknown: "unknown msg", EvTransport: "transport ready", EvAddrs: "addrs",
	EvAddrRelay: "addr relay",
}

func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", k)
}

// Command is an operator's request to one peer.
type Command uint8

// Commands.
const (
	// CmdDisconnect closes the connection (Reason in the event).
	CmdDisconnect Command = iota + 1
	// CmdPing sends a ping now, or as soon as the outstanding one is
	// answered (Bitcoin Core's ping RPC).
	CmdPing
)

func (c Command) String() string {
	switch c {
	case CmdDisconnect:
		return "disconnect"
	case CmdPing:
		return "ping"
	}
	return fmt.Sprintf("Command(%d)", c)
}

// Event is one input to the machine. Events are values so that the hot
// paths (a ping, a tick) allocate nothing.
type Event struct {
	Kind    EventKind
	Now     time.Time
	Msg     wire.Message // EvMsg
	Err     error        // EvBadMsg
	Cmd     Command      // EvCmd
	Reason  Reason       // EvCmd with CmdDisconnect, EvClosed
	Txs     []*Tx        // EvRelay
	Done    JobResult    // EvDone
	Unknown UnknownMsg   // EvUnknown
	// Addrs answers the peer's getaddr (EvAddrs) or is relayed to it
	// (EvAddrRelay); the machine only reads them.
	Addrs []*wire.NetAddressV2
}

// UnknownMsg is a message that was read but not decoded: its command and
// payload size.
type UnknownMsg struct {
	Command string
	Size    uint32
}

// Tx is a transaction the node relays: immutable, shared by every peer.
type Tx struct {
	TxID, WTxID chainhash.Hash
	Msg         *wire.MsgTx
}

// JobResult is the one-shot answer of an executor job. For the tx checks
// that peers ask for (see validating.go) it says which transaction it was
// and whether it passed the context-free checks.
type JobResult struct {
	TxID, WTxID chainhash.Hash
	Err         error
}

// Label is the event's short name, for logs and transition labels:
// the message command, the command name, or the kind.
func (e Event) Label() string {
	switch e.Kind {
	case EvMsg:
		return e.Msg.Command()
	case EvUnknown:
		return e.Unknown.Command
	case EvCmd:
		return e.Cmd.String()
	}
	return e.Kind.String()
}
