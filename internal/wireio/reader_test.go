package wireio

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

const testNet = wire.MainNet

// ---------------------------------------------------------------------------
// Helpers shared by reader_test.go, writer_test.go and fuzz_test.go.

// rawFrame builds a message header with the given fields followed by payload.
// The length field is announced as given, whatever len(payload) is.
func rawFrame(magic wire.BitcoinNet, cmd string, length uint32, sum [4]byte, payload []byte) []byte {
	b := make([]byte, HeaderSize, HeaderSize+len(payload))
	binary.LittleEndian.PutUint32(b[0:4], uint32(magic))
	copy(b[4:16], cmd)
	binary.LittleEndian.PutUint32(b[16:20], length)
	copy(b[20:24], sum[:])
	return append(b, payload...)
}

func checksum(p []byte) [4]byte {
	s := sha256.Sum256(p)
	s = sha256.Sum256(s[:])
	return [4]byte(s[:4])
}

// frame builds a well-formed message on testNet: correct length and checksum
// for payload, under any command bytes (cmd may hold invalid bytes).
func frame(cmd string, payload []byte) []byte {
	return rawFrame(testNet, cmd, uint32(len(payload)), checksum(payload), payload)
}

// recordingWriter records every Write call, copying the bytes (io.Writer
// implementations must not retain p).
type recordingWriter struct {
	writes [][]byte
	err    error // returned by every Write when set
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.writes = append(w.writes, bytes.Clone(p))
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// countingReader counts the bytes handed out by the wrapped reader.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// chunkReader hands out data in reads of the given sizes, then the rest in
// one read.
type chunkReader struct {
	data   []byte
	chunks []int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.chunks) > 0 {
		n = min(c.chunks[0], n)
		c.chunks = c.chunks[1:]
	}
	n = copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// encode writes msg with a Writer on testNet and returns the single write.
func encode(t testing.TB, msg wire.Message) []byte {
	t.Helper()
	var rec recordingWriter
	if err := NewWriter(&rec, testNet).Write(msg); err != nil {
		t.Fatalf("Write(%s): %v", msg.Command(), err)
	}
	if len(rec.writes) != 1 {
		t.Fatalf("Write(%s): %d Write calls, want 1", msg.Command(), len(rec.writes))
	}
	return rec.writes[0]
}

// payloadOf returns the encoded payload of msg.
func payloadOf(t testing.TB, msg wire.Message) []byte {
	t.Helper()
	return encode(t, msg)[HeaderSize:]
}

func testHash(b byte) chainhash.Hash {
	var h chainhash.Hash
	for i := range h {
		h[i] = b + byte(i)
	}
	return h
}

func sampleVersion() *wire.MsgVersion {
	return &wire.MsgVersion{
		ProtocolVersion: int32(wire.ProtocolVersion),
		Services:        wire.SFNodeNetwork | wire.SFNodeWitness | wire.SFNodeNetworkLimited,
		Timestamp:       time.Unix(1_700_000_000, 0),
		AddrYou:         wire.NetAddress{Services: wire.SFNodeNetwork, IP: net.ParseIP("203.0.113.7"), Port: 8333},
		AddrMe:          wire.NetAddress{Services: wire.SFNodeWitness, IP: net.ParseIP("2001:db8::1"), Port: 18333},
		Nonce:           0x0123456789abcdef,
		UserAgent:       "/peerd:0.1.0/",
		LastBlock:       870_000,
		DisableRelayTx:  true,
	}
}

func sampleInvList(n int) []*wire.InvVect {
	l := make([]*wire.InvVect, n)
	for i := range l {
		l[i] = &wire.InvVect{Type: wire.InvTypeWitnessTx, Hash: testHash(byte(i))}
	}
	return l
}

// sampleWitnessTx is a segwit transaction: every input carries a witness so
// that the decoded form is DeepEqual to this one.
func sampleWitnessTx() *wire.MsgTx {
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(&wire.TxIn{
		PreviousOutPoint: wire.OutPoint{Hash: testHash(1), Index: 3},
		SignatureScript:  []byte{},
		Witness:          wire.TxWitness{bytes.Repeat([]byte{0x30}, 71), bytes.Repeat([]byte{0x02}, 33)},
		Sequence:         0xfffffffd,
	})
	tx.AddTxIn(&wire.TxIn{
		PreviousOutPoint: wire.OutPoint{Hash: testHash(2), Index: 0},
		SignatureScript:  []byte{0x16, 0x00, 0x14},
		Witness:          wire.TxWitness{{0x01}, {}},
		Sequence:         0xffffffff,
	})
	tx.AddTxOut(wire.NewTxOut(50_000, append([]byte{0x00, 0x14}, bytes.Repeat([]byte{0xab}, 20)...)))
	tx.AddTxOut(wire.NewTxOut(1_234, append([]byte{0x51, 0x20}, bytes.Repeat([]byte{0xcd}, 32)...)))
	tx.LockTime = 870_000
	return tx
}

func sampleLegacyTx() *wire.MsgTx {
	tx := wire.NewMsgTx(1)
	tx.AddTxIn(&wire.TxIn{
		PreviousOutPoint: wire.OutPoint{Hash: testHash(9), Index: 1},
		SignatureScript:  bytes.Repeat([]byte{0x47}, 106),
		Sequence:         0xffffffff,
	})
	tx.AddTxOut(wire.NewTxOut(99_000, append([]byte{0x76, 0xa9, 0x14}, bytes.Repeat([]byte{0x11}, 20)...)))
	return tx
}

func sampleAddr() *wire.MsgAddr {
	return &wire.MsgAddr{AddrList: []*wire.NetAddress{
		{Timestamp: time.Unix(1_700_000_100, 0), Services: wire.SFNodeNetwork, IP: net.ParseIP("198.51.100.1"), Port: 8333},
		{Timestamp: time.Unix(1_700_000_200, 0), Services: wire.SFNodeWitness, IP: net.ParseIP("2001:db8::42"), Port: 8334},
	}}
}

func sampleAddrV2() *wire.MsgAddrV2 {
	ts := time.Unix(1_700_000_300, 0)
	return &wire.MsgAddrV2{AddrList: []*wire.NetAddressV2{
		wire.NetAddressV2FromBytes(ts, wire.SFNodeNetwork, net.ParseIP("198.51.100.2").To4(), 8333),
		wire.NetAddressV2FromBytes(ts, wire.SFNodeWitness, net.ParseIP("2001:db8::43"), 8333),
		wire.NetAddressV2FromBytes(ts, wire.SFNodeNetwork|wire.SFNodeWitness, bytes.Repeat([]byte{0x5a}, wire.TorV3Size), 9050),
	}}
}

type namedMsg struct {
	name string
	msg  wire.Message
}

// sampleMessages returns one message of every command newMessage decodes.
func sampleMessages() []namedMsg {
	return []namedMsg{
		{"version", sampleVersion()},
		{"verack", &wire.MsgVerAck{}},
		{"wtxidrelay", &wire.MsgWTxIdRelay{}},
		{"sendaddrv2", &wire.MsgSendAddrV2{}},
		{"ping", &wire.MsgPing{Nonce: 0xdeadbeefcafef00d}},
		{"pong", &wire.MsgPong{Nonce: 0x1122334455667788}},
		{"inv", &wire.MsgInv{InvList: sampleInvList(3)}},
		{"getdata", &wire.MsgGetData{InvList: sampleInvList(2)}},
		{"notfound", &wire.MsgNotFound{InvList: sampleInvList(1)}},
		{"tx witness", sampleWitnessTx()},
		{"tx legacy", sampleLegacyTx()},
		{"mempool", &wire.MsgMemPool{}},
		{"feefilter", &wire.MsgFeeFilter{MinFee: 1000}},
		{"sendheaders", &wire.MsgSendHeaders{}},
		{"getaddr", &wire.MsgGetAddr{}},
		{"addr", sampleAddr()},
		{"addrv2", sampleAddrV2()},
	}
}

// sampleStream is every sample message back to back.
func sampleStream(t testing.TB) ([]byte, []wire.Message) {
	var stream []byte
	var msgs []wire.Message
	for _, s := range sampleMessages() {
		stream = append(stream, encode(t, s.msg)...)
		msgs = append(msgs, s.msg)
	}
	return stream, msgs
}

// readAll calls Next until it fails and returns the messages and the error.
func readAll(r *Reader) ([]wire.Message, error) {
	var msgs []wire.Message
	for {
		m, err := r.Next()
		if err != nil {
			return msgs, err
		}
		msgs = append(msgs, m)
	}
}

func checkMessages(t *testing.T, got, want []wire.Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("message %d (%s): got %+v, want %+v", i, want[i].Command(), got[i], want[i])
		}
	}
}

