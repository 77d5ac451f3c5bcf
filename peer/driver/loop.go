package driver

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
	"github.com/btcsuite/btclog"

	"github.com/peerd/peerd/internal/transport"
	"github.com/peerd/peerd/internal/wireio"
	"github.com/peerd/peerd/peer"
)

// Run serves the peer until it disconnects or the context given to New
// ends, then closes the connection. It returns the reason the peer ended.
// The peer is served on goroutines of its own (see Start); Run waits.
func (p *Peer) Run() peer.Reason {
	ended := make(chan peer.Reason, 1)
	p.Start(func(r peer.Reason) { ended <- r })
	return <-ended
}

// Start serves the peer on goroutines of its own and returns at once. When
// the peer has ended, onEnd is called with the reason, from the peer's last
// goroutine, after which nothing of the peer runs any more (and Done is
// closed). Call Start or Run once.
//
// The peer is served by one goroutine at a time, but not always the same
// one: a peer that stays idle for IdleHandoff after some work hands its
// loop to a fresh goroutine with the runtime's smallest stack, and the old
// one exits (see stack.go).
func (p *Peer) Start(onEnd func(peer.Reason)) {
	p.onEnd = onEnd
	p.stopParent = context.AfterFunc(p.parent, p.shutdown)
	go func() {
		growStack()
		p.own.Lock()
		p.loopStep(peer.Event{Kind: peer.EvStart, Now: time.Now()})
		p.own.Unlock()
		p.serve()
	}()
}

// serve runs the loop until the peer ends or hands the loop over.
func (p *Peer) serve() {
	for {
		handoff, ended := p.next()
		if ended {
			break
		}
		if handoff {
			if h := p.hooks; h != nil && h.handoff != nil {
				h.handoff()
			}
			go p.serve()
			return
		}
	}
	p.end()
}

func (p *Peer) end() {
	p.stopParent()
	p.conn.Close()
	p.t.Release()
	p.own.Lock()
	reason := p.m.Reason()
	if p.broken {
		reason = peer.ReasonInternal
	}
	p.own.Unlock()
	close(p.done)
	if p.onEnd != nil {
		p.onEnd(reason)
	}
}

func (p *Peer) shutdown() { p.Disconnect(peer.ReasonShutdown) }

// next makes one move: it drains the inbox, or ticks the machine when its
// deadline has come, or reads one message (waiting for it, up to the
// deadline or a wake-up). It reports handoff when the peer has been idle
// for IdleHandoff since its last step and should move to a fresh
// goroutine, and ended when the peer has ended (before the move).
//
// An idle peer sits in the read, so this frame and the transport's are
// kept small: the deeper work (steps, writes, logging) happens in calls
// that have returned by then.
//
//go:noinline
func (p *Peer) next() (handoff, ended bool) {
	p.own.Lock()
	if p.finished() {
		p.own.Unlock()
		return false, true
	}
	readBy, handoff, moved := p.prepare()
	p.own.Unlock()
	if handoff || moved {
		return handoff, false
	}
	p.conn.SetReadDeadline(readBy)
	if p.woken.Load() {
		return false, false
	}
	if h := p.hooks; h != nil && h.parked != nil {
		h.parked()
	}
	msg, err := p.t.Next()
	if h := p.hooks; h != nil && h.woke != nil {
		h.woke()
	}
	if n := p.t.BytesRead(); n != p.bytesRecv.Load() {
		p.bytesRecv.Store(n)
		p.lastRecv.Store(time.Now().UnixNano())
	}
	if err != nil && (errors.Is(err, os.ErrDeadlineExceeded) || p.closing.Load()) {
		// Woken, or a deadline came: the next move looks at which.
		// The transport keeps a partly read message for later.
		return false, false
	}
	p.own.Lock()
	if !p.finished() { // Relay may have ended the peer meanwhile
		p.received(msg, err)
	}
	p.own.Unlock()
	return false, false
}

