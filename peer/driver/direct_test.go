package driver

import (
	"context"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/internal/transport"
	"github.com/peerd/peerd/peer"
)

// These tests run a peer on a real loopback TCP connection, outside a
// synctest bubble: Relay's own announcements (see Peer.Relay) need the
// socket's non-blocking writes, which net.Pipe has not.

// tcpPeer runs an inbound peer on the accepting end of a loopback
// connection, completes the handshake from the dialing end, and returns
// that end. The peer's loop never hands off (the tests need it parked in
// its read, see watch) unless handoff is true.
func tcpPeer(t *testing.T, cfg *Config) (*remote, *Peer, *watch, <-chan peer.Reason) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	far, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	local, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	n := uint64(0)
	p := New(context.Background(), 1, local, transport.NewV1(local, cfg.Net), cfg, peer.Params{
		Params: handshake.Params{Inbound: true, Nonce: 77},
		Rand:   func() uint64 { n++; return n },
	})
	w := watchPeer(p, true)
	done := make(chan peer.Reason, 1)
	p.Start(func(r peer.Reason) { done <- r })
	t.Cleanup(func() {
		far.Close()
		select {
		case <-p.Done():
		case <-time.After(10 * time.Second):
			t.Error("the peer did not end")
		}
	})
	far.SetDeadline(time.Now().Add(20 * time.Second))
	r := newRemote(t, far)
	v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 5, 0)
	r.send(v)
	r.expect(wire.CmdVersion)
	r.expect(wire.CmdWTxIdRelay)
	r.expect(wire.CmdSendAddrV2)
	r.expect(wire.CmdVerAck)
	r.send(wire.NewMsgWTxIdRelay())
	r.send(wire.NewMsgVerAck())
	ping := r.expect(wire.CmdPing).(*wire.MsgPing)
	r.send(wire.NewMsgPong(ping.Nonce))
	// A ping answered: the peer is in standby.
	r.send(wire.NewMsgPing(1))
	r.expect(wire.CmdPong)
	return r, p, w, done
}

// watch follows a peer's loop through its test hooks.
type watch struct {
	parked   atomic.Bool  // the loop waits in its read, own released
	directs  atomic.Int64 // batches Relay announced itself
	handoffs atomic.Int64 // moves of the loop to a fresh goroutine
}

// watchPeer installs the hooks on p, before it starts; stay keeps its loop
// from handing off.
func watchPeer(p *Peer, stay bool) *watch {
	w := new(watch)
	p.hooks = &testHooks{
		parked:  func() { w.parked.Store(true) },
		woke:    func() { w.parked.Store(false) },
		direct:  func() { w.directs.Add(1) },
		handoff: func() { w.handoffs.Add(1) },
		stay:    stay,
	}
	return w
}

// waitParked waits until the loop is parked in its read (so that Relay
// finds own free and announces itself).
func (w *watch) waitParked(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !w.parked.Load(); time.Sleep(100 * time.Microsecond) {
		if time.Now().After(deadline) {
			t.Fatal("the loop never parked in its read")
		}
	}
}

func testTxs(n, tag int) []*peer.Tx {
	txs := make([]*peer.Tx, n)
	for i := range txs {
		var h chainhash.Hash
		h[0], h[1], h[2], h[3], h[4] = byte(i), byte(i>>8), byte(tag), byte(tag>>8), 1
		w := h
		w[31] = 1
		txs[i] = &peer.Tx{TxID: h, WTxID: w, Msg: wire.NewMsgTx(2)}
	}
	return txs
}

// TestDirectRelay: Relay to an idle peer announces on the caller's
// goroutine, by wtxid as negotiated, and the loop goes on serving
// afterwards.
func TestDirectRelay(t *testing.T) {
	r, p, w, _ := tcpPeer(t, testDriverConfig())
	for i := range 3 {
		w.waitParked(t)
		txs := testTxs(2, i)
		if !p.Relay(txs) {
			t.Fatal("Relay refused a batch")
		}
		inv := r.expect(wire.CmdInv).(*wire.MsgInv)
		if len(inv.InvList) != 2 || inv.InvList[0].Type != peer.InvTypeWTx || inv.InvList[0].Hash != txs[0].WTxID {
			t.Fatalf("inv %v", inv.InvList)
		}
	}
	// Each batch found the loop parked in its read.
	if got := w.directs.Load(); got != 3 {
		t.Errorf("%d of 3 batches announced by Relay itself", got)
	}
	r.send(wire.NewMsgPing(9))
	if pong := r.expect(wire.CmdPong).(*wire.MsgPong); pong.Nonce != 9 {
		t.Errorf("pong %d", pong.Nonce)
	}
	if s := p.Snapshot(); s.BytesSent == 0 || s.State != "standby" {
		t.Errorf("snapshot %+v", s)
	}
}

// TestDirectRelayFullSocket: a peer that stops reading fills its socket;
// Relay keeps returning at once (what a write could not take waits for the
// loop, and later batches queue for it, or are refused once the queue is
// full), and the loop's own write, with its deadline, ends the peer.
func TestDirectRelayFullSocket(t *testing.T) {
	cfg := testDriverConfig()
	cfg.WriteTimeout = 300 * time.Millisecond
	_, p, w, done := tcpPeer(t, cfg)
	deadline := time.Now().Add(20 * time.Second)
	w.waitParked(t)
	for i := 0; ; i++ {
		start := time.Now()
		p.Relay(testTxs(1000, i)) // a 36 kB inv each
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Relay blocked for %v", d)
		}
		select {
		case why := <-done:
			if why != peer.ReasonWriteError {
				t.Errorf("ended with %s, want %s", why, peer.ReasonWriteError)
			}
			if w.directs.Load() == 0 {
				t.Error("no batch went through Relay's own write")
			}
			return
		default:
		}
		if time.Now().After(deadline) {
			p.own.Lock()
			p.inMu.Lock()
			t.Logf("woken %v, %d bytes buffered, %d batches queued, state %s, %d direct", p.woken.Load(), p.t.Buffered(), p.in.count[peer.EvRelay], p.m.Path(), w.directs.Load())
			p.inMu.Unlock()
			p.own.Unlock()
			buf := make([]byte, 1<<20)
			t.Fatalf("the peer that does not read was never dropped\n%s", buf[:runtime.Stack(buf, true)])
		}
	}
}

