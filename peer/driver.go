package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
	"github.com/btcsuite/btclog"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/internal/fsm"
	"github.com/peerd/peerd/internal/wireio"
)

// Driver defaults.
const (
	// DefaultWriteTimeout bounds one write to a peer that does not read.
	DefaultWriteTimeout = 2 * time.Minute
	// HistorySize is how many transitions each peer remembers.
	HistorySize = 32
	// cmdQueue is the depth of a peer's operator command queue.
	cmdQueue = 8
	// RelayQueue is the depth of a peer's relay queue, in batches.
	RelayQueue = 16
)

// Executor runs jobs off the peers' loops. Submit must not block: it
// returns false when it has no room, and the job is then not run.
type Executor interface {
	Submit(job func()) bool
}

// DriverConfig is the part of the configuration that concerns I/O.
type DriverConfig struct {
	Machine Config
	// Net is the network magic.
	Net wire.BitcoinNet
	// WriteTimeout bounds each write; 0 means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// OnReady, if set, is called from the peer's goroutine when the
	// handshake completes. It must not block.
	OnReady func(*Peer)
	// OnReport, if set, receives the peer's transaction reports, from the
	// peer's goroutine or from a Relay that stepped the peer itself. It
	// must not block.
	OnReport func(*Peer, Report)
	// Exec runs the peer's executor jobs (transaction checks). Nil: every
	// job answers ErrExecutorBusy.
	Exec Executor
}

// Peer is one connection and the one goroutine that serves it (Run). That
// goroutine owns the machine and does all of the peer's I/O: it decodes a
// message, steps the machine, writes what the machine says, and reads on.
// While it waits for the peer it blocks in a read whose deadline is the
// machine's next deadline, so an idle peer costs one parked goroutine and
// no timer or channel of its own.
//
// Other goroutines hand it work (operator commands, relay batches,
// executor results) through a small mutex-guarded inbox and wake it by
// moving the read deadline into the past; the reader keeps any partly read
// message and resumes it (see wireio.Reader). The one exception is a relay
// batch for a peer whose loop is waiting in its read: Relay then steps the
// machine and writes the announcement itself, holding the lock (own) that
// the loop holds for each of its moves, and never waits on the socket.
// Disconnect, or the end of the context given to New, closes the
// connection, which also ends a write stuck on a peer that does not read.
//
// Methods other than Run are safe for concurrent use.
type Peer struct {
	// Set at creation, read-only after.
	id      uint64
	nonce   uint64
	conn    net.Conn
	inbound bool
	addr    string
	cfg     *DriverConfig
	started time.Time

	// The machine and the writer are guarded by own: the owner loop holds
	// it for each of its moves but not while it waits in a read, so that
	// Relay can announce to an idle peer itself (see Relay).
	own     sync.Mutex
	m       *Machine
	w       *wireio.Writer
	broken  bool // the machine panicked; the peer is closing
	taken   inbox
	direct  bool         // the step running is Relay's: its writes must not block
	dw      *directWrite // Relay's non-blocking writes; made at the first one
	directs int          // relay batches announced by Relay itself (tests)

	// Owned by the owner loop (Run).
	r *wireio.Reader
	// worked: a step of the loop's ran since the loop last moved to a
	// fresh goroutine; handoffAt: when it moves if nothing else happens
	// (guarded by own).
	worked     bool
	handoffAt  time.Time
	onEnd      func(Reason)
	stopParent func() bool
	handoffs   int  // times the loop moved to a fresh goroutine
	moved      bool // the machine changed state since the last publish

	// Shared.
	in        inbox       // guarded by inMu
	inMu      sync.Mutex  // guards in
	woken     atomic.Bool // something is in the inbox, or the peer is closing
	closing   atomic.Bool // Disconnect was called; closeWhy says why
	closeWhy  Reason      // guarded by mu; set once
	parent    context.Context
	done      chan struct{}
	ready     atomic.Bool // the handshake completed once
	bytesRecv atomic.Uint64
	bytesSent atomic.Uint64
	lastRecv  atomic.Int64 // unix nanoseconds
	lastSend  atomic.Int64

	mu   sync.Mutex // guards snap, hist and closeWhy
	snap machineSnap
	hist *fsm.History
}

// machineSnap is what the owner loop publishes after each step.
type machineSnap struct {
	path     string
	pingSent time.Time
	reason   Reason
	minRTT   time.Duration
	lastRTT  time.Duration
	// info points at the machine's record of the handshake, which the
	// machine writes once, before the peer is ready, and never again;
	// nil until then.
	info *handshake.Info
}

