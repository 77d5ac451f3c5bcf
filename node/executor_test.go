package node

import (
	"context"
	"testing"
	"testing/synctest"
)

func TestExecutorRunsJobsAndRefusesWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		e := NewExecutor(ctx, 1, 1)
		release := make(chan struct{})
		done := make(chan int, 3)
		if !e.Submit(func() { <-release; done <- 1 }) {
			t.Fatal("first job refused")
		}
		synctest.Wait() // the worker holds job 1
		if !e.Submit(func() { done <- 2 }) {
			t.Fatal("second job refused with room in the queue")
		}
		if e.Submit(func() { done <- 3 }) {
			t.Fatal("third job accepted with the worker busy and the queue full")
		}
		close(release)
		if a, b := <-done, <-done; a != 1 || b != 2 {
			t.Fatalf("ran %d, %d", a, b)
		}
		cancel()
		e.Wait()
	})
}
