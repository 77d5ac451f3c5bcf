package addrbook

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
	"time"
)

// sampleBook is a small book with every kind of entry: IPv4, IPv6 and
// Tor, new in one and in several buckets, tried, failed, services.
func sampleBook(t testing.TB, seed uint64, n int) *Book {
	t.Helper()
	b := newBook(t, seed, false)
	var key [32]byte
	key[5] = 9
	extra := []Advert{
		{Addr: TorV3(key, 9050), Services: 1033, Time: t0},
		{Addr: mustAddr(t, "[2a01:4f8:10:20::2]:8333"), Services: 9, Time: t0},
	}
	b.Add(t0, ipv4(77<<16, 1), 2*time.Hour, extra...)
	for i := range uint32(n) {
		b.Add(t0, ipv4(i%7<<16, 1), time.Duration(i%3)*time.Hour, advert(ipv4(i*2654435761, 8333), t0.Add(-time.Duration(i)*time.Minute)))
	}
	// a few in several buckets
	for j := range 20 {
		b.Add(t0, ipv4(uint32(j+20)<<16, 1), 2*time.Hour, advert(ipv4(0, 8333), t0.Add(time.Duration(j)*10*time.Minute)))
	}
	for i := range uint32(n / 4) {
		b.Good(ipv4(i*2654435761, 8333), t0.Add(time.Hour))
	}
	b.Good(extra[0].Addr, t0.Add(time.Hour))
	for i := uint32(n / 4); i < uint32(n/2); i++ {
		b.Attempt(ipv4(i*2654435761, 8333), true, t0.Add(2*time.Hour))
	}
	check(t, b)
	return b
}

func sameBook(t *testing.T, a, b *Book) {
	t.Helper()
	check(t, b)
	if a.key != b.key || a.Count() != b.Count() || a.byNet != b.byNet || a.Len() != b.Len() {
		t.Fatalf("key or counts differ: %+v, %+v", a.Count(), b.Count())
	}
	for i, id := range a.random {
		ea, eb := a.entries[id], b.entries[b.random[i]]
		ea.lastCount, eb.lastCount, ea.randPos, eb.randPos = 0, 0, 0, 0
		// the order of a new entry's slots may change; compare them as sets
		if ea.refs != eb.refs || ea.tried != eb.tried {
			t.Fatalf("%v: refs %d tried %v, decoded refs %d tried %v", ea.addr, ea.refs, ea.tried, eb.refs, eb.tried)
		}
		sa, sb := map[uint16]bool{}, map[uint16]bool{}
		n := int(ea.refs)
		if ea.tried {
			n = 1
		}
		for k := range n {
			sa[ea.slots[k]], sb[eb.slots[k]] = true, true
		}
		for s := range sa {
			if !sb[s] {
				t.Fatalf("%v: slot %d lost", ea.addr, s)
			}
		}
		ea.slots, eb.slots = [MaxRefs]uint16{}, [MaxRefs]uint16{}
		if ea != eb {
			t.Fatalf("entry %d:\n%+v\ndecoded\n%+v", i, ea, eb)
		}
	}
}

// TestEncodeRoundTrip: a book decodes to the same book (key, entries,
// tables, order), and a decoded book encodes to the same bytes.
func TestEncodeRoundTrip(t *testing.T) {
	a := sampleBook(t, 21, 3000)
	data, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b := newBook(t, 99, false) // another key: the file's wins
	if err := b.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	sameBook(t, a, b)
	again, _ := b.MarshalBinary()
	if string(again) != string(data) {
		t.Error("decode, encode: other bytes")
	}
	empty, _ := newBook(t, 1, false).MarshalBinary()
	if err := b.UnmarshalBinary(empty); err != nil || b.Len() != 0 {
		t.Errorf("empty book: %v, %d entries", err, b.Len())
	}
	t.Logf("%d entries: %d bytes", a.Len(), len(data))
}

// TestDecodeDropsWhatTheBookWouldNotTake: a regtest book's loopback
// entries do not survive loading into a mainnet book.
func TestDecodeDropsWhatTheBookWouldNotTake(t *testing.T) {
	a := newBook(t, 22, true)
	a.Add(t0, mustAddr(t, "127.0.0.1:1"), 0, advert(mustAddr(t, "127.1.2.3:18444"), t0), advert(ipv4(5, 18444), t0))
	data, _ := a.MarshalBinary()
	b := newBook(t, 22, false)
	if err := b.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	check(t, b)
	if b.Len() != 1 {
		t.Errorf("%d entries, want the one routable on mainnet", b.Len())
	}
	c := newBook(t, 22, true)
	if err := c.UnmarshalBinary(data); err != nil || c.Len() != 2 {
		t.Errorf("regtest to regtest: %v, %d entries", err, c.Len())
	}
}

