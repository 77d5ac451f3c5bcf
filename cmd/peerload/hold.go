package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"
)

// holdOptions are the hold mode's own; --peers and --dialers are shared.
type holdOptions struct {
	Hold        time.Duration `long:"hold" default:"10s" description:"How long to keep the connections once all are open (pings are answered)"`
	Settle      time.Duration `long:"settle" default:"3s" description:"Once all are open, wait this long before the reading of the target's memory that gives the figure per peer (at most --hold)"`
	PID         int           `long:"pid" description:"The target's process id: read its resident memory and CPU time from /proc (Linux)"`
	MaxFailures int           `long:"maxfailures" default:"100" description:"Stop opening connections when more than this have failed"`
}

// holdResult is what hold mode measured; --json prints it.
type holdResult struct {
	Target string `json:"target"`
	Peers  int    `json:"peers"` // asked for
	// Transport is what the connections spoke: "v1" or "v2" (--v2).
	Transport string `json:"transport"`
	// Opened: connections handshaken; Failed: could not be (GaveUp: the
	// opening stopped after --maxfailures). Held: still open at the
	// settled reading; HeldEnd: at the end of --hold.
	Opened   int      `json:"opened"`
	Failed   int      `json:"failed"`
	GaveUp   bool     `json:"gave_up,omitempty"`
	Errors   []string `json:"errors,omitempty"`
	Held     int      `json:"held"`
	HeldEnd  int      `json:"held_end"`
	Pings    int      `json:"pings_answered"`
	DropErrs []string `json:"drop_errors,omitempty"`
	OpenTime millis   `json:"open_ms"`
	Hold     millis   `json:"hold_ms"`
	Settle   millis   `json:"settle_ms"`
	// The target's resident memory (kB = 1,024 bytes) before the first
	// connection, when all were open, after --settle, and at the end;
	// PerPeer is (settled - before) / Held, in kB. Its CPU time while
	// the connections were opened, per connection opened. Absent
	// without --pid.
	PID          int      `json:"pid,omitempty"`
	RSSBeforeKB  *float64 `json:"target_rss_before_kb,omitempty"`
	RSSOpenKB    *float64 `json:"target_rss_open_kb,omitempty"`
	RSSSettledKB *float64 `json:"target_rss_settled_kb,omitempty"`
	RSSEndKB     *float64 `json:"target_rss_end_kb,omitempty"`
	PerPeerKB    *float64 `json:"target_kb_per_peer,omitempty"`
	OpenCPUPer   *float64 `json:"target_cpu_us_per_open,omitempty"`
	FileLimit    uint64   `json:"nofile_limit"`
	FileLimitErr string   `json:"nofile_limit_error,omitempty"`
	CPU          millis   `json:"peerload_cpu_ms"`
}

