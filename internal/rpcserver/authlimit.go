package rpcserver

import (
	"container/list"
	"net/netip"
	"sync"
	"time"
)

// Defaults of the limit on failed authentications (see [Config]).
const (
	DefaultAuthFailureLimit  = 5
	DefaultAuthFailureWindow = time.Minute
	DefaultAuthLockout       = time.Minute
	// MaxAuthTracked is how many client addresses the limit keeps count
	// of; past it, the address whose last failure is the oldest is
	// forgotten.
	MaxAuthTracked = 1024
)

// authLimiter limits guessing: it counts failed authentications per
// client address, and an address that fails limit times within window is
// locked out for lockout. Memory is bounded: at most max addresses are
// tracked, the least recently failed forgotten first.
//
// An attacker with more addresses than max can make the limiter forget a
// locked-out one, but only by failing from max others first: it gets no
// more guesses than its addresses already give it.
type authLimiter struct {
	limit           int
	window, lockout time.Duration
	max             int

	mu      sync.Mutex
	entries map[netip.Prefix]*list.Element // of *authEntry
	order   *list.List                     // least recently failed first
}

// authEntry is one client address's count.
type authEntry struct {
	key         netip.Prefix
	start       time.Time // the current window's first failure
	failures    int       // failures since start
	lockedUntil time.Time // zero when not locked out
}

func newAuthLimiter(limit int, window, lockout time.Duration, max int) *authLimiter {
	return &authLimiter{
		limit: limit, window: window, lockout: lockout, max: max,
		entries: make(map[netip.Prefix]*list.Element),
		order:   list.New(),
	}
}

// expired reports whether e holds nothing any more at now: its window is
// over and it is not locked out.
func (l *authLimiter) expired(e *authEntry, now time.Time) bool {
	return now.Sub(e.start) >= l.window && !now.Before(e.lockedUntil)
}

// attempt records an authentication attempt from key at now, ok telling
// whether its credentials were right, and reports whether it may be
// answered. While key is locked out, no attempt may, right or wrong (so
// that a locked-out guesser learns nothing), and retry is how long the
// lockout still lasts. A failure that reaches the limit is answered
// (401) and starts the lockout: lockedNow. A success changes no count.
func (l *authLimiter) attempt(key netip.Prefix, ok bool, now time.Time) (allowed bool, retry time.Duration, lockedNow bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Forget what has expired, oldest first, so that the table holds
	// only live counts most of the time.
	for front := l.order.Front(); front != nil && l.expired(front.Value.(*authEntry), now); front = l.order.Front() {
		delete(l.entries, front.Value.(*authEntry).key)
		l.order.Remove(front)
	}
	el := l.entries[key]
	if el != nil {
		if e := el.Value.(*authEntry); now.Before(e.lockedUntil) {
			return false, e.lockedUntil.Sub(now), false
		}
	}
	if ok {
		return true, 0, false
	}
	var e *authEntry
	if el == nil {
		if l.order.Len() >= l.max {
			oldest := l.order.Front()
			delete(l.entries, oldest.Value.(*authEntry).key)
			l.order.Remove(oldest)
		}
		e = &authEntry{key: key, start: now}
		l.entries[key] = l.order.PushBack(e)
	} else {
		e = el.Value.(*authEntry)
		if !e.lockedUntil.IsZero() || now.Sub(e.start) >= l.window {
			*e = authEntry{key: key, start: now} // after a lockout, or an old window: count anew
		}
		l.order.MoveToBack(el)
	}
	e.failures++
	if e.failures >= l.limit {
		e.lockedUntil = now.Add(l.lockout)
		return true, 0, true
	}
	return true, 0, false
}

// tracked is how many addresses the limiter holds (for tests).
func (l *authLimiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.order.Len()
}

// clientKey is the address a request's failures count against: the
// client's IPv4 address, or its IPv6 /64 (one host commonly holds a whole
// /64). An address that does not parse counts as the zero prefix.
func clientKey(remoteAddr string) netip.Prefix {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return netip.Prefix{}
	}
	ip := ap.Addr().Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}
