package btcdtest_test

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/peerd/peerd/internal/btcdtest"
)

func TestMain(m *testing.M) { btcdtest.Main(m) }

// miningArgs lets a node answer generate.
var miningArgs = btcdtest.Options{Args: []string{"--miningaddr=" + btcdtest.MiningAddr()}}

func TestSingleNode(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	t.Parallel()
	bin := btcdtest.Binary(t)

	t0 := time.Now()
	n := btcdtest.Start(t, bin, miningArgs)
	t.Logf("btcd up in %v: p2p %s rpc %s log %s", time.Since(t0), n.P2PAddr(), n.RPCAddr(), n.LogPath())

	if h, err := n.GetBlockCount(); err != nil || h != 0 {
		t.Fatalf("GetBlockCount = %d, %v; want 0", h, err)
	}
	hashes, err := n.Generate(3)
	if err != nil {
		t.Fatalf("Generate(3): %v", err)
	}
	if len(hashes) != 3 {
		t.Fatalf("Generate(3) returned %d hashes: %v", len(hashes), hashes)
	}
	if h, err := n.GetBlockCount(); err != nil || h != 3 {
		t.Fatalf("GetBlockCount = %d, %v; want 3", h, err)
	}
	if best, err := n.GetBestBlockHash(); err != nil || best != hashes[2] {
		t.Fatalf("GetBestBlockHash = %q, %v; want %q", best, err, hashes[2])
	}
	if pool, err := n.GetRawMempool(); err != nil || len(pool) != 0 {
		t.Fatalf("GetRawMempool = %v, %v; want empty", pool, err)
	}
	if ps, err := n.GetPeerInfo(); err != nil || len(ps) != 0 {
		t.Fatalf("GetPeerInfo = %v, %v; want no peers", ps, err)
	}

	// btcd errors come back typed.
	_, err = n.Call("nosuchmethod")
	var rpcErr *btcdtest.RPCError
	if !errors.As(err, &rpcErr) || rpcErr.Code != -32601 {
		t.Fatalf("Call(nosuchmethod) error = %v; want *RPCError with code -32601", err)
	}
	if _, err := n.Generate(0); !errors.As(err, &rpcErr) {
		t.Fatalf("Generate(0) error = %v; want *RPCError", err)
	}

	// The log file exists and is being written.
	if fi, err := os.Stat(n.LogPath()); err != nil || fi.Size() == 0 {
		t.Fatalf("btcd log %s: %v (size %d)", n.LogPath(), err, sizeOf(fi))
	}

	pid := n.PID()
	t0 = time.Now()
	if err := n.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("btcd stopped in %v", time.Since(t0))
	if err := n.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	select {
	case <-n.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	// The process is gone (reaped, so not even a zombie remains) ...
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("kill(%d, 0) after Stop = %v; want ESRCH", pid, err)
	}
	// ... its RPC no longer answers and its P2P port is free again.
	if _, err := n.GetBlockCount(); err == nil {
		t.Fatal("RPC still answers after Stop")
	}
	l, err := net.Listen("tcp", n.P2PAddr())
	if err != nil {
		t.Fatalf("P2P port still busy after Stop: %v", err)
	}
	l.Close()
}

func sizeOf(fi os.FileInfo) int64 {
	if fi == nil {
		return -1
	}
	return fi.Size()
}

