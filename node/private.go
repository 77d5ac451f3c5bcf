package node

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/mempool"
	"github.com/peerd/peerd/node/addrbook"
	"github.com/peerd/peerd/node/connmgr"
	"github.com/peerd/peerd/node/privbcast"
	"github.com/peerd/peerd/peer"
	"github.com/peerd/peerd/peer/driver"
)

// Private broadcast (Config.PrivateBroadcast): the node carries out the
// scheduler's actions (package privbcast holds the policy). A transaction
// from sendrawtransaction is added to the mempool as private
// (mempool.AddPrivate, durable): it is neither announced to nor served to
// ordinary peers. For each ActOpen the node draws an address from the book
// (in a network group none of the transaction's open attempts holds) and
// asks the connection manager for a private-broadcast connection to it
// (connmgr rule 11); the peer machine runs the broadcast (peer's
// broadcast.go) and its reports fill the attempt's record
// (mempool.Attempt). When an ordinary peer announces the transaction back,
// the scheduler confirms it: the entry is published (durably) and joins
// ordinary relay.
//
// The scheduler and the attempts by id are guarded by pmu; the maps from
// dials and peers to attempts, and an attempt's connection fields, by n.mu
// (the dial's peer is made under n.mu). Lock order: pmu, then n.mu, then
// bookMu; never the reverse.

// selectTries is how many addresses are drawn from the book for one
// attempt (the candidates it tries, in distinct groups first).
const selectTries = 32

type privState struct {
	pmu      sync.Mutex
	m        *privbcast.Machine      // guarded by pmu
	attempts map[uint64]*privAttempt // guarded by pmu: by attempt id
	byDial   map[uint64]*privAttempt // guarded by n.mu: by the manager's dial id, until connected or failed
	byPeer   map[uint64]*privAttempt // guarded by n.mu: by peer id, once connected
	waiting  []privWaiting           // guarded by pmu: attempts waiting for a free address
	wake     chan struct{}           // the scheduler's deadline may have moved
}

// privAttempt is one private-broadcast connection of a transaction.
type privAttempt struct {
	id     uint64 // immutable
	txid   chainhash.Hash
	target string
	group  string

	peer     uint64 // guarded by n.mu: 0 until connected
	received bool   // guarded by n.mu: the pong came back
	rejected bool   // guarded by n.mu: the peer sent a reject of the transaction
}

func newPrivState(cfg privbcast.Config) *privState {
	return &privState{
		m:        privbcast.New(cfg),
		attempts: make(map[uint64]*privAttempt),
		byDial:   make(map[uint64]*privAttempt),
		byPeer:   make(map[uint64]*privAttempt),
		wake:     make(chan struct{}, 1),
	}
}

// privStep gives ev to the scheduler and carries out its actions; the
// events they cause (an attempt that could not even be dialled) are fed
// back in the same call.
func (n *Node) privStep(ev privbcast.Event) {
	ps := n.priv
	ps.pmu.Lock()
	defer ps.pmu.Unlock()
	queue := []privbcast.Event{ev}
	for len(queue) > 0 {
		ev := queue[0]
		queue = queue[1:]
		if ev.Now.IsZero() {
			ev.Now = time.Now()
		}
		for _, a := range ps.m.Step(ev) {
			if next, ok := n.privAct(a); ok {
				queue = append(queue, next)
			}
		}
		if len(queue) == 0 && len(ps.waiting) > 0 && (ev.Kind == privbcast.EvAttemptEnded || ev.Kind == privbcast.EvTick) {
			// An address may have become free (an attempt ended, or
			// the periodic look): the waiting attempts try again.
			queue = n.privRetryWaiting(time.Now())
		}
	}
	select {
	case ps.wake <- struct{}{}:
	default:
	}
}