// prepare makes the loop's move if it has one to make without reading:
// the inbox, the leftovers of a Relay's write, or the machine's deadline
// (moved); otherwise it returns the read deadline to wait with, or that
// the loop should move to a fresh goroutine (handoff). own must be held,
// and the peer not ended.
func (p *Peer) prepare() (readBy time.Time, handoff, moved bool) {
	p.own.check()
	if p.woken.Swap(false) {
		p.drain()
		return time.Time{}, false, true
	}
	if p.t.Buffered() > 0 {
		p.flush() // what a Relay's write left, with a deadline
		return time.Time{}, false, true
	}
	now := time.Now()
	deadline := p.m.Deadline()
	if !deadline.IsZero() && !now.Before(deadline) {
		p.tick()
		return time.Time{}, false, true
	}
	readBy = deadline
	if p.worked && !p.noHandoff() {
		if !now.Before(p.handoffAt) {
			p.worked = false
			return time.Time{}, true, false
		}
		if readBy.IsZero() || p.handoffAt.Before(readBy) {
			readBy = p.handoffAt
		}
	}
	return readBy, false, false
}

//go:noinline
func (p *Peer) tick() { p.loopStep(peer.Event{Kind: peer.EvTick, Now: time.Now()}) }

//go:noinline
func (p *Peer) received(msg wire.Message, err error) {
	if h, ok := msg.(*transport.Handshake); ok && err == nil {
		if !h.Ready {
			p.flush() // the transport's handshake has bytes to send
			return
		}
		if u, ok := p.t.(interface{ Unwrap() transport.Transport }); ok {
			if inner := u.Unwrap(); inner != nil {
				p.t = inner // an inbound peer spoke v1: keep only the v1 framing
			}
		}
		p.showTransport()
		if log.Level() <= btclog.LevelDebug {
			log.Debugf("%v: transport %s ready", p, p.t.Name())
		}
		p.loopStep(peer.Event{Kind: peer.EvTransport, Now: time.Now()})
		return
	}
	if err == nil && msg != nil {
		p.countRecv(msg)
	}
	ev := p.readEvent(msg, err)
	if ev.Kind == peer.EvMsg && log.Level() <= btclog.LevelTrace {
		log.Tracef("%v: recv %s", p, ev.Msg.Command())
	}
	ev.Now = time.Now()
	p.loopStep(ev)
}

// finished reports whether the peer has ended; own must be held.
func (p *Peer) finished() bool {
	p.own.check()
	return p.broken || p.m.State() == peer.Disconnected
}

// readEvent turns what the transport read into an event.
func (p *Peer) readEvent(msg wire.Message, err error) peer.Event {
	if err == nil {
		if u, ok := msg.(*wireio.Unknown); ok {
			return peer.Event{Kind: peer.EvUnknown, Unknown: peer.UnknownMsg{Command: u.Cmd, Size: u.Size}}
		}
		return peer.Event{Kind: peer.EvMsg, Msg: msg}
	}
	var soft *wireio.SoftError
	switch {
	case errors.As(err, &soft):
		return peer.Event{Kind: peer.EvBadMsg, Err: err}
	case errors.Is(err, wireio.ErrBadMagic):
		log.Debugf("%v: %v", p, err)
		return peer.Event{Kind: peer.EvClosed, Reason: peer.ReasonBadMagic}
	case errors.Is(err, wireio.ErrTooMany):
		log.Debugf("%v: %v", p, err)
		return peer.Event{Kind: peer.EvClosed, Reason: peer.ReasonTooMany}
	case errors.Is(err, wireio.ErrOversized):
		log.Debugf("%v: %v", p, err)
		return peer.Event{Kind: peer.EvClosed, Reason: peer.ReasonOversized}
	case errors.Is(err, transport.ErrV2):
		log.Debugf("%v: %v", p, err)
		return peer.Event{Kind: peer.EvClosed, Reason: peer.ReasonTransport}
	case p.v2Refused():
		log.Debugf("%v: v2 handshake: %v", p, err)
		return peer.Event{Kind: peer.EvClosed, Reason: peer.ReasonV2Refused}
	case errors.Is(err, io.EOF):
		return peer.Event{Kind: peer.EvClosed, Reason: peer.ReasonEOF}
	}
	log.Debugf("%v: read: %v", p, err)
	return peer.Event{Kind: peer.EvClosed, Reason: peer.ReasonReadError}
}

// v2Refused reports whether the connection ended the way a v1-only peer
// ends an outbound BIP 324 attempt: our key sent, nothing received.
func (p *Peer) v2Refused() bool {
	r, ok := p.t.(interface{ RefusedV2() bool })
	return ok && r.RefusedV2()
}
