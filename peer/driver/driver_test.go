package driver

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/internal/transport"
	"github.com/peerd/peerd/internal/wireio"
	"github.com/peerd/peerd/peer"
)

// The driver tests run in a synctest bubble: time is fake and jumps ahead
// whenever every goroutine is blocked, and synctest.Test fails if any
// goroutine started by the test is still running when it ends, which makes
// each test a goroutine-leak check too.

const testNet = wire.TestNet // regtest magic

// remote is the far end of a net.Pipe, played by the test.
type remote struct {
	t    *testing.T
	conn net.Conn
	r    *wireio.Reader
	w    *wireio.Writer
	seen *watch // the peer's loop, when the test started it
}

func newRemote(t *testing.T, c net.Conn) *remote {
	return &remote{t: t, conn: c, r: wireio.NewReader(c, testNet), w: wireio.NewWriter(c, testNet)}
}

func (r *remote) send(msg wire.Message) {
	r.t.Helper()
	if err := r.w.Write(msg); err != nil {
		r.t.Fatalf("remote write %s: %v", msg.Command(), err)
	}
}

func (r *remote) expect(cmd string) wire.Message {
	r.t.Helper()
	msg, err := r.r.Next()
	if err != nil {
		r.t.Fatalf("remote waiting for %s: %v", cmd, err)
	}
	if msg.Command() != cmd {
		r.t.Fatalf("remote got %s, want %s", msg.Command(), cmd)
	}
	return msg
}

func (r *remote) expectClosed() {
	r.t.Helper()
	for {
		msg, err := r.r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
				r.t.Fatalf("remote expected a close, got %v", err)
			}
			return
		}
		r.t.Logf("remote: %s before close", msg.Command())
	}
}

func testDriverConfig() *Config {
	return &Config{
		Net: testNet,
		Machine: peer.Config{Handshake: handshake.Config{
			UserAgent: "/peerd:test/",
		}},
	}
}

// startPeer runs an outbound peer on one end of a pipe and returns the other.
func startPeer(t *testing.T, ctx context.Context, cfg *Config, inbound bool) (*remote, *Peer, <-chan peer.Reason) {
	local, far := net.Pipe()
	n := uint64(0)
	p := New(ctx, 1, local, transport.NewV1(local, cfg.Net), cfg, peer.Params{
		Params: handshake.Params{Inbound: inbound, Nonce: 77},
		Rand:   func() uint64 { n++; return n },
	})
	seen := watchPeer(p, false)
	done := make(chan peer.Reason, 1)
	go func() { done <- p.Run() }()
	t.Cleanup(func() { far.Close() })
	r := newRemote(t, far)
	r.seen = seen
	return r, p, done
}

func (r *remote) handshakeOutbound() {
	r.t.Helper()
	r.expect(wire.CmdVersion)
	v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 5, 0)
	v.Services = wire.SFNodeWitness | wire.SFNodeNetwork
	r.send(v)
	r.expect(wire.CmdWTxIdRelay)
	r.expect(wire.CmdSendAddrV2)
	r.expect(wire.CmdVerAck)
	r.send(wire.NewMsgWTxIdRelay())
	r.send(wire.NewMsgVerAck())
	r.expect(wire.CmdPing) // Core-style ping right after verack
}

func TestDriverHandshakePingAndTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testDriverConfig()
		ready := make(chan struct{})
		cfg.OnReady = func(*Peer) { close(ready) }
		r, p, done := startPeer(t, context.Background(), cfg, false)
		r.handshakeOutbound()
		<-ready
		synctest.Wait()
		if s := p.Snapshot(); s.State != "standby" || !s.WTxIDRelay || s.ProtocolVersion != 70016 {
			t.Fatalf("snapshot after handshake: %+v", s)
		}

		r.send(wire.NewMsgPing(4242))
		if pong := r.expect(wire.CmdPong).(*wire.MsgPong); pong.Nonce != 4242 {
			t.Fatalf("pong nonce %d, want 4242", pong.Nonce)
		}

		// We never answered the first ping: 20 minutes after it, the
		// peer gives up. The fake clock gets there at once.
		start := time.Now()
		r.expectClosed()
		if got := <-done; got != peer.ReasonPingTimeout {
			t.Fatalf("Run returned %q, want %q", got, peer.ReasonPingTimeout)
		}
		if el := time.Since(start); el < 19*time.Minute || el > 21*time.Minute {
			t.Fatalf("ping timeout after %v, want about 20m", el)
		}
		s := p.Snapshot()
		if s.State != "disconnected" || s.DisconnectedFor != peer.ReasonPingTimeout || len(s.History) == 0 {
			t.Fatalf("final snapshot: %+v", s)
		}
	})
}

