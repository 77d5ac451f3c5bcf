//go:build race || peerddebug

package driver

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
)

// lockChecked says whether ownLock checks its holder in this build.
const lockChecked = true

// ownLock is own's mutex, recording which goroutine holds it so that check
// can tell a method that needs own from a caller that does not hold it.
type ownLock struct {
	mu     sync.Mutex
	holder atomic.Uint64
}

func (l *ownLock) Lock() {
	l.mu.Lock()
	l.holder.Store(goid())
}

func (l *ownLock) TryLock() bool {
	if !l.mu.TryLock() {
		return false
	}
	l.holder.Store(goid())
	return true
}

func (l *ownLock) Unlock() {
	l.holder.Store(0)
	l.mu.Unlock()
}

// check panics unless the calling goroutine holds the lock.
func (l *ownLock) check() {
	if h, me := l.holder.Load(), goid(); h != me {
		panic("driver: own is held by goroutine " + strconv.FormatUint(h, 10) + ", not by the caller " + strconv.FormatUint(me, 10))
	}
}

// goid is the calling goroutine's id, read from the first line of its
// stack trace ("goroutine 42 [running]:").
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		panic("driver: cannot read the goroutine id: " + err.Error())
	}
	return id
}
