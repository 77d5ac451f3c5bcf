package node

import (
	"testing"
	"time"
)

// TestRecentRing: the ring keeps at most recentCap transitions, the
// newest, and since returns those of the window, oldest first.
func TestRecentRing(t *testing.T) {
	var r recentRing
	base := time.Unix(1_700_000_000, 0)
	for i := 0; i < recentCap+10; i++ {
		r.add(PeerTransition{Peer: uint64(i), Transition: Transition{At: base.Add(time.Duration(i) * time.Millisecond)}})
	}
	if len(r.buf) != recentCap {
		t.Fatalf("ring holds %d, want %d", len(r.buf), recentCap)
	}
	all := r.since(time.Time{})
	if len(all) != recentCap || all[0].Peer != 10 || all[len(all)-1].Peer != recentCap+9 {
		t.Fatalf("got %d from peer %d to %d", len(all), all[0].Peer, all[len(all)-1].Peer)
	}
	recent := r.since(base.Add(time.Duration(recentCap) * time.Millisecond))
	if len(recent) != 10 || recent[0].Peer != recentCap {
		t.Fatalf("since: %d, first %d", len(recent), recent[0].Peer)
	}
}
