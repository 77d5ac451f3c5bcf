package wireio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"
)

// Several messages through one Writer: one Write call each, each a complete
// message, and the concatenation reads back in order.
func TestWriterStream(t *testing.T) {
	var rec recordingWriter
	w := NewWriter(&rec, testNet)
	var want []wire.Message
	for _, s := range sampleMessages() {
		if err := w.Write(s.msg); err != nil {
			t.Fatalf("Write(%s): %v", s.name, err)
		}
		want = append(want, s.msg)
	}
	if len(rec.writes) != len(want) {
		t.Fatalf("%d Write calls for %d messages", len(rec.writes), len(want))
	}
	var stream []byte
	for i, b := range rec.writes {
		if len(b) < HeaderSize {
			t.Fatalf("write %d: %d bytes, shorter than a header", i, len(b))
		}
		h := ParseHeader((*[HeaderSize]byte)(b[:HeaderSize]))
		if h.Magic != testNet {
			t.Errorf("write %d: magic %#x", i, uint32(h.Magic))
		}
		if int(h.Length) != len(b)-HeaderSize {
			t.Errorf("write %d: header length %d, payload %d", i, h.Length, len(b)-HeaderSize)
		}
		if h.Checksum != checksum(b[HeaderSize:]) {
			t.Errorf("write %d: bad checksum", i)
		}
		if cmd, ok := h.command(); !ok || cmd != want[i].Command() {
			t.Errorf("write %d: command %q, want %q", i, cmd, want[i].Command())
		}
		stream = append(stream, b...)
	}
	got, err := readAll(NewReader(bytes.NewReader(stream), testNet))
	if err != io.EOF {
		t.Fatalf("stream ended with %v", err)
	}
	checkMessages(t, got, want)
}

