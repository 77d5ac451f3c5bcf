package e2e

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/peerd/peerd/internal/btcdtest"
)

// telnetSession is a raw TCP session with peerd's debug telnet listener.
type telnetSession struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	n    int // sentinels sent
}

// dialTelnet connects to addr, waiting for the listener to come up, and
// reads the greeting.
func dialTelnet(t *testing.T, addr string) *telnetSession {
	t.Helper()
	var conn net.Conn
	waitUntil(t, "the debug telnet listener", 15*time.Second, func() bool {
		var err error
		conn, err = net.Dial("tcp", addr)
		return err == nil
	})
	t.Cleanup(func() { conn.Close() })
	s := &telnetSession{t: t, conn: conn, r: bufio.NewReader(conn)}
	s.until("you are in standby: say PING? to start; /help for console commands")
	return s
}

// until reads lines until one contains want; it returns the lines read.
func (s *telnetSession) until(want string) []string {
	s.t.Helper()
	s.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var lines []string
	for {
		l, err := s.r.ReadString('\n')
		if err != nil {
			s.t.Fatalf("waiting for %q: %v; read:\n%s%s", want, err, strings.Join(lines, "\n"), l)
		}
		l = strings.TrimRight(l, "\r\n")
		lines = append(lines, l)
		if strings.Contains(l, want) {
			return lines
		}
	}
}

// do sends line and returns everything the session answers to it: it sends
// an unknown console command after it and reads up to that one's answer.
func (s *telnetSession) do(line string) []string {
	s.t.Helper()
	s.n++
	sentinel := fmt.Sprintf("/end-%d", s.n)
	if _, err := fmt.Fprintf(s.conn, "%s\r\n%s\r\n", line, sentinel); err != nil {
		s.t.Fatal(err)
	}
	lines := s.until(fmt.Sprintf("unknown command %q", sentinel))
	return lines[:len(lines)-1]
}

// peerID finds the id of the peer at addr in /peers output, with its
// state; "" when absent.
func peerID(lines []string, addr string) (id, state string) {
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) >= 4 && f[1] == addr {
			return f[0], f[3]
		}
	}
	return "", ""
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}