func isFatal(err error) bool {
	var se *SoftError
	return err != nil && !errors.As(err, &se)
}

// allocated returns the bytes allocated on the heap while f runs.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// pongMsg is the well-formed message sent after a bad one to show the
// stream is still usable.
var pongMsg = &wire.MsgPong{Nonce: 0x0102030405060708}

// ---------------------------------------------------------------------------
// 1. Round trip.

func TestRoundTrip(t *testing.T) {
	for _, tc := range sampleMessages() {
		t.Run(tc.name, func(t *testing.T) {
			var rec recordingWriter
			w := NewWriter(&rec, testNet)
			if err := w.Write(tc.msg); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if len(rec.writes) != 1 {
				t.Fatalf("Writer made %d Write calls, want exactly 1", len(rec.writes))
			}
			wireBytes := rec.writes[0]

			// The Writer emits exactly what btcd would.
			var ref bytes.Buffer
			if _, err := wire.WriteMessageWithEncodingN(&ref, tc.msg, wire.ProtocolVersion, testNet, wire.WitnessEncoding); err != nil {
				t.Fatalf("wire.WriteMessageWithEncodingN: %v", err)
			}
			if !bytes.Equal(wireBytes, ref.Bytes()) {
				t.Fatalf("Writer bytes differ from wire.WriteMessageWithEncodingN:\n got %x\nwant %x", wireBytes, ref.Bytes())
			}

			cr := &countingReader{r: bytes.NewReader(wireBytes)}
			r := NewReader(cr, testNet)
			got, err := r.Next()
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if got.Command() != tc.msg.Command() {
				t.Fatalf("command %q, want %q", got.Command(), tc.msg.Command())
			}
			if !reflect.DeepEqual(got, tc.msg) {
				t.Errorf("decoded message differs:\n got %#v\nwant %#v", got, tc.msg)
			}
			if again := encode(t, got); !bytes.Equal(again, wireBytes) {
				t.Errorf("re-encoding differs:\n got %x\nwant %x", again, wireBytes)
			}
			if used := cr.n - r.Buffered(); used != len(wireBytes) {
				t.Errorf("used %d bytes, want %d", used, len(wireBytes))
			}
			if _, err := r.Next(); err != io.EOF {
				t.Errorf("Next at end of stream: %v, want io.EOF", err)
			}
		})
	}
}

// The decoded message must not alias the Reader's payload buffer, which the
// next call reuses (and, above 64 KiB, drops).
func TestMessagesDoNotAliasReaderBuffer(t *testing.T) {
	first := []wire.Message{
		&wire.MsgInv{InvList: sampleInvList(5)},
		sampleWitnessTx(),
		sampleVersion(),
		sampleAddrV2(),
		&wire.MsgInv{InvList: sampleInvList(2500)}, // > 64 KiB payload
	}
	overwrite := &wire.MsgInv{InvList: make([]*wire.InvVect, 3000)}
	for i := range overwrite.InvList {
		overwrite.InvList[i] = &wire.InvVect{Type: wire.InvTypeBlock, Hash: chainhash.Hash(bytes.Repeat([]byte{0xee}, 32))}
	}
	for _, m := range first {
		t.Run(m.Command(), func(t *testing.T) {
			want := encode(t, m)
			stream := append(bytes.Clone(want), encode(t, overwrite)...)
			stream = append(stream, encode(t, &wire.MsgPing{Nonce: ^uint64(0)})...)
			r := NewReader(bytes.NewReader(stream), testNet)
			got, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if _, err := r.Next(); err != nil {
					t.Fatal(err)
				}
			}
			if again := encode(t, got); !bytes.Equal(again, want) {
				t.Errorf("first message changed after later reads")
			}
		})
	}
}