func TestDriverRegularPings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, p, done := startPeer(t, context.Background(), testDriverConfig(), false)
		r.handshakeOutbound() // first ping, nonce 1
		time.Sleep(80 * time.Millisecond)
		r.send(wire.NewMsgPong(1))
		start := time.Now()
		ping := r.expect(wire.CmdPing).(*wire.MsgPing)
		if el := time.Since(start); el < 119*time.Second || el > 121*time.Second || ping.Nonce != 2 {
			t.Fatalf("second ping after %v with nonce %d, want ~2m and nonce 2", el, ping.Nonce)
		}
		synctest.Wait()
		if s := p.Snapshot(); s.MinPing != 80*time.Millisecond || s.PingWait != 0 && s.PingWait > time.Second {
			t.Fatalf("rtt min %v, wait %v", s.MinPing, s.PingWait)
		}
		p.Disconnect(peer.ReasonOperator)
		if got := <-done; got != peer.ReasonOperator {
			t.Fatalf("Run returned %q", got)
		}
	})
}

func TestDriverShutdownMidHandshake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		r, p, done := startPeer(t, ctx, testDriverConfig(), true)
		// The inbound peer waits for a version that never comes.
		time.Sleep(10 * time.Second)
		cancel()
		if got := <-done; got != peer.ReasonShutdown {
			t.Fatalf("Run returned %q, want %q", got, peer.ReasonShutdown)
		}
		<-p.Done()
		r.expectClosed()
	})
}

func TestDriverPeerThatNeverReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testDriverConfig()
		cfg.WriteTimeout = 30 * time.Second
		// The remote never reads, so our version write blocks until the
		// write deadline, then the peer is dropped.
		_, _, done := startPeer(t, context.Background(), cfg, false)
		start := time.Now()
		if got := <-done; got != peer.ReasonWriteError {
			t.Fatalf("Run returned %q, want %q", got, peer.ReasonWriteError)
		}
		if el := time.Since(start); el != 30*time.Second {
			t.Fatalf("gave up after %v, want the 30s write timeout", el)
		}
	})
}

func TestDriverBadMagicDisconnects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _, done := startPeer(t, context.Background(), testDriverConfig(), true)
		other := wireio.NewWriter(r.conn, wire.MainNet)
		go func() { _ = other.Write(wire.NewMsgVerAck()) }()
		if got := <-done; got != peer.ReasonBadMagic {
			t.Fatalf("Run returned %q, want %q", got, peer.ReasonBadMagic)
		}
	})
}

func TestDriverDropsBadChecksumAndContinues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _, done := startPeer(t, context.Background(), testDriverConfig(), true)
		v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 5, 0)
		// A version with a corrupted checksum is dropped; the good one
		// after it is answered.
		var raw [wireio.HeaderSize + 200]byte
		buf := &byteSink{b: raw[:0]}
		if err := wireio.NewWriter(buf, testNet).Write(v); err != nil {
			t.Fatal(err)
		}
		buf.b[20] ^= 0xff
		go func() {
			r.conn.Write(buf.b)
			r.send(v)
		}()
		r.expect(wire.CmdVersion)
		r.expect(wire.CmdWTxIdRelay)
		r.expect(wire.CmdSendAddrV2)
		r.expect(wire.CmdVerAck)
		r.conn.Close()
		if got := <-done; got != peer.ReasonEOF && got != peer.ReasonReadError {
			t.Fatalf("Run returned %q", got)
		}
	})
}

type byteSink struct{ b []byte }

func (s *byteSink) Write(p []byte) (int, error) { s.b = append(s.b, p...); return len(p), nil }

// heldExecutor keeps submitted jobs until the test runs them.
type heldExecutor struct{ jobs chan func() }

func (e *heldExecutor) Submit(job func()) bool {
	select {
	case e.jobs <- job:
		return true
	default:
		return false
	}
}

