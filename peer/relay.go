package peer

import (
	"math"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// Relay limits, as in Bitcoin Core (net_processing.cpp).
const (
	// MaxInvPerTrickle bounds one announcement round
	// (INVENTORY_BROADCAST_MAX); the rest waits for the next round.
	MaxInvPerTrickle = 1000
	// KnownInventory bounds the per-peer set of hashes the peer is known
	// to have (Core: a 50,000-entry rolling filter).
	KnownInventory = 50000
	// maxReportsPerInv bounds how many hashes of one incoming inv are
	// reported to the node for the propagation records.
	maxReportsPerInv = 1000
	// outboundTrickleShare: outbound peers wait 2/5 of the inbound mean
	// (Core: 2 s against 5 s).
	outboundTrickleNum, outboundTrickleDen = 2, 5
)

// known is a bounded set of hashes the peer has, because we announced them
// (then the value is the transaction, which we may serve) or because it
// announced them to us (nil). The oldest entries are evicted first.
type known struct {
	m    map[chainhash.Hash]*Tx
	ring []chainhash.Hash
	next int
}

func (k *known) has(h chainhash.Hash) bool {
	_, ok := k.m[h]
	return ok
}

func (k *known) get(h chainhash.Hash) *Tx { return k.m[h] }

func (k *known) add(h chainhash.Hash, tx *Tx) {
	if k.m == nil {
		k.m = make(map[chainhash.Hash]*Tx)
	}
	if old, ok := k.m[h]; ok {
		if old == nil && tx != nil {
			k.m[h] = tx
		}
		return
	}
	if len(k.ring) < KnownInventory {
		k.ring = append(k.ring, h)
	} else {
		delete(k.m, k.ring[k.next])
		k.ring[k.next] = h
		k.next = (k.next + 1) % KnownInventory
	}
	k.m[h] = tx
}

// NetKey is a small name for the network an inbound connection came in
// through, given by whoever makes the connection's Params (a uint32 so
// that it costs the idle peer nothing: it fills padding in Params).
type NetKey uint32

// InboundSchedule is the announcement schedule shared by the inbound peers
// of one node, as Bitcoin Core's NextInvToInbounds: one next time per
// network key, so that opening many inbound connections hears of a
// transaction no sooner than opening one, and so that inbound peers of
// different networks (onion and clear net) cannot link us by our timing.
//
// Next returns the shared time of key's next announcement round: the
// stored one if it is still ahead of now, else a new one drawn as now plus
// an exponential delay of the given mean, which it stores. It is called
// from every inbound peer's machine, so it must be safe for concurrent use
// and must not block for long. The machine stays pure: the schedule is
// its caller's shared state, reached only through this call.
type InboundSchedule interface {
	Next(now time.Time, mean time.Duration, key NetKey) time.Time
}

// relayState is the standby machine's transaction relay to one peer.
type relayState struct {
	known   known
	pending []*Tx
	// queued indexes the txids in pending once there are more than
	// smallQueue of them; below that, pending is searched.
	queued      map[chainhash.Hash]bool
	nextTrickle time.Time // zero when nothing is pending

	// The announcement is built in these and reused: a message in an
	// action is valid until the next step.
	inv     wire.MsgInv
	invVecs []wire.InvVect
}

// smallQueue is how many pending transactions are searched one by one
// before an index is built: a relay of one transaction at a time (the
// common case) allocates no map.
const smallQueue = 16

// isQueued reports whether txid waits in pending.
func (r *relayState) isQueued(txid chainhash.Hash) bool {
	if r.queued != nil {
		return r.queued[txid]
	}
	for _, tx := range r.pending {
		if tx.TxID == txid {
			return true
		}
	}
	return false
}

// enqueue adds tx to pending, indexing pending once it grows past
// smallQueue.
func (r *relayState) enqueue(tx *Tx) {
	r.pending = append(r.pending, tx)
	if r.queued != nil {
		r.queued[tx.TxID] = true
	} else {
		r.reindex()
	}
}

// reindex builds the index of pending when it holds more than smallQueue
// transactions, and drops it otherwise.
func (r *relayState) reindex() {
	r.queued = nil
	if len(r.pending) > smallQueue {
		r.queued = make(map[chainhash.Hash]bool, len(r.pending))
		for _, tx := range r.pending {
			r.queued[tx.TxID] = true
		}
	}
}

// announceKey is the hash a transaction is announced by to this peer.
func (m *Machine) announceKey(tx *Tx) chainhash.Hash {
	if m.info.WTxIDRelay {
		return tx.WTxID
	}
	return tx.TxID
}

// relay queues transactions for announcement. Nothing is announced to a peer
// that asked for no transactions (relay = false in its version).
func (m *Machine) relay(now time.Time, txs []*Tx, out *[]Action) {
	if !m.info.Relay {
		return
	}
	r := &m.relayState
	for _, tx := range txs {
		if r.known.has(m.announceKey(tx)) || r.isQueued(tx.TxID) {
			continue
		}
		r.enqueue(tx)
	}
	if len(r.pending) == 0 {
		return
	}
	mean := m.trickleMean()
	if mean <= 0 {
		m.flushInv(now, out)
		return
	}
	if r.nextTrickle.IsZero() {
		r.nextTrickle = m.nextRound(now, mean)
	}
}

// nextRound is when the next announcement round after now is due: the
// shared inbound schedule's time for an inbound peer (when the node gives
// one), else a Poisson delay of this peer's own.
func (m *Machine) nextRound(now time.Time, mean time.Duration) time.Time {
	if s := m.cfg.InboundTrickle; s != nil && m.params.Inbound {
		return s.Next(now, mean, m.params.NetKey)
	}
	return now.Add(m.poisson(mean))
}

// trickleMean is the mean delay before an announcement round.
func (m *Machine) trickleMean() time.Duration {
	if m.params.Inbound {
		return m.cfg.Trickle
	}
	return m.cfg.Trickle * outboundTrickleNum / outboundTrickleDen
}

// poisson draws an exponentially distributed delay with the given mean, so
// that announcement rounds form a Poisson process (Core's
// rand_exp_duration): an observer cannot tell from timing alone which peer
// heard a transaction first.
func (m *Machine) poisson(mean time.Duration) time.Duration {
	return PoissonDelay(m.params.Rand(), mean)
}

// PoissonDelay turns a uniformly random r into an exponentially
// distributed delay with the given mean (Core's rand_exp_duration), so
// that rounds drawn this way form a Poisson process.
func PoissonDelay(r uint64, mean time.Duration) time.Duration {
	u := float64(r>>11) / (1 << 53) // uniform in [0, 1)
	return time.Duration(-math.Log1p(-u) * float64(mean))
}

// trickle runs an announcement round if one is due.
func (m *Machine) trickle(now time.Time, out *[]Action) {
	r := &m.relayState
	if r.nextTrickle.IsZero() || now.Before(r.nextTrickle) {
		return
	}
	m.flushInv(now, out)
}

// flushInv announces up to MaxInvPerTrickle pending transactions in one inv.
func (m *Machine) flushInv(now time.Time, out *[]Action) {
	r := &m.relayState
	n := min(len(r.pending), MaxInvPerTrickle)
	typ := wire.InvTypeTx
	if m.info.WTxIDRelay {
		typ = InvTypeWTx
	}
	r.invVecs = r.invVecs[:0]
	for _, tx := range r.pending[:n] {
		key := m.announceKey(tx)
		if r.known.has(key) && r.known.get(key) == nil {
			continue // the peer announced it to us meanwhile
		}
		// Remembered by the hash it is announced by only (half the
		// memory of keeping both); a getdata by the other hash goes
		// through Config.LookupTx (see announced).
		r.known.add(key, tx)
		r.invVecs = append(r.invVecs, wire.InvVect{Type: typ, Hash: key})
		*out = append(*out, Action{Kind: ActReport, Report: Report{Kind: ReportInv, TxID: tx.TxID}})
	}
	clear(r.pending[:n])
	r.pending = append(r.pending[:0], r.pending[n:]...)
	if r.queued != nil {
		r.reindex()
	}
	if len(r.invVecs) > 0 {
		r.inv.InvList = r.inv.InvList[:0]
		for i := range r.invVecs {
			r.inv.InvList = append(r.inv.InvList, &r.invVecs[i])
		}
		*out = append(*out, Action{Kind: ActSend, Msg: &r.inv})
	}
	if len(r.pending) == 0 && cap(r.pending) > smallQueue {
		// Let go of what a burst grew: an idle peer should not keep
		// the high-water mark of its last relay.
		r.pending = nil
	}
	r.nextTrickle = time.Time{}
	if len(r.pending) > 0 {
		r.nextTrickle = m.nextRound(now, m.trickleMean())
	}
}

// releaseInv lets go of the announcement's buffers after a burst (called
// when the step that sent them is over, see Machine.Step).
func (r *relayState) releaseInv() {
	if cap(r.invVecs) > smallQueue {
		r.invVecs, r.inv.InvList = nil, nil
	}
}

// getData serves transactions we announced to this peer; anything else that
// is a transaction gets notfound. Block requests get no answer, as from a
// pruned Core.
func (m *Machine) getData(req *wire.MsgGetData, out *[]Action) {
	var nf *wire.MsgNotFound
	for _, iv := range req.InvList {
		var tx *Tx
		enc := wire.WitnessEncoding
		switch iv.Type {
		case wire.InvTypeTx:
			tx, enc = m.announced(iv.Hash, false), wire.BaseEncoding
		case wire.InvTypeWitnessTx:
			tx = m.announced(iv.Hash, false)
		case InvTypeWTx:
			tx = m.announced(iv.Hash, true)
		default:
			continue
		}
		if tx == nil {
			if nf == nil {
				nf = wire.NewMsgNotFound()
			}
			_ = nf.AddInvVect(iv)
			continue
		}
		*out = append(*out,
			Action{Kind: ActSend, Msg: tx.Msg, Enc: enc},
			Action{Kind: ActReport, Report: Report{Kind: ReportFetch, TxID: tx.TxID}})
	}
	if nf != nil {
		*out = append(*out, Action{Kind: ActSend, Msg: nf})
	}
}

// announced returns the transaction with hash h (a wtxid when byWTxID, else
// a txid) if we announced it to this peer, else nil.
func (m *Machine) announced(h chainhash.Hash, byWTxID bool) *Tx {
	k := &m.relayState.known
	if tx := k.get(h); tx != nil {
		if (byWTxID && tx.WTxID == h) || (!byWTxID && tx.TxID == h) {
			return tx
		}
		return nil // a txid asked as a wtxid, or the reverse
	}
	if m.cfg.LookupTx == nil {
		return nil
	}
	if tx := m.cfg.LookupTx(h, byWTxID); tx != nil {
		return k.get(m.announceKey(tx))
	}
	return nil
}

// inv records what the peer announces: it has those transactions, so we will
// not announce them to it, and the node learns who has which of its own.
// Entries whose type does not fit the negotiated mode (MSG_TX from a
// wtxidrelay peer, MSG_WTX from another) are ignored, as Core does.
func (m *Machine) inv(inv *wire.MsgInv, out *[]Action) {
	want := wire.InvTypeTx
	if m.info.WTxIDRelay {
		want = InvTypeWTx
	}
	reported := 0
	for _, iv := range inv.InvList {
		if iv.Type != want {
			continue
		}
		m.relayState.known.add(iv.Hash, nil)
		if reported < maxReportsPerInv {
			reported++
			r := Report{Kind: ReportSeenInv, WTx: m.info.WTxIDRelay}
			if r.WTx {
				r.WTxID = iv.Hash
			} else {
				r.TxID = iv.Hash
			}
			*out = append(*out, Action{Kind: ActReport, Report: r})
		}
	}
}
