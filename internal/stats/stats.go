// Package stats holds the node's event counters and histograms: fixed
// arrays of atomics that the peer driver, the mempool and the node update
// where things happen, without a lock or an allocation, and that a reader
// (internal/metrics) copies at scrape time. It imports no metrics library,
// so the packages that count stay free of one.
package stats

import (
	"math"
	"sync/atomic"
	"time"
)

// Histogram counts durations into fixed buckets. Observe is a few atomic
// adds; the zero value is not usable: make one with NewHistogram.
type Histogram struct {
	bounds []time.Duration // upper bounds, ascending
	counts []atomic.Uint64 // len(bounds)+1: the last is above every bound
	sumNs  atomic.Int64    // sum of the observations, nanoseconds
}

// NewHistogram returns a histogram with the given upper bounds, ascending.
func NewHistogram(bounds ...time.Duration) *Histogram {
	return &Histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

// Observe counts d. Safe for concurrent use; it never allocates.
func (h *Histogram) Observe(d time.Duration) {
	if h == nil {
		return
	}
	i := 0
	for i < len(h.bounds) && d > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNs.Add(int64(d))
}

// HistogramSnapshot is a copy of a histogram: cumulative counts per upper
// bound (seconds), as Prometheus writes them.
type HistogramSnapshot struct {
	Count   uint64
	Sum     float64            // seconds
	Buckets map[float64]uint64 // upper bound in seconds -> observations at or below it
}

// Snapshot copies h. The copy is consistent enough for monitoring: an
// observation that lands while it is taken may be in the count and not
// yet in the sum.
func (h *Histogram) Snapshot() HistogramSnapshot {
	s := HistogramSnapshot{Buckets: make(map[float64]uint64, len(h.bounds))}
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i].Load()
		s.Buckets[b.Seconds()] = cum
	}
	cum += h.counts[len(h.bounds)].Load()
	s.Count = cum
	s.Sum = float64(h.sumNs.Load()) / float64(time.Second)
	return s
}

// ExpBuckets returns n bounds from start, each factor times the last.
func ExpBuckets(start time.Duration, factor float64, n int) []time.Duration {
	out := make([]time.Duration, n)
	v := float64(start)
	for i := range out {
		out[i] = time.Duration(math.Round(v))
		v *= factor
	}
	return out
}

// Counters is a fixed set of counters indexed by a small integer: a label
// with a bounded set of values, each value's index fixed by its owner.
type Counters []atomic.Uint64

// NewCounters returns n counters.
func NewCounters(n int) Counters { return make(Counters, n) }

// Inc adds 1 to counter i; an index out of range counts in the last.
func (c Counters) Inc(i int) { c.Add(i, 1) }

// Add adds v to counter i; an index out of range counts in the last.
func (c Counters) Add(i int, v uint64) {
	if i < 0 || i >= len(c) {
		i = len(c) - 1
	}
	c[i].Add(v)
}

// Load returns counter i.
func (c Counters) Load(i int) uint64 { return c[i].Load() }
