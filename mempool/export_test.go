package mempool

import (
	"sync"
	"sync/atomic"
)

// Test hooks on the group commit, per pool: how many batches it has
// fsynced, and a function to run before each of those fsyncs.
type poolHooks struct {
	syncs      atomic.Int64
	beforeSync atomic.Pointer[func()]
}

var hooks sync.Map // *Pool → *poolHooks

func hooksOf(p *Pool) *poolHooks {
	v, _ := hooks.LoadOrStore(p, new(poolHooks))
	return v.(*poolHooks)
}

func init() {
	syncHook = func(p *Pool, after bool) {
		h := hooksOf(p)
		if after {
			h.syncs.Add(1)
		} else if f := h.beforeSync.Load(); f != nil {
			(*f)()
		}
	}
}

// syncs returns how many appended batches p has fsynced.
func (p *Pool) syncs() int { return int(hooksOf(p).syncs.Load()) }

// setBeforeSync makes f run before each fsync of an appended batch of p's.
func (p *Pool) setBeforeSync(f func()) { hooksOf(p).beforeSync.Store(&f) }
