package peer

import (
	"fmt"

	"github.com/btcsuite/btcd/chainhash/v2"
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
	// ActReport: tell the node about a transaction (Report), for the
	// propagation records. Never blocks the peer.
	ActReport
	// ActExec: run Job on the executor; its result comes back as EvDone.
	ActExec
	// ActAddrs: the peer told us of addresses (Addrs from addr, AddrsV2
	// from addrv2; one of them is set), already rate-limited, filtered
	// by services and with timestamps fixed (addr.go). The node owns the
	// slices.
	ActAddrs
	// ActGetAddr: the peer's getaddr is to be answered; the node hands
	// the addresses back with EvAddrs.
	ActGetAddr
)

var actionNames = [...]string{
	ActSend: "send", ActDisconnect: "disconnect", ActReady: "ready", ActNote: "note",
	ActReport: "report", ActExec: "exec", ActAddrs: "addrs", ActGetAddr: "getaddr",
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
	Enc    wire.MessageEncoding // ActSend: 0 means witness encoding
	Reason Reason
	Note   string
	Report Report
	Job    func() JobResult // ActExec
	// ActAddrs: the received entries, as decoded.
	Addrs   []wire.NetAddress
	AddrsV2 []wire.NetAddressV2
	// AddrGossip (ActAddrs): the message was unsolicited gossip; its
	// fresh entries may be relayed to other peers (addr.go, rule 4).
	AddrGossip bool
}

// ReportKind says what a Report tells the node.
type ReportKind uint8

// Report kinds.
const (
	// ReportInv: we announced the transaction to this peer.
	ReportInv ReportKind = iota + 1
	// ReportFetch: the peer fetched it from us with getdata.
	ReportFetch
	// ReportSeenInv: the peer announced Hash to us (a txid, or a wtxid
	// when WTx); the node decides whether it is one of ours.
	ReportSeenInv
	// ReportSeenTx: the peer sent us a transaction that passed the
	// context-free checks.
	ReportSeenTx
	// Private broadcast (broadcast.go): the peer asked for the
	// transaction (ReportPrivGetData); it and a ping were sent
	// (ReportPrivSent); the pong came back, the receipt
	// (ReportPrivReceipt); the peer rejected it (ReportReject, Reject
	// says how).
	ReportPrivGetData
	ReportPrivSent
	ReportPrivReceipt
	ReportReject
)

var reportNames = [...]string{ReportInv: "inv", ReportFetch: "fetch", ReportSeenInv: "seen inv", ReportSeenTx: "seen tx",
	ReportPrivGetData: "private getdata", ReportPrivSent: "private sent", ReportPrivReceipt: "private receipt", ReportReject: "reject"}

func (k ReportKind) String() string {
	if int(k) < len(reportNames) && reportNames[k] != "" {
		return reportNames[k]
	}
	return fmt.Sprintf("ReportKind(%d)", k)
}

// Report is what a peer tells the node about one transaction.
type Report struct {
	Kind  ReportKind
	TxID  chainhash.Hash // ReportInv, ReportFetch, ReportSeenTx; ReportSeenInv when !WTx
	WTxID chainhash.Hash // ReportSeenTx; ReportSeenInv when WTx
	WTx   bool
	// Reject (ReportReject): the reject's code and reason, the reason
	// cut to 111 bytes of printable ASCII.
	Reject string
}

func (a Action) String() string {
	switch a.Kind {
	case ActSend:
		return "send " + a.Msg.Command()
	case ActDisconnect:
		return "disconnect: " + string(a.Reason)
	case ActNote:
		return "note: " + a.Note
	case ActReport:
		h := a.Report.TxID
		if a.Report.WTx {
			h = a.Report.WTxID
		}
		return fmt.Sprintf("report %s %s", a.Report.Kind, h.String()[:8])
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
	ReasonMempoolRequest        Reason = "mempool request without NODE_BLOOM"
	ReasonFilterLoad            Reason = "filterload without NODE_BLOOM"
	ReasonFilterAdd             Reason = "filteradd without NODE_BLOOM"
	ReasonFilterClear           Reason = "filterclear without NODE_BLOOM"
	ReasonEvicted               Reason = "evicted to make room for a new inbound peer"
	ReasonBanned                Reason = "banned by the operator"
	// ReasonV2Refused: an outbound BIP 324 attempt was closed after we
	// sent our key and before the peer sent a byte: most likely a
	// v1-only peer, to be dialled again with v1 (Core's
	// ShouldReconnectV1).
	ReasonV2Refused Reason = "v2 handshake refused: closed before any reply (v1-only peer?)"
	// ReasonTransport: the peer broke the transport's protocol (BIP 324:
	// garbage without terminator, a packet too long or that fails
	// authentication).
	ReasonTransport Reason = "transport protocol violation"
	// ReasonTooMany: a list message with more entries than Core allows
	// (headers over 2,000, addr or addrv2 over 1,000...): misbehaviour.
	ReasonTooMany Reason = "message with more entries than allowed"
)
