package addrbook

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/btcsuite/btcd/wire/v2"
)

// The file format, version 1, all integers big-endian:
//
//	magic    "PDAB"
//	version  u8 (1)
//	length   u32: the whole file's length, checksum included
//	key      [32]byte
//	count    u32: entries that follow
//	entries  count times:
//	    network u8 (1, 2, 4), address (4, 16 or 32 bytes), port u16,
//	    services u64, seen i64, lastTry i64, lastSuccess i64 (Unix seconds, 0: never),
//	    attempts u32, source group [6]byte,
//	    tried u8 (0, 1), refs u8 (tried: 0; new: 1 to 8), refs times: new bucket u16
//	checksum [32]byte: SHA-256 of everything before it
//
// Positions in a bucket are not written: they follow from the key, the
// bucket and the address.

const (
	magic         = "PDAB"
	formatVersion = 1
	headerLen     = 4 + 1 + 4 + 32 + 4
	checksumLen   = sha256.Size
	minEntryLen   = 1 + 4 + 2 + 8 + 3*8 + 4 + 6 + 1 + 1
)

// FormatError is what UnmarshalBinary returns for input it cannot take.
// Every one satisfies errors.Is(err, ErrCorrupt); the specific kinds are
// ErrNotBook, ErrVersion, ErrTruncated and ErrChecksum.
type FormatError struct {
	Kind   error // one of the Err values
	Offset int   // where in the input, if it applies
	Detail string
}

func (e *FormatError) Error() string {
	s := e.Kind.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return fmt.Sprintf("%s (offset %d)", s, e.Offset)
}

// Is makes every FormatError an ErrCorrupt as well as its Kind.
func (e *FormatError) Is(target error) bool { return target == e.Kind || target == ErrCorrupt }

type kind string

func (k kind) Error() string { return string(k) }

// The kinds of FormatError.
var (
	ErrCorrupt   error = kind("addrbook: corrupt book")
	ErrNotBook   error = kind("addrbook: not an address book")
	ErrVersion   error = kind("addrbook: unknown format version")
	ErrTruncated error = kind("addrbook: truncated book")
	ErrChecksum  error = kind("addrbook: checksum mismatch")
)

func formatErr(k error, off int, format string, args ...any) error {
	return &FormatError{Kind: k, Offset: off, Detail: fmt.Sprintf(format, args...)}
}

// MarshalBinary encodes the book, key included, in the format above.
// Collisions waiting and failure bookkeeping (when a failure was last
// counted) are not kept, as Core keeps neither.
func (b *Book) MarshalBinary() ([]byte, error) {
	out := make([]byte, 0, headerLen+len(b.random)*(minEntryLen+16)+checksumLen)
	out = append(out, magic...)
	out = append(out, formatVersion)
	out = append(out, 0, 0, 0, 0) // length, below
	out = append(out, b.key[:]...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(b.random)))
	for _, id := range b.random {
		e := &b.entries[id]
		out = append(out, byte(e.addr.net))
		out = append(out, e.addr.raw[:rawLen(e.addr.net)]...)
		out = binary.BigEndian.AppendUint16(out, e.addr.port)
		out = binary.BigEndian.AppendUint64(out, uint64(e.services))
		out = binary.BigEndian.AppendUint64(out, uint64(e.seen))
		out = binary.BigEndian.AppendUint64(out, uint64(e.lastTry))
		out = binary.BigEndian.AppendUint64(out, uint64(e.lastOK))
		out = binary.BigEndian.AppendUint32(out, uint32(e.attempts))
		out = append(out, e.src[:]...)
		if e.tried {
			out = append(out, 1, 0)
			continue
		}
		out = append(out, 0, e.refs)
		for _, s := range e.slots[:e.refs] {
			out = binary.BigEndian.AppendUint16(out, s/BucketSize)
		}
	}
	binary.BigEndian.PutUint32(out[5:9], uint32(len(out)+checksumLen))
	sum := sha256.Sum256(out)
	return append(out, sum[:]...), nil
}

