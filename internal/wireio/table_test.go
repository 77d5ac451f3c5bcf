package wireio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"
)

// countPayload is a compact size n followed by body.
func countPayload(n uint64, body []byte) []byte {
	var b bytes.Buffer
	wire.WriteVarInt(&b, 0, n)
	b.Write(body)
	return b.Bytes()
}

// addrV2Entries is n addrv2 entries of a routable IPv4 address.
func addrV2Entries(n int) []byte {
	e := []byte{0x01, 0x00, 0x00, 0x00, 0x01, 0x01, 0x04, 198, 51, 100, 7, 0x20, 0x8d}
	return countPayload(uint64(n), bytes.Repeat(e, n))
}

// headersEntries is n headers entries: an 80-byte header and a zero
// transaction count.
func headersEntries(n int) []byte {
	return countPayload(uint64(n), bytes.Repeat(append(make([]byte, 80), 0), n))
}

func filterLoad(size int, funcs uint32) []byte {
	p := countPayload(uint64(size), make([]byte, size))
	p = binary.LittleEndian.AppendUint32(p, funcs)
	p = binary.LittleEndian.AppendUint32(p, 7) // tweak
	return append(p, 0)                        // flags
}

// Each count limit of the command table: exactly at the limit the message
// is read (decoded, or Unknown for headers); one over, it is misbehaviour
// (ErrOversized; ErrTooMany once the payload is read, when its length alone
// does not give it away), and the stream is used up to the end of that
// message and no further.
func TestCountLimits(t *testing.T) {
	cases := []struct {
		name     string
		cmd      string
		at, over []byte
		tooMany  bool // one over is ErrTooMany, not refused on the header
	}{
		{"inv 50,000", "inv", invPayload(50_000), invPayload(50_001), false},
		{"getdata 50,000", "getdata", invPayload(50_000), invPayload(50_001), false},
		{"notfound 50,000", "notfound", invPayload(50_000), invPayload(50_001), false},
		{"addr 1,000", "addr", countPayload(1000, make([]byte, 1000*30)), countPayload(1001, make([]byte, 1001*30)), false},
		{"addrv2 1,000", "addrv2", addrV2Entries(1000), addrV2Entries(1001), true},
		{"headers 2,000", "headers", headersEntries(2000), headersEntries(2001), true},
		{"filteradd 520 bytes", "filteradd", countPayload(520, make([]byte, 520)), countPayload(521, make([]byte, 521)), true},
		{"filterload 36,000 bytes", "filterload", filterLoad(36_000, 50), filterLoad(36_001, 50), false},
		{"filterload 50 hash functions", "filterload", filterLoad(100, 50), filterLoad(100, 51), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(append(frame(tc.cmd, tc.at), encode(t, pongMsg)...)), testNet)
			msg, err := r.Next()
			if err != nil {
				t.Fatalf("at the limit: %v", err)
			}
			if msg.Command() != tc.cmd {
				t.Fatalf("at the limit: got %s", msg.Command())
			}
			if _, unknown := msg.(*Unknown); unknown != (byName[tc.cmd].new == nil) {
				t.Fatalf("at the limit: got %T", msg)
			}
			if m, err := r.Next(); err != nil || !reflect.DeepEqual(m, pongMsg) {
				t.Fatalf("after the message at the limit: %v, %v", m, err)
			}

			over := frame(tc.cmd, tc.over)
			cr := &countingReader{r: bytes.NewReader(append(bytes.Clone(over), encode(t, pongMsg)...))}
			r = NewReader(cr, testNet)
			msg, err = r.Next()
			if msg != nil || !errors.Is(err, ErrOversized) || errors.Is(err, ErrTooMany) != tc.tooMany {
				t.Fatalf("one over: %v, %v; want ErrOversized (ErrTooMany: %v)", msg, err, tc.tooMany)
			}
			want := HeaderSize
			if tc.tooMany {
				want = len(over)
			}
			if used := cr.n - r.Buffered(); used != want {
				t.Errorf("one over: used %d bytes, want %d", used, want)
			}
			t.Logf("one over: %v", err)
		})
	}
}