// privAct carries out one scheduler action; ps.pmu is held. It returns an
// event to feed back (an attempt that failed at once).
func (n *Node) privAct(a privbcast.Action) (privbcast.Event, bool) {
	ps := n.priv
	pool := n.cfg.Mempool
	switch a.Kind {
	case privbcast.ActOpen:
		err := n.privOpen(a.TxID, a.Attempt)
		if errors.Is(err, errAllBusy) {
			log.Debugf("Private broadcast of %v: attempt %d waits for a free address", a.TxID, a.Attempt)
			ps.waiting = append(ps.waiting, privWaiting{txid: a.TxID, id: a.Attempt, since: time.Now()})
			return privbcast.Event{}, false
		}
		if err != nil {
			log.Infof("Private broadcast of %v: attempt %d not opened: %v", a.TxID, a.Attempt, err)
			return privbcast.Event{Kind: privbcast.EvAttemptEnded, Attempt: a.Attempt, Outcome: privbcast.OutcomeFailed}, true
		}
	case privbcast.ActConfirmed:
		now := time.Now()
		pool.RecordConfirmed(a.TxID, now)
		ok, err := pool.Publish(a.TxID)
		switch {
		case err != nil:
			log.Errorf("Private broadcast of %v confirmed, but publishing it failed: %v", a.TxID, err)
			return privbcast.Event{}, false
		case !ok:
			return privbcast.Event{}, false // removed, or public already
		}
		st, _ := ps.m.Status(a.TxID)
		log.Infof("Private broadcast of %v confirmed: announced back by the network %v after it was added (%d broadcast connections, %d receipts); it joins ordinary relay",
			a.TxID, now.Sub(st.AddedAt).Round(time.Millisecond), st.Attempts, st.Receipts)
		if e, ok := pool.Get(a.TxID); ok {
			n.spawn(func() { n.broadcast(n.peerTxs([]*mempool.Entry{e})) })
		}
	case privbcast.ActGaveUp:
		log.Warnf("Private broadcast of %v: giving up after %d attempts without an echo; abortprivatebroadcast forgets it, sendrawtransaction tries again",
			a.TxID, ps.m.Config().MaxAttempts)
	case privbcast.ActClose:
		ps.waiting = slices.DeleteFunc(ps.waiting, func(w privWaiting) bool { return w.id == a.Attempt })
		at := ps.attempts[a.Attempt]
		if at == nil {
			return privbcast.Event{}, false
		}
		delete(ps.attempts, a.Attempt)
		n.mu.Lock()
		var p *driver.Peer
		if at.peer != 0 {
			delete(ps.byPeer, at.peer)
			p = n.peers[at.peer]
		}
		for d, x := range ps.byDial {
			if x == at {
				delete(ps.byDial, d) // the dial, when it succeeds, finds no attempt
			}
		}
		n.mu.Unlock()
		if p != nil {
			p.Disconnect(peer.ReasonOperator)
		}
	case privbcast.ActNote:
		log.Debugf("Private broadcast: %s", a.Note)
	}
	return privbcast.Event{}, false
}