// TestTwoNodes connects two btcd nodes with --connect and checks that each
// sees the other in getpeerinfo and that blocks propagate.
func TestTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	t.Parallel()
	bin := btcdtest.Binary(t)

	t0 := time.Now()
	a := btcdtest.Start(t, bin, miningArgs)
	b := btcdtest.Start(t, bin, btcdtest.Options{Args: []string{"--connect=" + a.P2PAddr()}})
	t.Logf("two btcd nodes up in %v", time.Since(t0))

	t0 = time.Now()
	bPeers := b.WaitPeers(t, 15*time.Second, func(ps []btcdtest.PeerInfo) bool {
		return len(ps) == 1 && !ps[0].Inbound && ps[0].Addr == a.P2PAddr()
	})
	toA := bPeers[0]
	// A sees B's outbound connection from B's side of the socket.
	aPeers := a.WaitPeers(t, 15*time.Second, func(ps []btcdtest.PeerInfo) bool {
		return len(ps) == 1 && ps[0].Inbound && ps[0].Addr == toA.AddrLocal
	})
	fromB := aPeers[0]
	t.Logf("connected in %v\n  B->A: %v\n  A<-B: %v", time.Since(t0), toA, fromB)

	for _, p := range []btcdtest.PeerInfo{toA, fromB} {
		if p.Version != 70016 {
			t.Errorf("peer %s version = %d; want 70016", p.Addr, p.Version)
		}
		if !strings.Contains(p.SubVer, "btcd") {
			t.Errorf("peer %s subver = %q; want a btcd user agent", p.Addr, p.SubVer)
		}
		flags, err := p.ServiceFlags()
		if err != nil || flags&1 == 0 { // NODE_NETWORK
			t.Errorf("peer %s services %q = %#x, %v; want NODE_NETWORK", p.Addr, p.Services, flags, err)
		}
	}

	hashes, err := a.Generate(2)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	waitFor(t, 15*time.Second, "B to sync A's blocks", func() bool {
		best, err := b.GetBestBlockHash()
		return err == nil && best == hashes[1]
	})
}

// TestAddNodeDisconnect exercises addnode onetry and node disconnect.
func TestAddNodeDisconnect(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	t.Parallel()
	bin := btcdtest.Binary(t)
	a := btcdtest.Start(t, bin, btcdtest.Options{})
	b := btcdtest.Start(t, bin, btcdtest.Options{})

	if err := b.AddNode(a.P2PAddr(), "onetry"); err != nil {
		t.Fatalf("AddNode onetry: %v", err)
	}
	b.WaitPeers(t, 15*time.Second, func(ps []btcdtest.PeerInfo) bool {
		return slices.ContainsFunc(ps, func(p btcdtest.PeerInfo) bool { return p.Addr == a.P2PAddr() })
	})
	a.WaitPeers(t, 15*time.Second, func(ps []btcdtest.PeerInfo) bool { return len(ps) == 1 })

	if err := b.DisconnectNode(a.P2PAddr()); err != nil {
		t.Fatalf("DisconnectNode: %v", err)
	}
	noPeers := func(ps []btcdtest.PeerInfo) bool { return len(ps) == 0 }
	b.WaitPeers(t, 15*time.Second, noPeers)
	a.WaitPeers(t, 15*time.Second, noPeers)

	// Connect again with "node connect ... perm".
	if err := b.ConnectNode(a.P2PAddr(), true); err != nil {
		t.Fatalf("ConnectNode perm: %v", err)
	}
	a.WaitPeers(t, 15*time.Second, func(ps []btcdtest.PeerInfo) bool { return len(ps) == 1 })
	// btcd refuses to disconnect a persistent peer.
	if err := b.DisconnectNode(a.P2PAddr()); err == nil {
		t.Error("DisconnectNode of a persistent peer succeeded; want an error")
	}
	if err := b.AddNode(a.P2PAddr(), "remove"); err != nil {
		t.Fatalf("AddNode remove: %v", err)
	}
	b.WaitPeers(t, 15*time.Second, noPeers)
}

// waitFor polls cond every 50 ms until it holds or fails the test.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSpendCoinbase: a signed spend of a mature coinbase is accepted by btcd.
func TestSpendCoinbase(t *testing.T) {
	n := btcdtest.Start(t, btcdtest.Binary(t), btcdtest.Options{Args: []string{"--miningaddr=" + btcdtest.MiningAddr()}})
	if _, err := n.Generate(101); err != nil {
		t.Fatal(err)
	}
	cb, err := n.Coinbase(1)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := btcdtest.SpendCoinbase(cb, 10_000, 0xfffffffe)
	if err != nil {
		t.Fatal(err)
	}
	var txid string
	raw, err := n.Call("sendrawtransaction", btcdtest.TxHex(tx))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &txid); err != nil || txid != tx.TxHash().String() {
		t.Fatalf("sendrawtransaction = %s, %v; want %v", raw, err, tx.TxHash())
	}
	ids, err := n.GetRawMempool()
	if err != nil || len(ids) != 1 || ids[0] != txid {
		t.Fatalf("mempool %v, %v", ids, err)
	}
}
