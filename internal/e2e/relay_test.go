// Package e2e runs the real peerd and peerctl binaries against real btcd
// nodes on loopback: the proof that an operator's transaction reaches the
// network.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/btcdtest"
	"github.com/peerd/peerd/internal/wireio"
)

func TestMain(m *testing.M) {
	code := btcdtest.Run(m)
	if binsDir != "" {
		os.RemoveAll(binsDir)
	}
	os.Exit(code)
}

// binsDir is where bins built the binaries, removed when the tests end.
var binsDir string

var bins = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "peerd-e2e-")
	if err != nil {
		return "", err
	}
	binsDir = dir
	for _, c := range []string{"peerd", "peerctl"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, c), "github.com/peerd/peerd/cmd/"+c).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("build %s: %v\n%s", c, err, out)
		}
	}
	return dir, nil
})

// peerd is a running peerd process.
type peerd struct {
	t       *testing.T
	cmd     *exec.Cmd
	dir     string
	datadir string
	rpc     string
	p2p     string
	log     *bytes.Buffer
}

func startPeerd(t *testing.T, datadir string, args ...string) *peerd {
	t.Helper()
	rpc, p2p := btcdtest.FreeAddr(t), btcdtest.FreeAddr(t)
	p := launchPeerd(t, datadir, rpc, p2p, append([]string{"--rpclisten=" + rpc, "--listen=" + p2p,
		"--trickleinterval=0s", "--debuglevel=debug"}, args...)...)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if c, err := net.Dial("tcp", rpc); err == nil {
			c.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("peerd RPC did not come up:\n%s", p.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// launchPeerd starts the peerd binary in regtest on datadir (with an empty
// config file and no log file) and the given flags, and stops it when the
// test ends, printing its log if the test failed. rpc and p2p are recorded
// for the test's use; the flags say what peerd does with them.
func launchPeerd(t *testing.T, datadir, rpc, p2p string, args ...string) *peerd {
	t.Helper()
	dir, err := bins()
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(datadir, "none.conf")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	all := append([]string{"--regtest", "--datadir=" + datadir, "--configfile=" + conf, "--nologfile"}, args...)
	p := &peerd{t: t, dir: dir, datadir: datadir, rpc: rpc, p2p: p2p, log: &bytes.Buffer{}}
	p.cmd = exec.Command(filepath.Join(dir, "peerd"), all...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("peerd log:\n%s", tail(p.log.String(), 80))
		}
	})
	return p
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (p *peerd) stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

func (p *peerd) kill() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// ctl runs peerctl against this peerd (cookie auth) and returns its stdout.
func (p *peerd) ctl(args ...string) (string, error) {
	all := append([]string{"--regtest", "--rpcserver=" + p.rpc, "--datadir=" + p.datadir}, args...)
	cmd := exec.Command(filepath.Join(p.dir, "peerctl"), all...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("peerctl %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String()), nil
}

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func inMempool(t *testing.T, b *btcdtest.Node, txid string) bool {
	ids, err := b.GetRawMempool()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if id == txid {
			return true
		}
	}
	return false
}

type entry struct {
	WTxID       string `json:"wtxid"`
	Propagation struct {
		InvSent []struct{ ID int64 } `json:"invsent"`
		Fetched []struct {
			ID   int64
			Addr string
		} `json:"fetched"`
	} `json:"propagation"`
}

// TestOperatorTransactionReachesBtcd: a transaction signed by the test,
// injected with peerctl sendrawtransaction, is announced to two btcd peers
// (MSG_TX: btcd does not send wtxidrelay) and to an inbound test peer that
// negotiated wtxidrelay (MSG_WTX), each exactly once; both btcds accept it
// into their mempools, and peerd's getmempoolentry shows who fetched it.
func TestOperatorTransactionReachesBtcd(t *testing.T) {
	bin := btcdtest.Binary(t)
	a := btcdtest.Start(t, bin, btcdtest.Options{Args: []string{"--miningaddr=" + btcdtest.MiningAddr()}})
	if _, err := a.Generate(101); err != nil {
		t.Fatal(err)
	}
	b := btcdtest.Start(t, bin, btcdtest.Options{Args: []string{"--addpeer=" + a.P2PAddr()}})
	waitUntil(t, "the second btcd to sync", 30*time.Second, func() bool {
		n, err := b.GetBlockCount()
		return err == nil && n == 101
	})
	cb, err := a.Coinbase(1)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := btcdtest.SpendCoinbase(cb, 10_000, 0xfffffffe)
	if err != nil {
		t.Fatal(err)
	}

	p := startPeerd(t, t.TempDir(), "--connect="+a.P2PAddr(), "--connect="+b.P2PAddr())
	waitUntil(t, "both btcds connected", 15*time.Second, func() bool {
		out, err := p.ctl("getconnectioncount")
		return err == nil && out == "2"
	})
	tp := dialWTxIDPeer(t, p.p2p)

	txid, err := p.ctl("sendrawtransaction", btcdtest.TxHex(tx))
	if err != nil {
		t.Fatal(err)
	}
	if txid != tx.TxHash().String() {
		t.Fatalf("sendrawtransaction returned %q, want %v", txid, tx.TxHash())
	}
	waitUntil(t, "both btcds to hold the transaction", 10*time.Second, func() bool {
		return inMempool(t, a, txid) && inMempool(t, b, txid)
	})

	invs := tp.invsFor(2 * time.Second)
	if len(invs) != 1 || invs[0].Type != 5 || invs[0].Hash != tx.WitnessHash() {
		t.Fatalf("wtxidrelay test peer got %v, want exactly one MSG_WTX %v", invs, tx.WitnessHash())
	}

	out, err := p.ctl("getmempoolentry", txid)
	if err != nil {
		t.Fatal(err)
	}
	var e entry
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatalf("getmempoolentry: %v\n%s", err, out)
	}
	if len(e.Propagation.InvSent) != 3 || len(e.Propagation.Fetched) != 2 {
		t.Fatalf("propagation: %s; want invs to 3 peers and fetches by the 2 btcds", out)
	}

	// getpeerinfo shows each peer's state path and recent transitions.
	out, err = p.ctl("getpeerinfo")
	if err != nil {
		t.Fatal(err)
	}
	var peers []struct {
		SubVer      string `json:"subver"`
		State       string `json:"state"`
		Transitions []struct{ From, To, On string }
	}
	if err := json.Unmarshal([]byte(out), &peers); err != nil {
		t.Fatal(err)
	}
	btcds := 0
	for _, pi := range peers {
		if strings.Contains(pi.SubVer, "btcd") {
			btcds++
			if pi.State != "standby" || len(pi.Transitions) < 4 {
				t.Errorf("btcd peer: state %q, %d transitions", pi.State, len(pi.Transitions))
			}
		}
	}
	if btcds != 2 {
		t.Fatalf("getpeerinfo lists %d btcd peers, want 2:\n%s", btcds, out)
	}
	// The seed's "kill all peers".
	if out, err := p.ctl("disconnectall"); err != nil || out != "3" {
		t.Fatalf("disconnectall = %q, %v; want 3", out, err)
	}
}

// TestSurvivesKill9: kill -9 right after sendrawtransaction returns; after
// a restart the transaction is still in getrawmempool and is announced
// again.
func TestSurvivesKill9(t *testing.T) {
	datadir := t.TempDir()
	p := startPeerd(t, datadir)
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: 1, Hash: [32]byte{9}}, []byte{0x51}, nil))
	tx.AddTxOut(wire.NewTxOut(5000, []byte{0x51}))
	txid, err := p.ctl("sendrawtransaction", btcdtest.TxHex(tx))
	if err != nil {
		t.Fatal(err)
	}
	p.kill()

	p2 := startPeerd(t, datadir)
	out, err := p2.ctl("getrawmempool")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, txid) {
		t.Fatalf("after kill -9 and restart, getrawmempool = %s; want %s", out, txid)
	}
	tp := dialWTxIDPeer(t, p2.p2p)
	invs := tp.invsFor(2 * time.Second)
	if len(invs) != 1 || invs[0].Hash != tx.WitnessHash() {
		t.Fatalf("after restart a new peer got %v, want the transaction announced", invs)
	}
}

