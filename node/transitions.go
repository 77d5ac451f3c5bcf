package node

import (
	"sync"
	"time"

	"github.com/peerd/peerd/internal/fsm"
	"github.com/peerd/peerd/peer/driver"
)

// Recent transitions: the live page (internal/web) shows how often each
// edge of the peer machine was taken in the last minute, disconnects of
// peers that are gone included, so the node keeps the peers' transitions
// in one ring of fixed size, shared by every peer: per-peer memory stays
// as it is (peer/driver's size test), and the cost is one short lock per
// transition.
const (
	// RecentWindow is how far back RecentTransitions looks.
	RecentWindow = time.Minute
	// recentCap bounds the ring: past it, the oldest transitions of the
	// window are dropped (a burst of more than this many a minute).
	recentCap = 4096
)

// PeerTransition is one state change of one peer.
type PeerTransition struct {
	Peer uint64
	Transition
}

// recentRing holds the latest transitions of every peer.
type recentRing struct {
	mu   sync.Mutex
	buf  []PeerTransition // grows up to recentCap, then wraps
	next int              // where the next goes once buf is full
}

func (r *recentRing) add(t PeerTransition) {
	r.mu.Lock()
	if len(r.buf) < recentCap {
		r.buf = append(r.buf, t)
	} else {
		r.buf[r.next] = t
		r.next = (r.next + 1) % recentCap
	}
	r.mu.Unlock()
}

// since returns the transitions at or after t, oldest first.
func (r *recentRing) since(t time.Time) []PeerTransition {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []PeerTransition
	for _, part := range [][]PeerTransition{r.buf[r.next:], r.buf[:r.next]} {
		for _, pt := range part {
			if !pt.At.Before(t) {
				out = append(out, pt)
			}
		}
	}
	return out
}

// peerTransitioned is the peers' driver.Config.OnTransition.
func (n *Node) peerTransitioned(p *driver.Peer, t fsm.Transition) {
	n.recent.add(PeerTransition{Peer: p.ID(), Transition: Transition{At: t.At, From: t.From, To: t.To, On: t.On}})
}

// RecentTransitions returns the state changes of every peer, connected or
// gone, in the last RecentWindow (at most the last 4096), oldest first.
func (a *Admin) RecentTransitions() []PeerTransition {
	return a.n.recent.since(time.Now().Add(-RecentWindow))
}
