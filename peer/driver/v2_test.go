package driver

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/internal/transport"
	"github.com/peerd/peerd/peer"
)

// These tests run the driver over loopback TCP with BIP 324 on one side
// or both: the transport's handshake is the key exchange state, the
// snapshot names the transport, and the fallback reason is given.

// tcpEnds returns the two ends of a loopback connection.
func tcpEnds(t *testing.T) (dialed, accepted net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dialed, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	accepted, err = l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	dialed.SetDeadline(deadline)
	accepted.SetDeadline(deadline)
	return dialed, accepted
}

// startOn runs a peer on conn with transport tr; the connection closes
// when the test ends.
func startOn(t *testing.T, conn net.Conn, tr transport.Transport, inbound bool) (*Peer, <-chan peer.Reason) {
	t.Helper()
	n := uint64(0)
	p := New(context.Background(), 1, conn, tr, testDriverConfig(), peer.Params{
		Params: handshake.Params{Inbound: inbound, Nonce: 77, KeyExchange: true},
		Rand:   func() uint64 { n++; return n },
	})
	done := make(chan peer.Reason, 1)
	p.Start(func(r peer.Reason) { done <- r })
	t.Cleanup(func() {
		conn.Close()
		select {
		case <-p.Done():
		case <-time.After(10 * time.Second):
			t.Error("the peer did not end")
		}
	})
	return p, done
}

// far plays the other side through a transport, writing whatever the
// transport's own handshake queues.
type far struct {
	t  *testing.T
	tr transport.Transport
}

func (f *far) expect(cmd string) wire.Message {
	f.t.Helper()
	for {
		msg, err := f.tr.Next()
		if err != nil {
			f.t.Fatalf("far end waiting for %s: %v", cmd, err)
		}
		if _, ok := msg.(*transport.Handshake); ok {
			if err := f.tr.Flush(); err != nil {
				f.t.Fatal(err)
			}
			continue
		}
		if msg.Command() != cmd {
			f.t.Fatalf("far end got %s, want %s", msg.Command(), cmd)
		}
		return msg
	}
}

func (f *far) send(msgs ...wire.Message) {
	f.t.Helper()
	for _, m := range msgs {
		if err := f.tr.Queue(m, wire.WitnessEncoding); err != nil {
			f.t.Fatal(err)
		}
	}
	if err := f.tr.Flush(); err != nil {
		f.t.Fatal(err)
	}
}

// handshakeWith completes the version handshake with an outbound peer
// from the far end.
func (f *far) handshakeWith() *wire.MsgPing {
	f.t.Helper()
	f.expect(wire.CmdVersion)
	f.send(wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 5, 0))
	f.expect(wire.CmdWTxIdRelay)
	f.expect(wire.CmdSendAddrV2)
	f.expect(wire.CmdVerAck)
	f.send(wire.NewMsgWTxIdRelay(), wire.NewMsgVerAck())
	return f.expect(wire.CmdPing).(*wire.MsgPing)
}

// historyHas reports whether the peer's transitions include one into to.
func historyHas(s Snapshot, to string) bool {
	for _, tr := range s.History {
		if tr.To == to {
			return true
		}
	}
	return false
}

// TestDriverV2Outbound: an outbound peer over BIP 324 runs the key
// exchange first (handshake/keyExchange), then the version handshake and
// keepalive over the encrypted session; its snapshot says v2 and carries
// the session id both ends agreed on.
func TestDriverV2Outbound(t *testing.T) {
	a, b := tcpEnds(t)
	tr, err := transport.NewV2(a, testNet)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := startOn(t, a, tr, false)
	remote := transport.NewDetect(b, testNet)
	f := &far{t: t, tr: remote}
	f.handshakeWith()
	f.send(wire.NewMsgPing(42))
	if pong := f.expect(wire.CmdPong).(*wire.MsgPong); pong.Nonce != 42 {
		t.Fatalf("pong %d", pong.Nonce)
	}
	s := p.Snapshot()
	if s.Transport != "v2" || remote.Name() != "v2" {
		t.Fatalf("transport %q, far end %q", s.Transport, remote.Name())
	}
	if id := remote.SessionID(); !bytes.Equal(s.SessionID, id[:]) {
		t.Fatalf("session id %x, far end %x", s.SessionID, id)
	}
	if !historyHas(s, "handshake/keyExchange") || !historyHas(s, "handshake/sentVersion") || s.State != "standby" {
		t.Fatalf("state %s, history %v", s.State, s.History)
	}
}