// privOpen draws an address for attempt id of txid and asks the manager
// to dial it: one in a network group none of the transaction's open
// attempts holds where the book allows, else one at least at another
// address. ps.pmu is held.
func (n *Node) privOpen(txid chainhash.Hash, id uint64) error {
	ps := n.priv
	if _, ok := n.cfg.Mempool.Get(txid); !ok {
		return errors.New("the transaction left the mempool")
	}
	usedGroup, usedTarget := map[string]bool{}, map[string]bool{}
	for _, at := range ps.attempts {
		if at.txid == txid {
			usedGroup[at.group], usedTarget[at.target] = true, true
		}
	}
	lastErr := errors.New("the address book has no address to dial")
	tried := map[string]bool{}
	type cand struct {
		ap       netip.AddrPort
		group    string
		services wire.ServiceFlag
	}
	var fresh, fallback []cand
	ownBusy, onlyBusy := false, true // every address drawn has a connection already
	repeats := 0
	for range selectTries {
		ap, group, services, ok := n.privCandidate()
		if !ok {
			break
		}
		target := ap.String()
		if tried[target] || usedTarget[target] {
			// A small book offers the same few addresses again and
			// again: stop drawing once it has nothing new to say.
			if repeats++; repeats >= 8 {
				if usedTarget[target] {
					ownBusy = true
				}
				break
			}
		} else {
			repeats = 0
		}
		if usedTarget[target] {
			ownBusy = true
		}
		if !ap.IsValid() || tried[target] || usedTarget[target] {
			continue
		}
		tried[target] = true
		if usedGroup[group] {
			fallback = append(fallback, cand{ap, group, services})
		} else {
			fresh = append(fresh, cand{ap, group, services})
		}
	}
	for _, c := range append(fresh, fallback...) {
		target := c.ap.String()
		tr := connmgr.TransportV1
		if n.cfg.V2Transport && c.services&wire.SFNodeP2PV2 != 0 {
			tr = connmgr.TransportV2
		}
		n.mu.Lock()
		acts := n.stepLocked(connmgr.Event{Kind: connmgr.EvCmd, Cmd: connmgr.CmdPrivate, Target: target, Transport: tr})
		var dial uint64
		for _, a := range acts {
			if a.Kind == connmgr.ActDial && a.Conn == connmgr.KindPrivate && a.Target == target {
				dial = a.Dial
			}
		}
		if dial != 0 {
			// Registered before the dial starts (carry, below).
			at := &privAttempt{id: id, txid: txid, target: target, group: c.group}
			ps.byDial[dial] = at
			ps.attempts[id] = at
		}
		n.mu.Unlock()
		err := n.carry(acts)
		if dial == 0 {
			lastErr = err
			if !errors.Is(err, connmgr.ErrBusy) {
				onlyBusy = false
			}
			if errors.Is(err, connmgr.ErrFull) {
				break
			}
			continue
		}
		n.cfg.Mempool.RecordAttempt(txid, id, func(r *mempool.Attempt) {
			r.Addr, r.Opened = target, time.Now()
		})
		log.Debugf("Private broadcast of %v: attempt %d to %s", txid, id, target)
		return nil
	}
	if onlyBusy && (ownBusy || len(fresh)+len(fallback) > 0) {
		return errAllBusy
	}
	return lastErr
}

// errAllBusy: every address the book offered has a connection already (a
// broadcast of this or another transaction, or a long-lived peer). The
// attempt waits for one to end (privWaitMax at most) rather than failing:
// a failure would cost the transaction a back-off for what is only a
// small book.
var errAllBusy = errors.New("every address drawn has a connection already")

// privWaitMax bounds how long an attempt waits for a free address.
const privWaitMax = time.Minute

// maxBusyRetries: a pass over the waiting attempts stops drawing once this
// many in a row found every address busy (each draw takes the book's and
// the manager's locks; hundreds of waiting attempts would hold them long).
const maxBusyRetries = 4

// privWaiting is an attempt waiting for a free address.
type privWaiting struct {
	txid  chainhash.Hash
	id    uint64
	since time.Time
}

// privRetryWaiting tries the waiting attempts again, oldest first; it
// returns the events of those that failed for good. ps.pmu is held.
func (n *Node) privRetryWaiting(now time.Time) []privbcast.Event {
	ps := n.priv
	var evs []privbcast.Event
	// Transactions with the fewest receipts first (Core's priority),
	// then the longest waiting.
	receipts := func(w privWaiting) int {
		st, _ := ps.m.Status(w.txid)
		return st.Receipts
	}
	slices.SortStableFunc(ps.waiting, func(a, b privWaiting) int {
		if d := receipts(a) - receipts(b); d != 0 {
			return d
		}
		return a.since.Compare(b.since)
	})
	kept := ps.waiting[:0]
	busy := 0 // consecutive attempts that found every address busy
	for _, w := range ps.waiting {
		if busy >= maxBusyRetries && now.Sub(w.since) < privWaitMax {
			// The addresses are taken: the rest wait for the next
			// pass without drawing the book again.
			kept = append(kept, w)
			continue
		}
		err := n.privOpen(w.txid, w.id)
		if errors.Is(err, errAllBusy) {
			busy++
		} else {
			busy = 0
		}
		switch {
		case err == nil:
		case errors.Is(err, errAllBusy) && now.Sub(w.since) < privWaitMax:
			kept = append(kept, w)
		default:
			log.Infof("Private broadcast of %v: attempt %d not opened: %v", w.txid, w.id, err)
			evs = append(evs, privbcast.Event{Kind: privbcast.EvAttemptEnded, Now: now, Attempt: w.id, Outcome: privbcast.OutcomeFailed})
		}
	}
	clear(ps.waiting[len(kept):])
	ps.waiting = kept
	return evs
}

