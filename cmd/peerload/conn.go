package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/transport"
	"github.com/peerd/peerd/internal/wireio"
)

// invTypeWTx is MSG_WTX (BIP 339), which btcd's wire package does not name.
const invTypeWTx wire.InvType = 5

// userAgent is what peerload calls itself in its version messages.
const userAgent = "/peerload:" + version + "/"

// watchList is the set of transactions the listeners wait for, shared by
// every listener's reader and read-only once the readers run; the
// counters are atomic.
type watchList struct {
	wtxid bool                   // announced by wtxid (MSG_WTX), else by txid (MSG_TX)
	index map[chainhash.Hash]int // announced hash -> transaction index
	// remaining[i] counts the listeners that have not yet announced
	// transaction i; done[i] is closed when it reaches 0.
	remaining []atomic.Int64
	done      []chan struct{}
}

func newWatchList(txs []*wire.MsgTx, wtxid bool, listeners int) *watchList {
	w := &watchList{
		wtxid:     wtxid,
		index:     make(map[chainhash.Hash]int, len(txs)),
		remaining: make([]atomic.Int64, len(txs)),
		done:      make([]chan struct{}, len(txs)),
	}
	for i, tx := range txs {
		h := tx.TxHash()
		if wtxid {
			h = tx.WitnessHash()
		}
		w.index[h] = i
		w.remaining[i].Store(int64(listeners))
		w.done[i] = make(chan struct{})
	}
	return w
}

// listener is one inbound connection to peerd.
type listener struct {
	id   int
	conn net.Conn
	// t frames the messages, v1 or v2 (BIP 324, as the initiator). Its
	// read half belongs to the handshake, then to the reader goroutine;
	// its write half is used under wmu (the handshake, then pongs from
	// the reader).
	t   transport.Transport
	wmu sync.Mutex
	// What the target said in the handshake: its user agent, and whether
	// it sent wtxidrelay (peerd does; btcd v0.26 does not).
	theirAgent string
	theirWTxID bool

	// Written by the reader goroutine only; read after it has ended.
	got        []time.Time // when transaction i's inv was read; zero: never
	dups       int         // invs for a transaction already announced on this connection
	unexpected int         // inv entries for hashes not injected by this run
	wrongType  int         // inv entries of the other type (MSG_TX on a wtxidrelay connection, ...)
	invMsgs    int         // inv messages read
	pings      int         // pings answered
	readErr    error       // why reading ended, if not because we closed
	closing    atomic.Bool // we closed the connection on purpose
}

// sourceAddr spreads connections to a loopback target over 127.x.y.z so
// that consecutive connections come from different /24s, because peerd
// (like btcd) allows only 8 unfinished handshakes per source /24. Other
// targets use the default source address.
func sourceAddr(id int, target string) net.Addr {
	host, _, err := net.SplitHostPort(target)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		return nil
	}
	return &net.TCPAddr{IP: net.IPv4(127, byte(1+id/62500), byte(id%250), byte(1+id/250%250))}
}

// dialSpec is how every connection of a run is made.
type dialSpec struct {
	target  string
	magic   wire.BitcoinNet
	wtxid   bool // negotiate wtxidrelay
	v2      bool // speak BIP 324 as the initiator, else v1
	timeout time.Duration
}

// dialSpec is the run's, from the shared options.
func (e *env) dialSpec() dialSpec {
	c := &e.o.Conn
	return dialSpec{target: e.target, magic: e.net.params.Net, wtxid: c.WTxID.on(), v2: c.V2, timeout: c.HandshakeTimeout}
}

// pacer spaces the starts of connections: the n'th (from 0) starts no
// sooner than n intervals after the first. A zero pacer does not wait.
type pacer struct {
	start time.Time
	every time.Duration
}

// newPacer paces rate connections a second from now; rate 0: no pacing.
func newPacer(rate float64) pacer {
	if rate <= 0 {
		return pacer{}
	}
	return pacer{start: time.Now(), every: time.Duration(float64(time.Second) / rate)}
}

// wait returns when the n'th connection may start, or ctx's error.
func (p pacer) wait(ctx context.Context, n int64) error {
	if p.every == 0 {
		return nil
	}
	return sleep(ctx, time.Until(p.start.Add(time.Duration(n)*p.every)))
}

// transportName is what the run's connections speak: "v1" or "v2".
func (e *env) transportName() string {
	if e.o.Conn.V2 {
		return "v2"
	}
	return "v1"
}

// bufConn reads its connection through a buffer of its own, so that one
// read system call brings the target's whole burst of small messages
// (version, wtxidrelay, sendaddrv2 and verack; or a v2 key, garbage and
// packets), which the transports' 128-byte read-ahead would take in
// several.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// dialListener connects to s.target and completes the handshake: with
// s.v2 the BIP 324 key exchange first, then our version; on theirs,
// wtxidrelay (if asked), sendaddrv2 and verack; done on their verack.
// Pings that arrive meanwhile are answered.
func dialListener(ctx context.Context, id int, s dialSpec) (*listener, error) {
	// No TCP keep-alive: the connections live seconds to minutes, and
	// turning it on costs four setsockopt calls per connection, which
	// handshake mode would pay 20,000 times on the cores it shares with
	// the target.
	d := net.Dialer{Timeout: s.timeout, LocalAddr: sourceAddr(id, s.target), KeepAlive: -1}
	conn, err := d.DialContext(ctx, "tcp", s.target)
	if err != nil {
		return nil, err
	}
	bc := &bufConn{Conn: conn, r: bufio.NewReaderSize(conn, 4096)}
	l := &listener{id: id, conn: conn}
	if s.v2 {
		t, err := transport.NewV2(bc, s.magic)
		if err != nil {
			conn.Close()
			return nil, err
		}
		l.t = t
	} else {
		l.t = transport.NewV1(bc, s.magic)
	}
	if err := l.handshake(ctx, s.wtxid, s.timeout); err != nil {
		conn.Close()
		return nil, fmt.Errorf("connection %d (%s): %s handshake: %w", id, conn.LocalAddr(), l.t.Name(), err)
	}
	return l, nil
}

