package main

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
)

func msSeq(n int) []time.Duration {
	xs := make([]time.Duration, n)
	for i := range xs {
		xs[i] = time.Duration(i+1) * time.Millisecond
	}
	return xs
}

func TestPercentile(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		name string
		xs   []time.Duration
		p    float64
		want time.Duration
	}{
		{"p50 of 1..100", msSeq(100), 50, 50 * ms},
		{"p99 of 1..100", msSeq(100), 99, 99 * ms},
		{"p100 of 1..100", msSeq(100), 100, 100 * ms},
		{"p99 of 1..1000 is the 990th", msSeq(1000), 99, 990 * ms},
		{"p99.9 of 1..1000", msSeq(1000), 99.9, 999 * ms},
		{"p99 of 10 values is the largest", msSeq(10), 99, 10 * ms},
		{"p50 of two is the smaller", msSeq(2), 50, 1 * ms},
		{"p50 of three is the middle", msSeq(3), 50, 2 * ms},
		{"p1 of 1..100", msSeq(100), 1, 1 * ms},
		{"tiny p is the minimum", msSeq(100), 0.001, 1 * ms},
		{"one value", msSeq(1), 99, 1 * ms},
		{"empty", nil, 50, 0},
	} {
		if got := percentile(c.xs, c.p); got != c.want {
			t.Errorf("%s: percentile(%v) = %v, want %v", c.name, c.p, got, c.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	xs := msSeq(1000)
	// Reverse, so that summarize has to sort; add negatives (an inv read
	// before the RPC reply).
	slices.Reverse(xs)
	xs = append(xs, -2*time.Millisecond, -time.Millisecond)
	s := summarize(xs)
	sum := float64(500500-3) * float64(time.Millisecond)
	want := summary{
		N:    1002,
		Min:  millis(-2 * time.Millisecond),
		P50:  millis(499 * time.Millisecond),  // rank 501 of -2,-1,1..1000
		P90:  millis(900 * time.Millisecond),  // rank ceil(901.8) = 902
		P99:  millis(990 * time.Millisecond),  // rank ceil(991.98) = 992
		Max:  millis(1000 * time.Millisecond), // the largest
		Mean: millis(time.Duration(sum / 1002)),
	}
	if s != want {
		t.Errorf("summarize = %+v\nwant        %+v", s, want)
	}
	if z := summarize(nil); z != (summary{}) {
		t.Errorf("summarize(nil) = %+v, want zero", z)
	}
}

func TestMillisJSON(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{1234567 * time.Nanosecond, "1.235"},
		{-49710 * time.Microsecond, "-49.71"},
		{0, "0"},
		{3 * time.Second, "3000"},
	} {
		b, err := json.Marshal(millis(c.d))
		if err != nil || string(b) != c.want {
			t.Errorf("marshal %v = %s, %v; want %s", c.d, b, err, c.want)
		}
		var back millis
		if err := json.Unmarshal(b, &back); err != nil || time.Duration(back).Round(time.Microsecond) != c.d.Round(time.Microsecond) {
			t.Errorf("round trip of %v: %v, %v", c.d, time.Duration(back), err)
		}
	}
}

// TestRelayStats: counts over a hand-made fleet of three listeners and two
// transactions: one listener misses a transaction and sees a duplicate,
// one was dropped by peerd.
func TestRelayStats(t *testing.T) {
	t0 := time.Now()
	txs := makeTxs(2, 1)
	inj := []injection{
		{issued: t0, returned: t0.Add(2 * time.Millisecond)},
		{issued: t0.Add(time.Second), returned: t0.Add(time.Second + 3*time.Millisecond), timedOut: true},
	}
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	ms := time.Millisecond
	f := &fleet{ls: []*listener{
		{id: 0, got: []time.Time{at(5 * ms), at(time.Second + 4*ms)}},
		{id: 1, got: []time.Time{at(1 * ms), {}}, dups: 2, unexpected: 1},
		{id: 2, got: []time.Time{at(9 * ms), at(time.Second + 10*ms)}, readErr: errors.New("peerd closed the connection")},
	}}
	r := relayStats(f, txs, inj, true)
	if r.Pairs != 6 || r.Delivered != 5 || r.ListenersAll != 2 || r.TxsAll != 1 ||
		r.Duplicates != 2 || r.Unexpected != 1 || r.Dropped != 1 || len(r.DropErrors) != 1 {
		t.Errorf("counts: %+v", r)
	}
	if got := time.Duration(r.IssueToInv.Max); got != 10*ms {
		t.Errorf("issue to inv max = %v, want 10ms", got)
	}
	if got := time.Duration(r.ReturnToInv.Min); got != -ms {
		t.Errorf("return to inv min = %v, want -1ms (read before the reply)", got)
	}
	if got := time.Duration(r.Spread.Max); got != 8*ms {
		t.Errorf("spread max = %v, want 8ms", got)
	}
	if p := r.PerTx[1]; !p.TimedOut || p.Received != 2 || time.Duration(p.First) != 4*ms || time.Duration(p.Last) != 10*ms {
		t.Errorf("per tx 2: %+v", p)
	}
	if time.Duration(r.RPC.Max) != 3*ms {
		t.Errorf("rpc max = %v", time.Duration(r.RPC.Max))
	}
}
