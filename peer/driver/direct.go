package driver

import (
	"errors"
	"os"
	"syscall"
	"time"

	"github.com/peerd/peerd/peer"
)

// Relay hands transactions to the peer for announcement. It never blocks.
//
// When the peer's loop is waiting for the peer (the common case for an
// idle peer) and its transport offers a raw socket, Relay steps the
// machine itself, on the caller's goroutine, and writes the announcement
// without blocking: waking the loop instead (a deadline moved, a goroutine
// scheduled, the deadline set again, and a read that finds nothing before
// it waits again) costs more than the announcement, and a relay fan-out
// does this for every peer. If the socket takes only part of it, the rest
// waits for the loop, which is woken to write it as it writes everything,
// with a deadline.
//
// Otherwise (the loop is busy, batches are already queued, which keeps
// them in order, or the transport has no raw socket) the batch is queued
// for the loop. When RelayQueue batches wait already (its loop is stuck on
// a slow write) the batch is dropped for this peer and Relay returns false;
// the node's periodic re-announcement of unfetched transactions makes up
// for it, and the known inventory keeps that from announcing anything
// twice.
func (p *Peer) Relay(txs []*peer.Tx) bool {
	if p.own.TryLock() {
		done, wake := p.relayDirect(txs)
		p.own.Unlock()
		if wake {
			p.wake()
		}
		if done {
			return true
		}
	}
	return p.put(peer.Event{Kind: peer.EvRelay, Txs: txs})
}

// relayDirect announces txs from Relay's goroutine, with own held, when
// the transport has a raw socket and nothing is queued for the loop
// (done); wake says the loop must look: the write was not finished, the
// machine's deadline moved earlier than the one the loop waits for, or the
// peer ended.
func (p *Peer) relayDirect(txs []*peer.Tx) (done, wake bool) {
	if p.queued(peer.EvRelay) > 0 || p.finished() || p.t.Buffered() > 0 || p.closing.Load() {
		return false, false
	}
	if p.dw == nil {
		rc, ok := p.t.RawConn()
		if !ok {
			return false, false
		}
		p.dw = &directWrite{raw: rc}
		p.dw.fn = p.dw.once
		p.dw.write = p.writeNow
	}
	before := p.m.Deadline()
	p.direct = true
	p.step(peer.Event{Kind: peer.EvRelay, Txs: txs, Now: time.Now()})
	p.direct = false
	if h := p.hooks; h != nil && h.direct != nil {
		h.direct()
	}
	after := p.m.Deadline()
	if p.finished() {
		p.conn.Close() // the loop, waiting in a read, sees the end
		return true, true
	}
	earlier := !after.IsZero() && (before.IsZero() || after.Before(before))
	return true, earlier || p.t.Buffered() > 0
}

// directWrite is what Relay's own writes need: the socket's raw
// connection and one call's arguments and results, kept so that a write
// allocates nothing. A peer makes it at its first such write, so that
// peers that are never relayed to (or have not been yet) do not carry it.
// Guarded by own.
type directWrite struct {
	raw syscall.RawConn
	fn  func(fd uintptr) bool // once, bound to this directWrite
	// write is p.writeNow, made once: a method value passed through the
	// Transport interface would be allocated at every call.
	write func([]byte) (int, error)
	b     []byte
	n     int
	err   error
}

// once is the function raw.Write calls with the socket's descriptor: one
// write, and never a wait for the poller.
func (d *directWrite) once(fd uintptr) bool {
	for {
		d.n, d.err = syscall.Write(int(fd), d.b)
		if d.err != syscall.EINTR {
			return true
		}
	}
}

// writeNow writes what of b it can without waiting: a write to a full
// socket takes part of b or none of it. It is the transport's output
// during Relay's own steps; own must be held.
func (p *Peer) writeNow(b []byte) (int, error) {
	d := p.dw
	d.b, d.n, d.err = b, 0, nil
	err := d.raw.Write(d.fn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The deadline of the loop's last blocking write has passed;
		// it is set again before each of those, so clear it and try.
		p.conn.SetWriteDeadline(time.Time{})
		err = d.raw.Write(d.fn)
	}
	n, werr := max(d.n, 0), d.err
	d.b, d.err = nil, nil
	if errors.Is(werr, syscall.EAGAIN) {
		werr = nil
	}
	if err == nil && werr != nil {
		err = os.NewSyscallError("write", werr)
	}
	return n, err
}
