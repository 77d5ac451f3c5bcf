package driver

import (
	"sync/atomic"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/stats"
	"github.com/peerd/peerd/internal/wireio"
)

// Stats are the counters every peer of a node adds to: bytes and messages
// per command (indexed as wireio's command table, wireio.NumCommands
// counting every command not in it) and the ping round trips. The node
// makes one (NewStats) and hands it to its peers in Config.Stats; a peer
// adds to it with atomic adds, never a lock or an allocation.
type Stats struct {
	BytesSent, BytesRecv stats.Counters
	MsgsSent, MsgsRecv   stats.Counters
	PingRTT              *stats.Histogram
}

// PingBuckets are the ping histogram's upper bounds: 1 ms to about 33 s,
// doubling.
var PingBuckets = stats.ExpBuckets(1e6, 2, 16)

// NewStats returns counters for every command of wireio's table and the
// others.
func NewStats() *Stats {
	n := wireio.NumCommands + 1
	return &Stats{
		BytesSent: stats.NewCounters(n), BytesRecv: stats.NewCounters(n),
		MsgsSent: stats.NewCounters(n), MsgsRecv: stats.NewCounters(n),
		PingRTT: stats.NewHistogram(PingBuckets...),
	}
}

// traffic is a peer's bytes per command (getpeerinfo's bytessent_per_msg
// and bytesrecv_per_msg) and the last feefilter it sent. It is made at the
// first message counted and holds an entry per command seen, in the order
// seen, so a peer that exchanged a dozen kinds of message holds a dozen
// entries, not the whole table.
//
// Only the peer's owner (own held) writes; anyone reads. A command not
// seen before makes a new traffic, one entry longer, that the owner
// publishes in place of the old: readers of the old one see counts that
// are only stale, and no count is lost because no one else adds.
type traffic struct {
	feeFilter atomic.Int64 // sat/kvB, as the peer's last feefilter said
	counts    []cmdBytes
}

// cmdBytes is the bytes of one command in one direction.
type cmdBytes struct {
	key uint16 // wireio command index, sentBit for what we sent
	n   atomic.Uint64
}

const sentBit = 1 << 15

// count adds size bytes of command cmd (an index of wireio's table) to
// the peer's and the node's counters; own must be held.
func (p *Peer) count(cmd, size int, sent bool) {
	key := uint16(cmd)
	if st := p.cfg.Stats; st != nil {
		if sent {
			st.BytesSent.Add(cmd, uint64(size))
			st.MsgsSent.Inc(cmd)
		} else {
			st.BytesRecv.Add(cmd, uint64(size))
			st.MsgsRecv.Inc(cmd)
		}
	}
	if sent {
		key |= sentBit
	}
	t := p.traffic.Load()
	if t != nil {
		for i := range t.counts {
			if t.counts[i].key == key {
				t.counts[i].n.Add(uint64(size))
				return
			}
		}
	}
	p.grow(t, key, uint64(size))
}

// grow publishes a traffic with one more entry; own must be held.
//
//go:noinline
func (p *Peer) grow(old *traffic, key uint16, n uint64) {
	var have []cmdBytes
	if old != nil {
		have = old.counts
	}
	t := &traffic{counts: make([]cmdBytes, len(have)+1)}
	for i := range have {
		t.counts[i].key = have[i].key
		t.counts[i].n.Store(have[i].n.Load())
	}
	t.counts[len(have)].key = key
	t.counts[len(have)].n.Store(n)
	if old != nil {
		t.feeFilter.Store(old.feeFilter.Load())
	}
	p.traffic.Store(t)
}

// received counts a message Next returned; own must be held.
func (p *Peer) countRecv(msg wire.Message) {
	cmd := wireio.CommandIndex(msg.Command())
	p.count(cmd, p.t.LastSize(), false)
	if ff, ok := msg.(*wire.MsgFeeFilter); ok {
		// Counted first, so the traffic exists.
		p.traffic.Load().feeFilter.Store(ff.MinFee)
	}
}

// perMsg fills a snapshot's per-command bytes and feefilter.
func (p *Peer) perMsg(s *Snapshot) {
	t := p.traffic.Load()
	if t == nil {
		return
	}
	s.MinFeeFilter = t.feeFilter.Load()
	s.BytesSentPerMsg = make(map[string]uint64, len(t.counts))
	s.BytesRecvPerMsg = make(map[string]uint64, len(t.counts))
	for i := range t.counts {
		c := &t.counts[i]
		m := s.BytesRecvPerMsg
		if c.key&sentBit != 0 {
			m = s.BytesSentPerMsg
		}
		m[wireio.CommandAt(int(c.key&^sentBit))] += c.n.Load()
	}
}
