package driver

import (
	"testing"
	"unsafe"

	"github.com/peerd/peerd/peer"
)

// TestIdlePeerSizeClasses keeps the structs every idle peer holds within
// the allocator's size classes they were measured in (docs/benchmarks.md's
// memory per held peer): a field that pushes one over costs every peer the
// next class (Peer 480 -> 512, Machine 704 -> 768). On 64-bit platforms.
func TestIdlePeerSizeClasses(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are measured on 64-bit platforms")
	}
	if got := unsafe.Sizeof(Peer{}); got > 480 {
		t.Errorf("driver.Peer is %d bytes, over its 480-byte size class", got)
	}
	if got := unsafe.Sizeof(peer.Machine{}); got > 704 {
		t.Errorf("peer.Machine is %d bytes, over its 704-byte size class", got)
	}
}
