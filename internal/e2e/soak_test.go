package e2e

// The soak: the real peerd binary under 200 good peers that connect, ping,
// hear transactions and leave, over and over, while the operator injects
// 1,000 transactions over JSON-RPC and bad peers (4 MB junk, wrong magic,
// oversized headers, slowloris before and after the handshake) come and go.
//
// Why the binary and not an in-process node: the soak is the one test that
// can show what an operator would see, so it runs what an operator runs:
// the real flags, the RPC server with cookie authentication, and a process
// of its own, whose resident set (VmRSS, and its peak VmHWM) is not mixed
// with the test clients' memory. peerd's own goroutine count and heap come
// from its --profile endpoint (pprof), so nothing is lost against an
// in-process node but the race detector, which the node package's hostile
// tests run under `go test -race`.
//
//	go test ./internal/e2e -run TestSoak -v                      # 30 s
//	go test ./internal/e2e -run TestSoak -v -soak.duration=10m   # scripts/soak.sh

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/btcdtest"
	"github.com/peerd/peerd/internal/memwatch"
	"github.com/peerd/peerd/internal/txgen"
	"github.com/peerd/peerd/internal/wireio"
	"github.com/peerd/peerd/mempool"
)

var (
	soakDuration = flag.Duration("soak.duration", 30*time.Second, "how long TestSoak runs its main phase")
	soakPeers    = flag.Int("soak.peers", 200, "good peers in TestSoak")
	soakTxs      = flag.Int("soak.txs", 1000, "transactions TestSoak injects in its main phase")
)

// Soak settings for peerd: short timeouts, so that slowloris peers are
// dropped within the run, and room for every peer.
const (
	soakPeerTimeout = 3 * time.Second // --peertimeout: slowloris before version
	soakIdleTimeout = 6 * time.Second // --idletimeout: slowloris after verack
	soakPerIP       = 2               // --maxinboundperip
	warmupTxs       = 10
)

// soakStats counts what happened; errs keeps the first failures.
type soakStats struct {
	sessions, pongs, invs, fetched atomic.Int64
	bad                            [numBad]atomic.Int64
	mu                             sync.Mutex
	errs                           []string
	nerr                           int
}

func (s *soakStats) fail(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nerr++
	if len(s.errs) < 20 {
		s.errs = append(s.errs, fmt.Sprintf(format, args...))
	}
}

// injected is what the operator's sendrawtransaction accepted, in order.
type injected struct {
	mu    sync.Mutex
	txids []chainhash.Hash
	wtxid []chainhash.Hash
	index map[chainhash.Hash]int // txid or wtxid -> position
	heard []atomic.Int64         // per transaction: sessions it was announced to
}

func (in *injected) add(tx *wire.MsgTx) {
	in.mu.Lock()
	in.index[tx.TxHash()] = len(in.txids)
	in.index[tx.WitnessHash()] = len(in.txids)
	in.txids = append(in.txids, tx.TxHash())
	in.wtxid = append(in.wtxid, tx.WitnessHash())
	in.mu.Unlock()
}

// announced counts one session's announcements, for the estimate of the
// propagation records peerd keeps.
func (in *injected) announced(heard map[chainhash.Hash]bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for h := range heard {
		if i, ok := in.index[h]; ok {
			in.heard[i].Add(1)
		}
	}
}

// snapshot returns the hashes accepted so far, by wtxid or by txid.
func (in *injected) snapshot(wtxid bool) []chainhash.Hash {
	in.mu.Lock()
	defer in.mu.Unlock()
	if wtxid {
		return append([]chainhash.Hash(nil), in.wtxid...)
	}
	return append([]chainhash.Hash(nil), in.txids...)
}

// soak is one run: peerd, its addresses, the counters.
type soak struct {
	t       *testing.T
	p       *peerd
	profile string
	stats   soakStats
	txs     *injected
	oversz  atomic.Int64 // fresh source addresses for oversized-header peers
}

