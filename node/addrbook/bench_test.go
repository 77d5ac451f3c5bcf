package addrbook

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// fullBook fills a book to Core's sizes: every one of the 16,384 tried
// slots and the 65,536 new slots holds an entry (IPv4, from many source
// groups). Tried entries are placed straight into free tried slots (Good
// would leave collisions waiting); new ones arrive through Add, which
// drops those whose slot is taken, until none is free.
func fullBook(tb testing.TB) *Book {
	b := newBook(tb, 31, false)
	r := rand.New(rand.NewPCG(31, 31))
	for b.nTried < TriedBuckets*BucketSize {
		a := ipv4(r.Uint32(), 8333)
		ts := b.triedSlot(a)
		if _, known := b.index[a]; known || b.triedTab[ts] != 0 || !b.Routable(a) {
			continue
		}
		id := b.create(a, b.Group(ipv4(r.Uint32(), 1)))
		e := &b.entries[id]
		b.count(e, false, -1)
		e.seen, e.lastTry, e.lastOK, e.services = t0.Unix(), t0.Unix(), t0.Unix(), 1033
		e.tried, e.slots[0] = true, ts
		b.triedTab[ts] = id + 1
		b.count(e, true, +1)
	}
	for b.nNew < NewBuckets*BucketSize {
		b.Add(t0, ipv4(r.Uint32(), 1), 2*time.Hour, advert(ipv4(r.Uint32(), 8333), t0))
	}
	return b
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkFullBook: the memory of a book at Core's sizes (65,536 new +
// 16,384 tried) and the size of its file. Run with -benchtime 1x.
func BenchmarkFullBook(b *testing.B) {
	for range b.N {
		before := heapInUse()
		book := fullBook(b)
		after := heapInUse()
		data, _ := book.MarshalBinary()
		if c := book.Count(); c.New != 65536 || c.Tried != 16384 {
			b.Fatalf("counts %+v", c)
		}
		b.ReportMetric(float64(after-before), "heap-bytes")
		b.ReportMetric(float64(after-before)/float64(book.Len()), "heap-bytes/entry")
		b.ReportMetric(float64(len(data)), "file-bytes")
		runtime.KeepAlive(book)
		// the same book loaded from its file: sized at once, no growth slack
		book = nil
		before = heapInUse()
		loaded := newBook(b, 1, false)
		if err := loaded.UnmarshalBinary(data); err != nil || loaded.Len() != 65536+16384 {
			b.Fatalf("load: %v, %d entries", err, loaded.Len())
		}
		after = heapInUse()
		b.ReportMetric(float64(after-before), "loaded-heap-bytes")
		runtime.KeepAlive(loaded)
		runtime.KeepAlive(data) // alive through both measurements

	}
}

// BenchmarkMarshalFull and BenchmarkUnmarshalFull: writing and loading a
// full book's file.
func BenchmarkMarshalFull(b *testing.B) {
	book := fullBook(b)
	b.ResetTimer()
	for range b.N {
		if _, err := book.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalFull(b *testing.B) {
	data, _ := fullBook(b).MarshalBinary()
	into := newBook(b, 1, false)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := into.UnmarshalBinary(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAdd: one gossiped address into a full book (most are dropped,
// their slot taken), the cost of an addr message's entry.
func BenchmarkAdd(b *testing.B) {
	book := fullBook(b)
	r := rand.New(rand.NewPCG(5, 5))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		book.Add(t0, ipv4(r.Uint32(), 1), 2*time.Hour, advert(ipv4(r.Uint32(), 8333), t0))
	}
}

// BenchmarkSelect: one pick from a full book.
func BenchmarkSelect(b *testing.B) {
	book := fullBook(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		book.Select(t0, false)
	}
}
