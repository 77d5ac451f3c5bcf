package btcdtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	// startTimeout bounds how long Start waits for btcd's RPC to answer.
	startTimeout = 30 * time.Second
	// stopTimeout is how long Stop waits after SIGINT before SIGKILL.
	stopTimeout = 10 * time.Second
	// pollInterval is the sleep between polls in Start and WaitPeers.
	pollInterval = 50 * time.Millisecond
	// logTailLines is how much of btcd's log a failed test prints.
	logTailLines = 60
	// startAttempts is how often Start tries fresh ports when btcd cannot
	// bind the ones it was given (another process took them meanwhile).
	startAttempts = 3
	// utxoCacheMiB is btcd's --utxocachemaxsize for test nodes.
	utxoCacheMiB = "16"
)

// Options configures a btcd started by [Start].
type Options struct {
	// Args are extra btcd flags appended after the harness' own, e.g.
	// "--connect=127.0.0.1:1234", "--addpeer=...",
	// "--miningaddr="+MiningAddr(), "--nobanning", "--v2transport".
	// Do not pass --listen, --rpclisten, --datadir, --logdir, --rpcuser,
	// --rpcpass or another network flag: the harness sets those.
	Args []string
}

// Node is a running btcd process. All methods are safe for concurrent use.
type Node struct {
	p2pAddr string
	rpcAddr string
	rpcUser string
	rpcPass string
	logPath string
	console string // btcd's stdout+stderr

	httpClient *http.Client
	rpcID      atomic.Uint64

	cmd     *exec.Cmd
	done    chan struct{} // closed once the process has been reaped
	waitErr error         // cmd.Wait's result, valid after done is closed

	stopOnce sync.Once
	stopErr  error
}

// Start runs btcd in regtest on fresh loopback ports with a private data and
// log directory under t.TempDir(), waits (at most 30 s) until its RPC
// server answers, and returns it. It skips the test under -short and fails
// it (t.Fatal) if btcd does not come up, so call it from the test goroutine.
//
// The node is stopped by t.Cleanup (see [Node.Stop]); if the test failed,
// the cleanup also prints the last 60 lines of btcd's log with t.Log.
//
// btcd is run as
//
//	btcd --regtest --datadir=D/data --logdir=D/logs
//	     --listen=127.0.0.1:P --rpclisten=127.0.0.1:R
//	     --rpcuser=btcdtest --rpcpass=RANDOM --notls
//	     --nodnsseed --debuglevel=debug --utxocachemaxsize=16  opts.Args...
//
// with HOME set to D/home so btcd never touches the real ~/.btcd. For
// single-valued flags the last occurrence wins, so opts.Args can override
// --debuglevel or --utxocachemaxsize.
func Start(t testing.TB, bin string, opts Options) *Node {
	t.Helper()
	if testing.Short() {
		t.Skip("btcdtest: skipping btcd integration test in -short mode")
	}
	if bin == "" {
		t.Fatal("btcdtest: Start: empty btcd binary path")
	}
	var errs []error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		n, err := start(t, bin, opts)
		if err == nil {
			return n
		}
		errs = append(errs, err)
		if !errors.Is(err, errBind) {
			break
		}
	}
	t.Fatalf("btcdtest: starting btcd: %v", errors.Join(errs...))
	return nil
}

// pickPort chooses btcd's ports; a variable so tests can simulate a port
// that another process grabbed.
var pickPort = freePort

// errBind marks a start failure caused by btcd being unable to bind its
// ports; Start retries those with new ports.
var errBind = errors.New("btcd could not bind its listen address")

