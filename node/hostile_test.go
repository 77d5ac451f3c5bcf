package node

// Hostile peers at scale, each case with its peak memory: slowloris before
// and after the handshake, a peer that never reads, 1,000 connections from
// one address, and the heavy rows of the bad-input table (4 MB junk,
// oversized headers, 50,001-entry inv and getdata). Throughout each case a
// good peer from another /24 keeps pinging and must keep getting its pongs;
// afterwards the goroutine count is back to where it was.
//
// The memory figures are the Go heap objects and stacks of the whole test
// process (node and test clients), sampled every 2 ms by internal/memwatch;
// `go test -v -run 'Slowloris|NeverReads|Thousand|HeavyInput' ./node`
// prints them. The bounds asserted are generous (tens of MB) so that the
// tests are not flaky, yet far below what a buffered 4 MB message per peer
// or an allocation of what a header claims would cost.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/memwatch"
	"github.com/peerd/peerd/internal/wireio"
	"github.com/peerd/peerd/mempool"
	"github.com/peerd/peerd/peer"
)

const mb = 1 << 20

// watchMemory starts sampling; the returned function stops, logs the peak
// as "peak memory, what: ..." and fails the test when the peak rose more
// than limit above the baseline. Call it once the case is over.
func watchMemory(t *testing.T, what string, limit uint64) func() memwatch.Report {
	t.Helper()
	s := memwatch.Start()
	t.Cleanup(func() { s.Stop() }) // when the case fails half way
	return func() memwatch.Report {
		t.Helper()
		r := s.Stop()
		t.Logf("peak memory, %s: %v", what, r)
		if r.Growth() > limit {
			t.Errorf("%s: memory rose %s above its baseline, more than the %s allowed",
				what, memwatch.MB(r.Growth()), memwatch.MB(limit))
		}
		return r
	}
}

// rawDial connects to addr from the loopback address src. It returns an
// error instead of failing the test, for use on many goroutines.
func rawDial(src, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	return d.Dial("tcp", addr)
}

// isClosed reports whether err is what reading from a connection the node
// closed returns.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		err != nil && strings.Contains(err.Error(), "connection reset")
}

// waitClosed reads and discards until the node closes conn, for at most d;
// it returns nil on a close and the error otherwise.
func waitClosed(conn net.Conn, d time.Duration) error {
	conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn)
	if err == nil || isClosed(err) {
		return nil
	}
	return err
}

// tryHandshake is testPeer.handshake for other goroutines: the client side
// of the handshake, then the node's first ping answered. A node that
// refused the connection makes it return the read or write error.
func tryHandshake(conn net.Conn) error {
	net := chaincfg.RegressionNetParams.Net
	r, w := wireio.NewReader(conn, net), wireio.NewWriter(conn, net)
	v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 0x5eed, 0)
	v.Services = wire.SFNodeWitness
	v.UserAgent = "/hostile:1.0/"
	for _, m := range []wire.Message{v, wire.NewMsgWTxIdRelay(), wire.NewMsgSendAddrV2(), wire.NewMsgVerAck()} {
		if err := w.Write(m); err != nil {
			return err
		}
	}
	for {
		msg, err := r.Next()
		if err != nil {
			return err
		}
		if ping, ok := msg.(*wire.MsgPing); ok {
			return w.Write(wire.NewMsgPong(ping.Nonce))
		}
	}
}

// trickle writes b to conn one byte every interval until it is all out, a
// write fails or stop is closed, and returns how many bytes went out.
func trickle(conn net.Conn, b []byte, every time.Duration, stop <-chan struct{}) int {
	t := time.NewTicker(every)
	defer t.Stop()
	for i := range b {
		if _, err := conn.Write(b[i : i+1]); err != nil {
			return i
		}
		select {
		case <-t.C:
		case <-stop:
			return i + 1
		}
	}
	return len(b)
}

// pinger is a good peer on its own goroutines: it pings the node, waits for
// each pong, and pings again, answering the node's pings and collecting the
// inventory announced to it, until the test ends.
type pinger struct {
	p     *testPeer
	wmu   sync.Mutex // serializes writes
	pongs atomic.Int64
	pong  chan uint64
	stop  chan struct{}
	ran   chan struct{} // closed when run returns
	read  chan struct{} // closed when readLoop returns
	once  sync.Once
	err   error // the first failure; read after ran and read are closed
	errMu sync.Mutex

	hmu   sync.Mutex
	heard map[chainhash.Hash]bool
}