// privCandidate draws a random address from the book that the node can
// dial and that is not ours.
func (n *Node) privCandidate() (netip.AddrPort, string, wire.ServiceFlag, bool) {
	nets := n.ipNets()
	if len(nets) == 0 {
		return netip.AddrPort{}, "", 0, false
	}
	n.bookMu.Lock()
	defer n.bookMu.Unlock()
	e, ok := n.book.Select(time.Now(), false, nets...)
	if !ok {
		return netip.AddrPort{}, "", 0, false
	}
	ap, ok := e.Addr.AddrPort()
	if !ok || n.isLocal(ap) {
		return netip.AddrPort{}, "", 0, true
	}
	return ap, n.book.Group(addrbook.AddrFrom(ap)).String(), e.Services, true
}

// privConnectedLocked binds private-broadcast dial to peer id and returns
// the transaction it carries; errNoAttempt when its attempt is gone
// (aborted, or the transaction left the pool): the connection is then
// closed unused. n.mu is held.
func (n *Node) privConnectedLocked(dial, id uint64) (*peer.Tx, error) {
	ps := n.priv
	if ps == nil {
		return nil, errNoAttempt
	}
	at := ps.byDial[dial]
	delete(ps.byDial, dial)
	if at == nil {
		return nil, errNoAttempt
	}
	e, ok := n.cfg.Mempool.Get(at.txid)
	if !ok {
		return nil, errNoAttempt
	}
	at.peer = id
	ps.byPeer[id] = at
	n.txsMu.Lock()
	defer n.txsMu.Unlock()
	return n.sharedTxLocked(e), nil
}

// privDialEnded: private-broadcast dial made no peer (the dial failed, the
// manager refused the connection, or its attempt is gone); err says why.
func (n *Node) privDialEnded(dial uint64, err error) {
	ps := n.priv
	if ps == nil {
		return
	}
	n.mu.Lock()
	at := ps.byDial[dial]
	delete(ps.byDial, dial)
	n.mu.Unlock()
	if at == nil {
		return
	}
	n.privEnded(at, privbcast.OutcomeFailed, fmt.Sprintf("failed: %v", err))
}

// privPeerEnded: peer id, if a private-broadcast connection, has ended for
// reason.
func (n *Node) privPeerEnded(id uint64, reason peer.Reason) {
	ps := n.priv
	if ps == nil {
		return
	}
	n.mu.Lock()
	at := ps.byPeer[id]
	delete(ps.byPeer, id)
	var outcome privbcast.Outcome
	var how string
	if at != nil {
		outcome, how = describeOutcome(at, reason)
	}
	n.mu.Unlock()
	if at != nil {
		n.privEnded(at, outcome, how)
	}
}

// privEnded records the end of attempt at and tells the scheduler.
func (n *Node) privEnded(at *privAttempt, outcome privbcast.Outcome, how string) {
	n.cfg.Mempool.RecordAttempt(at.txid, at.id, func(r *mempool.Attempt) {
		r.Ended, r.Outcome = time.Now(), how
	})
	n.stats.PrivAttempts.Inc(int(outcome))
	log.Debugf("Private broadcast of %v: attempt %d to %s ended: %s", at.txid, at.id, at.target, how)
	ps := n.priv
	ps.pmu.Lock()
	delete(ps.attempts, at.id)
	ps.pmu.Unlock()
	n.privStep(privbcast.Event{Kind: privbcast.EvAttemptEnded, Attempt: at.id, Outcome: outcome})
}

