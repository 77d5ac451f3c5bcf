package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/btcdtest"
	"github.com/peerd/peerd/internal/regtestfund"
)

// TestMain builds the pinned btcd for TestRelayAgainstBtcd (not under
// -short).
func TestMain(m *testing.M) { btcdtest.Main(m) }

// spends returns n signed spends of made-up coinbases that pay the
// well-known key, and their hex, one a line.
func spends(t *testing.T, n int) ([]*wire.MsgTx, string) {
	t.Helper()
	var txs []*wire.MsgTx
	var b strings.Builder
	for i := range n {
		cb := wire.NewMsgTx(1)
		cb.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&chainhash.Hash{}, wire.MaxPrevOutIndex), []byte{byte(i + 1), 0x51}, nil))
		cb.AddTxOut(wire.NewTxOut(50e8, regtestfund.PkScript()))
		tx, err := regtestfund.SpendCoinbase(cb, regtestfund.DefaultFee, 0xfffffffe)
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
		b.WriteString(regtestfund.TxHex(tx) + "\n")
	}
	return txs, b.String()
}

func TestParseTxs(t *testing.T) {
	txs, text := spends(t, 3)
	lines := strings.Split(strings.TrimSpace(text), "\n")

	// Blank lines and comments are skipped; only the first n are read.
	got, err := parseTxs(strings.NewReader("# funded\n\n"+lines[0]+"\n  "+lines[1]+"  \r\n"+lines[2]+"\nnot read\n"), 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range txs {
		if got[i].TxHash() != txs[i].TxHash() {
			t.Errorf("transaction %d: %v, want %v", i, got[i].TxHash(), txs[i].TxHash())
		}
	}
	for _, c := range []struct {
		text string
		n    int
		err  string
	}{
		{text, 4, "3 transactions, want 4"},
		{lines[0] + "\n\nxyz\n", 2, "line 3: not hex"},
		{lines[0] + "\n" + lines[1] + "\n" + lines[0] + "\n", 3, "line 3: transaction " + txs[0].TxHash().String() + " again (first on line 1)"},
		{"", 1, "0 transactions"},
	} {
		if _, err := parseTxs(strings.NewReader(c.text), c.n); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("parseTxs(n=%d): %v, want %q", c.n, err, c.err)
		}
	}

	path := filepath.Join(t.TempDir(), "txs.hex")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := readTxFile(path, 2); err != nil || len(got) != 2 {
		t.Errorf("readTxFile: %d, %v", len(got), err)
	}
	if _, err := readTxFile(path, 5); err == nil || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("readTxFile names the file in its errors: %v", err)
	}
}

// TestRelayAgainstBtcdLikeFake runs relay mode with --txfile against the
// fake playing btcd: it accepts only the file's transactions, announces
// them by txid, lists connections in getpeerinfo without peerd's fields,
// and has no getmempoolentry. The run must wait for the listing, not for
// a state, and report the core figures without peerd's records.
func TestRelayAgainstBtcdLikeFake(t *testing.T) {
	txs, text := spends(t, 3)
	path := filepath.Join(t.TempDir(), "txs.hex")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	f := startFake(t)
	f.mu.Lock()
	f.btcd = true
	f.acceptTx = map[string]bool{}
	for _, tx := range txs {
		f.acceptTx[tx.TxHash().String()] = true
	}
	f.mu.Unlock()
	common := []string{"--regtest", "--target=" + f.p2p.Addr().String(), "--rpcserver=" + f.url,
		"--rpcuser=u", "--rpcpass=p", "--peers=4", "-q", "--json"}

	var r relayResult
	runMode(t, exitOK, &r, append(common, "--wtxid=false", "relay", "--txs=3", "--txfile="+path, "--gap=0s", "--linger=100ms")...)
	if r.Delivered != 12 || r.ListenersAll != 4 || r.TxsAll != 3 || r.Duplicates != 0 || r.WrongType != 0 || r.Dropped != 0 {
		t.Errorf("result: %+v", r)
	}
	if r.ReadyBy != "listed" || r.TargetAgent != "/fakebtcd:0/" || r.TxFile != path || r.Seed != 0 || r.WTxIDRelay {
		t.Errorf("ready by %q, agent %q, txfile %q, seed %d, wtxidrelay %v", r.ReadyBy, r.TargetAgent, r.TxFile, r.Seed, r.WTxIDRelay)
	}
	if r.PeerdInv != nil {
		t.Errorf("peerd's records from a node that keeps none: %+v", r.PeerdInv)
	}
	for i, pt := range r.PerTx {
		if pt.TxID != txs[i].TxHash().String() {
			t.Errorf("transaction %d: %s, want the file's %v", i, pt.TxID, txs[i].TxHash())
		}
	}
	// The JSON has the core figures under the names the scripts read.
	var raw map[string]any
	runMode(t, exitOK, &raw, append(common, "--wtxid=false", "relay", "--txs=1", "--txfile="+path, "--gap=0s", "--linger=0s", "--propagation=false")...)
	for _, k := range []string{"issue_to_inv", "listeners_got_all", "txs_reached_all", "delivered_pairs", "duplicate_invs", "ready_by"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("no %q in the JSON", k)
		}
	}
	if _, ok := raw["peerd_invsent"]; ok {
		t.Error("peerd_invsent in the JSON of a run against btcd")
	}

	// Made-up transactions: the node refuses them, and the run says why.
	stderr := runMode(t, exitError, nil, append(common, "--wtxid=false", "relay", "--txs=1")...)
	if !strings.Contains(stderr, "orphan transaction") {
		t.Errorf("stderr: %s", stderr)
	}
	// With wtxidrelay asked for, the run stops before injecting: the node
	// did not send wtxidrelay and announces by txid.
	stderr = runMode(t, exitError, nil, append(common, "relay", "--txs=1", "--txfile="+path)...)
	if !strings.Contains(stderr, "/fakebtcd:0/) did not send wtxidrelay on 4 of 4 connections") || !strings.Contains(stderr, "--wtxid=false") {
		t.Errorf("stderr: %s", stderr)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.nTx != 4 {
		t.Errorf("%d transactions injected, want 4 (3 + 1; none by the refused runs)", f.nTx)
	}
}