// TestTelnetConsoleAgainstBtcd: the real peerd with --telnet and a real
// btcd peer. Through one raw TCP session: /peers shows btcd in standby,
// /peer shows its handshake, /tx injects a transaction that reaches btcd
// and /mempool shows btcd fetched it, the text machine reaches PONG, and
// /killall disconnects btcd.
func TestTelnetConsoleAgainstBtcd(t *testing.T) {
	bin := btcdtest.Binary(t)
	b := btcdtest.Start(t, bin, btcdtest.Options{Args: []string{"--miningaddr=" + btcdtest.MiningAddr()}})
	if _, err := b.Generate(101); err != nil {
		t.Fatal(err)
	}
	cb, err := b.Coinbase(1)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := btcdtest.SpendCoinbase(cb, 10_000, 0xfffffffe)
	if err != nil {
		t.Fatal(err)
	}

	tel := btcdtest.FreeAddr(t)
	p := startPeerd(t, t.TempDir(), "--connect="+b.P2PAddr(), "--telnet="+tel)
	s := dialTelnet(t, tel)

	var id string
	var peers []string
	waitUntil(t, "/peers to show btcd in standby", 15*time.Second, func() bool {
		peers = s.do("/peers")
		var state string
		id, state = peerID(peers, b.P2PAddr())
		return state == "standby"
	})
	if !contains(peers, "outbound") || !contains(peers, "btcd") {
		t.Errorf("/peers:\n%s", strings.Join(peers, "\n"))
	}
	hist := s.do("/peer " + id)
	for _, want := range []string{
		"peer " + id + " " + b.P2PAddr() + " outbound, state standby",
		"handshake/init -> handshake/sentVersion on start outbound",
		"handshake/awaitVerack -> handshake/done on verack",
		"handshake -> standby on handshake done",
	} {
		if !contains(hist, want) {
			t.Errorf("/peer %s lacks %q:\n%s", id, want, strings.Join(hist, "\n"))
		}
	}

	// /tx takes the path of sendrawtransaction.
	txid := tx.TxHash().String()
	if out := s.do("/tx " + btcdtest.TxHex(tx)); len(out) != 1 || out[0] != "txid "+txid {
		t.Fatalf("/tx: %q, want txid %s", out, txid)
	}
	waitUntil(t, "btcd to hold the transaction", 10*time.Second, func() bool { return inMempool(t, b, txid) })
	waitUntil(t, "/mempool to show btcd fetched it", 10*time.Second, func() bool {
		for _, l := range s.do("/mempool") {
			if strings.HasPrefix(l, "  "+txid+"  ") && strings.HasSuffix(l, " vB  announced to 1, fetched by "+id+" ("+b.P2PAddr()+")") {
				return true
			}
		}
		return false
	})
	if out := s.do("/tx 00"); !contains(out, "error code: -22, error message: TX decode failed") {
		t.Errorf("/tx 00: %q", out)
	}

	// The text machine runs in the same session.
	if out := s.do("PING?"); !contains(out, "[standby -> waiting on PING?]") {
		t.Fatalf("PING?: %q", out)
	}
	if out := s.do("A"); !contains(out, "[A -> A/innerA on A]") {
		t.Fatalf("A: %q", out)
	}
	if out := s.do("PING"); !contains(out, "[A -> standby on PING handed up]") || out[len(out)-1] != "PONG" {
		t.Fatalf("PING: %q", out)
	}

	// The seed's "kill all peers".
	if out := s.do("/killall"); len(out) != 1 || out[0] != "disconnected 1 peer" {
		t.Fatalf("/killall: %q", out)
	}
	waitUntil(t, "btcd's connection to be gone from /peers", 10*time.Second, func() bool {
		got, _ := peerID(s.do("/peers"), b.P2PAddr())
		return got != id // gone, or reconnected under a new id
	})
	fmt.Fprintf(s.conn, "/quit\r\n")
	s.until("[standby -> closed on hang up]")
	s.until("bye")
	p.stop() // before reading its log
	if log := p.log.String(); !strings.Contains(log, "TLNT: Debug session 1 (127.0.0.1:") || !strings.Contains(log, "): A -> standby on PING handed up") {
		t.Errorf("the session's transitions are not in the log")
	}
}

// TestTelnetNoWire: peerd --nowire runs only the debug listener: nothing
// listens on the wire or RPC addresses it was given, a session reaches
// PONG, the console says there is no wire node, and SIGINT says goodbye
// to the open session and exits cleanly.
func TestTelnetNoWire(t *testing.T) {
	datadir := t.TempDir()
	tel, rpc, p2p := btcdtest.FreeAddr(t), btcdtest.FreeAddr(t), btcdtest.FreeAddr(t)
	p := launchPeerd(t, datadir, rpc, p2p, "--nowire", "--telnet="+tel,
		"--rpclisten="+rpc, "--listen="+p2p, "--debuglevel=TLNT=debug")
	s := dialTelnet(t, tel)
	for _, addr := range []string{rpc, p2p} {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("--nowire: something listens on %s", addr)
		}
	}
	if out := s.do("/peers"); len(out) != 1 || out[0] != "no wire node (--nowire)" {
		t.Errorf("/peers: %q", out)
	}
	s.do("PING?")
	s.do("A")
	s.do("B")
	if out := s.do("PING"); !contains(out, "[A/innerB -> A/innerEnd on any line]") || out[len(out)-1] != "PONG" {
		t.Fatalf("PING: %q", out)
	}
	s.do("PING?")
	s.do("A")

	p.stop()
	s.until("[A -> closed on hang up]")
	s.until("peerd is shutting down: bye")
	if !p.cmd.ProcessState.Success() {
		t.Errorf("peerd exited with %v", p.cmd.ProcessState)
	}
	log := p.log.String()
	for _, want := range []string{
		"--nowire is set: ignoring --listen, --rpclisten",
		"No wire node (--nowire)",
		"Shutting down: interrupt signal received",
		"): A -> closed on hang up",
		"Shutdown complete",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}
