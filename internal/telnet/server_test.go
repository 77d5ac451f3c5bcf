package telnet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btclog"

	"github.com/peerd/peerd/internal/debugproto"
	"github.com/peerd/peerd/mempool"
	"github.com/peerd/peerd/node"
)

// Lines the sessions say, by name.
const (
	toWaiting    = "[standby -> waiting on PING?]"
	intoA        = "[waiting -> A on A]"
	enterInnerA  = "[A -> A/innerA on A]"
	toInnerB     = "[A/innerA -> A/innerB on B]"
	endFromA     = "[A/innerA -> A/innerEnd on other line]"
	endFromB     = "[A/innerB -> A/innerEnd on any line]"
	pingHandedUp = "[A -> standby on PING handed up]"
	elseHandedUp = "[A -> waiting on other line handed up]"
)

var (
	hintStandby = debugproto.Hint(debugproto.Standby)
	hintWaiting = debugproto.Hint(debugproto.Waiting)
)

func TestGreeting(t *testing.T) {
	srv, _ := startServer(t, Config{Console: &fakeConsole{}, Version: "0.1.0", Network: "testnet4"})
	c := dial(t, srv)
	c.expect("peerd 0.1.0 on testnet4: debug session 1 (telnet debug mode)",
		"[welcome -> standby on at once]",
		"you are in standby: say PING? to start; /help for console commands")
	c2 := dial(t, srv)
	c2.expect("peerd 0.1.0 on testnet4: debug session 2 (telnet debug mode)")
}

// TestEveryTransition runs a session through every edge of the text
// machine's Spec, checking the echo of each transition and each reply.
func TestEveryTransition(t *testing.T) {
	type step struct {
		line string
		want []string
	}
	for _, tc := range []struct {
		name   string
		steps  []step
		closed bool
	}{
		{"BYE in waiting closes the connection", []step{
			{"PING?", []string{toWaiting}},
			{"BYE", []string{"[waiting -> closed on BYE]", "bye"}},
		}, true},
		{"innerA hands PING up: PONG, standby", []step{
			{"PING?", []string{toWaiting}},
			{"A", []string{intoA, enterInnerA}},
			{"PING", []string{endFromA, pingHandedUp, "PONG"}},
			{"PING?", []string{toWaiting}}, // standby again
		}, false},
		{"innerA hands another word up: waiting", []step{
			{"PING?", []string{toWaiting}},
			{"A", []string{intoA, enterInnerA}},
			{"X", []string{endFromA, elseHandedUp}},
			{"A", []string{intoA, enterInnerA}}, // waiting again
		}, false},
		{"innerB hands PING up: PONG, standby", []step{
			{"PING?", []string{toWaiting}},
			{"A", []string{intoA, enterInnerA}},
			{"B", []string{toInnerB}},
			{"PING", []string{endFromB, pingHandedUp, "PONG"}},
		}, false},
		{"innerB hands another word up: waiting", []step{
			{"PING?", []string{toWaiting}},
			{"A", []string{intoA, enterInnerA}},
			{"B", []string{toInnerB}},
			{"B", []string{endFromB, elseHandedUp}},
			{"BYE", []string{"[waiting -> closed on BYE]", "bye"}},
		}, true},
		{"innerA hands BYE up: waiting, not closed", []step{
			{"PING?", []string{toWaiting}},
			{"A", []string{intoA, enterInnerA}},
			{"BYE", []string{endFromA, elseHandedUp}},
		}, false},
		{"hints: other lines move nothing", []step{
			{"hello", []string{hintStandby}},
			{"ping?", []string{hintStandby}},
			{"", []string{hintStandby}},
			{"PING?", []string{toWaiting}},
			{"C", []string{hintWaiting}},
			{"PING", []string{hintWaiting}},
			{"A", []string{intoA, enterInnerA}},
		}, false},
		{"hang up from standby (/quit)", []step{
			{"/quit", []string{"[standby -> closed on hang up]", "bye"}},
		}, true},
		{"hang up from waiting (/quit)", []step{
			{"PING?", []string{toWaiting}},
			{"/quit", []string{"[waiting -> closed on hang up]", "bye"}},
		}, true},
		{"hang up from A (/quit)", []step{
			{"PING?", []string{toWaiting}},
			{"A", []string{intoA, enterInnerA}},
			{"B", []string{toInnerB}},
			{"/quit", []string{"[A -> closed on hang up]", "bye"}},
		}, true},
		{"console lines never reach the machine", []step{
			{"PING?", []string{toWaiting}},
			{"/nope", []string{`unknown command "/nope": try /help`}},
			{"A", []string{intoA, enterInnerA}},
			{"/killall", []string{"disconnected 0 peers"}},
			{"PING", []string{endFromA, pingHandedUp, "PONG"}},
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := startServer(t, Config{Console: &fakeConsole{}})
			c := open(t, srv)
			for _, s := range tc.steps {
				c.say(s.line, s.want...)
			}
			if tc.closed {
				c.eof()
				return
			}
			// Nothing more was said: the next answer is the next line's.
			c.say("/peers", "no wire peers")
		})
	}
}