// TestDecodeCorruption: every flipped byte and every truncation of a small
// book's file is a FormatError (ErrCorrupt), never a panic, and leaves the
// book as it was.
func TestDecodeCorruption(t *testing.T) {
	data, _ := sampleBook(t, 23, 40).MarshalBinary()
	b := sampleBook(t, 24, 10)
	before, _ := b.MarshalBinary()
	try := func(what string, in []byte, want error) {
		t.Helper()
		err := b.UnmarshalBinary(in)
		var fe *FormatError
		if !errors.As(err, &fe) || !errors.Is(err, ErrCorrupt) || !errors.Is(err, want) {
			t.Fatalf("%s: %v, want %v", what, err, want)
		}
	}
	for i := range data {
		for _, bit := range []byte{1, 0x80} {
			bad := append([]byte(nil), data...)
			bad[i] ^= bit
			var want error
			switch {
			case i < 4:
				want = ErrNotBook
			case i == 4:
				want = ErrVersion
			case i < 9:
				want = ErrCorrupt // the length: too long says truncated, too short trailing bytes
			default:
				want = ErrChecksum
			}
			try("flip", bad, want)
		}
	}
	for n := range len(data) {
		try("truncate", data[:n], ErrTruncated)
	}
	try("garbage", []byte("GIF89a..."), ErrNotBook)
	try("trailing", append(append([]byte(nil), data...), 0), ErrCorrupt)
	after, _ := b.MarshalBinary()
	if string(after) != string(before) {
		t.Error("a failed decode changed the book")
	}
}

// seal writes the length and checksum of a crafted file.
func seal(body []byte) []byte {
	binary.BigEndian.PutUint32(body[5:9], uint32(len(body)+checksumLen))
	sum := sha256.Sum256(body)
	return append(body, sum[:]...)
}

// TestDecodeHostileContent: a file with a valid checksum but lying content
// (a count of four billion, a bad network, refs out of range, a duplicate)
// is ErrCorrupt, and allocates nothing like what it claims.
func TestDecodeHostileContent(t *testing.T) {
	header := func(count uint32) []byte {
		h := append([]byte(magic), formatVersion, 0, 0, 0, 0)
		h = append(h, make([]byte, 32)...)
		return binary.BigEndian.AppendUint32(h, count)
	}
	rec := func(net byte, addrLen int, tried, refs byte, buckets ...uint16) []byte {
		r := []byte{net}
		r = append(r, 9)
		r = append(r, make([]byte, addrLen-1)...)
		r = append(r, 0x20, 0x8d)                 // port
		r = append(r, make([]byte, 8+3*8+4+6)...) // services, times, attempts, source
		r = append(r, tried, refs)
		for _, bk := range buckets {
			r = binary.BigEndian.AppendUint16(r, bk)
		}
		return r
	}
	cases := []struct {
		name string
		file []byte
	}{
		{"count 4e9", seal(header(0xffff_ffff))},
		{"count beyond the file", seal(append(header(3), rec(1, 4, 0, 1, 5)...))},
		{"network 3", seal(append(header(1), rec(3, 4, 0, 1, 5)...))},
		{"tried with refs", seal(append(header(1), rec(1, 4, 1, 1, 5)...))},
		{"new without refs", seal(append(header(1), rec(1, 4, 0, 0)...))},
		{"9 refs", seal(append(header(1), rec(1, 4, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9)...))},
		{"bucket 1024", seal(append(header(1), rec(1, 4, 0, 1, 1024)...))},
		{"twice", seal(append(append(header(2), rec(1, 4, 0, 1, 5)...), rec(1, 4, 0, 1, 6)...))},
		{"short record", seal(append(header(1), rec(1, 4, 0, 2, 5)...)[:len(header(1))+20])},
		{"bytes after", seal(append(append(header(1), rec(1, 4, 0, 1, 5)...), 0))},
	}
	b := newBook(t, 25, false)
	for _, tc := range cases {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		err := b.UnmarshalBinary(tc.file)
		runtime.ReadMemStats(&m1)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if got := m1.TotalAlloc - m0.TotalAlloc; got > 1<<20 {
			t.Errorf("%s: decoding allocated %d bytes", tc.name, got)
		}
		t.Logf("%s: %v", tc.name, err)
	}
	// the same record, sealed honestly, loads
	if err := b.UnmarshalBinary(seal(append(header(1), rec(1, 4, 0, 1, 5)...))); err != nil || b.Len() != 1 {
		t.Errorf("a valid crafted file: %v, %d entries", err, b.Len())
	}
	check(t, b)
}
