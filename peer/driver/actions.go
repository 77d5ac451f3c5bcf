package driver

import (
	"runtime/debug"
	"sync"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
	"github.com/btcsuite/btclog"

	"github.com/peerd/peerd/internal/wireio"
	"github.com/peerd/peerd/peer"
)

// actionPool holds the slices steps write their actions into: a peer
// borrows one for a step, so an idle peer holds none (nor the messages
// its last actions pointed at).
var actionPool = sync.Pool{New: func() any { return new([]peer.Action) }}

// loopStep is a step of the owner loop's, which may have grown its
// goroutine's stack: the loop moves to a fresh goroutine after IdleHandoff
// without another. own must be held.
func (p *Peer) loopStep(ev peer.Event) {
	p.worked, p.handoffAt = true, ev.Now.Add(IdleHandoff)
	p.step(ev)
}

// step runs the machine on ev and carries out its actions; own must be
// held. A panic in the machine is a bug: it disconnects this one peer, not
// the node.
func (p *Peer) step(ev peer.Event) {
	p.own.check()
	out := actionPool.Get().(*[]peer.Action)
	defer func() {
		clear(*out)
		*out = (*out)[:0]
		actionPool.Put(out)
		if r := recover(); r != nil {
			log.Errorf("%v: machine panic on %s: %v\n%s", p, ev.Label(), r, debug.Stack())
			p.broken = true
			p.Disconnect(peer.ReasonInternal)
		}
	}()
	p.m.Step(ev, out)
	for i := range *out {
		p.act(&(*out)[i])
	}
	p.flush()
	p.publish(ev.Now)
}

// maxCoalesce bounds what a step queues before writing it.
const maxCoalesce = 16 << 10

// flush writes what the step queued, with a write deadline: a peer that
// does not read stalls only this loop, up to the deadline, and is then
// dropped with a write error. own must be held.
func (p *Peer) flush() {
	p.own.check()
	if p.t.Buffered() == 0 {
		p.t.Flush() // releases an empty buffer, if any
		return
	}
	if p.m.State() == peer.Disconnected {
		p.t.Discard() // the connection is closed
		return
	}
	if p.direct {
		// Relay's step: write what the socket takes now; the loop
		// writes the rest (Relay wakes it).
		if err := p.t.FlushSome(p.dw.write); err != nil {
			p.writeFailed(err)
		}
		p.sent()
		return
	}
	p.conn.SetWriteDeadline(time.Now().Add(p.cfg.writeTimeout()))
	err := p.t.Flush()
	p.sent()
	if err != nil {
		p.writeFailed(err)
	}
}

// sent publishes the transport's count of bytes written.
func (p *Peer) sent() {
	if n := p.t.BytesWritten(); n != p.bytesSent.Load() {
		p.bytesSent.Store(n)
		p.lastSend.Store(time.Now().UnixNano())
	}
}

// writeFailed ends the machine after a failed write.
func (p *Peer) writeFailed(err error) {
	log.Debugf("%v: write: %v", p, err)
	var ignored []peer.Action
	p.m.Step(peer.Event{Kind: peer.EvClosed, Now: time.Now(), Reason: peer.ReasonWriteError}, &ignored)
	p.t.Discard() // the machine has ended: nothing more is written
}

// act carries out one action; own must be held.
func (p *Peer) act(a *peer.Action) {
	switch a.Kind {
	case peer.ActSend:
		if p.m.State() == peer.Disconnected {
			return // the write failed earlier in this step
		}
		enc := a.Enc
		if enc == 0 {
			enc = wire.WitnessEncoding
		}
		// Queued, and written with the step's other messages in one
		// system call (flush): an inbound handshake's version,
		// wtxidrelay, sendaddrv2 and verack leave together.
		before := p.t.Buffered()
		if err := p.t.Queue(a.Msg, enc); err != nil {
			log.Errorf("%v: cannot encode %s: %v", p, a.Msg.Command(), err)
			return
		}
		p.count(wireio.CommandIndex(a.Msg.Command()), p.t.Buffered()-before, true)
		if p.t.Buffered() >= maxCoalesce {
			// Large messages (transactions a getdata asked for)
			// go at once: a step never holds more than one of
			// them encoded.
			p.flush()
		}
		if log.Level() <= btclog.LevelTrace {
			log.Tracef("%v: sent %s", p, a.Msg.Command())
		}
	case peer.ActDisconnect:
		p.flush() // what the machine said before it gave up
		if log.Level() <= btclog.LevelInfo {
			log.Infof("%v disconnected: %s", p, a.Reason)
		}
		p.conn.Close()
	case peer.ActReady:
		info := p.m.Info()
		p.ready.Store(true)
		p.t.SetProtocolVersion(info.CommonVersion)
		if log.Level() <= btclog.LevelInfo {
			log.Infof("%v ready: %s, version %d, services %v, wtxidrelay %v, addrv2 %v, relay %v, transport %s",
				p, info.UserAgent, info.ProtocolVersion, info.Services, info.WTxIDRelay, info.AddrV2, info.Relay, p.t.Name())
		}
		if p.cfg.OnReady != nil {
			p.cfg.OnReady(p)
		}
	case peer.ActNote:
		log.Debugf("%v: %s", p, a.Note)
	case peer.ActReport:
		if p.cfg.OnReport != nil {
			p.cfg.OnReport(p, a.Report)
		}
	case peer.ActAddrs:
		if p.cfg.OnAddrs != nil {
			p.cfg.OnAddrs(p, a.Addrs, a.AddrsV2, a.AddrGossip)
		}
	case peer.ActGetAddr:
		if p.cfg.OnGetAddr != nil {
			p.cfg.OnGetAddr(p)
		}
	case peer.ActExec:
		job := a.Job
		// The machine keeps at most MaxChecks jobs outstanding, so
		// handing an answer over never fails, even after the peer has
		// gone.
		deliver := func(r peer.JobResult) { p.put(peer.Event{Kind: peer.EvDone, Done: r}) }
		if p.cfg.Exec == nil || !p.cfg.Exec.Submit(func() { deliver(job()) }) {
			deliver(peer.JobResult{Err: peer.ErrExecutorBusy})
		}
	}
}
