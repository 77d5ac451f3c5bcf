package mempool

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
)

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	p := open(t, dir, clk, Config{})
	for i := range uint64(20) {
		tx := testTx(i)
		if i%3 == 0 {
			tx = witnessTx(i, []byte{byte(i)}, make([]byte, 33))
		}
		mustAdd(t, p, tx)
		clk.Advance(time.Second)
	}
	for _, i := range []uint64{0, 4, 19} {
		e := p.Entries()[0]
		for _, x := range p.Entries() {
			if x.Tx.TxIn[0].PreviousOutPoint == outpoint(i) {
				e = x
			}
		}
		if ok, err := p.Remove(e.TxID); !ok || err != nil {
			t.Fatalf("Remove: %v %v", ok, err)
		}
	}
	want := p.Entries()
	lastSeq := want[len(want)-1].Seq
	mustClose(t, p)

	p = open(t, dir, clk, Config{})
	defer mustClose(t, p)
	sameEntries(t, p.Entries(), want)
	st := p.LoadStats()
	if st.Loaded != 17 || st.Damaged() || st.Expired != 0 || st.Compacted {
		t.Fatalf("LoadStats %+v", st)
	}
	for _, e := range want {
		if got, ok := p.Get(e.TxID); !ok || got.Seq != e.Seq {
			t.Fatalf("Get %v after reopen", e.TxID)
		}
		if got, ok := p.GetByWTxID(e.WTxID); !ok || got.Seq != e.Seq {
			t.Fatalf("GetByWTxID %v after reopen", e.WTxID)
		}
	}
	// Loaded entries count as new, and new ones come after them.
	sameEntries(t, p.Since(0), want)
	select {
	case <-p.Notify():
	default:
		t.Fatal("no wake-up for the loaded entries")
	}
	// The last Seq given out (to the removed testTx(19)) is not reused.
	if e := mustAdd(t, p, testTx(100)); e.Seq != lastSeq+2 {
		t.Fatalf("new Seq %d, last live before restart %d", e.Seq, lastSeq)
	}
}

func TestExpire(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	p := open(t, dir, clk, Config{Expiry: time.Hour})
	old1 := mustAdd(t, p, testTx(1))
	old2 := mustAdd(t, p, testTx(2))
	clk.Advance(30 * time.Minute)
	young := mustAdd(t, p, testTx(3))

	clk.Advance(30 * time.Minute) // old ones exactly one hour old: not yet
	if gone, err := p.Expire(); len(gone) != 0 || err != nil {
		t.Fatalf("Expire at exactly Expiry: %d, %v", len(gone), err)
	}
	clk.Advance(time.Nanosecond)
	gone, err := p.Expire()
	if err != nil || len(gone) != 2 || gone[0] != old1 || gone[1] != old2 {
		t.Fatalf("Expire: %v %v", gone, err)
	}
	if _, ok := p.Get(old1.TxID); ok {
		t.Fatal("expired entry still there")
	}
	sameEntries(t, p.Entries(), []*Entry{young})
	mustClose(t, p)

	// The removal was persisted.
	p = open(t, dir, clk, Config{Expiry: time.Hour})
	sameEntries(t, p.Entries(), []*Entry{young})
	if st := p.LoadStats(); st.Expired != 0 {
		t.Fatalf("LoadStats %+v", st)
	}
	mustClose(t, p)

	// Expiry while closed: dropped at Open, and that is persisted too.
	clk.Advance(time.Hour)
	p = open(t, dir, clk, Config{Expiry: time.Hour})
	if st := p.LoadStats(); st.Expired != 1 || st.Loaded != 0 {
		t.Fatalf("LoadStats %+v", st)
	}
	mustClose(t, p)
	p = open(t, dir, clk, Config{Expiry: 100 * time.Hour})
	defer mustClose(t, p)
	if st := p.LoadStats(); st.Expired != 0 || st.Loaded != 0 {
		t.Fatalf("expired entry came back: %+v", st)
	}
}

