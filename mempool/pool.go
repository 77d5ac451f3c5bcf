package mempool

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/stats"
)

// Defaults of Config.
const (
	DefaultMaxCount       = 50_000
	DefaultMaxBytes int64 = 300_000_000
	DefaultExpiry         = 14 * 24 * time.Hour // Core's -mempoolexpiry
	// DefaultMaxRecords bounds the propagation records of the whole pool
	// (about 100 bytes each, so about 25 MB).
	DefaultMaxRecords = 250_000
)

// Config configures a Pool. Zero (or negative) fields take their defaults;
// Dir is required.
type Config struct {
	// Dir holds the log; it is created (0700) if missing. One Pool at a
	// time may use it (an exclusive lock on Dir/LOCK, on Unix).
	Dir string
	// MaxCount bounds the number of entries (default 50,000).
	MaxCount int
	// MaxBytes bounds the sum of the entries' serialized sizes, witness
	// included (default 300 MB).
	MaxBytes int64
	// Expiry is how long an entry stays (default 14 days): see Expire.
	Expiry time.Duration
	// MaxRecords bounds the propagation records (peer events) kept for
	// all entries together (default DefaultMaxRecords). Once it is
	// reached, later events are not recorded until entries leave the
	// pool; each list of an entry is also bounded by MaxPeerEvents.
	MaxRecords int
	// Now is the clock (default time.Now). It is called with the pool's
	// lock held and must not call back into the pool.
	Now func() time.Time
}

// Entry is a transaction in the pool. Its fields never change after Add
// returns it; callers must not modify them, nor Tx or Raw. Its propagation
// records are kept by the Pool (RecordInv, Propagation, ...).
type Entry struct {
	Tx     *wire.MsgTx // the pool's own copy
	Raw    []byte      // serialization with witness, as sent in a tx message
	TxID   chainhash.Hash
	WTxID  chainhash.Hash // equals TxID when the transaction has no witness
	Size   int            // len(Raw)
	VSize  int            // ceil(Weight / 4)
	Weight int            // 3 × size without witness + Size
	Added  time.Time      // Config.Now when accepted (wall clock, no monotonic reading)
	Seq    uint64         // acceptance order: increasing, kept across restarts, never 0

	private atomic.Bool // awaiting private broadcast (AddPrivate), until Publish
	prop    propagation
}

// Private reports whether the entry awaits private broadcast: it was added
// with AddPrivate and not yet published. Such an entry must not be
// announced or served to ordinary peers.
func (e *Entry) Private() bool { return e.private.Load() }

// Info is a summary of the pool.
type Info struct {
	Count    int
	Bytes    int64 // sum of Entry.Size
	MaxCount int
	MaxBytes int64
}

// LoadStats says what Open found in the log. Damage is never an error:
// Open keeps every intact record and reports the rest here.
type LoadStats struct {
	Loaded    int // entries in the pool after Open
	Expired   int // dropped: older than Config.Expiry
	OverLimit int // dropped: beyond MaxCount or MaxBytes (the newest go first)
	Skipped   int // intact records refused: undecodable, failing the checks, or duplicates

	TornTail   bool  // the log ended in an incomplete or corrupt record, now cut off
	TornBytes  int64 // its length
	BadRegions int   // corrupt stretches skipped in the middle of the log
	BadBytes   int64 // their total length
	BadHeader  bool  // the file header was unreadable, so nothing in the file could be trusted
	SavedAs    string
	// SavedAs is set when BadRegions, Skipped or BadHeader is: the path of
	// a copy of the damaged file, kept for inspection (replacing any older
	// copy), before the log was rewritten.

	Compacted bool // the log was rewritten at open
}

// Damaged reports whether anything was lost to damage.
func (s LoadStats) Damaged() bool {
	return s.TornTail || s.BadRegions > 0 || s.BadHeader || s.Skipped > 0
}

func (s LoadStats) String() string {
	out := fmt.Sprintf("loaded %d, expired %d, over limit %d, skipped %d",
		s.Loaded, s.Expired, s.OverLimit, s.Skipped)
	if s.TornTail {
		out += fmt.Sprintf(", torn tail of %d bytes cut off", s.TornBytes)
	}
	if s.BadRegions > 0 {
		out += fmt.Sprintf(", %d corrupt regions (%d bytes) skipped", s.BadRegions, s.BadBytes)
	}
	if s.BadHeader {
		out += ", unreadable file header: log discarded"
	}
	if s.SavedAs != "" {
		out += ", damaged file saved as " + s.SavedAs
	}
	if s.Compacted {
		out += ", compacted"
	}
	return out
}

