package stats

import (
	"testing"
	"time"
)

func TestHistogram(t *testing.T) {
	h := NewHistogram(ExpBuckets(time.Millisecond, 2, 3)...) // 1, 2, 4 ms
	for _, d := range []time.Duration{500 * time.Microsecond, time.Millisecond, 3 * time.Millisecond, time.Second} {
		h.Observe(d)
	}
	s := h.Snapshot()
	want := map[float64]uint64{0.001: 2, 0.002: 2, 0.004: 3}
	for b, n := range want {
		if s.Buckets[b] != n {
			t.Errorf("bucket %v = %d, want %d (%v)", b, s.Buckets[b], n, s.Buckets)
		}
	}
	if s.Count != 4 || s.Sum != 1.0045 {
		t.Errorf("count %d sum %v, want 4 and 1.0045", s.Count, s.Sum)
	}
	if n := testing.AllocsPerRun(100, func() { h.Observe(time.Millisecond) }); n != 0 {
		t.Errorf("Observe allocates %v times", n)
	}
}

func TestCounters(t *testing.T) {
	c := NewCounters(3)
	c.Inc(0)
	c.Add(1, 5)
	c.Inc(7) // out of range: the last
	c.Inc(-1)
	if c.Load(0) != 1 || c.Load(1) != 5 || c.Load(2) != 2 {
		t.Errorf("counters %d %d %d, want 1 5 2", c.Load(0), c.Load(1), c.Load(2))
	}
}