func TestOpenLowerLimits(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	p := open(t, dir, clk, Config{})
	var want []*Entry
	for i := range uint64(5) {
		want = append(want, mustAdd(t, p, testTx(i)))
	}
	mustClose(t, p)
	p = open(t, dir, clk, Config{MaxCount: 3})
	if st := p.LoadStats(); st.OverLimit != 2 || st.Loaded != 3 {
		t.Fatalf("LoadStats %+v", st)
	}
	sameEntries(t, p.Entries(), want[:3]) // the oldest stay
	mustClose(t, p)
	p = open(t, dir, clk, Config{})
	defer mustClose(t, p)
	sameEntries(t, p.Entries(), want[:3])
}

func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	p := open(t, dir, clk, Config{})
	var live []*Entry
	for i := range uint64(100) {
		e := mustAdd(t, p, testTx(i))
		if i%4 == 0 {
			live = append(live, e)
		}
	}
	before := len(readLogFile(t, dir))
	for _, e := range p.Entries() {
		if !slices.Contains(live, e) {
			if _, err := p.Remove(e.TxID); err != nil {
				t.Fatal(err)
			}
		}
	}
	// 75 removals: 150 dead records against 25 live entries.
	data := readLogFile(t, dir)
	if b := recordBounds(t, data); len(b)-1 >= 100 || len(data) >= before {
		t.Fatalf("log not compacted: %d records, %d bytes (was %d)", len(b)-1, len(data), before)
	}
	sameEntries(t, p.Entries(), live)
	if _, err := os.Stat(filepath.Join(dir, tmpName)); !os.IsNotExist(err) {
		t.Fatalf("temporary file left: %v", err)
	}
	more := mustAdd(t, p, testTx(1000))
	mustClose(t, p)
	p = open(t, dir, clk, Config{})
	defer mustClose(t, p)
	sameEntries(t, p.Entries(), append(live, more))
	if st := p.LoadStats(); st.Damaged() || st.Compacted {
		t.Fatalf("LoadStats %+v", st)
	}
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	p := open(t, dir, clk, Config{})
	e := mustAdd(t, p, testTx(1))
	if _, err := Open(Config{Dir: dir}); !errors.Is(err, ErrLocked) {
		t.Fatalf("a second Open of the same directory: %v, want ErrLocked", err)
	}
	mustClose(t, p)
	mustClose(t, p) // twice is fine
	if _, err := p.Add(testTx(2)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close: %v", err)
	}
	if _, err := p.Remove(e.TxID); !errors.Is(err, ErrClosed) {
		t.Fatalf("Remove after Close: %v", err)
	}
	if _, err := p.Expire(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Expire after Close: %v", err)
	}
	if _, ok := p.Get(e.TxID); !ok {
		t.Fatal("lookups stop after Close")
	}
}

// TestSinceNotifyLossless runs many concurrent Adds against one slow
// consumer: it must see every entry exactly once, in Seq order, and no Add
// may wait for it; whether it reads durable entries (Since) or accepted
// ones (Accepted, the relay's).
func TestSinceNotifyLossless(t *testing.T) {
	for _, read := range []struct {
		name string
		f    func(*Pool, uint64) []*Entry
	}{{"Since", (*Pool).Since}, {"Accepted", (*Pool).Accepted}} {
		t.Run(read.name, func(t *testing.T) { testNotifyLossless(t, read.f) })
	}
}

func testNotifyLossless(t *testing.T, read func(*Pool, uint64) []*Entry) {
	p := open(t, t.TempDir(), newClock(), Config{})
	defer mustClose(t, p)
	const writers, each = 8, 40
	const total = writers * each

	seen := make(map[chainhash.Hash]int)
	done := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(done)
		var last uint64
		for {
			// Wake-ups coalesce, so after the writers are done one
			// more read, begun after stop was seen, is what makes
			// sure the last entries are seen.
			stopped := false
			select {
			case <-p.Notify():
			case <-stop:
				stopped = true
			}
			for _, e := range read(p, last) {
				if e.Seq <= last {
					t.Errorf("Seq %d after %d", e.Seq, last)
				}
				last = e.Seq
				seen[e.TxID]++
				for range 1000 { // slow consumer
					_ = e.Raw[0]
				}
			}
			if stopped {
				return
			}
		}
	}()

	var wg sync.WaitGroup
	added := make(chan *Entry, total)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e, err := p.Add(testTx(uint64(w*each + i)))
				if err != nil {
					t.Error(err)
					return
				}
				added <- e
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-done
	close(added)
	for e := range added {
		if seen[e.TxID] != 1 {
			t.Fatalf("entry %d seen %d times", e.Seq, seen[e.TxID])
		}
	}
	if len(seen) != total {
		t.Fatalf("consumer saw %d entries, want %d", len(seen), total)
	}
	// Since itself: in order, and strictly after its argument.
	all := p.Since(0)
	if !slices.IsSortedFunc(all, func(a, b *Entry) int { return int(a.Seq) - int(b.Seq) }) {
		t.Fatal("Since(0) not sorted")
	}
	mid := all[total/2].Seq
	if got := p.Since(mid); len(got) != total-total/2-1 || got[0].Seq <= mid {
		t.Fatalf("Since(%d): %d entries", mid, len(got))
	}
	if got := p.Since(all[total-1].Seq); got != nil {
		t.Fatalf("Since(last): %d entries", len(got))
	}
}

