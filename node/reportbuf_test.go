package node

import (
	"testing"

	"github.com/peerd/peerd/mempool"
)

// TestReportBuf: the recorder's queue keeps order, wakes the recorder only
// when it goes from empty to not empty, refuses reports past its bound
// (they are evidence, dropped and counted by the caller) but always takes
// a flush marker.
func TestReportBuf(t *testing.T) {
	b := reportBuf{wake: make(chan struct{}, 1)}
	woken := func() bool {
		select {
		case <-b.wake:
			return true
		default:
			return false
		}
	}
	if !b.put(report{peer: mempool.PeerRef{ID: 1}}) || !woken() {
		t.Fatal("the first report did not wake the recorder")
	}
	b.put(report{peer: mempool.PeerRef{ID: 2}})
	if woken() {
		t.Error("a report to a queue that was not empty woke the recorder again")
	}
	got := b.take(nil)
	if len(got) != 2 || got[0].peer.ID != 1 || got[1].peer.ID != 2 {
		t.Fatalf("took %+v", got)
	}
	if b.put(report{peer: mempool.PeerRef{ID: 3}}); !woken() {
		t.Error("a report after a take did not wake the recorder")
	}
	for i := len(b.list); i < reportQueue; i++ {
		if !b.put(report{}) {
			t.Fatalf("refused report %d of %d", i+1, reportQueue)
		}
	}
	if b.put(report{}) {
		t.Error("a report past the bound was taken")
	}
	if !b.put(report{done: make(chan struct{})}) {
		t.Error("a flush marker past the bound was refused")
	}
	if got := b.take(got); len(got) != reportQueue+1 || got[0].peer.ID != 3 || got[reportQueue].done == nil {
		t.Errorf("took %d reports, want %d ending with the marker", len(got), reportQueue+1)
	}
	if len(b.list) != 0 {
		t.Errorf("%d reports left after a take", len(b.list))
	}
}
