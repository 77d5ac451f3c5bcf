package transport

import (
	"bytes"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
)

const testNet = wire.TestNet

// stutterConn hands out its bytes one at a time, with a deadline error
// between any two, as a read cut by deadlines and wake-ups sees them.
type stutterConn struct {
	net.Conn // nil: only Read is used
	data     []byte
	cut      bool
}

func (c *stutterConn) Read(p []byte) (int, error) {
	if c.cut = !c.cut; c.cut {
		return 0, os.ErrDeadlineExceeded
	}
	if len(c.data) == 0 {
		return 0, errors.New("no more data")
	}
	p[0] = c.data[0]
	c.data = c.data[1:]
	return 1, nil
}

func frames(t *testing.T, msgs ...wire.Message) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, m := range msgs {
		if _, err := wire.WriteMessageN(&b, m, wire.ProtocolVersion, testNet); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// TestV1ResumesAcrossDeadlines: a read interrupted after every byte loses
// nothing; each message arrives whole, and the byte count is exact.
func TestV1ResumesAcrossDeadlines(t *testing.T) {
	v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 42, 7)
	data := frames(t, v, wire.NewMsgPing(9), wire.NewMsgVerAck())
	tr := NewV1(&stutterConn{data: data}, testNet)
	var got []wire.Message
	cuts := 0
	for len(got) < 3 {
		msg, err := tr.Next()
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			cuts++
		case err != nil:
			t.Fatalf("after %d messages: %v", len(got), err)
		default:
			got = append(got, msg)
		}
	}
	if v2, ok := got[0].(*wire.MsgVersion); !ok || v2.Nonce != 42 {
		t.Errorf("first message %#v", got[0])
	}
	if p, ok := got[1].(*wire.MsgPing); !ok || p.Nonce != 9 {
		t.Errorf("second message %#v", got[1])
	}
	if got[2].Command() != wire.CmdVerAck {
		t.Errorf("third message %s", got[2].Command())
	}
	if cuts < len(data) {
		t.Errorf("%d cuts for %d bytes: the conn did not stutter", cuts, len(data))
	}
	if tr.BytesRead() != uint64(len(data)) {
		t.Errorf("BytesRead %d, want %d", tr.BytesRead(), len(data))
	}
}

// TestV1Writes: a step's messages leave in one Write, byte for byte what
// btcd writes; FlushSome keeps what its write did not take; the count of
// bytes written is exact either way.
func TestV1Writes(t *testing.T) {
	local, far := net.Pipe()
	defer local.Close()
	defer far.Close()
	tr := NewV1(local, testNet)
	want := frames(t, wire.NewMsgPing(1), wire.NewMsgPong(2))
	for _, m := range []wire.Message{wire.NewMsgPing(1), wire.NewMsgPong(2)} {
		if err := tr.Queue(m, wire.WitnessEncoding); err != nil {
			t.Fatal(err)
		}
	}
	if tr.Buffered() != len(want) {
		t.Fatalf("Buffered %d, want %d", tr.Buffered(), len(want))
	}
	read := make(chan []byte, 1)
	go func() {
		b := make([]byte, len(want)+10)
		n, _ := far.Read(b) // one Write on a pipe is one Read here
		read <- b[:n]
	}()
	if err := tr.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := <-read; !bytes.Equal(got, want) {
		t.Errorf("wrote %x\nwant  %x", got, want)
	}
	if tr.BytesWritten() != uint64(len(want)) || tr.Buffered() != 0 {
		t.Errorf("BytesWritten %d, Buffered %d", tr.BytesWritten(), tr.Buffered())
	}

	if err := tr.Queue(wire.NewMsgPing(3), wire.WitnessEncoding); err != nil {
		t.Fatal(err)
	}
	var took []byte
	partial := func(b []byte) (int, error) { took = append(took, b[:5]...); return 5, nil }
	if err := tr.FlushSome(partial); err != nil {
		t.Fatal(err)
	}
	if tr.Buffered() != 32-5 || tr.BytesWritten() != uint64(len(want)+5) {
		t.Errorf("after a partial write: Buffered %d, BytesWritten %d", tr.Buffered(), tr.BytesWritten())
	}
	all := func(b []byte) (int, error) { took = append(took, b...); return len(b), nil }
	if err := tr.FlushSome(all); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(took, frames(t, wire.NewMsgPing(3))) || tr.Buffered() != 0 {
		t.Errorf("FlushSome wrote %x, %d left", took, tr.Buffered())
	}
}

// TestV1RawConn: a TCP socket offers its descriptor for direct writes; a
// connection without one (net.Pipe) does not.
func TestV1RawConn(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := NewV1(c, testNet).RawConn(); !ok {
		t.Error("a TCP connection has no raw conn")
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, ok := NewV1(a, testNet).RawConn(); ok {
		t.Error("net.Pipe has a raw conn")
	}
}
