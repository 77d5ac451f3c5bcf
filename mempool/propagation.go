package mempool

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// MaxPeerEvents bounds each propagation list of an entry: once a list holds
// this many peers, further peers are not recorded in it. With Core's 125
// connections this is only reached by an entry that lives through many
// reconnections. Worst case memory is MaxPeerEvents × 3 lists × ~50 bytes
// (plus the address strings, shared with the caller) per entry.
const MaxPeerEvents = 1000

// PeerRef names a peer connection. ID identifies it (one per connection,
// never reused by the node); Addr is informational.
type PeerRef struct {
	ID   uint64
	Addr string
}

// PeerEvent is the first time something happened with a peer.
type PeerEvent struct {
	Peer PeerRef
	At   time.Time
}

// Propagation is a copy of an entry's propagation records, each list sorted
// by time and holding each peer at most once.
type Propagation struct {
	InvSent  []PeerEvent // peers we announced the transaction to
	Fetched  []PeerEvent // peers that asked for it with getdata
	SeenFrom []PeerEvent // peers that announced it to us without having it from us

	// Private broadcast (AddPrivate): one record per broadcast
	// connection, in the order they were opened, and when the
	// transaction was confirmed (announced back by an ordinary peer) and
	// published; zero while it is not.
	Attempts  []Attempt
	Confirmed time.Time
}

// Attempt is the record of one private-broadcast connection of a
// transaction. Times are zero until the step happened.
type Attempt struct {
	ID        uint64    // the broadcast scheduler's attempt number
	Addr      string    // the address dialled (through the proxy)
	Peer      uint64    // the connection's peer id once connected, else 0
	Transport string    // "v1" or "v2" once connected
	Opened    time.Time // the dial began
	Announced time.Time // the handshake was done and the inv sent
	GetData   time.Time // the peer asked for the transaction
	Sent      time.Time // the transaction and a ping were written
	Received  time.Time // the pong came back: the receipt
	Reject    string    // a BIP 61 reject of the transaction, as "code: reason"
	Ended     time.Time // the connection is over
	Outcome   string    // how it ended: "receipt", "rejected", or why it failed
}

const (
	kindInv = iota
	kindFetch
	kindSeen
)

// propagation is an entry's records: in memory only, never persisted.
type propagation struct {
	mu      sync.Mutex
	lists   [3][]PeerEvent    // guarded by mu, by kind
	index   [3]map[uint64]int // guarded by mu: peer id -> position in lists[kind]
	fetched atomic.Bool       // len(lists[kindFetch]) > 0, readable without mu
	gone    bool              // guarded by mu: the entry left the pool

	attempts  []Attempt // guarded by mu: private broadcast connections
	confirmed time.Time // guarded by mu
}

// MaxAttemptRecords bounds an entry's private-broadcast attempt records;
// later attempts are not recorded (the scheduler still counts them).
const MaxAttemptRecords = 1000

// recordAttempt adds a (by a.ID) or replaces its record with update's
// result. It reports whether the attempt is recorded.
func (pr *propagation) recordAttempt(id uint64, update func(*Attempt), budget *atomic.Int64, limit int64) bool {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.gone {
		return false
	}
	// Recent attempts are searched first: updates follow the opens.
	for i := len(pr.attempts) - 1; i >= 0; i-- {
		if pr.attempts[i].ID == id {
			update(&pr.attempts[i])
			return true
		}
	}
	if len(pr.attempts) >= MaxAttemptRecords {
		return false
	}
	if budget.Add(1) > limit {
		budget.Add(-1)
		return false
	}
	a := Attempt{ID: id}
	update(&a)
	pr.attempts = append(pr.attempts, a)
	return true
}

// indexOf returns the position of peer id in lists[kind], or -1: a map
// lookup, so that recording an inv to each of 1,000 peers stays linear.
func (pr *propagation) indexOf(kind int, id uint64) int {
	if i, ok := pr.index[kind][id]; ok {
		return i
	}
	return -1
}

// record notes that kind happened with peer at at. It reports whether the
// peer is new to that list. A repeat keeps the earlier of the two times.
// "Seen" from a peer we announced to or that fetched from us is ignored: it
// learnt the transaction from us.
//
// Each new event takes one unit of budget (the pool's count of records),
// and is not recorded when that would pass limit.
//
// hint is how many events the list will likely get (the peers an inv goes
// to): a new list and its index are sized for it at once, so that the
// recorder does not grow them step by step (and leave the steps to the
// garbage collector) while a transaction fans out.
func (pr *propagation) record(kind int, peer PeerRef, at time.Time, budget *atomic.Int64, limit int64, hint int) bool {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.gone {
		return false
	}
	if kind == kindSeen && (pr.indexOf(kindInv, peer.ID) >= 0 || pr.indexOf(kindFetch, peer.ID) >= 0) {
		return false
	}
	l := pr.lists[kind]
	if i := pr.indexOf(kind, peer.ID); i >= 0 {
		if at.Before(l[i].At) {
			l[i].At = at
		}
		return false
	}
	if len(l) >= MaxPeerEvents {
		return false
	}
	if budget.Add(1) > limit {
		budget.Add(-1)
		return false
	}
	if pr.index[kind] == nil {
		hint = min(max(hint, 1), MaxPeerEvents)
		pr.index[kind] = make(map[uint64]int, hint)
		if l == nil {
			l = make([]PeerEvent, 0, hint)
		}
	}
	pr.index[kind][peer.ID] = len(l)
	pr.lists[kind] = append(l, PeerEvent{Peer: peer, At: at})
	if kind == kindFetch {
		pr.fetched.Store(true)
	}
	return true
}

// retire marks the entry gone from the pool, so that nothing more is
// recorded for it, and returns how many events its lists hold (the budget
// they give back).
func (pr *propagation) retire() int {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.gone = true
	return len(pr.lists[0]) + len(pr.lists[1]) + len(pr.lists[2]) + len(pr.attempts)
}

func (pr *propagation) snapshot() Propagation {
	pr.mu.Lock()
	out := Propagation{
		InvSent:   slices.Clone(pr.lists[kindInv]),
		Fetched:   slices.Clone(pr.lists[kindFetch]),
		SeenFrom:  slices.Clone(pr.lists[kindSeen]),
		Attempts:  slices.Clone(pr.attempts),
		Confirmed: pr.confirmed,
	}
	pr.mu.Unlock()
	for _, l := range [][]PeerEvent{out.InvSent, out.Fetched, out.SeenFrom} {
		slices.SortStableFunc(l, func(a, b PeerEvent) int { return a.At.Compare(b.At) })
	}
	return out
}
