package driver

import (
	"context"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
)

// An inbound peer's addr reaches OnAddrs and its getaddr reaches OnGetAddr;
// the answer handed in with AnswerGetAddr goes out as addrv2 to a peer that
// sent sendaddrv2, and Snapshot shows the counters.
func TestDriverAddrGossip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testDriverConfig()
		got := make(chan []wire.NetAddress, 1)
		cfg.OnAddrs = func(_ *Peer, addrs []wire.NetAddress, v2 []wire.NetAddressV2, gossip bool) {
			if !gossip {
				t.Errorf("a 2-entry addr was not gossip")
			}
			if v2 != nil {
				t.Errorf("addr came as addrv2")
			}
			got <- addrs
		}
		answer := []*wire.NetAddressV2{
			wire.NetAddressV2FromBytes(time.Now(), wire.SFNodeNetwork, []byte{1, 2, 3, 4}, 8333),
			wire.NetAddressV2FromBytes(time.Now(), wire.SFNodeNetwork, make([]byte, 32), 8333),
		}
		cfg.OnGetAddr = func(p *Peer) {
			if !p.AnswerGetAddr(answer) {
				t.Errorf("AnswerGetAddr refused the first answer")
			}
			if p.AnswerGetAddr(answer) {
				t.Errorf("AnswerGetAddr took a second answer while the first waits")
			}
		}
		r, p, done := startPeer(t, context.Background(), cfg, true)
		v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 5, 0)
		v.Services = wire.SFNodeWitness | wire.SFNodeNetwork
		r.send(v)
		r.expect(wire.CmdVersion)
		r.expect(wire.CmdWTxIdRelay)
		r.expect(wire.CmdSendAddrV2)
		r.expect(wire.CmdVerAck)
		r.send(wire.NewMsgSendAddrV2())
		r.send(wire.NewMsgVerAck())
		r.expect(wire.CmdPing)

		addr := wire.NewMsgAddr()
		addr.AddAddresses(
			wire.NewNetAddressIPPort(net.IPv4(5, 6, 7, 8), 8333, wire.SFNodeNetwork),
			wire.NewNetAddressIPPort(net.IPv4(5, 6, 7, 9), 8333, wire.SFNodeNetwork))
		r.send(addr)
		if a := <-got; len(a) != 1 { // one token at the start
			t.Fatalf("OnAddrs got %d addresses, want 1", len(a))
		}

		r.send(wire.NewMsgGetAddr())
		m := r.expect(wire.CmdAddrV2).(*wire.MsgAddrV2)
		if len(m.AddrList) != 2 {
			t.Fatalf("addrv2 answer with %d entries, want 2", len(m.AddrList))
		}
		// Relayed addresses go out after the trickle (0 here: at once),
		// without what the peer told us.
		if !p.AddrRelay() || !p.AddrV2() {
			t.Fatalf("AddrRelay %v, AddrV2 %v; want both", p.AddrRelay(), p.AddrV2())
		}
		p.RelayAddrs(answer)
		if m := r.expect(wire.CmdAddrV2).(*wire.MsgAddrV2); len(m.AddrList) != 2 {
			t.Fatalf("relayed addrv2 with %d entries, want 2", len(m.AddrList))
		}
		synctest.Wait()
		if s := p.Snapshot(); !s.AddrRelayEnabled || s.AddrProcessed != 1 || s.AddrRateLimited != 1 {
			t.Fatalf("snapshot: relay %v processed %d rate-limited %d, want true 1 1",
				s.AddrRelayEnabled, s.AddrProcessed, s.AddrRateLimited)
		}
		r.conn.Close()
		<-done
	})
}