// TestDirectRelayAfterWriteDeadline: the deadline of the loop's last write
// has long passed when Relay writes; Relay's non-blocking write is not
// refused for it.
func TestDirectRelayAfterWriteDeadline(t *testing.T) {
	cfg := testDriverConfig()
	cfg.WriteTimeout = 20 * time.Millisecond
	r, p, w, _ := tcpPeer(t, cfg)
	time.Sleep(50 * time.Millisecond) // the pong's write deadline passes
	w.waitParked(t)
	txs := testTxs(1, 0)
	p.Relay(txs)
	inv := r.expect(wire.CmdInv).(*wire.MsgInv)
	if inv.InvList[0].Hash != txs[0].WTxID {
		t.Fatalf("inv %v", inv.InvList)
	}
	if w.directs.Load() != 1 {
		t.Errorf("%d direct batches, want 1", w.directs.Load())
	}
}

// TestDirectRelayEndedPeer: Relay to a peer that has ended announces
// nothing and does not block.
func TestDirectRelayEndedPeer(t *testing.T) {
	r, p, w, done := tcpPeer(t, testDriverConfig())
	r.conn.Close()
	if why := <-done; why != peer.ReasonEOF {
		t.Fatalf("ended with %s", why)
	}
	p.Relay(testTxs(1, 0))
	if w.directs.Load() != 0 {
		t.Error("Relay stepped an ended peer")
	}
}

// TestDirectRelayConcurrent: several goroutines relay at once while the
// remote pings; every batch Relay accepted is announced exactly once,
// whether Relay wrote it itself or queued it for the loop, and every ping
// is answered.
func TestDirectRelayConcurrent(t *testing.T) {
	r, p, w, _ := tcpPeer(t, testDriverConfig())
	const senders, batches = 4, 200
	accepted := make(chan *peer.Tx, senders*batches)
	done := make(chan struct{})
	for g := range senders {
		go func() {
			defer func() { done <- struct{}{} }()
			for b := range batches {
				txs := testTxs(1, g*batches+b)
				if p.Relay(txs) {
					accepted <- txs[0]
				}
			}
		}()
	}
	pinger := make(chan error, 1)
	go func() {
		for i := range 50 {
			if err := r.w.Write(wire.NewMsgPing(uint64(1000 + i))); err != nil {
				pinger <- err
				return
			}
		}
		pinger <- nil
	}()
	for range senders {
		<-done
	}
	close(accepted)
	want := make(map[chainhash.Hash]bool)
	for tx := range accepted {
		want[tx.WTxID] = true
	}
	if len(want) == 0 {
		t.Fatal("no batch accepted")
	}
	pongs := 0
	seen := make(map[chainhash.Hash]bool)
	for len(seen) < len(want) || pongs < 50 {
		msg, err := r.r.Next()
		if err != nil {
			t.Fatalf("after %d of %d announcements and %d pongs: %v", len(seen), len(want), pongs, err)
		}
		switch m := msg.(type) {
		case *wire.MsgInv:
			for _, iv := range m.InvList {
				if !want[iv.Hash] {
					t.Fatalf("announced %v, which no accepted batch held", iv.Hash)
				}
				if seen[iv.Hash] {
					t.Fatalf("%v announced twice", iv.Hash)
				}
				seen[iv.Hash] = true
			}
		case *wire.MsgPong:
			pongs++
		}
	}
	if err := <-pinger; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d batches accepted, %d announced by Relay itself", len(want), w.directs.Load())
}

// TestDirectRelayAllocs: an announcement Relay writes itself allocates
// nothing (averaged over many: the known set's map grows now and then), so
// that a fan-out to a thousand peers leaves no garbage behind.
func TestDirectRelayAllocs(t *testing.T) {
	if raceEnabled || lockChecked {
		t.Skip("allocation counts differ under the race detector and with lock checks")
	}
	r, p, w, _ := tcpPeer(t, testDriverConfig())
	// The remote reads everything, without decoding (AllocsPerRun counts
	// every goroutine's allocations), until the test closes it.
	go io.Copy(io.Discard, r.conn)
	txs := testTxs(3000, 7)
	batch := make([]*peer.Tx, 1)
	i := 0
	relay := func() {
		batch[0] = txs[i]
		i++
		p.Relay(batch)
	}
	// Once the loop has parked in its read, Relay announces itself.
	w.waitParked(t)
	relay()
	if w.directs.Load() != 1 {
		t.Fatal("Relay to a parked loop did not announce itself")
	}
	before, start := w.directs.Load(), i
	allocs := testing.AllocsPerRun(2000, relay)
	if allocs != 0 {
		t.Errorf("%v allocations per Relay, want 0", allocs)
	}
	if d := int(w.directs.Load() - before); d < (i-start)*9/10 {
		t.Errorf("only %d of %d batches announced by Relay itself", d, i-start)
	}
}
