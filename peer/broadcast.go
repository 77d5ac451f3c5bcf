package peer

import (
	"fmt"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/fsm"
)

// A private-broadcast connection (Params.Broadcast set) carries one
// transaction and nothing else, as Bitcoin Core's: after a handshake whose
// version tells nothing about us (handshake.Params.Private), the machine
// enters Broadcast instead of Standby, where the broadcast machine runs:
//
//  1. announced: an inv of the transaction by txid (MSG_TX: no
//     wtxidrelay was negotiated) went out; we wait for the peer's getdata.
//  2. delivered: the peer asked for it (a getdata naming its txid); the
//     transaction and a ping went out; we wait for the pong.
//  3. received: the pong came back: the receipt. The connection closes
//     (ReasonBroadcastDone).
//
// Only version, verack, inv, tx and ping ever leave (Core's test asserts
// these): the peer's pings are not answered, its other messages are
// ignored, a BIP 61 reject of the transaction is reported (btcd still
// sends them). The whole connection lives at most BroadcastLifetime from
// its start (Core: 3 min), whatever state it is in.
//
// Two departures from Core, both measured against btcd (docs/benchmarks.md,
// "Private broadcast"): btcd drops an inv that arrives before its sync
// manager has registered the new peer, which it does after the handshake
// and asynchronously, so the inv is sent again once, InvRetry after the
// first; and a peer that has not asked for the transaction NoGetDataAfter
// the first inv will not (it has it already, or ignores us): the
// connection ends then (ReasonBroadcastNoGetData) instead of holding its
// address for the whole lifetime, so that the scheduler may try another.
const (
	// Broadcast: the handshake is done on a private-broadcast
	// connection; the broadcast machine runs inside.
	Broadcast fsm.State = "broadcast"

	// The broadcast machine's states.
	Announced fsm.State = "announced"
	Delivered fsm.State = "delivered"
	Received  fsm.State = "received"

	onGetData = "getdata of the tx: tx and ping sent"
	onReceipt = "pong: receipt"

	onBroadcastHandshake = "handshake done (private broadcast)"
	onBroadcastDone      = "receipt"
	onBroadcastTimeout   = "lifetime over (3 min)"

	// BroadcastLifetime bounds a private-broadcast connection (Core's
	// PRIVATE_BROADCAST_MAX_CONNECTION_LIFETIME).
	BroadcastLifetime = 3 * time.Minute
	// InvRetry is when the inv goes out once more without a getdata, and
	// NoGetDataAfter when the connection gives up on one (both from the
	// first inv).
	InvRetry       = 5 * time.Second
	NoGetDataAfter = 15 * time.Second

	onNoGetData = "no getdata (15 s)"
)

// Reasons a private-broadcast connection ends on its own.
const (
	ReasonBroadcastDone      Reason = "private broadcast done: receipt"
	ReasonBroadcastTimeout   Reason = "private broadcast connection lifetime reached"
	ReasonBroadcastNoGetData Reason = "private broadcast: the peer did not ask for the transaction"
)

// BroadcastSpec is the broadcast machine's definition.
var BroadcastSpec = fsm.MustIndex(&fsm.Spec{
	Name:    "broadcast",
	Initial: Announced,
	States:  []fsm.State{Announced, Delivered, Received},
	Final:   []fsm.State{Received},
	Edges: []fsm.Edge{
		{From: Announced, To: Delivered, On: onGetData},
		{From: Delivered, To: Received, On: onReceipt},
	},
	Notes: map[fsm.State]string{
		Announced: "inv (MSG_TX, txid) sent; nothing else goes out; a reject is reported",
	},
})

// maxRejectReason is how much of a reject's reason is kept (Core's
// MAX_REJECT_MESSAGE_LENGTH when it still sent them).
const maxRejectReason = 111