func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: 30 s or more")
	}
	profile := btcdtest.FreeAddr(t)
	p := startPeerd(t, t.TempDir(), "--debuglevel=info", "--nodnsseed",
		"--maxpeers=1000", "--maxinboundperip="+strconv.Itoa(soakPerIP), "--profile="+profile,
		"--peertimeout="+soakPeerTimeout.String(), "--idletimeout="+soakIdleTimeout.String(),
		"--pinginterval=2s")
	s := &soak{t: t, p: p, profile: profile, txs: &injected{
		index: map[chainhash.Hash]int{}, heard: make([]atomic.Int64, warmupTxs+*soakTxs)}}
	all := txgen.Segwit(warmupTxs+*soakTxs, rand.Uint64())

	s.checkPerIPLimit()

	// Warm-up: every kind of peer once, a few transactions; then quiet.
	s.phase("warm-up", 4*time.Second, all[:warmupTxs])
	base := s.quiet("baseline after warm-up")

	took := s.phase("soak", *soakDuration, all[warmupTxs:])
	held := s.hold()
	end := s.quiet("end")
	_, hwm, _ := memwatch.RSS(p.cmd.Process.Pid)

	st := &s.stats
	t.Logf("soak of %v: %d good-peer sessions (%d peers), %d pongs, %d announcements heard, %d transactions fetched",
		took.Round(time.Second), st.sessions.Load(), *soakPeers, st.pongs.Load(), st.invs.Load(), st.fetched.Load())
	var bad []string
	for k := range numBad {
		bad = append(bad, fmt.Sprintf("%s %d", badNames[k], st.bad[k].Load()))
	}
	t.Logf("bad-peer sessions with the expected reaction: %s", strings.Join(bad, ", "))
	events := s.recordedEvents()
	t.Logf("transactions injected: %d (%d warm-up); about %d propagation records (an inv to each session that heard one, capped at %d per transaction)",
		len(s.txs.snapshot(true)), warmupTxs, events, mempool.MaxPeerEvents)
	t.Logf("goroutines: %d at the baseline, %d at the end", base.goroutines, end.goroutines)
	t.Logf("heap after GC: %s at the baseline, %s at the end (+%s); heap+stacks in use %s, %s",
		memwatch.MB(base.heapLive), memwatch.MB(end.heapLive), memwatch.MB(sub(end.heapLive, base.heapLive)),
		memwatch.MB(base.inUse), memwatch.MB(end.inUse))
	t.Logf("RSS: %s at the baseline, %s at the end, peak (VmHWM) %s", memwatch.MB(base.rss), memwatch.MB(end.rss), memwatch.MB(hwm))
	t.Logf("%d peers held, each announced all %d transactions: %d goroutines, heap after GC %s, %s per peer over the end",
		*soakPeers, len(s.txs.snapshot(true)), held.goroutines, memwatch.MB(held.heapLive),
		memwatch.MB(sub(held.heapLive, end.heapLive)/uint64(*soakPeers)))

	st.mu.Lock()
	if st.nerr > 0 {
		t.Errorf("%d failures, the first ones:\n%s", st.nerr, strings.Join(st.errs, "\n"))
	}
	st.mu.Unlock()
	if st.sessions.Load() < int64(*soakPeers) || st.pongs.Load() == 0 {
		t.Errorf("only %d sessions and %d pongs: the soak did not run", st.sessions.Load(), st.pongs.Load())
	}
	for k := range numBad {
		// A slowloris session lasts the idle timeout and more: a run of
		// a few seconds may see none end.
		if st.bad[k].Load() == 0 && *soakDuration >= 15*time.Second {
			t.Errorf("no %s session completed", badNames[k])
		}
	}
	// Flat: goroutines back where they were, with a little room for the
	// HTTP servers' connections closing; the heap may hold what the
	// mempool gained (transactions and propagation records) and a margin.
	if end.goroutines > base.goroutines+soakGoroutineSlack {
		t.Errorf("goroutines: %d at the end, %d at the baseline: a leak", end.goroutines, base.goroutines)
	}
	allowed := base.heapLive + 16<<20 + uint64(*soakTxs)*2048 + uint64(events)*200
	if end.heapLive > allowed {
		t.Errorf("heap after GC %s at the end, more than the %s allowed (baseline %s, mempool growth, 16 MB)",
			memwatch.MB(end.heapLive), memwatch.MB(allowed), memwatch.MB(base.heapLive))
	}
}

