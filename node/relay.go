package node

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"

	"github.com/peerd/peerd/mempool"
	"github.com/peerd/peerd/node/connmgr"
	"github.com/peerd/peerd/peer"
	"github.com/peerd/peerd/peer/driver"
)

// Relay defaults.
const (
	// DefaultReannounce is the base interval for re-announcing
	// transactions no peer has fetched yet; each round waits a random
	// 10 to 15 minutes, as Core's unbroadcast rebroadcast does.
	DefaultReannounce = 10 * time.Minute
	// reportQueue bounds the reports waiting for the recorder. Reports
	// are evidence for the operator, not transactions: when the queue is
	// full they are dropped and counted, never waited for.
	reportQueue = 4096
)

type report struct {
	peer mempool.PeerRef
	at   time.Time
	r    peer.Report
	done chan struct{} // a marker: closed when the recorder reaches it
}

// reportBuf is the recorder's queue: reports appended under a mutex, the
// recorder woken only when the queue was empty. A relay fan-out makes one
// report per peer, from one goroutine per CPU; a channel send for each
// cost a wake-up handshake with the recorder each time.
type reportBuf struct {
	mu   sync.Mutex
	list []report
	wake chan struct{} // capacity 1: something was appended to an empty list
}

// put appends rep, or reports false when the queue holds reportQueue
// reports already (a marker, rep.done != nil, is always taken).
func (b *reportBuf) put(rep report) bool {
	b.mu.Lock()
	if len(b.list) >= reportQueue && rep.done == nil {
		b.mu.Unlock()
		return false
	}
	first := len(b.list) == 0
	b.list = append(b.list, rep)
	b.mu.Unlock()
	if first {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// take swaps the queue with spare (emptied) and returns what was queued.
func (b *reportBuf) take(spare []report) []report {
	b.mu.Lock()
	defer b.mu.Unlock()
	got := b.list
	b.list = spare[:0]
	return got
}

// flushReports waits until the recorder has handled every report queued
// before the call (used by tests and by RPCs that must see the latest
// records).
func (n *Node) flushReports() {
	done := make(chan struct{})
	n.reports.put(report{done: done})
	select {
	case <-done:
	case <-n.ctx.Done():
	}
}

// peerTxs converts mempool entries to the peers' shared, immutable form:
// the same *peer.Tx for an entry every time, so that the known inventory of
// a thousand peers points at one object per transaction, not a thousand.
func (n *Node) peerTxs(es []*mempool.Entry) []*peer.Tx {
	txs := make([]*peer.Tx, len(es))
	n.txsMu.Lock()
	for i, e := range es {
		txs[i] = n.sharedTxLocked(e)
	}
	n.txsMu.Unlock()
	return txs
}

// sharedTxLocked returns the shared form of e, making it on first use.
// The caller holds txsMu.
func (n *Node) sharedTxLocked(e *mempool.Entry) *peer.Tx {
	tx, ok := n.txs[e.TxID]
	if !ok {
		tx = &peer.Tx{TxID: e.TxID, WTxID: e.WTxID, Msg: e.Tx}
		n.txs[e.TxID] = tx
	}
	return tx
}

// pruneTxs forgets the shared forms of transactions no longer in the
// mempool (peers that announced them keep their own pointers).
func (n *Node) pruneTxs() {
	pool := n.cfg.Mempool
	n.txsMu.Lock()
	for id := range n.txs {
		if _, ok := pool.Get(id); !ok {
			delete(n.txs, id)
		}
	}
	n.txsMu.Unlock()
}

// lookupTx is the peers' Config.LookupTx: a mempool transaction by txid
// or wtxid, for a getdata by the hash it was not announced by.
func (n *Node) lookupTx(h chainhash.Hash, byWTxID bool) *peer.Tx {
	get := n.cfg.Mempool.Get
	if byWTxID {
		get = n.cfg.Mempool.GetByWTxID
	}
	e, ok := get(h)
	if !ok || e.Private() {
		return nil // a private entry is served to its broadcast connections only
	}
	n.txsMu.Lock()
	defer n.txsMu.Unlock()
	return n.sharedTxLocked(e)
}

// readyPeers returns the peers that have completed their handshake.
func (n *Node) readyPeers() []*driver.Peer {
	n.mu.Lock()
	defer n.mu.Unlock()
	ps := make([]*driver.Peer, 0, len(n.peers))
	for _, p := range n.peers {
		if p.WasReady() {
			if k, _ := n.m.Kind(p.ID()); k == connmgr.KindPrivate {
				continue // it carries its one transaction, nothing else
			}
			ps = append(ps, p)
		}
	}
	return ps
}

// public leaves out the private entries of es (in place): they go to
// their private-broadcast connections only, until published.
func public(es []*mempool.Entry) []*mempool.Entry {
	out := es[:0]
	for _, e := range es {
		if !e.Private() {
			out = append(out, e)
		}
	}
	return out
}

// broadcast hands txs to every ready peer, without ever blocking.
//
// An idle peer's announcement is written by Relay itself (see peer.Relay),
// about 10 us each, mostly the write system call: a thousand peers would
// take 10 ms on one core, so above fanOutShard peers the work is shared
// by one goroutine per CPU, each taking a contiguous share.
func (n *Node) broadcast(txs []*peer.Tx) {
	if len(txs) == 0 {
		return
	}
	peers := n.readyPeers()
	n.cfg.Mempool.SetInvHint(len(peers))
	workers := min(runtime.GOMAXPROCS(0), len(peers)/fanOutShard)
	if workers <= 1 {
		n.relayTo(peers, txs)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		share := peers[w*len(peers)/workers : (w+1)*len(peers)/workers]
		wg.Go(func() { n.relayTo(share, txs) })
	}
	wg.Wait()
}

// fanOutShard is the fewest peers a broadcast gives a goroutine of its own.
const fanOutShard = 64

func (n *Node) relayTo(peers []*driver.Peer, txs []*peer.Tx) {
	for _, p := range peers {
		if !p.Relay(txs) {
			n.relayDropped.Add(1)
			log.Debugf("%v: relay queue full, %d transactions wait for re-announcement", p, len(txs))
		}
	}
}

// relayLoop fans new mempool entries out to the peers as they are accepted,
// and periodically re-announces the ones no peer has fetched.
func (n *Node) relayLoop() {
	defer n.wg.Done()
	pool := n.cfg.Mempool
	var seq uint64
	reannounce := time.NewTimer(n.reannounceDelay())
	defer reannounce.Stop()
	for {
		select {
		case <-pool.Notify():
			es := pool.Accepted(seq)
			if len(es) == 0 {
				continue
			}
			seq = es[len(es)-1].Seq
			if es = public(es); len(es) > 0 {
				n.broadcast(n.peerTxs(es))
			}
		case <-reannounce.C:
			if es := pool.Unbroadcast(); len(es) > 0 {
				log.Infof("Re-announcing %d transactions no peer has fetched yet", len(es))
				n.broadcast(n.peerTxs(es))
			}
			if exp, err := pool.Expire(); err != nil {
				log.Errorf("Mempool expiry: %v", err)
			} else if len(exp) > 0 {
				log.Infof("Expired %d transactions from the mempool", len(exp))
			}
			n.pruneTxs()
			reannounce.Reset(n.reannounceDelay())
		case <-n.ctx.Done():
			return
		}
	}
}

func (n *Node) reannounceDelay() time.Duration {
	base := n.cfg.Reannounce
	return base + time.Duration(rand.Int64N(int64(base/2)+1))
}

// peerReady is called from a peer's goroutine when its handshake completes:
// the connection manager learns it, and the peer is offered every transaction in the mempool (it never blocks: the
// peer's own queue takes the batch or refuses it).
func (n *Node) peerReady(p *driver.Peer) {
	n.stats.HandshakesDone.Add(1)
	if k, _ := n.ConnKind(p.ID()); k == connmgr.KindPrivate {
		// A private broadcast takes no part in relay or gossip, and
		// leaves the book alone.
		n.privReady(p)
		n.step(connmgr.Event{Kind: connmgr.EvReady, ID: p.ID()})
		return
	}
	// Good first: a feeler is disconnected by the step (its handshake
	// has served to move its address to tried).
	n.bookGood(p)
	n.step(connmgr.Event{Kind: connmgr.EvReady, ID: p.ID()})
	n.advertiseLocal(p)
	if n.cfg.Mempool == nil {
		return
	}
	if es := public(n.cfg.Mempool.Accepted(0)); len(es) > 0 && !p.Relay(n.peerTxs(es)) {
		n.relayDropped.Add(1)
	}
}

// peerReport is called from a peer's goroutine; it queues the report for
// the recorder and never blocks.
func (n *Node) peerReport(p *driver.Peer, r peer.Report) {
	if n.privReport(p, r) {
		return
	}
	switch r.Kind {
	case peer.ReportInv:
		n.stats.Announced.Add(1)
	case peer.ReportFetch:
		n.stats.Served.Add(1)
	}
	if !n.reports.put(report{peer: mempool.PeerRef{ID: p.ID(), Addr: p.Addr()}, at: time.Now(), r: r}) {
		n.reportsDropped.Add(1)
	}
}

// recordLoop writes peers' reports into the mempool's propagation records.
func (n *Node) recordLoop() {
	defer n.wg.Done()
	var batch []report
	for {
		select {
		case <-n.reports.wake:
			batch = n.reports.take(batch)
			for i, rep := range batch {
				if rep.done != nil {
					close(rep.done)
				} else {
					n.record(rep)
				}
				batch[i] = report{} // let the peers' addresses go
			}
			if cap(batch) > reportQueue {
				batch = nil // a queue that grew past its bound by markers
			}
		case <-n.ctx.Done():
			return
		}
	}
}

func (n *Node) record(rep report) {
	pool := n.cfg.Mempool
	switch rep.r.Kind {
	case peer.ReportInv:
		pool.RecordInv(rep.r.TxID, rep.peer, rep.at)
	case peer.ReportFetch:
		if pool.RecordFetch(rep.r.TxID, rep.peer, rep.at) {
			n.observeFirst(rep, false)
			log.Infof("Transaction %v fetched by peer %d (%s)", rep.r.TxID, rep.peer.ID, rep.peer.Addr)
		}
	case peer.ReportSeenInv, peer.ReportSeenTx:
		e, ok := n.ourTx(rep.r)
		if !ok {
			return
		}
		// RecordSeen ignores a peer we sent an inv to, or that fetched
		// from us: its announcement proves nothing.
		if pool.RecordSeen(e.TxID, rep.peer, rep.at) {
			n.observeFirst(report{at: rep.at, r: peer.Report{TxID: e.TxID}}, true)
			log.Infof("Transaction %v announced back by peer %d (%s)", e.TxID, rep.peer.ID, rep.peer.Addr)
		}
		// Private broadcast connections ignore invs and send no tx that
		// we would check: every seen report is an ordinary peer's.
		n.privEcho(e)
	}
}

// observeFirst feeds the relay histograms when rep is the first getdata
// (echo: the first echo) of its transaction: the time since the mempool
// accepted it. RecordFetch and RecordSeen said the peer is new to the
// list; the list's length says whether it is the first.
func (n *Node) observeFirst(rep report, echo bool) {
	added, _, fetched, seen, ok := n.cfg.Mempool.PropagationCounts(rep.r.TxID)
	if !ok {
		return
	}
	switch {
	case !echo && fetched == 1:
		n.stats.FirstFetch.Observe(rep.at.Sub(added))
	case echo && seen == 1:
		n.stats.FirstEcho.Observe(rep.at.Sub(added))
	}
}

// ourTx finds the mempool entry a seen-inv or seen-tx report is about.
func (n *Node) ourTx(r peer.Report) (*mempool.Entry, bool) {
	pool := n.cfg.Mempool
	if r.Kind == peer.ReportSeenInv && !r.WTx {
		return pool.Get(r.TxID)
	}
	var zero chainhash.Hash
	if r.WTxID != zero {
		if e, ok := pool.GetByWTxID(r.WTxID); ok {
			return e, true
		}
	}
	if r.Kind == peer.ReportSeenTx {
		return pool.Get(r.TxID)
	}
	return nil, false
}