// startPinger connects from src, completes the handshake (wtxidrelay) and
// starts pinging.
func startPinger(t *testing.T, addr, src string) *pinger {
	t.Helper()
	p := dialFrom(t, src, addr)
	p.handshake()
	p.conn.SetDeadline(time.Time{})
	g := &pinger{p: p, pong: make(chan uint64, 1), stop: make(chan struct{}),
		ran: make(chan struct{}), read: make(chan struct{}), heard: map[chainhash.Hash]bool{}}
	go g.readLoop()
	go g.run()
	t.Cleanup(func() { g.finish() })
	return g
}

func (g *pinger) fail(err error) {
	g.errMu.Lock()
	if g.err == nil {
		g.err = err
	}
	g.errMu.Unlock()
}

func (g *pinger) write(m wire.Message) error {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	g.p.conn.SetWriteDeadline(time.Now().Add(20 * time.Second))
	return g.p.w.Write(m)
}

func (g *pinger) readLoop() {
	defer close(g.read)
	for {
		msg, err := g.p.r.Next()
		var soft *wireio.SoftError
		switch {
		case errors.As(err, &soft):
			g.fail(fmt.Errorf("the node sent a malformed message: %v", err))
			continue
		case err != nil:
			select {
			case <-g.stop:
			default:
				g.fail(fmt.Errorf("good peer lost its connection: %v", err))
			}
			return
		}
		switch m := msg.(type) {
		case *wire.MsgPing:
			if err := g.write(wire.NewMsgPong(m.Nonce)); err != nil {
				g.fail(err)
			}
		case *wire.MsgPong:
			select {
			case g.pong <- m.Nonce:
			default:
				g.fail(fmt.Errorf("unexpected pong %d", m.Nonce))
			}
		case *wire.MsgInv:
			g.hmu.Lock()
			for _, iv := range m.InvList {
				g.heard[iv.Hash] = true
			}
			g.hmu.Unlock()
		}
	}
}

func (g *pinger) run() {
	defer close(g.ran)
	for nonce := uint64(1); ; nonce++ {
		if err := g.write(wire.NewMsgPing(nonce)); err != nil {
			g.fail(err)
			return
		}
		select {
		case got := <-g.pong:
			if got != nonce {
				g.fail(fmt.Errorf("pong %d, want %d", got, nonce))
				return
			}
			g.pongs.Add(1)
		case <-time.After(20 * time.Second):
			g.fail(fmt.Errorf("no pong to ping %d in 20 s", nonce))
			return
		case <-g.read:
			return
		case <-g.stop:
			return
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-g.stop:
			return
		}
	}
}

// finish stops the pinger and returns its first failure.
func (g *pinger) finish() error {
	g.once.Do(func() {
		close(g.stop)
		<-g.ran
		g.p.conn.Close()
		<-g.read
	})
	g.errMu.Lock()
	defer g.errMu.Unlock()
	return g.err
}

// waitPongs waits until k more pongs than now have arrived, failing the
// test if the pinger failed.
func (g *pinger) waitPongs(t *testing.T, k int64) {
	t.Helper()
	want := g.pongs.Load() + k
	waitFor(t, fmt.Sprintf("%d more pongs for the good peer", k), func() bool {
		g.errMu.Lock()
		err := g.err
		g.errMu.Unlock()
		if err != nil {
			t.Fatalf("good peer: %v", err)
		}
		return g.pongs.Load() >= want
	})
}

// check stops the pinger and fails the test if it saw an error or no pong.
func (g *pinger) check(t *testing.T) {
	t.Helper()
	if err := g.finish(); err != nil {
		t.Errorf("good peer: %v", err)
	}
	if g.pongs.Load() == 0 {
		t.Error("good peer got no pong")
	}
	t.Logf("good peer: %d pongs", g.pongs.Load())
}