// TestDriverDetectsV1: an inbound peer that may speak v2 meets a v1 peer:
// it leaves the key exchange state at once, answers in v1, and from then
// on runs on the plain v1 transport (the detecting one is dropped).
func TestDriverDetectsV1(t *testing.T) {
	a, b := tcpEnds(t)
	p, _ := startOn(t, b, transport.NewDetect(b, testNet), true)
	f := &far{t: t, tr: transport.NewV1(a, testNet)}
	f.send(wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 5, 0))
	f.expect(wire.CmdVersion)
	f.expect(wire.CmdWTxIdRelay)
	f.expect(wire.CmdSendAddrV2)
	f.expect(wire.CmdVerAck)
	f.send(wire.NewMsgVerAck())
	f.expect(wire.CmdPing)
	s := p.Snapshot()
	if s.Transport != "v1" || s.SessionID != nil || !historyHas(s, "handshake/keyExchange") {
		t.Fatalf("transport %q, session %x, history %v", s.Transport, s.SessionID, s.History)
	}
	p.own.Lock()
	_, plain := p.t.(*transport.V1)
	p.own.Unlock()
	if !plain {
		t.Error("the peer still runs on the detecting transport")
	}
}

// TestDriverV2RefusedByV1Peer: a v1-only peer reads our key as a v1
// header and hangs up without a byte: the peer ends with
// ReasonV2Refused, which tells the node to dial again with v1.
func TestDriverV2RefusedByV1Peer(t *testing.T) {
	a, b := tcpEnds(t)
	tr, err := transport.NewV2(a, testNet)
	if err != nil {
		t.Fatal(err)
	}
	_, done := startOn(t, a, tr, false)
	// What a v1 node does: read a header, find the wrong magic, close.
	var hdr [24]byte
	if _, err := io.ReadFull(b, hdr[:]); err != nil {
		t.Fatal(err)
	}
	b.Close()
	select {
	case why := <-done:
		if why != peer.ReasonV2Refused {
			t.Fatalf("ended with %q, want %q", why, peer.ReasonV2Refused)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the peer did not end")
	}
}

// TestDriverV2Violation: garbage that never ends is a transport
// violation, not a v1 fallback (the peer sent bytes).
func TestDriverV2Violation(t *testing.T) {
	a, b := tcpEnds(t)
	_, done := startOn(t, b, transport.NewDetect(b, testNet), true)
	go func() {
		a.Write(bytes.Repeat([]byte{0xee}, transport.KeyLen+transport.MaxGarbage+transport.TermLen+10))
		io.Copy(io.Discard, a)
	}()
	select {
	case why := <-done:
		if why != peer.ReasonTransport {
			t.Fatalf("ended with %q, want %q", why, peer.ReasonTransport)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the peer did not end")
	}
}

// TestDirectRelayV2: Relay to an idle peer over BIP 324 announces on the
// caller's goroutine too (the transport seals the inv when it is queued,
// and the sealed bytes go straight to the socket), and the far end
// decrypts it.
func TestDirectRelayV2(t *testing.T) {
	a, b := tcpEnds(t)
	tr, err := transport.NewV2(a, testNet)
	if err != nil {
		t.Fatal(err)
	}
	n := uint64(0)
	p := New(context.Background(), 1, a, tr, testDriverConfig(), peer.Params{
		Params: handshake.Params{Nonce: 77, KeyExchange: true},
		Rand:   func() uint64 { n++; return n },
	})
	w := watchPeer(p, true)
	p.Start(func(peer.Reason) {})
	t.Cleanup(func() {
		a.Close()
		<-p.Done()
	})
	f := &far{t: t, tr: transport.NewDetect(b, testNet)}
	ping := f.handshakeWith()
	f.send(wire.NewMsgPong(ping.Nonce)) // the ping after verack answered: standby, idle
	for i := range 3 {
		w.waitParked(t)
		txs := testTxs(2, i)
		if !p.Relay(txs) {
			t.Fatal("Relay refused a batch")
		}
		inv := f.expect(wire.CmdInv).(*wire.MsgInv)
		if len(inv.InvList) != 2 || inv.InvList[1].Hash != txs[1].WTxID {
			t.Fatalf("inv %v", inv.InvList)
		}
	}
	if got := w.directs.Load(); got != 3 {
		t.Errorf("%d of 3 batches announced by Relay itself", got)
	}
}