// Pool is the operator-fed mempool. All its methods are safe for
// concurrent use. Its lock is never held across disk I/O or a callback
// (other than Config.Now), so lookups and propagation records never wait
// for a write or an fsync; only Add, Remove, Expire and Close do.
type Pool struct {
	cfg     Config
	notify  chan struct{}
	stats   LoadStats        // set by Open, read-only after
	syncLat *stats.Histogram // the log's fsync latency (commit.go)

	// sem (capacity 1) is held by whoever writes the log: the flush of a
	// batch, a compaction, Close. A channel, not a mutex, so that a waiter
	// can also wait for its batch to be flushed by someone else.
	sem chan struct{}

	// Owned by the holder of sem.
	f    *os.File // nil once closed
	size int64    // where the next record goes
	salt uint64
	lock io.Closer
	wbuf []byte
	// records counts the propagation records of every entry (pool-wide
	// budget: Config.MaxRecords).
	records atomic.Int64
	// invHint is how many peers an inv is likely to go to (SetInvHint).
	invHint atomic.Int64

	mu sync.RWMutex
	// Guarded by mu.
	closed    bool
	failed    error // sticky: a write failed, the log can no longer be trusted
	byTxID    map[chainhash.Hash]*Entry
	byWTxID   map[chainhash.Hash]*Entry
	order     []*Entry // live entries by Seq
	bytes     int64
	pendTx    map[chainhash.Hash]*batch // accepted, not yet durable, by txid
	pendE     map[chainhash.Hash]*Entry // the same entries, by txid
	pendW     map[chainhash.Hash]*batch // the same, by wtxid
	pendBytes int64
	batch     *batch // open batch: receives records until a flush takes it
	nextSeq   uint64 // last Seq given out
	dead      int    // records in the log that describe no live entry
}

