package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/node"
)

// runMainEnv, set to 1, makes the test binary run peerd's main instead of
// the tests, so that tests can run the real program as a subprocess.
const runMainEnv = "PEERD_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		panic("main returned") // main always exits
	}
	os.Exit(m.Run())
}

// guard bounds the waits of these tests; nothing should take nearly as long.
const guard = 30 * time.Second

// runPeerd runs the test binary as peerd with args and returns its exit
// code, stdout and stderr.
func runPeerd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	// Under the race detector, a process that exits with 0 waits a second
	// for stray reports (GORACE's atexit_sleep_ms); peerd has none.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "GORACE="+gorace)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &ee) && ee.Exited():
		return ee.ExitCode(), stdout.String(), stderr.String()
	default:
		t.Fatalf("running peerd %q: %v\nstdout: %s\nstderr: %s", args, err, &stdout, &stderr)
		return 0, "", ""
	}
}

// checkOneLine checks that stderr is exactly one "peerd: ..." line
// containing every want.
func checkOneLine(t *testing.T, stderr string, want ...string) {
	t.Helper()
	if !strings.HasPrefix(stderr, "peerd: ") || !strings.HasSuffix(stderr, "\n") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr is not one \"peerd: \" line: %q", stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not contain %q", stderr, w)
		}
	}
}

// TestProcessConfigErrors runs the real program: a configuration error is
// one line on stderr and exit code 2, never a panic or a usage dump.
func TestProcessConfigErrors(t *testing.T) {
	dir := t.TempDir()
	broken := writeFile(t, dir, "broken.conf", "[Application Options]\nregtest=1\nmaxpeers=lots\n")
	unknown := writeFile(t, dir, "unknown.conf", "regtest=1\nrpcfoo=me\n")
	// Cases that get past the command line name a file, so that none in
	// the user's application data directory is read.
	empty := writeFile(t, dir, "empty.conf", "")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"bad option", []string{"--bogus"}, []string{"unknown option --bogus"}},
		{"bad value", []string{"--regtest", "--pingtimeout=-1m"}, []string{"--pingtimeout", "not positive"}},
		{"two networks", []string{"-C", empty, "--mainnet", "--testnet"}, []string{"--testnet and --mainnet"}},
		{"broken config file", []string{"-C", broken}, []string{broken + ":3:", "maxpeers"}},
		{"unknown option in config file", []string{"--configfile=" + unknown}, []string{unknown + ":2:", "rpcfoo"}},
		{"missing config file", []string{"-C", filepath.Join(dir, "missing.conf")}, []string{"missing.conf"}},
		{"RPC on every interface with the cookie", []string{"-C", empty, "--regtest", "--rpclisten=:18443"},
			[]string{"peerd: --rpclisten=:18443 is not loopback: set --rpcuser and --rpcpass to expose the RPC server\n"}},
		{"RPC on a public address with the cookie", []string{"-C", empty, "--rpclisten=192.0.2.1"},
			[]string{"peerd: --rpclisten=192.0.2.1 is not loopback: set --rpcuser and --rpcpass to expose the RPC server\n"}},
		{"rpcuser without rpcpass", []string{"-C", empty, "--rpcuser=op"}, []string{"--rpcuser and --rpcpass go together"}},
		{"rpcpass without rpcuser", []string{"-C", empty, "--rpcpass=pw"}, []string{"--rpcuser and --rpcpass go together"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runPeerd(t, tc.args...)
			if code != exitConfig {
				t.Errorf("exit code %d, want %d", code, exitConfig)
			}
			checkOneLine(t, stderr, tc.want...)
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			for _, bad := range []string{"goroutine", "panic", "Usage"} {
				if strings.Contains(stdout+stderr, bad) {
					t.Errorf("output contains %q:\n%s%s", bad, stdout, stderr)
				}
			}
		})
	}
}

