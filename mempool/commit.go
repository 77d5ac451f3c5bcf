package mempool

import (
	"fmt"
	"time"
)

// Group commit: Add, Remove and Expire queue their records in the open
// batch under mu and then wait in commit. Whoever takes sem first writes
// the open batch with one write and one fsync, for itself and for every
// caller that queued meanwhile; the others find their batch done. Batches
// are taken and written in order, so entries become durable, and visible
// to Since, in Seq order.

// batch is a group of records that share one write and one fsync. The
// records keep the order in which they were queued: a removal followed by
// an Add of the same transaction must replay in that order.
type batch struct {
	recs []batchRec
	adds int
	done chan struct{} // closed once written (or failed)
	err  error         // set before done is closed
}

type batchRec struct {
	e       *Entry
	remove  bool
	publish bool
}

func (b *batch) add(e *Entry) {
	b.recs = append(b.recs, batchRec{e: e})
	b.adds++
}

func (b *batch) remove(es ...*Entry) {
	for _, e := range es {
		b.recs = append(b.recs, batchRec{e: e, remove: true})
	}
}

func (b *batch) publish(e *Entry) {
	b.recs = append(b.recs, batchRec{e: e, publish: true})
}

func newBatch() *batch { return &batch{done: make(chan struct{})} }

// commit returns once b is written: either someone else flushes it, or the
// caller takes sem and flushes it (with whatever else has queued).
func (p *Pool) commit(b *batch) error {
	select {
	case <-b.done:
		return b.err
	case p.sem <- struct{}{}:
	}
	select {
	case <-b.done: // flushed by the previous holder of sem
	default:
		// b is still open (batches are taken and flushed under sem, in
		// order), so b == p.batch: flush it.
		p.flushLocked()
	}
	<-p.sem
	return b.err
}

// flushLocked takes the open batch, writes it, publishes its entries and
// wakes its waiters; then compacts if the log has become mostly dead.
// Publishing under mu, batch after batch, makes entries visible in Seq
// order. The caller holds sem.
func (p *Pool) flushLocked() {
	p.mu.Lock()
	b := p.batch
	p.batch = newBatch()
	err := p.failed
	p.mu.Unlock()
	if len(b.recs) == 0 {
		close(b.done)
		return
	}
	if err == nil && p.f == nil {
		err = ErrClosed
	}
	if err == nil {
		err = p.writeLocked(b)
	}
	p.mu.Lock()
	for _, r := range b.recs {
		switch {
		case r.remove:
			if err == nil {
				p.dead += 2 // the removal and the add it undoes
			}
		case r.publish:
			if err == nil {
				p.dead++ // a rewrite writes the entry's add as public
			}
		default:
			delete(p.pendTx, r.e.TxID)
			delete(p.pendW, r.e.WTxID)
			delete(p.pendE, r.e.TxID)
			p.pendBytes -= int64(r.e.Size)
			if err == nil {
				p.insertLocked(r.e)
			}
		}
	}
	if err != nil && p.failed == nil {
		p.failed = err
	}
	compact := err == nil && p.dead > len(p.order) && p.dead >= compactMinDead
	p.mu.Unlock()
	b.err = err
	close(b.done)
	if err == nil && b.adds > 0 {
		p.wake()
	}
	if compact {
		p.compactLocked()
	}
}

// writeLocked appends b's records to the log and fsyncs it. The caller
// holds sem.
func (p *Pool) writeLocked(b *batch) error {
	buf := p.wbuf[:0]
	for _, r := range b.recs {
		switch {
		case r.remove:
			buf = appendRemove(buf, p.salt, p.size+int64(len(buf)), r.e)
		case r.publish:
			buf = appendPublish(buf, p.salt, p.size+int64(len(buf)), r.e)
		default:
			buf = appendAdd(buf, p.salt, p.size+int64(len(buf)), r.e)
		}
	}
	if cap(buf) <= readWindow {
		p.wbuf = buf
	} else {
		p.wbuf = nil
	}
	if _, err := p.f.WriteAt(buf, p.size); err != nil {
		_ = p.f.Truncate(p.size) // best effort; Open copes with a torn tail anyway
		return fmt.Errorf("mempool: write log: %w", err)
	}
	if syncHook != nil {
		syncHook(p, false)
	}
	start := time.Now()
	if err := p.f.Sync(); err != nil {
		return fmt.Errorf("mempool: sync log: %w", err)
	}
	p.syncLat.Observe(time.Since(start))
	if syncHook != nil {
		syncHook(p, true)
	}
	p.size += int64(len(buf))
	return nil
}

// syncHook, when set, runs around each fsync of an appended batch: before
// it (after false) and after a successful one (after true). It is a seam
// for tests (set in export_test.go before any pool is opened), nil in
// production.
var syncHook func(p *Pool, after bool)
