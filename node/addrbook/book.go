// Package addrbook is the node's address book as a pure data structure, on
// the rules of Bitcoin Core's addrman: it learns addresses from gossip,
// remembers what happened when we dialled them, picks addresses to dial
// and answers getaddr. It does no I/O, reads no clock and starts no
// goroutine: time arrives as arguments, randomness through Config.Rand,
// and the node persists it with MarshalBinary / UnmarshalBinary.
//
// The rules, as Core has them:
//
//  1. Two tables of buckets of 64 slots: "new" (1,024 buckets) for
//     addresses we heard of, "tried" (256 buckets) for addresses we once
//     completed a handshake with. A slot holds at most one entry, so the
//     book never holds more than 65,536 new and 16,384 tried entries.
//  2. A new entry's bucket is a keyed hash of its network group and the
//     group of the source that told us, through one of 64 values per
//     source group: whatever one source group says lands in at most 64 of
//     the 1,024 new buckets. Its tried bucket is a keyed hash of the
//     address and its group, through one of 8 values per group. The slot
//     in a bucket is a keyed hash of the bucket and the address. The key
//     is Config.Key, a secret, so a peer cannot aim at a slot.
//  3. An address already in new, heard again from a source with a newer
//     time, may take another new bucket (at most 8): with probability
//     1/2^n when it is in n buckets already.
//  4. A slot already taken keeps its entry unless that entry is terrible
//     (IsTerrible) or sits in more than one bucket while the newcomer is
//     in none; an entry that loses its last new slot is forgotten.
//  5. Good moves an entry to tried. When its tried slot is taken, the
//     move waits as a collision (at most 10); the node tests the current
//     holder (SelectTriedCollision, with a feeler) and ResolveCollisions
//     settles each: a holder that succeeded in the last 4 hours stays; one
//     that was tried and failed (more than a minute ago, within 4 hours)
//     is replaced; after 40 minutes without a result the newcomer wins. A
//     holder that loses its tried slot goes back to new.
//  6. Select picks from tried or new with even odds (when both hold
//     candidates), then walks random buckets, accepting an entry with
//     probability GetChance times 1.2^k after k refusals.
//  7. GetAddr answers getaddr with a random sample of at most max and
//     maxPct % of the book, without terrible entries.
//  8. Only routable addresses enter: not private, loopback, link-local,
//     documentation or reserved ranges. A Local book (regtest, simnet)
//     takes loopback too, and 127.A.B.C's group is A.B.
//
// A Book is not safe for concurrent use: its owner serialises calls.
package addrbook

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/bits"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
)

// Core's addrman numbers.
const (
	NewBuckets   = 1024
	TriedBuckets = 256
	BucketSize   = 64

	newBucketsPerSourceGroup = 64
	triedBucketsPerGroup     = 8
	// MaxRefs is how many new buckets one address may occupy
	// (ADDRMAN_NEW_BUCKETS_PER_ADDRESS).
	MaxRefs = 8

	horizon          = 30 * 24 * 60 * 60 // seen longer ago: terrible
	retries          = 3                 // failures without any success: terrible
	maxFailures      = 10                // failures ...
	minFail          = 7 * 24 * 60 * 60  // ... since the last success this long ago: terrible
	replacement      = 4 * 60 * 60       // a tried entry that succeeded this recently keeps its slot
	maxCollisions    = 10
	testWindow       = 40 * 60 // a collision unresolved this long goes to the newcomer
	futureSlack      = 10 * 60 // seen this far in the future: terrible
	recentTry        = 60      // tried this recently: never terrible
	recentTryPenalty = 10 * 60 // tried this recently: selected at 1 %
	connectedUpdate  = 20 * 60 // Connected moves Seen at most this often
)

// Rand is the book's source of random numbers (for choosing, never for
// bucketing). *math/rand/v2.Rand and *math/rand/v2.ChaCha8 satisfy it.
type Rand interface{ Uint64() uint64 }