// TestLineEndings: CR LF, LF, CR NUL and bare CR all end a line, also when
// a CR LF is split across writes; the LF of a CR LF is no empty line.
func TestLineEndings(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chunks []string
	}{
		{"CRLF", []string{"PING?\r\nA\r\nPING\r\n"}},
		{"LF", []string{"PING?\nA\nPING\n"}},
		{"bare CR", []string{"PING?\rA\rPING\r"}},
		{"CR NUL", []string{"PING?\r\x00A\r\x00PING\r\x00"}},
		{"mixed", []string{"PING?\rA\nPING\r\n"}},
		{"CRLF split after CR", []string{"PING?\r", "\nA\r", "\n", "PING\r", "\n"}},
		{"CRLF split by a telnet command", []string{"PING?\r\xff\xf1\nA\r\n", "PING\r\n"}},
		{"byte by byte", strings.Split("PING?\r\nA\r\nPING\r\n", "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := startServer(t, Config{Console: &fakeConsole{}})
			c := open(t, srv)
			for _, ch := range tc.chunks {
				c.send(ch)
				time.Sleep(time.Millisecond)
			}
			c.expect(toWaiting, intoA, enterInnerA, endFromA, pingHandedUp, "PONG")
			c.say("/peers", "no wire peers") // and no hint for a stray empty line
		})
	}
}

// TestTelnetCommandsStripped: option negotiation, subnegotiation and
// two-byte commands vanish from the lines, also when split across writes;
// IAC IAC is a literal 0xFF; the server answers none of them.
func TestTelnetCommandsStripped(t *testing.T) {
	const (
		iac, do, dont, will, wont, sb, se = "\xff", "\xfd", "\xfe", "\xfb", "\xfc", "\xfa", "\xf0"
		echo, sga, ttype, naws, nop, ayt  = "\x01", "\x03", "\x18", "\x1f", "\xf1", "\xf6"
	)
	negotiation := iac + do + echo + iac + will + sga + iac + wont + naws + iac + dont + ttype +
		iac + sb + ttype + "\x00xterm" + iac + se + // subnegotiation with text
		iac + sb + naws + "\x00\x50" + iac + iac + "\x00\x18" + iac + se // IAC IAC inside SB
	srv, _ := startServer(t, Config{Console: &fakeConsole{}})
	c := dial(t, srv)
	c.send(negotiation)
	c.expect(greeting(0)...)
	script := negotiation + "PI" + iac + nop + "NG" + iac + ayt + "?\r\n" + // PING? with commands inside
		"A" + iac + sb + ttype + "junk\r\nBYE\r\n" + iac + se + "\r\n" + // a SB holds no lines
		"P" + iac + will + echo + "ING\r\n"
	for i := range len(script) {
		c.send(script[i : i+1]) // every split point
		time.Sleep(200 * time.Microsecond)
	}
	c.expect("[yes: peerd debug session 1, in standby]", // the AYT
		toWaiting, intoA, enterInnerA, endFromA, pingHandedUp, "PONG")
	c.say("PING?", toWaiting)
	c.say("A"+iac+iac, hintWaiting) // "A\xff" is not A
	c.say(iac+iac, hintWaiting)     // a lone 0xFF byte
	c.say("/quit", "[waiting -> closed on hang up]", "bye")
	c.eof()
}