func TestProcessHelpAndVersion(t *testing.T) {
	code, stdout, stderr := runPeerd(t, "--help")
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "Usage:\n  peerd [OPTIONS]") || !strings.Contains(stdout, "--requiredservices") {
		t.Errorf("--help: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, stderr = runPeerd(t, "-V")
	if code != 0 || stderr != "" || stdout != "peerd version 0.1.0\n" {
		t.Errorf("-V: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// startPeerd runs peerd in-process with args until the returned stop is
// called. It returns the node once it listens, and stop returns the exit
// code.
func startPeerd(t *testing.T, args ...string) (n *node.Node, stdout, stderr *bytes.Buffer, stop func() int) {
	t.Helper()
	stdout, stderr = new(bytes.Buffer), new(bytes.Buffer)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *node.Node, 1)
	d := daemon{
		stdout:  stdout,
		stderr:  stderr,
		appDir:  t.TempDir(),
		started: func(n *node.Node) { started <- n },
	}
	if !slices.ContainsFunc(args, func(a string) bool {
		return strings.HasPrefix(a, "--rpclisten") || a == "--norpc" || a == "--nowire"
	}) {
		// Never the network's default RPC port: a peerd the user runs
		// (or another test binary) may hold it.
		args = append(args, "--rpclisten=127.0.0.1:0")
	}
	code := make(chan int, 1)
	go func() { code <- d.run(ctx, args) }()
	wait := func() int {
		select {
		case c := <-code:
			return c
		case <-time.After(guard):
			t.Fatal("peerd did not stop")
			return 0
		}
	}
	stop = func() int {
		cancel()
		return wait()
	}
	t.Cleanup(func() { cancel() })
	select {
	case n = <-started:
		return n, stdout, stderr, stop
	case c := <-code:
		t.Fatalf("peerd exited with %d before starting; stderr: %s", c, stderr)
	case <-time.After(guard):
		t.Fatal("peerd did not start")
	}
	return nil, nil, nil, nil
}

// TestRunServesAndStops starts peerd on regtest, makes an inbound
// connection and checks that the node's version message carries what the
// command line asked for, then stops it as a signal would.
func TestRunServesAndStops(t *testing.T) {
	dataDir := t.TempDir()
	n, stdout, stderr, stop := startPeerd(t,
		"--regtest", "--listen=127.0.0.1:0", "--datadir="+dataDir, "--nodnsseed",
		"--uacomment=test node", "--services=network,witness", "--debuglevel=debug")
	addrs := n.ListenAddrs()
	if len(addrs) != 1 {
		t.Fatalf("listening on %v, want one address", addrs)
	}

	conn, err := net.Dial("tcp", addrs[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(guard))
	magic := chaincfg.RegressionNetParams.Net
	local := wire.NewNetAddressIPPort(net.IPv4(127, 0, 0, 1), 0, 0)
	if err := wire.WriteMessage(conn, wire.NewMsgVersion(local, local, 0x5eed, 0), wire.ProtocolVersion, magic); err != nil {
		t.Fatal(err)
	}
	msg, _, err := wire.ReadMessage(conn, wire.ProtocolVersion, magic)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := msg.(*wire.MsgVersion)
	if !ok {
		t.Fatalf("first message %T, want version", msg)
	}
	if v.UserAgent != "/peerd:0.1.0(test node)/" || v.Services != wire.SFNodeNetwork|wire.SFNodeWitness|wire.SFNodeP2PV2 {
		t.Fatalf("version: user agent %q, services %v", v.UserAgent, v.Services)
	}

	if code := stop(); code != 0 {
		t.Fatalf("exit code %d; stderr: %s", code, stderr)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %q", stderr)
	}
	out := stdout.String()
	for _, want := range []string{
		"[INF] PRDD: peerd version 0.1.0 starting on regtest",
		"Listening on " + addrs[0].String(),
		"User agent /peerd:0.1.0(test node)/, advertising services network,witness,p2p_v2, requiring witness from outbound peers",
		"[DBG] NODE: New peer",
		"[INF] PRDD: Shutting down: context canceled",
		"[INF] PRDD: Shutdown complete",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout does not contain %q:\n%s", want, out)
		}
	}

	netDir := filepath.Join(dataDir, "regtest")
	logFile := filepath.Join(netDir, "peerd.log")
	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != out {
		t.Errorf("log file differs from stdout:\n%s", data)
	}
	if runtime.GOOS != "windows" {
		for path, want := range map[string]os.FileMode{netDir: 0o700, logFile: 0o600} {
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
				t.Errorf("%s: mode %v, %v; want %v", path, fi.Mode().Perm(), err, want)
			}
		}
	}
}

func TestRunNoLogFile(t *testing.T) {
	dataDir := t.TempDir()
	_, stdout, _, stop := startPeerd(t, "--simnet", "--listen=127.0.0.1:0", "--datadir="+dataDir, "--nologfile", "-d", "PRDD=warn")
	if code := stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "simnet", "peerd.log")); !os.IsNotExist(err) {
		t.Errorf("log file with --nologfile: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dataDir, "simnet")); err != nil || !fi.IsDir() {
		t.Errorf("no network directory: %v", err)
	}
	if strings.Contains(stdout.String(), "PRDD") {
		t.Errorf("PRDD logged at info with PRDD=warn:\n%s", stdout)
	}
}

// TestRunBindFailure: a port in use is reported as one line, exit code 1,
// naming the option that chose the port and how to choose another.
func TestRunBindFailure(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().String()
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--listen=" + taken, "--rpclisten=127.0.0.1:0"}, []string{"--listen: ", taken, "address already in use", "use --listen=:PORT with a free port, or --nolisten"}},
		{[]string{"--nolisten", "--rpclisten=" + taken}, []string{"--rpclisten: ", taken, "use --rpclisten=127.0.0.1:PORT", "--norpc"}},
		{[]string{"--nolisten", "--norpc", "--telnet=" + taken}, []string{"--telnet: debug telnet listener: ", taken, "use --telnet=127.0.0.1:PORT"}},
	} {
		var stdout, stderr bytes.Buffer
		d := daemon{stdout: &stdout, stderr: &stderr, appDir: t.TempDir()}
		code := d.run(context.Background(), append([]string{"--regtest", "--nologfile", "--datadir=" + t.TempDir()}, c.args...))
		if code != exitFailure {
			t.Errorf("%v: exit code %d, want %d", c.args, code, exitFailure)
		}
		checkOneLine(t, stderr.String(), append(c.want, "another peerd, or a bitcoind or btcd on regtest?")...)
	}
}