func start(t testing.TB, bin string, opts Options) (*Node, error) {
	t.Helper()
	dir := t.TempDir()
	p2pPort, err := pickPort()
	if err != nil {
		return nil, err
	}
	rpcPort, err := pickPort()
	if err != nil {
		return nil, err
	}
	var pass [16]byte
	if _, err := rand.Read(pass[:]); err != nil {
		return nil, err
	}
	n := &Node{
		p2pAddr: loopback(p2pPort),
		rpcAddr: loopback(rpcPort),
		rpcUser: "btcdtest",
		rpcPass: hex.EncodeToString(pass[:]),
		// btcd namespaces --logdir (and --datadir) by network name.
		logPath: filepath.Join(dir, "logs", "regtest", "btcd.log"),
		console: filepath.Join(dir, "console.log"),
		httpClient: &http.Client{
			// btcd closes every RPC connection after one reply anyway.
			Transport: &http.Transport{DisableKeepAlives: true},
		},
		done: make(chan struct{}),
	}
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	args := []string{
		"--regtest",
		"--datadir=" + filepath.Join(dir, "data"),
		"--logdir=" + filepath.Join(dir, "logs"),
		"--listen=" + n.p2pAddr,
		"--rpclisten=" + n.rpcAddr,
		"--rpcuser=" + n.rpcUser,
		"--rpcpass=" + n.rpcPass,
		"--notls",
		"--nodnsseed",
		"--debuglevel=debug",
		// btcd pre-allocates its whole UTXO cache (default 250 MiB, ~0.4 s);
		// a regtest chain needs almost none of it.
		"--utxocachemaxsize=" + utxoCacheMiB,
	}
	args = append(args, opts.Args...)

	console, err := os.Create(n.console)
	if err != nil {
		return nil, err
	}
	defer console.Close() // the child has its own copy of the descriptor
	n.cmd = exec.Command(bin, args...)
	n.cmd.Dir = dir
	n.cmd.Env = append(withoutEnv(os.Environ(), "HOME"), "HOME="+home)
	n.cmd.Stdout = console
	n.cmd.Stderr = console
	n.cmd.SysProcAttr = sysProcAttr()

	// Start and reap the process from one goroutine locked to its OS thread
	// until btcd has exited. On Linux sysProcAttr sets Pdeathsig, which
	// fires when the *thread* that forked the child dies; locking keeps that
	// thread alive (and unused by anyone else) for btcd's whole lifetime,
	// while still killing btcd if the test binary dies without cleanup
	// (e.g. a -timeout panic).
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread is discarded when this goroutine
		// returns, after btcd has been reaped.
		if err := n.cmd.Start(); err != nil {
			started <- err
			n.waitErr = err
			close(n.done)
			return
		}
		started <- nil
		n.waitErr = n.cmd.Wait()
		close(n.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("exec %s: %w", bin, err)
	}
	if err := n.waitReady(startTimeout); err != nil {
		n.Stop()
		n.httpClient.CloseIdleConnections()
		out := n.startupOutput()
		if strings.Contains(out, "address already in use") {
			err = fmt.Errorf("%w: %v", errBind, err)
		}
		return nil, fmt.Errorf("%w\nbtcd %s\n--- btcd output (tail) ---\n%s", err, strings.Join(args, " "), out)
	}
	t.Cleanup(func() { n.cleanup(t) })
	return n, nil
}

// withoutEnv returns env without the variable key.
func withoutEnv(env []string, key string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// waitReady polls getblockcount until it succeeds, btcd exits or the
// timeout expires.
func (n *Node) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := n.CallContext(ctx, "getblockcount")
		cancel()
		if err == nil {
			return nil
		}
		lastErr = err
		select {
		case <-n.done:
			return fmt.Errorf("btcd exited during startup: %v", n.waitErr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("btcd RPC not ready after %v: %v", timeout, lastErr)
		}
		select {
		case <-n.done:
		case <-time.After(pollInterval):
		}
	}
}

// startupOutput returns the tail of btcd's console output (which mirrors
// its log and also holds flag-parsing errors).
func (n *Node) startupOutput() string {
	s, err := tailFile(n.console, logTailLines, isLogNoise)
	if err != nil {
		return err.Error()
	}
	return s
}

// P2PAddr returns btcd's P2P listen address, "127.0.0.1:PORT".
func (n *Node) P2PAddr() string { return n.p2pAddr }

// RPCAddr returns btcd's RPC listen address, "127.0.0.1:PORT".
func (n *Node) RPCAddr() string { return n.rpcAddr }

// LogPath returns the path of btcd's log file (written at --debuglevel=debug).
func (n *Node) LogPath() string { return n.logPath }

// PID returns btcd's process id.
func (n *Node) PID() int { return n.cmd.Process.Pid }

// Done returns a channel that is closed once the btcd process has exited and
// been reaped.
func (n *Node) Done() <-chan struct{} { return n.done }

// Stop shuts btcd down: SIGINT, up to 10 s for a clean exit, then SIGKILL.
// It returns only after the process has been reaped. It returns an error if
// btcd had to be killed or did not exit with status 0 (which includes having
// died before Stop was called). Stop is idempotent; later calls return the
// first call's result. The t.Cleanup registered by [Start] calls it.
func (n *Node) Stop() error {
	n.stopOnce.Do(func() { n.stopErr = n.stop() })
	return n.stopErr
}

func (n *Node) stop() error {
	select {
	case <-n.done:
		if n.waitErr != nil {
			return fmt.Errorf("btcd had already exited: %w", n.waitErr)
		}
		return errors.New("btcd had already exited")
	default:
	}
	// btcd handles SIGINT (and SIGTERM) with an orderly shutdown.
	if err := n.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		n.cmd.Process.Kill()
		<-n.done
		return fmt.Errorf("btcd: SIGINT: %w", err)
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-n.done:
		if n.waitErr != nil {
			return fmt.Errorf("btcd exited uncleanly: %w", n.waitErr)
		}
		return nil
	case <-timer.C:
		n.cmd.Process.Kill()
		<-n.done
		return fmt.Errorf("btcd did not exit within %v of SIGINT; killed", stopTimeout)
	}
}