// An entry is in Accepted, and its propagation can be recorded, as soon as
// it is in the batch being written: before the fsync and before Add
// returns. Since, Get and Entries show it only once it is durable.
func TestAcceptedBeforeDurable(t *testing.T) {
	p := open(t, t.TempDir(), newClock(), Config{})
	defer mustClose(t, p)
	syncing, release := make(chan struct{}), make(chan struct{})
	p.setBeforeSync(func() {
		syncing <- struct{}{}
		<-release
	})
	tx := testTx(1)
	added := make(chan error, 1)
	go func() {
		_, err := p.Add(tx)
		added <- err
	}()
	<-syncing // the write is done, the fsync not
	<-p.Notify()
	got := p.Accepted(0)
	if len(got) != 1 || got[0].TxID != tx.TxHash() {
		t.Fatalf("Accepted(0) during the fsync: %d entries", len(got))
	}
	if len(p.Since(0)) != 0 || len(p.Entries()) != 0 {
		t.Fatal("an entry being written is visible as durable")
	}
	if _, ok := p.Get(tx.TxHash()); ok {
		t.Fatal("Get finds an entry being written")
	}
	peer := PeerRef{ID: 7, Addr: "127.0.0.1:1"}
	if !p.RecordInv(tx.TxHash(), peer, time.Unix(100, 0)) {
		t.Fatal("RecordInv refused an entry being written")
	}
	select {
	case err := <-added:
		t.Fatalf("Add returned before the fsync: %v", err)
	default:
	}
	close(release)
	if err := <-added; err != nil {
		t.Fatal(err)
	}
	if len(p.Since(0)) != 1 {
		t.Fatal("not durable after Add returned")
	}
	prop, ok := p.Propagation(tx.TxHash())
	if !ok || len(prop.InvSent) != 1 || prop.InvSent[0].Peer != peer {
		t.Fatalf("the inv recorded while writing was lost: %+v", prop)
	}
	if got := p.Accepted(got[0].Seq); got != nil {
		t.Fatalf("Accepted(last): %d entries", len(got))
	}
}