// ---------------------------------------------------------------------------
// 2. Streams and EOF.

func TestStreamInOrder(t *testing.T) {
	stream, want := sampleStream(t)
	// Twice over, to cover buffer reuse between messages of every size.
	stream = append(stream, stream...)
	want = append(want, want...)
	got, err := readAll(NewReader(bytes.NewReader(stream), testNet))
	if err != io.EOF {
		t.Fatalf("stream ended with %v, want io.EOF", err)
	}
	checkMessages(t, got, want)
}

func TestEOF(t *testing.T) {
	ping := encode(t, &wire.MsgPing{Nonce: 7})
	verack := encode(t, &wire.MsgVerAck{})
	unknown := frame("sendcmpct", make([]byte, 9))
	invalid := frame("ver\x01ack", make([]byte, 9))
	cases := []struct {
		name   string
		stream []byte
		msgs   int // messages read before the error
		want   error
	}{
		{"empty stream", nil, 0, io.EOF},
		{"after one message", ping, 1, io.EOF},
		{"after zero-length payload", verack, 1, io.EOF},
		{"after two messages", append(bytes.Clone(ping), verack...), 2, io.EOF},
		{"one header byte", ping[:1], 0, io.ErrUnexpectedEOF},
		{"23 header bytes", ping[:23], 0, io.ErrUnexpectedEOF},
		{"header only, payload announced", ping[:24], 0, io.ErrUnexpectedEOF},
		{"payload cut by one byte", ping[:len(ping)-1], 0, io.ErrUnexpectedEOF},
		{"second header cut", append(bytes.Clone(ping), verack[:10]...), 1, io.ErrUnexpectedEOF},
		{"second payload cut", append(bytes.Clone(verack), ping[:27]...), 1, io.ErrUnexpectedEOF},
		{"unknown command payload cut", unknown[:len(unknown)-1], 0, io.ErrUnexpectedEOF},
		{"invalid command payload cut", invalid[:len(invalid)-1], 0, io.ErrUnexpectedEOF},
		{"after unknown command", unknown, 1, io.EOF},
		{"tx header claiming 3,999,000 bytes", rawFrame(testNet, "tx", 3_999_000, [4]byte{}, make([]byte, 100)), 0, io.ErrUnexpectedEOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(NewReader(bytes.NewReader(tc.stream), testNet))
			if len(got) != tc.msgs {
				t.Errorf("read %d messages before the error, want %d", len(got), tc.msgs)
			}
			if err != tc.want {
				t.Errorf("error %v, want exactly %v", err, tc.want)
			}
		})
	}
}

// Errors other than EOF from the underlying reader come back unchanged.
func TestUnderlyingErrorPassesThrough(t *testing.T) {
	boom := errors.New("boom")
	ping := encode(t, &wire.MsgPing{Nonce: 7})
	for _, cut := range []int{0, 10, 24, 30} {
		r := NewReader(io.MultiReader(bytes.NewReader(ping[:cut]), iotest.ErrReader(boom)), testNet)
		if _, err := r.Next(); !errors.Is(err, boom) {
			t.Errorf("cut at %d: error %v, want %v", cut, err, boom)
		}
	}
}

// ---------------------------------------------------------------------------
// 3. Split reads.

func TestSplitReads(t *testing.T) {
	stream, want := sampleStream(t)
	readers := []struct {
		name string
		r    func() io.Reader
	}{
		{"OneByteReader", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) }},
		{"HalfReader", func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) }},
		{"DataErrReader", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(stream)) }},
		{"DataErrReader(OneByteReader)", func() io.Reader {
			return iotest.DataErrReader(iotest.OneByteReader(bytes.NewReader(stream)))
		}},
		{"odd chunks", func() io.Reader {
			return &chunkReader{data: stream, chunks: []int{3, 20, 1, 7, 100, 23, 2, 1, 1, 64, 5, 24, 13}}
		}},
	}
	for _, rc := range readers {
		t.Run(rc.name, func(t *testing.T) {
			got, err := readAll(NewReader(rc.r(), testNet))
			if err != io.EOF {
				t.Fatalf("stream ended with %v, want io.EOF", err)
			}
			checkMessages(t, got, want)
		})
	}
}

// Every split point of a two-message stream, including every split of each
// 24-byte header, yields both messages.
func TestEverySplitPoint(t *testing.T) {
	want := []wire.Message{&wire.MsgPing{Nonce: 42}, sampleVersion()}
	stream := append(encode(t, want[0]), encode(t, want[1])...)
	for cut := 1; cut < len(stream); cut++ {
		got, err := readAll(NewReader(&chunkReader{data: stream, chunks: []int{cut}}, testNet))
		if err != io.EOF {
			t.Fatalf("cut at %d: stream ended with %v, want io.EOF", cut, err)
		}
		checkMessages(t, got, want)
	}
}

// stallReader gives data in one-byte reads and fails with errStall once
// before the bytes at each offset in stalls, as a connection does when its
// read deadline passes (or is moved to wake the peer's goroutine) in the
// middle of a message.
type stallReader struct {
	data   []byte
	off    int
	stalls map[int]bool
}

var errStall = errors.New("stall (a read deadline)")

func (r *stallReader) Read(p []byte) (int, error) {
	if r.stalls[r.off] {
		delete(r.stalls, r.off)
		return 0, errStall
	}
	if r.off == len(r.data) {
		return 0, io.EOF
	}
	p[0] = r.data[r.off]
	r.off++
	return 1, nil
}

// A read that fails in the middle of any part of a message (header,
// decoded payload, discarded payload, invalid command) loses nothing: the
// next call to Next resumes the message, and the stream comes out whole.
func TestResumesAfterAnyStall(t *testing.T) {
	stream, want := sampleStream(t)
	unknown := rawFrame(testNet, "headers", 5, [4]byte{}, []byte{1, 2, 3, 4, 5})
	invalid := rawFrame(testNet, "pi\x01ng", 3, [4]byte{}, []byte{1, 2, 3})
	stream = append(append(stream, unknown...), invalid...)
	stream = append(stream, encode(t, pongMsg)...)
	want = append(want, &Unknown{Cmd: "headers", Size: 5}, nil, pongMsg)
	for _, every := range []int{1, 2, 7} {
		stalls := map[int]bool{}
		for i := 0; i < len(stream); i += every {
			stalls[i] = true
		}
		r := NewReader(&stallReader{data: stream, stalls: stalls}, testNet)
		var got []wire.Message
		for {
			m, err := r.Next()
			var soft *SoftError
			switch {
			case errors.Is(err, errStall):
				continue
			case errors.As(err, &soft):
				got = append(got, nil)
				continue
			case err == io.EOF:
			case err != nil:
				t.Fatalf("stall every %d bytes: %v", every, err)
			default:
				got = append(got, m)
				continue
			}
			break
		}
		if len(got) != len(want) {
			t.Fatalf("stall every %d bytes: read %d messages, want %d", every, len(got), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("stall every %d bytes: message %d: got %+v, want %+v", every, i, got[i], want[i])
			}
		}
	}
}