// UnmarshalBinary replaces the book's contents, key included, with what
// data encodes; Rand and Local stay the book's. On any error the book is
// unchanged and the error is a *FormatError. It allocates nothing a
// length field claims before the checksum has vouched for it, and no more
// than the input can hold.
//
// Entries the book would not take (not routable under its Local setting)
// are dropped, as are those whose slot another entry of the file already
// holds (Core does the same when a file's bucketing no longer fits).
func (b *Book) UnmarshalBinary(data []byte) error {
	if len(data) < len(magic) || string(data[:len(magic)]) != magic {
		if len(data) < len(magic) && string(data) == magic[:len(data)] {
			return formatErr(ErrTruncated, len(data), "%d bytes", len(data))
		}
		return formatErr(ErrNotBook, 0, "")
	}
	if len(data) < 9 {
		return formatErr(ErrTruncated, len(data), "%d bytes", len(data))
	}
	if data[4] != formatVersion {
		return formatErr(ErrVersion, 4, "version %d", data[4])
	}
	length := binary.BigEndian.Uint32(data[5:9])
	switch {
	case uint64(len(data)) < uint64(length):
		return formatErr(ErrTruncated, len(data), "%d of %d bytes", len(data), length)
	case uint64(len(data)) > uint64(length):
		return formatErr(ErrCorrupt, int(length), "%d bytes after the end", uint64(len(data))-uint64(length))
	case length < headerLen+checksumLen:
		return formatErr(ErrCorrupt, 5, "length %d", length)
	}
	body := data[:len(data)-checksumLen]
	if sum := sha256.Sum256(body); string(sum[:]) != string(data[len(body):]) {
		return formatErr(ErrChecksum, len(body), "")
	}
	count := binary.BigEndian.Uint32(body[41:45])
	if uint64(count) > uint64(NewBuckets*BucketSize+TriedBuckets*BucketSize) || uint64(count)*minEntryLen > uint64(len(body)-headerLen) {
		return formatErr(ErrCorrupt, 41, "%d entries", count)
	}

	// count is vouched for by the checksum and bounded by the input's
	// length (each entry takes minEntryLen bytes at least): room for it is
	// no more than the input can fill.
	nb := &Book{rand: b.rand, local: b.local}
	nb.reset(int(count))
	copy(nb.key[:], body[9:41])
	r := reader{buf: body, off: headerLen}
	type newRef struct {
		id     int32
		bucket int
	}
	refs := make([]newRef, 0, count)
	for i := uint32(0); i < count; i++ {
		start := r.off
		var e entry
		e.addr.net = Network(r.u8())
		n := rawLen(e.addr.net)
		if n == 0 && r.err == nil {
			return formatErr(ErrCorrupt, start, "network %d", e.addr.net)
		}
		copy(e.addr.raw[:], r.bytes(n))
		e.addr.port = r.u16()
		e.services = wire.ServiceFlag(r.u64())
		e.seen, e.lastTry, e.lastOK = int64(r.u64()), int64(r.u64()), int64(r.u64())
		attempts := r.u32()
		copy(e.src[:], r.bytes(len(e.src)))
		tried, nrefs := r.u8(), r.u8()
		var buckets [MaxRefs]int
		if r.err == nil && (tried > 1 || tried == 1 && nrefs != 0 || tried == 0 && (nrefs == 0 || nrefs > MaxRefs)) {
			return formatErr(ErrCorrupt, r.off-2, "tried %d with %d buckets", tried, nrefs)
		}
		for j := 0; j < int(nrefs) && j < MaxRefs; j++ {
			buckets[j] = int(r.u16())
			if r.err == nil && buckets[j] >= NewBuckets {
				return formatErr(ErrCorrupt, r.off-2, "new bucket %d", buckets[j])
			}
		}
		if r.err != nil {
			return formatErr(ErrCorrupt, start, "entry %d runs past the end", i)
		}
		if attempts > 1<<31-1 || e.seen < 0 || e.lastTry < 0 || e.lastOK < 0 {
			return formatErr(ErrCorrupt, start, "entry %d: attempts %d, times %d %d %d", i, attempts, e.seen, e.lastTry, e.lastOK)
		}
		e.attempts = int32(attempts)
		if _, dup := nb.index[e.addr]; dup {
			return formatErr(ErrCorrupt, start, "%v twice", e.addr)
		}
		if !routable(e.addr, nb.local) {
			continue
		}
		if tried == 1 {
			ts := nb.triedSlot(e.addr)
			if nb.triedTab[ts] != 0 {
				continue // lost, as Core loses it
			}
			id := nb.create(e.addr, e.src)
			nb.count(&nb.entries[id], false, -1)
			e.randPos, e.tried, e.slots[0] = nb.entries[id].randPos, true, ts
			nb.entries[id] = e
			nb.triedTab[ts] = id + 1
			nb.count(&nb.entries[id], true, +1)
			continue
		}
		id := nb.create(e.addr, e.src)
		e.randPos = nb.entries[id].randPos
		nb.entries[id] = e
		for _, bk := range buckets[:nrefs] {
			refs = append(refs, newRef{id, bk})
		}
	}
	if r.off != len(body) {
		return formatErr(ErrCorrupt, r.off, "%d bytes after the last entry", len(body)-r.off)
	}
	// New slots after all tried ones, as Core restores them: the written
	// bucket if its slot is free, else the one the entry's source gives.
	for _, ref := range refs {
		e := &nb.entries[ref.id]
		if e.refs == MaxRefs {
			continue
		}
		s := nb.slot(true, ref.bucket, e.addr)
		if nb.newTab[s] != 0 {
			s = nb.slot(true, nb.newBucket(e.addr, e.src), e.addr)
			if nb.newTab[s] != 0 {
				continue
			}
		}
		e.slots[e.refs] = s
		e.refs++
		nb.newTab[s] = ref.id + 1
	}
	for i := len(nb.random) - 1; i >= 0; i-- {
		if id := nb.random[i]; !nb.entries[id].tried && nb.entries[id].refs == 0 {
			nb.remove(id)
		}
	}
	*b = *nb
	return nil
}

// reader reads big-endian fields; past the end it returns zeros and sets
// err, so a caller checks once per record.
type reader struct {
	buf []byte
	off int
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n > len(r.buf)-r.off {
		r.err = ErrTruncated
		r.off = len(r.buf)
		return make([]byte, n)
	}
	b := r.buf[r.off : r.off+n]
	r.off += n
	return b
}

func (r *reader) u8() uint8   { return r.bytes(1)[0] }
func (r *reader) u16() uint16 { return binary.BigEndian.Uint16(r.bytes(2)) }
func (r *reader) u32() uint32 { return binary.BigEndian.Uint32(r.bytes(4)) }
func (r *reader) u64() uint64 { return binary.BigEndian.Uint64(r.bytes(8)) }