// heardAll reports whether every hash was announced to the pinger.
func (g *pinger) heardAll(hs []chainhash.Hash) bool {
	g.hmu.Lock()
	defer g.hmu.Unlock()
	for _, h := range hs {
		if !g.heard[h] {
			return false
		}
	}
	return true
}

// peersFrom counts the node's peers whose remote IP is ip, and how many
// of them have not completed their handshake.
func peersFrom(n *testNode, ip string) (all, pending int) {
	for _, s := range n.Peers() {
		if host, _, _ := net.SplitHostPort(s.Addr); host == ip {
			all++
			if !strings.HasPrefix(s.State, "standby") {
				pending++
			}
		}
	}
	return all, pending
}

// spread returns the i-th loopback address of a block starting at
// 127.b.0.1, eight per /24 (the most unfinished handshakes one /24 may
// have).
func spread(b, i int) string { return fmt.Sprintf("127.%d.%d.%d", b, i/8, i%8+1) }

// TestSlowlorisBeforeVersion: 64 peers (eight per /24) each send their
// version message one byte a second. None completes it: the handshake
// timeout disconnects every one, while a good peer keeps getting pongs.
func TestSlowlorisBeforeVersion(t *testing.T) {
	const peers = 64
	cfg := testConfig()
	cfg.Peer.Machine.Handshake.Timeout = 2 * time.Second
	n := startNode(t, cfg)
	good := startPinger(t, n.addr, "127.1.0.1")
	base := runtime.NumGoroutine()
	done := watchMemory(t, "slowloris before version", 16*mb)

	v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 1, 0)
	v.UserAgent = "/slowloris:1.0/"
	version := encode(t, v)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	sent := make([]int, peers)
	closed := make([]error, peers)
	for i := range peers {
		conn, err := rawDial(spread(20, i), n.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		wg.Add(2)
		go func() { defer wg.Done(); sent[i] = trickle(conn, version, time.Second, stop) }()
		go func() { defer wg.Done(); closed[i] = waitClosed(conn, 30*time.Second) }()
	}
	waitFor(t, "every slowloris to be accepted", func() bool { return n.PeerCount() == peers+1 })
	good.waitPongs(t, 5)
	waitFor(t, "the handshake timeout to drop them", func() bool { return n.PeerCount() == 1 })
	close(stop)
	wg.Wait()
	done()
	for i := range peers {
		if closed[i] != nil {
			t.Errorf("slowloris %d: %v, want the node to close the connection", i, closed[i])
		}
		if sent[i] >= len(version) {
			t.Errorf("slowloris %d sent its whole version (%d bytes) before being dropped", i, sent[i])
		}
	}
	good.check(t)
	settleGoroutines(t, base)
}

// TestSlowlorisAfterVerack: 64 peers complete the handshake, then each
// trickles one message one byte a second: a tx whose header claims
// 3,999,999 bytes, an inv claiming 50,000 entries, a ping, or an unknown
// command claiming 4,000,000 bytes. The bytes buy nothing: the buffer
// grows only with what arrives, and with no whole message for the idle
// timeout each is disconnected; the good peer's pongs never stop.
func TestSlowlorisAfterVerack(t *testing.T) {
	const peers = 64
	cfg := testConfig()
	cfg.Peer.Machine.Handshake.Timeout = time.Second
	cfg.Peer.Machine.IdleTimeout = 3 * time.Second
	n := startNode(t, cfg)
	good := startPinger(t, n.addr, "127.1.0.1")
	base := runtime.NumGoroutine()
	done := watchMemory(t, "slowloris after verack", 16*mb)

	net := wire.TestNet
	msgs := [][]byte{
		append(header(net, "tx", 3_999_999), bytes.Repeat([]byte{2}, 64)...),
		append(header(net, "inv", 3+50_000*36), invOf(2, wire.InvTypeTx)...),
		encode(t, wire.NewMsgPing(7)),
		append(header(net, "slowjunk", wireio.MaxPayload), bytes.Repeat([]byte{0xab}, 64)...),
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	closed := make([]error, peers)
	for i := range peers {
		p := dialFrom(t, spread(21, i), n.addr)
		p.handshake()
		wg.Add(2)
		go func() { defer wg.Done(); trickle(p.conn, msgs[i%len(msgs)], time.Second, stop) }()
		go func() { defer wg.Done(); closed[i] = waitClosed(p.conn, 30*time.Second) }()
	}
	good.waitPongs(t, 5) // each handshake above ended in standby
	waitFor(t, "the idle timeout to drop them", func() bool { return n.PeerCount() == 1 })
	close(stop)
	wg.Wait()
	done()
	for i, err := range closed {
		if err != nil {
			t.Errorf("slowloris %d: %v, want the node to close the connection", i, err)
		}
	}
	good.check(t)
	settleGoroutines(t, base)
}

// bigTx is a transaction of about size bytes, nearly all witness (weight
// stays under the standard 400,000); i makes it unique.
func bigTx(i, size int) *wire.MsgTx {
	tx := wire.NewMsgTx(2)
	prev := chainhash.Hash{byte(i), byte(i >> 8), 0xb1, 0x6}
	tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: prev}, nil, wire.TxWitness{bytes.Repeat([]byte{byte(i)}, size)}))
	tx.AddTxOut(wire.NewTxOut(10_000, append([]byte{0x00, 0x14}, make([]byte, 20)...)))
	return tx
}