// hold connects every good peer at once, waits until each has heard of
// every transaction, and measures peerd with them all connected: what a
// connected peer costs with this mempool.
func (s *soak) hold() measure {
	t := s.t
	release := make(chan struct{})
	ready := make(chan error, *soakPeers)
	var wg sync.WaitGroup
	for i := range *soakPeers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.heldPeer(goodAddr(i), i%2 == 0, ready, release)
		}()
	}
	deadline := time.After(60 * time.Second)
	for range *soakPeers {
		select {
		case err := <-ready:
			if err != nil {
				s.stats.fail("held peer: %v", err)
			}
		case <-deadline:
			t.Fatal("the held peers did not all hear every transaction in 60 s")
		}
	}
	var m measure
	var err error
	if m.goroutines, err = s.goroutines(); err != nil {
		t.Fatal(err)
	}
	if m.heapLive, m.inUse, err = s.heap(); err != nil {
		t.Fatal(err)
	}
	if m.rss, _, err = memwatch.RSS(s.p.cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d peers held: %d goroutines, heap after GC %s, RSS %s", *soakPeers, m.goroutines, memwatch.MB(m.heapLive), memwatch.MB(m.rss))
	close(release)
	wg.Wait()
	waitUntil(t, "peerd to have no peer", 30*time.Second, func() bool {
		out, err := s.p.ctl("getconnectioncount")
		return err == nil && out == "0"
	})
	return m
}

// heldPeer connects, waits to hear of every transaction accepted so far
// (answering pings), sends nil or its failure on ready, and then holds the
// connection, still answering pings, until release.
func (s *soak) heldPeer(src string, wtxid bool, ready chan<- error, release <-chan struct{}) {
	c, err := soakDial(src, s.p.p2p)
	if err != nil {
		ready <- err
		return
	}
	defer c.close()
	if err := c.handshake(wtxid); err != nil {
		ready <- err
		return
	}
	msgs, errc := c.readAll()
	want := s.txs.snapshot(wtxid)
	heard := map[chainhash.Hash]bool{}
	defer s.txs.announced(heard)
	waiting := true
	for {
		if waiting && len(heard) >= len(want) {
			missing := 0
			for _, h := range want {
				if !heard[h] {
					missing++
				}
			}
			if missing > 0 {
				ready <- fmt.Errorf("%s: %d transactions announced, %d of ours not among them", src, len(heard), missing)
				return
			}
			ready <- nil
			waiting = false
		}
		select {
		case m := <-msgs:
			switch m := m.(type) {
			case *wire.MsgPing:
				c.send(wire.NewMsgPong(m.Nonce))
			case *wire.MsgInv:
				for _, iv := range m.InvList {
					heard[iv.Hash] = true
				}
			}
		case err := <-errc:
			if waiting {
				ready <- err
			} else {
				s.stats.fail("held peer %s: %v", src, err)
			}
			return
		case <-release:
			return
		}
	}
}

// soakGoroutineSlack is the goroutines the end may have over the baseline:
// HTTP connections of the RPC and profile servers winding down.
const soakGoroutineSlack = 4

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// checkPerIPLimit: with --maxinboundperip=2, a third connection from one
// address is refused at accept while two are held.
func (s *soak) checkPerIPLimit() {
	t := s.t
	for range soakPerIP {
		c, err := soakDial("127.65.0.1", s.p.p2p)
		if err == nil {
			err = c.handshake(true)
		}
		if err != nil {
			t.Fatalf("per-address limit: connection within the limit: %v", err)
		}
		defer c.close() // held until the check ends
	}
	c, err := soakDial("127.65.0.1", s.p.p2p)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if err := c.expectClosed(10 * time.Second); err != nil {
		t.Fatalf("--maxinboundperip=%d: connection %d from one address: %v, want it refused", soakPerIP, soakPerIP+1, err)
	}
	// Another address of the same /24 is not counted against it.
	other, err := soakDial("127.65.0.2", s.p.p2p)
	if err == nil {
		defer other.close()
		err = other.handshake(true)
	}
	if err != nil {
		t.Fatalf("per-address limit: another address: %v", err)
	}
}