// A stall inside a message is not a clean end: EOF after it is unexpected.
func TestEOFAfterStallMidHeader(t *testing.T) {
	ping := encode(t, &wire.MsgPing{Nonce: 1})
	r := NewReader(&stallReader{data: ping[:10], stalls: map[int]bool{10: true}}, testNet)
	if _, err := r.Next(); !errors.Is(err, errStall) {
		t.Fatalf("got %v, want the stall", err)
	}
	if _, err := r.Next(); err != io.ErrUnexpectedEOF {
		t.Fatalf("got %v, want io.ErrUnexpectedEOF", err)
	}
}

// ---------------------------------------------------------------------------
// 4. Fatal errors, before any payload byte is consumed.

func TestFatalErrorsBeforePayload(t *testing.T) {
	body := bytes.Repeat([]byte{0xaa}, 2048) // bytes the Reader must not touch
	cases := []struct {
		name   string
		header []byte
		want   error
	}{
		{"testnet3 magic", rawFrame(wire.TestNet3, "ping", 8, [4]byte{}, nil), ErrBadMagic},
		{"zero magic", rawFrame(0, "verack", 0, checksum(nil), nil), ErrBadMagic},
		{"magic byte-swapped", rawFrame(0xf9beb4d9, "ping", 8, [4]byte{}, nil), ErrBadMagic},
		{"bad magic with oversized length", rawFrame(wire.TestNet3, "tx", 0xffffffff, [4]byte{}, nil), ErrBadMagic},
		{"length 4,000,001", rawFrame(testNet, "tx", MaxPayload+1, [4]byte{}, nil), ErrOversized},
		{"length 0xffffffff", rawFrame(testNet, "block", 0xffffffff, [4]byte{}, nil), ErrOversized},
		{"unknown command 4,000,001", rawFrame(testNet, "foo", MaxPayload+1, [4]byte{}, nil), ErrOversized},
		{"invalid command 4,000,001", rawFrame(testNet, "ver\x01ack", MaxPayload+1, [4]byte{}, nil), ErrOversized},
		{"ping 1025", rawFrame(testNet, "ping", MinCommandLimit+1, [4]byte{}, nil), ErrOversized},
		{"pong 1025", rawFrame(testNet, "pong", MinCommandLimit+1, [4]byte{}, nil), ErrOversized},
		{"verack 1025", rawFrame(testNet, "verack", MinCommandLimit+1, [4]byte{}, nil), ErrOversized},
		{"feefilter 1025", rawFrame(testNet, "feefilter", MinCommandLimit+1, [4]byte{}, nil), ErrOversized},
		{"version 1025", rawFrame(testNet, "version", MinCommandLimit+1, [4]byte{}, nil), ErrOversized},
		{"inv above 50,000 entries", rawFrame(testNet, "inv", 9+50_000*36+1, [4]byte{}, nil), ErrOversized},
		{"getdata above 50,000 entries", rawFrame(testNet, "getdata", 9+50_000*36+1, [4]byte{}, nil), ErrOversized},
		{"addr above 1,000 entries", rawFrame(testNet, "addr", 9+1000*30+1, [4]byte{}, nil), ErrOversized},
		{"tx 4,000,001", rawFrame(testNet, "tx", 4_000_001, [4]byte{}, nil), ErrOversized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cr := &countingReader{r: bytes.NewReader(append(tc.header, body...))}
			r := NewReader(cr, testNet)
			var msg wire.Message
			var err error
			alloc := allocated(func() { msg, err = r.Next() })
			if msg != nil {
				t.Errorf("got message %T, want none", msg)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want errors.Is %v", err, tc.want)
			}
			if !isFatal(err) {
				t.Errorf("error %v is a SoftError, want fatal", err)
			}
			// Read ahead, at most readAhead bytes; used: the header.
			if used := cr.n - r.Buffered(); used != HeaderSize || cr.n > HeaderSize+readAhead {
				t.Errorf("used %d bytes (read %d), want exactly %d (the header), read at most %d",
					used, cr.n, HeaderSize, HeaderSize+readAhead)
			}
			if alloc > 64<<10 {
				t.Errorf("allocated %d bytes for a rejected header", alloc)
			}
		})
	}
}

// The largest lengths each command accepts are not fatal.
func TestLengthLimitsAccepted(t *testing.T) {
	cases := []struct {
		cmd    string
		length uint32
	}{
		{"ping", MinCommandLimit},
		{"verack", MinCommandLimit},
		{"feefilter", MinCommandLimit},
		{"tx", MaxPayload},
		{"block", MaxPayload},
		{"foo", MaxPayload},
	}
	for _, tc := range cases {
		payload := make([]byte, tc.length)
		r := NewReader(bytes.NewReader(frame(tc.cmd, payload)), testNet)
		if _, err := r.Next(); isFatal(err) {
			t.Errorf("%s announcing %d bytes: fatal error %v", tc.cmd, tc.length, err)
		}
	}
}