// TestNeverReadingPeerAtNode: a peer that completes the handshake and then
// never reads asks for 128 transactions of 390 kB (50 MB) it was announced,
// while the operator keeps sending transactions and pinging every peer.
// The node writes inline with a write deadline and queues nothing for it:
// the write timeout disconnects it, memory stays flat, and the good peer
// hears of every transaction and keeps getting pongs.
func TestNeverReadingPeerAtNode(t *testing.T) {
	pool, err := mempool.Open(mempool.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	cfg := testConfig()
	cfg.Mempool = pool
	cfg.Peer.WriteTimeout = time.Second
	n := startNode(t, cfg)
	a := NewAdmin(n.Node, 100, func() {})
	good := startPinger(t, n.addr, "127.1.0.1")
	base := runtime.NumGoroutine()

	stuck := dialFrom(t, "127.3.0.1", n.addr)
	stuck.handshake()
	// Keep the client's receive window small, so the node's writes stall
	// after a few megabytes of socket buffer rather than tens.
	if err := stuck.conn.(*net.TCPConn).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	const big, size = 128, 390_000
	wtxids := make([]chainhash.Hash, big)
	for i := range big {
		tx := bigTx(i, size)
		if _, err := pool.Add(tx); err != nil {
			t.Fatalf("big tx %d: %v", i, err)
		}
		wtxids[i] = tx.WitnessHash()
	}
	waitFor(t, "the good peer to hear of the big transactions", func() bool { return good.heardAll(wtxids) })

	// Writing the 50 MB asked for would need 50 MB; what the node holds
	// is the message being written (and the garbage of those that went
	// into the socket buffers).
	done := watchMemory(t, "never-reading peer", 32*mb)
	gd := wire.NewMsgGetData()
	for i := range wtxids {
		gd.AddInvVect(wire.NewInvVect(peer.InvTypeWTx, &wtxids[i]))
	}
	stuck.send(gd) // and never read again
	var small []chainhash.Hash
	seq := 0
	waitFor(t, "the write timeout to drop the never-reading peer", func() bool {
		seq++
		tx := testTx(byte(seq))
		tx.TxIn[0].PreviousOutPoint.Hash[2] = byte(seq >> 8)
		tx.TxIn[0].PreviousOutPoint.Hash[3] = 0x5e
		if _, err := a.SendRawTransaction(raw(t, tx)); err != nil {
			t.Fatalf("small tx %d: %v", seq, err)
		}
		small = append(small, tx.WitnessHash())
		a.Ping()
		all, _ := peersFrom(n, "127.3.0.1")
		return all == 0
	})
	waitFor(t, "the good peer to hear of every small transaction", func() bool { return good.heardAll(small) })
	good.waitPongs(t, 3)
	done()
	t.Logf("%d transactions sent while the peer was stuck; %d relay batches refused by full peer queues",
		len(small), n.relayDropped.Load())
	good.check(t)
	stuck.conn.Close()
	settleGoroutines(t, base)
}

// TestThousandConnectionsFromOneAddress opens 1,000 connections at once
// from 127.0.0.1.
//
// Silent ones: at most MaxPendingPerSubnet (8) unfinished handshakes from
// 127.0.0.0/24 are accepted at once, the other 992 are closed at accept
// (the 8 would go at the handshake timeout, TestSilentPeerTimesOut; here
// it is long, so that the test can look at them). With MaxPerAddress 4 and
// clients that complete the handshake, exactly 4 are accepted.
//
// Meanwhile a good peer from another /24 keeps getting pongs and a new
// peer from another /24 completes its handshake; memory stays bounded and
// the goroutines return to their count before.
func TestThousandConnectionsFromOneAddress(t *testing.T) {
	const conns = 1000
	if testing.Short() {
		t.Skip("opens 2,000 connections")
	}
	t.Run("unfinished handshakes per /24", func(t *testing.T) {
		cfg := testConfig()
		cfg.Peer.Machine.Handshake.Timeout = time.Minute
		n := startNode(t, cfg)
		good := startPinger(t, n.addr, "127.1.0.1")
		base := runtime.NumGoroutine()
		done := watchMemory(t, "1,000 silent connections from one address", 32*mb)

		var maxPending atomic.Int64
		watchStop := make(chan struct{})
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			for {
				if _, p := peersFrom(n, "127.0.0.1"); int64(p) > maxPending.Load() {
					maxPending.Store(int64(p))
				}
				select {
				case <-watchStop:
					return
				case <-time.After(time.Millisecond):
				}
			}
		}()
		var closedCount, dialErrs atomic.Int64
		var wg sync.WaitGroup
		var mu sync.Mutex
		var all []net.Conn
		for range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := rawDial("127.0.0.1", n.addr)
				if err != nil {
					dialErrs.Add(1)
					return
				}
				mu.Lock()
				all = append(all, c)
				mu.Unlock()
				if waitClosed(c, 30*time.Second) == nil {
					closedCount.Add(1)
				}
			}()
		}
		waitFor(t, "992 connections refused at accept", func() bool {
			return closedCount.Load()+dialErrs.Load() >= conns-DefaultMaxPendingPerSubnet
		})
		held, pending := peersFrom(n, "127.0.0.1")
		if held != DefaultMaxPendingPerSubnet || pending != held {
			t.Errorf("after the refusals the node holds %d connections from 127.0.0.1 (%d unfinished), want %d",
				held, pending, DefaultMaxPendingPerSubnet)
		}
		// The limit is per /24: 127.0.0.2 is refused too (an accepted
		// silent peer would wait for the one-minute handshake timeout),
		// another /24 is not.
		refused, err := rawDial("127.0.0.2", n.addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := waitClosed(refused, 10*time.Second); err != nil {
			t.Errorf("127.0.0.2 while 8 are pending: %v, want refused", err)
		}
		refused.Close()
		other := dialFrom(t, "127.2.0.1", n.addr)
		other.handshake()
		other.conn.Close()
		good.waitPongs(t, 5)
		refusedCount := closedCount.Load()
		mu.Lock()
		for _, c := range all {
			c.Close() // the 8 go; the others are closed already
		}
		mu.Unlock()
		wg.Wait()
		waitFor(t, "the 8 to go", func() bool { return n.PeerCount() == 1 })
		close(watchStop)
		<-watched
		done()
		if dialErrs.Load() > 0 {
			t.Errorf("%d dials failed", dialErrs.Load())
		}
		if m := maxPending.Load(); m > DefaultMaxPendingPerSubnet {
			t.Errorf("%d unfinished handshakes from 127.0.0.1 at once, want at most %d", m, DefaultMaxPendingPerSubnet)
		}
		t.Logf("%d connections: at most %d unfinished at once; %d refused at accept", conns, maxPending.Load(), refusedCount)
		good.check(t)
		settleGoroutines(t, base)
	})

	t.Run("per-address limit", func(t *testing.T) {
		const limit = 4
		cfg := testConfig()
		cfg.MaxPerAddress = limit
		n := startNode(t, cfg)
		good := startPinger(t, n.addr, "127.1.0.1")
		base := runtime.NumGoroutine()
		done := watchMemory(t, "1,000 connections from one address, 4 allowed", 32*mb)

		var accepted, refused, dialErrs atomic.Int64
		var wg sync.WaitGroup
		release := make(chan struct{})
		for range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := rawDial("127.0.0.1", n.addr)
				if err != nil {
					dialErrs.Add(1)
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				if err := tryHandshake(c); err != nil {
					refused.Add(1)
					return
				}
				accepted.Add(1)
				<-release // hold the connection
			}()
		}
		waitFor(t, "every connection answered", func() bool {
			return accepted.Load()+refused.Load()+dialErrs.Load() == conns
		})
		if held, _ := peersFrom(n, "127.0.0.1"); held != limit || accepted.Load() != limit {
			t.Errorf("%d connections accepted, node holds %d from 127.0.0.1; want %d", accepted.Load(), held, limit)
		}
		// Another address of the same /24 is not limited by 127.0.0.1's
		// count.
		other := dialFrom(t, "127.0.0.2", n.addr)
		other.handshake()
		other.conn.Close()
		good.waitPongs(t, 5)
		close(release)
		wg.Wait()
		waitFor(t, "the held connections to go", func() bool { all, _ := peersFrom(n, "127.0.0.1"); return all == 0 })
		done()
		if dialErrs.Load() > 0 {
			t.Errorf("%d dials failed", dialErrs.Load())
		}
		t.Logf("%d connections: %d accepted, %d refused at accept", conns, accepted.Load(), refused.Load())
		good.check(t)
		settleGoroutines(t, base)
	})
}

