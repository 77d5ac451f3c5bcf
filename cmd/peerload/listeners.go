package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// fleet is the set of open connections, shared by every mode.
type fleet struct {
	ls        []*listener
	readers   sync.WaitGroup
	dead      atomic.Int64 // readers that ended on their own (peerd closed, an error)
	openTime  time.Duration
	fileLimit uint64
	limitErr  error
	// With a tolerance (hold): the connections that could not be opened,
	// the first few errors, and whether opening stopped early because
	// more than the tolerance failed.
	failed   int
	failErrs []string
	gaveUp   bool
}

// openFleet raises the open file limit, opens --peers connections with
// --dialers at once, completes the handshake on each, and starts each one's
// reader with w as soon as it is handshaken, so that pings are answered
// while the others connect.
//
// With tolerate 0 (relay) the first failure ends the opening: every
// connection opened is closed and the error returned. With tolerate > 0
// (hold) a failed connection is counted and the others go on, until more
// than tolerate have failed; then the opening stops (gaveUp). Either way
// the fleet holds only the connections that were opened.
func openFleet(ctx context.Context, e *env, w *watchList, tolerate int) (*fleet, error) {
	c := &e.o.Conn
	f := &fleet{ls: make([]*listener, c.Peers)}
	f.fileLimit, f.limitErr = raiseFileLimit(uint64(c.Peers) + 64)
	if f.limitErr != nil {
		e.progress("warning: cannot raise the open file limit: %v; %d connections may fail", f.limitErr, c.Peers)
	}
	e.progress("opening %d %s connections to %s (wtxidrelay %v), %d at once", c.Peers, e.transportName(), e.target, c.WTxID.on(), c.Dialers)
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	spec := e.dialSpec()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	failed := 0
	for range min(c.Dialers, c.Peers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range jobs {
				l, err := dialListener(ctx, id, spec)
				if err != nil {
					if tolerate > 0 && ctx.Err() == nil {
						mu.Lock()
						f.failed++
						if len(f.failErrs) < 5 {
							f.failErrs = append(f.failErrs, err.Error())
						}
						if f.failed > tolerate {
							f.gaveUp = true
							cancel()
						}
						mu.Unlock()
						continue
					}
					mu.Lock()
					if firstErr == nil && ctx.Err() == nil {
						firstErr = err
					}
					failed++
					mu.Unlock()
					cancel()
					continue
				}
				f.ls[id] = l
				f.readers.Add(1)
				go func() {
					defer f.readers.Done()
					l.read(w)
					if l.readErr != nil {
						f.dead.Add(1)
					}
				}()
			}
		}()
	}
	pace := newPacer(c.Rate)
	for id := range c.Peers {
		if pace.wait(ctx, int64(id)) != nil {
			break
		}
		select {
		case jobs <- id:
			continue
		case <-ctx.Done():
		}
		break
	}
	close(jobs)
	wg.Wait()
	f.openTime = time.Since(start)
	f.ls = slices.DeleteFunc(f.ls, func(l *listener) bool { return l == nil })
	if firstErr == nil && ctx.Err() != nil && !f.gaveUp {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		f.close()
		if failed > 1 {
			return nil, fmt.Errorf("%d connections failed; the first: %w", failed, firstErr)
		}
		return nil, firstErr
	}
	if f.failed > 0 {
		e.progress("%d connections handshaken in %v, %d failed (the first: %s)", len(f.ls), f.openTime.Round(time.Millisecond), f.failed, f.failErrs[0])
	} else {
		e.progress("%d connections handshaken in %v", len(f.ls), f.openTime.Round(time.Millisecond))
	}
	return f, nil
}

// close closes every connection and waits for the readers.
func (f *fleet) close() {
	for _, l := range f.ls {
		if l != nil {
			l.close()
		}
	}
	f.readers.Wait()
}

// firstReadErr is the first reader error, for messages.
func (f *fleet) firstReadErr() error {
	for _, l := range f.ls {
		if l != nil && l.readErr != nil {
			return fmt.Errorf("connection %d (%s): %v", l.id, l.conn.LocalAddr(), l.readErr)
		}
	}
	return nil
}

// waitStandby polls the target until it reports every connection of the
// fleet ready: getconnectioncount first (cheap), then getpeerinfo,
// matching the target's view of each peer's address with the connections'
// local addresses. A peer is ready when peerd reports it in standby; a
// node that reports no states (btcd) lists a peer only once its handshake
// is done, so there being listed is ready. base, the connection count
// before the fleet connected, is for messages. It also checks that peerd
// saw wtxidrelay as negotiated, where the node reports it. It returns how
// long it waited, and "standby" or "listed": what ready meant.
func (f *fleet) waitStandby(ctx context.Context, e *env, base int) (time.Duration, string, error) {
	start := time.Now()
	deadline := start.Add(e.o.Conn.StandbyTimeout)
	ours := make(map[string]bool, len(f.ls))
	for _, l := range f.ls {
		ours[l.conn.LocalAddr().String()] = true
	}
	wtxid := e.o.Conn.WTxID.on()
	status := "no answer yet"
	for {
		if f.dead.Load() > 0 {
			return 0, "", fmt.Errorf("waiting for standby: %v", f.firstReadErr())
		}
		n, err := e.rpc.connectionCount(ctx)
		if err != nil {
			return 0, "", err
		}
		status = fmt.Sprintf("getconnectioncount %d (%d before we connected)", n, base)
		// Not n-base: a connection that was there before may have gone.
		if n >= len(f.ls) {
			ps, err := e.rpc.peerInfo(ctx)
			if err != nil {
				return 0, "", err
			}
			ready, mismatch, states := 0, 0, 0
			for _, p := range ps {
				if !ours[p.Addr] {
					continue
				}
				if p.State != nil {
					states++
					if !strings.HasPrefix(*p.State, "standby") {
						continue
					}
				}
				ready++
				if p.WTxIDRelay != nil && *p.WTxIDRelay != wtxid {
					mismatch++
				}
			}
			if ready == len(f.ls) {
				if mismatch > 0 {
					return 0, "", fmt.Errorf("peerd reports wtxidrelay %v for %d of our connections, want %v", !wtxid, mismatch, wtxid)
				}
				how := "standby"
				if states == 0 {
					how = "listed"
				}
				return time.Since(start), how, nil
			}
			if states == 0 {
				status += fmt.Sprintf(", getpeerinfo: %d of our %d connections listed", ready, len(f.ls))
			} else {
				status += fmt.Sprintf(", getpeerinfo: %d of our %d connections in standby", ready, len(f.ls))
			}
		}
		if time.Now().After(deadline) {
			return 0, "", fmt.Errorf("after %v, %s", e.o.Conn.StandbyTimeout, status)
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return 0, "", ctx.Err()
		}
	}
}
