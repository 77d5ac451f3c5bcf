package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// handshakeOptions are the handshake mode's own.
type handshakeOptions struct {
	Workers     int           `long:"workers" default:"32" description:"Handshakes in progress at once: each worker connects, handshakes, closes, and starts again"`
	Count       int           `long:"count" default:"10000" description:"Handshakes to attempt in all (0: no limit, then --duration must be set)"`
	Duration    time.Duration `long:"duration" description:"Start no handshake after this long (0: no limit, then --count must be set)"`
	PID         int           `long:"pid" description:"The target's process id: read its CPU time and resident memory from /proc before and after (Linux)"`
	Settle      time.Duration `long:"settle" default:"1s" description:"After the last handshake, wait this long before reading the target's CPU time, so that its teardown of the last connections is counted"`
	Close       string        `long:"close" default:"rst" choice:"rst" choice:"fin" description:"How to close each connection: rst (SO_LINGER 0: a reset, nothing left in TIME_WAIT) or fin (an ordinary close)"`
	MaxFailures int           `long:"maxfailures" default:"100" description:"Stop when more handshakes than this have failed"`
}

// handshakeResult is what handshake mode measured; --json prints it.
type handshakeResult struct {
	Target  string `json:"target"`
	Workers int    `json:"workers"`
	Close   string `json:"close"`
	// Transport is what the connections spoke: "v1" or "v2" (--v2).
	Transport string `json:"transport"`
	// Completed handshakes (their verack read), and failed attempts with
	// the first few errors.
	Completed int      `json:"handshakes"`
	Failed    int      `json:"failed"`
	Errors    []string `json:"errors,omitempty"`
	// Elapsed is from the first dial to the end of the last handshake;
	// Rate is Completed / Elapsed.
	Elapsed millis  `json:"elapsed_ms"`
	Rate    float64 `json:"handshakes_per_s"`
	// Latency: from the start of the dial to the moment the target's
	// verack was read, over completed handshakes.
	Latency summary `json:"latency"`
	// The target's CPU time from just before the first dial to --settle
	// after the last handshake, in all and per completed handshake; its
	// resident memory at both moments. Absent without --pid.
	PID               int      `json:"pid,omitempty"`
	TargetCPU         *millis  `json:"target_cpu_ms,omitempty"`
	TargetCPUPer      *float64 `json:"target_cpu_us_per_handshake,omitempty"`
	TargetRSSBeforeKB *float64 `json:"target_rss_before_kb,omitempty"`
	TargetRSSAfterKB  *float64 `json:"target_rss_after_kb,omitempty"`
	// peerload's own CPU over the same span (it shares the machine).
	CPU    millis  `json:"peerload_cpu_ms"`
	CPUPer float64 `json:"peerload_cpu_us_per_handshake"`
}

// maxSourceIDs bounds the connection numbers given to sourceAddr, which
// spreads them over 127.1.0.1 to 127.240.249.250: a long run starts
// again from the first address (by then long closed).
const maxSourceIDs = 240 * 62500

