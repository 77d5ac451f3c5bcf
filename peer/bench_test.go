package peer

import (
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/handshake"
)

// readyMachine returns a machine in standby, as after a handshake with a
// wtxidrelay peer.
func readyMachine(b *testing.B, trickle time.Duration) (*Machine, time.Time) {
	cfg := &Config{Handshake: handshake.Config{UserAgent: "/peerd:bench/"}, Trickle: trickle}
	n := uint64(0)
	m := NewMachine(cfg, Params{Params: handshake.Params{Inbound: true}, Rand: func() uint64 { n++; return n * 0x9e3779b97f4a7c15 }}, nil)
	now := time.Unix(1_700_000_000, 0)
	var out []Action
	m.Step(Event{Kind: EvStart, Now: now}, &out)
	v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 9, 0)
	for _, msg := range []wire.Message{v, wire.NewMsgWTxIdRelay(), wire.NewMsgVerAck()} {
		m.Step(Event{Kind: EvMsg, Now: now, Msg: msg}, &out)
	}
	if m.State() != Standby {
		b.Fatalf("state %s", m.Path())
	}
	return m, now
}

// BenchmarkPingStep: a ping through Step, answered with a pong. It must not
// allocate.
func BenchmarkPingStep(b *testing.B) {
	m, now := readyMachine(b, 0)
	ping := wire.NewMsgPing(42)
	out := make([]Action, 0, 4)
	b.ReportAllocs()
	for b.Loop() {
		out = out[:0]
		m.Step(Event{Kind: EvMsg, Now: now, Msg: ping}, &out)
	}
	if len(out) != 1 || out[0].Msg.(*wire.MsgPong).Nonce != 42 {
		b.Fatalf("actions %v", out)
	}
}

// BenchmarkTickStep: a timer tick with nothing due.
func BenchmarkTickStep(b *testing.B) {
	m, now := readyMachine(b, 0)
	out := make([]Action, 0, 4)
	b.ReportAllocs()
	for b.Loop() {
		out = out[:0]
		m.Step(Event{Kind: EvTick, Now: now}, &out)
	}
}

// BenchmarkRelayStep: one new transaction through Step with the trickle
// off: known-set insertion, the inv and the report.
func BenchmarkRelayStep(b *testing.B) {
	m, now := readyMachine(b, 0)
	txs := make([]*Tx, 4096)
	for i := range txs {
		var h chainhash.Hash
		h[0], h[1], h[2] = byte(i), byte(i>>8), 1
		w := h
		w[31] = 1
		txs[i] = &Tx{TxID: h, WTxID: w, Msg: wire.NewMsgTx(2)}
	}
	batch := make([]*Tx, 1)
	out := make([]Action, 0, 4)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		out = out[:0]
		batch[0] = txs[i%len(txs)]
		i++
		m.Step(Event{Kind: EvRelay, Now: now, Txs: batch}, &out)
	}
}