// phase runs every worker for d while txs are injected evenly over the
// first 90% of it, then stops them and waits until peerd has no peer.
func (s *soak) phase(name string, d time.Duration, txs []*wire.MsgTx) time.Duration {
	t := s.t
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range *soakPeers {
		wg.Add(1)
		go func() { defer wg.Done(); s.goodWorker(i, stop) }()
	}
	for k := range numBad {
		for j := range badWorkers[k] {
			wg.Add(1)
			go func() { defer wg.Done(); s.badWorker(k, j, stop) }()
		}
	}
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		tick := time.NewTicker(max(d/10, time.Second))
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				s.progress(name)
			case <-stop:
				return
			}
		}
	}()
	start := time.Now()
	every := d * 9 / 10 / time.Duration(len(txs))
	// Up to 8 calls at once, so that the schedule holds even when one
	// call (an fsync) takes longer than the interval.
	sem := make(chan struct{}, 8)
	var calls sync.WaitGroup
	for i, tx := range txs {
		time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
		sem <- struct{}{}
		calls.Add(1)
		go func() {
			defer calls.Done()
			defer func() { <-sem }()
			if _, err := s.p.rawCall("sendrawtransaction", txgen.Hex(tx)); err != nil {
				s.stats.fail("sendrawtransaction %d: %v", i, err)
				return
			}
			s.txs.add(tx)
		}()
	}
	calls.Wait()
	time.Sleep(time.Until(start.Add(d))) // the phase's length, not a wait for a condition
	close(stop)
	took := time.Since(start)
	wg.Wait()
	<-logged
	waitUntil(t, "peerd to have no peer", 30*time.Second, func() bool {
		out, err := s.p.ctl("getconnectioncount")
		return err == nil && out == "0"
	})
	return took
}

// progress logs one line of the run's timeline.
func (s *soak) progress(phase string) {
	conns, _ := s.p.ctl("getconnectioncount")
	g, _ := s.goroutines()
	rss, _, _ := memwatch.RSS(s.p.cmd.Process.Pid)
	out, _ := s.pprof("/debug/pprof/heap?debug=1")
	s.t.Logf("%s: %s peers, %d goroutines, RSS %s, heap %s of %s (next GC at %s), %d sessions, %d transactions",
		phase, conns, g, memwatch.MB(rss), memwatch.MB(memStat(out, "HeapAlloc")), memwatch.MB(memStat(out, "HeapSys")),
		memwatch.MB(memStat(out, "NextGC")), s.stats.sessions.Load(), len(s.txs.snapshot(true)))
}

// measure is peerd's state at a quiet moment.
type measure struct {
	goroutines      int
	heapLive, inUse uint64 // after a forced GC: HeapAlloc; HeapInuse+StackInuse
	rss             uint64
}

