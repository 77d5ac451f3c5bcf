package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runMode runs peerload with args (which must include --json) and decodes
// its output into result; it fails the test unless the exit code is want.
func runMode(t *testing.T, want int, result any, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	// An empty application directory: no cookie file to find, so these
	// modes must not look for one.
	code := run(ctx, args, &stdout, &stderr, t.TempDir())
	if code != want {
		t.Fatalf("peerload %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout.String(), stderr.String())
	}
	if result != nil {
		if err := json.Unmarshal(stdout.Bytes(), result); err != nil {
			t.Fatalf("output: %v\n%s", err, stdout.String())
		}
	}
	return stderr.String()
}

// TestHandshakeAgainstFake runs handshake mode against the in-process fake
// (no RPC options, no cookie): every handshake completes, and with --pid
// (this process, which is also the target) the target's CPU is reported.
func TestHandshakeAgainstFake(t *testing.T) {
	f := startFake(t)
	var r handshakeResult
	runMode(t, exitOK, &r, "--regtest", "--target="+f.p2p.Addr().String(), "-q", "--json",
		"handshake", "--workers=4", "--count=200", "--settle=0s", "--pid="+itoa(os.Getpid()))
	if r.Completed != 200 || r.Failed != 0 || r.Workers != 4 || r.Close != "rst" || r.Latency.N != 200 || r.Rate <= 0 {
		t.Errorf("result: %+v", r)
	}
	if r.Latency.P50 <= 0 || r.Latency.Max < r.Latency.P99 || r.Elapsed <= 0 {
		t.Errorf("latency: %+v, elapsed %v", r.Latency, r.Elapsed)
	}
	if r.TargetCPU == nil || r.TargetCPUPer == nil || r.TargetRSSBeforeKB == nil || *r.TargetRSSBeforeKB <= 0 {
		t.Errorf("target figures missing: %+v", r)
	}

	// --duration alone, closing with FIN.
	r = handshakeResult{}
	runMode(t, exitOK, &r, "--regtest", "--target="+f.p2p.Addr().String(), "-q", "--json",
		"handshake", "--workers=2", "--count=0", "--duration=200ms", "--close=fin")
	if r.Completed == 0 || r.Failed != 0 || r.Close != "fin" || r.TargetCPU != nil {
		t.Errorf("--duration run: %+v", r)
	}
}

// TestHandshakeFailures: against a port nobody listens on, every attempt
// fails; peerload stops after --maxfailures and exits 1 with the errors.
func TestHandshakeFailures(t *testing.T) {
	var r handshakeResult
	stderr := runMode(t, exitError, &r, "--regtest", "--target="+freeAddr(t), "-q", "--json",
		"handshake", "--workers=2", "--count=1000", "--maxfailures=3")
	if r.Completed != 0 || r.Failed < 4 || r.Failed > 10 || len(r.Errors) == 0 || !strings.Contains(r.Errors[0], "refused") {
		t.Errorf("result: %+v", r)
	}
	if !strings.Contains(stderr, "no handshake completed") {
		t.Errorf("stderr: %s", stderr)
	}
}

// TestHoldAgainstFake holds 12 connections to the fake (which pings each
// once), the fake refusing all after the 9th: 9 held, 3 failed, the pings
// answered, and with --pid the memory figures.
func TestHoldAgainstFake(t *testing.T) {
	f := startFake(t)
	f.mu.Lock()
	f.refuseFrom = 9
	f.mu.Unlock()
	var r holdResult
	runMode(t, exitOK, &r, "--regtest", "--target="+f.p2p.Addr().String(), "-q", "--json", "--peers=12", "--dialers=3",
		"hold", "--hold=300ms", "--settle=100ms", "--pid="+itoa(os.Getpid()))
	if r.Peers != 12 || r.Opened != 9 || r.Failed != 3 || r.GaveUp || r.Held != 9 || r.HeldEnd != 9 || len(r.Errors) == 0 {
		t.Errorf("result: %+v", r)
	}
	if r.Pings != 9 {
		t.Errorf("%d pings answered, want 9 (the fake pings once after verack)", r.Pings)
	}
	if r.PerPeerKB == nil || r.RSSBeforeKB == nil || r.RSSSettledKB == nil || r.RSSEndKB == nil || r.OpenCPUPer == nil {
		t.Errorf("target figures missing: %+v", r)
	}

	// More failures than --maxfailures: the opening stops; what was
	// opened is still held and reported.
	f = startFake(t)
	f.mu.Lock()
	f.refuseFrom = 5
	f.mu.Unlock()
	var g holdResult
	runMode(t, exitOK, &g, "--regtest", "--target="+f.p2p.Addr().String(), "-q", "--json", "--peers=40", "--dialers=1",
		"hold", "--hold=0s", "--settle=0s", "--maxfailures=2")
	if !g.GaveUp || g.Opened != 5 || g.Failed != 3 || g.Held != 5 {
		t.Errorf("result: %+v", g)
	}

	// Nothing opened at all: exit 1.
	runMode(t, exitError, nil, "--regtest", "--target="+f.p2p.Addr().String(), "-q", "--json", "--peers=3",
		"hold", "--hold=0s", "--settle=0s")
}

// TestModesAgainstFloor runs handshake and hold against the real
// peerfloor binary.
func TestModesAgainstFloor(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the peerfloor binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "peerfloor")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/peerd/peerd/cmd/peerfloor").CombinedOutput(); err != nil {
		t.Fatalf("build peerfloor: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--regtest", "--listen="+addr)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	waitListening(t, addr)
	pid := itoa(cmd.Process.Pid)

	var h handshakeResult
	runMode(t, exitOK, &h, "--regtest", "--target="+addr, "-q", "--json", "handshake", "--count=300", "--workers=8", "--settle=0s", "--pid="+pid)
	if h.Completed != 300 || h.Failed != 0 || h.TargetCPU == nil {
		t.Errorf("handshake: %+v", h)
	}
	var r holdResult
	runMode(t, exitOK, &r, "--regtest", "--target="+addr, "-q", "--json", "--peers=50", "hold", "--hold=200ms", "--settle=100ms", "--pid="+pid)
	if r.Opened != 50 || r.Held != 50 || r.HeldEnd != 50 || r.PerPeerKB == nil {
		t.Errorf("hold: %+v", r)
	}
	if t.Failed() {
		t.Logf("peerfloor's output:\n%s", log.String())
	}
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	for i := 0; ; i++ {
		c, err := dialTCP(addr)
		if err == nil {
			c.Close()
			return
		}
		if i == 300 {
			t.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func dialTCP(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, time.Second) }

// spoken counts the fake's connections by the transport they agreed on.
func (f *fakePeerd) spoken() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := make(map[string]int)
	for _, c := range f.conns {
		n[c.spoke]++
	}
	return n
}

// TestV2ModesAgainstFake: with --v2, handshake, hold and relay run BIP 324
// as the initiator on every connection (the fake, like peerd, detects it)
// and then the same version handshake; without it they speak v1 to the
// same fake.
func TestV2ModesAgainstFake(t *testing.T) {
	f := startFake(t)
	var h handshakeResult
	runMode(t, exitOK, &h, "--regtest", "--target="+f.p2p.Addr().String(), "-q", "--json", "--v2",
		"handshake", "--workers=4", "--count=50", "--settle=0s")
	if h.Completed != 50 || h.Failed != 0 || h.Transport != "v2" {
		t.Errorf("handshake: %+v", h)
	}
	if n := f.spoken(); n["v2"] != 50 || len(n) != 1 {
		t.Errorf("the fake's connections spoke %v, want 50 v2", n)
	}

	f = startFake(t)
	var r holdResult
	runMode(t, exitOK, &r, "--regtest", "--target="+f.p2p.Addr().String(), "-q", "--json", "--v2", "--peers=10", "--dialers=3",
		"hold", "--hold=300ms", "--settle=100ms")
	if r.Opened != 10 || r.Held != 10 || r.HeldEnd != 10 || r.Failed != 0 || r.Transport != "v2" {
		t.Errorf("hold: %+v", r)
	}
	if r.Pings != 10 {
		t.Errorf("%d pings answered over v2, want 10", r.Pings)
	}
	if n := f.spoken(); n["v2"] != 10 || len(n) != 1 {
		t.Errorf("the fake's connections spoke %v, want 10 v2", n)
	}

	f = startFake(t)
	var rel relayResult
	runMode(t, exitOK, &rel, "--regtest", "--target="+f.p2p.Addr().String(), "--rpcserver="+f.url,
		"--rpcuser=u", "--rpcpass=p", "--peers=5", "-q", "--json", "--v2",
		"relay", "--txs=2", "--gap=0s", "--linger=100ms", "--seed=3")
	if rel.Transport != "v2" || rel.Pairs != 10 || rel.Delivered != 10 || rel.ListenersAll != 5 || rel.PingsAnswered != 5 {
		t.Errorf("relay: %+v", rel)
	}
	if n := f.spoken(); n["v2"] != 5 || len(n) != 1 {
		t.Errorf("the fake's connections spoke %v, want 5 v2", n)
	}

	f = startFake(t)
	h = handshakeResult{}
	runMode(t, exitOK, &h, "--regtest", "--target="+f.p2p.Addr().String(), "-q", "--json",
		"handshake", "--workers=2", "--count=10", "--settle=0s")
	if h.Completed != 10 || h.Transport != "v1" {
		t.Errorf("handshake without --v2: %+v", h)
	}
	if n := f.spoken(); n["v1"] != 10 || len(n) != 1 {
		t.Errorf("the fake's connections spoke %v, want 10 v1", n)
	}
}

// TestRate: --rate spaces the connections' starts, in handshake and hold
// mode alike: 10 at 50 a second take at least 9 intervals of 20 ms.
func TestRate(t *testing.T) {
	f := startFake(t)
	var h handshakeResult
	start := time.Now()
	runMode(t, exitOK, &h, "--regtest", "--target="+f.p2p.Addr().String(), "-q", "--json", "--rate=50",
		"handshake", "--workers=4", "--count=10", "--settle=0s")
	if d := time.Since(start); h.Completed != 10 || d < 180*time.Millisecond {
		t.Errorf("%d handshakes in %v at 50 a second", h.Completed, d)
	}
	var r holdResult
	start = time.Now()
	runMode(t, exitOK, &r, "--regtest", "--target="+f.p2p.Addr().String(), "-q", "--json", "--rate=50", "--peers=10", "--v2",
		"hold", "--hold=0s", "--settle=0s")
	if d := time.Since(start); r.Opened != 10 || d < 180*time.Millisecond {
		t.Errorf("%d opened in %v at 50 a second", r.Opened, d)
	}
	runMode(t, exitUsage, nil, "--regtest", "--target="+f.p2p.Addr().String(), "-q", "--rate=-1", "handshake")
}
