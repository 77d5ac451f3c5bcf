package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
	"github.com/btcsuite/btclog"

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
	// peer's goroutine. It must not block.
	OnReport func(*Peer, Report)
	// Exec runs the peer's executor jobs (transaction checks). Nil: every
	// job answers ErrExecutorBusy.
	Exec Executor
}

// Peer is one connection and the goroutines that serve it: the owner loop
// (Run), which owns the machine, and a reader that decodes one message at a
// time and waits for the owner to take it before reading the next.
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

	// Owned by the owner loop (Run).
	m      *Machine
	out    []Action
	w      *wireio.Writer
	broken bool // the machine panicked; the peer is closing

	// Shared.
	cmds      chan Event     // operator commands, never blocks a sender
	relays    chan []*Tx     // relay batches, never blocks a sender
	results   chan JobResult // executor answers; room for every outstanding job
	ctx       context.Context
	cancel    context.CancelCauseFunc
	done      chan struct{}
	ready     atomic.Bool // the handshake completed once
	bytesRecv atomic.Uint64
	bytesSent atomic.Uint64
	lastRecv  atomic.Int64 // unix nanoseconds
	lastSend  atomic.Int64

	mu   sync.Mutex // guards snap and hist
	snap machineSnap
	hist *fsm.History
}

// machineSnap is what the owner loop publishes after each step.
type machineSnap struct {
	path     string
	info     Snapshot
	pingSent time.Time
	reason   Reason
}

// New prepares a peer on an established connection. p.Params.Inbound says
// who dialed; Run starts it.
func New(parent context.Context, id uint64, conn net.Conn, cfg *DriverConfig, p Params) *Peer {
	ctx, cancel := context.WithCancelCause(parent)
	pr := &Peer{
		id:      id,
		nonce:   p.Nonce,
		conn:    conn,
		inbound: p.Inbound,
		addr:    conn.RemoteAddr().String(),
		cfg:     cfg,
		started: time.Now(),
		cmds:    make(chan Event, cmdQueue),
		relays:  make(chan []*Tx, RelayQueue),
		results: make(chan JobResult, MaxChecks),
		ctx:     ctx,
		cancel:  cancel,
		done:    make(chan struct{}),
		hist:    fsm.NewHistory(HistorySize),
	}
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
// peer's own reason is kept if it is already closing.
func (p *Peer) Disconnect(reason Reason) { p.cancel(disconnectCause{reason}) }

// Ping asks the peer to send a ping now (Core's ping RPC). It reports false
// when the command queue is full; the peer pings on its own schedule anyway.
func (p *Peer) Ping() bool {
	select {
	case p.cmds <- Event{Kind: EvCmd, Cmd: CmdPing}:
		return true
	default:
		return false
	}
}

// Relay queues transactions for announcement. It never blocks: when the
// peer's queue is full (its loop is stuck on a slow write) the batch is
// dropped for this peer and Relay returns false; the node's periodic
// re-announcement of unfetched transactions makes up for it, and the known
// inventory keeps that from announcing anything twice.
func (p *Peer) Relay(txs []*Tx) bool {
	select {
	case p.relays <- txs:
		return true
	default:
		return false
	}
}

type disconnectCause struct{ r Reason }

func (c disconnectCause) Error() string { return string(c.r) }

func causeReason(ctx context.Context) Reason {
	var dc disconnectCause
	if errors.As(context.Cause(ctx), &dc) {
		return dc.r
	}
	return ReasonShutdown
}

type readResult struct {
	msg wire.Message
	err error
	n   int
}

// Run serves the peer until it disconnects or ctx given to New ends, then
// closes the connection and waits for the reader. It returns the reason the
// peer ended.
func (p *Peer) Run() Reason {
	defer close(p.done)
	// Closing the connection is what unblocks a read or a write stuck on
	// a peer that stopped talking or reading.
	stop := context.AfterFunc(p.ctx, func() { p.conn.Close() })
	defer stop()

	in := make(chan readResult)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.readLoop(in)
	}()
	defer func() {
		// Close first so a blocked read returns, then cancel so a reader
		// waiting to hand over a message gives up, then wait for it.
		p.conn.Close()
		p.cancel(nil)
		wg.Wait()
	}()

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	p.step(Event{Kind: EvStart, Now: time.Now()})
	for !p.finished() {
		p.resetTimer(timer)
		var ev Event
		select {
		case r := <-in:
			ev = p.readEvent(r)
			if ev.Kind == EvMsg && log.Level() <= btclog.LevelTrace {
				log.Tracef("%v: recv %s", p, ev.Msg.Command())
			}
		case <-timer.C:
			ev = Event{Kind: EvTick}
		case ev = <-p.cmds:
		case txs := <-p.relays:
			ev = Event{Kind: EvRelay, Txs: txs}
		case r := <-p.results:
			ev = Event{Kind: EvDone, Done: r}
		case <-p.ctx.Done():
			ev = Event{Kind: EvCmd, Cmd: CmdDisconnect, Reason: causeReason(p.ctx)}
		}
		ev.Now = time.Now()
		p.step(ev)
	}
	if p.broken {
		return ReasonInternal
	}
	return p.m.Reason()
}

func (p *Peer) finished() bool { return p.broken || p.m.State() == Disconnected }