func invPayload(n int) []byte {
	return countPayload(uint64(n), make([]byte, n*invVectSize))
}

// A headers count is judged from the count alone, as Core reads it before
// any header: a count over 2,000 with no headers behind it is
// misbehaviour, however large it claims to be, and nothing is allocated
// for it; but only if the checksum is good.
func TestHeadersCountAlone(t *testing.T) {
	for _, count := range [][]byte{
		{0xfd, 0xd1, 0x07}, // 2,001
		{0xfe, 0xff, 0xff, 0xff, 0xff},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	} {
		r := NewReader(bytes.NewReader(frame("headers", append(bytes.Clone(count), 1, 2, 3))), testNet)
		var err error
		alloc := allocated(func() { _, err = r.Next() })
		if !errors.Is(err, ErrTooMany) {
			t.Errorf("count %x: %v, want ErrTooMany", count, err)
		}
		if alloc >= 64<<10 {
			t.Errorf("count %x: allocated %d bytes", count, alloc)
		}

		bad := rawFrame(testNet, "headers", uint32(len(count)), [4]byte{1, 2, 3, 4}, count)
		r = NewReader(bytes.NewReader(append(bad, encode(t, pongMsg)...)), testNet)
		var se *SoftError
		if _, err := r.Next(); !errors.As(err, &se) || se.Reason != "bad checksum" {
			t.Errorf("count %x, bad checksum: %v, want dropped for the checksum", count, err)
		}
		if m, err := r.Next(); err != nil || !reflect.DeepEqual(m, pongMsg) {
			t.Errorf("after it: %v, %v", m, err)
		}
	}
	// A count Core's ReadCompactSize refuses drops the message.
	for _, p := range [][]byte{nil, {0xfd, 0x01}, {0xfd, 0x10, 0x00}, {0xfe, 0xff, 0xff, 0x00, 0x00}} {
		r := NewReader(bytes.NewReader(append(frame("headers", p), encode(t, pongMsg)...)), testNet)
		var se *SoftError
		if _, err := r.Next(); !errors.As(err, &se) {
			t.Errorf("headers payload %x: %v, want *SoftError", p, err)
		}
		if m, err := r.Next(); err != nil || !reflect.DeepEqual(m, pongMsg) {
			t.Errorf("after headers payload %x: %v, %v", p, m, err)
		}
	}
}

// Lying counts in the new decoded commands cost nothing either.
func TestFilterCountsDoNotAllocate(t *testing.T) {
	for _, tc := range []struct {
		cmd     string
		payload []byte
	}{
		{"filteradd", []byte{0xfe, 0xff, 0xff, 0xff, 0x7f}},
		{"filterload", []byte{0xfe, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3}},
		{"filterload", []byte{0xfd, 0xa0, 0x8c}}, // 36,000 claimed, none sent
		{"addrv2", []byte{0xfd, 0xe9, 0x03}},     // 1,001 claimed, none sent
	} {
		r := NewReader(bytes.NewReader(frame(tc.cmd, tc.payload)), testNet)
		var err error
		alloc := allocated(func() { _, err = r.Next() })
		var se *SoftError
		if !errors.As(err, &se) {
			t.Errorf("%s %x: %v, want *SoftError (malformed)", tc.cmd, tc.payload, err)
		}
		if alloc >= 64<<10 {
			t.Errorf("%s %x: allocated %d bytes", tc.cmd, tc.payload, alloc)
		}
	}
}