// A large message followed by a small one: the pooled buffer is reused or
// dropped without corrupting either.
func TestWriterLargeThenSmall(t *testing.T) {
	var rec recordingWriter
	w := NewWriter(&rec, testNet)
	big := &wire.MsgInv{InvList: sampleInvList(3000)}
	small := &wire.MsgPing{Nonce: 3}
	for _, m := range []wire.Message{small, big, small, big} {
		if err := w.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	var stream []byte
	for _, b := range rec.writes {
		stream = append(stream, b...)
	}
	got, err := readAll(NewReader(bytes.NewReader(stream), testNet))
	if err != io.EOF {
		t.Fatal(err)
	}
	checkMessages(t, got, []wire.Message{small, big, small, big})
}

// Messages that cannot be encoded produce an error and no Write at all, so
// nothing half-formed reaches the connection.
func TestWriterRefusesWithoutWriting(t *testing.T) {
	tooManyInv := &wire.MsgInv{InvList: sampleInvList(wire.MaxInvPerMsg + 1)}
	longUA := sampleVersion()
	longUA.UserAgent = strings.Repeat("x", wire.MaxUserAgentLen+1)
	cases := []struct {
		name string
		msg  wire.Message
	}{
		{"Unknown", &Unknown{Cmd: "headers", Size: 10}},
		{"inv above 50,000 entries", tooManyInv},
		{"user agent above 256 bytes", longUA},
		{"command longer than 12 bytes", &longCommand{}},
		{"payload above the command's limit", overLimit{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var rec recordingWriter
			w := NewWriter(&rec, testNet)
			if err := w.Write(tc.msg); err == nil {
				t.Error("Write succeeded")
			}
			if len(rec.writes) != 0 {
				t.Errorf("%d Write calls, want none", len(rec.writes))
			}
			// The Writer stays usable.
			if err := w.Write(pongMsg); err != nil || len(rec.writes) != 1 {
				t.Fatalf("Write after a refusal: %v, %d writes", err, len(rec.writes))
			}
			if got, err := NewReader(bytes.NewReader(rec.writes[0]), testNet).Next(); err != nil || !reflect.DeepEqual(got, pongMsg) {
				t.Errorf("after a refusal: %+v, %v", got, err)
			}
		})
	}
}

type longCommand struct{ wire.MsgVerAck }

func (longCommand) Command() string { return "thirteenbytes" }

// overLimit encodes 9 bytes while declaring a limit of 8.
type overLimit struct{}

func (overLimit) Command() string                { return "overlimit" }
func (overLimit) MaxPayloadLength(uint32) uint32 { return 8 }
func (overLimit) BtcDecode(io.Reader, uint32, wire.MessageEncoding) error {
	return errors.New("not decoded")
}
func (overLimit) BtcEncode(w io.Writer, _ uint32, _ wire.MessageEncoding) error {
	_, err := w.Write(make([]byte, 9))
	return err
}

func TestWriterPropagatesWriteError(t *testing.T) {
	boom := errors.New("connection reset")
	rec := &recordingWriter{err: boom}
	w := NewWriter(rec, testNet)
	if err := w.Write(pongMsg); !errors.Is(err, boom) {
		t.Errorf("Write: %v, want %v", err, boom)
	}
	if len(rec.writes) != 1 {
		t.Errorf("%d Write calls, want 1", len(rec.writes))
	}
}

func TestWriterProtocolVersion(t *testing.T) {
	var rec recordingWriter
	w := NewWriter(&rec, testNet)
	w.SetProtocolVersion(wire.BIP0031Version)
	if err := w.Write(&wire.MsgPing{Nonce: 5}); err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint32(rec.writes[0][16:20]); got != 0 {
		t.Errorf("ping at BIP0031Version has a %d-byte payload, want 0", got)
	}
	if err := w.Write(&wire.MsgFeeFilter{MinFee: 1}); err == nil {
		t.Error("feefilter encoded below FeeFilterVersion")
	}
	w.SetProtocolVersion(wire.ProtocolVersion)
	if err := w.Write(&wire.MsgPing{Nonce: 5}); err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint32(rec.writes[1][16:20]); got != 8 {
		t.Errorf("ping at ProtocolVersion has a %d-byte payload, want 8", got)
	}
}

func TestWriterNetwork(t *testing.T) {
	for _, net := range []wire.BitcoinNet{wire.MainNet, wire.TestNet3, wire.SigNet, wire.TestNet4, wire.SimNet} {
		var rec recordingWriter
		if err := NewWriter(&rec, net).Write(&wire.MsgVerAck{}); err != nil {
			t.Fatal(err)
		}
		if got := wire.BitcoinNet(binary.LittleEndian.Uint32(rec.writes[0][:4])); got != net {
			t.Errorf("magic %v, want %v", got, net)
		}
	}
}

func BenchmarkWritePong(b *testing.B) {
	w := NewWriter(io.Discard, testNet)
	msg := &wire.MsgPong{Nonce: 0x0123456789abcdef}
	b.SetBytes(HeaderSize + 8)
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// Queued messages leave in one Write, in order; a message that cannot be
// encoded is refused without disturbing the others; Flush with nothing
// queued writes nothing; an idle Writer holds no buffer.
func TestWriterQueueFlush(t *testing.T) {
	var rec recordingWriter
	w := NewWriter(&rec, testNet)
	msgs := []wire.Message{sampleVersion(), wire.NewMsgWTxIdRelay(), wire.NewMsgSendAddrV2(), wire.NewMsgVerAck()}
	for i, m := range msgs {
		if err := w.Queue(m, wire.WitnessEncoding); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			bad := &wire.MsgVersion{UserAgent: strings.Repeat("x", wire.MaxUserAgentLen+1)}
			if err := w.Queue(bad, wire.WitnessEncoding); err == nil {
				t.Fatal("an oversized user agent was queued")
			}
		}
	}
	if len(rec.writes) != 0 {
		t.Fatalf("%d writes before Flush", len(rec.writes))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) != 1 {
		t.Fatalf("%d writes for 4 queued messages, want 1", len(rec.writes))
	}
	got, err := readAll(NewReader(bytes.NewReader(rec.writes[0]), testNet))
	if err != io.EOF {
		t.Fatal(err)
	}
	checkMessages(t, got, msgs)
	if w.queued != nil || w.Buffered() != 0 {
		t.Fatal("Writer holds a buffer after Flush")
	}
	if err := w.Flush(); err != nil || len(rec.writes) != 1 {
		t.Fatalf("empty Flush: %v, %d writes", err, len(rec.writes))
	}
}

// The frames are byte for byte those of btcd's wire.WriteMessage.
func TestWriterMatchesBtcd(t *testing.T) {
	for _, s := range sampleMessages() {
		for _, enc := range []wire.MessageEncoding{wire.BaseEncoding, wire.WitnessEncoding} {
			var want bytes.Buffer
			if _, err := wire.WriteMessageWithEncodingN(&want, s.msg, wire.ProtocolVersion, testNet, enc); err != nil {
				t.Fatal(err)
			}
			var rec recordingWriter
			if err := NewWriter(&rec, testNet).WriteEncoding(s.msg, enc); err != nil {
				t.Fatal(err)
			}
			if len(rec.writes) != 1 || !bytes.Equal(rec.writes[0], want.Bytes()) {
				t.Errorf("%s (encoding %d): frame differs from btcd's", s.msg.Command(), enc)
			}
		}
	}
}

// TestFlushSome: a write that takes only part of the queue leaves the rest
// queued, in order, for the next call or Flush; the bytes that finally
// leave are the same as one Flush would have written.
func TestFlushSome(t *testing.T) {
	msgs := []wire.Message{wire.NewMsgPing(1), wire.NewMsgVerAck(), wire.NewMsgPong(2)}
	var want bytes.Buffer
	ww := NewWriter(&want, wire.TestNet)
	for _, m := range msgs {
		if err := ww.Queue(m, wire.WitnessEncoding); err != nil {
			t.Fatal(err)
		}
	}
	if err := ww.Flush(); err != nil {
		t.Fatal(err)
	}

	var got bytes.Buffer
	w := NewWriter(&got, wire.TestNet)
	for _, m := range msgs {
		w.Queue(m, wire.WitnessEncoding)
	}
	total := w.Buffered()
	ten := func(b []byte) (int, error) { return got.Write(b[:min(len(b), 10)]) }
	if err := w.FlushSome(ten); err != nil || w.Buffered() != total-10 {
		t.Fatalf("after one partial write: %v, %d buffered, want %d", err, w.Buffered(), total-10)
	}
	none := func([]byte) (int, error) { return 0, nil } // a full socket
	if err := w.FlushSome(none); err != nil || w.Buffered() != total-10 {
		t.Fatalf("after a write of nothing: %v, %d buffered", err, w.Buffered())
	}
	boom := errors.New("boom")
	if err := w.FlushSome(func([]byte) (int, error) { return 0, boom }); err != boom {
		t.Fatalf("error %v, want boom", err)
	}
	w.Queue(wire.NewMsgPing(3), wire.WitnessEncoding) // after the leftovers
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	ww.Write(wire.NewMsgPing(3))
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("bytes differ from one Flush's")
	}
	if w.Buffered() != 0 || w.FlushSome(none) != nil {
		t.Errorf("an empty writer: %d buffered", w.Buffered())
	}
	// Everything taken at once releases the buffer.
	w.Queue(wire.NewMsgVerAck(), wire.WitnessEncoding)
	if err := w.FlushSome(got.Write); err != nil || w.queued != nil {
		t.Errorf("a complete FlushSome kept its buffer (%v)", err)
	}
}

// TestDiscard: queued messages are dropped unwritten and the buffer
// released; the writer then works as new.
func TestDiscard(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, wire.TestNet)
	w.Queue(wire.NewMsgPing(1), wire.WitnessEncoding)
	w.Discard()
	if out.Len() != 0 || w.Buffered() != 0 || w.queued != nil {
		t.Fatalf("after Discard: %d bytes written, %d buffered", out.Len(), w.Buffered())
	}
	w.Discard() // nothing queued: a no-op
	if err := w.Write(wire.NewMsgVerAck()); err != nil || out.Len() != HeaderSize {
		t.Fatalf("write after Discard: %v, %d bytes", err, out.Len())
	}
}