func (l *listener) handshake(ctx context.Context, wtxid bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	l.conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { l.conn.SetDeadline(time.Now()) })
	defer stop()

	you := wire.NewNetAddressTimestamp(time.Unix(0, 0), 0, addrIP(l.conn.RemoteAddr()), addrPort(l.conn.RemoteAddr()))
	me := wire.NewNetAddressTimestamp(time.Unix(0, 0), 0, addrIP(l.conn.LocalAddr()), addrPort(l.conn.LocalAddr()))
	v := wire.NewMsgVersion(me, you, rand.Uint64(), 0)
	v.UserAgent = userAgent
	v.Services = wire.SFNodeWitness
	// Our version goes as soon as the transport takes messages: at once
	// over v1; over v2 once the target's key is in, in the same write
	// as our garbage terminator and version packet.
	versionSent := false
	queueVersion := func() error {
		if versionSent {
			return nil
		}
		err := l.t.Queue(v, wire.WitnessEncoding)
		if errors.Is(err, transport.ErrNotReady) {
			return nil
		}
		versionSent = err == nil
		return err
	}
	if err := queueVersion(); err != nil {
		return err
	}
	if err := l.t.Flush(); err != nil {
		return err
	}
	gotVersion := false
	for {
		msg, err := l.t.Next()
		if err != nil {
			var soft *wireio.SoftError
			if errors.As(err, &soft) {
				continue
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		switch m := msg.(type) {
		case *transport.Handshake:
			if err := queueVersion(); err != nil {
				return err
			}
			if err := l.t.Flush(); err != nil {
				return err
			}
		case *wire.MsgVersion:
			if gotVersion {
				return errors.New("a second version")
			}
			gotVersion = true
			l.theirAgent = m.UserAgent
			pver := min(uint32(m.ProtocolVersion), wire.ProtocolVersion)
			l.t.SetProtocolVersion(pver)
			var replies []wire.Message
			if wtxid && pver >= wire.AddrV2Version {
				replies = append(replies, wire.NewMsgWTxIdRelay())
			}
			if pver >= wire.AddrV2Version {
				replies = append(replies, wire.NewMsgSendAddrV2())
			}
			replies = append(replies, wire.NewMsgVerAck())
			// One write for the three, as Core sends them (MSG_MORE):
			// the target reads them with one wake-up, not three.
			for _, r := range replies {
				if err := l.t.Queue(r, wire.WitnessEncoding); err != nil {
					return err
				}
			}
			if err := l.t.Flush(); err != nil {
				return err
			}
		case *wire.MsgWTxIdRelay:
			l.theirWTxID = true
		case *wire.MsgVerAck:
			if !gotVersion {
				return errors.New("verack before version")
			}
			l.conn.SetDeadline(time.Time{})
			return nil
		case *wire.MsgPing:
			if err := l.send(wire.NewMsgPong(m.Nonce)); err != nil {
				return err
			}
		}
	}
}

// send writes msg at once, under wmu.
func (l *listener) send(msg wire.Message) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if err := l.t.Queue(msg, wire.WitnessEncoding); err != nil {
		return err
	}
	return l.t.Flush()
}

func addrIP(a net.Addr) net.IP {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP
	}
	return net.IPv4zero
}

func addrPort(a net.Addr) uint16 {
	if t, ok := a.(*net.TCPAddr); ok {
		return uint16(t.Port)
	}
	return 0
}

// read reads until the connection ends, timestamping each message as it is
// decoded and recording the invs of the watch list's transactions.
func (l *listener) read(w *watchList) {
	l.got = make([]time.Time, len(w.remaining))
	want := wire.InvTypeTx
	if w.wtxid {
		want = invTypeWTx
	}
	for {
		msg, err := l.t.Next()
		now := time.Now()
		if err != nil {
			var soft *wireio.SoftError
			if errors.As(err, &soft) {
				continue
			}
			if !l.closing.Load() {
				if errors.Is(err, io.EOF) {
					err = errors.New("the target closed the connection")
				}
				l.readErr = err
				l.giveUp(w)
			}
			return
		}
		switch m := msg.(type) {
		case *wire.MsgInv:
			l.invMsgs++
			for _, iv := range m.InvList {
				i, ok := w.index[iv.Hash]
				switch {
				case !ok:
					l.unexpected++
				case iv.Type != want:
					l.wrongType++
				case !l.got[i].IsZero():
					l.dups++
				default:
					l.got[i] = now
					if w.remaining[i].Add(-1) == 0 {
						close(w.done[i])
					}
				}
			}
		case *wire.MsgPing:
			l.pings++
			l.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			err := l.send(wire.NewMsgPong(m.Nonce))
			if err != nil && !l.closing.Load() {
				l.readErr = fmt.Errorf("pong: %v", err)
				l.giveUp(w)
				return
			}
		}
	}
}

// giveUp counts a connection that peerd dropped as done waiting for every
// transaction it has not announced, so that the injector does not wait
// --txtimeout for it on every later transaction. The pairs stay
// undelivered in the results.
func (l *listener) giveUp(w *watchList) {
	for i, at := range l.got {
		if at.IsZero() && w.remaining[i].Add(-1) == 0 {
			close(w.done[i])
		}
	}
}

// close ends the connection on purpose.
func (l *listener) close() {
	l.closing.Store(true)
	l.conn.Close()
}