// TestStandbyTimeoutListed: a node that reports no states and never lists
// the connections: the run fails and says so.
func TestStandbyTimeoutListed(t *testing.T) {
	f := startFake(t)
	f.mu.Lock()
	f.btcd, f.noStandby = true, true
	f.mu.Unlock()
	stderr := runMode(t, exitError, nil, "--regtest", "--target="+f.p2p.Addr().String(), "--rpcserver="+f.url,
		"--rpcuser=u", "--rpcpass=p", "--peers=2", "-q", "--wtxid=false", "--standbytimeout=300ms", "relay", "--txs=1")
	if !strings.Contains(stderr, "0 of our 2 connections listed") {
		t.Errorf("stderr: %s", stderr)
	}
}

func TestFundUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--regtest", "fund", "--address"}, &stdout, &stderr, t.TempDir()); code != exitOK ||
		strings.TrimSpace(stdout.String()) != btcdtest.MiningAddr() {
		t.Errorf("fund --address: exit %d, %q, want btcdtest's address %s; stderr %s", code, stdout.String(), btcdtest.MiningAddr(), stderr.String())
	}
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"fund", "--help"}, exitOK, "--miningaddr"},
		{[]string{"--testnet", "fund", "--address"}, exitUsage, "--regtest or --simnet only"},
		{[]string{"--regtest", "--rpcuser=u", "--rpcpass=p", "fund", "--txs=0"}, exitUsage, "--txs"},
		{[]string{"--regtest", "--rpcuser=u", "--rpcpass=p", "fund", "--fee=-1"}, exitUsage, "--fee"},
		{[]string{"--regtest", "--rpcuser=u", "--rpcpass=p", "--rpcserver=" + freeAddr(t), "fund"}, exitError, "getblockcount"},
		{[]string{"--regtest", "--rpcuser=u", "--rpcpass=p", "relay", "--txfile=/nonexistent/txs.hex"}, exitError, "/nonexistent/txs.hex"},
	} {
		stdout.Reset()
		stderr.Reset()
		code := run(context.Background(), c.args, &stdout, &stderr, t.TempDir())
		if out := stdout.String() + stderr.String(); code != c.code || !strings.Contains(out, c.out) {
			t.Errorf("peerload %s: exit %d, want %d; output:\n%s", strings.Join(c.args, " "), code, c.code, out)
		}
	}
}

// TestRelayAgainstBtcd is the whole path against the real, pinned btcd
// (regtest, loopback): fund mines 103 blocks to the well-known address and
// writes 3 signed spends; relay injects them into btcd (which checks their
// inputs and signatures) with --wtxid=false and 5 listeners, each of which
// must get each transaction once, by txid; btcd's mempool then holds all 3.
func TestRelayAgainstBtcd(t *testing.T) {
	n := btcdtest.Start(t, btcdtest.Binary(t), btcdtest.Options{Args: []string{
		"--miningaddr=" + btcdtest.MiningAddr(), "--trickleinterval=10ms", "--debuglevel=info"}})
	user, pass := n.RPCCredentials()
	common := []string{"--regtest", "--target=" + n.P2PAddr(), "--rpcserver=" + n.RPCAddr(),
		"--rpcuser=" + user, "--rpcpass=" + pass, "-q"}
	path := filepath.Join(t.TempDir(), "txs.hex")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, append(common, "fund", "--txs=3", "--out="+path), &stdout, &stderr, t.TempDir()); code != exitOK {
		t.Fatalf("fund: exit %d\n%s", code, stderr.String())
	}
	if h, err := n.GetBlockCount(); err != nil || h != 103 {
		t.Errorf("btcd's height after fund: %d, %v; want 103", h, err)
	}

	r := runJSON(t, append(common, "--peers=5", "--wtxid=false", "relay", "--txs=3", "--txfile="+path, "--gap=0s", "--linger=300ms")...)
	if r.Delivered != 15 || r.ListenersAll != 5 || r.TxsAll != 3 || r.Duplicates != 0 || r.WrongType != 0 ||
		r.Unexpected != 0 || r.Dropped != 0 || r.ReadyBy != "listed" || r.PeerdInv != nil {
		t.Errorf("result: %+v", r)
	}
	if !strings.Contains(r.TargetAgent, "btcd:0.26.2") {
		t.Errorf("target's user agent %q", r.TargetAgent)
	}
	ids, err := n.GetRawMempool()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, pt := range r.PerTx {
		want = append(want, pt.TxID)
	}
	if len(ids) != 3 || !sameSet(ids, want) {
		t.Errorf("btcd's mempool %v, want the injected %v", ids, want)
	}
	b, _ := json.Marshal(r.IssueToInv)
	t.Logf("5 listeners, 3 transactions, trickle 10 ms: issue to inv %s", b)
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return len(a) == len(b)
}
