package driver

import (
	"sync/atomic"
	"time"
)

// IdleHandoff is how long a peer stays idle after some work before its
// loop moves to a fresh goroutine, whose stack is the runtime's smallest,
// and the old goroutine (with the stack the work grew) exits. A busy peer
// never hands off; one that works every few hundred milliseconds pays a
// goroutine start and a stack regrowth each time. docs/architecture.md
// says why (the runtime shrinks an idle stack only so far) and
// docs/benchmarks.md what it saves.
const IdleHandoff = 200 * time.Millisecond

// handshakeStack is about the stack a handshake needs: decoding and
// answering a version through the peer machine, the handshake machine and
// btcd's encoders.
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
