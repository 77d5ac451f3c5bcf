package node

import (
	"sync/atomic"
	"time"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/internal/stats"
	"github.com/peerd/peerd/node/connmgr"
	"github.com/peerd/peerd/node/privbcast"
	"github.com/peerd/peerd/peer"
	"github.com/peerd/peerd/peer/driver"
)

// Stats are the node's event counters: what happened since the node
// started, counted where it happens with atomic adds (internal/metrics
// reads them at scrape time). Labelled counters are indexed by a fixed
// table (ReasonLabels, privbcast's outcomes), so their label sets are
// bounded.
type Stats struct {
	// Peer holds the peers' counters: bytes and messages per command,
	// ping round trips.
	Peer *driver.Stats

	HandshakesDone  atomic.Uint64  // connections whose handshake completed
	HandshakeFailed stats.Counters // connections that ended before it did, by ReasonLabels index
	Disconnects     stats.Counters // every connection's end, by ReasonLabels index
	Discouraged     atomic.Uint64  // peers discouraged for misbehaviour
	Bans            atomic.Uint64  // subnets the operator banned (setban add)

	Announced atomic.Uint64 // transactions announced to a peer (one per tx per peer)
	Served    atomic.Uint64 // transactions a peer fetched from us with getdata
	// FirstFetch and FirstEcho are, per transaction, the time from its
	// acceptance into the mempool to the first peer's getdata for it and
	// to the first announcement of it back by a peer that had not
	// fetched it from us.
	FirstFetch, FirstEcho *stats.Histogram

	// PrivAttempts counts private broadcast attempts by outcome
	// (privbcast.Outcome: receipt, failed, rejected).
	PrivAttempts stats.Counters
}

// PropagationBuckets are the relay histograms' upper bounds: 100 ms to
// about 27 minutes, doubling (Core's announcement delays are seconds;
// a transaction nobody fetches waits for the re-announcement).
var PropagationBuckets = stats.ExpBuckets(100*time.Millisecond, 2, 15)

// ReasonLabels are the metrics' names for why a connection ended, by
// index; the last, "other", counts a reason not in the table.
var ReasonLabels = func() []string {
	out := make([]string, len(reasonTable)+1)
	for i, r := range reasonTable {
		out[i] = r.label
	}
	out[len(reasonTable)] = "other"
	return out
}()

var reasonTable = [...]struct {
	r     peer.Reason
	label string
}{
	{peer.ReasonPingTimeout, "ping_timeout"},
	{peer.ReasonIdle, "idle_timeout"},
	{peer.ReasonWTxIDRelayAfterVerack, "wtxidrelay_after_verack"},
	{peer.ReasonAddrV2AfterVerack, "sendaddrv2_after_verack"},
	{peer.ReasonOperator, "operator"},
	{peer.ReasonShutdown, "shutdown"},
	{peer.ReasonEOF, "closed_by_peer"},
	{peer.ReasonReadError, "read_error"},
	{peer.ReasonWriteError, "write_error"},
	{peer.ReasonBadMagic, "bad_magic"},
	{peer.ReasonOversized, "oversized"},
	{peer.ReasonInternal, "internal_error"},
	{peer.ReasonMempoolRequest, "mempool_without_bloom"},
	{peer.ReasonFilterLoad, "filterload_without_bloom"},
	{peer.ReasonFilterAdd, "filteradd_without_bloom"},
	{peer.ReasonFilterClear, "filterclear_without_bloom"},
	{peer.ReasonEvicted, "evicted"},
	{peer.ReasonBanned, "banned"},
	{peer.ReasonV2Refused, "v2_refused"},
	{peer.ReasonTransport, "transport_violation"},
	{peer.ReasonTooMany, "too_many_entries"},
	{peer.ReasonBroadcastDone, "private_broadcast_done"},
	{peer.ReasonBroadcastTimeout, "private_broadcast_timeout"},
	{peer.ReasonBroadcastNoGetData, "private_broadcast_no_getdata"},
	{reasonFeeler, "feeler_done"},
	{peer.Reason(handshake.FailTimeout), "handshake_timeout"},
	{peer.Reason(handshake.FailObsoleteVersion), "obsolete_version"},
	{peer.Reason(handshake.FailSelfConnection), "self_connection"},
	{peer.Reason(handshake.FailMissingServices), "missing_services"},
}

// ReasonLabel returns r's index in ReasonLabels.
func ReasonLabel(r peer.Reason) int {
	for i := range reasonTable {
		if reasonTable[i].r == r {
			return i
		}
	}
	return len(reasonTable)
}

func newStats() *Stats {
	return &Stats{
		Peer:            driver.NewStats(),
		HandshakeFailed: stats.NewCounters(len(ReasonLabels)),
		Disconnects:     stats.NewCounters(len(ReasonLabels)),
		FirstFetch:      stats.NewHistogram(PropagationBuckets...),
		FirstEcho:       stats.NewHistogram(PropagationBuckets...),
		PrivAttempts:    stats.NewCounters(int(privbcast.OutcomeRejected) + 1),
	}
}

// Stats returns the node's counters. Safe for concurrent use; the
// counters are read with atomic loads.
func (n *Node) Stats() *Stats { return n.stats }

// PeerGauge is one peer as a scrape counts it.
type PeerGauge struct {
	driver.Brief
	Conn ConnType
}

// EachPeer calls f with every connected peer's state, direction,
// transport and connection type. It holds the node's lock only to copy
// the peer list and allocates one slice for it; f must not block.
func (n *Node) EachPeer(f func(PeerGauge)) {
	type entry struct {
		p     *driver.Peer
		kind  connmgr.Kind
		known bool
	}
	n.mu.Lock()
	ps := make([]entry, 0, len(n.peers))
	for id, p := range n.peers {
		k, ok := n.m.Kind(id)
		ps = append(ps, entry{p, k, ok})
	}
	n.mu.Unlock()
	for _, e := range ps {
		b := e.p.Brief()
		f(PeerGauge{Brief: b, Conn: connType(b.Inbound, e.kind, e.known)})
	}
}

// NetTotals are the bytes of every connection since the node started,
// the ended ones' included (Core's getnettotals).
type NetTotals struct {
	BytesRecv, BytesSent uint64
	At                   time.Time
}

// NetTotals returns the node's byte totals.
func (n *Node) NetTotals() NetTotals {
	n.mu.Lock()
	t := NetTotals{BytesRecv: n.endedRecv, BytesSent: n.endedSent, At: time.Now()}
	for _, p := range n.peers {
		s, r := p.Bytes()
		t.BytesSent += s
		t.BytesRecv += r
	}
	n.mu.Unlock()
	return t
}
