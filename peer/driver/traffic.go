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
// first message counted and holds an entry per command and direction
// seen, in the order seen: trafficBlock entries in one allocation of 128
// bytes (an idle peer has exchanged about ten kinds of message), and a
// further block chained when those are taken.
//
// Only the peer's owner (own held) writes an entry or adds one; anyone
// reads. An entry packs its key (command index and direction) in the top
// byte and the count of bytes in the rest (2^56 bytes: never reached), so
// a count is one atomic add. A new entry is stored before n counts it.
type traffic struct {
	feeFilter atomic.Int64 // sat/kvB, as the peer's last feefilter said (first block only)
	n         atomic.Int32 // entries in use
	e         [trafficBlock]atomic.Uint64
	next      atomic.Pointer[traffic]
}

// trafficBlock is how many entries a block of traffic holds.
const trafficBlock = 12

const (
	keyShift  = 56
	countMask = 1<<keyShift - 1
	sentBit   = 0x80 // in the key: what we sent
)

// count adds size bytes of command cmd (an index of wireio's table) to
// the peer's and the node's counters; own must be held.
func (p *Peer) count(cmd, size int, sent bool) {
	if st := p.cfg.Stats; st != nil {
		if sent {
			st.BytesSent.Add(cmd, uint64(size))
			st.MsgsSent.Inc(cmd)
		} else {
			st.BytesRecv.Add(cmd, uint64(size))
			st.MsgsRecv.Inc(cmd)
		}
	}
	key := uint64(cmd)
	if sent {
		key |= sentBit
	}
	t := p.traffic.Load()
	if t == nil {
		t = new(traffic)
		p.traffic.Store(t)
	}
	for {
		n := int(t.n.Load())
		for i := range n {
			if t.e[i].Load()>>keyShift == key {
				t.e[i].Add(uint64(size))
				return
			}
		}
		if n < trafficBlock {
			t.e[n].Store(key<<keyShift | uint64(size)&countMask)
			t.n.Store(int32(n + 1))
			return
		}
		next := t.next.Load()
		if next == nil {
			next = new(traffic)
			t.next.Store(next)
		}
		t = next
	}
}

// Every command index, and the others' (wireio.NumCommands), fits below
// sentBit.
var _ [sentBit - wireio.NumCommands - 1]struct{}

// countRecv counts a message Next returned; own must be held.
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
	s.BytesSentPerMsg = make(map[string]uint64)
	s.BytesRecvPerMsg = make(map[string]uint64)
	for ; t != nil; t = t.next.Load() {
		n := int(t.n.Load())
		for i := range n {
			v := t.e[i].Load()
			key := v >> keyShift
			m := s.BytesRecvPerMsg
			if key&sentBit != 0 {
				m = s.BytesSentPerMsg
			}
			m[wireio.CommandAt(int(key&^sentBit))] += v & countMask
		}
	}
}
