package driver

import (
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/fsm"
	"github.com/peerd/peerd/peer"
)

// Driver defaults.
const (
	// DefaultWriteTimeout bounds one write to a peer that does not read.
	DefaultWriteTimeout = 2 * time.Minute
	// HistorySize is how many transitions each peer remembers.
	HistorySize = 32
	// CmdQueue is how many operator commands may wait in a peer's inbox.
	CmdQueue = 8
	// RelayQueue is how many relay batches may wait in a peer's inbox.
	RelayQueue = 16
	// AddrRelayQueue is how many batches of relayed addresses may wait in
	// a peer's inbox.
	AddrRelayQueue = 8
)

// Executor runs jobs off the peers' loops. Submit must not block: it
// returns false when it has no room, and the job is then not run.
type Executor interface {
	Submit(job func()) bool
}

// Config is what every peer of a node shares: the machine's policy and
// what the driver needs to carry out its actions. It is read-only once a
// peer uses it.
type Config struct {
	Machine peer.Config
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
	OnReport func(*Peer, peer.Report)
	// OnAddrs, if set, receives the addresses the peer told us of (addrs
	// from addr, addrsV2 from addrv2; gossip: they may be relayed on; see
	// peer.ActAddrs), from the peer's goroutine. The callee owns the
	// slices. It must not block.
	OnAddrs func(p *Peer, addrs []wire.NetAddress, addrsV2 []wire.NetAddressV2, gossip bool)
	// OnGetAddr, if set, is asked for the answer to the peer's getaddr,
	// from the peer's goroutine; it hands the addresses over with
	// Peer.AnswerGetAddr, now or later. It must not block. Nil: getaddr
	// is never answered.
	OnGetAddr func(*Peer)
	// OnTransition, if set, receives each of the peer's state changes,
	// from the peer's goroutine (or a Relay that stepped the peer). It
	// must not block. The node keeps the last minute's for the live page.
	OnTransition func(*Peer, fsm.Transition)
	// Stats, if set, is where the peers count bytes and messages per
	// command and ping round trips (see NewStats).
	Stats *Stats
	// Exec runs the peer's executor jobs (transaction checks). Nil: every
	// job answers peer.ErrExecutorBusy.
	Exec Executor
}

func (c *Config) writeTimeout() time.Duration {
	if c.WriteTimeout > 0 {
		return c.WriteTimeout
	}
	return DefaultWriteTimeout
}
