package peer

import (
	"fmt"

	"github.com/btcsuite/btcd/wire/v2"
)

// ActionKind says what an Action asks the driver to do.
type ActionKind uint8

// Action kinds.
const (
	// ActSend: write Msg to the peer.
	ActSend ActionKind = iota
	// ActDisconnect: close the connection because of Reason. It is the
	// last action the machine emits.
	ActDisconnect
	// ActReady: the handshake is complete; the peer is in standby.
	ActReady
	// ActNote: Note is worth a line in the debug log.
	ActNote
)

var actionNames = [...]string{
	ActSend: "send", ActDisconnect: "disconnect", ActReady: "ready", ActNote: "note",
}

func (k ActionKind) String() string {
	if int(k) < len(actionNames) {
		return actionNames[k]
	}
	return fmt.Sprintf("ActionKind(%d)", k)
}

// Action is one output of the machine.
type Action struct {
	Kind   ActionKind
	Msg    wire.Message
	Reason Reason
	Note   string
}

func (a Action) String() string {
	switch a.Kind {
	case ActSend:
		return "send " + a.Msg.Command()
	case ActDisconnect:
		return "disconnect: " + string(a.Reason)
	case ActNote:
		return "note: " + a.Note
	}
	return a.Kind.String()
}

// Reason names why a connection ended. Reasons are fixed strings so logs,
// tests and getpeerinfo can compare them.
type Reason string

// Reasons a peer is disconnected. Handshake failures keep the handshake
// package's names (handshake.Failure converts).
const (
	ReasonPingTimeout           Reason = "ping timeout"
	ReasonIdle                  Reason = "no message received within the idle timeout"
	ReasonWTxIDRelayAfterVerack Reason = "wtxidrelay received after verack"
	ReasonAddrV2AfterVerack     Reason = "sendaddrv2 received after verack"
	ReasonOperator              Reason = "disconnected by operator"
	ReasonShutdown              Reason = "node shutting down"
	ReasonEOF                   Reason = "connection closed by peer"
	ReasonReadError             Reason = "read error"
	ReasonWriteError            Reason = "write error"
	ReasonBadMagic              Reason = "wrong network magic"
	ReasonOversized             Reason = "message larger than allowed"
	ReasonInternal              Reason = "internal error"
)
