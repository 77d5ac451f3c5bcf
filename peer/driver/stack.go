package driver

import (
	"sync/atomic"
	"time"
)

// IdleHandoff is how long a peer stays idle after some work before its
// loop moves to a fresh goroutine with a small stack. A busy peer never
// hands off; one that works every few hundred milliseconds pays a
// goroutine start and a stack regrowth (a few microseconds) each time.
//
// Why: after a burst of work (a handshake, a relay, a ping) has grown the
// goroutine's stack, the runtime would shrink it only to 4 kB (it keeps a
// quarter of a stack free), twice what an idle peer needs; with ten
// thousand peers the difference is 20 MB. The handoff comes soon because
// while peers connect by the thousand, each one's grown stack is held
// until it does. docs/benchmarks.md has the measurements.
const IdleHandoff = 200 * time.Millisecond

// handshakeStack is about the stack a handshake needs: decoding and
// answering a version through the peer machine, the handshake machine and
// btcd's encoders runs some 5 kB deep.
const handshakeStack = 5 << 10

// stackIndex is always 0; the compiler cannot know it, so growStack's
// array is really on the stack.
var stackIndex atomic.Int32

// growStack grows a new peer goroutine's stack, once, to what its
// handshake will use. A goroutine starts with a small stack and doubles it
// when a call does not fit, copying every frame on it; grown here, with
// one small frame below, the copy costs almost nothing. Once the peer is
// idle its loop moves to a fresh, small goroutine (IdleHandoff), so the
// bigger stack is not kept.
//
//go:noinline
func growStack() byte {
	var pad [handshakeStack]byte
	return pad[stackIndex.Load()]
}

// testHooks let the package's tests watch the loop; nil outside tests.
type testHooks struct {
	parked  func() // the loop is about to wait in a read, own released
	woke    func() // the loop's read returned
	direct  func() // Relay stepped the machine itself
	handoff func() // the loop moves to a fresh goroutine
	// stay: never hand off (tests that need the loop parked).
	stay bool
}

func (p *Peer) noHandoff() bool { return p.hooks != nil && p.hooks.stay }
