package memwatch

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

var sink []byte

func TestSamplerSeesAHeldAllocation(t *testing.T) {
	s := Start()
	sink = make([]byte, 20<<20)
	for i := range sink {
		sink[i] = byte(i) // touch it
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Peak() < s.base.inUse+20<<20 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	r := s.Stop()
	runtime.KeepAlive(sink)
	sink = nil
	if r.Growth() < 20<<20 {
		t.Fatalf("%v: a 20 MiB allocation held during sampling was not seen", r)
	}
	if r.Allocated < 20<<20 {
		t.Fatalf("%v: allocated less than the 20 MiB made", r)
	}
	if r.Samples < 2 {
		t.Fatalf("%v: too few samples", r)
	}
	if again := s.Stop(); again != r {
		t.Fatalf("second Stop %v, first %v", again, r)
	}
	if !strings.Contains(r.String(), "MB allocated") {
		t.Fatalf("String() = %q", r)
	}
}

func TestRSSOfThisProcess(t *testing.T) {
	cur, peak, err := RSS(os.Getpid())
	if err != nil {
		if runtime.GOOS != "linux" {
			t.Skipf("no /proc here: %v", err)
		}
		t.Fatal(err)
	}
	if cur == 0 || peak < cur {
		t.Fatalf("VmRSS %d, VmHWM %d", cur, peak)
	}
	if _, _, err := RSS(-1); err == nil {
		t.Fatal("RSS(-1) did not fail")
	}
}
