package addrbook

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

func newBook(t testing.TB, seed uint64, local bool) *Book {
	t.Helper()
	var key [32]byte
	for i := range key {
		key[i] = byte(seed) + byte(i)
	}
	b, err := New(Config{Key: key, Rand: rand.New(rand.NewPCG(seed, 1)), Local: local})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ipv4 is a public IPv4 address built from n (never private: first byte
// 1 to 99).
func ipv4(n uint32, port uint16) Addr {
	a := Addr{net: NetIPv4, port: port}
	a.raw[0] = byte(1 + n>>24%99)
	a.raw[1], a.raw[2], a.raw[3] = byte(n>>16), byte(n>>8), byte(n)
	return a
}

func advert(a Addr, seen time.Time) Advert { return Advert{Addr: a, Services: 1, Time: seen} }

// check verifies the book's invariants, Core's CheckAddrman: every slot
// points at an entry that knows it, counts match, the random order holds
// every entry once, every entry is in a table.
func check(t testing.TB, b *Book) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("inconsistent book: "+format, args...)
	}
	if len(b.random) != len(b.index) || len(b.random) != b.nNew+b.nTried {
		fail("random %d index %d new %d tried %d", len(b.random), len(b.index), b.nNew, b.nTried)
	}
	var c Counts
	var byNet [256]Counts
	for pos, id := range b.random {
		e := &b.entries[id]
		if int(e.randPos) != pos || b.index[e.addr] != id {
			fail("entry %d: randPos %d at %d, index %d", id, e.randPos, pos, b.index[e.addr])
		}
		if e.tried {
			c.Tried++
			byNet[e.addr.net].Tried++
			if e.refs != 0 || b.triedTab[e.slots[0]] != id+1 || e.slots[0] != b.triedSlot(e.addr) {
				fail("tried entry %v: refs %d slot %d", e.addr, e.refs, e.slots[0])
			}
			continue
		}
		c.New++
		byNet[e.addr.net].New++
		if e.refs == 0 || e.refs > MaxRefs {
			fail("new entry %v with %d refs", e.addr, e.refs)
		}
		for _, s := range e.slots[:e.refs] {
			if b.newTab[s] != id+1 || b.slot(true, int(s)/BucketSize, e.addr) != s {
				fail("new entry %v: slot %d holds %d", e.addr, s, b.newTab[s]-1)
			}
		}
	}
	if c != b.Count() || byNet != b.byNet {
		fail("counts %+v, book says %+v", c, b.Count())
	}
	used := 0
	for _, x := range b.newTab {
		if x != 0 {
			used++
		}
	}
	refs := 0
	for _, id := range b.random {
		if !b.entries[id].tried {
			refs += int(b.entries[id].refs)
		}
	}
	if used != refs {
		fail("%d new slots used, entries hold %d", used, refs)
	}
	for _, id := range b.collisions {
		if e := &b.entries[id]; e.tried || e.refs == 0 {
			fail("collision %d is not a new entry", id)
		}
	}
}

// reachable returns the new buckets a source group may reach: the 64
// values of Core's GetNewBucket's second hash.
func reachable(b *Book, src Group) map[int]bool {
	m := make(map[int]bool)
	for h1 := range newBucketsPerSourceGroup {
		m[int(b.hash('B', src[:], []byte{byte(h1)})%NewBuckets)] = true
	}
	return m
}

// TestFloodFromOneGroupStaysInItsBuckets: 100,000 addresses from one
// source, then 100,000 from many sources of one /16, reach only the new
// buckets that group may reach (at most 64 of 1,024), so the book holds
// at most 64*64 of them.
func TestFloodFromOneGroupStaysInItsBuckets(t *testing.T) {
	for _, many := range []bool{false, true} {
		b := newBook(t, 1, false)
		src := mustAddr(t, "5.6.7.8:8333")
		for i := range uint32(100_000) {
			if many {
				src = Addr{net: NetIPv4, port: 8333, raw: [32]byte{5, 6, byte(i >> 8), byte(i)}}
			}
			b.Add(t0, src, 2*time.Hour, advert(ipv4(i*2654435761, 8333), t0))
		}
		check(t, b)
		allowed := reachable(b, b.Group(src))
		used := map[int]bool{}
		for s, x := range b.newTab {
			if x != 0 {
				used[s/BucketSize] = true
			}
		}
		for bk := range used {
			if !allowed[bk] {
				t.Errorf("bucket %d is not one group 5.6 may reach", bk)
			}
		}
		if len(allowed) > 64 || b.Len() > 64*BucketSize || b.Count().Tried != 0 {
			t.Errorf("reachable %d buckets, used %d, book %d entries", len(allowed), len(used), b.Len())
		}
		t.Logf("many sources %v: %d buckets used of %d reachable, %d entries", many, len(used), len(allowed), b.Len())
	}
}