// TestServerSendsNoTelnetCommands: nothing the server writes contains 0xFF,
// even when it shows what a peer sent (an untrusted user agent).
func TestServerSendsNoTelnetCommands(t *testing.T) {
	fc := &fakeConsole{}
	fc.peers = append(fc.peers, peerInfo(1, "/evil\xff\xfd\x01:\x1b[31m/"))
	srv, _ := startServer(t, Config{Console: fc})
	c := dial(t, srv)
	c.send("\xff\xfd\x01\xff\xfb\x03/peers\r\n/quit\r\n")
	c.c.SetReadDeadline(time.Now().Add(guard))
	var all bytes.Buffer
	if _, err := all.ReadFrom(c.r); err != nil {
		t.Fatal(err)
	}
	if bytes.IndexByte(all.Bytes(), 0xff) >= 0 || bytes.IndexByte(all.Bytes(), 0x1b) >= 0 {
		t.Fatalf("output has 0xFF or ESC: %q", all.Bytes())
	}
	if !strings.Contains(all.String(), "/evil???:?[31m/") {
		t.Fatalf("user agent not shown escaped: %q", all.String())
	}
}

func TestNonUTF8IsHarmless(t *testing.T) {
	srv, _ := startServer(t, Config{Console: &fakeConsole{}})
	c := open(t, srv)
	c.say("\xc3\x28\xfe\x80", hintStandby)
	c.say("/\xc3\x28", `unknown command "/?(": try /help`)
	c.say("/peer \xfe", "usage: /peer ID (an id from /peers)")
	c.say("PING?", toWaiting)
}

// TestLongLines: a line over MaxLineBytes is refused and discarded, also
// when it is far longer than any buffer; the session goes on.
func TestLongLines(t *testing.T) {
	srv, _ := startServer(t, Config{Console: &fakeConsole{}, MaxLineBytes: 16})
	c := open(t, srv)
	refused := func(state string) string {
		return "(line too long: more than 16 bytes; discarded; you are in " + state + ")"
	}
	c.say(strings.Repeat("x", 16), hintStandby) // the limit itself is fine
	c.say(strings.Repeat("x", 17), refused("standby"))
	c.say("PING?", toWaiting)
	c.say("PING?"+strings.Repeat(" ", 11), hintWaiting) // 16 bytes
	// 1 MiB without a line end, in pieces, then the end.
	big := strings.Repeat("y", 64<<10)
	for range 16 {
		c.send(big)
	}
	c.say("", refused("waiting"))
	c.say("/"+strings.Repeat("h", 16), refused("waiting")) // console lines too
	c.say("A", intoA, enterInnerA)
	c.say("PING", endFromA, pingHandedUp, "PONG")
}

func TestIdleSessionClosed(t *testing.T) {
	const idle = 300 * time.Millisecond
	srv, _ := startServer(t, Config{Console: &fakeConsole{}, Idle: idle})

	c := open(t, srv)
	start := time.Now()
	c.expect("[standby -> closed on hang up]", "idle for 300ms: bye")
	c.eof()
	if d := time.Since(start); d < idle-20*time.Millisecond {
		t.Errorf("closed after %v, before the idle time", d)
	}

	// Each line restarts the wait; a partial line does not.
	c = open(t, srv)
	c.say("PING?", toWaiting)
	for range 5 { // 500 ms in all, longer than idle
		time.Sleep(idle / 3)
		c.say("x", hintWaiting)
	}
	c.send("A") // no line end
	c.expect("[waiting -> closed on hang up]", "idle for 300ms: bye")
	c.eof()
}