// Open opens (or creates) the pool in cfg.Dir and loads it: intact records
// are replayed, expired entries dropped, damage cut off and reported in
// LoadStats (never an error). An error means the directory or the file
// could not be used at all. Loaded entries count as new: Since(0) returns
// them, and Notify holds a wake-up if there are any.
func Open(cfg Config) (*Pool, error) {
	if cfg.Dir == "" {
		return nil, errors.New("mempool: no directory")
	}
	if cfg.MaxCount <= 0 {
		cfg.MaxCount = DefaultMaxCount
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Expiry <= 0 {
		cfg.Expiry = DefaultExpiry
	}
	if cfg.MaxRecords <= 0 {
		cfg.MaxRecords = DefaultMaxRecords
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("mempool: %w", err)
	}
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	p := &Pool{
		syncLat: stats.NewHistogram(SyncBuckets...),
		cfg:     cfg,
		notify:  make(chan struct{}, 1),
		sem:     make(chan struct{}, 1),
		lock:    lock,
		byTxID:  make(map[chainhash.Hash]*Entry),
		byWTxID: make(map[chainhash.Hash]*Entry),
		pendTx:  make(map[chainhash.Hash]*batch),
		pendE:   make(map[chainhash.Hash]*Entry),
		pendW:   make(map[chainhash.Hash]*batch),
		batch:   newBatch(),
	}
	if err := p.load(); err != nil {
		if p.f != nil {
			p.f.Close()
		}
		lock.Close()
		return nil, err
	}
	if len(p.order) > 0 {
		p.notify <- struct{}{}
	}
	return p, nil
}

// load reads the log and leaves it ready for appending. Called by Open only.
func (p *Pool) load() error {
	dir := p.cfg.Dir
	_ = os.Remove(filepath.Join(dir, tmpName)) // a compaction cut short
	path := filepath.Join(dir, logName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("mempool: %w", err)
	}
	p.f = f
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("mempool: %w", err)
	}
	st, err := readLog(f, fi.Size())
	if err != nil {
		return err
	}
	p.stats = st.stats
	p.nextSeq = st.maxSeq

	// Keep what is neither expired nor over the limits, oldest first.
	cutoff := p.cfg.Now().Add(-p.cfg.Expiry)
	var drop []*Entry
	for _, e := range st.live {
		p.nextSeq = max(p.nextSeq, e.Seq)
		switch {
		case e.Added.Before(cutoff):
			p.stats.Expired++
		case len(p.order) >= p.cfg.MaxCount || p.bytes+int64(e.Size) > p.cfg.MaxBytes:
			p.stats.OverLimit++
		default:
			p.insertLocked(e)
			continue
		}
		drop = append(drop, e)
	}
	p.stats.Loaded = len(p.order)

	// Anything but a torn tail leaves a copy of the file for inspection and
	// a rewritten log, so that it is reported once.
	damaged := st.stats.BadHeader || st.stats.BadRegions > 0 || st.stats.Skipped > 0
	if damaged {
		if p.stats.SavedAs, err = saveCopy(f, fi.Size(), dir); err != nil {
			return err
		}
	}
	dead := st.records + len(drop) - len(p.order)
	if st.fresh || damaged || (dead > len(p.order) && dead >= compactMinDead) {
		p.stats.Compacted = !st.fresh
		return p.rewriteLocked()
	}
	p.salt, p.size, p.dead = st.salt, st.end, st.records-len(p.order)
	if st.stats.TornTail {
		if err := f.Truncate(st.end); err != nil {
			return fmt.Errorf("mempool: cut torn tail: %w", err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("mempool: cut torn tail: %w", err)
		}
	}
	if len(drop) > 0 {
		b := newBatch()
		b.remove(drop...)
		if err := p.writeLocked(b); err != nil {
			return err
		}
		p.dead += len(drop) // their adds were counted already
	}
	return nil
}

// Close flushes records still queued, closes the log and releases the
// directory. Later calls do nothing; other methods then return ErrClosed
// (lookups keep working on the last state). Close waits for a write in
// progress.
func (p *Pool) Close() error {
	p.sem <- struct{}{}
	defer func() { <-p.sem }()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.flushLocked()
	err := p.f.Close()
	p.f = nil
	if lerr := p.lock.Close(); err == nil {
		err = lerr
	}
	return err
}

// LoadStats returns what Open found in the log. It never changes after
// Open.
func (p *Pool) LoadStats() LoadStats { return p.stats }

// Add checks tx and, if it is accepted, stores a copy of it durably (the
// record is written and fsynced) before returning its entry. Concurrent
// Adds share writes and fsyncs (group commit). The caller keeps tx.
//
// Errors: a *RejectError for a refusal (see the Reason constants);
// ErrAlreadyHave, together with the existing entry, when the same wtxid is
// in the pool; ErrClosed; or an I/O error, after which the pool refuses all
// writes (it must be reopened; what was acknowledged stays on disk).
func (p *Pool) Add(tx *wire.MsgTx) (*Entry, error) { return p.add(tx, false) }

// AddPrivate is Add for a transaction to be broadcast privately: the entry
// is marked Private, durably (it stays private across restarts), until
// Publish. If the transaction is in the pool already, it returns the
// existing entry and ErrAlreadyHave, whether that entry is private or not.
func (p *Pool) AddPrivate(tx *wire.MsgTx) (*Entry, error) { return p.add(tx, true) }

// Publish makes the private entry txid public, durably, and reports
// whether it was private. The caller then relays it as a new entry
// (Accepted does not list it again: its Seq is old).
func (p *Pool) Publish(txid chainhash.Hash) (bool, error) {
	p.mu.Lock()
	if err := p.usableLocked(); err != nil {
		p.mu.Unlock()
		return false, err
	}
	e := p.byTxID[txid]
	if e == nil || !e.private.Load() {
		p.mu.Unlock()
		return false, nil
	}
	e.private.Store(false)
	b := p.batch
	b.publish(e)
	p.mu.Unlock()
	return true, p.commit(b)
}

func (p *Pool) add(tx *wire.MsgTx, private bool) (*Entry, error) {
	if tx == nil {
		return nil, errors.New("mempool: nil transaction")
	}
	sz, err := checkTx(tx)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(sz.size)
	if err := tx.Serialize(&buf); err != nil {
		return nil, fmt.Errorf("mempool: serialize: %w", err)
	}
	e := newEntry(tx.Copy(), buf.Bytes(), sz)
	e.private.Store(private)
	for {
		p.mu.Lock()
		if err := p.usableLocked(); err != nil {
			p.mu.Unlock()
			return nil, err
		}
		if old := p.byWTxID[e.WTxID]; old != nil {
			p.mu.Unlock()
			return old, ErrAlreadyHave
		}
		if b := p.pendW[e.WTxID]; b != nil {
			// The same transaction is being written: wait, then look again.
			p.mu.Unlock()
			if err := p.commit(b); err != nil {
				return nil, err
			}
			continue
		}
		if p.byTxID[e.TxID] != nil || p.pendTx[e.TxID] != nil {
			p.mu.Unlock()
			return nil, reject(ReasonSameNonWitness, "txid %v", e.TxID)
		}
		if n := len(p.order) + len(p.pendTx); n >= p.cfg.MaxCount {
			p.mu.Unlock()
			return nil, reject(ReasonMempoolFull, "%d transactions, limit %d", n, p.cfg.MaxCount)
		}
		if n := p.bytes + p.pendBytes; n+int64(e.Size) > p.cfg.MaxBytes {
			p.mu.Unlock()
			return nil, reject(ReasonMempoolFull, "%d + %d bytes, limit %d", n, e.Size, p.cfg.MaxBytes)
		}
		p.nextSeq++
		e.Seq = p.nextSeq
		e.Added = time.Unix(0, p.cfg.Now().UnixNano())
		b := p.batch
		b.add(e)
		p.pendTx[e.TxID] = b
		p.pendW[e.WTxID] = b
		p.pendE[e.TxID] = e
		p.pendBytes += int64(e.Size)
		p.mu.Unlock()
		// The relay may announce it while it is being written (see
		// Accepted); Add still returns only once it is durable.
		p.wake()
		if err := p.commit(b); err != nil {
			return nil, err
		}
		return e, nil
	}
}

func (p *Pool) usableLocked() error {
	if p.closed {
		return ErrClosed
	}
	return p.failed
}

// Remove removes the entry with txid at once (lookups stop finding it)
// and returns once the removal is durable; it shares fsyncs with concurrent
// writers. It reports whether there was such an entry. An entry whose Add
// has not returned yet is not in the pool.
func (p *Pool) Remove(txid chainhash.Hash) (bool, error) {
	p.mu.Lock()
	if err := p.usableLocked(); err != nil {
		p.mu.Unlock()
		return false, err
	}
	e := p.byTxID[txid]
	if e == nil {
		p.mu.Unlock()
		return false, nil
	}
	i, _ := slices.BinarySearchFunc(p.order, e.Seq, func(x *Entry, seq uint64) int {
		return cmp.Compare(x.Seq, seq)
	})
	p.order = slices.Delete(p.order, i, i+1)
	p.forgetLocked(e)
	b := p.batch
	b.remove(e)
	p.mu.Unlock()
	return true, p.commit(b)
}

// Expire removes the entries added before Config.Now() - Config.Expiry and
// returns them, in Seq order, once their removal is durable (as Remove).
// The pool has no timer: the caller runs Expire periodically.
func (p *Pool) Expire() ([]*Entry, error) {
	p.mu.Lock()
	if err := p.usableLocked(); err != nil {
		p.mu.Unlock()
		return nil, err
	}
	cutoff := p.cfg.Now().Add(-p.cfg.Expiry)
	var gone []*Entry
	kept := p.order[:0]
	for _, e := range p.order {
		if e.Added.Before(cutoff) {
			gone = append(gone, e)
			p.forgetLocked(e)
		} else {
			kept = append(kept, e)
		}
	}
	clear(p.order[len(kept):])
	p.order = kept
	if len(gone) == 0 {
		p.mu.Unlock()
		return nil, nil
	}
	b := p.batch
	b.remove(gone...)
	p.mu.Unlock()
	return gone, p.commit(b)
}

// insertLocked makes e live; e.Seq is above every live Seq.
func (p *Pool) insertLocked(e *Entry) {
	p.byTxID[e.TxID] = e
	p.byWTxID[e.WTxID] = e
	p.order = append(p.order, e)
	p.bytes += int64(e.Size)
}

// forgetLocked drops e from the maps and the byte count (not from order).
func (p *Pool) forgetLocked(e *Entry) {
	p.records.Add(-int64(e.prop.retire()))
	delete(p.byTxID, e.TxID)
	delete(p.byWTxID, e.WTxID)
	p.bytes -= int64(e.Size)
}

// compactLocked rewrites the log with the live entries only. Entries
// removed meanwhile have their removal records queued in the open batch,
// which goes to the new file. The caller holds sem.
func (p *Pool) compactLocked() {
	if err := p.rewriteLocked(); err != nil {
		p.mu.Lock()
		if p.failed == nil {
			p.failed = err
		}
		p.mu.Unlock()
	}
}

// rewriteLocked replaces the log with one holding the live entries. The
// caller holds sem (or is Open).
func (p *Pool) rewriteLocked() error {
	p.mu.RLock()
	live := slices.Clone(p.order)
	p.mu.RUnlock()
	f, size, salt, err := writeNewLog(p.cfg.Dir, live)
	if f != nil {
		if p.f != nil {
			p.f.Close()
		}
		p.f, p.size, p.salt = f, size, salt
		p.mu.Lock()
		p.dead = 0
		p.mu.Unlock()
	}
	return err
}

// Get returns the entry with txid. Never waits for disk I/O.
func (p *Pool) Get(txid chainhash.Hash) (*Entry, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	e, ok := p.byTxID[txid]
	return e, ok
}

// GetByWTxID returns the entry with wtxid. Never waits for disk I/O.
func (p *Pool) GetByWTxID(wtxid chainhash.Hash) (*Entry, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	e, ok := p.byWTxID[wtxid]
	return e, ok
}

// Entries returns the entries, by Seq, in a new slice. Never waits for
// disk I/O.
func (p *Pool) Entries() []*Entry {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return slices.Clone(p.order)
}

// Since returns the entries with Seq > seq, by Seq, in a new slice.
// Entries become visible only once durable, and always in Seq order, so a
// consumer that calls Since(last seen Seq) after each wake-up from Notify
// sees every entry exactly once (except those removed before it looked).
// Never waits for disk I/O.
func (p *Pool) Since(seq uint64) []*Entry {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.durableAfterLocked(seq)
}

// durableAfterLocked returns a new slice of the durable entries with
// Seq > seq (nil if none). The caller holds mu.
func (p *Pool) durableAfterLocked(seq uint64) []*Entry {
	i := sort.Search(len(p.order), func(i int) bool { return p.order[i].Seq > seq })
	if i == len(p.order) {
		return nil
	}
	return slices.Clone(p.order[i:])
}

// Accepted returns the entries with Seq > seq, by Seq, in a new slice:
// those of Since and, after them, the ones accepted whose write and fsync
// are still under way (an Add that has not returned yet). It is what the
// relay announces from: a peer needs a transaction checked, not durable,
// and announcing while the log is fsynced takes the fsync off the
// propagation time. Nothing is lost by it: an Add whose write fails
// returns an error, so the operator never got an acknowledgement, and
// peers that fetched the transaction meanwhile simply have it. Never waits
// for disk I/O.
func (p *Pool) Accepted(seq uint64) []*Entry {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := p.durableAfterLocked(seq)
	n := len(out)
	for _, e := range p.pendE {
		if e.Seq > seq {
			out = append(out, e)
		}
	}
	// Batches are written in Seq order, so every pending entry comes
	// after every durable one; only the pending ones need sorting.
	sortBySeq(out[n:])
	if len(out) == 0 {
		return nil
	}
	return out
}

func (p *Pool) wake() {
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

// Notify returns the channel (capacity 1) on which the pool posts a
// wake-up when Add has accepted an entry (Accepted returns it from then
// on), again when a batch holding new entries has become durable (Since
// returns them), and once at Open if entries were loaded. A post never
// blocks: a wake-up already pending covers the later entries, so
// wake-ups coalesce. It suits one consumer that, after each receive,
// reads Accepted or Since from the last Seq it saw (the relay reads
// Accepted); two consumers would steal each other's wake-ups. A consumer
// that stops must read once more after it decides to stop, to see what
// was accepted before. The channel is never closed.
func (p *Pool) Notify() <-chan struct{} { return p.notify }

// SyncLatency is the histogram of the log's fsyncs: how long each append's
// fsync took, the wait before a transaction is accepted.
func (p *Pool) SyncLatency() *stats.Histogram { return p.syncLat }

// SyncBuckets are the fsync histogram's upper bounds: 50 µs to about 3.3 s,
// doubling.
var SyncBuckets = stats.ExpBuckets(50*time.Microsecond, 2, 17)

// Info returns the pool's size and limits. Entries being written are not
// counted (they count against the limits). Never waits for disk I/O.
func (p *Pool) Info() Info {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return Info{Count: len(p.order), Bytes: p.bytes, MaxCount: p.cfg.MaxCount, MaxBytes: p.cfg.MaxBytes}
}

// RecordInv notes that we announced txid to peer at at (the first time per
// peer is kept). It reports whether the peer is new to the list; false as
// well for an unknown txid or a full list (MaxPeerEvents). txid must be the
// txid (for a wtxid, look the entry up with GetByWTxID). Never waits for
// disk I/O; concurrent records for one entry are serialized per entry.
func (p *Pool) RecordInv(txid chainhash.Hash, peer PeerRef, at time.Time) bool {
	return p.record(txid, kindInv, peer, at)
}

// RecordFetch notes that peer asked for txid with getdata; see RecordInv.
func (p *Pool) RecordFetch(txid chainhash.Hash, peer PeerRef, at time.Time) bool {
	return p.record(txid, kindFetch, peer, at)
}

// RecordSeen notes that peer announced txid to us (by txid or wtxid: look
// the entry up with GetByWTxID first). A peer we announced it to, or that
// fetched it from us, is not recorded. See RecordInv.
func (p *Pool) RecordSeen(txid chainhash.Hash, peer PeerRef, at time.Time) bool {
	return p.record(txid, kindSeen, peer, at)
}

// PropagationCounts returns when txid was accepted and how many peers its
// lists hold (announced to, fetched by, seen from), without copying them;
// ok is false for an unknown txid.
func (p *Pool) PropagationCounts(txid chainhash.Hash) (added time.Time, inv, fetched, seen int, ok bool) {
	e, ok := p.lookupAny(txid)
	if !ok {
		return time.Time{}, 0, 0, 0, false
	}
	e.prop.mu.Lock()
	inv, fetched, seen = len(e.prop.lists[kindInv]), len(e.prop.lists[kindFetch]), len(e.prop.lists[kindSeen])
	e.prop.mu.Unlock()
	return e.Added, inv, fetched, seen, true
}

// SetInvHint tells the pool how many peers the relay announces to, so
// that an entry's list of announcements is sized once rather than grown
// while the announcements come in.
func (p *Pool) SetInvHint(peers int) { p.invHint.Store(int64(peers)) }

// record notes a propagation event, for a durable entry or one still
// being written (the relay announces those too: see Accepted).
func (p *Pool) record(txid chainhash.Hash, kind int, peer PeerRef, at time.Time) bool {
	e, ok := p.lookupAny(txid)
	hint := 1
	if kind == kindInv {
		hint = int(p.invHint.Load())
	}
	return ok && e.prop.record(kind, peer, at, &p.records, int64(p.cfg.MaxRecords), hint)
}

// RecordAttempt creates or updates the record of private-broadcast attempt
// id of txid: update is called, under the entry's lock, with the record
// (a new one holds only ID). It reports whether the attempt is recorded
// (false for an unknown txid, or past MaxAttemptRecords or the pool's
// record budget). Never waits for disk I/O.
func (p *Pool) RecordAttempt(txid chainhash.Hash, id uint64, update func(*Attempt)) bool {
	e, ok := p.lookupAny(txid)
	return ok && e.prop.recordAttempt(id, update, &p.records, int64(p.cfg.MaxRecords))
}

// RecordConfirmed notes when txid's private broadcast was confirmed (the
// first time is kept).
func (p *Pool) RecordConfirmed(txid chainhash.Hash, at time.Time) {
	e, ok := p.lookupAny(txid)
	if !ok {
		return
	}
	e.prop.mu.Lock()
	if e.prop.confirmed.IsZero() {
		e.prop.confirmed = at
	}
	e.prop.mu.Unlock()
}

// lookupAny finds txid's entry, durable or still being written.
func (p *Pool) lookupAny(txid chainhash.Hash) (*Entry, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	e, ok := p.byTxID[txid]
	if !ok {
		e, ok = p.pendE[txid]
	}
	return e, ok
}

// Propagation returns a copy of txid's propagation records. They are kept
// in memory only and start empty after Open. Never waits for disk I/O.
func (p *Pool) Propagation(txid chainhash.Hash) (Propagation, bool) {
	e, ok := p.Get(txid)
	if !ok {
		return Propagation{}, false
	}
	return e.prop.snapshot(), true
}

// Unbroadcast returns the public entries no peer has fetched yet, by Seq:
// the ones to announce again (Core re-announces them every 10-15 minutes).
// Private entries are left out: they must not be announced. Never waits
// for disk I/O.
func (p *Pool) Unbroadcast() []*Entry {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var out []*Entry
	for _, e := range p.order {
		if !e.prop.fetched.Load() && !e.Private() {
			out = append(out, e)
		}
	}
	return out
}

func sortBySeq(es []*Entry) {
	slices.SortFunc(es, func(a, b *Entry) int { return cmp.Compare(a.Seq, b.Seq) })
}
