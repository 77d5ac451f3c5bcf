package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/btcdtest"
	"github.com/peerd/peerd/internal/socks5test"
)

// Issue 14's figures: how long a transaction takes from sendrawtransaction
// to "confirmed" with private broadcast, and to every btcd's mempool, next
// to ordinary relay, in TestPrivateBroadcastWithBtcd's network (three
// targets and one long-lived btcd, all connected through the long-lived
// one), with the announcement delays at their defaults and shortened.
// A measurement, not a check: it runs only with PEERD_FIGURES=1, and
// writes its markdown table to PEERD_FIGURES_OUT if that is set.
const (
	// figSpacing is the time between two sendrawtransaction calls.
	figSpacing = 150 * time.Millisecond
	// figPoll is how often the btcd mempools are read.
	figPoll = 50 * time.Millisecond
)

// figWait bounds the wait for the last transaction: a broadcast
// connection that hears no getdata holds its target for peerd's 3
// minutes, and a transaction's back-off reaches 1 minute. 15 minutes, or
// PEERD_FIGURES_WAIT.
var figWait = 15 * time.Minute

// figTxs is how many transactions each configuration injects: 100, or
// PEERD_FIGURES_N (to try the harness quickly).
var figTxs = int64(100)

// figTrickle is one setting of the announcement delays.
type figTrickle struct {
	short string // the subtest's name
	name  string
	btcd  []string // btcd flags
	peerd string   // peerd's --trickleinterval
}

// figRow is one line of the table.
type figRow struct {
	trickle, relay, measure string
	ds                      []time.Duration
}

func TestFiguresPrivateBroadcast(t *testing.T) {
	if os.Getenv("PEERD_FIGURES") != "1" {
		t.Skip("a measurement: set PEERD_FIGURES=1 to run it")
	}
	if testing.Short() {
		t.Skip("a measurement: not under -short")
	}
	if n, err := strconv.Atoi(os.Getenv("PEERD_FIGURES_N")); err == nil && n > 0 {
		figTxs = int64(n)
	}
	if d, err := time.ParseDuration(os.Getenv("PEERD_FIGURES_WAIT")); err == nil && d > 0 {
		figWait = d
	}
	// PEERD_FIGURES_ONLY=private or =ordinary measures one kind of relay.
	only := os.Getenv("PEERD_FIGURES_ONLY")
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("load average at start: %s", strings.TrimSpace(string(load)))
	var rows []figRow
	for _, tr := range []figTrickle{
		{"default", "btcd 10 s (default), peerd 5 s (default)", nil, "5s"},
		{"short", "btcd 500 ms, peerd 100 ms", []string{"--trickleinterval=500ms"}, "100ms"},
	} {
		t.Run(tr.short, func(t *testing.T) {
			// Coinbases 1..figTxs for private broadcast, the next figTxs
			// for ordinary relay.
			pn := startPrivNetWith(t, 3, 2*figTxs, tr.btcd...)
			proxy := socks5test.Microsocks(t, "-b", "127.0.0.2")
			if only != "ordinary" {
				rows = append(rows, figPrivate(t, pn, proxy, tr)...)
			}
			// A block clears the mempools between the two runs.
			if _, err := pn.long.Generate(1); err != nil {
				t.Fatal(err)
			}
			want := int64(101 + 2*figTxs + 1)
			waitUntil(t, "the block to reach every btcd", 30*time.Second, func() bool {
				for _, b := range pn.all {
					if h, err := b.GetBlockCount(); err != nil || h != want {
						return false
					}
				}
				return true
			})
			if only != "private" {
				rows = append(rows, figOrdinary(t, pn, tr)...)
			}
		})
	}
	load, _ = os.ReadFile("/proc/loadavg")
	t.Logf("load average at end: %s", strings.TrimSpace(string(load)))
	table := figTable(rows)
	t.Logf("\n%s", table)
	if out := os.Getenv("PEERD_FIGURES_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// figSent is one injected transaction: its txid and when
// sendrawtransaction returned.
type figSent struct {
	txid     string
	returned time.Time
}

// figInject calls sendrawtransaction for each transaction, one every
// figSpacing, and returns when each call returned.
func figInject(t *testing.T, p *peerd, txs []*wire.MsgTx) []figSent {
	t.Helper()
	sent := make([]figSent, len(txs))
	start := time.Now()
	for i, tx := range txs {
		time.Sleep(time.Until(start.Add(time.Duration(i) * figSpacing)))
		raw, err := p.rawCall("sendrawtransaction", btcdtest.TxHex(tx))
		now := time.Now()
		if err != nil {
			t.Fatalf("sendrawtransaction %d: %v", i, err)
		}
		if err := json.Unmarshal(raw, &sent[i].txid); err != nil {
			t.Fatal(err)
		}
		if sent[i].txid != tx.TxHash().String() {
			t.Fatalf("sendrawtransaction returned %s, want %s", sent[i].txid, tx.TxHash())
		}
		sent[i].returned = now
	}
	t.Logf("injected %d transactions in %v", len(txs), time.Since(start).Round(time.Millisecond))
	return sent
}

// mempoolWatch records when each btcd's getrawmempool first listed each
// transaction, polling every figPoll.
type mempoolWatch struct {
	mu   sync.Mutex
	seen []map[string]time.Time
	stop chan struct{}
	wg   sync.WaitGroup
}

func watchMempools(t *testing.T, nodes []*btcdtest.Node) *mempoolWatch {
	w := &mempoolWatch{stop: make(chan struct{})}
	for i, b := range nodes {
		w.seen = append(w.seen, map[string]time.Time{})
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			tick := time.NewTicker(figPoll)
			defer tick.Stop()
			for {
				ids, err := b.GetRawMempool()
				now := time.Now()
				if err == nil {
					w.mu.Lock()
					for _, id := range ids {
						if _, ok := w.seen[i][id]; !ok {
							w.seen[i][id] = now
						}
					}
					w.mu.Unlock()
				}
				select {
				case <-w.stop:
					return
				case <-tick.C:
				}
			}
		}()
	}
	t.Cleanup(w.close)
	return w
}

func (w *mempoolWatch) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.wg.Wait()
}

