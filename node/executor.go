package node

import (
	"context"
	"sync"
)

// Executor is the seed design's "executor helper": a fixed pool of workers
// that runs work a peer must not do on its own loop (checking a
// transaction). A peer submits a job wrapped with its one-shot reply (the
// wrapper hands the result to the peer's inbox and wakes the peer),
// carries on, and sees the answer later as an event. Submit never blocks:
// with the queue full it refuses, and the peer treats the job as answered
// "busy".
type Executor struct {
	jobs chan func()
	wg   sync.WaitGroup
}

// NewExecutor starts workers goroutines serving a queue of queue jobs. They
// stop when ctx ends; jobs still queued then are dropped (their peers are
// shutting down too).
func NewExecutor(ctx context.Context, workers, queue int) *Executor {
	e := &Executor{jobs: make(chan func(), queue)}
	for range workers {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			for {
				select {
				case job := <-e.jobs:
					job()
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	return e
}

// Submit queues job; false means the queue is full and job will not run.
// Safe for concurrent use.
func (e *Executor) Submit(job func()) bool {
	select {
	case e.jobs <- job:
		return true
	default:
		return false
	}
}

// Wait returns once every worker has stopped.
func (e *Executor) Wait() { e.wg.Wait() }