// New prepares a peer on an established connection. p.Params.Inbound says
// who dialed; Run starts it.
func New(parent context.Context, id uint64, conn net.Conn, cfg *DriverConfig, p Params) *Peer {
	pr := &Peer{
		id:      id,
		nonce:   p.Nonce,
		conn:    conn,
		inbound: p.Inbound,
		addr:    conn.RemoteAddr().String(),
		cfg:     cfg,
		started: time.Now(),
		parent:  parent,
		done:    make(chan struct{}),
		hist:    fsm.NewHistory(HistorySize),
	}
	pr.r = wireio.NewReader(conn, cfg.Net)
	pr.w = wireio.NewWriter(countingWriter{pr}, cfg.Net)
	pr.m = NewMachine(&cfg.Machine, p, fsm.ObserverFunc(pr.transitioned))
	pr.snap.path = pr.m.Path()
	return pr
}

// ID returns the peer's node-wide id.
func (p *Peer) ID() uint64 { return p.id }

// Nonce returns our version nonce on this connection.
func (p *Peer) Nonce() uint64 { return p.nonce }

// WasReady reports whether the handshake completed.
func (p *Peer) WasReady() bool { return p.ready.Load() }

// Addr returns the remote address.
func (p *Peer) Addr() string { return p.addr }

// Inbound reports whether the peer dialed us.
func (p *Peer) Inbound() bool { return p.inbound }

// Done is closed when Run has returned and every goroutine of the peer
// has exited.
func (p *Peer) Done() <-chan struct{} { return p.done }

func (p *Peer) String() string {
	dir := "outbound"
	if p.inbound {
		dir = "inbound"
	}
	return fmt.Sprintf("peer %d (%s, %s)", p.id, p.addr, dir)
}

// Disconnect asks the peer to close for reason. It never blocks; the
// first reason given is kept, and the peer's own if it is already
// closing.
func (p *Peer) Disconnect(reason Reason) {
	p.mu.Lock()
	first := p.closeWhy == ""
	if first {
		p.closeWhy = reason
	}
	p.mu.Unlock()
	if first {
		p.closing.Store(true)
		p.woken.Store(true)
		// Ends a blocked read or a write stuck on a peer that does
		// not read; the loop then sees closing.
		p.conn.Close()
	}
}

// Ping asks the peer to send a ping now (Core's ping RPC). It reports false
// when the command queue is full; the peer pings on its own schedule anyway.
func (p *Peer) Ping() bool {
	return p.hand(func(in *inbox) bool {
		if len(in.cmds) >= cmdQueue {
			return false
		}
		in.cmds = append(in.cmds, CmdPing)
		return true
	})
}

// Relay hands transactions to the peer for announcement. It never blocks.
//
// When the peer's loop is waiting for the peer (the common case for an
// idle peer), Relay steps the machine itself, on the caller's goroutine,
// and writes the announcement without blocking: waking the loop instead
// (a deadline moved, a goroutine scheduled, the deadline set again, and a
// read that finds nothing before it waits again) cost more than the
// announcement, and a relay fan-out does this for every peer. If the
// socket takes only part of it, the rest waits for the loop, which is
// woken to write it as it writes everything, with a deadline.
//
// Otherwise (the loop is busy, or batches are already queued, which keeps
// them in order) the batch is queued for the loop. When the queue is full
// (its loop is stuck on a slow write) the batch is dropped for this peer
// and Relay returns false; the node's periodic re-announcement of
// unfetched transactions makes up for it, and the known inventory keeps
// that from announcing anything twice.
func (p *Peer) Relay(txs []*Tx) bool {
	if _, tcp := p.conn.(*net.TCPConn); tcp && p.own.TryLock() {
		done, wake := p.relayDirect(txs)
		p.own.Unlock()
		if wake {
			p.wake()
		}
		if done {
			return true
		}
	}
	return p.hand(func(in *inbox) bool {
		if len(in.relays) >= RelayQueue {
			return false
		}
		in.relays = append(in.relays, txs)
		return true
	})
}