func TestPropagation(t *testing.T) {
	p := open(t, t.TempDir(), newClock(), Config{})
	defer mustClose(t, p)
	e1 := mustAdd(t, p, testTx(1))
	e2 := mustAdd(t, p, testTx(2))
	t0 := time.Unix(1_700_000_000, 0)
	a := PeerRef{ID: 1, Addr: "10.0.0.1:8333"}
	b := PeerRef{ID: 2, Addr: "10.0.0.2:8333"}
	c := PeerRef{ID: 3, Addr: "10.0.0.3:8333"}

	steps := []struct {
		name string
		do   func() bool
		want bool
	}{
		{"inv to b", func() bool { return p.RecordInv(e1.TxID, b, t0.Add(2*time.Second)) }, true},
		{"inv to a, earlier", func() bool { return p.RecordInv(e1.TxID, a, t0.Add(time.Second)) }, true},
		{"inv to b again", func() bool { return p.RecordInv(e1.TxID, b, t0.Add(5*time.Second)) }, false},
		{"a fetches", func() bool { return p.RecordFetch(e1.TxID, a, t0.Add(3*time.Second)) }, true},
		{"a fetches again", func() bool { return p.RecordFetch(e1.TxID, a, t0.Add(4*time.Second)) }, false},
		{"b announces it back: it had it from us", func() bool { return p.RecordSeen(e1.TxID, b, t0) }, false},
		{"c announces it", func() bool { return p.RecordSeen(e1.TxID, c, t0.Add(6*time.Second)) }, true},
		{"unknown txid", func() bool { return p.RecordInv(chainhash.Hash{1}, a, t0) }, false},
	}
	for _, s := range steps {
		if got := s.do(); got != s.want {
			t.Fatalf("%s: %v, want %v", s.name, got, s.want)
		}
	}
	pr, ok := p.Propagation(e1.TxID)
	if !ok {
		t.Fatal("no propagation for e1")
	}
	want := Propagation{
		InvSent:  []PeerEvent{{a, t0.Add(time.Second)}, {b, t0.Add(2 * time.Second)}},
		Fetched:  []PeerEvent{{a, t0.Add(3 * time.Second)}},
		SeenFrom: []PeerEvent{{c, t0.Add(6 * time.Second)}},
	}
	if !equalEvents(pr.InvSent, want.InvSent) || !equalEvents(pr.Fetched, want.Fetched) || !equalEvents(pr.SeenFrom, want.SeenFrom) {
		t.Fatalf("Propagation %+v, want %+v", pr, want)
	}
	// A record with an earlier time for a known peer keeps the earlier one.
	p.RecordInv(e1.TxID, b, t0)
	if pr, _ := p.Propagation(e1.TxID); pr.InvSent[0].Peer != b || !pr.InvSent[0].At.Equal(t0) {
		t.Fatalf("earlier time not kept: %+v", pr.InvSent)
	}
	// The copy is a copy.
	pr.InvSent[0].Peer.ID = 99
	if pr2, _ := p.Propagation(e1.TxID); pr2.InvSent[0].Peer.ID == 99 {
		t.Fatal("Propagation returned shared slices")
	}
	if _, ok := p.Propagation(chainhash.Hash{1}); ok {
		t.Fatal("Propagation of an unknown txid")
	}

	// Unbroadcast: e1 was fetched, e2 not.
	if got := p.Unbroadcast(); len(got) != 1 || got[0] != e2 {
		t.Fatalf("Unbroadcast: %v", got)
	}
	p.RecordInv(e2.TxID, a, t0)
	if got := p.Unbroadcast(); len(got) != 1 {
		t.Fatal("an inv alone made e2 broadcast")
	}
	p.RecordFetch(e2.TxID, c, t0)
	if got := p.Unbroadcast(); len(got) != 0 {
		t.Fatalf("Unbroadcast after fetches: %d", len(got))
	}

	// Lists are bounded.
	for i := range uint64(MaxPeerEvents + 10) {
		p.RecordSeen(e2.TxID, PeerRef{ID: 1000 + i}, t0)
	}
	if pr, _ := p.Propagation(e2.TxID); len(pr.SeenFrom) != MaxPeerEvents {
		t.Fatalf("SeenFrom holds %d peers, bound %d", len(pr.SeenFrom), MaxPeerEvents)
	}
}

// The records of all entries together stay within Config.MaxRecords; an
// entry that leaves gives its share back, and nothing more is recorded
// for it.
func TestPropagationBudget(t *testing.T) {
	p := open(t, t.TempDir(), newClock(), Config{MaxRecords: 10})
	defer mustClose(t, p)
	e1 := mustAdd(t, p, testTx(1))
	e2 := mustAdd(t, p, testTx(2))
	t0 := time.Unix(100, 0)
	for i := range uint64(8) {
		p.RecordInv(e1.TxID, PeerRef{ID: i}, t0)
	}
	for i := range uint64(8) {
		p.RecordInv(e2.TxID, PeerRef{ID: i}, t0)
	}
	pr1, _ := p.Propagation(e1.TxID)
	pr2, _ := p.Propagation(e2.TxID)
	if len(pr1.InvSent) != 8 || len(pr2.InvSent) != 2 || p.records.Load() != 10 {
		t.Fatalf("records %d + %d (count %d), want 8 + 2 within the budget of 10",
			len(pr1.InvSent), len(pr2.InvSent), p.records.Load())
	}
	if _, err := p.Remove(e1.TxID); err != nil {
		t.Fatal(err)
	}
	if p.records.Load() != 2 {
		t.Fatalf("after removing e1: %d records counted, want 2", p.records.Load())
	}
	if p.RecordInv(e1.TxID, PeerRef{ID: 99}, t0) {
		t.Fatal("recorded an event for a removed entry")
	}
	for i := range uint64(8) {
		p.RecordFetch(e2.TxID, PeerRef{ID: i}, t0)
	}
	if pr2, _ = p.Propagation(e2.TxID); len(pr2.Fetched) != 8 || p.records.Load() != 10 {
		t.Fatalf("after the budget came back: %d fetches, %d records", len(pr2.Fetched), p.records.Load())
	}
}

