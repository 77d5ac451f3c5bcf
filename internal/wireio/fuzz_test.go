package wireio

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"
)

// fuzzSeeds returns well-formed messages of every kind and a few broken ones.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, s := range sampleMessages() {
		seeds = append(seeds, encode(t, s.msg))
	}
	stream, _ := sampleStream(t)
	ping := encode(t, &wire.MsgPing{Nonce: 1})
	badSum := bytes.Clone(ping)
	badSum[23] ^= 1
	ua := append(versionPrefix(t), 0xfe, 0xff, 0xff, 0xff, 0xff, 'x')
	seeds = append(seeds,
		stream,
		badSum,
		ping[:20], // cut header
		ping[:28], // cut payload
		rawFrame(wire.TestNet3, "ping", 8, [4]byte{}, make([]byte, 8)),   // bad magic
		rawFrame(testNet, "tx", MaxPayload+1, [4]byte{}, nil),            // oversized
		rawFrame(testNet, "ping", MinCommandLimit+1, [4]byte{}, nil),     // above the command's limit
		rawFrame(testNet, "tx", 3_999_000, [4]byte{}, make([]byte, 100)), // lying length
		frame("ver\x01ack", nil),
		frame("ping\x00x", make([]byte, 8)),
		frame("sendcmpct", make([]byte, 9)),
		frame("headers", []byte{0}),
		frame("version", ua),
		frame("inv", []byte{3, 1, 0, 0, 0}),
		frame("addr", []byte{0xfd, 0xe8, 0x03}),
		frame("ping", append(bytes.Clone(ping[HeaderSize:]), 1, 2, 3, 4)), // trailing bytes
		append(bytes.Clone(badSum), ping...),
	)
	return seeds
}

// checkReencodes asserts that msg, read by a Reader, can be written by a
// Writer, and that what the Writer emits reads back and re-encodes to the
// same bytes.
func checkReencodes(t *testing.T, msg wire.Message) {
	t.Helper()
	var rec recordingWriter
	if err := NewWriter(&rec, testNet).Write(msg); err != nil {
		t.Fatalf("decoded %s does not re-encode: %v\n%#v", msg.Command(), err, msg)
	}
	if len(rec.writes) != 1 {
		t.Fatalf("%d Write calls", len(rec.writes))
	}
	again, err := NewReader(bytes.NewReader(rec.writes[0]), testNet).Next()
	if err != nil {
		t.Fatalf("Reader refuses the Writer's own %s: %v\n%x", msg.Command(), err, rec.writes[0])
	}
	var rec2 recordingWriter
	if err := NewWriter(&rec2, testNet).Write(again); err != nil {
		t.Fatalf("second re-encoding of %s: %v", msg.Command(), err)
	}
	if !bytes.Equal(rec.writes[0], rec2.writes[0]) {
		t.Fatalf("%s re-encoding is not stable:\n%x\n%x", msg.Command(), rec.writes[0], rec2.writes[0])
	}
}

// FuzzReader feeds arbitrary bytes to a Reader and calls Next until a fatal
// error. It must not panic, must end, and every decoded message must
// re-encode.
func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := &countingReader{r: bytes.NewReader(data)}
		r := NewReader(cr, testNet)
		// Every message, even a dropped one, consumes a 24-byte header,
		// so len(data)+1 calls are more than enough to reach the end.
		// used: bytes the Reader has taken and not merely read ahead.
		used := func() int { return cr.n - r.Buffered() }
		for range len(data) + 1 {
			before := used()
			msg, err := r.Next()
			if cr.n > len(data) {
				t.Fatalf("consumed %d of %d bytes", cr.n, len(data))
			}
			if r.Buffered() > readAhead {
				t.Fatalf("%d bytes read ahead, more than %d", r.Buffered(), readAhead)
			}
			var se *SoftError
			switch {
			case err == nil:
				if msg == nil {
					t.Fatal("nil message and nil error")
				}
				if used()-before < HeaderSize {
					t.Fatalf("message from %d bytes", used()-before)
				}
				if _, ok := msg.(*Unknown); !ok {
					checkReencodes(t, msg)
				}
			case errors.As(err, &se):
				if msg != nil {
					t.Fatalf("message %T with soft error %v", msg, err)
				}
				if used()-before < HeaderSize {
					t.Fatalf("soft error %v after %d bytes", err, used()-before)
				}
			default:
				if msg != nil {
					t.Fatalf("message %T with fatal error %v", msg, err)
				}
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) &&
					!errors.Is(err, ErrBadMagic) && !errors.Is(err, ErrOversized) {
					t.Fatalf("unexpected error %v (%T)", err, err)
				}
				if errors.Is(err, io.EOF) && cr.n != len(data) {
					t.Fatalf("io.EOF with %d of %d bytes consumed", cr.n, len(data))
				}
				if (errors.Is(err, ErrBadMagic) || errors.Is(err, ErrOversized)) && !errors.Is(err, ErrTooMany) && used()-before != HeaderSize {
					t.Fatalf("%v after %d bytes, want the header alone", err, used()-before)
				}
				return
			}
		}
		t.Fatalf("no fatal error after %d calls on %d bytes", len(data)+1, len(data))
	})
}