// TestDriverPingsWhileValidating: while a transaction's check waits on the
// executor (state standby/validating), the peer still answers pings; the
// answer arrives as an event and ends the inner machine.
func TestDriverPingsWhileValidating(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testDriverConfig()
		exec := &heldExecutor{jobs: make(chan func(), 4)}
		cfg.Exec = exec
		var reports []peer.Report
		cfg.OnReport = func(_ *Peer, r peer.Report) { reports = append(reports, r) }
		r, p, done := startPeer(t, context.Background(), cfg, false)
		r.handshakeOutbound()

		tx := wire.NewMsgTx(2)
		tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: 3}, nil, wire.TxWitness{{1, 2}}))
		tx.AddTxOut(wire.NewTxOut(5000, []byte{0x51}))
		r.send(tx)
		synctest.Wait()
		if s := p.Snapshot().State; s != "standby/validating" {
			t.Fatalf("state %q after a tx, want standby/validating", s)
		}
		for nonce := uint64(10); nonce < 13; nonce++ {
			r.send(wire.NewMsgPing(nonce))
			if pong := r.expect(wire.CmdPong).(*wire.MsgPong); pong.Nonce != nonce {
				t.Fatalf("pong %d, want %d", pong.Nonce, nonce)
			}
		}
		synctest.Wait()
		if s := p.Snapshot().State; s != "standby/validating" {
			t.Fatalf("state %q while the check is held, want standby/validating", s)
		}
		(<-exec.jobs)() // the executor answers
		synctest.Wait()
		if s := p.Snapshot().State; s != "standby" {
			t.Fatalf("state %q after the answer, want standby", s)
		}
		if len(reports) != 1 || reports[0].Kind != peer.ReportSeenTx || reports[0].TxID != tx.TxHash() || reports[0].WTxID != tx.WitnessHash() {
			t.Fatalf("reports %+v, want one seen-tx report for %v", reports, tx.TxHash())
		}
		p.Disconnect(peer.ReasonOperator)
		<-done
	})
}

// TestDriverRelayQueueNeverBlocks: a peer whose loop is stuck (its remote
// does not read) refuses relay batches once its queue is full instead of
// blocking the caller.
func TestDriverRelayQueueNeverBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, p, done := startPeer(t, context.Background(), testDriverConfig(), false)
		// The version write is stuck: the remote never reads.
		accepted := 0
		for range RelayQueue + 5 {
			if p.Relay(nil) {
				accepted++
			}
		}
		if accepted != RelayQueue {
			t.Fatalf("accepted %d batches, want the queue depth %d", accepted, RelayQueue)
		}
		p.Disconnect(peer.ReasonOperator)
		<-done
	})
}

// After some work, a peer idle for IdleHandoff moves its loop to a fresh
// goroutine (whose stack is small again) and goes on serving there: once
// per idle period, never while busy, and the old goroutine is gone (the
// bubble fails the test if any goroutine outlives it).
func TestDriverIdleHandoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _, done := startPeer(t, context.Background(), testDriverConfig(), false)
		r.expect(wire.CmdVersion)
		v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 5, 0)
		r.send(v)
		r.expect(wire.CmdWTxIdRelay)
		r.expect(wire.CmdSendAddrV2)
		r.expect(wire.CmdVerAck)
		r.send(wire.NewMsgVerAck())
		ping := r.expect(wire.CmdPing).(*wire.MsgPing)
		r.send(wire.NewMsgPong(ping.Nonce))

		for i := range 3 {
			time.Sleep(10 * IdleHandoff) // idle: one handoff
			r.send(wire.NewMsgPing(uint64(100 + i)))
			if pong := r.expect(wire.CmdPong).(*wire.MsgPong); pong.Nonce != uint64(100+i) {
				t.Fatalf("after idle period %d: pong %d, want %d", i, pong.Nonce, 100+i)
			}
		}
		// Busy: messages closer together than IdleHandoff cause none.
		for i := range 5 {
			time.Sleep(IdleHandoff / 4)
			r.send(wire.NewMsgPing(uint64(200 + i)))
			r.expect(wire.CmdPong)
		}
		r.conn.Close()
		<-done
		if n := r.seen.handoffs.Load(); n != 3 {
			t.Fatalf("%d handoffs, want 3 (one per idle period after work)", n)
		}
	})
}
