package mempool

import (
	"sync/atomic"
	"testing"
)

func benchPool(b *testing.B) *Pool {
	p := open(b, b.TempDir(), newClock(), Config{MaxCount: 1 << 30, MaxBytes: 1 << 40})
	b.Cleanup(func() { p.Close() })
	return p
}

// BenchmarkAdd measures one Add at a time: one write and one fsync each.
func BenchmarkAdd(b *testing.B) {
	p := benchPool(b)
	var n uint64
	for b.Loop() {
		n++
		if _, err := p.Add(testTx(n)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/float64(p.syncs()), "tx/fsync")
}

// BenchmarkAddParallel measures concurrent Adds (8 per CPU), which share
// fsyncs (group commit).
func BenchmarkAddParallel(b *testing.B) {
	p := benchPool(b)
	var n atomic.Uint64
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Add(testTx(n.Add(1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(n.Load())/float64(p.syncs()), "tx/fsync")
}