func TestMaxSessions(t *testing.T) {
	srv, _ := startServer(t, Config{Console: &fakeConsole{}, MaxSessions: 2})
	a := open(t, srv)
	b := open(t, srv)
	busy := dial(t, srv)
	busy.expect("peerd is busy: all 2 debug sessions are taken; try again later")
	busy.eof()
	a.say("PING?", toWaiting) // the others go on
	b.say("BYE", hintStandby)
	a.say("BYE", "[waiting -> closed on BYE]", "bye")
	a.eof()
	// A place is free again once the session is gone.
	deadline := time.Now().Add(guard)
	for {
		c := dial(t, srv)
		first := c.line()
		if strings.HasPrefix(first, "peerd 9.9.9 on regtest: debug session") {
			c.expect(greeting(1)...)
			c.say("PING?", toWaiting)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session after one closed: %q", first)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestClientHangsUp: the session ends when the client goes, and the
// machine's move to closed is logged.
func TestClientHangsUp(t *testing.T) {
	var logBuf syncBuffer
	backend := btclog.NewBackend(&logBuf)
	l := backend.Logger("TLNT")
	l.SetLevel(btclog.LevelDebug)
	UseLogger(l)
	t.Cleanup(func() { UseLogger(btclog.Disabled) }) // after the server's cleanup

	srv, stop := startServer(t, Config{Console: &fakeConsole{}})
	c := open(t, srv)
	c.say("PING?", toWaiting)
	c.say("A", intoA, enterInnerA)
	c.c.Close()
	waitFor(t, "the hang up in the log", func() bool { return strings.Contains(logBuf.String(), "closed in state closed") })
	stop()
	got := logBuf.String()
	for _, want := range []string{
		"[INF] TLNT: Debug session 1 from 127.0.0.1:",
		"[DBG] TLNT: Debug session 1 (127.0.0.1:",
		"): welcome -> standby on at once",
		"): standby -> waiting on PING?",
		"): waiting -> A on A",
		"): A -> A/innerA on A",
		"): A -> closed on hang up",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
}

// TestConsole runs every console command against a fake node.
func TestConsole(t *testing.T) {
	fc := &fakeConsole{}
	srv, _ := startServer(t, Config{Console: fc})
	c := open(t, srv)

	c.send("/help\r\n")
	help := c.lines(len(helpText))
	for _, cmd := range []string{"/help", "/peers", "/peer ID", "/mempool", "/tx HEX", "/disconnect ID", "/killall", "/quit"} {
		if !strings.Contains(strings.Join(help, "\n"), "  "+cmd+" ") {
			t.Errorf("/help does not list %s:\n%s", cmd, strings.Join(help, "\n"))
		}
	}
	c.say("/HELP", helpText...) // commands are case-insensitive

	c.say("/peers", "no wire peers")
	c.say("/mempool", "the mempool is empty")
	fc.mu.Lock()
	fc.peers = []node.PeerInfo{peerInfo(2, "/btcd:0.25.0/"), peerInfo(1, "")}
	fc.peers[1].Inbound = true
	fc.peers[1].State = "handshake/awaitVersion"
	aa, bb := chainhash.Hash{0xaa}, chainhash.Hash{0xbb}
	fc.mempool = []node.MempoolEntry{
		{TxID: bb, VSize: 110, Added: time.Unix(2, 0), Propagation: mempool.Propagation{
			InvSent: []mempool.PeerEvent{{Peer: mempool.PeerRef{ID: 1}}, {Peer: mempool.PeerRef{ID: 2}}},
			Fetched: []mempool.PeerEvent{{Peer: mempool.PeerRef{ID: 2, Addr: "127.0.0.1:18444"}}}}},
		{TxID: aa, VSize: 200, Added: time.Unix(1, 0)},
	}
	fc.mu.Unlock()
	c.say("/peers", "2 wire peers:",
		"  1    127.0.0.1:40001        inbound  handshake/awaitVersion   -",
		"  2    127.0.0.1:40002        outbound standby                  /btcd:0.25.0/")
	c.say("/peer 2", "peer 2 127.0.0.1:40002 outbound, state standby, user agent /btcd:0.25.0/, ping 1.5ms, transport v1",
		"  "+clock(time.UnixMilli(1700000000250))+"  handshake/init -> handshake/sentVersion on start outbound",
		"  "+clock(time.UnixMilli(1700000000500))+"  handshake -> standby on handshake done")
	// A v2 peer: its BIP 324 session id, in hex as getpeerinfo's session_id.
	fc.mu.Lock()
	fc.peers[1].Transport, fc.peers[1].SessionID = "v2", bytes.Repeat([]byte{0xab, 0x01}, 16)
	fc.peers[1].Transitions = nil
	fc.mu.Unlock()
	c.say("/peer 1", "peer 1 127.0.0.1:40001 inbound, state handshake/awaitVersion, user agent -, ping 1.5ms, transport v2",
		"  session id "+strings.Repeat("ab01", 16),
		"  no transitions recorded")
	c.say("/peer 9", "no peer with id 9 (see /peers)")
	c.say("/peer", "usage: /peer ID (an id from /peers)")
	c.say("/peer x", "usage: /peer ID (an id from /peers)")
	c.say("/mempool", "2 transactions:",
		"  "+aa.String()+"  200 vB  announced to 0, fetched by nobody yet",
		"  "+bb.String()+"  110 vB  announced to 2, fetched by 2 (127.0.0.1:18444)")

	c.say("/tx 0200", "txid "+strings.Repeat("ab", 32))
	c.say("/tx bad", "error code: -22, error message: TX decode failed. Make sure the tx has at least one input.") // no hex
	c.say("/tx 00", "error code: -22, error message: TX decode failed. Make sure the tx has at least one input.")  // the node's
	c.say("/tx dead", "error: disk full")
	c.say("/tx", "usage: /tx HEX (a serialized transaction in hex)")

	c.say("/disconnect 2", "disconnecting 2")
	c.say("/disconnect 127.0.0.1:40001", "disconnecting 127.0.0.1:40001")
	c.say("/disconnect 7", "error code: -29, error message: Node not found in connected nodes")
	c.say("/disconnect", "usage: /disconnect ID (an id from /peers, or an address)")
	c.say("/killall", "disconnected 2 peers")
	c.say("/bogus arg", `unknown command "/bogus": try /help`)
	c.say("/", `unknown command "/": try /help`)

	fc.mu.Lock()
	fc.panics = true
	fc.mu.Unlock()
	c.say("/peers", "internal error in /peers: peer table on fire")
	c.say("PING?", toWaiting) // the session goes on

	fc.mu.Lock()
	defer fc.mu.Unlock()
	if len(fc.sent) != 1 || fc.sent[0] != "0200" || fc.killed != 1 ||
		strings.Join(fc.disconnected, " ") != "127.0.0.1:40002 127.0.0.1:40001" {
		t.Errorf("console saw sent %q, disconnected %q, killall %d times", fc.sent, fc.disconnected, fc.killed)
	}
}

// TestOfflineConsole: without a wire node (peerd --nowire), wire commands
// say so; the machine and /help, /quit work.
func TestOfflineConsole(t *testing.T) {
	for _, tc := range []struct {
		name    string
		console Console
		note    string
		answer  string
	}{
		{"Offline", Offline("no wire node (--nowire)"), "(no wire node (--nowire): the console's wire commands are off)", "no wire node (--nowire)"},
		{"nil", nil, "", "no wire node"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := startServer(t, Config{Console: tc.console})
			c := dial(t, srv)
			c.expect("")
			if tc.note != "" {
				c.expect(tc.note)
			}
			c.expect(greeting(1)...)
			for _, cmd := range []string{"/peers", "/peer 1", "/mempool", "/tx 00", "/disconnect 1", "/killall"} {
				c.say(cmd, tc.answer)
			}
			c.say("/help", helpText...)
			c.say("PING?", toWaiting)
			c.say("A", intoA, enterInnerA)
			c.say("PING", endFromA, pingHandedUp, "PONG")
			c.say("/quit", "[standby -> closed on hang up]", "bye")
			c.eof()
		})
	}
}

// TestShutdown: when Serve's context ends, every session hears why, its
// machine moves to closed, and Serve returns with no goroutine left.
func TestShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	srv, stop := startServer(t, Config{Console: &fakeConsole{}})
	s1 := open(t, srv)
	s2 := open(t, srv)
	s2.say("PING?", toWaiting)
	s3 := open(t, srv)
	s3.say("PING?", toWaiting)
	s3.say("A", intoA, enterInnerA)
	s3.send("half a li") // a partial line
	gone := open(t, srv)
	gone.c.Close()

	if err := stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	for _, s := range []struct {
		c     *client
		state string
	}{{s1, "standby"}, {s2, "waiting"}, {s3, "A"}} {
		s.c.expect("["+s.state+" -> closed on hang up]", "peerd is shutting down: bye")
		s.c.eof()
	}
	if _, err := dialErr(srv); err == nil {
		t.Error("the listener still accepts")
	}
	waitGoroutines(t, before)
}

// TestServeLeavesNoGoroutine: many sessions in every state, busy refusals
// and idle closes, then Serve returns and the goroutine count is back.
func TestServeLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	for round := range 3 {
		srv, stop := startServer(t, Config{Console: &fakeConsole{}, MaxSessions: 4, Idle: 150 * time.Millisecond})
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				c, err := dialErr(srv)
				if err != nil {
					t.Error(err)
					return
				}
				defer c.Close()
				switch i % 4 {
				case 0:
					fmt.Fprintf(c, "PING?\r\nBYE\r\n")
				case 1:
					fmt.Fprintf(c, "PING?\r\nA\r\nB\r\n")
				case 2:
					fmt.Fprintf(c, "%s", strings.Repeat("z", 4096))
				}
				time.Sleep(time.Duration(round*60) * time.Millisecond)
			})
		}
		wg.Wait()
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
	waitGoroutines(t, before)
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New with no address: no error")
	}
	srv, _ := startServer(t, Config{})
	if _, err := New(Config{Listen: srv.Addr().String()}); err == nil {
		t.Error("New on a port in use: no error")
	}
	// A server that never serves can be closed.
	s, err := New(Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Close makes a running Serve return.
	s2, err := New(Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s2.Serve(context.Background()) }()
	s2.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(guard):
		t.Fatal("Serve did not return after Close")
	}
}