func TestMaxPayloadFor(t *testing.T) {
	pver := wire.ProtocolVersion
	cases := []struct {
		msg  wire.Message
		want uint32
	}{
		{&wire.MsgPing{}, MinCommandLimit},
		{&wire.MsgVerAck{}, MinCommandLimit},
		{&wire.MsgFeeFilter{}, MinCommandLimit},
		{&wire.MsgVersion{}, MinCommandLimit},
		{&wire.MsgInv{}, 9 + 50_000*36},
		{&wire.MsgGetData{}, 9 + 50_000*36},
		{&wire.MsgNotFound{}, 9 + 50_000*36},
		{&wire.MsgAddr{}, 9 + 1000*30},
		{&wire.MsgAddrV2{}, 3 + 1000*531},
		{&wire.MsgTx{}, 4_000_000},
		{&wire.MsgBlock{}, MaxPayload},
		{&Unknown{}, MaxPayload},
	}
	for _, tc := range cases {
		if got := MaxPayloadFor(tc.msg, pver); got != tc.want {
			t.Errorf("MaxPayloadFor(%T) = %d, want %d", tc.msg, got, tc.want)
		}
	}
}

// ---------------------------------------------------------------------------
// 5. Soft errors.

// versionPrefix returns the first 80 payload bytes of a version message:
// everything before the user agent.
func versionPrefix(t testing.TB) []byte {
	return bytes.Clone(payloadOf(t, sampleVersion())[:versionUAAt])
}

func TestSoftErrors(t *testing.T) {
	ping := encode(t, &wire.MsgPing{Nonce: 1})
	badSum := bytes.Clone(ping)
	badSum[20] ^= 0xff
	version := payloadOf(t, sampleVersion())
	inv1 := payloadOf(t, &wire.MsgInv{InvList: sampleInvList(1)})
	addr1 := payloadOf(t, &wire.MsgAddr{AddrList: sampleAddr().AddrList[:1]})
	wtx := payloadOf(t, sampleWitnessTx())

	ua257 := append(versionPrefix(t), 0xfd, 0x01, 0x01)
	ua257 = append(ua257, bytes.Repeat([]byte{'a'}, 257)...)
	ua257 = append(ua257, 0, 0, 0, 0, 1)
	uaHuge := append(versionPrefix(t), 0xfe, 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c')
	uaHuge64 := append(versionPrefix(t), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 'a')
	uaShort := append(versionPrefix(t), 13, '/', 'p', 'e')

	// A legacy-looking transaction carrying the witness marker and flag but
	// no witness items.
	superfluous := []byte{1, 0, 0, 0, 0x00, 0x01, 1}
	superfluous = append(superfluous, make([]byte, 36)...)
	superfluous = append(superfluous, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

	// addrv2 entry: ipv4 network id announcing a 5-byte address.
	addrv2Bad := []byte{1, 0, 0, 0, 0, 1, 1, 5, 1, 2, 3, 4, 5, 0x20, 0x8d}

	cases := []struct {
		name    string
		msg     []byte
		command string // SoftError.Command
		reason  string // substring of SoftError.Reason
	}{
		{"bad checksum", badSum, "ping", "bad checksum"},
		{"bad checksum, empty payload", rawFrame(testNet, "verack", 0, [4]byte{1, 2, 3, 4}, nil), "verack", "bad checksum"},
		{"control byte in command", frame("ver\x01ack", nil), `"ver\x01ack"`, "invalid command"},
		{"control byte in command, with payload", frame("ver\x01ack", make([]byte, 100)), `"ver\x01ack"`, "invalid command"},
		{"byte after NUL", frame("ping\x00x", make([]byte, 8)), `"ping\x00x"`, "invalid command"},
		{"byte after NUL at the end", frame("ping\x00\x00\x00\x00\x00\x00\x00!", make([]byte, 8)), "", "invalid command"},
		{"leading NUL", frame("\x00ping", make([]byte, 8)), "", "invalid command"},
		{"DEL in command", frame("pi\x7fng", make([]byte, 8)), "", "invalid command"},
		{"high byte in command", frame("p\xe9ng", make([]byte, 8)), "", "invalid command"},
		{"tab in command", frame("ping\t", make([]byte, 8)), "", "invalid command"},
		{"ping without nonce", frame("ping", nil), "ping", "malformed payload"},
		{"ping with 7 bytes", frame("ping", make([]byte, 7)), "ping", "malformed payload"},
		{"feefilter with 4 bytes", frame("feefilter", make([]byte, 4)), "feefilter", "malformed payload"},
		{"version empty", frame("version", nil), "version", "malformed payload"},
		{"version truncated at 50", frame("version", version[:50]), "version", "malformed payload"},
		{"version truncated in user agent", frame("version", uaShort), "version", "malformed payload"},
		{"version user agent 257", frame("version", ua257), "version", "user agent"},
		{"version user agent 0xffffffff", frame("version", uaHuge), "version", "user agent"},
		{"version user agent 2^64-1", frame("version", uaHuge64), "version", "user agent"},
		{"version user agent varint truncated", frame("version", append(versionPrefix(t), 0xfd, 0x01)), "version", "malformed payload"},
		{"inv count 3 holding 1", frame("inv", append([]byte{3}, inv1[1:]...)), "inv", "malformed payload"},
		{"getdata count 3 holding 1", frame("getdata", append([]byte{3}, inv1[1:]...)), "getdata", "malformed payload"},
		{"notfound count 2 holding 1", frame("notfound", append([]byte{2}, inv1[1:]...)), "notfound", "malformed payload"},
		{"inv count 2 holding 1 and 35 bytes", frame("inv", append(append([]byte{2}, inv1[1:]...), make([]byte, 35)...)), "inv", "malformed payload"},
		{"inv count 50,001 and nothing", frame("inv", []byte{0xfd, 0x51, 0xc3}), "inv", "malformed payload"},
		{"inv count 2^64-1", frame("inv", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), "inv", "malformed payload"},
		{"inv empty payload", frame("inv", nil), "inv", "malformed payload"},
		{"inv count varint truncated", frame("inv", []byte{0xfe, 0x01}), "inv", "malformed payload"},
		{"getdata empty payload", frame("getdata", nil), "getdata", "malformed payload"},
		{"addr count 2 holding 1", frame("addr", append([]byte{2}, addr1[1:]...)), "addr", "malformed payload"},
		{"addr count 1000 holding 0", frame("addr", []byte{0xfd, 0xe8, 0x03}), "addr", "malformed payload"},
		{"addr count 1001", frame("addr", append([]byte{0xfd, 0xe9, 0x03}, make([]byte, 30)...)), "addr", "malformed payload"},
		{"addr empty", frame("addr", nil), "addr", "malformed payload"},
		{"addrv2 bad address size", frame("addrv2", addrv2Bad), "addrv2", "malformed payload"},
		{"addrv2 count 2 holding 0", frame("addrv2", []byte{2}), "addrv2", "malformed payload"},
		{"tx empty", frame("tx", nil), "tx", "malformed payload"},
		{"tx truncated", frame("tx", wtx[:len(wtx)-5]), "tx", "malformed payload"},
		{"tx witness flag without witness", frame("tx", superfluous), "tx", "malformed payload"},
		{"tx bad witness flag", frame("tx", []byte{2, 0, 0, 0, 0x00, 0x02, 1}), "tx", "malformed payload"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			next := encode(t, pongMsg)
			cr := &countingReader{r: bytes.NewReader(append(bytes.Clone(tc.msg), next...))}
			r := NewReader(cr, testNet)
			msg, err := r.Next()
			if msg != nil {
				t.Errorf("got message %T %+v, want none", msg, msg)
			}
			var se *SoftError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want *SoftError", err, err)
			}
			if errors.Is(err, ErrBadMagic) || errors.Is(err, ErrOversized) || errors.Is(err, io.EOF) {
				t.Errorf("soft error %v matches a fatal error", err)
			}
			if tc.command != "" && se.Command != tc.command {
				t.Errorf("Command %q, want %q", se.Command, tc.command)
			}
			if !strings.Contains(se.Reason, tc.reason) {
				t.Errorf("Reason %q, want it to contain %q", se.Reason, tc.reason)
			}
			if used := cr.n - r.Buffered(); used != len(tc.msg) {
				t.Errorf("used %d bytes, want %d (exactly the dropped message)", used, len(tc.msg))
			}
			got, err := r.Next()
			if err != nil {
				t.Fatalf("Next after the soft error: %v", err)
			}
			if !reflect.DeepEqual(got, pongMsg) {
				t.Errorf("Next after the soft error: %+v, want %+v", got, pongMsg)
			}
			if _, err := r.Next(); err != io.EOF {
				t.Errorf("final Next: %v, want io.EOF", err)
			}
		})
	}
}

