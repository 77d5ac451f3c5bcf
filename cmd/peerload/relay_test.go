package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startPeerd builds and starts the real peerd in regtest on loopback with
// the trickle off, and returns its P2P and RPC addresses and its data
// directory (cookie authentication).
func startPeerd(t *testing.T) (p2p, rpc, datadir string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "peerd")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/peerd/peerd/cmd/peerd").CombinedOutput(); err != nil {
		t.Fatalf("build peerd: %v\n%s", err, out)
	}
	datadir = filepath.Join(dir, "data")
	conf := filepath.Join(dir, "none.conf")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p2p, rpc = freeAddr(t), freeAddr(t)
	var log bytes.Buffer
	cmd := exec.Command(bin, "--regtest", "--datadir="+datadir, "--configfile="+conf,
		"--listen="+p2p, "--rpclisten="+rpc, "--trickleinterval=0s", "--nodnsseed", "--nologfile", "--debuglevel=warn")
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("peerd log:\n%s", log.String())
		}
	})
	cookie := filepath.Join(datadir, "regtest", cookieFile)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := os.Stat(cookie); err == nil {
			if c, err := net.Dial("tcp", rpc); err == nil {
				c.Close()
				return p2p, rpc, datadir
			}
		}
		select {
		case <-exited:
			t.Fatalf("peerd exited:\n%s", log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("peerd did not come up:\n%s", log.String())
		}
	}
}

// runJSON runs peerload with args and --json and decodes its result.
func runJSON(t *testing.T, args ...string) relayResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, append([]string{"--json"}, args...), &stdout, &stderr, t.TempDir()); code != exitOK {
		t.Fatalf("peerload %s: exit %d\nstderr:\n%s", strings.Join(args, " "), code, stderr.String())
	}
	var r relayResult
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("output: %v\n%s", err, stdout.String())
	}
	return r
}

// TestRelayAgainstPeerd runs relay mode against the real peerd binary: 5
// connections with wtxidrelay and 2 transactions, then 3 without and 1:
// every listener gets every transaction once, by the hash the mode calls
// for, and peerd's own records agree.
func TestRelayAgainstPeerd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the peerd binary")
	}
	p2p, rpc, datadir := startPeerd(t)
	common := []string{"--regtest", "--target=" + p2p, "--rpcserver=" + rpc, "--datadir=" + datadir, "-q"}

	r := runJSON(t, append(common, "--peers=5", "relay", "--txs=2", "--gap=0s", "--linger=300ms")...)
	if r.Peers != 5 || r.Txs != 2 || !r.WTxIDRelay || r.Pairs != 10 || r.Delivered != 10 ||
		r.ListenersAll != 5 || r.TxsAll != 2 || r.Duplicates != 0 || r.WrongType != 0 || r.Unexpected != 0 || r.Dropped != 0 {
		t.Errorf("wtxidrelay run: %+v", r)
	}
	if r.IssueToInv.N != 10 || r.IssueToInv.Min <= 0 || r.IssueToInv.Max < r.IssueToInv.P99 || r.RPC.N != 2 {
		t.Errorf("wtxidrelay run latencies: %+v, rpc %+v", r.IssueToInv, r.RPC)
	}
	if r.ReadyBy != "standby" || !strings.Contains(r.TargetAgent, "peerd") {
		t.Errorf("ready by %q, agent %q", r.ReadyBy, r.TargetAgent)
	}
	if r.PeerdInv == nil || r.PeerdInv.N != 10 {
		t.Errorf("peerd's records: %+v, want 10 invs", r.PeerdInv)
	}
	if len(r.PerTx) != 2 || r.PerTx[0].Received != 5 || r.PerTx[0].TxID == r.PerTx[1].TxID {
		t.Errorf("per tx: %+v", r.PerTx)
	}

	// The first run's two transactions are in peerd's mempool and are
	// announced to the new connections when they are ready: unexpected.
	r = runJSON(t, append(common, "--peers=3", "--wtxid=false", "relay", "--txs=1", "--gap=0s", "--linger=300ms")...)
	if r.WTxIDRelay || r.Delivered != 3 || r.ListenersAll != 3 || r.TxsAll != 1 || r.Duplicates != 0 || r.WrongType != 0 || r.Dropped != 0 {
		t.Errorf("txid run: %+v", r)
	}
	if r.Unexpected != 6 {
		t.Errorf("txid run: %d unexpected invs, want 6 (the first run's 2 transactions on 3 connections)", r.Unexpected)
	}
}

func TestUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--version"}, exitOK, "peerload version"},
		{[]string{"--help"}, exitOK, "relay"},
		{[]string{"relay", "--help"}, exitOK, "--txs"},
		{nil, exitUsage, "command"},
		{[]string{"flood"}, exitUsage, "flood"},
		{[]string{"--peers=0", "relay"}, exitUsage, "--peers"},
		{[]string{"--wtxid=maybe", "relay"}, exitUsage, "true or false"},
		{[]string{"--regtest", "--simnet", "relay"}, exitUsage, "choose one network"},
		{[]string{"--rpcuser=u", "relay"}, exitUsage, "go together"},
		{[]string{"--rpcuser=u", "--rpcpass=p", "relay", "--txs=0"}, exitUsage, "--txs"},
		{[]string{"--datadir=/nonexistent", "relay"}, exitError, "no cookie file"},
		{[]string{"--help"}, exitOK, "handshake"},
		{[]string{"handshake", "--help"}, exitOK, "--workers"},
		{[]string{"hold", "--help"}, exitOK, "--settle"},
		{[]string{"handshake", "--count=0"}, exitUsage, "--duration"},
		{[]string{"handshake", "--workers=0"}, exitUsage, "--workers"},
		{[]string{"handshake", "--close=slam"}, exitUsage, "slam"},
		{[]string{"hold", "--hold=1s", "--settle=2s"}, exitUsage, "--settle"},
		{[]string{"--peers=0", "hold"}, exitUsage, "--peers"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), c.args, &stdout, &stderr, t.TempDir())
		out := stdout.String() + stderr.String()
		if code != c.code || !strings.Contains(out, c.out) {
			t.Errorf("peerload %s: exit %d, want %d; output:\n%s", strings.Join(c.args, " "), code, c.code, out)
		}
	}
}
