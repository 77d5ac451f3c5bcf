package driver

import (
	"time"

	"github.com/peerd/peerd/peer"
)

// inbox holds the events other goroutines hand the owner loop, in arrival
// order. Each kind that may arrive is bounded by inboxLimit; adding an input
// kind is one entry there.
type inbox struct {
	evs   []peer.Event
	count [numKinds]uint8 // events of each kind in evs
}

// numKinds bounds peer.EventKind values the inbox counts.
const numKinds = 16

// inboxLimit is how many events of each kind may wait in an inbox; a kind
// without an entry cannot be handed in. Executor answers are bounded by
// the machine instead: it keeps at most peer.MaxChecks jobs outstanding, so
// their limit is never what refuses one (an answer must not be lost).
var inboxLimit = [numKinds]uint8{
	peer.EvCmd:   CmdQueue,
	peer.EvRelay: RelayQueue,
	peer.EvDone:  peer.MaxChecks,
	peer.EvAddrs: 1, // the one answer to the peer's one getaddr

	peer.EvAddrRelay: AddrRelayQueue,
}

// put hands ev to the owner loop unless the inbox already holds as many
// events of its kind as inboxLimit allows; it wakes the loop when it took
// ev. It never blocks on the peer.
func (p *Peer) put(ev peer.Event) bool {
	p.inMu.Lock()
	in := &p.in
	ok := in.count[ev.Kind] < inboxLimit[ev.Kind]
	if ok {
		in.evs = append(in.evs, ev)
		in.count[ev.Kind]++
	}
	p.inMu.Unlock()
	if ok {
		p.wake()
	}
	return ok
}

// queued reports how many events of kind wait in the inbox.
func (p *Peer) queued(kind peer.EventKind) int {
	p.inMu.Lock()
	defer p.inMu.Unlock()
	return int(p.in.count[kind])
}

// wakePast is a read deadline in the past: setting it makes a blocked read
// return at once.
var wakePast = time.Unix(1, 0)

// wake makes the owner loop look at its inbox and whether it is closing.
// Whoever sets the flag first also moves the read deadline into the past;
// the loop clears the flag before it looks, and looks at the flag again
// after it sets its own deadline, so a wake-up is never lost between the
// two.
func (p *Peer) wake() {
	if !p.woken.Swap(true) {
		p.conn.SetReadDeadline(wakePast)
	}
}

// drain steps the machine through what the inbox holds, a disconnect
// first, then every event in arrival order. own must be held.
//
//go:noinline
func (p *Peer) drain() {
	p.own.check()
	if p.closing.Load() {
		p.mu.Lock()
		why := p.closeWhy
		p.mu.Unlock()
		p.loopStep(peer.Event{Kind: peer.EvCmd, Cmd: peer.CmdDisconnect, Reason: why, Now: time.Now()})
		return
	}
	p.inMu.Lock()
	// Swap the inbox with the one taken last time, so that neither
	// allocates once both have grown to their working size.
	var taken inbox
	p.in, taken = inbox{evs: p.taken[:0]}, p.in
	p.taken = taken.evs
	p.inMu.Unlock()
	evs := p.taken
	for i := range evs {
		evs[i].Now = time.Now()
		p.loopStep(evs[i])
		evs[i] = peer.Event{} // do not pin a batch until the next drain
	}
}