func TestSoftErrorString(t *testing.T) {
	e := &SoftError{Command: "ping", Reason: "bad checksum"}
	if got, want := e.Error(), `dropped ping message: bad checksum`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var err error = e
	var se *SoftError
	if !errors.As(err, &se) || se != e {
		t.Errorf("errors.As failed")
	}
}

// A user agent length of 0xffffffff must be refused from the payload at hand,
// not handed to btcd's decoder, which would allocate what it claims.
func TestHugeUserAgentDoesNotAllocate(t *testing.T) {
	for _, varint := range [][]byte{
		{0xfe, 0xff, 0xff, 0xff, 0xff},
		{0xfe, 0x00, 0x00, 0x00, 0x02}, // 32 MiB, btcd's own limit
		{0xfd, 0x01, 0x01},             // 257
	} {
		p := append(versionPrefix(t), varint...)
		p = append(p, make([]byte, 16)...)
		stream := frame("version", p)
		r := NewReader(bytes.NewReader(stream), testNet)
		var err error
		alloc := allocated(func() { _, err = r.Next() })
		var se *SoftError
		if !errors.As(err, &se) {
			t.Fatalf("varint %x: error %v, want *SoftError", varint, err)
		}
		if alloc >= 1<<20 {
			t.Errorf("varint %x: reading allocated %d bytes, want well under 1 MiB", varint, alloc)
		}
		t.Logf("varint %x: %d bytes allocated", varint, alloc)
	}
}

// Counts that claim far more entries than the payload holds are refused
// before btcd's decoder sizes a slice by them.
func TestLyingCountsDoNotAllocate(t *testing.T) {
	cases := []struct {
		cmd     string
		payload []byte
	}{
		{"inv", []byte{0xfd, 0x50, 0xc3}},      // 50,000 entries
		{"getdata", []byte{0xfd, 0x50, 0xc3}},  // 50,000 entries
		{"notfound", []byte{0xfd, 0x50, 0xc3}}, // 50,000 entries
		{"addr", []byte{0xfd, 0xe8, 0x03}},     // 1,000 entries
	}
	for _, tc := range cases {
		r := NewReader(bytes.NewReader(frame(tc.cmd, tc.payload)), testNet)
		var err error
		alloc := allocated(func() { _, err = r.Next() })
		var se *SoftError
		if !errors.As(err, &se) {
			t.Errorf("%s: error %v, want *SoftError", tc.cmd, err)
		}
		if alloc >= 64<<10 {
			t.Errorf("%s with a lying count: allocated %d bytes", tc.cmd, alloc)
		}
	}
}

// ---------------------------------------------------------------------------
// 6. Unknown commands.

func TestUnknownCommands(t *testing.T) {
	cases := []struct {
		cmd  string
		size int
	}{
		{"sendcmpct", 9},
		{"headers", 1 + 81*3},
		{"block", 10_000},
		{"foo", 0},
		{"getheaders", 100},
		{"cmpctblock", 5},
		{"notify", 20},
		{"abcdefghijkl", 3}, // 12 printable bytes, no NUL at all
		{"", 4},             // all NUL: valid and empty, unknown
		{"Ping", 8},         // commands are case sensitive
		{"ping ", 8},        // trailing space is printable, not padding
	}
	for _, tc := range cases {
		t.Run(tc.cmd, func(t *testing.T) {
			payload := bytes.Repeat([]byte{0x5c}, tc.size)
			msg := frame(tc.cmd, payload)
			cr := &countingReader{r: bytes.NewReader(append(bytes.Clone(msg), encode(t, pongMsg)...))}
			r := NewReader(cr, testNet)
			got, err := r.Next()
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			u, ok := got.(*Unknown)
			if !ok {
				t.Fatalf("got %T, want *Unknown", got)
			}
			if u.Cmd != tc.cmd || u.Size != uint32(tc.size) {
				t.Errorf("got Unknown{%q, %d}, want {%q, %d}", u.Cmd, u.Size, tc.cmd, tc.size)
			}
			if u.Command() != tc.cmd {
				t.Errorf("Command() = %q", u.Command())
			}
			if used := cr.n - r.Buffered(); used != len(msg) {
				t.Errorf("used %d bytes, want %d", used, len(msg))
			}
			next, err := r.Next()
			if err != nil || !reflect.DeepEqual(next, pongMsg) {
				t.Errorf("Next after unknown: %+v, %v", next, err)
			}
		})
	}
}