// TestHeavyInputMemory measures the heavy rows of the bad-input table
// (TestBadInput and TestJunkMessages check the reactions): what the node
// allocates for them, next to what the peer sent or claimed.
func TestHeavyInputMemory(t *testing.T) {
	regtest := wire.TestNet
	cases := []struct {
		name    string
		times   int
		msg     []byte
		claimed int // bytes announced per message, for the allocation check
		closes  bool
		short   bool // runs under -short
	}{
		{"80 junk messages of 4 MB", 80, frame(regtest, []byte("badmsg"), bytes.Repeat([]byte{0xab}, wireio.MaxPayload), false),
			wireio.MaxPayload, false, false},
		{"header claiming 4,000,001 bytes, 100 peers", 100, header(regtest, "tx", wireio.MaxPayload+1), wireio.MaxPayload + 1, true, true},
		{"tx header claiming 3,999,999 bytes, then 1 kB and a close, 100 peers", 100,
			append(header(regtest, "tx", 3_999_999), make([]byte, 1000)...), 3_999_999, true, true},
		{"inv of 50,001 entries, 20 peers", 20, frame(regtest, []byte("inv"), invOf(50_001, wire.InvTypeTx), false), 9 + 50_001*36, true, true},
		{"getdata of 50,001 entries, 20 peers", 20, frame(regtest, []byte("getdata"), invOf(50_001, wire.InvTypeTx), false), 9 + 50_001*36, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if testing.Short() && !c.short {
				t.Skip("sends 320 MB")
			}
			n := startNode(t, testConfig())
			good := startPinger(t, n.addr, "127.1.0.1")
			base := runtime.NumGoroutine()
			done := watchMemory(t, c.name, 24*mb)
			if c.closes {
				for i := range c.times {
					p := dialFrom(t, spread(40+i/200, i%200), n.addr)
					p.handshake()
					p.rawMayFail(c.msg)
					if c.claimed == 3_999_999 {
						p.conn.(*net.TCPConn).CloseWrite() // the rest never comes
					}
					p.expectClosed()
					p.conn.Close()
				}
			} else {
				p := dialFrom(t, "127.4.0.1", n.addr)
				p.handshake()
				for range c.times {
					p.raw(c.msg)
				}
				p.pingPong(80)
			}
			good.waitPongs(t, 3)
			r := done()
			total := uint64(c.times) * uint64(c.claimed)
			t.Logf("%d × %d bytes claimed (%s); allocated %s", c.times, c.claimed, memwatch.MB(total), memwatch.MB(r.Allocated))
			if r.Allocated > total/4 {
				t.Errorf("allocated %s for %s claimed: the node allocated what headers claimed", memwatch.MB(r.Allocated), memwatch.MB(total))
			}
			good.check(t)
			settleGoroutines(t, base)
		})
	}
}