// printable returns s cut to n bytes with every byte outside printable
// ASCII replaced by '?': a peer's text goes into logs and RPC answers.
func printable(s string, n int) string {
	b := []byte(s[:min(len(s), n)])
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

type broadcasting struct {
	fsm.Core
	m       *Machine
	nonce   uint64    // the ping's, once delivered
	invAt   time.Time // the first inv went out
	retried bool      // the inv went out a second time
	inv     *wire.MsgInv
}

// deadline is the broadcast machine's next timed step while announced.
func (b *broadcasting) deadline() time.Time {
	if b.State() != Announced {
		return time.Time{}
	}
	if !b.retried {
		return b.invAt.Add(InvRetry)
	}
	return b.invAt.Add(NoGetDataAfter)
}

// tick re-sends the inv, or gives up on a getdata; it reports whether
// the connection is to end.
func (b *broadcasting) tick(now time.Time, out *[]Action) bool {
	if b.State() != Announced {
		return false
	}
	switch {
	case !now.Before(b.invAt.Add(NoGetDataAfter)):
		return true
	case !b.retried && !now.Before(b.invAt.Add(InvRetry)):
		b.retried = true
		*out = append(*out, Action{Kind: ActSend, Msg: b.inv})
	}
	return false
}

// startBroadcast enters Broadcast after a private connection's handshake.
func (m *Machine) startBroadcast(now time.Time, out *[]Action) {
	m.Become(now, Broadcast, onBroadcastHandshake)
	m.bc = &broadcasting{Core: fsm.NewCore(BroadcastSpec, string(Broadcast), m.Observer()), m: m, invAt: now}
	m.bc.Enter(now, "inv")
	tx := m.params.Broadcast
	inv := wire.NewMsgInvSizeHint(1)
	_ = inv.AddInvVect(wire.NewInvVect(wire.InvTypeTx, &tx.TxID))
	m.bc.inv = inv
	*out = append(*out, Action{Kind: ActReady})
	*out = append(*out, Action{Kind: ActSend, Msg: inv})
}

// Step handles what a private-broadcast connection answers to; the rest
// is ignored here (the peer machine handles the connection's end and
// ticks).
func (b *broadcasting) Step(ev Event, out *[]Action) fsm.Result {
	if ev.Kind != EvMsg {
		return fsm.Unhandled
	}
	tx := b.m.params.Broadcast
	switch msg := ev.Msg.(type) {
	case *wire.MsgGetData:
		if b.State() != Announced {
			note(out, "ignored getdata: the transaction was sent already")
			return fsm.Handled
		}
		enc, ok := wire.MessageEncoding(0), false
		for _, iv := range msg.InvList {
			if iv.Hash != tx.TxID {
				continue
			}
			switch iv.Type {
			case wire.InvTypeTx:
				enc, ok = wire.BaseEncoding, true
			case wire.InvTypeWitnessTx:
				enc, ok = wire.WitnessEncoding, true
			}
		}
		if !ok {
			note(out, "ignored getdata of %d entries not naming our transaction", len(msg.InvList))
			return fsm.Handled
		}
		*out = append(*out, Action{Kind: ActReport, Report: Report{Kind: ReportPrivGetData, TxID: tx.TxID}})
		if enc == wire.BaseEncoding && tx.Msg.HasWitness() {
			// Enc 0 means witness encoding to the driver.
			*out = append(*out, Action{Kind: ActSend, Msg: tx.Msg, Enc: wire.BaseEncoding})
		} else {
			*out = append(*out, Action{Kind: ActSend, Msg: tx.Msg})
		}
		m := b.m
		b.nonce = m.params.Rand()
		for b.nonce == 0 {
			b.nonce = m.params.Rand()
		}
		m.ping.Nonce = b.nonce
		*out = append(*out, Action{Kind: ActSend, Msg: &m.ping})
		*out = append(*out, Action{Kind: ActReport, Report: Report{Kind: ReportPrivSent, TxID: tx.TxID}})
		b.Become(ev.Now, Delivered, onGetData)
	case *wire.MsgPong:
		if b.State() != Delivered || msg.Nonce != b.nonce {
			note(out, "ignored pong (nonce %d)", msg.Nonce)
			return fsm.Handled
		}
		*out = append(*out, Action{Kind: ActReport, Report: Report{Kind: ReportPrivReceipt, TxID: tx.TxID}})
		b.Become(ev.Now, Received, onReceipt)
		return fsm.Ended
	case *wire.MsgReject:
		if msg.Hash != tx.TxID && msg.Hash != tx.WTxID {
			note(out, "reject of %s %v: %s", msg.Cmd, msg.Hash, msg.Reason)
			return fsm.Handled
		}
		*out = append(*out, Action{Kind: ActReport, Report: Report{Kind: ReportReject, TxID: tx.TxID,
			Reject: fmt.Sprintf("%v: %s", msg.Code, printable(msg.Reason, maxRejectReason))}})
	default:
		// Pings are not answered (Core sends only version, verack, inv,
		// tx and ping on these connections); the rest is of no use.
		note(out, "ignored %s on a private-broadcast connection", ev.Msg.Command())
	}
	return fsm.Handled
}
