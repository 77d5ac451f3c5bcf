package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/wireio"
)

// startFloor serves a regtest floor on a free loopback port.
func startFloor(t *testing.T) string {
	t.Helper()
	_, addr := serveFloor(t)
	return addr
}

// serveFloor is startFloor that also returns the floor.
func serveFloor(t *testing.T) (*floor, string) {
	t.Helper()
	f, err := newFloor(wire.TestNet)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { f.serve(l); close(done) }()
	t.Cleanup(func() { l.Close(); <-done })
	return f, l.Addr().String()
}

func encode(t *testing.T, magic wire.BitcoinNet, msgs ...wire.Message) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, m := range msgs {
		if _, err := wire.WriteMessageN(&b, m, wire.ProtocolVersion, magic); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func ourVersion() *wire.MsgVersion {
	zero := &wire.NetAddress{Timestamp: time.Unix(0, 0)}
	v := wire.NewMsgVersion(zero, zero, 7, 0)
	v.UserAgent = "/floortest:0/"
	return v
}

// expect reads the next messages and checks their commands.
func expect(t *testing.T, r *wireio.Reader, cmds ...string) []wire.Message {
	t.Helper()
	var got []wire.Message
	for _, want := range cmds {
		m, err := r.Next()
		if err != nil {
			t.Fatalf("reading %s: %v", want, err)
		}
		if m.Command() != want {
			t.Fatalf("got %s, want %s", m.Command(), want)
		}
		got = append(got, m)
	}
	return got
}

// TestHandshake: the floor answers a version with version, wtxidrelay,
// sendaddrv2 and verack, ignores what comes next, answers pings, and
// handles a client that writes one byte at a time (a header and a ping
// nonce split across reads) and messages it does not know.
func TestHandshake(t *testing.T) {
	addr := startFloor(t)
	for _, trickle := range []bool{false, true} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		send := func(b []byte) {
			t.Helper()
			if !trickle {
				if _, err := c.Write(b); err != nil {
					t.Fatal(err)
				}
				return
			}
			for i := range b {
				if _, err := c.Write(b[i : i+1]); err != nil {
					t.Fatal(err)
				}
			}
		}
		r := wireio.NewReader(c, wire.TestNet)
		// A ping before the version is not answered; an unknown message
		// is skipped.
		send(encode(t, wire.TestNet, wire.NewMsgPing(1), wire.NewMsgSendHeaders(), ourVersion()))
		got := expect(t, r, "version", "wtxidrelay", "sendaddrv2", "verack")
		if v := got[0].(*wire.MsgVersion); v.UserAgent != userAgent || v.ProtocolVersion != int32(wire.ProtocolVersion) {
			t.Errorf("version: %+v", v)
		}
		feeFilter := wire.NewMsgFeeFilter(1000)
		send(encode(t, wire.TestNet, wire.NewMsgWTxIdRelay(), wire.NewMsgSendAddrV2(), wire.NewMsgVerAck(), feeFilter, wire.NewMsgPing(42), wire.NewMsgPing(43)))
		for _, nonce := range []uint64{42, 43} {
			p := expect(t, r, "pong")[0].(*wire.MsgPong)
			if p.Nonce != nonce {
				t.Errorf("pong nonce %d, want %d", p.Nonce, nonce)
			}
		}
		c.Close()
	}
}

// greeted dials the floor, sends a version and reads the floor's four
// replies; the connection is closed when the test ends.
func greeted(t *testing.T, addr string) (net.Conn, *wireio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := wireio.NewReader(c, wire.TestNet)
	c.Write(encode(t, wire.TestNet, ourVersion()))
	expect(t, r, "version", "wtxidrelay", "sendaddrv2", "verack")
	return c, r
}

// TestLargePayload: a payload larger than the buffer is skipped, and a
// ping after it answered.
func TestLargePayload(t *testing.T) {
	c, r := greeted(t, startFloor(t))
	inv := wire.NewMsgInv()
	for i := range 1000 {
		inv.AddInvVect(wire.NewInvVect(wire.InvTypeTx, &chainhash.Hash{byte(i), byte(i >> 8)}))
	}
	c.Write(encode(t, wire.TestNet, inv, wire.NewMsgPing(9)))
	if p := expect(t, r, "pong")[0].(*wire.MsgPong); p.Nonce != 9 {
		t.Errorf("pong nonce %d", p.Nonce)
	}
}

// TestBadInput: a wrong magic, and a header that announces more than
// 4,000,000 bytes, end the connection at once.
func TestBadInput(t *testing.T) {
	addr := startFloor(t)
	huge := encode(t, wire.TestNet, wire.NewMsgVerAck())
	huge[16], huge[17], huge[18], huge[19] = 0x01, 0x09, 0x3d, 0x00 // 4,000,001
	for name, b := range map[string][]byte{
		"wrong magic": encode(t, wire.MainNet, ourVersion()),
		"oversized":   huge,
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write(b)
		n, err := io.Copy(io.Discard, c)
		if n != 0 || err != nil {
			t.Errorf("%s: read %d bytes, %v; want the connection closed with nothing sent", name, n, err)
		}
		c.Close()
	}
}

// TestRun: the command listens where told, answers, and stops when its
// context ends; bad command lines exit 2.
func TestRun(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan int)
	go func() { done <- run(ctx, []string{"--regtest", "--listen=" + addr}, &stdout, &stderr) }()
	var c net.Conn
	for i := 0; ; i++ {
		if c, err = net.Dial("tcp", addr); err == nil {
			break
		}
		if i == 200 {
			t.Fatalf("peerfloor does not listen: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write(encode(t, wire.TestNet, ourVersion()))
	expect(t, wireio.NewReader(c, wire.TestNet), "version", "wtxidrelay", "sendaddrv2", "verack")
	c.Close()
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--version"}, exitOK, "peerfloor version"},
		{[]string{"--help"}, exitOK, "--listen"},
		{[]string{"--regtest", "--simnet"}, exitUsage, "choose one network"},
		{[]string{"--bogus"}, exitUsage, "bogus"},
		{[]string{"--listen=127.0.0.1:bad"}, exitError, "bad"},
		{[]string{"--regtest", "--listen=127.0.0.1:0", "--rpclisten=0.0.0.0:0"}, exitError, "not a loopback address"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), c.args, &stdout, &stderr)
		if out := stdout.String() + stderr.String(); code != c.code || !strings.Contains(out, c.out) {
			t.Errorf("peerfloor %s: exit %d, want %d:\n%s", strings.Join(c.args, " "), code, c.code, out)
		}
	}
}