// A headers message over the limit, read through stalls at every byte,
// comes out as the same error; one within it, as Unknown.
func TestHeadersCountResumes(t *testing.T) {
	within := frame("headers", headersEntries(3))
	over := frame("headers", headersEntries(2001))
	for _, tc := range []struct {
		stream []byte
		want   error
	}{{within, nil}, {over, ErrTooMany}} {
		stalls := map[int]bool{}
		for i := range tc.stream {
			stalls[i] = true
		}
		r := NewReader(&stallReader{data: tc.stream, stalls: stalls}, testNet)
		for {
			msg, err := r.Next()
			if errors.Is(err, errStall) {
				continue
			}
			if tc.want == nil {
				if u, ok := msg.(*Unknown); err != nil || !ok || u.Size != uint32(len(within)-HeaderSize) {
					t.Fatalf("within the limit: %#v, %v", msg, err)
				}
			} else if !errors.Is(err, tc.want) {
				t.Fatalf("over the limit: %v, want %v", err, tc.want)
			}
			break
		}
		if r.BytesRead() != uint64(len(tc.stream)) {
			t.Errorf("read %d of %d bytes", r.BytesRead(), len(tc.stream))
		}
	}
}

var internSink string

// Every command of the table is interned: reading its name allocates
// nothing. (mempool was once decoded but not interned.)
func TestTableCommandsInterned(t *testing.T) {
	for i := range commands {
		b := []byte(commands[i].name)
		if n := testing.AllocsPerRun(10, func() { internSink = internCommand(b) }); n != 0 {
			t.Errorf("%s: %v allocations", commands[i].name, n)
		}
		var h Header
		copy(h.Command[:], b)
		if got, ok := h.command(); !ok || got != commands[i].name {
			t.Errorf("%s: command() = %q, %v", commands[i].name, got, ok)
		}
	}
	b := []byte("somethingnew")
	if n := testing.AllocsPerRun(10, func() { internSink = internCommand(b) }); n != 1 {
		t.Errorf("unknown command: %v allocations, want 1", n)
	}
}

// The table's decoders make messages of their own command, and its
// payload limits are btcd's bound for the message, never under
// MinCommandLimit, so that a message btcd could send is never refused on
// its length.
func TestTableMatchesBtcd(t *testing.T) {
	seen := map[string]bool{}
	for i := range commands {
		c := &commands[i]
		if seen[c.name] {
			t.Errorf("%s twice in the table", c.name)
		}
		seen[c.name] = true
		if c.count != nil && c.count.over == 0 {
			t.Errorf("%s: count limit without a reaction", c.name)
		}
		if c.new == nil {
			if c.limit != MaxPayload {
				t.Errorf("%s, not decoded: limit %d, want %d", c.name, c.limit, MaxPayload)
			}
			continue
		}
		m := c.new()
		if m.Command() != c.name {
			t.Errorf("%s decodes into %T (%s)", c.name, m, m.Command())
		}
		if want := min(max(m.MaxPayloadLength(wire.ProtocolVersion), MinCommandLimit), MaxPayload); c.limit != want {
			t.Errorf("%s: limit %d, btcd's bound %d", c.name, c.limit, want)
		}
		if c.count != nil && c.count.elem == 0 {
			t.Errorf("%s: a decoded count needs a least entry size", c.name)
		}
	}
	for _, s := range sampleMessages() {
		if c := byName[s.msg.Command()]; c == nil || c.new == nil {
			t.Errorf("sample %s is not decoded by the table", s.name)
		}
	}
}

// The filter messages decode (they were skipped before the table).
func TestFilterMessagesRoundTrip(t *testing.T) {
	for _, msg := range []wire.Message{
		&wire.MsgFilterLoad{Filter: []byte{1, 2, 3}, HashFuncs: 11, Tweak: 5, Flags: wire.BloomUpdateAll},
		&wire.MsgFilterAdd{Data: bytes.Repeat([]byte{9}, 520)},
		&wire.MsgFilterClear{},
	} {
		got, err := NewReader(bytes.NewReader(encode(t, msg)), testNet).Next()
		if err != nil || !reflect.DeepEqual(got, msg) {
			t.Errorf("%s: %#v, %v", msg.Command(), got, err)
		}
	}
	if _, err := NewReader(bytes.NewReader(nil), testNet).Next(); err != io.EOF {
		t.Fatal(err)
	}
}