// readLoop decodes messages and hands each to the owner loop, waiting for
// it to be taken before reading on. A fatal error is handed over last.
func (p *Peer) readLoop(in chan<- readResult) {
	r := wireio.NewReader(countingReader{p}, p.cfg.Net)
	for {
		msg, err := r.Next()
		select {
		case in <- readResult{msg: msg, err: err}:
		case <-p.ctx.Done():
			return
		}
		var soft *wireio.SoftError
		if err != nil && !errors.As(err, &soft) {
			return
		}
	}
}

type countingWriter struct{ p *Peer }

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.p.conn.Write(b)
	c.p.bytesSent.Add(uint64(n))
	return n, err
}

type countingReader struct{ p *Peer }

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.p.conn.Read(b)
	if n > 0 {
		c.p.bytesRecv.Add(uint64(n))
		c.p.lastRecv.Store(time.Now().UnixNano())
	}
	return n, err
}

// readEvent turns what the reader produced into an event.
func (p *Peer) readEvent(r readResult) Event {
	var soft *wireio.SoftError
	switch {
	case r.err == nil:
		return Event{Kind: EvMsg, Msg: r.msg}
	case errors.As(r.err, &soft):
		return Event{Kind: EvBadMsg, Err: r.err}
	case errors.Is(r.err, wireio.ErrBadMagic):
		log.Debugf("%v: %v", p, r.err)
		return Event{Kind: EvClosed, Reason: ReasonBadMagic}
	case errors.Is(r.err, wireio.ErrOversized):
		log.Debugf("%v: %v", p, r.err)
		return Event{Kind: EvClosed, Reason: ReasonOversized}
	case errors.Is(r.err, io.EOF):
		return Event{Kind: EvClosed, Reason: ReasonEOF}
	}
	log.Debugf("%v: read: %v", p, r.err)
	return Event{Kind: EvClosed, Reason: ReasonReadError}
}

// step runs the machine on ev and carries out its actions. A panic in the
// machine is a bug: it disconnects this one peer, not the node.
func (p *Peer) step(ev Event) {
	defer func() {
		if r := recover(); r != nil {
			log.Errorf("%v: machine panic on %s: %v\n%s", p, ev.Label(), r, debug.Stack())
			p.broken = true
			p.cancel(disconnectCause{ReasonInternal})
		}
	}()
	p.out = p.out[:0]
	p.m.Step(ev, &p.out)
	for i := range p.out {
		p.act(&p.out[i])
	}
	p.publish(ev.Now)
}

func (p *Peer) act(a *Action) {
	switch a.Kind {
	case ActSend:
		if p.m.State() == Disconnected {
			return // the write failed earlier in this step
		}
		p.conn.SetWriteDeadline(time.Now().Add(orDefault(p.cfg.WriteTimeout, DefaultWriteTimeout)))
		enc := a.Enc
		if enc == 0 {
			enc = wire.WitnessEncoding
		}
		if err := p.w.WriteEncoding(a.Msg, enc); err != nil {
			if p.m.State() != Disconnected {
				log.Debugf("%v: write %s: %v", p, a.Msg.Command(), err)
				var ignored []Action
				p.m.Step(Event{Kind: EvClosed, Now: time.Now(), Reason: ReasonWriteError}, &ignored)
			}
			return
		}
		p.lastSend.Store(time.Now().UnixNano())
		if log.Level() <= btclog.LevelTrace {
			log.Tracef("%v: sent %s", p, a.Msg.Command())
		}
	case ActDisconnect:
		log.Infof("%v disconnected: %s", p, a.Reason)
		p.conn.Close()
	case ActReady:
		info := p.m.Info()
		p.ready.Store(true)
		p.w.SetProtocolVersion(info.CommonVersion)
		log.Infof("%v ready: %s, version %d, services %v, wtxidrelay %v, addrv2 %v, relay %v",
			p, info.UserAgent, info.ProtocolVersion, info.Services, info.WTxIDRelay, info.AddrV2, info.Relay)
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
		// results has room for every outstanding check (MaxChecks), so
		// neither the worker nor this fallback ever blocks, even after
		// the peer has gone.
		if p.cfg.Exec == nil || !p.cfg.Exec.Submit(func() { p.results <- job() }) {
			p.results <- JobResult{Err: ErrExecutorBusy}
		}
	}
}

func (p *Peer) resetTimer(t *time.Timer) {
	d := p.m.Deadline()
	if d.IsZero() {
		t.Stop()
		return
	}
	t.Reset(max(time.Until(d), 0))
}

func (p *Peer) transitioned(t fsm.Transition) {
	log.Debugf("%v: %s", p, t)
	p.mu.Lock()
	p.hist.Transitioned(t)
	p.mu.Unlock()
}

func (p *Peer) publish(now time.Time) {
	minRTT, last := p.m.RTT()
	info := p.m.Info()
	p.mu.Lock()
	p.snap = machineSnap{
		path:     p.m.Path(),
		pingSent: now.Add(-p.m.PingWait(now)),
		reason:   p.m.Reason(),
		info: Snapshot{
			ProtocolVersion: info.ProtocolVersion,
			Services:        info.Services,
			UserAgent:       info.UserAgent,
			StartHeight:     info.StartHeight,
			Relay:           info.Relay,
			WTxIDRelay:      info.WTxIDRelay,
			AddrV2:          info.AddrV2,
			MinPing:         minRTT,
			LastPing:        last,
		},
	}
	if p.m.PingWait(now) == 0 {
		p.snap.pingSent = time.Time{}
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
	s := p.snap.info
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
