package transport

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/wireio"
)

// fuzzConn is an in-memory connection: Read hands out data in chunks of
// at most chunk bytes, with os.ErrDeadlineExceeded before each one when
// cut is set (as a read cut by wake-ups sees it), then io.EOF; Write
// discards.
type fuzzConn struct {
	data    []byte
	chunk   int
	cut     bool
	cutNext bool
	written int
}

func (c *fuzzConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	if c.cut {
		if c.cutNext = !c.cutNext; c.cutNext {
			return 0, os.ErrDeadlineExceeded
		}
	}
	n := copy(p[:min(len(p), c.chunk)], c.data)
	c.data = c.data[n:]
	return n, nil
}

func (c *fuzzConn) Write(p []byte) (int, error)        { c.written += len(p); return len(p), nil }
func (c *fuzzConn) Close() error                       { return nil }
func (c *fuzzConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (c *fuzzConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (c *fuzzConn) SetDeadline(t time.Time) error      { return nil }
func (c *fuzzConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *fuzzConn) SetWriteDeadline(t time.Time) error { return nil }

// fuzzGarbage is the associated data of a fuzzed session's first packet,
// when the session starts before the peer's version packet.
var fuzzGarbage = []byte("fuzz garbage")

// fixedSession returns a sender (initiator) and a receiver (responder)
// sharing keys derived from a constant secret, with the key exchange and
// garbage skipped: the receiver reads conn, from its version packet on
// (atVersion: the first packet is sealed with fuzzGarbage as associated
// data, and the first non-decoy one ends the handshake) or from the
// packets after it.
func fixedSession(t testing.TB, conn net.Conn, atVersion bool) (send, recv *V2) {
	secret := sha256.Sum256([]byte("peerd BIP 324 fuzz"))
	keys, err := deriveKeys(secret[:], wire.TestNet)
	if err != nil {
		t.Fatal(err)
	}
	send = &V2{initiator: true, pver: wire.ProtocolVersion}
	if _, err := send.establish(keys); err != nil {
		t.Fatal(err)
	}
	recv = &V2{conn: conn, net: wire.TestNet, stage: stPackets, pver: wire.ProtocolVersion}
	if _, err := recv.establish(keys); err != nil {
		t.Fatal(err)
	}
	recv.mode.Store(modeV2)
	recv.ready.Store(true)
	if atVersion {
		recv.stage, recv.aad = stVersion, bytes.Clone(fuzzGarbage)
	}
	return send, recv
}

// The fuzz input of FuzzV2Packets: a settings byte, then records.
//
// Settings: bit 0, the session starts at the peer's version packet; bit
// 1, every read is cut once by a deadline; bits 2-7, the connection's
// read size minus one (1 to 64 bytes).
//
// A record is a control byte, then what it says (c&3):
//   - 0: a packet: a 2-byte little-endian length n (taken modulo what is
//     left, plus one), then n bytes of contents (a short id or 0 and a
//     12-byte command, then the payload; or anything), sealed as is;
//     bit 2 of the control byte sets the ignore bit (a decoy).
//   - 1: a length field: its 3 plain bytes are next, encrypted with the
//     sender's length cipher and written without a body; what follows is
//     raw bytes.
//   - 2, 3: the rest of the input, raw, after the packets before it.
type fuzzPlan struct {
	atVersion, cut bool
	chunk          int
	wire           []byte // what the receiver reads
	packets        int    // sealed packets that are not decoys
	wellFormed     bool   // nothing but sealed packets
}

func planV2(t testing.TB, send *V2, data []byte) fuzzPlan {
	var p fuzzPlan
	if len(data) == 0 {
		return fuzzPlan{chunk: 1, wellFormed: true}
	}
	p.atVersion, p.cut, p.chunk = data[0]&1 != 0, data[0]&2 != 0, int(data[0]>>2)+1
	data = data[1:]
	var b bytes.Buffer
	aad := []byte(nil)
	if p.atVersion {
		aad = fuzzGarbage
	}
	p.wellFormed = true
	for len(data) > 0 {
		c := data[0]
		data = data[1:]
		switch c & 3 {
		case 0:
			if len(data) < 2 {
				b.Write(data)
				p.wellFormed = false
				data = nil
				continue
			}
			n := int(binary.LittleEndian.Uint16(data)) % (len(data) - 2 + 1)
			contents := data[2 : 2+n]
			data = data[2+n:]
			var header byte
			if c&4 != 0 {
				header = ignoreBit
			} else {
				p.packets++
			}
			if err := send.seal(&b, header, contents, aad); err != nil {
				t.Fatal(err)
			}
			aad = nil
		case 1:
			var le [lengthLen]byte
			k := copy(le[:], data)
			data = data[k:]
			enc, err := send.sendL.Crypt(le[:])
			if err != nil {
				t.Fatal(err)
			}
			b.Write(enc)
			b.Write(data)
			p.wellFormed, data = false, nil
		default:
			b.Write(data)
			p.wellFormed, data = false, nil
		}
	}
	p.wire = b.Bytes()
	return p
}

// FuzzV2Packets seals the fuzz input's packets (decoys, short ids 0 to
// 255, long commands, arbitrary contents) with a session's keys, adds
// raw bytes and forged length fields as it says, and reads them with the
// session's receiving side through a connection that hands out a few
// bytes at a time. Next must not panic, must never hold a packet buffer
// larger than a packet may be or than what was sent, and must return only
// messages, *wireio.SoftError, fatal errors wrapping ErrV2 or
// wireio.ErrOversized (the command table's misbehaviour), or the
// connection's own: os.ErrDeadlineExceeded, which it resumes after, and
// io.EOF or io.ErrUnexpectedEOF at the end. When the input is nothing but
// sealed packets, every packet that is not a decoy gives exactly one
// result, in order, unless a fatal error ends the session.
func FuzzV2Packets(f *testing.F) {
	rec := func(header byte, contents []byte) []byte {
		r := []byte{header, byte(len(contents)), byte(len(contents) >> 8)}
		return append(r, contents...)
	}
	long := func(cmd string, payload []byte) []byte {
		c := make([]byte, 1+wire.CommandSize)
		copy(c[1:], cmd)
		return append(c, payload...)
	}
	var version bytes.Buffer
	v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 7, 0)
	if err := v.BtcEncode(&version, wire.ProtocolVersion, wire.WitnessEncoding); err != nil {
		f.Fatal(err)
	}
	ping := []byte{18, 1, 2, 3, 4, 5, 6, 7, 8}
	session := bytes.Join([][]byte{
		rec(4, make([]byte, 30)), // a decoy, with the garbage as its associated data
		rec(0, nil),              // the version packet, no features
		rec(0, long(wire.CmdVersion, version.Bytes())),
		rec(0, long(wire.CmdWTxIdRelay, nil)),
		rec(0, long(wire.CmdVerAck, nil)),
		rec(0, ping),
		rec(4, nil),
		rec(0, []byte{14, 1, 5}), // an inv that claims one entry and holds none
		rec(0, []byte{200, 9}),   // an unknown short id
		rec(0, long("hello\x00x", nil)),
	}, nil)
	f.Add(append([]byte{1 | 7<<2}, session...))
	f.Add(append([]byte{1 | 2}, session...))
	f.Add(append([]byte{63 << 2}, rec(0, ping)...))
	f.Add(append([]byte{0}, append(rec(0, ping), 1, 0xff, 0xff, 0xff)...))
	f.Add(append([]byte{5 << 2}, append(rec(0, ping), 1, 5, 0, 0, 1, 2, 3)...))
	f.Add(append([]byte{2 << 2}, append(rec(0, ping), 3, 1, 2, 3)...))
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		conn := &fuzzConn{}
		send, recv := fixedSession(t, conn, len(data) > 0 && data[0]&1 != 0)
		p := planV2(t, send, data)
		conn.data, conn.chunk, conn.cut = p.wire, p.chunk, p.cut
		results, ready := 0, false
		var fatal error
		// Every result takes a packet (at least 20 bytes), every cut one
		// call: a bound on the calls that a reader that does not advance
		// would break.
		for calls := 0; ; calls++ {
			if calls > 2*len(p.wire)+4 {
				t.Fatalf("%d calls to Next for %d bytes", calls, len(p.wire))
			}
			msg, err := recv.Next()
			if b := recv.body; b != nil {
				if b.Len() > MaxContents+headerLen+tagLen || b.Len() > len(p.wire) {
					t.Fatalf("a packet buffer of %d bytes, from %d sent", b.Len(), len(p.wire))
				}
				if b.Cap() > MaxContents+20 {
					t.Fatalf("a packet buffer of capacity %d", b.Cap())
				}
			}
			var soft *wireio.SoftError
			switch {
			case err == nil:
				if h, ok := msg.(*Handshake); ok {
					if !h.Ready || ready || !p.atVersion {
						t.Fatalf("an unexpected %s", h.Command())
					}
					ready = true
					continue
				}
				if msg == nil {
					t.Fatal("no message and no error")
				}
				results++
				continue
			case errors.As(err, &soft):
				results++
				continue
			case errors.Is(err, os.ErrDeadlineExceeded):
				if !p.cut {
					t.Fatalf("a deadline that was never reached: %v", err)
				}
				continue
			case errors.Is(err, ErrV2), errors.Is(err, wireio.ErrOversized):
				fatal = err
			case err == io.EOF, err == io.ErrUnexpectedEOF:
			default:
				t.Fatalf("an error of no kind the contract names: %v", err)
			}
			break
		}
		recv.Release()
		if recv.body != nil {
			t.Fatal("Release kept the packet buffer")
		}
		if p.wellFormed && fatal == nil {
			want := p.packets
			if p.atVersion && want > 0 {
				if !ready {
					t.Fatal("the version packet did not end the handshake")
				}
				want--
			}
			if results != want {
				t.Fatalf("%d results from %d packets", results, want)
			}
		}
	})
}

