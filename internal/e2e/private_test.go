package e2e

import (
	"encoding/json"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/btcdtest"
	"github.com/peerd/peerd/internal/socks5test"
	"github.com/peerd/peerd/internal/wireio"
)

// invWatcher is the project's own test client as one more long-lived,
// inbound peer of peerd: it records when each transaction announcement
// reached it, answering pings, until the test ends.
type invWatcher struct {
	mu   sync.Mutex
	seen map[chainhash.Hash]time.Time // first inv of each hash (txid or wtxid)
}

func watchInvs(t *testing.T, addr string) *invWatcher {
	t.Helper()
	p := dialWTxIDPeer(t, addr)
	w := &invWatcher{seen: map[chainhash.Hash]time.Time{}}
	done := make(chan struct{})
	t.Cleanup(func() { p.conn.Close(); <-done })
	go func() {
		defer close(done)
		for {
			msg, err := p.r.Next()
			if err != nil {
				if _, soft := err.(*wireio.SoftError); soft {
					continue
				}
				return
			}
			switch m := msg.(type) {
			case *wire.MsgInv:
				now := time.Now()
				w.mu.Lock()
				for _, iv := range m.InvList {
					if _, ok := w.seen[iv.Hash]; !ok {
						w.seen[iv.Hash] = now
					}
				}
				w.mu.Unlock()
			case *wire.MsgPing:
				p.w.Write(wire.NewMsgPong(m.Nonce))
			}
		}
	}()
	return w
}

// first returns when the watcher first heard of any of hs.
func (w *invWatcher) first(hs ...chainhash.Hash) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var first time.Time
	for _, h := range hs {
		if at, ok := w.seen[h]; ok && (first.IsZero() || at.Before(first)) {
			first = at
		}
	}
	return first, !first.IsZero()
}

// privInfo is getprivatebroadcastinfo's entry for one transaction, the
// fields the test reads.
type privInfo struct {
	TxID      string  `json:"txid"`
	State     string  `json:"state"`
	Confirmed float64 `json:"confirmed"`
	Peers     []struct {
		Address  string `json:"address"`
		Sent     int64  `json:"sent"`
		Received int64  `json:"received"`
	} `json:"peers"`
	Attempts []struct {
		Address string `json:"address"`
		Outcome string `json:"outcome"`
	} `json:"attempts"`
	Echoes []struct {
		Addr string `json:"addr"`
	} `json:"echoes"`
}