// wtxidPeer is an inbound test peer that negotiates wtxidrelay.
type wtxidPeer struct {
	t    *testing.T
	conn net.Conn
	r    *wireio.Reader
	w    *wireio.Writer
}

func dialWTxIDPeer(t *testing.T, addr string) *wtxidPeer {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p := &wtxidPeer{t: t, conn: conn, r: wireio.NewReader(conn, wire.TestNet), w: wireio.NewWriter(conn, wire.TestNet)}
	v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 77, 0)
	v.UserAgent = "/e2e:1/"
	for _, m := range []wire.Message{v, wire.NewMsgWTxIdRelay(), wire.NewMsgSendAddrV2(), wire.NewMsgVerAck()} {
		if err := p.w.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// invsFor collects the transaction inventory announced during d, answering
// pings.
func (p *wtxidPeer) invsFor(d time.Duration) []*wire.InvVect {
	var got []*wire.InvVect
	p.conn.SetReadDeadline(time.Now().Add(d))
	for {
		msg, err := p.r.Next()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return got
			}
			if _, soft := err.(*wireio.SoftError); soft {
				continue
			}
			p.t.Fatalf("test peer: %v", err)
		}
		switch m := msg.(type) {
		case *wire.MsgInv:
			got = append(got, m.InvList...)
		case *wire.MsgPing:
			p.w.Write(wire.NewMsgPong(m.Nonce))
		}
	}
}