// quiet measures peerd with no peer connected: goroutines (once they have
// settled), the heap after a collection, the resident set.
func (s *soak) quiet(what string) measure {
	t := s.t
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	var m measure
	var err error
	// Goroutines of closed connections may take a moment to return.
	prev := -1
	waitUntil(t, "peerd's goroutines to settle", 15*time.Second, func() bool {
		m.goroutines, err = s.goroutines()
		if err != nil {
			t.Fatal(err)
		}
		settled := m.goroutines == prev
		prev = m.goroutines
		if !settled {
			time.Sleep(200 * time.Millisecond)
		}
		return settled
	})
	if m.heapLive, m.inUse, err = s.heap(); err != nil {
		t.Fatal(err)
	}
	if m.rss, _, err = memwatch.RSS(s.p.cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d goroutines, heap after GC %s, RSS %s", what, m.goroutines, memwatch.MB(m.heapLive), memwatch.MB(m.rss))
	return m
}

func (s *soak) pprof(path string) (string, error) {
	req, _ := http.NewRequest("GET", "http://"+s.profile+path, nil)
	req.Close = true // leave no idle connection (and goroutine) behind in peerd
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

var goroutineTotal = regexp.MustCompile(`goroutine profile: total (\d+)`)

// goroutines is peerd's goroutine count, from its profile endpoint.
func (s *soak) goroutines() (int, error) {
	out, err := s.pprof("/debug/pprof/goroutine?debug=1")
	if err != nil {
		return 0, err
	}
	m := goroutineTotal.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("goroutine profile: no total in %.200q", out)
	}
	return strconv.Atoi(m[1])
}

// heap is peerd's live heap right after a collection (HeapAlloc), and its
// heap and stack spans in use, from the heap profile's MemStats.
func (s *soak) heap() (live, inUse uint64, err error) {
	out, err := s.pprof("/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return 0, 0, err
	}
	live = memStat(out, "HeapAlloc")
	inUse = memStat(out, "HeapInuse") + memStat(out, "Stack")
	if live == 0 || inUse == 0 {
		return 0, 0, fmt.Errorf("heap profile without MemStats: %.200q", out)
	}
	return live, inUse, nil
}

// memStat is a runtime.MemStats field from a heap profile in text form:
// "# HeapAlloc = 1234", or the first number of "# Stack = inuse / sys";
// 0 when absent.
func memStat(profile, name string) uint64 {
	m := regexp.MustCompile(`# ` + name + ` = (\d+)`).FindStringSubmatch(profile)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseUint(m[1], 10, 64)
	return v
}

// recordedEvents estimates the propagation records peerd keeps: for each
// transaction, the sessions that heard of it (a few more were sent an inv
// they did not read before leaving), capped as the mempool caps them.
func (s *soak) recordedEvents() int64 {
	var n int64
	for i := range s.txs.heard {
		n += min(s.txs.heard[i].Load(), mempool.MaxPeerEvents)
	}
	return n
}

// goodAddr is good worker i's address: eight per /24, the most unfinished
// handshakes peerd takes from one /24.
func goodAddr(i int) string { return fmt.Sprintf("127.10.%d.%d", i/8, i%8+1) }

// goodWorker runs sessions until stop: connect, complete the handshake
// (every other worker without wtxidrelay, so it hears by txid), stay 1 to
// 5 s pinging every 300 to 700 ms and fetching one announced transaction,
// then, before leaving, wait to have heard of every transaction accepted
// so far (each good peer is announced the whole mempool on connecting and
// each new transaction while connected).
func (s *soak) goodWorker(i int, stop <-chan struct{}) {
	wtxid := i%2 == 0
	for {
		select {
		case <-stop:
			return
		default:
		}
		s.goodSession(goodAddr(i), wtxid, stop)
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(rand.IntN(500)) * time.Millisecond):
		}
	}
}

func (s *soak) goodSession(src string, wtxid bool, stop <-chan struct{}) {
	st := &s.stats
	c, err := soakDial(src, s.p.p2p)
	if err != nil {
		st.fail("good peer %s: dial: %v", src, err)
		return
	}
	defer c.close()
	if err := c.handshake(wtxid); err != nil {
		st.fail("good peer %s: handshake: %v", src, err)
		return
	}
	msgs, errc := c.readAll()
	heard := map[chainhash.Hash]bool{}
	defer s.txs.announced(heard)
	var fetch *chainhash.Hash
	var nonce uint64
	var pingSent time.Time
	failed := false
	fail := func(format string, args ...any) {
		if !failed {
			st.fail("good peer %s: "+format, append([]any{src}, args...)...)
		}
		failed = true
	}
	handle := func(m wire.Message) {
		switch m := m.(type) {
		case *wire.MsgPing:
			if err := c.send(wire.NewMsgPong(m.Nonce)); err != nil {
				fail("pong: %v", err)
			}
		case *wire.MsgPong:
			if m.Nonce != nonce {
				fail("pong %d, want %d", m.Nonce, nonce)
			}
			nonce = 0
			st.pongs.Add(1)
		case *wire.MsgInv:
			for _, iv := range m.InvList {
				if heard[iv.Hash] {
					fail("announced %v twice", iv.Hash)
				}
				heard[iv.Hash] = true
				if fetch == nil {
					h := iv.Hash
					fetch = &h
					gd := wire.NewMsgGetData()
					gd.AddInvVect(wire.NewInvVect(iv.Type, &h))
					if err := c.send(gd); err != nil {
						fail("getdata: %v", err)
					}
				}
			}
		case *wire.MsgTx:
			got := m.TxHash()
			if wtxid {
				got = m.WitnessHash()
			}
			if fetch == nil || got != *fetch {
				fail("served %v, asked for %v", got, fetch)
			}
			st.fetched.Add(1)
		}
	}
	ping := time.NewTimer(0)
	defer ping.Stop()
	stay := time.After(time.Second + time.Duration(rand.IntN(4000))*time.Millisecond)
	for leave := false; !leave && !failed; {
		select {
		case m := <-msgs:
			handle(m)
		case err := <-errc:
			fail("connection lost: %v", err)
		case <-ping.C:
			if nonce == 0 {
				nonce = rand.Uint64() | 1
				pingSent = time.Now()
				if err := c.send(wire.NewMsgPing(nonce)); err != nil {
					fail("ping: %v", err)
				}
			} else if time.Since(pingSent) > 20*time.Second {
				fail("no pong in 20 s")
			}
			ping.Reset(300*time.Millisecond + time.Duration(rand.IntN(400))*time.Millisecond)
		case <-stay:
			leave = true
		case <-stop:
			return // the run is over: this session is not checked
		}
	}
	if failed {
		return
	}
	// Before leaving: every transaction accepted so far must have been
	// announced, and the last ping answered.
	want := s.txs.snapshot(wtxid)
	deadline := time.After(20 * time.Second)
	for !failed {
		missing := 0
		for _, h := range want {
			if !heard[h] {
				missing++
			}
		}
		if missing == 0 && nonce == 0 {
			break
		}
		select {
		case m := <-msgs:
			handle(m)
		case err := <-errc:
			fail("connection lost: %v", err)
		case <-deadline:
			fail("%d of %d transactions not announced after 20 s (pong outstanding: %v)", missing, len(want), nonce != 0)
		case <-stop:
			return
		}
	}
	if failed {
		return
	}
	st.invs.Add(int64(len(heard)))
	st.sessions.Add(1)
}