// privReport handles a private-broadcast peer's report at once, on the
// peer's goroutine (not through the recorder's queue, so that the receipt
// is known when the peer's end is handled). It reports whether r was
// such a report.
func (n *Node) privReport(p *driver.Peer, r peer.Report) bool {
	switch r.Kind {
	case peer.ReportPrivGetData, peer.ReportPrivSent, peer.ReportPrivReceipt, peer.ReportReject:
	default:
		return false
	}
	ps := n.priv
	if ps == nil {
		return true
	}
	n.mu.Lock()
	at := ps.byPeer[p.ID()]
	if at != nil {
		switch r.Kind {
		case peer.ReportPrivReceipt:
			at.received = true
		case peer.ReportReject:
			at.rejected = true
		}
	}
	n.mu.Unlock()
	if at == nil {
		return true
	}
	now := time.Now()
	n.cfg.Mempool.RecordAttempt(at.txid, at.id, func(a *mempool.Attempt) {
		switch r.Kind {
		case peer.ReportPrivGetData:
			a.GetData = now
		case peer.ReportPrivSent:
			a.Sent = now
		case peer.ReportPrivReceipt:
			a.Received = now
		case peer.ReportReject:
			a.Reject = r.Reject
		}
	})
	if r.Kind == peer.ReportReject {
		log.Infof("Private broadcast of %v: %s rejected it: %s", at.txid, at.target, r.Reject)
	}
	return true
}

// privReady records a private-broadcast peer's transport once its
// handshake is done.
func (n *Node) privReady(p *driver.Peer) {
	ps := n.priv
	n.mu.Lock()
	at := ps.byPeer[p.ID()]
	n.mu.Unlock()
	if at == nil {
		return
	}
	tr, now := p.Snapshot().Transport, time.Now()
	n.cfg.Mempool.RecordAttempt(at.txid, at.id, func(a *mempool.Attempt) {
		a.Peer, a.Transport, a.Announced = p.ID(), tr, now
	})
}

// privEcho: an ordinary peer announced private entry e back. The
// scheduler is stepped off the recorder's goroutine, which must not wait
// for it.
func (n *Node) privEcho(e *mempool.Entry) {
	if n.priv == nil || !e.Private() {
		return
	}
	txid, now := e.TxID, time.Now()
	n.spawn(func() { n.privStep(privbcast.Event{Kind: privbcast.EvEcho, Now: now, TxID: txid}) })
}

// privAdd schedules txid's private broadcast.
func (n *Node) privAdd(txid chainhash.Hash) {
	n.privStep(privbcast.Event{Kind: privbcast.EvAdd, TxID: txid})
}

// privLoop steps the scheduler at its deadline, and every second while
// attempts wait for a free address (one may be freed by a peer that is not
// ours).
func (n *Node) privLoop() {
	defer n.wg.Done()
	ps := n.priv
	n.deadlineLoop(func() time.Time {
		ps.pmu.Lock()
		defer ps.pmu.Unlock()
		d := ps.m.Deadline()
		if len(ps.waiting) > 0 {
			if w := time.Now().Add(time.Second); d.IsZero() || w.Before(d) {
				d = w
			}
		}
		return d
	}, func() { n.privStep(privbcast.Event{Kind: privbcast.EvTick}) }, ps.wake)
}

var errNoAttempt = errors.New("private broadcast attempt gone")

// describeOutcome is an attempt's outcome for its record; n.mu is held.
func describeOutcome(at *privAttempt, reason peer.Reason) (privbcast.Outcome, string) {
	switch {
	case at.rejected:
		return privbcast.OutcomeRejected, "rejected"
	case at.received:
		return privbcast.OutcomeReceipt, "receipt"
	}
	return privbcast.OutcomeFailed, fmt.Sprintf("failed: %s", reason)
}