// fuzzCommands are the commands FuzzPayload frames payloads under: every
// decoded one and a few that are skipped.
var fuzzCommands = []string{
	wire.CmdVersion, wire.CmdVerAck, wire.CmdWTxIdRelay, wire.CmdSendAddrV2,
	wire.CmdPing, wire.CmdPong, wire.CmdInv, wire.CmdGetData, wire.CmdNotFound,
	wire.CmdTx, wire.CmdMemPool, wire.CmdFeeFilter, wire.CmdSendHeaders,
	wire.CmdGetAddr, wire.CmdAddr, wire.CmdAddrV2,
	wire.CmdFilterLoad, wire.CmdFilterAdd, wire.CmdFilterClear,
	wire.CmdBlock, wire.CmdHeaders, "sendcmpct",
}

// FuzzPayload frames an arbitrary payload under a known command with a
// correct length and checksum, which random bytes given to FuzzReader
// almost never have, so the payload decoders are reached. The message
// must decode or be dropped softly (or be refused as oversized), and the
// stream must stay usable.
func FuzzPayload(f *testing.F) {
	for i, s := range sampleMessages() {
		p := payloadOf(f, s.msg)
		for j, c := range fuzzCommands {
			if c == s.msg.Command() {
				f.Add(uint8(j), p)
			}
		}
		f.Add(uint8(i), p)
	}
	f.Add(uint8(0), append(versionPrefix(f), 0xfe, 0xff, 0xff, 0xff, 0xff))
	f.Add(uint8(6), []byte{3, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, c uint8, payload []byte) {
		cmd := fuzzCommands[int(c)%len(fuzzCommands)]
		stream := append(frame(cmd, payload), encode(t, pongMsg)...)
		r := NewReader(bytes.NewReader(stream), testNet)
		msg, err := r.Next()
		var se *SoftError
		switch {
		case err == nil:
			if u, ok := msg.(*Unknown); ok {
				if u.Cmd != cmd || u.Size != uint32(len(payload)) {
					t.Fatalf("got %+v for %s of %d bytes", u, cmd, len(payload))
				}
			} else {
				if msg.Command() != cmd {
					t.Fatalf("got %s for %s", msg.Command(), cmd)
				}
				checkReencodes(t, msg)
			}
		case errors.As(err, &se):
			if se.Command != cmd {
				t.Fatalf("soft error for %q, want %q", se.Command, cmd)
			}
		case errors.Is(err, ErrTooMany):
			if c := byName[cmd]; c == nil || c.count == nil || c.count.over != misbehave {
				t.Fatalf("%v for %s, which has no count limit", err, cmd)
			}
			return
		case errors.Is(err, ErrOversized):
			if c := byName[cmd]; c == nil || len(payload) <= int(c.limit) {
				t.Fatalf("%v for %s of %d bytes", err, cmd, len(payload))
			}
			return
		default:
			t.Fatalf("unexpected error %v", err)
		}
		next, err := r.Next()
		if err != nil {
			t.Fatalf("message after the fuzzed one: %v", err)
		}
		if p, ok := next.(*wire.MsgPong); !ok || p.Nonce != pongMsg.Nonce {
			t.Fatalf("message after the fuzzed one: %#v", next)
		}
	})
}
