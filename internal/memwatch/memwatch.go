// Package memwatch measures memory for the hostile-peer tests: a background
// sampler of this process's Go memory (heap objects and goroutine stacks),
// and a reader of another process's resident set from /proc.
//
// What the sampler measures is what the Go runtime holds for values and
// stacks: the heap objects (live, plus garbage not yet swept, so a peak
// includes what the collector had not reclaimed yet) and the stack memory.
// It leaves out the runtime's own metadata, free spans kept for reuse and
// kernel socket buffers, so it answers "did we allocate or keep something
// for this input", not "how big is the process" (RSS answers that).
package memwatch

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

var names = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/os-stacks:bytes",
	"/gc/heap/allocs:bytes",
}

// reading is one read of the metrics.
type reading struct {
	inUse  uint64 // heap objects + stacks
	allocs uint64 // cumulative bytes allocated
}

func read(samples []metrics.Sample) reading {
	metrics.Read(samples)
	var r reading
	for _, s := range samples[:3] {
		if s.Value.Kind() == metrics.KindUint64 {
			r.inUse += s.Value.Uint64()
		}
	}
	if s := samples[3]; s.Value.Kind() == metrics.KindUint64 {
		r.allocs = s.Value.Uint64()
	}
	return r
}

func newSamples() []metrics.Sample {
	s := make([]metrics.Sample, len(names))
	for i, n := range names {
		s[i].Name = n
	}
	return s
}

// InUse returns the bytes of heap objects and goroutine stacks now.
func InUse() uint64 { return read(newSamples()).inUse }

// Sampler records the peak of InUse in the background.
type Sampler struct {
	base   reading
	peak   atomic.Uint64
	n      atomic.Int64
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
	report Report
}

// Interval is how often a Sampler reads the metrics.
const Interval = 2 * time.Millisecond

// Start collects garbage, takes the baseline (what is in use before the
// case runs) and samples until Stop.
func Start() *Sampler {
	runtime.GC()
	samples := newSamples()
	s := &Sampler{base: read(samples), stop: make(chan struct{}), done: make(chan struct{})}
	s.peak.Store(s.base.inUse)
	go func() {
		defer close(s.done)
		t := time.NewTicker(Interval)
		defer t.Stop()
		for {
			s.sample(samples)
			select {
			case <-t.C:
			case <-s.stop:
				s.sample(samples)
				return
			}
		}
	}()
	return s
}

func (s *Sampler) sample(samples []metrics.Sample) {
	r := read(samples)
	s.n.Add(1)
	for {
		p := s.peak.Load()
		if r.inUse <= p || s.peak.CompareAndSwap(p, r.inUse) {
			return
		}
	}
}

// Peak returns the peak so far.
func (s *Sampler) Peak() uint64 { return s.peak.Load() }

// Stop ends the sampling and returns what it saw; later calls return the
// same report.
func (s *Sampler) Stop() Report {
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		end := read(newSamples())
		s.report = Report{
			Base:      s.base.inUse,
			Peak:      s.peak.Load(),
			Allocated: end.allocs - s.base.allocs,
			Samples:   int(s.n.Load()),
		}
	})
	return s.report
}

// Report is a Sampler's result, in bytes.
type Report struct {
	Base      uint64 // in use at the start, after a collection
	Peak      uint64 // the highest sample
	Allocated uint64 // allocated in total while sampling (garbage included)
	Samples   int
}

// Growth is how far the peak rose above the baseline.
func (r Report) Growth() uint64 {
	if r.Peak < r.Base {
		return 0
	}
	return r.Peak - r.Base
}

func (r Report) String() string {
	return fmt.Sprintf("peak %s (baseline %s, +%s), %s allocated, %d samples",
		MB(r.Peak), MB(r.Base), MB(r.Growth()), MB(r.Allocated), r.Samples)
}

// MB formats bytes as megabytes (10^6) with one decimal.
func MB(b uint64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

// RSS reads the resident set size of process pid and its peak (VmRSS and
// VmHWM in /proc/PID/status), in bytes. Linux only.
func RSS(pid int) (cur, peak uint64, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	found := 0
	for sc.Scan() {
		key, val, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		var dst *uint64
		switch string(key) {
		case "VmRSS":
			dst = &cur
		case "VmHWM":
			dst = &peak
		default:
			continue
		}
		f := bytes.Fields(val) // "1234", "kB"
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, 0, fmt.Errorf("/proc/%d/status: %s:%s", pid, key, val)
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/status: %s: %v", pid, key, err)
		}
		*dst = kb << 10
		found++
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("/proc/%d/status: no VmRSS or VmHWM", pid)
	}
	return cur, peak, nil
}
