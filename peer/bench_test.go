package peer

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/internal/wireio"
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

// BenchmarkDriverHandshake: an inbound peer's whole life through the driver
// over net.Pipe: started, sent version, wtxidrelay, sendaddrv2 and verack,
// answering with its own four messages and a ping, then closed by the
// other side. No kernel in it: what one handshake costs peerd in user
// space (goroutine start, stack growth, allocations, the machines,
// encoding and decoding).
func BenchmarkDriverHandshake(b *testing.B) {
	cfg := &DriverConfig{Net: wire.TestNet, Machine: Config{Handshake: handshake.Config{UserAgent: "/peerd:bench/"}}}
	var hello bytes.Buffer
	v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 9, 0)
	v.Services = wire.SFNodeWitness
	for _, m := range []wire.Message{v, wire.NewMsgWTxIdRelay(), wire.NewMsgSendAddrV2(), wire.NewMsgVerAck()} {
		if _, err := wire.WriteMessageN(&hello, m, wire.ProtocolVersion, wire.TestNet); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	n := uint64(0)
	params := Params{Params: handshake.Params{Inbound: true, Nonce: 77}, Rand: func() uint64 { n++; return n }}
	ended := make(chan Reason, 1)
	onEnd := func(r Reason) { ended <- r }
	wrote := make(chan error, 1)
	b.ReportAllocs()
	for b.Loop() {
		local, far := net.Pipe()
		p := New(ctx, 1, local, cfg, params)
		p.Start(onEnd)
		go func() { _, err := far.Write(hello.Bytes()); wrote <- err }()
		r := wireio.NewReader(far, wire.TestNet)
		for _, want := range []string{wire.CmdVersion, wire.CmdWTxIdRelay, wire.CmdSendAddrV2, wire.CmdVerAck, wire.CmdPing} {
			msg, err := r.Next()
			if err != nil || msg.Command() != want {
				b.Fatalf("got %v, %v; want %s", msg, err, want)
			}
		}
		if err := <-wrote; err != nil {
			b.Fatal(err)
		}
		far.Close()
		if why := <-ended; why != ReasonEOF {
			b.Fatalf("ended: %s", why)
		}
		r.Release()
	}
}
