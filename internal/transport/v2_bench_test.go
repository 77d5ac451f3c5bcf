package transport

import (
	"bytes"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2/ellswift"
	"github.com/btcsuite/btcd/wire/v2"
)

// memConn is one end of an in-memory connection for a single goroutine
// that drives both ends in turn: Write appends to the other end's input,
// and Read with nothing to read returns os.ErrDeadlineExceeded at once,
// which a Transport resumes after, as after a wake-up.
type memConn struct {
	in   *bytes.Buffer
	peer *memConn
}

func memPair() (a, b *memConn) {
	a, b = &memConn{in: new(bytes.Buffer)}, &memConn{in: new(bytes.Buffer)}
	a.peer, b.peer = b, a
	return a, b
}

func (c *memConn) Read(p []byte) (int, error) {
	if c.in.Len() == 0 {
		return 0, os.ErrDeadlineExceeded
	}
	return c.in.Read(p)
}

func (c *memConn) Write(p []byte) (int, error)        { return c.peer.in.Write(p) }
func (c *memConn) Close() error                       { return nil }
func (c *memConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (c *memConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (c *memConn) SetDeadline(t time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(t time.Time) error { return nil }

// stepHandshake runs tr's handshake as far as the bytes already there
// allow, flushing what each step queued; it reports whether tr is ready.
func stepHandshake(tb testing.TB, tr Transport) bool {
	for {
		msg, err := tr.Next()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return false
		}
		if err != nil {
			tb.Fatalf("%s: %v", tr.Name(), err)
		}
		h, ok := msg.(*Handshake)
		if !ok {
			tb.Fatalf("%s: a message during the handshake: %s", tr.Name(), msg.Command())
		}
		if err := tr.Flush(); err != nil {
			tb.Fatal(err)
		}
		if h.Ready {
			return true
		}
	}
}

// memSession runs a whole v2 handshake, both sides in this goroutine,
// over an in-memory connection.
func memSession(tb testing.TB) (out, in *V2) {
	a, b := memPair()
	out, err := NewV2(a, wire.TestNet)
	if err != nil {
		tb.Fatal(err)
	}
	in = NewDetect(b, wire.TestNet)
	if err := out.Flush(); err != nil {
		tb.Fatal(err)
	}
	for outReady, inReady := false, false; !outReady || !inReady; {
		if !inReady {
			inReady = stepHandshake(tb, in)
		}
		if !outReady {
			outReady = stepHandshake(tb, out)
		}
	}
	return out, in
}

// BenchmarkV2Handshake is a whole BIP 324 handshake, both sides (an
// outbound V2 and an inbound one that detects v2), in memory: two keys
// made, two ECDHs, key derivation, garbage (random, 2 kB on average each
// way), terminators and version packets. BenchmarkV2KeyExchange is the
// elliptic-curve part of it alone; the difference is the rest.
func BenchmarkV2Handshake(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		memSession(b)
	}
}

// BenchmarkV2KeyExchange is the key exchange of both sides of a handshake
// alone: two ElligatorSwift keys made (ellswift.EllswiftCreate) and two
// ECDHs (ellswift.V2Ecdh).
func BenchmarkV2KeyExchange(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		privA, ellA, err := ellswift.EllswiftCreate()
		if err != nil {
			b.Fatal(err)
		}
		privB, ellB, err := ellswift.EllswiftCreate()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ellswift.V2Ecdh(privA, ellB, ellA, true); err != nil {
			b.Fatal(err)
		}
		if _, err := ellswift.V2Ecdh(privB, ellA, ellB, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkV2Seal is one ping sealed into a packet (Queue) and handed to
// a write that takes it all (FlushSome).
func BenchmarkV2Seal(b *testing.B) {
	out, _ := memSession(b)
	ping := wire.NewMsgPing(1)
	discard := func(p []byte) (int, error) { return len(p), nil }
	b.ReportAllocs()
	for b.Loop() {
		if err := out.Queue(ping, wire.WitnessEncoding); err != nil {
			b.Fatal(err)
		}
		if err := out.FlushSome(discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkV2Open is one ping packet read, authenticated, decrypted and
// decoded (Next), from packets sealed beforehand in batches outside the
// timing.
func BenchmarkV2Open(b *testing.B) {
	out, in := memSession(b)
	const batch = 1024
	ping := wire.NewMsgPing(1)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%batch == 0 {
			b.StopTimer()
			for range batch {
				if err := out.Queue(ping, wire.WitnessEncoding); err != nil {
					b.Fatal(err)
				}
			}
			if err := out.Flush(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		msg, err := in.Next()
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := msg.(*wire.MsgPing); !ok {
			b.Fatalf("got %s", msg.Command())
		}
	}
}