func runHandshake(ctx context.Context, e *env, o *handshakeOptions) error {
	switch {
	case o.Workers < 1:
		return &usageError{"--workers must be at least 1"}
	case o.Count < 0 || o.Duration < 0 || o.Settle < 0 || o.MaxFailures < 0:
		return &usageError{"--count, --duration, --settle and --maxfailures cannot be negative"}
	case o.Count == 0 && o.Duration == 0:
		return &usageError{"give --count or --duration (or both: whichever comes first)"}
	case o.PID < 0:
		return &usageError{"--pid must be a process id"}
	}
	before, err := sampleTarget(o.PID)
	if err != nil {
		return fmt.Errorf("--pid=%d: %v", o.PID, err)
	}
	if _, err := raiseFileLimit(uint64(o.Workers) + 64); err != nil {
		e.progress("warning: cannot raise the open file limit: %v", err)
	}
	what := fmt.Sprintf("%d handshakes", o.Count)
	switch {
	case o.Count == 0:
		what = fmt.Sprintf("handshakes for %v", o.Duration)
	case o.Duration > 0:
		what += fmt.Sprintf(" or %v, whichever comes first", o.Duration)
	}
	e.progress("%s (%s) with %s, %d at a time (close: %s)", what, e.transportName(), e.target, o.Workers, o.Close)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rst := o.Close == "rst"
	spec := e.dialSpec()
	var (
		next     atomic.Int64 // the next attempt's number
		failures atomic.Int64
		mu       sync.Mutex // guards the rest, merged as workers end
		lat      []time.Duration
		errs     []string
		last     time.Time // the end of the last completed handshake
		wg       sync.WaitGroup
	)
	start, cpu0 := time.Now(), cpuTime()
	pace := newPacer(e.o.Conn.Rate)
	for range o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			var end time.Time
			for ctx.Err() == nil {
				n := next.Add(1) - 1
				if o.Count > 0 && n >= int64(o.Count) || o.Duration > 0 && time.Since(start) >= o.Duration {
					break
				}
				if pace.wait(ctx, n) != nil {
					break
				}
				t0 := time.Now()
				l, err := dialListener(ctx, int(n%maxSourceIDs), spec)
				if err != nil {
					if ctx.Err() != nil {
						break
					}
					f := failures.Add(1)
					mu.Lock()
					if len(errs) < 5 {
						errs = append(errs, err.Error())
					}
					mu.Unlock()
					if f > int64(o.MaxFailures) {
						cancel()
					}
					continue
				}
				end = time.Now()
				mine = append(mine, end.Sub(t0))
				closeConn(l.conn, rst)
			}
			mu.Lock()
			lat = append(lat, mine...)
			if end.After(last) {
				last = end
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && failures.Load() <= int64(o.MaxFailures) {
		return err // interrupted
	}
	cpu := cpuTime() - cpu0
	if last.IsZero() {
		last = time.Now()
	}
	res := handshakeResult{
		Target: e.target, Workers: o.Workers, Close: o.Close, Transport: e.transportName(),
		Completed: len(lat), Failed: int(failures.Load()), Errors: errs,
		Elapsed: millis(last.Sub(start)),
		Latency: summarize(lat),
		CPU:     millis(cpu), CPUPer: round2(microsPer(cpu, len(lat))),
	}
	if el := last.Sub(start).Seconds(); el > 0 {
		res.Rate = math.Round(float64(len(lat))/el*10) / 10
	}
	if before != nil {
		if err := sleep(context.Background(), o.Settle); err != nil {
			return err
		}
		after, err := sampleTarget(o.PID)
		if err != nil {
			return fmt.Errorf("--pid=%d after the run: %v", o.PID, err)
		}
		d := millis(after.cpu - before.cpu)
		per := round2(microsPer(after.cpu-before.cpu, len(lat)))
		rb, ra := kB(before.rss), kB(after.rss)
		res.PID, res.TargetCPU, res.TargetCPUPer = o.PID, &d, &per
		res.TargetRSSBeforeKB, res.TargetRSSAfterKB = &rb, &ra
	}
	if res.Failed > o.MaxFailures {
		e.progress("stopped: %d handshakes failed", res.Failed)
	}
	if e.o.Output.JSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printHandshake(e.stdout, res)
	}
	if res.Completed == 0 {
		return fmt.Errorf("no handshake completed")
	}
	return nil
}

// closeConn closes a connection after its handshake. With rst it sets
// SO_LINGER to 0 first, so that the close sends a reset: neither side's
// kernel keeps the connection in TIME_WAIT (60 s on Linux), so a long run
// cannot run out of ports or fill the TIME_WAIT table, and one run leaves
// nothing behind for the next. It also makes every target see the same
// end: without it Linux sends a reset anyway when the target's
// post-handshake messages (btcd's, peerd's ping) are still unread, and a
// FIN otherwise, so targets that send more after verack would be closed
// differently from those that send nothing.
func closeConn(c net.Conn, rst bool) {
	if tc, ok := c.(*net.TCPConn); ok && rst {
		tc.SetLinger(0)
	}
	c.Close()
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// printHandshake prints the results as text.
func printHandshake(w io.Writer, r handshakeResult) {
	fmt.Fprintf(w, "peerload handshake: %s over %s, %d workers, close with %s\n", r.Target, r.Transport, r.Workers, r.Close)
	fmt.Fprintf(w, "handshakes: %d in %v: %.1f/s; %d failed\n", r.Completed,
		time.Duration(r.Elapsed).Round(time.Millisecond), r.Rate, r.Failed)
	fmt.Fprintf(w, "latency, connect -> verack, ms: p50 %s, p99 %s, max %s\n", ms(r.Latency.P50), ms(r.Latency.P99), ms(r.Latency.Max))
	if r.TargetCPU != nil {
		fmt.Fprintf(w, "target (pid %d): CPU %v, %.1f µs per handshake; RSS %.0f kB before, %.0f kB after\n", r.PID,
			time.Duration(*r.TargetCPU).Round(time.Millisecond), *r.TargetCPUPer, *r.TargetRSSBeforeKB, *r.TargetRSSAfterKB)
	}
	fmt.Fprintf(w, "peerload: CPU %v, %.1f µs per handshake\n", time.Duration(r.CPU).Round(time.Millisecond), r.CPUPer)
	for _, s := range r.Errors {
		fmt.Fprintf(w, "  %s\n", s)
	}
}
