package driver

import (
	"context"
	"net"
	"testing"

	"github.com/peerd/peerd/internal/transport"
	"github.com/peerd/peerd/internal/wireio"
	"github.com/peerd/peerd/peer"
)

// TestTrafficCounts: more kinds of message than a block holds chain a
// second block; counting a known command allocates nothing; the
// snapshot's maps and the node-wide counters agree.
func TestTrafficCounts(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	cfg := testDriverConfig()
	cfg.Stats = NewStats()
	p := New(context.Background(), 1, a, transport.NewV1(a, cfg.Net), cfg, peer.Params{})
	kinds := trafficBlock + 3
	for i := range kinds {
		p.count(i, 100+i, false)
		p.count(i, 10, true)
	}
	p.count(wireio.NumCommands, 29, false) // an unknown command
	if n := testing.AllocsPerRun(100, func() { p.count(3, 1, false) }); n != 0 {
		t.Errorf("counting a command seen before allocates %v times", n)
	}
	var s Snapshot
	p.perMsg(&s)
	if len(s.BytesRecvPerMsg) != kinds+1 || len(s.BytesSentPerMsg) != kinds {
		t.Fatalf("%d received and %d sent commands, want %d and %d", len(s.BytesRecvPerMsg), len(s.BytesSentPerMsg), kinds+1, kinds)
	}
	for i := range kinds {
		want := uint64(100 + i)
		if i == 3 {
			want += 101 // AllocsPerRun: a warm-up and 100 runs
		}
		if got := s.BytesRecvPerMsg[wireio.CommandAt(i)]; got != want {
			t.Errorf("received %s: %d, want %d", wireio.CommandAt(i), got, want)
		}
		if got := s.BytesSentPerMsg[wireio.CommandAt(i)]; got != 10 {
			t.Errorf("sent %s: %d, want 10", wireio.CommandAt(i), got)
		}
		if got := cfg.Stats.BytesRecv.Load(i); got != want {
			t.Errorf("node-wide received %s: %d, want %d", wireio.CommandAt(i), got, want)
		}
	}
	if got := s.BytesRecvPerMsg["*other*"]; got != 29 {
		t.Errorf("*other*: %d, want 29", got)
	}
}