// all returns when the last btcd listed txid, if every one did.
func (w *mempoolWatch) all(txid string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var last time.Time
	for _, m := range w.seen {
		at, ok := m[txid]
		if !ok {
			return time.Time{}, false
		}
		if at.After(last) {
			last = at
		}
	}
	return last, true
}

// figWaitMempools waits until every btcd listed every transaction and
// returns the times from sendrawtransaction's return.
func figWaitMempools(t *testing.T, w *mempoolWatch, sent []figSent) []time.Duration {
	t.Helper()
	figUntil(t, "every transaction in every btcd's mempool", func() bool {
		for _, s := range sent {
			if _, ok := w.all(s.txid); !ok {
				return false
			}
		}
		return true
	})
	var ds []time.Duration
	for _, s := range sent {
		if at, ok := w.all(s.txid); ok {
			ds = append(ds, at.Sub(s.returned))
		} else {
			ds = append(ds, figMissing)
		}
	}
	return ds
}

// figMissing stands for a time never reached within figWait.
const figMissing = time.Duration(math.MaxInt64)

// figUntil waits for cond at most figWait and says whether it came true:
// a figure with a missing tail is still a figure.
func figUntil(t *testing.T, what string, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(figWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Logf("gave up after %v waiting for %s", figWait, what)
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// figSpends returns the transactions spending the coinbases at heights
// from..to.
func (pn *privNet) figSpends(t *testing.T, from, to int64) []*wire.MsgTx {
	t.Helper()
	var txs []*wire.MsgTx
	for h := from; h <= to; h++ {
		txs = append(txs, pn.spend(t, h))
	}
	return txs
}

// figPrivInfo is what the figures read of getprivatebroadcastinfo.
type figPrivInfo struct {
	TxID      string  `json:"txid"`
	State     string  `json:"state"`
	Added     float64 `json:"added"`
	Confirmed float64 `json:"confirmed"`
	Attempts  []struct {
		Address  string  `json:"address"`
		Opened   float64 `json:"opened"`
		GetData  float64 `json:"getdata"`
		Received float64 `json:"received"`
		Ended    float64 `json:"ended"`
		Outcome  string  `json:"outcome"`
	} `json:"attempts"`
}

// figSince is the time from t0 to peerd's time field f, figMissing if
// f is not set.
func figSince(f float64, t0 time.Time) time.Duration {
	if f == 0 {
		return figMissing
	}
	return secs(f).Sub(t0)
}

func figSinceT(at, t0 time.Time) time.Duration {
	if at.IsZero() {
		return figMissing
	}
	return at.Sub(t0)
}

func secs(f float64) time.Time { return time.UnixMicro(int64(math.Round(f * 1e6))) }

func figPrivate(t *testing.T, pn *privNet, proxy string, tr figTrickle) []figRow {
	t.Helper()
	p := pn.startPeerd(t, t.TempDir(), proxy, true, "--trickleinterval="+tr.peerd)
	defer p.stop()
	txs := pn.figSpends(t, 1, figTxs)
	w := watchMempools(t, pn.all)
	defer w.close()
	sent := figInject(t, p, txs)
	inAll := figWaitMempools(t, w, sent)

	byID := map[string]figPrivInfo{}
	figUntil(t, "peerd to confirm every transaction", func() bool {
		raw, err := p.rawCall("getprivatebroadcastinfo")
		if err != nil {
			t.Fatal(err)
		}
		var res struct{ Transactions []figPrivInfo }
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Fatal(err)
		}
		for _, tx := range res.Transactions {
			byID[tx.TxID] = tx
		}
		for _, s := range sent {
			if byID[s.txid].State != "confirmed" {
				return false
			}
		}
		return true
	})

	nodeOf := map[string]int{}
	for i, b := range pn.all {
		nodeOf[b.P2PAddr()] = i
	}
	var confirmed, added, opened, receipt []time.Duration
	hadIt := 0 // connections that heard no getdata, to a target whose mempool already held the tx
	var spans [][2]time.Time
	attempts, failed := 0, map[string]int{}
	for _, s := range sent {
		info := byID[s.txid]
		confirmed = append(confirmed, figSince(info.Confirmed, s.returned))
		added = append(added, s.returned.Sub(secs(info.Added)))
		var first, firstReceipt time.Time
		for _, a := range info.Attempts {
			attempts++
			switch {
			case a.Outcome == "" && a.GetData == 0:
				failed["open, no getdata yet"]++
			case a.Outcome == "":
				failed["open"]++
			case a.Outcome != "receipt":
				failed[a.Outcome]++
				if a.GetData == 0 {
					w.mu.Lock()
					at, ok := w.seen[nodeOf[a.Address]][s.txid]
					w.mu.Unlock()
					if ok && at.Before(secs(a.Opened)) {
						hadIt++
					}
				}
			}
			if a.Opened != 0 && (first.IsZero() || secs(a.Opened).Before(first)) {
				first = secs(a.Opened)
			}
			if a.Received != 0 && (firstReceipt.IsZero() || secs(a.Received).Before(firstReceipt)) {
				firstReceipt = secs(a.Received)
			}
			if a.Opened != 0 && a.Ended != 0 {
				spans = append(spans, [2]time.Time{secs(a.Opened), secs(a.Ended)})
			}
		}
		opened = append(opened, figSinceT(first, s.returned))
		receipt = append(receipt, figSinceT(firstReceipt, s.returned))
	}
	p.stop()
	notOpened := map[string]int{}
	for _, m := range regexp.MustCompile(`attempt \d+ not opened: ([^:\n]*)`).FindAllStringSubmatch(p.log.String(), -1) {
		notOpened[m[1]]++
	}
	unknown := 0
	for _, b := range pn.targets {
		log, err := os.ReadFile(b.LogPath())
		if err != nil {
			t.Fatal(err)
		}
		unknown += strings.Count(string(log), "Received inv message from unknown peer 127.0.0.2:")
	}
	t.Logf("%s, private: the targets ignored %d invs from a broadcast connection (btcd: \"Received inv message from unknown peer\"); %d connections without a getdata went to a target whose mempool held the transaction before the connection opened",
		tr.name, unknown, hadIt)
	t.Logf("%s, private: %d broadcast connections for %d transactions, not a receipt: %v; at most %d open at once; attempts not opened: %v; sendrawtransaction returned %v (p50) %v (max) after peerd's \"added\"",
		tr.name, attempts, len(sent), failed, maxOverlap(spans), notOpened, pct(sorted(added), 0.5).Round(time.Millisecond), slices.Max(added).Round(time.Millisecond))
	return []figRow{
		{tr.name, "private", "first broadcast connection opened", opened},
		{tr.name, "private", "first receipt (pong)", receipt},
		{tr.name, "private", "**confirmed** (echo of the long-lived btcd)", confirmed},
		{tr.name, "private", "**in all 4 btcd mempools**", inAll},
	}
}

// maxOverlap is the most intervals open at one instant.
func maxOverlap(spans [][2]time.Time) int {
	type ev struct {
		at time.Time
		d  int
	}
	var evs []ev
	for _, s := range spans {
		evs = append(evs, ev{s[0], 1}, ev{s[1], -1})
	}
	slices.SortFunc(evs, func(a, b ev) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.d - b.d // an end before a start at the same instant
	})
	n, most := 0, 0
	for _, e := range evs {
		n += e.d
		most = max(most, n)
	}
	return most
}