func runHold(ctx context.Context, e *env, o *holdOptions) error {
	switch {
	case o.Hold < 0 || o.Settle < 0 || o.MaxFailures < 0:
		return &usageError{"--hold, --settle and --maxfailures cannot be negative"}
	case o.Settle > o.Hold:
		return &usageError{"--settle cannot be longer than --hold"}
	case o.PID < 0:
		return &usageError{"--pid must be a process id"}
	}
	cpu0 := cpuTime()
	before, err := sampleTarget(o.PID)
	if err != nil {
		return fmt.Errorf("--pid=%d: %v", o.PID, err)
	}
	// Nothing to watch: the readers only answer pings and notice the end.
	w := newWatchList(nil, e.o.Conn.WTxID.on(), e.o.Conn.Peers)
	// tolerate > 0: count failures instead of stopping at the first.
	f, err := openFleet(ctx, e, w, max(o.MaxFailures, 1))
	if err != nil {
		return err
	}
	defer f.close()
	if len(f.ls) == 0 {
		return fmt.Errorf("no connection could be opened: %s", f.failErrs[0])
	}
	opened := time.Now()
	open, err := sampleTarget(o.PID)
	if err != nil {
		return fmt.Errorf("--pid=%d: %v", o.PID, err)
	}
	if err := sleep(ctx, o.Settle); err != nil {
		return err
	}
	settled, err := sampleTarget(o.PID)
	if err != nil {
		return fmt.Errorf("--pid=%d: %v", o.PID, err)
	}
	held := len(f.ls) - int(f.dead.Load())
	if settled != nil {
		e.progress("after %v: %d held, target RSS %.0f kB (%.0f kB before)", o.Settle, held, kB(settled.rss), kB(before.rss))
	}
	if err := sleep(ctx, time.Until(opened.Add(o.Hold))); err != nil {
		return err
	}
	end, err := sampleTarget(o.PID)
	if err != nil {
		return fmt.Errorf("--pid=%d: %v", o.PID, err)
	}
	heldEnd := len(f.ls) - int(f.dead.Load())
	f.close()

	res := holdResult{
		Target: e.target, Peers: e.o.Conn.Peers, Transport: e.transportName(),
		Opened: len(f.ls), Failed: f.failed, GaveUp: f.gaveUp, Errors: f.failErrs,
		Held: held, HeldEnd: heldEnd,
		OpenTime: millis(f.openTime), Hold: millis(o.Hold), Settle: millis(o.Settle),
		FileLimit: f.fileLimit,
		CPU:       millis(cpuTime() - cpu0),
	}
	if f.limitErr != nil {
		res.FileLimitErr = f.limitErr.Error()
	}
	for _, l := range f.ls {
		res.Pings += l.pings
		if l.readErr != nil && len(res.DropErrs) < 5 {
			res.DropErrs = append(res.DropErrs, fmt.Sprintf("connection %d: %v", l.id, l.readErr))
		}
	}
	if before != nil {
		ptr := func(x float64) *float64 { return &x }
		res.PID = o.PID
		res.RSSBeforeKB, res.RSSOpenKB = ptr(kB(before.rss)), ptr(kB(open.rss))
		res.RSSSettledKB, res.RSSEndKB = ptr(kB(settled.rss)), ptr(kB(end.rss))
		if held > 0 {
			res.PerPeerKB = ptr(math.Round(kB(settled.rss-before.rss)/float64(held)*100) / 100)
		}
		res.OpenCPUPer = ptr(round2(microsPer(open.cpu-before.cpu, len(f.ls))))
	}
	if e.o.Output.JSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printHold(e.stdout, res)
	return nil
}

// printHold prints the results as text.
func printHold(w io.Writer, r holdResult) {
	fmt.Fprintf(w, "peerload hold: %d %s connections to %s\n", r.Peers, r.Transport, r.Target)
	fmt.Fprintf(w, "opened %d in %v, %d failed", r.Opened, time.Duration(r.OpenTime).Round(time.Millisecond), r.Failed)
	if r.GaveUp {
		fmt.Fprint(w, " (stopped opening: too many failures)")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "held: %d after %v, %d after %v; %d pings answered\n", r.Held, time.Duration(r.Settle), r.HeldEnd, time.Duration(r.Hold), r.Pings)
	if r.PerPeerKB != nil {
		fmt.Fprintf(w, "target (pid %d) RSS, kB: %.0f before, %.0f all open, %.0f settled, %.0f at the end\n",
			r.PID, *r.RSSBeforeKB, *r.RSSOpenKB, *r.RSSSettledKB, *r.RSSEndKB)
		fmt.Fprintf(w, "target memory per held peer: %.2f kB; CPU per connection opened: %.1f µs\n", *r.PerPeerKB, *r.OpenCPUPer)
	}
	if r.FileLimitErr != "" {
		fmt.Fprintf(w, "warning: open file limit %d: %s\n", r.FileLimit, r.FileLimitErr)
	}
	for _, s := range r.Errors {
		fmt.Fprintf(w, "  failed: %s\n", s)
	}
	for _, s := range r.DropErrs {
		fmt.Fprintf(w, "  dropped: %s\n", s)
	}
	fmt.Fprintf(w, "peerload used %v of CPU\n", time.Duration(r.CPU).Round(time.Millisecond))
}