// The payload of an unknown command is discarded unverified: its checksum is
// not computed (Core ignores such messages anyway).
func TestUnknownChecksumNotVerified(t *testing.T) {
	msg := rawFrame(testNet, "sendcmpct", 9, [4]byte{0xde, 0xad, 0xbe, 0xef}, make([]byte, 9))
	r := NewReader(bytes.NewReader(msg), testNet)
	got, err := r.Next()
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	if u, ok := got.(*Unknown); !ok || u.Cmd != "sendcmpct" || u.Size != 9 {
		t.Errorf("got %#v", got)
	}
}

// A large unknown payload is streamed to a discard, never buffered.
func TestUnknownLargePayloadNotBuffered(t *testing.T) {
	stream := frame("block", make([]byte, 3_999_000))
	r := NewReader(bytes.NewReader(stream), testNet)
	var err error
	alloc := allocated(func() { _, err = r.Next() })
	if err != nil {
		t.Fatal(err)
	}
	if alloc >= 256<<10 {
		t.Errorf("skipping a 3,999,000-byte block allocated %d bytes", alloc)
	}
}

func TestUnknownMethods(t *testing.T) {
	u := &Unknown{Cmd: "headers", Size: 10}
	var _ wire.Message = u
	if u.MaxPayloadLength(wire.ProtocolVersion) != MaxPayload {
		t.Errorf("MaxPayloadLength = %d", u.MaxPayloadLength(wire.ProtocolVersion))
	}
	if err := u.BtcDecode(bytes.NewReader(nil), wire.ProtocolVersion, wire.WitnessEncoding); err == nil {
		t.Error("BtcDecode succeeded")
	}
	if err := u.BtcEncode(io.Discard, wire.ProtocolVersion, wire.WitnessEncoding); err == nil {
		t.Error("BtcEncode succeeded")
	}
}

// ---------------------------------------------------------------------------
// 7. Trailing bytes after a known payload are ignored.

func TestTrailingBytesIgnored(t *testing.T) {
	extra := []byte{0xde, 0xad, 0xbe, 0xef}
	cases := []struct {
		name  string
		msg   wire.Message
		extra []byte
	}{
		{"ping +4", &wire.MsgPing{Nonce: 99}, extra},
		{"ping to 1024", &wire.MsgPing{Nonce: 99}, make([]byte, MinCommandLimit-8)},
		{"pong +1", &wire.MsgPong{Nonce: 98}, extra[:1]},
		{"verack +3", &wire.MsgVerAck{}, extra[:3]},
		{"sendheaders +4", &wire.MsgSendHeaders{}, extra},
		{"wtxidrelay +1", &wire.MsgWTxIdRelay{}, extra[:1]},
		{"feefilter +8", &wire.MsgFeeFilter{MinFee: 5000}, make([]byte, 8)},
		{"version +10", sampleVersion(), make([]byte, 10)},
		{"inv +35", &wire.MsgInv{InvList: sampleInvList(2)}, make([]byte, 35)},
		{"addr +4", sampleAddr(), extra},
		{"tx +4", sampleWitnessTx(), extra},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			payload := append(payloadOf(t, tc.msg), tc.extra...)
			stream := append(frame(tc.msg.Command(), payload), encode(t, pongMsg)...)
			got, err := readAll(NewReader(bytes.NewReader(stream), testNet))
			if err != io.EOF {
				t.Fatalf("stream ended with %v, want io.EOF", err)
			}
			checkMessages(t, got, []wire.Message{tc.msg, pongMsg})
		})
	}
}

// ---------------------------------------------------------------------------
// 8. Memory: never allocate what a header merely claims.

func TestLyingHeaderDoesNotAllocate(t *testing.T) {
	cases := []struct {
		cmd    string
		length uint32
	}{
		{"tx", 3_999_000},
		{"tx", MaxPayload},
		{"inv", 9 + 50_000*36},
		{"addrv2", 3 + 1000*531},
	}
	for _, tc := range cases {
		stream := rawFrame(testNet, tc.cmd, tc.length, [4]byte{}, bytes.Repeat([]byte{1}, 100))
		r := NewReader(bytes.NewReader(stream), testNet)
		var err error
		alloc := allocated(func() { _, err = r.Next() })
		if err != io.ErrUnexpectedEOF {
			t.Errorf("%s claiming %d: error %v, want io.ErrUnexpectedEOF", tc.cmd, tc.length, err)
		}
		if alloc >= 256<<10 {
			t.Errorf("%s claiming %d bytes with 100 sent: allocated %d bytes, want < 256 KiB", tc.cmd, tc.length, alloc)
		}
		t.Logf("%s claiming %d bytes with 100 sent: %d bytes allocated", tc.cmd, tc.length, alloc)
	}
}

// A Reader holds no payload buffer between messages, and a buffer that grew
// past maxPooled for a large message is not kept in the pool for the next.
func TestIdleReaderHoldsNoBuffer(t *testing.T) {
	big := &wire.MsgInv{InvList: sampleInvList(3000)} // 108 KB payload
	stream := append(encode(t, big), encode(t, pongMsg)...)
	r := NewReader(bytes.NewReader(stream), testNet)
	for range 2 {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		if r.buf != nil {
			t.Fatalf("Reader kept a %d-byte buffer after a message", r.buf.Cap())
		}
	}
	large := new(bytes.Buffer)
	large.Grow(maxPooled + 1)
	putBuffer(large)
	for range 100 {
		if b := getBuffer(); b.Cap() > maxPooled {
			t.Fatalf("pool handed out a %d-byte buffer", b.Cap())
		}
	}
}

// ---------------------------------------------------------------------------
// Protocol version and headers.