// TestAnotherSourceAnotherBucket: an address heard again from other
// groups, each time newer, takes more new buckets (never more than 8), and
// each further one only with probability 1/2^refs.
func TestAnotherSourceAnotherBucket(t *testing.T) {
	const trials = 400
	hist := make([]int, MaxRefs+1)
	for i := range uint64(trials) {
		b := newBook(t, i, false)
		a := ipv4(uint32(i)*7919+1, 8333)
		for j := range 300 {
			src := Addr{net: NetIPv4, port: 1, raw: [32]byte{byte(1 + j%90), byte(j / 90)}}
			b.Add(t0, src, 2*time.Hour, advert(a, t0.Add(time.Duration(j)*10*time.Minute)))
		}
		check(t, b)
		e, ok := b.Lookup(a)
		if !ok {
			t.Fatal("lost")
		}
		hist[e.Refs]++
	}
	if hist[0] != 0 || hist[1] > trials/10 {
		t.Errorf("refs histogram %v: want most entries in several buckets", hist)
	}
	t.Logf("refs after 300 adverts from distinct groups: %v", hist)
	// Without a newer time nothing changes.
	b := newBook(t, 1, false)
	a := ipv4(42, 8333)
	b.Add(t0, ipv4(1, 1), 0, advert(a, t0))
	for j := range 100 {
		b.Add(t0, ipv4(uint32(j)<<16, 1), 0, advert(a, t0))
	}
	if e, _ := b.Lookup(a); e.Refs != 1 {
		t.Errorf("the same time from 100 sources: %d refs, want 1", e.Refs)
	}
}

// TestAddUpdatesSeenAndServices: Core's update rules for a known entry.
func TestAddUpdatesSeenAndServices(t *testing.T) {
	b := newBook(t, 3, false)
	a, src := ipv4(100, 8333), ipv4(200<<16, 8333)
	if n := b.Add(t0, src, 2*time.Hour, Advert{Addr: a, Services: 1, Time: t0}); n != 1 {
		t.Fatalf("added %d", n)
	}
	e, _ := b.Lookup(a)
	if !e.Seen.Equal(t0.Add(-2*time.Hour)) || e.Source != b.Group(src) {
		t.Errorf("seen %v source %v: want the penalty taken off and the source's group", e.Seen, e.Source)
	}
	// a self-advert carries no penalty; the same time does not move Seen
	// by less than the hour; services add up
	b.Add(t0, a, 2*time.Hour, Advert{Addr: a, Services: 8, Time: t0.Add(30 * time.Minute)})
	e, _ = b.Lookup(a)
	if !e.Seen.Equal(t0.Add(30*time.Minute)) || e.Services != 9 {
		t.Errorf("seen %v services %v", e.Seen, e.Services)
	}
	b.Add(t0, src, 0, Advert{Addr: a, Time: t0.Add(70 * time.Minute)})
	if e, _ = b.Lookup(a); !e.Seen.Equal(t0.Add(30 * time.Minute)) {
		t.Errorf("seen %v moved by less than the update interval", e.Seen)
	}
	if b.Add(t0, src, 0, advert(mustAddr(t, "10.0.0.1:8333"), t0)) != 0 || b.Len() != 1 {
		t.Error("a private address entered")
	}
}