// relayDirect announces txs from Relay's goroutine, with own held, when
// nothing is queued for the loop (done); wake says the loop must look:
// the write was not finished, the machine's deadline moved earlier than
// the one the loop waits for, or the peer ended.
func (p *Peer) relayDirect(txs []*Tx) (done, wake bool) {
	p.inMu.Lock()
	queued := len(p.in.relays) > 0
	p.inMu.Unlock()
	if queued || p.finished() || p.w.Buffered() > 0 || p.closing.Load() {
		return false, false
	}
	before := p.m.Deadline()
	p.direct = true
	p.step(Event{Kind: EvRelay, Txs: txs, Now: time.Now()})
	p.direct = false
	p.directs++
	after := p.m.Deadline()
	if p.finished() {
		p.conn.Close() // the loop, waiting in a read, sees the end
		return true, true
	}
	earlier := !after.IsZero() && (before.IsZero() || after.Before(before))
	return true, earlier || p.w.Buffered() > 0
}

// directWrite is what Relay's own writes need: the socket's raw
// connection and one call's arguments and results, kept so that a write
// allocates nothing. A peer makes it at its first such write, so that
// peers that are never relayed to (or have not been yet) do not carry it.
type directWrite struct {
	raw syscall.RawConn
	fn  func(fd uintptr) bool // once, bound to this directWrite
	b   []byte
	n   int
	err error
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

// writeNow writes what b it can without waiting: a write to a full socket
// takes part of b or none of it. It is the writer's output during Relay's
// own steps.
func (p *Peer) writeNow(b []byte) (int, error) {
	d := p.dw
	if d == nil {
		rc, err := p.conn.(*net.TCPConn).SyscallConn()
		if err != nil {
			return 0, err
		}
		d = &directWrite{raw: rc}
		d.fn = d.once
		p.dw = d
	}
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
	if n > 0 {
		p.bytesSent.Add(uint64(n))
		p.lastSend.Store(time.Now().UnixNano())
	}
	return n, err
}

// inbox holds what other goroutines hand the owner loop, in arrival order
// per kind. Each kind is bounded: commands by cmdQueue, relay batches by
// RelayQueue, executor results by the machine's limit on outstanding jobs
// (MaxChecks).
type inbox struct {
	cmds    []Command
	relays  [][]*Tx
	results []JobResult
}

// wakePast is a read deadline in the past: setting it makes a blocked read
// return at once.
var wakePast = time.Unix(1, 0)

// hand runs put on the inbox under its lock and, if put accepted, wakes
// the owner loop. It never blocks on the peer.
func (p *Peer) hand(put func(*inbox) bool) bool {
	p.inMu.Lock()
	ok := put(&p.in)
	p.inMu.Unlock()
	if ok {
		p.wake()
	}
	return ok
}

// wake makes the owner loop look at its inbox and whether it is closing. Whoever sets
// the flag first also moves the read deadline into the past; the loop
// clears the flag before it looks, and looks at the flag again after it
// sets its own deadline, so a wake-up is never lost between the two.
func (p *Peer) wake() {
	if !p.woken.Swap(true) {
		p.conn.SetReadDeadline(wakePast)
	}
}

// Run serves the peer until it disconnects or the context given to New
// ends, then closes the connection. It returns the reason the peer ended.
// The peer is served on goroutines of its own (see Start); Run waits.
func (p *Peer) Run() Reason {
	ended := make(chan Reason, 1)
	p.Start(func(r Reason) { ended <- r })
	return <-ended
}

// Start serves the peer on goroutines of its own and returns at once. When
// the peer has ended, onEnd is called with the reason, from the peer's last
// goroutine, after which nothing of the peer runs any more (and Done is
// closed). Call Start or Run once.
//
// The peer is served by one goroutine at a time, but not always the same
// one: after a burst of work (a handshake, a relay, a ping) that has grown
// the goroutine's stack, a peer that then stays idle for IdleHandoff hands
// its loop to a fresh goroutine, whose stack is the runtime's smallest,
// and the old one exits. The runtime would shrink the old stack only to
// 4 kB (it keeps a quarter of a stack free), twice what an idle peer needs;
// with ten thousand peers the difference is 20 MB. The handoff comes soon
// (IdleHandoff) because while peers connect by the thousand, each one's
// grown stack is held until it does: at a second, 10,000 peers opened in
// about two seconds left some 30 MB of freed stacks in the process's
// resident memory.
func (p *Peer) Start(onEnd func(Reason)) {
	p.onEnd = onEnd
	p.stopParent = context.AfterFunc(p.parent, p.shutdown)
	go func() {
		growStack()
		p.own.Lock()
		p.loopStep(Event{Kind: EvStart, Now: time.Now()})
		p.own.Unlock()
		p.serve()
	}()
}

// handshakeStack is about the stack a handshake needs: decoding and
// answering a version through the peer machine, the handshake machine and
// btcd's encoders runs some 5 kB deep.
const handshakeStack = 5 << 10

// stackIndex is always 0; the compiler cannot know it, so growStack's
// array is really on the stack.
var stackIndex atomic.Int32

// growStack grows a new peer goroutine's stack, once, to what its
// handshake will use. A goroutine starts with a small stack (2 kB, or the
// runtime's running average) and doubles it when a call does not fit,
// copying every frame on it; the handshake used to do that twice, deep in
// the version's decoding and answer (2 to 4 to 8 kB, some 7% of a
// handshake's CPU time). Grown here, with one small frame below, the copy
// costs almost nothing. Once the peer is idle its loop moves to a fresh,
// small goroutine (IdleHandoff), so the bigger stack is not kept.
//
//go:noinline
func growStack() byte {
	var pad [handshakeStack]byte
	return pad[stackIndex.Load()]
}

// IdleHandoff is how long a peer stays idle after some work before its
// loop moves to a fresh goroutine with a small stack (see Start). A busy
// peer never hands off; one that works every few hundred milliseconds
// pays a goroutine start and a stack regrowth (a few microseconds) each
// time.
const IdleHandoff = 200 * time.Millisecond

// serve runs the loop until the peer ends or hands the loop over.
func (p *Peer) serve() {
	for {
		handoff, ended := p.next()
		if ended {
			break
		}
		if handoff {
			p.handoffs++
			go p.serve()
			return
		}
	}
	p.end()
}

func (p *Peer) end() {
	p.stopParent()
	p.conn.Close()
	p.r.Release()
	p.own.Lock()
	reason := p.m.Reason()
	if p.broken {
		reason = ReasonInternal
	}
	p.own.Unlock()
	close(p.done)
	if p.onEnd != nil {
		p.onEnd(reason)
	}
}

func (p *Peer) shutdown() { p.Disconnect(ReasonShutdown) }

// next makes one move: it drains the inbox, or ticks the machine when its
// deadline has come, or reads one message (waiting for it, up to the
// deadline or a wake-up). It reports handoff when the peer has been idle
// for IdleHandoff since its last step and should move to a fresh
// goroutine, and ended when the peer has ended (before the move).
//
// An idle peer sits in the read, so this frame and the reader's are kept
// small: the deeper work (steps, writes, logging) happens in calls that
// have returned by then.
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
	msg, err := p.r.Next()
	if n := p.r.BytesRead(); n != p.bytesRecv.Load() {
		p.bytesRecv.Store(n)
		p.lastRecv.Store(time.Now().UnixNano())
	}
	if err != nil && (errors.Is(err, os.ErrDeadlineExceeded) || p.closing.Load()) {
		// Woken, or a deadline came: the next move looks at which.
		// The reader keeps a partly read message for later.
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
	if p.woken.Swap(false) {
		p.drain()
		return time.Time{}, false, true
	}
	if p.w.Buffered() > 0 {
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
	if p.worked {
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
func (p *Peer) tick() { p.loopStep(Event{Kind: EvTick, Now: time.Now()}) }

//go:noinline
func (p *Peer) received(msg wire.Message, err error) {
	ev := p.readEvent(msg, err)
	if ev.Kind == EvMsg && log.Level() <= btclog.LevelTrace {
		log.Tracef("%v: recv %s", p, ev.Msg.Command())
	}
	ev.Now = time.Now()
	p.loopStep(ev)
}

// drain steps the machine through what the inbox holds: a disconnect
// first, then operator commands, executor results and relay batches.
//
//go:noinline
func (p *Peer) drain() {
	if p.closing.Load() {
		p.mu.Lock()
		why := p.closeWhy
		p.mu.Unlock()
		p.loopStep(Event{Kind: EvCmd, Cmd: CmdDisconnect, Reason: why, Now: time.Now()})
		return
	}
	p.inMu.Lock()
	// Swap the inbox with the one taken last time, so that neither
	// allocates once both have grown to their working size.
	p.in, p.taken = inbox{cmds: p.taken.cmds[:0], relays: p.taken.relays[:0], results: p.taken.results[:0]}, p.in
	p.inMu.Unlock()
	t := &p.taken
	for _, c := range t.cmds {
		p.loopStep(Event{Kind: EvCmd, Cmd: c, Now: time.Now()})
	}
	for _, r := range t.results {
		p.loopStep(Event{Kind: EvDone, Done: r, Now: time.Now()})
	}
	for i, txs := range t.relays {
		p.loopStep(Event{Kind: EvRelay, Txs: txs, Now: time.Now()})
		t.relays[i] = nil // do not pin the batch until the next drain
	}
	clear(t.results)
}

// finished reports whether the peer has ended; own must be held.
func (p *Peer) finished() bool { return p.broken || p.m.State() == Disconnected }

type countingWriter struct{ p *Peer }

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.p.conn.Write(b)
	c.p.bytesSent.Add(uint64(n))
	return n, err
}

// readEvent turns what the reader produced into an event.
func (p *Peer) readEvent(msg wire.Message, err error) Event {
	if err == nil {
		return Event{Kind: EvMsg, Msg: msg}
	}
	var soft *wireio.SoftError
	switch {
	case errors.As(err, &soft):
		return Event{Kind: EvBadMsg, Err: err}
	case errors.Is(err, wireio.ErrBadMagic):
		log.Debugf("%v: %v", p, err)
		return Event{Kind: EvClosed, Reason: ReasonBadMagic}
	case errors.Is(err, wireio.ErrOversized):
		log.Debugf("%v: %v", p, err)
		return Event{Kind: EvClosed, Reason: ReasonOversized}
	case errors.Is(err, io.EOF):
		return Event{Kind: EvClosed, Reason: ReasonEOF}
	}
	log.Debugf("%v: read: %v", p, err)
	return Event{Kind: EvClosed, Reason: ReasonReadError}
}

// actionPool holds the slices steps write their actions into: a peer
// borrows one for a step, so an idle peer holds none (nor the messages
// its last actions pointed at).
var actionPool = sync.Pool{New: func() any { return new([]Action) }}

// loopStep is a step of the owner loop's, which may have grown its
// goroutine's stack: the loop moves to a fresh goroutine after IdleHandoff
// without another.
func (p *Peer) loopStep(ev Event) {
	p.worked, p.handoffAt = true, ev.Now.Add(IdleHandoff)
	p.step(ev)
}

// step runs the machine on ev and carries out its actions; own must be
// held. A panic in the machine is a bug: it disconnects this one peer, not
// the node.
func (p *Peer) step(ev Event) {
	out := actionPool.Get().(*[]Action)
	defer func() {
		clear(*out)
		*out = (*out)[:0]
		actionPool.Put(out)
		if r := recover(); r != nil {
			log.Errorf("%v: machine panic on %s: %v\n%s", p, ev.Label(), r, debug.Stack())
			p.broken = true
			p.Disconnect(ReasonInternal)
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
// dropped with a write error.
func (p *Peer) flush() {
	if p.w.Buffered() == 0 {
		p.w.Flush() // releases an empty buffer, if any
		return
	}
	if p.m.State() == Disconnected {
		p.w.Discard() // the connection is closed
		return
	}
	if p.direct {
		// Relay's step: write what the socket takes now; the loop
		// writes the rest (Relay wakes it).
		if err := p.w.FlushSome(p.writeNow); err != nil {
			p.writeFailed(err)
		}
		return
	}
	p.conn.SetWriteDeadline(time.Now().Add(orDefault(p.cfg.WriteTimeout, DefaultWriteTimeout)))
	if err := p.w.Flush(); err != nil {
		p.writeFailed(err)
		return
	}
	p.lastSend.Store(time.Now().UnixNano())
}

// writeFailed ends the machine after a failed write.
func (p *Peer) writeFailed(err error) {
	log.Debugf("%v: write: %v", p, err)
	var ignored []Action
	p.m.Step(Event{Kind: EvClosed, Now: time.Now(), Reason: ReasonWriteError}, &ignored)
	p.w.Discard() // the machine has ended: nothing more is written
}

func (p *Peer) act(a *Action) {
	switch a.Kind {
	case ActSend:
		if p.m.State() == Disconnected {
			return // the write failed earlier in this step
		}
		enc := a.Enc
		if enc == 0 {
			enc = wire.WitnessEncoding
		}
		// Queued, and written with the step's other messages in one
		// system call (flush): an inbound handshake's version,
		// wtxidrelay, sendaddrv2 and verack leave together.
		if err := p.w.Queue(a.Msg, enc); err != nil {
			log.Errorf("%v: cannot encode %s: %v", p, a.Msg.Command(), err)
			return
		}
		if p.w.Buffered() >= maxCoalesce {
			// Large messages (transactions a getdata asked for)
			// go at once: a step never holds more than one of
			// them encoded.
			p.flush()
		}
		if log.Level() <= btclog.LevelTrace {
			log.Tracef("%v: sent %s", p, a.Msg.Command())
		}
	case ActDisconnect:
		p.flush() // what the machine said before it gave up
		if log.Level() <= btclog.LevelInfo {
			log.Infof("%v disconnected: %s", p, a.Reason)
		}
		p.conn.Close()
	case ActReady:
		info := p.m.Info()
		p.ready.Store(true)
		p.w.SetProtocolVersion(info.CommonVersion)
		if log.Level() <= btclog.LevelInfo {
			log.Infof("%v ready: %s, version %d, services %v, wtxidrelay %v, addrv2 %v, relay %v",
				p, info.UserAgent, info.ProtocolVersion, info.Services, info.WTxIDRelay, info.AddrV2, info.Relay)
		}
		if p.cfg.OnReady != nil {
			p.cfg.OnReady(p)
		}
	case ActNote:
		log.Debugf("%v: %s", p, a.Note)
	case ActReport:
		if p.cfg.OnReport != nil {
			p.cfg.OnReport(p, a.Report)
		}
	case ActExec:
		job := a.Job
		// The machine keeps at most MaxChecks jobs outstanding, so the
		// inbox's results stay bounded; handing a result over never
		// blocks, even after the peer has gone.
		deliver := func(r JobResult) {
			p.hand(func(in *inbox) bool { in.results = append(in.results, r); return true })
		}
		if p.cfg.Exec == nil || !p.cfg.Exec.Submit(func() { deliver(job()) }) {
			deliver(JobResult{Err: ErrExecutorBusy})
		}
	}
}

func (p *Peer) transitioned(t fsm.Transition) {
	p.moved = true
	if log.Level() <= btclog.LevelDebug {
		log.Debugf("%v: %s", p, t)
	}
	p.mu.Lock()
	p.hist.Transitioned(t)
	p.mu.Unlock()
}

func (p *Peer) publish(now time.Time) {
	minRTT, last := p.m.RTT()
	wait := p.m.PingWait(now)
	var path string
	if p.moved {
		path, p.moved = p.m.Path(), false
	}
	p.mu.Lock()
	if path != "" {
		p.snap.path = path
	}
	p.snap.reason = p.m.Reason()
	p.snap.minRTT, p.snap.lastRTT = minRTT, last
	p.snap.pingSent = time.Time{}
	if wait != 0 {
		p.snap.pingSent = now.Add(-wait)
	}
	if p.snap.info == nil && p.ready.Load() {
		p.snap.info = p.m.InfoRef()
	}
	p.mu.Unlock()
}

// Snapshot is a consistent view of a peer for the admin interface.
type Snapshot struct {
	ID              uint64
	Addr            string
	Inbound         bool
	State           string // state path, e.g. "standby"
	ConnectedAt     time.Time
	LastSend        time.Time
	LastRecv        time.Time
	BytesSent       uint64
	BytesRecv       uint64
	ProtocolVersion uint32
	Services        wire.ServiceFlag
	UserAgent       string
	StartHeight     int32
	Relay           bool
	WTxIDRelay      bool
	AddrV2          bool
	MinPing         time.Duration
	LastPing        time.Duration
	PingWait        time.Duration
	DisconnectedFor Reason
	History         []fsm.Transition
}

// Snapshot returns the peer's current view. Safe for concurrent use.
func (p *Peer) Snapshot() Snapshot {
	p.mu.Lock()
	var s Snapshot
	if info := p.snap.info; info != nil {
		s.ProtocolVersion, s.Services, s.UserAgent = info.ProtocolVersion, info.Services, info.UserAgent
		s.StartHeight, s.Relay, s.WTxIDRelay, s.AddrV2 = info.StartHeight, info.Relay, info.WTxIDRelay, info.AddrV2
	}
	s.MinPing, s.LastPing = p.snap.minRTT, p.snap.lastRTT
	s.State = p.snap.path
	s.DisconnectedFor = p.snap.reason
	if !p.snap.pingSent.IsZero() {
		s.PingWait = time.Since(p.snap.pingSent)
	}
	s.History = p.hist.Snapshot()
	p.mu.Unlock()
	s.ID, s.Addr, s.Inbound, s.ConnectedAt = p.id, p.addr, p.inbound, p.started
	s.BytesSent, s.BytesRecv = p.bytesSent.Load(), p.bytesRecv.Load()
	s.LastSend, s.LastRecv = unixNano(p.lastSend.Load()), unixNano(p.lastRecv.Load())
	return s
}

func unixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