// FuzzV2Detect gives the fuzz input to an inbound transport as the first
// bytes a peer sends: a v1 version header (then v1 messages), anything
// else as a v2 key, then garbage that never has the terminator (it
// cannot be guessed). Next must not panic, must end on an error once the
// input is used up, and must never buffer more garbage than MaxGarbage
// and a terminator.
func FuzzV2Detect(f *testing.F) {
	var v1 bytes.Buffer
	w := wireio.NewWriter(&v1, wire.TestNet)
	if err := w.Write(wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 3, 0)); err != nil {
		f.Fatal(err)
	}
	if err := w.Write(wire.NewMsgVerAck()); err != nil {
		f.Fatal(err)
	}
	f.Add(v1.Bytes())
	f.Add(v1.Bytes()[:v1PrefixLen])
	mainnet := append(v1Prefix(wire.MainNet), make([]byte, KeyLen)...)
	f.Add(mainnet) // a v1 version for another network
	out, err := NewV2(&fuzzConn{}, wire.TestNet)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(*out.pending.Load()) // an initiator's key and garbage
	f.Add(append(bytes.Repeat([]byte{0xab}, KeyLen), bytes.Repeat([]byte{0xcd}, MaxGarbage+TermLen+5)...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		conn := &fuzzConn{data: data, chunk: 1 + len(data)%61}
		in := NewDetect(conn, wire.TestNet)
		for calls := 0; ; calls++ {
			if calls > len(data)+4 {
				t.Fatalf("%d calls to Next for %d bytes", calls, len(data))
			}
			msg, err := in.Next()
			if hs := in.hs; hs != nil && (len(hs.garbage) > MaxGarbage+TermLen || cap(hs.garbage) > MaxGarbage+TermLen) {
				t.Fatalf("%d bytes of garbage buffered (capacity %d)", len(hs.garbage), cap(hs.garbage))
			}
			if err != nil {
				var soft *wireio.SoftError
				if errors.As(err, &soft) {
					continue
				}
				break
			}
			if _, ok := msg.(*Handshake); ok {
				if err := in.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if in.Name() == "v2" && in.stage != stKey && in.stage != stGarbage {
			t.Fatalf("a v2 session went past the garbage without the terminator: stage %d", in.stage)
		}
		in.Release()
	})
}