// TestGoodPromotesToTried: Good moves an entry from new to tried, clears
// its failures and frees its new slots; Good of an unknown or tried
// address does nothing more.
func TestGoodPromotesToTried(t *testing.T) {
	b := newBook(t, 4, false)
	a := ipv4(77, 8333)
	b.Add(t0, ipv4(5<<16, 1), 0, advert(a, t0))
	b.Attempt(a, true, t0.Add(time.Minute))
	if e, _ := b.Lookup(a); e.Attempts != 1 || !e.LastTry.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after Attempt: %+v", e)
	}
	now := t0.Add(2 * time.Minute)
	if !b.Good(a, now) {
		t.Fatal("Good did not move it")
	}
	check(t, b)
	e, _ := b.Lookup(a)
	if !e.Tried || e.Refs != 0 || e.Attempts != 0 || !e.LastSuccess.Equal(now) || !e.Seen.Equal(t0) {
		t.Errorf("after Good: %+v", e)
	}
	if b.Count() != (Counts{Tried: 1}) || b.Count(NetIPv4) != (Counts{Tried: 1}) || b.Count(NetIPv6) != (Counts{}) {
		t.Errorf("counts %+v", b.Count())
	}
	if b.Good(a, now) || b.Good(ipv4(78, 8333), now) {
		t.Error("Good moved a tried or unknown address")
	}
	// a tried address heard of again stays in tried
	b.Add(now, ipv4(6<<16, 1), 0, advert(a, now.Add(time.Hour)))
	if e, _ := b.Lookup(a); !e.Tried {
		t.Error("gossip moved a tried address")
	}
	check(t, b)
}

// TestAttemptCountsOncePerGood: failures count only when some Good came
// after the last counted one (Core: a node that lost its own connection
// does not blame every address).
func TestAttemptCountsOncePerGood(t *testing.T) {
	b := newBook(t, 5, false)
	a, other := ipv4(1000, 8333), ipv4(2000, 8333)
	b.Add(t0, ipv4(9<<16, 1), 0, advert(a, t0), advert(other, t0))
	b.Attempt(a, true, t0)
	b.Attempt(a, true, t0.Add(time.Minute))
	b.Attempt(a, false, t0.Add(2*time.Minute))
	if e, _ := b.Lookup(a); e.Attempts != 1 {
		t.Errorf("attempts %d, want 1 (no Good in between)", e.Attempts)
	}
	b.Good(other, t0.Add(3*time.Minute))
	b.Attempt(a, true, t0.Add(4*time.Minute))
	if e, _ := b.Lookup(a); e.Attempts != 2 {
		t.Errorf("attempts %d, want 2", e.Attempts)
	}
}

// TestConnectedMovesSeen: Connected moves Seen, at most every 20 minutes.
func TestConnectedMovesSeen(t *testing.T) {
	b := newBook(t, 6, false)
	a := ipv4(3000, 8333)
	b.Add(t0, a, 0, advert(a, t0))
	b.Connected(a, t0.Add(10*time.Minute))
	if e, _ := b.Lookup(a); !e.Seen.Equal(t0) {
		t.Errorf("seen %v after 10 minutes", e.Seen)
	}
	b.Connected(a, t0.Add(21*time.Minute))
	if e, _ := b.Lookup(a); !e.Seen.Equal(t0.Add(21 * time.Minute)) {
		t.Errorf("seen %v after 21 minutes", e.Seen)
	}
}