// TestRunSameDataDir: a second peerd on a data directory in use says so,
// and what to do, in one line.
func TestRunSameDataDir(t *testing.T) {
	dataDir := t.TempDir()
	_, _, _, stop := startPeerd(t, "--regtest", "--listen=127.0.0.1:0", "--norpc", "--datadir="+dataDir, "--nodnsseed", "--nologfile")
	defer stop()
	// The second one is a process of its own, as it would be (the
	// packages' loggers are the process's).
	code, _, stderr := runPeerd(t, "--regtest", "--nologfile", "--nolisten", "--norpc", "--datadir="+dataDir)
	if code != exitFailure {
		t.Errorf("exit code %d, want %d", code, exitFailure)
	}
	checkOneLine(t, stderr, "another peerd is running with data directory "+dataDir, "--datadir")
}

func TestRunConfigError(t *testing.T) {
	var stdout, stderr bytes.Buffer
	d := daemon{stdout: &stdout, stderr: &stderr, appDir: t.TempDir()}
	if code := d.run(context.Background(), []string{"--regtest", "--maxpeers=-1"}); code != exitConfig {
		t.Errorf("exit code %d, want %d", code, exitConfig)
	}
	checkOneLine(t, stderr.String(), "invalid value for --maxpeers")
	if stdout.Len() != 0 {
		t.Errorf("stdout: %q", &stdout)
	}
}

func TestRunDataDirFailure(t *testing.T) {
	file := writeFile(t, t.TempDir(), "file", "")
	var stdout, stderr bytes.Buffer
	d := daemon{stdout: &stdout, stderr: &stderr, appDir: t.TempDir()}
	if code := d.run(context.Background(), []string{"--regtest", "--datadir=" + file}); code != exitFailure {
		t.Errorf("exit code %d, want %d", code, exitFailure)
	}
	checkOneLine(t, stderr.String(), "cannot create the data directory")
}

// TestLogFileRotates: past its size, the log file is gzipped to
// peerd.log.N.gz and a new one starts; the newest rotated files are kept.
func TestLogFileRotates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "peerd.log")
	f, err := openLogFile(path, 1, 2) // 1,000 bytes, 2 rotated files
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x", 99) + "\n"
	for i := range 55 { // 5,500 bytes: 5 rotations
		if _, err := fmt.Fprintf(f, "%02d%s", i, line[2:]); err != nil {
			t.Fatal(err)
		}
		if i%10 == 9 {
			// A rotation: the rotator removes only compressed files,
			// and compresses in the background; a real log takes
			// minutes to fill, not microseconds.
			n := i/10 + 1
			deadline := time.Now().Add(guard)
			for {
				_, errGz := os.Stat(fmt.Sprintf("%s.%d.gz", path, n))
				_, errRaw := os.Stat(fmt.Sprintf("%s.%d", path, n))
				if errGz == nil && errRaw != nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("rotation %d never compressed", n)
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "peerd.log*"))
	for i := range names {
		names[i] = filepath.Base(names[i])
	}
	want := []string{"peerd.log", "peerd.log.4.gz", "peerd.log.5.gz"}
	if !slices.Equal(names, want) {
		t.Fatalf("files %v, want %v", names, want)
	}
	// The newest rotated file holds the lines before the current file's.
	zf, err := os.Open(filepath.Join(dir, "peerd.log.5.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer zf.Close()
	zr, err := gzip.NewReader(zf)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil || !strings.HasPrefix(string(data), "40xxx") || !strings.HasSuffix(string(data), "49"+line[2:]) {
		t.Fatalf("peerd.log.5.gz: %v %q", err, data)
	}
	cur, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(cur), "50xxx") || len(cur) != 500 {
		t.Fatalf("peerd.log: %q", cur)
	}
}