// With SetInvHint, an entry's inv list is sized once for the peers an inv
// goes to, not grown one doubling at a time while they are recorded.
func TestInvHintSizesTheList(t *testing.T) {
	p := open(t, t.TempDir(), newClock(), Config{})
	defer mustClose(t, p)
	e := mustAdd(t, p, testTx(1))
	p.SetInvHint(300)
	p.RecordInv(e.TxID, PeerRef{ID: 1}, time.Unix(100, 0))
	e.prop.mu.Lock()
	c := cap(e.prop.lists[kindInv])
	e.prop.mu.Unlock()
	if c < 300 {
		t.Fatalf("inv list has room for %d, want the hint's 300", c)
	}
	for i := range uint64(299) {
		p.RecordInv(e.TxID, PeerRef{ID: 2 + i}, time.Unix(100, 0))
	}
	e.prop.mu.Lock()
	c2 := cap(e.prop.lists[kindInv])
	e.prop.mu.Unlock()
	if c2 != c {
		t.Fatalf("the list grew from %d to %d for the hinted number of peers", c, c2)
	}
}

func TestPropagationConcurrent(t *testing.T) {
	p := open(t, t.TempDir(), newClock(), Config{})
	defer mustClose(t, p)
	e := mustAdd(t, p, testTx(1))
	var wg sync.WaitGroup
	for g := range uint64(8) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range uint64(50) {
				peer := PeerRef{ID: g*50 + i}
				p.RecordInv(e.TxID, peer, time.Unix(int64(i), 0))
				p.RecordFetch(e.TxID, peer, time.Unix(int64(i), 0))
				p.Propagation(e.TxID)
				p.Unbroadcast()
			}
		}()
	}
	wg.Wait()
	pr, _ := p.Propagation(e.TxID)
	if len(pr.InvSent) != 400 || len(pr.Fetched) != 400 {
		t.Fatalf("%d invs, %d fetches, want 400", len(pr.InvSent), len(pr.Fetched))
	}
	if !slices.IsSortedFunc(pr.InvSent, func(a, b PeerEvent) int { return a.At.Compare(b.At) }) {
		t.Fatal("InvSent not sorted by time")
	}
}

func equalEvents(a, b []PeerEvent) bool {
	return slices.EqualFunc(a, b, func(x, y PeerEvent) bool { return x.Peer == y.Peer && x.At.Equal(y.At) })
}

// TestRemoveThenAddInOneBatch: a removal and a new Add of the same
// transaction that share a write replay in that order after a restart.
func TestRemoveThenAddInOneBatch(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	p := open(t, dir, clk, Config{})
	first := mustAdd(t, p, testTx(1))

	queued := func(n int) { // wait until n records are queued
		for {
			p.mu.RLock()
			got := len(p.batch.recs)
			p.mu.RUnlock()
			if got >= n {
				return
			}
			runtime.Gosched()
		}
	}
	p.sem <- struct{}{} // hold the writer's seat so that both queue
	removed := make(chan error, 1)
	go func() {
		_, err := p.Remove(first.TxID)
		removed <- err
	}()
	queued(1)
	added := make(chan *Entry, 1)
	go func() {
		e, err := p.Add(testTx(1))
		if err != nil {
			t.Error(err)
		}
		added <- e
	}()
	queued(2)
	<-p.sem
	if err := <-removed; err != nil {
		t.Fatal(err)
	}
	again := <-added
	if again == nil || again.Seq <= first.Seq {
		t.Fatalf("re-added entry %+v", again)
	}
	mustClose(t, p)

	p = open(t, dir, clk, Config{})
	defer mustClose(t, p)
	if st := p.LoadStats(); st.Damaged() {
		t.Fatalf("LoadStats %v", st)
	}
	sameEntries(t, p.Entries(), []*Entry{again})
}