// TestIsTerrible: Core's rules, one by one.
func TestIsTerrible(t *testing.T) {
	now := t0
	day := 24 * time.Hour
	tests := []struct {
		name string
		e    Entry
		want bool
	}{
		{"fresh", Entry{Seen: now.Add(-day)}, false},
		{"from the future", Entry{Seen: now.Add(11 * time.Minute)}, true},
		{"slightly in the future", Entry{Seen: now.Add(9 * time.Minute)}, false},
		{"not seen in 30 days", Entry{Seen: now.Add(-31 * day)}, true},
		{"3 failures, never a success", Entry{Seen: now, Attempts: 3}, true},
		{"2 failures, never a success", Entry{Seen: now, Attempts: 2}, false},
		{"10 failures, success 8 days ago", Entry{Seen: now, Attempts: 10, LastSuccess: now.Add(-8 * day)}, true},
		{"10 failures, success 6 days ago", Entry{Seen: now, Attempts: 10, LastSuccess: now.Add(-6 * day)}, false},
		{"old but tried in the last minute", Entry{Seen: now.Add(-31 * day), LastTry: now.Add(-30 * time.Second)}, false},
	}
	for _, tt := range tests {
		if got := tt.e.IsTerrible(now); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// sameNewSlot returns an address other than a that src's group puts in
// a's first new slot.
func sameNewSlot(t testing.TB, b *Book, a Addr, src Group) Addr {
	t.Helper()
	want := b.slot(true, b.newBucket(a, src), a)
	for i := uint32(1); i < 10_000_000; i++ {
		c := ipv4(i*2654435761+12345, 8333)
		if c != a && b.slot(true, b.newBucket(c, src), c) == want {
			return c
		}
	}
	t.Fatal("no address shares the slot")
	return Addr{}
}

// TestTerribleEntryIsReplaced: an address whose new slot is taken by a
// good entry is dropped; by a terrible one, takes the slot.
func TestTerribleEntryIsReplaced(t *testing.T) {
	for _, terrible := range []bool{false, true} {
		b := newBook(t, 7, false)
		src := ipv4(50<<16, 1)
		old := ipv4(4242, 8333)
		seen := t0
		if terrible {
			seen = t0.Add(-31 * 24 * time.Hour)
		}
		b.Add(t0, src, 0, advert(old, seen))
		newcomer := sameNewSlot(t, b, old, b.Group(src))
		n := b.Add(t0, src, 0, advert(newcomer, t0))
		check(t, b)
		_, oldThere := b.Lookup(old)
		_, newThere := b.Lookup(newcomer)
		if oldThere == terrible || newThere != terrible || (n == 1) != terrible {
			t.Errorf("old terrible %v: old kept %v, newcomer kept %v, Add says %d", terrible, oldThere, newThere, n)
		}
		if b.Len() != 1 {
			t.Errorf("old terrible %v: %d entries", terrible, b.Len())
		}
	}
}

// sameTriedSlot returns a new address (not a) with a's tried slot.
func sameTriedSlot(t testing.TB, b *Book, a Addr) Addr {
	t.Helper()
	want := b.triedSlot(a)
	for i := uint32(1); i < 10_000_000; i++ {
		c := ipv4(i*40503+7, 8333)
		if c != a && b.triedSlot(c) == want {
			return c
		}
	}
	t.Fatal("no address shares the tried slot")
	return Addr{}
}

// TestTriedCollision: Good of an address whose tried slot is taken waits
// as a collision; the feeler tests the holder; ResolveCollisions keeps a
// holder that answered, replaces one that failed, and after 40 minutes
// without a result lets the newcomer in (the holder goes back to new).
func TestTriedCollision(t *testing.T) {
	cases := []struct {
		name      string
		holder    func(b *Book, h Addr, now time.Time) // what the test of the holder did
		after     time.Duration
		moved     bool
		collision bool // still waiting
	}{
		{"holder answered", func(b *Book, h Addr, now time.Time) { b.Good(h, now) }, time.Minute, false, false},
		{"holder failed", func(b *Book, h Addr, now time.Time) { b.Attempt(h, true, now) }, 2 * time.Minute, true, false},
		{"holder failed just now", func(b *Book, h Addr, now time.Time) { b.Attempt(h, true, now.Add(time.Minute)) }, time.Minute + 30*time.Second, false, true},
		{"no test, 30 minutes", func(*Book, Addr, time.Time) {}, 30 * time.Minute, false, true},
		{"no test, 41 minutes", func(*Book, Addr, time.Time) {}, 41 * time.Minute, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBook(t, 8, false)
			holder := ipv4(555, 8333)
			b.Add(t0, ipv4(60<<16, 1), 0, advert(holder, t0))
			if !b.Good(holder, t0) {
				t.Fatal("holder not moved")
			}
			newcomer := sameTriedSlot(t, b, holder)
			now := t0.Add(5 * time.Hour) // the holder's success is old
			b.Add(now, ipv4(61<<16, 1), 0, advert(newcomer, now))
			if b.Good(newcomer, now) || b.Collisions() != 1 {
				t.Fatalf("Good moved it over the holder, collisions %d", b.Collisions())
			}
			if e, ok := b.SelectTriedCollision(); !ok || e.Addr != holder {
				t.Fatalf("SelectTriedCollision = %v, %v; want the holder", e.Addr, ok)
			}
			tc.holder(b, holder, now)
			b.ResolveCollisions(now.Add(tc.after))
			check(t, b)
			n, _ := b.Lookup(newcomer)
			h, _ := b.Lookup(holder)
			if n.Tried != tc.moved || h.Tried == tc.moved || (b.Collisions() == 1) != tc.collision {
				t.Errorf("newcomer tried %v, holder tried %v, collisions %d", n.Tried, h.Tried, b.Collisions())
			}
			if tc.moved && h.Refs != 1 {
				t.Errorf("evicted holder holds %d new slots, want 1", h.Refs)
			}
		})
	}
}

// selectOdds is the probability that Select, walking a new table of two
// entries (chances 1 and c), returns the second: each step meets either
// with even odds; the first is always taken, the second with c*1.2^k.
func selectOdds(c float64) float64 {
	p, alive := 0.0, 1.0
	for k := 0; k < 200; k++ {
		acc := math.Min(1, c*math.Pow(1.2, float64(k)))
		p += alive * 0.5 * acc
		alive *= 0.5 * (1 - acc)
	}
	return p
}

// TestSelectOdds: Select picks between tables with even odds, and within
// a table by Core's GetChance (failures and a recent try make an entry
// rarer). A fixed seed; bounds of several standard deviations.
func TestSelectOdds(t *testing.T) {
	const draws = 20_000
	b := newBook(t, 9, false)
	for i := range uint32(40) {
		b.Add(t0, ipv4(i<<16, 1), 0, advert(ipv4(i*1_000_003, 8333), t0))
	}
	for i := range uint32(10) {
		a := ipv4(i*1_000_003, 8333)
		b.Good(a, t0)
	}
	now := t0.Add(time.Hour)
	tried, newOnly := 0, 0
	for range draws {
		if e, _ := b.Select(now, false); e.Tried {
			tried++
		}
		if e, _ := b.Select(now, true); e.Tried {
			newOnly++
		}
	}
	frac := float64(tried) / draws
	if math.Abs(frac-0.5) > 0.02 || newOnly != 0 {
		t.Errorf("tried chosen %.3f of the time (want 0.5), %d from tried with newOnly", frac, newOnly)
	}
	t.Logf("tried chosen %.4f of the time, Core's odds say 0.5", frac)

	for _, tc := range []struct {
		name     string
		attempts int
		lastTry  time.Duration // before now
		chance   float64
	}{
		{"3 failures", 3, 2 * time.Hour, math.Pow(0.66, 3)},
		{"8 failures", 8, 2 * time.Hour, math.Pow(0.66, 8)},
		{"tried 5 minutes ago", 0, 5 * time.Minute, 0.01},
	} {
		b := newBook(t, 10, false)
		good, bad := ipv4(1, 8333), ipv4(2<<16, 8333)
		b.Add(t0, ipv4(3<<16, 1), 0, advert(good, t0), advert(bad, t0))
		for range tc.attempts {
			b.Attempt(bad, true, now.Add(-tc.lastTry))
			b.Good(ipv4(999, 1), now) // unknown: only lets the next failure count
		}
		b.Attempt(bad, false, now.Add(-tc.lastTry))
		if e, _ := b.Lookup(bad); e.Attempts != tc.attempts {
			t.Fatalf("%s: attempts %d", tc.name, e.Attempts)
		}
		// A book of two entries is sparse, and Select's walk of its buckets
		// slow (as Core's): fewer draws here.
		const draws = 4000
		hits := 0
		for range draws {
			if e, _ := b.Select(now, false); e.Addr == bad {
				hits++
			}
		}
		want := selectOdds(tc.chance)
		got := float64(hits) / draws
		sd := math.Sqrt(want * (1 - want) / draws)
		if math.Abs(got-want) > 5*sd+0.002 {
			t.Errorf("%s: chosen %.4f of the time, Core's odds say %.4f", tc.name, got, want)
		}
		t.Logf("%s: chosen %.4f of the time, Core's odds say %.4f", tc.name, got, want)
	}
}

// TestSelectNetworks: Select and GetAddr keep to the networks asked for;
// none there, nothing.
func TestSelectNetworks(t *testing.T) {
	b := newBook(t, 11, false)
	var key [32]byte
	key[0] = 0x70
	onion := TorV3(key, 9050)
	v6 := mustAddr(t, "[2a01:4f8::1]:8333")
	b.Add(t0, ipv4(1<<16, 1), 0, advert(ipv4(5, 8333), t0), advert(onion, t0), advert(v6, t0))
	if b.Count(NetTorV3) != (Counts{New: 1}) || b.Count(NetIPv4, NetIPv6) != (Counts{New: 2}) {
		t.Errorf("counts %+v %+v", b.Count(NetTorV3), b.Count(NetIPv4, NetIPv6))
	}
	for range 100 {
		if e, ok := b.Select(t0, false, NetTorV3); !ok || e.Addr != onion {
			t.Fatalf("Select(onion) = %v, %v", e.Addr, ok)
		}
	}
	b.Good(onion, t0)
	if _, ok := b.Select(t0, true, NetTorV3); ok {
		t.Error("Select(new only, onion) found one; the only onion is tried")
	}
	if got := b.GetAddr(t0, 0, 0, NetIPv6); len(got) != 1 || got[0].Addr != v6 {
		t.Errorf("GetAddr(ipv6) = %v", got)
	}
	if _, ok := newBook(t, 1, false).Select(t0, false); ok {
		t.Error("an empty book selected")
	}
}

// TestGetAddrCaps: at most max addresses and maxPct % of the book, no
// terrible ones, each once.
func TestGetAddrCaps(t *testing.T) {
	b := newBook(t, 12, false)
	for i := range uint32(20_000) {
		b.Add(t0, ipv4(i%500<<16, 1), 0, advert(ipv4(i*2654435761, 8333), t0))
	}
	n := b.Len()
	check(t, b)
	for _, tc := range []struct{ max, pct, want int }{
		{1000, 23, min(1000, n*23/100)},
		{0, 23, n * 23 / 100},
		{100, 0, 100},
		{0, 0, n},
		{1000, 1, n / 100},
	} {
		got := b.GetAddr(t0, tc.max, tc.pct)
		seen := map[Addr]bool{}
		for _, e := range got {
			if seen[e.Addr] {
				t.Fatalf("%v twice", e.Addr)
			}
			seen[e.Addr] = true
		}
		if len(got) != tc.want {
			t.Errorf("GetAddr(%d, %d) of %d: %d, want %d", tc.max, tc.pct, n, len(got), tc.want)
		}
	}
	check(t, b)
	// 31 days on, everything is terrible: nothing to gossip
	if got := b.GetAddr(t0.Add(31*24*time.Hour), 1000, 23); len(got) != 0 {
		t.Errorf("%d terrible entries gossiped", len(got))
	}
}

// TestRandomOperations: a long random mix of every operation keeps the
// book consistent and within Core's sizes.
func TestRandomOperations(t *testing.T) {
	b := newBook(t, 13, false)
	r := rand.New(rand.NewPCG(13, 13))
	now := t0
	var known []Addr
	for i := range 30_000 {
		now = now.Add(time.Duration(r.IntN(600)) * time.Second)
		switch op := r.IntN(10); {
		case op < 5:
			a := ipv4(r.Uint32()%5000, 8333)
			known = append(known, a)
			b.Add(now, ipv4(r.Uint32()%20<<16, 1), time.Duration(r.IntN(3))*time.Hour,
				advert(a, now.Add(-time.Duration(r.IntN(40*24))*time.Hour)))
		case op < 7 && len(known) > 0:
			b.Good(known[r.IntN(len(known))], now)
		case op < 8 && len(known) > 0:
			b.Attempt(known[r.IntN(len(known))], r.IntN(2) == 0, now)
		case op < 9:
			b.Select(now, r.IntN(2) == 0)
			b.ResolveCollisions(now)
		default:
			b.GetAddr(now, 100, 23)
			b.SelectTriedCollision()
		}
		if i%1000 == 0 {
			check(t, b)
		}
	}
	check(t, b)
	if c := b.Count(); c.New > NewBuckets*BucketSize || c.Tried > TriedBuckets*BucketSize {
		t.Errorf("counts %+v", c)
	}
	t.Logf("after 30,000 operations: %+v, collisions %d", b.Count(), b.Collisions())
}

func TestNewNeedsRand(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without Rand")
	}
}

func ExampleBook() {
	b, _ := New(Config{Rand: rand.New(rand.NewPCG(1, 2))})
	now := time.Unix(1_700_000_000, 0)
	peer, _ := ParseAddr("1.2.3.4:8333")
	heard, _ := ParseAddr("5.6.7.8:8333")
	b.Add(now, peer, 2*time.Hour, Advert{Addr: heard, Time: now})
	e, _ := b.Select(now, false)
	fmt.Println(e.Addr, e.Tried, b.Count())
	// Output: 5.6.7.8:8333 false {1 0}
}