func TestReaderProtocolVersion(t *testing.T) {
	// Before BIP 31 a ping has no nonce.
	r := NewReader(bytes.NewReader(frame("ping", nil)), testNet)
	r.SetProtocolVersion(wire.BIP0031Version)
	got, err := r.Next()
	if err != nil {
		t.Fatalf("empty ping at BIP0031Version: %v", err)
	}
	if !reflect.DeepEqual(got, &wire.MsgPing{}) {
		t.Errorf("got %+v", got)
	}

	// feefilter is refused below FeeFilterVersion, softly.
	stream := append(encode(t, &wire.MsgFeeFilter{MinFee: 1}), encode(t, pongMsg)...)
	r = NewReader(bytes.NewReader(stream), testNet)
	r.SetProtocolVersion(wire.FeeFilterVersion - 1)
	_, err = r.Next()
	var se *SoftError
	if !errors.As(err, &se) || se.Command != "feefilter" {
		t.Fatalf("feefilter below FeeFilterVersion: %v, want *SoftError", err)
	}
	if got, err := r.Next(); err != nil || !reflect.DeepEqual(got, pongMsg) {
		t.Errorf("Next: %+v, %v", got, err)
	}
}

func TestReaderNetwork(t *testing.T) {
	var rec recordingWriter
	if err := NewWriter(&rec, wire.TestNet3).Write(pongMsg); err != nil {
		t.Fatal(err)
	}
	if got, err := NewReader(bytes.NewReader(rec.writes[0]), wire.TestNet3).Next(); err != nil || !reflect.DeepEqual(got, pongMsg) {
		t.Errorf("testnet3 reader: %+v, %v", got, err)
	}
	if _, err := NewReader(bytes.NewReader(rec.writes[0]), wire.MainNet).Next(); !errors.Is(err, ErrBadMagic) {
		t.Errorf("mainnet reader on testnet3 bytes: %v, want ErrBadMagic", err)
	}
}

func TestParseHeader(t *testing.T) {
	b := rawFrame(testNet, "sendaddrv2", 0x01020304, [4]byte{9, 8, 7, 6}, nil)
	h := ParseHeader((*[HeaderSize]byte)(b))
	if h.Magic != testNet || h.Length != 0x01020304 || h.Checksum != [4]byte{9, 8, 7, 6} {
		t.Errorf("got %+v", h)
	}
	if want := [12]byte{'s', 'e', 'n', 'd', 'a', 'd', 'd', 'r', 'v', '2'}; h.Command != want {
		t.Errorf("command %q, want %q", h.Command, want)
	}
	cmd, ok := h.command()
	if cmd != "sendaddrv2" || !ok {
		t.Errorf("command() = %q, %v", cmd, ok)
	}
}

func TestHeaderCommand(t *testing.T) {
	cases := []struct {
		field string
		want  string
		ok    bool
	}{
		{"", "", true},
		{"verack", "verack", true},
		{"abcdefghijkl", "abcdefghijkl", true},
		{" ~", " ~", true},
		{"ver\x01ack", "", false},
		{"ping\x00x", "", false},
		{"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00x", "", false},
		{"\x7f", "", false},
		{"\x1f", "", false},
		{"\xff", "", false},
	}
	for _, tc := range cases {
		var h Header
		copy(h.Command[:], tc.field)
		got, ok := h.command()
		if ok != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("command(%q) = %q, %v; want %q, %v", tc.field, got, ok, tc.want, tc.ok)
		}
		if !ok && strings.ContainsFunc(got, func(r rune) bool { return r < ' ' || r > '~' }) {
			t.Errorf("command(%q) = %q: invalid form is not printable", tc.field, got)
		}
	}
}

// ---------------------------------------------------------------------------
// 10. Benchmarks.

func BenchmarkReadPing(b *testing.B) {
	msg := encode(b, &wire.MsgPing{Nonce: 0x0123456789abcdef})
	br := bytes.NewReader(msg)
	r := NewReader(br, testNet)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		br.Reset(msg)
		if _, err := r.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

// BytesRead counts every byte taken from the stream: decoded payloads,
// discarded ones and partial reads.
func TestBytesRead(t *testing.T) {
	stream, _ := sampleStream(t)
	stream = append(stream, rawFrame(testNet, "headers", 5, [4]byte{}, []byte{1, 2, 3, 4, 5})...)
	r := NewReader(&stallReader{data: stream, stalls: map[int]bool{3: true, 30: true}}, testNet)
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
	}
	if got := r.BytesRead(); got != uint64(len(stream)) {
		t.Fatalf("BytesRead %d, want %d", got, len(stream))
	}
}

// countReads counts the Read calls made on a reader.
type countReads struct {
	r     io.Reader
	calls int
	sizes []int // len(p) of each call
}

func (c *countReads) Read(p []byte) (int, error) {
	c.calls++
	c.sizes = append(c.sizes, len(p))
	return c.r.Read(p)
}

// The read-ahead buffer brings small messages in few reads: a handshake's
// version, wtxidrelay, sendaddrv2 and verack (198 bytes, header and
// payload apart: 5 reads) take 2; a large payload is read straight into
// its buffer, not through the small one.
func TestReadAheadSavesReads(t *testing.T) {
	msgs := []wire.Message{sampleVersion(), wire.NewMsgWTxIdRelay(), wire.NewMsgSendAddrV2(), wire.NewMsgVerAck()}
	var stream []byte
	for _, m := range msgs {
		stream = append(stream, encode(t, m)...)
	}
	cr := &countReads{r: bytes.NewReader(stream)}
	got, err := readAll(NewReader(cr, testNet))
	if err != io.EOF {
		t.Fatal(err)
	}
	checkMessages(t, got, msgs)
	if want := (len(stream)+readAhead-1)/readAhead + 1; cr.calls > want { // +1: the read that finds EOF
		t.Fatalf("%d reads for %d bytes in 4 messages, want at most %d", cr.calls, len(stream), want)
	}

	big := encode(t, &wire.MsgInv{InvList: sampleInvList(1000)}) // 36 kB
	cr = &countReads{r: bytes.NewReader(big)}
	if _, err := readAll(NewReader(cr, testNet)); err != io.EOF {
		t.Fatal(err)
	}
	// The first read fills the small buffer with the header and the
	// start of the payload; the rest goes straight to the payload's
	// buffer, in reads larger than the small one. (The last read is the
	// next header's, which finds the end of the stream.)
	for i, n := range cr.sizes[1 : len(cr.sizes)-1] {
		if n <= readAhead {
			t.Fatalf("read %d of the 36 kB payload asked for %d bytes: through the small buffer", i+2, n)
		}
	}
}