func (p *peerd) privateInfo(t *testing.T, txid string) (privInfo, bool) {
	t.Helper()
	out, err := p.ctl("getprivatebroadcastinfo")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Transactions []privInfo `json:"transactions"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("getprivatebroadcastinfo: %v\n%s", err, out)
	}
	for _, tx := range res.Transactions {
		if tx.TxID == txid {
			return tx, true
		}
	}
	return privInfo{}, false
}

// privNet is issue 14's network: N btcd broadcast targets and one btcd
// that receives no broadcast and is peerd's long-lived peer, all
// connected to each other through it, on one regtest chain.
type privNet struct {
	long    *btcdtest.Node
	targets []*btcdtest.Node
	all     []*btcdtest.Node
}

func startPrivNet(t *testing.T, n int) *privNet {
	t.Helper()
	return startPrivNetWith(t, n, 3)
}

// startPrivNetWith is startPrivNet with spendable coinbases at heights 1
// to spendable and extra flags for every btcd.
func startPrivNetWith(t *testing.T, n int, spendable int64, btcdArgs ...string) *privNet {
	t.Helper()
	bin := btcdtest.Binary(t)
	long := btcdtest.Start(t, bin, btcdtest.Options{Args: append([]string{"--miningaddr=" + btcdtest.MiningAddr()}, btcdArgs...)})
	height := 101 + spendable
	if _, err := long.Generate(int(height)); err != nil {
		t.Fatal(err)
	}
	pn := &privNet{long: long, all: []*btcdtest.Node{long}}
	for range n {
		b := btcdtest.Start(t, bin, btcdtest.Options{Args: append([]string{"--addpeer=" + long.P2PAddr()}, btcdArgs...)})
		pn.targets = append(pn.targets, b)
		pn.all = append(pn.all, b)
	}
	waitUntil(t, "the btcd nodes to share one chain", 60*time.Second, func() bool {
		for _, b := range pn.all {
			if h, err := b.GetBlockCount(); err != nil || h != height {
				return false
			}
		}
		return true
	})
	return pn
}

// spend returns a signed transaction spending the coinbase at height.
func (pn *privNet) spend(t *testing.T, height int64) *wire.MsgTx {
	t.Helper()
	cb, err := pn.long.Coinbase(height)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := btcdtest.SpendCoinbase(cb, 10_000, 0xfffffffe)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// startPeerd runs peerd with private broadcast through proxy, its
// one long-lived outbound peer the btcd that receives no broadcast, no
// automatic outbound peers, and the targets in its book. With wait, it
// waits for the long-lived peer (which a dead proxy never reaches).
// Extra flags follow (and so override) these.
func (pn *privNet) startPeerd(t *testing.T, datadir, proxy string, wait bool, extra ...string) *peerd {
	t.Helper()
	p := startPeerd(t, datadir, append([]string{"--privatebroadcast", "--proxy=" + proxy, "--addpeer=" + pn.long.P2PAddr(),
		"--targetoutbound=0", "--nodnsseed"}, extra...)...)
	for _, b := range pn.targets {
		host, port, _ := net.SplitHostPort(b.P2PAddr())
		if _, err := p.ctl("addpeeraddress", host, port); err != nil {
			t.Fatal(err)
		}
	}
	if !wait {
		return p
	}
	// The long-lived peer must have finished its handshake: btcd does not
	// announce what its mempool held before a peer connected, so an echo
	// can only come over a connection that was up when the transaction
	// arrived. (A v2 attempt to the v1-only btcd can take btcd's 30 s
	// negotiation timeout before the v1 redial.)
	waitUntil(t, "peerd's long-lived peer's handshake", 60*time.Second, func() bool {
		out, err := p.ctl("getpeerinfo")
		if err != nil {
			return false
		}
		var ps []localPeer
		if json.Unmarshal([]byte(out), &ps) != nil {
			return false
		}
		for _, lp := range ps {
			if lp.Addr == pn.long.P2PAddr() && strings.HasPrefix(lp.State, "standby") {
				return true
			}
		}
		return false
	})

	return p
}

func (pn *privNet) everyMempoolHas(t *testing.T, txid string) bool {
	for _, b := range pn.all {
		if !inMempool(t, b, txid) {
			return false
		}
	}
	return true
}

// TestPrivateBroadcastWithBtcd is issue 14's end-to-end proof: four btcd
// v0.26.2 nodes (three broadcast targets in peerd's book, one long-lived
// peer of peerd that receives no broadcast); peerd with --privatebroadcast
// --proxy=<microsocks>. The injected transaction reaches every btcd's
// mempool; peerd reports it confirmed by an echo from the long-lived btcd;
// the broadcast connections went only to the targets; and a long-lived
// test client heard no inv of it before the confirmation (it does after).
// Then durability: a second transaction accepted while the proxy is down,
// peerd killed with SIGKILL, restarted with the proxy up: the broadcast
// resumes and completes.
func TestPrivateBroadcastWithBtcd(t *testing.T) {
	pn := startPrivNet(t, 3)
	// microsocks binds its outgoing connections to 127.0.0.2: a btcd that
	// sees a peer there sees it through the proxy.
	proxy := socks5test.Microsocks(t, "-b", "127.0.0.2")
	datadir := t.TempDir()
	p := pn.startPeerd(t, datadir, proxy, true)
	watcher := watchInvs(t, p.p2p)

	tx := pn.spend(t, 1)
	txid, err := p.ctl("sendrawtransaction", btcdtest.TxHex(tx))
	if err != nil {
		t.Fatal(err)
	}
	injected := time.Now()
	waitUntil(t, "every btcd's mempool to hold the transaction", 60*time.Second, func() bool {
		return pn.everyMempoolHas(t, txid)
	})
	var info privInfo
	waitUntil(t, "peerd to report it confirmed", 60*time.Second, func() bool {
		info, _ = p.privateInfo(t, txid)
		return info.State == "confirmed"
	})
	t.Logf("confirmed %.3f s after sendrawtransaction", info.Confirmed-float64(injected.UnixMilli())/1000)

	targets := map[string]bool{}
	for _, b := range pn.targets {
		targets[b.P2PAddr()] = true
	}
	receipts, receivedAt := 0, map[string]bool{}
	for _, at := range info.Attempts {
		if !targets[at.Address] {
			t.Fatalf("a broadcast connection went to %s, not a target", at.Address)
		}
		if at.Outcome == "receipt" {
			receipts++
			receivedAt[at.Address] = true
		}
	}
	if receipts < 1 {
		t.Fatalf("no broadcast connection got a receipt: %+v", info.Attempts)
	}
	// Every target that got a broadcast connection saw Core's anonymous
	// version, from the proxy's address.
	for _, b := range pn.targets {
		if !receivedAt[b.P2PAddr()] {
			continue
		}
		log, err := os.ReadFile(b.LogPath())
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`Received version \(agent /pynode:0\.0\.1/, pver 70016, block 0\) from 127\.0\.0\.2:\d+ \(inbound\)`).Match(log) {
			t.Fatalf("btcd %s logged no private version from the proxy's address", b.P2PAddr())
		}
	}
	if len(info.Echoes) == 0 || info.Echoes[0].Addr != pn.long.P2PAddr() {
		t.Fatalf("echoes %+v, want the long-lived btcd %s first", info.Echoes, pn.long.P2PAddr())
	}
	// The long-lived test client: nothing before the confirmation; the
	// announcement once the transaction joined ordinary relay.
	confirmed := time.UnixMilli(int64(info.Confirmed * 1000))
	ids := []chainhash.Hash{tx.TxHash(), tx.WitnessHash()}
	waitUntil(t, "the long-lived client's inv after confirmation", 30*time.Second, func() bool {
		_, ok := watcher.first(ids...)
		return ok
	})
	if at, _ := watcher.first(ids...); at.Before(confirmed.Add(-time.Millisecond)) {
		t.Fatalf("a long-lived peer heard of the transaction at %v, before its confirmation at %v", at, confirmed)
	}

	// Durability: the proxy down, a transaction accepted, kill -9.
	p.stop()
	dead := deadAddr(t)
	p = pn.startPeerd(t, datadir, dead, false)
	tx2 := pn.spend(t, 2)
	txid2, err := p.ctl("sendrawtransaction", btcdtest.TxHex(tx2))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // some attempts fail against the dead proxy
	if info, ok := p.privateInfo(t, txid2); !ok || info.State != "pending" {
		t.Fatalf("with the proxy down: %+v", info)
	}
	for _, b := range pn.all {
		if inMempool(t, b, txid2) {
			t.Fatal("the transaction left while the proxy was down")
		}
	}
	p.kill()
	p = pn.startPeerd(t, datadir, proxy, true)
	waitUntil(t, "the resumed broadcast to reach every btcd", 60*time.Second, func() bool {
		return pn.everyMempoolHas(t, txid2)
	})
	waitUntil(t, "the resumed broadcast's confirmation", 60*time.Second, func() bool {
		info, _ := p.privateInfo(t, txid2)
		return info.State == "confirmed"
	})
}

// deadAddr is a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}