// Config makes a Book.
type Config struct {
	// Key is the secret that places addresses in buckets. The node draws
	// it from crypto/rand once and keeps it with the book (MarshalBinary
	// writes it, UnmarshalBinary restores it).
	Key [32]byte
	// Rand chooses among buckets, entries and collisions. Required.
	Rand Rand
	// Local is for regtest and simnet: loopback addresses are routable
	// and 127.A.B.C is in group A.B.
	Local bool
}

// Advert is an address as gossip (or a seed) tells it.
type Advert struct {
	Addr     Addr
	Services wire.ServiceFlag
	// Time is when the address was last seen, by the teller's account.
	Time time.Time
}

// Entry is what the book knows of an address.
type Entry struct {
	Addr     Addr
	Services wire.ServiceFlag
	// Seen is when the address was last heard of or connected (Core's
	// nTime): gossip's time less the source's penalty, or Connected's.
	Seen        time.Time
	LastTry     time.Time
	LastSuccess time.Time
	// Attempts counts failed attempts since the last success.
	Attempts int
	// Source is the group of the source that first told us.
	Source Group
	Tried  bool
	// Refs is how many new buckets hold the entry (0 when Tried).
	Refs int
}

// Counts is how many entries a table holds.
type Counts struct{ New, Tried int }

// entry is an Entry as the book keeps it: times in Unix seconds (0:
// never), the slots it occupies.
type entry struct {
	addr     Addr
	src      Group
	refs     uint8 // new slots held; 0 when tried, or when the id is free
	tried    bool
	services wire.ServiceFlag
	seen     int64
	lastTry  int64
	lastOK   int64
	// lastCount is when a failure was last counted (Core's
	// m_last_count_attempt): failures count once per Good anywhere, so
	// that a node that lost its own connection blames no one.
	lastCount int64
	attempts  int32
	randPos   int32 // index in Book.random
	// slots are the new table's slots (bucket*64+position) of the refs
	// buckets, or slots[0] is the tried table's slot.
	slots [MaxRefs]uint16
}

// Book is the address book. The zero Book is not usable; call New.
type Book struct {
	key   [32]byte
	rand  Rand
	local bool

	entries []entry
	free    []int32 // ids of entries to reuse
	index   map[Addr]int32
	random  []int32 // every live id once, in an order Select and GetAddr shuffle
	// newTab and triedTab hold id+1 per slot; 0 is an empty slot.
	newTab   []int32
	triedTab []int32

	nNew, nTried int
	byNet        [256]Counts
	lastGood     int64   // Unix seconds of the last Good (Core's m_last_good)
	collisions   []int32 // ids waiting for a tried slot; a set
}

// New returns an empty book.
func New(cfg Config) (*Book, error) {
	if cfg.Rand == nil {
		return nil, errors.New("addrbook: Config.Rand is required")
	}
	b := &Book{key: cfg.Key, rand: cfg.Rand, local: cfg.Local}
	b.reset(0)
	return b, nil
}

// reset empties the book, with room for n entries.
func (b *Book) reset(n int) {
	b.entries, b.free, b.random = make([]entry, 0, n), nil, make([]int32, 0, n)
	b.index = make(map[Addr]int32, n)
	b.newTab = make([]int32, NewBuckets*BucketSize)
	b.triedTab = make([]int32, TriedBuckets*BucketSize)
	b.nNew, b.nTried = 0, 0
	b.byNet = [256]Counts{}
	b.lastGood = 1
	b.collisions = nil
}

// Routable reports whether a may enter the book.
func (b *Book) Routable(a Addr) bool { return routable(a, b.local) }

// Group returns a's network group, as the book buckets it (and as outbound
// diversity should count it).
func (b *Book) Group(a Addr) Group { return groupOf(a, b.local) }

// Len is the number of entries.
func (b *Book) Len() int { return len(b.random) }

// Count returns the entries per table in the given networks, or in all
// networks when none is given (Core's getaddrmaninfo).
func (b *Book) Count(nets ...Network) Counts {
	if len(nets) == 0 {
		return Counts{New: b.nNew, Tried: b.nTried}
	}
	var c Counts
	for i, n := range nets {
		if !contains(nets[:i], n) {
			c.New += b.byNet[n].New
			c.Tried += b.byNet[n].Tried
		}
	}
	return c
}