// TestInterruptAndTimingMark: Ctrl-C in Debian's telnet sends IAC IP IAC
// DO TIMING-MARK and shows nothing until the answer to DO TIMING-MARK
// comes: the server answers WILL TIMING-MARK before anything else, then
// says the line was dropped. The half line typed before the interrupt is
// gone; AYT gets one line; AO drops the output not sent yet.
func TestInterruptAndTimingMark(t *testing.T) {
	const (
		iac, ip, ao, ayt, do, will, tm = "\xff", "\xf4", "\xf5", "\xf6", "\xfd", "\xfb", "\x06"
	)
	srv, _ := startServer(t, Config{Console: &fakeConsole{}})
	c := open(t, srv)
	c.say("PING?", toWaiting)
	c.send("half a li" + iac + ip + iac + do + tm)
	c.c.SetReadDeadline(time.Now().Add(guard))
	want := iac + will + tm + "\r\n(interrupted: the line was dropped; you are in waiting)\r\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c.r, got); err != nil || string(got) != want {
		t.Fatalf("after IP, DO TIMING-MARK: %q (%v), want %q", got, err, want)
	}
	// The half line is gone: what follows is a line of its own.
	c.say("A", intoA, enterInnerA)
	c.send(iac + ayt)
	c.expect("[yes: peerd debug session 1, in A/innerA]")
	c.send(iac + ao + iac + do + tm)
	want = iac + will + tm + "\r\n(output aborted; you are in A/innerA)\r\n"
	got = make([]byte, len(want))
	if _, err := io.ReadFull(c.r, got); err != nil || string(got) != want {
		t.Fatalf("after AO, DO TIMING-MARK: %q (%v), want %q", got, err, want)
	}
	c.say("/quit", "[A -> closed on hang up]", "bye")
	c.eof()
}