// Bad peers.
const (
	badJunk = iota
	badMagic
	badOversized
	badSlowVersion
	badSlowVerack
	numBad
)

var (
	badNames   = [numBad]string{"junk", "bad magic", "oversized header", "slowloris before version", "slowloris after verack"}
	badWorkers = [numBad]int{2, 2, 2, 4, 4}
)

func (s *soak) badWorker(kind, j int, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		src := fmt.Sprintf("127.%d.0.%d", 60+kind, j+1)
		if kind == badOversized {
			// A misbehaving address is discouraged; each session
			// comes from a fresh one.
			n := s.oversz.Add(1)
			src = fmt.Sprintf("127.70.%d.%d", n/250, n%250+1)
		}
		err := s.badSession(kind, src, stop)
		select {
		case <-stop:
			return // a session cut short by the end of the run proves nothing
		default:
		}
		if err != nil {
			s.stats.fail("%s peer %s: %v", badNames[kind], src, err)
		} else {
			s.stats.bad[kind].Add(1)
		}
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(200+rand.IntN(800)) * time.Millisecond):
		}
	}
}

// badSession plays one bad peer and checks peerd's reaction.
func (s *soak) badSession(kind int, src string, stop <-chan struct{}) error {
	c, err := soakDial(src, s.p.p2p)
	if err != nil {
		return err
	}
	defer c.close()
	go func() {
		select {
		case <-stop:
			c.conn.Close()
		case <-c.done:
		}
	}()
	net := wire.TestNet
	if kind == badSlowVersion {
		v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 1, 0)
		b, _ := encodeMsg(v)
		return c.slowloris(b, soakPeerTimeout)
	}
	if err := c.handshake(true); err != nil {
		return fmt.Errorf("handshake: %v", err)
	}
	switch kind {
	case badJunk:
		junk := rawFrame(net, "badmsg", bytes.Repeat([]byte{0xab}, wireio.MaxPayload))
		for range 5 {
			if _, err := c.conn.Write(junk); err != nil {
				return err
			}
		}
		return c.pingPong(0x7a11)
	case badMagic:
		c.conn.Write(rawFrame(wire.MainNet, "ping", make([]byte, 8)))
		return c.expectClosed(10 * time.Second)
	case badOversized:
		c.conn.Write(rawHeader(net, "tx", wireio.MaxPayload+1))
		return c.expectClosed(10 * time.Second)
	case badSlowVerack:
		return c.slowloris(rawHeader(net, "tx", 3_999_999), soakIdleTimeout)
	}
	return nil
}

// soakConn is a raw wire connection for the soak's peers.
type soakConn struct {
	conn net.Conn
	r    *wireio.Reader
	w    *wireio.Writer
	wmu  sync.Mutex
	done chan struct{}
	once sync.Once
}

func soakDial(src, addr string) (*soakConn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &soakConn{conn: conn, r: wireio.NewReader(conn, wire.TestNet), w: wireio.NewWriter(conn, wire.TestNet),
		done: make(chan struct{})}, nil
}