func contains(nets []Network, n Network) bool {
	for _, m := range nets {
		if m == n {
			return true
		}
	}
	return false
}

// Lookup returns what the book knows of a.
func (b *Book) Lookup(a Addr) (Entry, bool) {
	id, ok := b.index[a]
	if !ok {
		return Entry{}, false
	}
	return b.entries[id].public(), true
}

func (e *entry) public() Entry {
	refs := int(e.refs)
	if e.tried {
		refs = 0
	}
	return Entry{Addr: e.addr, Services: e.services, Seen: toTime(e.seen), LastTry: toTime(e.lastTry),
		LastSuccess: toTime(e.lastOK), Attempts: int(e.attempts), Source: e.src, Tried: e.tried, Refs: refs}
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func toTime(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

// ---- hashing: where an address goes

// hash is the first 8 bytes of SHA-256(key, tag, parts...), Core's
// GetCheapHash of its keyed hashes (which use double SHA-256; any keyed
// hash serves, as long as it is stable for a file's key).
func (b *Book) hash(tag byte, parts ...[]byte) uint64 {
	var buf [128]byte
	s := append(append(buf[:0], b.key[:]...), tag)
	for _, p := range parts {
		s = append(s, p...)
	}
	sum := sha256.Sum256(s)
	return binary.LittleEndian.Uint64(sum[:8])
}

// newBucket is Core's GetNewBucket: one of 64 buckets per source group,
// chosen by the address's group.
func (b *Book) newBucket(a Addr, src Group) int {
	g := groupOf(a, b.local)
	h1 := b.hash('A', g[:], src[:]) % newBucketsPerSourceGroup
	return int(b.hash('B', src[:], []byte{byte(h1)}) % NewBuckets)
}

// triedBucket is Core's GetTriedBucket: one of 8 buckets per group,
// chosen by the address.
func (b *Book) triedBucket(a Addr) int {
	var kb [40]byte
	h1 := b.hash('C', a.appendKey(kb[:0])) % triedBucketsPerGroup
	g := groupOf(a, b.local)
	return int(b.hash('D', g[:], []byte{byte(h1)}) % TriedBuckets)
}

// slot is the address's slot in bucket of the new (isNew) or tried
// table: Core's GetBucketPosition, as bucket*64+position.
func (b *Book) slot(isNew bool, bucket int, a Addr) uint16 {
	tag := byte('K')
	if isNew {
		tag = 'N'
	}
	var kb [40]byte
	pos := b.hash(tag, []byte{byte(bucket >> 8), byte(bucket)}, a.appendKey(kb[:0])) % BucketSize
	return uint16(bucket*BucketSize + int(pos))
}

func (b *Book) triedSlot(a Addr) uint16 { return b.slot(false, b.triedBucket(a), a) }

// ---- random numbers

// intn returns a uniform number in [0, n), n > 0 (Lemire's method).
func (b *Book) intn(n int) int {
	un := uint64(n)
	hi, lo := bits.Mul64(b.rand.Uint64(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(b.rand.Uint64(), un)
		}
	}
	return int(hi)
}

// ---- the entry's life

// isTerrible is Core's IsTerrible: an entry not worth keeping when
// another wants its slot, nor worth gossiping.
func (e *entry) isTerrible(now int64) bool {
	switch {
	case e.lastTry != 0 && e.lastTry >= now-recentTry:
		return false // never remove what was tried in the last minute
	case e.seen > now+futureSlack:
		return true // a timestamp from the future
	case now-e.seen > horizon:
		return true // not seen in 30 days
	case e.lastOK == 0 && e.attempts >= retries:
		return true // tried 3 times, never a success
	case now-e.lastOK > minFail && e.attempts >= maxFailures:
		return true // 10 failures, no success in a week
	}
	return false
}

// chance is Core's GetChance: the odds that Select takes the entry when
// it meets it: 1 % if tried in the last 10 minutes, times 0.66 per
// failed attempt (at most 8).
func (e *entry) chance(now int64) float64 {
	c := 1.0
	if now-e.lastTry < recentTryPenalty {
		c *= 0.01
	}
	for i := int32(0); i < min(e.attempts, 8); i++ {
		c *= 0.66
	}
	return c
}

// IsTerrible reports whether the entry is worth nothing at now (see
// package rule 4).
func (e Entry) IsTerrible(now time.Time) bool {
	ie := entry{seen: unix(e.Seen), lastTry: unix(e.LastTry), lastOK: unix(e.LastSuccess), attempts: int32(e.Attempts)}
	return ie.isTerrible(now.Unix())
}

func (b *Book) count(e *entry, tried bool, d int) {
	if tried {
		b.nTried += d
		b.byNet[e.addr.net].Tried += d
	} else {
		b.nNew += d
		b.byNet[e.addr.net].New += d
	}
}

// create makes an entry for a, in neither table yet, counted as new.
func (b *Book) create(a Addr, src Group) int32 {
	var id int32
	if n := len(b.free); n > 0 {
		id, b.free = b.free[n-1], b.free[:n-1]
	} else {
		id = int32(len(b.entries))
		b.entries = append(b.entries, entry{})
	}
	b.entries[id] = entry{addr: a, src: src, randPos: int32(len(b.random))}
	b.index[a] = id
	b.random = append(b.random, id)
	b.count(&b.entries[id], false, +1)
	return id
}

// swapRandom swaps two places of the random order.
func (b *Book) swapRandom(i, j int) {
	if i == j {
		return
	}
	a, c := b.random[i], b.random[j]
	b.entries[a].randPos, b.entries[c].randPos = int32(j), int32(i)
	b.random[i], b.random[j] = c, a
}

// remove forgets a new entry that holds no slot.
func (b *Book) remove(id int32) {
	e := &b.entries[id]
	b.swapRandom(int(e.randPos), len(b.random)-1)
	b.random = b.random[:len(b.random)-1]
	delete(b.index, e.addr)
	b.count(e, false, -1)
	for i, c := range b.collisions {
		if c == id {
			b.collisions = append(b.collisions[:i], b.collisions[i+1:]...)
			break
		}
	}
	*e = entry{}
	b.free = append(b.free, id)
}

// clearNew empties a new slot; its entry forgets the slot, and is
// forgotten when that was its last.
func (b *Book) clearNew(slot uint16) {
	id := b.newTab[slot] - 1
	if id < 0 {
		return
	}
	b.newTab[slot] = 0
	e := &b.entries[id]
	for i := 0; i < int(e.refs); i++ {
		if e.slots[i] == slot {
			e.refs--
			e.slots[i] = e.slots[e.refs]
			break
		}
	}
	if e.refs == 0 {
		b.remove(id)
	}
}

// Add records what source told us (Core's Add): each routable address is
// new to the book or an update of its entry (rules 2 to 4). penalty is
// taken off each advert's time, except the source's advert of itself
// (Core's net_processing uses 2 h for gossip). A source is the address of
// the peer that told us, the address itself for one the operator added,
// or a NamedSource. Add returns how many adverts took a new slot.
//
// Add trusts the advert's time; the caller clamps a time from the future
// or before 1973 as Core's net_processing does (to five days ago).
func (b *Book) Add(now time.Time, source Addr, penalty time.Duration, adverts ...Advert) int {
	src := groupOf(source, b.local)
	n := 0
	for i := range adverts {
		if b.addOne(&adverts[i], source, src, int64(penalty/time.Second), now.Unix()) {
			n++
		}
	}
	return n
}

func (b *Book) addOne(ad *Advert, source Addr, src Group, penalty, now int64) bool {
	a := ad.Addr
	if !routable(a, b.local) {
		return false
	}
	if a == source {
		penalty = 0
	}
	t := unix(ad.Time)
	id, known := b.index[a]
	if known {
		e := &b.entries[id]
		interval := int64(24 * 60 * 60)
		if now-t < 24*60*60 {
			interval = 60 * 60 // currently online: update hourly
		}
		if e.seen < t-interval-penalty {
			e.seen = max(0, t-penalty)
		}
		e.services |= ad.Services
		switch {
		case t <= e.seen: // nothing new
			return false
		case e.tried:
			return false
		case e.refs == MaxRefs:
			return false
		case e.refs > 0 && b.intn(1<<e.refs) != 0: // rule 3
			return false
		}
	} else {
		id = b.create(a, src)
		e := &b.entries[id]
		e.services = ad.Services
		e.seen = max(0, t-penalty)
	}
	slot := b.slot(true, b.newBucket(a, src), a)
	cur := b.newTab[slot] - 1
	if cur == id {
		return false
	}
	insert := cur < 0
	if !insert {
		old := &b.entries[cur]
		insert = old.isTerrible(now) || old.refs > 1 && b.entries[id].refs == 0
	}
	if !insert {
		if b.entries[id].refs == 0 {
			b.remove(id)
		}
		return false
	}
	b.clearNew(slot)
	e := &b.entries[id]
	e.slots[e.refs] = slot
	e.refs++
	b.newTab[slot] = id + 1
	return true
}

// Good records a completed handshake with a (Core's Good): the entry's
// last try and success become now, its failures are forgiven, and it
// moves to tried. Good reports whether it moved now; it does not when a
// is unknown, already tried, or its tried slot is taken (then the move
// waits as a collision, rule 5).
func (b *Book) Good(a Addr, now time.Time) bool {
	b.lastGood = now.Unix()
	id, ok := b.index[a]
	if !ok {
		return false
	}
	return b.good(id, true, now.Unix())
}

func (b *Book) good(id int32, testBeforeEvict bool, now int64) bool {
	e := &b.entries[id]
	e.lastOK, e.lastTry, e.attempts = now, now, 0
	// Seen stays: it is gossiped, and would tell whom we are connected to.
	if e.tried || e.refs == 0 {
		return false
	}
	if testBeforeEvict && b.triedTab[b.triedSlot(e.addr)] != 0 {
		if len(b.collisions) < maxCollisions && !containsID(b.collisions, id) {
			b.collisions = append(b.collisions, id)
		}
		return false
	}
	b.makeTried(id)
	return true
}

func containsID(ids []int32, id int32) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// makeTried moves a new entry to its tried slot; the entry there goes
// back to new, to the slot its own source gives it.
func (b *Book) makeTried(id int32) {
	e := &b.entries[id]
	for i := 0; i < int(e.refs); i++ {
		b.newTab[e.slots[i]] = 0
	}
	e.refs = 0
	b.count(e, false, -1)

	ts := b.triedSlot(e.addr)
	if old := b.triedTab[ts] - 1; old >= 0 {
		o := &b.entries[old]
		o.tried = false
		b.triedTab[ts] = 0
		b.count(o, true, -1)
		ns := b.slot(true, b.newBucket(o.addr, o.src), o.addr)
		b.clearNew(ns)
		o = &b.entries[old]
		o.refs, o.slots[0] = 1, ns
		b.newTab[ns] = old + 1
		b.count(o, false, +1)
	}
	e = &b.entries[id]
	e.tried, e.slots[0] = true, ts
	b.triedTab[ts] = id + 1
	b.count(e, true, +1)
}

// Attempt records a dial of a (Core's Attempt); countFailure counts it as
// a failure, once per Good anywhere since the last counted one.
func (b *Book) Attempt(a Addr, countFailure bool, now time.Time) {
	id, ok := b.index[a]
	if !ok {
		return
	}
	e := &b.entries[id]
	e.lastTry = now.Unix()
	if countFailure && e.lastCount < b.lastGood {
		e.lastCount = now.Unix()
		e.attempts++
	}
}

// Connected records that a peer at a was still connected at now (Core's
// Connected, called when it disconnects): Seen moves, at most every 20
// minutes.
func (b *Book) Connected(a Addr, now time.Time) {
	id, ok := b.index[a]
	if !ok {
		return
	}
	e := &b.entries[id]
	if now.Unix()-e.seen > connectedUpdate {
		e.seen = now.Unix()
	}
}

// SetServices records the services a's peer said it has in its version.
func (b *Book) SetServices(a Addr, s wire.ServiceFlag) {
	if id, ok := b.index[a]; ok {
		b.entries[id].services = s
	}
}

// Select picks an address to dial (rule 6), only from new when newOnly,
// only of the given networks when any are given; ok is false when there
// is none.
func (b *Book) Select(now time.Time, newOnly bool, nets ...Network) (e Entry, ok bool) {
	c := b.Count(nets...)
	if c.New == 0 && (newOnly || c.Tried == 0) {
		return Entry{}, false
	}
	tried := !newOnly && c.Tried > 0 && (c.New == 0 || b.rand.Uint64()&1 == 0)
	tab, nBuckets := b.newTab, NewBuckets
	if tried {
		tab, nBuckets = b.triedTab, TriedBuckets
	}
	t := now.Unix()
	factor := 1.0
	for {
		bucket := b.intn(nBuckets)
		start := b.intn(BucketSize)
		id := int32(-1)
		for i := range BucketSize {
			if x := tab[bucket*BucketSize+(start+i)%BucketSize] - 1; x >= 0 && (len(nets) == 0 || contains(nets, b.entries[x].addr.net)) {
				id = x
				break
			}
		}
		if id < 0 {
			continue
		}
		e := &b.entries[id]
		if float64(b.rand.Uint64()>>34) < factor*e.chance(t)*(1<<30) {
			return e.public(), true
		}
		factor *= 1.2
	}
}

// GetAddr returns a random sample of the book for a getaddr answer (rule
// 7): at most maxAddrs entries (0: no limit) and maxPct % of the book (0: no
// limit; Core answers with 1,000 and 23), of the given networks if any,
// without terrible entries.
func (b *Book) GetAddr(now time.Time, maxAddrs, maxPct int, nets ...Network) []Entry {
	n := len(b.random)
	if maxPct > 0 {
		n = min(maxPct, 100) * n / 100
	}
	if maxAddrs > 0 {
		n = min(n, maxAddrs)
	}
	t := now.Unix()
	out := make([]Entry, 0, n)
	for i := 0; i < len(b.random) && len(out) < n; i++ {
		b.swapRandom(i, i+b.intn(len(b.random)-i))
		e := &b.entries[b.random[i]]
		if len(nets) > 0 && !contains(nets, e.addr.net) || e.isTerrible(t) {
			continue
		}
		out = append(out, e.public())
	}
	return out
}

// SelectTriedCollision returns, for one of the collisions waiting (rule
// 5), the entry that holds the tried slot: the address a feeler should
// test. ok is false when no collision waits.
func (b *Book) SelectTriedCollision() (e Entry, ok bool) {
	if len(b.collisions) == 0 {
		return Entry{}, false
	}
	id := b.collisions[b.intn(len(b.collisions))]
	old := b.triedTab[b.triedSlot(b.entries[id].addr)] - 1
	if old < 0 {
		return Entry{}, false
	}
	return b.entries[old].public(), true
}

// ResolveCollisions settles the collisions whose outcome is known at now
// (rule 5); the others wait.
func (b *Book) ResolveCollisions(now time.Time) {
	t := now.Unix()
	// A move can forget entries (and drop them from b.collisions), so walk
	// a copy; a forgotten id is free (neither tried nor in new) until
	// create reuses it, which nothing here calls.
	pending := append([]int32(nil), b.collisions...)
	b.collisions = b.collisions[:0]
	for _, id := range pending {
		e := &b.entries[id]
		if e.tried || e.refs == 0 {
			continue
		}
		old := b.triedTab[b.triedSlot(e.addr)] - 1
		switch {
		case old < 0: // no longer a collision
			b.good(id, false, t)
		case t-b.entries[old].lastOK < replacement:
			// the holder is good: the newcomer stays in new
		case t-b.entries[old].lastTry < replacement:
			if t-b.entries[old].lastTry <= recentTry {
				b.collisions = append(b.collisions, id) // give the test a minute
				continue
			}
			b.good(id, false, t) // the holder was tested and failed
		case t-e.lastOK > testWindow:
			b.good(id, false, t) // untested for too long: the newcomer wins
		default:
			b.collisions = append(b.collisions, id)
		}
	}
}

// Collisions is the number of moves to tried waiting on a collision.
func (b *Book) Collisions() int { return len(b.collisions) }