// cleanup is registered with t.Cleanup by Start.
func (n *Node) cleanup(t testing.TB) {
	if t.Failed() {
		// Show the log as it was when the test failed, before the
		// shutdown messages push the interesting part out of the tail.
		n.logTail(t, "when the test failed")
	}
	if err := n.Stop(); err != nil {
		t.Logf("btcdtest: stopping btcd %s: %v", n.p2pAddr, err)
		n.logTail(t, "after stopping")
	}
	n.httpClient.CloseIdleConnections()
}

// logTail prints the end of btcd's log with t.Log.
func (n *Node) logTail(t testing.TB, when string) {
	path := n.logPath
	if _, err := os.Stat(path); err != nil {
		path = n.console // btcd died before opening its log
	}
	s, err := tailFile(path, logTailLines, isLogNoise)
	if err != nil {
		t.Logf("btcdtest: reading btcd log: %v", err)
		return
	}
	t.Logf("btcdtest: btcd %s log %s, last %d lines %s (connection-manager retry noise omitted):\n%s",
		n.p2pAddr, path, logTailLines, when, s)
}

// LogTail returns the last lines lines of btcd's log, leaving out the
// connection manager's "no valid connect address" retry noise that an idle
// regtest btcd logs every few seconds at debug level.
func (n *Node) LogTail(lines int) (string, error) {
	return tailFile(n.logPath, lines, isLogNoise)
}

// isLogNoise reports whether a btcd log line belongs to the connection
// manager's churn of outbound requests without an address: with its default
// 8 outbound slots and an empty address manager, a regtest btcd logs these
// continuously at debug level. Requests with an address (e.g. from addnode
// or --connect) print as "ADDR (reqid N)" and are kept.
func isLogNoise(line []byte) bool {
	return bytes.Contains(line, []byte("CMGR: ")) &&
		(bytes.Contains(line, []byte("no valid connect address")) ||
			bytes.Contains(line, []byte("Max failed connection attempts reached")) ||
			bytes.Contains(line, []byte("CMGR: Canceling: reqid ")))
}

// tailFile returns the last n lines of the file at path for which skip (if
// not nil) is false, looking at the file's final 1 MiB only.
func tailFile(path string, n int, skip func([]byte) bool) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	const maxRead = 1 << 20
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	off := max(fi.Size()-maxRead, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return "", err
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if off > 0 && len(lines) > 1 {
		lines = lines[1:] // the first line is probably partial
	}
	if skip != nil {
		lines = slices.DeleteFunc(lines, skip)
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n"))), nil
}

// WaitPeers polls getpeerinfo every 50 ms until pred returns true for the
// peer list, and returns that list. If timeout passes first it fails the
// test (t.Fatalf, so call it from the test goroutine) showing the last peer
// list and RPC error.
func (n *Node) WaitPeers(t testing.TB, timeout time.Duration, pred func([]PeerInfo) bool) []PeerInfo {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var (
		last    []PeerInfo
		lastErr error
	)
	for {
		ps, err := n.GetPeerInfo()
		if err == nil {
			last, lastErr = ps, nil
			if pred(ps) {
				return ps
			}
		} else {
			lastErr = err
		}
		if time.Now().After(deadline) {
			break
		}
		select {
		case <-n.done:
			t.Fatalf("btcdtest: btcd %s exited while waiting for peers: %v", n.p2pAddr, n.waitErr)
		case <-time.After(pollInterval):
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "btcdtest: btcd %s: peer condition not met within %v; last getpeerinfo (%d peers):", n.p2pAddr, timeout, len(last))
	for _, p := range last {
		fmt.Fprintf(&b, "\n  %s", p)
	}
	if lastErr != nil {
		fmt.Fprintf(&b, "\n  last RPC error: %v", lastErr)
	}
	t.Fatal(b.String())
	return nil
}

// String formats the interesting fields of p on one line.
func (p PeerInfo) String() string {
	dir := "outbound"
	if p.Inbound {
		dir = "inbound"
	}
	return fmt.Sprintf("id=%d %s addr=%s local=%s subver=%q version=%d services=%s height=%d ping=%v sent=%d recv=%d",
		p.ID, dir, p.Addr, p.AddrLocal, p.SubVer, p.Version, p.Services, p.StartingHeight, p.PingTime, p.BytesSent, p.BytesRecv)
}