// figOrdinary: peerd without private broadcast and without a proxy, its
// long-lived outbound peers the four btcd (--addpeer), announcing each
// transaction to all of them.
func figOrdinary(t *testing.T, pn *privNet, tr figTrickle) []figRow {
	t.Helper()
	args := []string{"--targetoutbound=0", "--nodnsseed", "--trickleinterval=" + tr.peerd}
	for _, b := range pn.all {
		args = append(args, "--addpeer="+b.P2PAddr())
	}
	p := startPeerd(t, t.TempDir(), args...)
	defer p.stop()
	waitUntil(t, "peerd's four long-lived peers", 30*time.Second, func() bool {
		out, err := p.ctl("getconnectioncount")
		n, _ := strconv.Atoi(out)
		return err == nil && n >= len(pn.all)
	})
	txs := pn.figSpends(t, figTxs+1, 2*figTxs)
	w := watchMempools(t, pn.all)
	defer w.close()
	sent := figInject(t, p, txs)
	inAll := figWaitMempools(t, w, sent)

	var getdata []time.Duration
	echoes := 0
	for _, s := range sent {
		raw, err := p.rawCall("getmempoolentry", s.txid)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Propagation struct {
				Fetched  []struct{ Time float64 } `json:"fetched"`
				SeenFrom []struct{ Time float64 } `json:"seenfrom"`
			} `json:"propagation"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		if len(e.Propagation.Fetched) == 0 {
			getdata = append(getdata, figMissing)
			continue
		}
		first := e.Propagation.Fetched[0].Time
		for _, f := range e.Propagation.Fetched {
			first = min(first, f.Time)
		}
		getdata = append(getdata, secs(first).Sub(s.returned))
		echoes += len(e.Propagation.SeenFrom)
	}
	t.Logf("%s, ordinary: %d announcements back to peerd in all", tr.name, echoes)
	return []figRow{
		{tr.name, "ordinary", "first getdata", getdata},
		{tr.name, "ordinary", "**in all 4 btcd mempools**", inAll},
	}
}

func sorted(ds []time.Duration) []time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds
}

// pct is the nearest-rank q-quantile of sorted ds.
func pct(ds []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(ds)))) - 1
	return ds[max(i, 0)]
}

func figDur(d time.Duration) string {
	if d == figMissing {
		return fmt.Sprintf("not within %v", figWait)
	}
	if d < time.Second && d > -time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func figTable(rows []figRow) string {
	var b strings.Builder
	b.WriteString("| trickle | relay | from sendrawtransaction's return to | n | p50 | p90 | p99 | max |\n")
	b.WriteString("|---|---|---|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		ds := sorted(r.ds)
		reached := 0
		for _, d := range ds {
			if d != figMissing {
				reached++
			}
		}
		n := strconv.Itoa(reached)
		if reached < len(ds) {
			n = fmt.Sprintf("%d of %d", reached, len(ds))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.trickle, r.relay, r.measure, n,
			figDur(pct(ds, 0.5)), figDur(pct(ds, 0.9)), figDur(pct(ds, 0.99)), figDur(ds[len(ds)-1]))
	}
	return b.String()
}
