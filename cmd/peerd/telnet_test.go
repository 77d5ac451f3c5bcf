package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startTelnetPeerd runs peerd in-process with args (which must ask for a
// debug telnet listener) until the returned stop is called; it returns the
// listener's address once bound, and stop returns the exit code.
func startTelnetPeerd(t *testing.T, args ...string) (addr string, stdout, stderr *bytes.Buffer, stop func() int) {
	t.Helper()
	stdout, stderr = new(bytes.Buffer), new(bytes.Buffer)
	ctx, cancel := context.WithCancel(context.Background())
	bound := make(chan net.Addr, 1)
	d := daemon{stdout: stdout, stderr: stderr, appDir: t.TempDir(), telnetStarted: func(a net.Addr) { bound <- a }}
	code := make(chan int, 1)
	go func() { code <- d.run(ctx, args) }()
	stop = func() int {
		cancel()
		select {
		case c := <-code:
			return c
		case <-time.After(guard):
			t.Fatal("peerd did not stop")
			return 0
		}
	}
	t.Cleanup(cancel)
	select {
	case a := <-bound:
		return a.String(), stdout, stderr, stop
	case c := <-code:
		t.Fatalf("peerd exited with %d before the telnet listener was up; stderr: %s", c, stderr)
	case <-time.After(guard):
		t.Fatal("the telnet listener did not come up")
	}
	return "", nil, nil, nil
}

// telnetSession is a raw TCP session with the debug listener.
type telnetSession struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialTelnet(t *testing.T, addr string) *telnetSession {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(guard))
	return &telnetSession{t: t, c: c, r: bufio.NewReader(c)}
}

// until reads lines until one contains want and returns them all.
func (s *telnetSession) until(want string) string {
	s.t.Helper()
	var b strings.Builder
	for {
		l, err := s.r.ReadString('\n')
		b.WriteString(l)
		if strings.Contains(l, want) {
			return b.String()
		}
		if err != nil {
			s.t.Fatalf("waiting for %q: %v; read:\n%s", want, err, &b)
		}
	}
}

func (s *telnetSession) send(line string) {
	s.t.Helper()
	if _, err := s.c.Write([]byte(line + "\r\n")); err != nil {
		s.t.Fatal(err)
	}
}

// TestRunTelnetBesideNode: --telnet adds the debug listener beside the
// wire node; its console reaches the node; shutdown says goodbye to the
// session, and the TLNT subsystem logs each transition at debug.
func TestRunTelnetBesideNode(t *testing.T) {
	addr, stdout, stderr, stop := startTelnetPeerd(t, "--regtest", "--listen=127.0.0.1:0", "--nodnsseed", "--norpc",
		"--datadir="+t.TempDir(), "--nologfile", "--telnet=127.0.0.1:0", "--debuglevel=TLNT=debug")
	s := dialTelnet(t, addr)
	s.until("peerd 0.1.0 on regtest: debug session 1 (telnet debug mode)")
	s.until("you are in standby")
	s.send("/peers")
	s.until("no wire peers")
	s.send("/mempool")
	s.until("the mempool is empty")
	s.send("/tx 00")
	s.until("error code: -22, error message: TX decode failed")
	s.send("PING?")
	s.until("[standby -> waiting on PING?]")
	s.send("A")
	s.until("[A -> A/innerA on A]")
	s.send("PING")
	s.until("PONG")

	if code := stop(); code != 0 {
		t.Fatalf("exit code %d; stderr: %s", code, stderr)
	}
	s.until("[standby -> closed on hang up]")
	s.until("peerd is shutting down: bye")
	out := stdout.String()
	for _, want := range []string{
		"[INF] PRDD: Debug telnet listener on " + addr + " (telnet 127.0.0.1 ",
		"[INF] TLNT: Debug session 1 from 127.0.0.1:",
		"[DBG] TLNT: Debug session 1 (127.0.0.1:",
		"): waiting -> A on A",
		"): A -> standby on PING handed up",
		"[INF] PRDD: Shutdown complete",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "SECURITY") {
		t.Errorf("a loopback listener got the security warning:\n%s", out)
	}
}

// TestRunNoWire: --nowire runs the debug listener alone: no mempool, no
// wire, no RPC; the session reaches PONG and the console says why the wire
// commands are off.
func TestRunNoWire(t *testing.T) {
	dataDir := t.TempDir()
	addr, stdout, stderr, stop := startTelnetPeerd(t, "--regtest", "--nowire", "--telnet=127.0.0.1:0", "--datadir="+dataDir, "--nologfile")
	s := dialTelnet(t, addr)
	s.until("(no wire node (--nowire): the console's wire commands are off)")
	s.until("you are in standby")
	s.send("/killall")
	s.until("no wire node (--nowire)")
	s.send("PING?")
	s.send("A")
	s.send("B")
	s.send("PING")
	s.until("[A/innerB -> A/innerEnd on any line]")
	s.until("PONG")
	if code := stop(); code != 0 {
		t.Fatalf("exit code %d; stderr: %s", code, stderr)
	}
	out := stdout.String()
	for _, want := range []string{"No wire node (--nowire)", "Debug telnet listener on " + addr, "Shutdown complete"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"Mempool", "Listening on", "RPC server on"} {
		if strings.Contains(out, bad) {
			t.Errorf("--nowire log has %q:\n%s", bad, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, "regtest", "mempool")); !os.IsNotExist(err) {
		t.Errorf("--nowire opened a mempool: %v", err)
	}
}

// TestRunTelnetBindFailure: a telnet port in use is one line, exit code 1.
func TestRunTelnetBindFailure(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, extra := range [][]string{{"--nowire"}, {"--listen=127.0.0.1:0", "--norpc", "--nodnsseed"}} {
		var stdout, stderr bytes.Buffer
		d := daemon{stdout: &stdout, stderr: &stderr, appDir: t.TempDir()}
		args := append([]string{"--regtest", "--nologfile", "--datadir=" + t.TempDir(), "--telnet=" + l.Addr().String()}, extra...)
		if code := d.run(context.Background(), args); code != exitFailure {
			t.Errorf("%q: exit code %d, want %d", extra, code, exitFailure)
		}
		checkOneLine(t, stderr.String(), "debug telnet listener", l.Addr().String())
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:8080": true, "127.1.2.3:1": true,
		"0.0.0.0:8080": false, "[::]:8080": false, "192.0.2.1:8080": false,
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := isLoopback(a); got != want {
			t.Errorf("isLoopback(%s) = %v, want %v", addr, got, want)
		}
	}
}
