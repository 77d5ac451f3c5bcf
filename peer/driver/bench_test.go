package driver

import (
	"bytes"
	"context"
	"net"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/internal/transport"
	"github.com/peerd/peerd/internal/wireio"
	"github.com/peerd/peerd/peer"
)

// BenchmarkDriverHandshake: an inbound peer's whole life through the driver
// over net.Pipe: started, sent version, wtxidrelay, sendaddrv2 and verack,
// answering with its own four messages and a ping, then closed by the
// other side. No kernel in it: what one handshake costs peerd in user
// space (goroutine start, stack growth, allocations, the machines,
// encoding and decoding).
func BenchmarkDriverHandshake(b *testing.B) {
	cfg := &Config{Net: wire.TestNet, Machine: peer.Config{Handshake: handshake.Config{UserAgent: "/peerd:bench/"}}}
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
	params := peer.Params{Params: handshake.Params{Inbound: true, Nonce: 77}, Rand: func() uint64 { n++; return n }}
	ended := make(chan peer.Reason, 1)
	onEnd := func(r peer.Reason) { ended <- r }
	wrote := make(chan error, 1)
	b.ReportAllocs()
	for b.Loop() {
		local, far := net.Pipe()
		p := New(ctx, 1, local, transport.NewV1(local, cfg.Net), cfg, params)
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
		if why := <-ended; why != peer.ReasonEOF {
			b.Fatalf("ended: %s", why)
		}
		r.Release()
	}
}