func (c *soakConn) close() {
	c.once.Do(func() { close(c.done); c.conn.Close() })
}

func (c *soakConn) send(m wire.Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(20 * time.Second))
	return c.w.Write(m)
}

// handshake sends version (with wtxidrelay when asked), sendaddrv2 and
// verack, and reads until peerd's verack.
func (c *soakConn) handshake(wtxid bool) error {
	v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, rand.Uint64(), 0)
	v.Services = wire.SFNodeWitness
	v.UserAgent = "/soak:1.0/"
	msgs := []wire.Message{v}
	if wtxid {
		msgs = append(msgs, wire.NewMsgWTxIdRelay())
	}
	for _, m := range append(msgs, wire.NewMsgSendAddrV2(), wire.NewMsgVerAck()) {
		if err := c.send(m); err != nil {
			return err
		}
	}
	c.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	defer c.conn.SetReadDeadline(time.Time{})
	for {
		m, err := c.r.Next()
		if err != nil {
			return err
		}
		if _, ok := m.(*wire.MsgVerAck); ok {
			return nil
		}
	}
}

// readAll hands every message to the returned channel until the
// connection fails (the error goes to the second channel) or is closed.
func (c *soakConn) readAll() (<-chan wire.Message, <-chan error) {
	msgs, errc := make(chan wire.Message, 16), make(chan error, 1)
	go func() {
		for {
			m, err := c.r.Next()
			var soft *wireio.SoftError
			if errors.As(err, &soft) {
				err = fmt.Errorf("malformed message from peerd: %v", err)
			}
			if err != nil {
				select {
				case <-c.done:
				default:
					errc <- err
				}
				return
			}
			select {
			case msgs <- m:
			case <-c.done:
				return
			}
		}
	}()
	return msgs, errc
}

// pingPong pings and reads until the pong, answering pings.
func (c *soakConn) pingPong(nonce uint64) error {
	if err := c.send(wire.NewMsgPing(nonce)); err != nil {
		return err
	}
	c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		m, err := c.r.Next()
		if err != nil {
			return fmt.Errorf("waiting for pong: %v", err)
		}
		switch m := m.(type) {
		case *wire.MsgPong:
			if m.Nonce != nonce {
				return fmt.Errorf("pong %d, want %d", m.Nonce, nonce)
			}
			return nil
		case *wire.MsgPing:
			c.send(wire.NewMsgPong(m.Nonce))
		}
	}
}

// expectClosed reads (and drops) until peerd closes the connection.
func (c *soakConn) expectClosed(d time.Duration) error {
	c.conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c.conn)
	if err == nil || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "connection reset") {
		return nil
	}
	return fmt.Errorf("not closed: %v", err)
}

// slowloris writes b one byte a second and expects peerd to close the
// connection, at the timeout, before b is all out.
func (c *soakConn) slowloris(b []byte, timeout time.Duration) error {
	closed := make(chan error, 1)
	go func() { closed <- c.expectClosed(timeout + 15*time.Second) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := range b {
		if _, err := c.conn.Write(b[i : i+1]); err != nil {
			break // closed under the write
		}
		select {
		case err := <-closed:
			return err
		case <-tick.C:
		}
	}
	if err := <-closed; err != nil {
		return err
	}
	return errors.New("the whole message went out before peerd closed the connection")
}

func encodeMsg(m wire.Message) ([]byte, error) {
	var b bytes.Buffer
	err := wireio.NewWriter(&b, wire.TestNet).Write(m)
	return b.Bytes(), err
}

// rawFrame is a message with any command and payload, checksum correct.
func rawFrame(magic wire.BitcoinNet, cmd string, payload []byte) []byte {
	b := rawHeader(magic, cmd, uint32(len(payload)))
	sum := sha256.Sum256(payload)
	sum = sha256.Sum256(sum[:])
	copy(b[20:24], sum[:4])
	return append(b, payload...)
}

// rawHeader is a header alone, announcing length bytes.
func rawHeader(magic wire.BitcoinNet, cmd string, length uint32) []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint32(b[0:4], uint32(magic))
	copy(b[4:16], cmd)
	binary.LittleEndian.PutUint32(b[16:20], length)
	return b
}
