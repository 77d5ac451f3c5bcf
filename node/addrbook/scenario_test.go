package addrbook

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	script "github.com/peerd/peerd/internal/scenario"
)

var update = flag.Bool("update", false, "rewrite the expected output of scenario scripts")

// Scenario scripts (testdata/scenarios/*.txt) drive one book on a fake
// clock, one script per rule, in internal/scenario's format: blocks of
// comments, commands, "----" and the output. `go test ./node/addrbook -run
// Scenarios -update` rewrites the expected output; review the diff.
//
// Commands (times print as offsets from the start, "never" for none):
//
//	book [local] [seed=N]            a new book (Local: regtest rules); key and Rand from the seed
//	add SRC ADDR[@AGE]... [penalty=D]  SRC tells of the addresses, each seen AGE ago (default 0)
//	flood SRC N                      SRC tells of N public IPv4 addresses, spread over the whole space
//	flood-group A.B N                N sources of A.B.0.0/16, one public address each
//	fill N                           N addresses, from 1,000 source groups
//	good ADDR | attempt ADDR [fail] | connected ADDR
//	advance DURATION                 move the clock
//	lookup ADDR                      print the entry
//	group ADDR                       print the address's network group
//	buckets SRC                      print the new buckets used, and how many SRC's group may reach
//	twin new ADDR SRC | twin tried ADDR   print an address that SRC puts in ADDR's new slot / with ADDR's tried slot
//	select N [new]                   N selections: how many from tried, from new
//	getaddr MAX PCT                  print how many addresses a getaddr answer holds
//	collision | resolve              SelectTriedCollision | ResolveCollisions
//	state                            print the counts
func TestScenarios(t *testing.T) {
	script.Each(t, func(t *testing.T, file string) {
		s := &scenario{t: t, start: t0, now: t0}
		script.Run(t, file, *update, func(cmd string) []string {
			s.out = s.out[:0]
			s.run(cmd)
			if s.b != nil {
				check(t, s.b)
			}
			return s.out
		})
	})
}

type scenario struct {
	t          *testing.T
	start, now time.Time
	b          *Book
	out        []string
}

func (s *scenario) fail(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf(format, args...)
}

func (s *scenario) printf(format string, args ...any) {
	s.out = append(s.out, fmt.Sprintf(format, args...))
}

func (s *scenario) run(line string) {
	f := strings.Fields(line)
	arg := func(i int) string {
		if i >= len(f) {
			s.fail("%q: argument %d missing", line, i)
		}
		return f[i]
	}
	if f[0] != "book" && s.b == nil {
		s.fail("%q before book", line)
	}
	switch f[0] {
	case "book":
		seed, local := uint64(1), false
		for _, a := range f[1:] {
			switch {
			case a == "local":
				local = true
			case strings.HasPrefix(a, "seed="):
				seed = s.num(strings.TrimPrefix(a, "seed="))
			default:
				s.fail("book: unknown %q", a)
			}
		}
		s.b, s.now = newBook(s.t, seed, local), s.start
	case "add":
		src := s.addr(arg(1))
		var ads []Advert
		penalty := time.Duration(0)
		for _, a := range f[2:] {
			if p, ok := strings.CutPrefix(a, "penalty="); ok {
				penalty = s.dur(p)
				continue
			}
			addr, age, _ := strings.Cut(a, "@")
			seen := s.now
			if age != "" {
				seen = s.now.Add(-s.dur(age))
			}
			ads = append(ads, Advert{Addr: s.addr(addr), Services: 1, Time: seen})
		}
		s.printf("added %d", s.b.Add(s.now, src, penalty, ads...))
	case "flood":
		src, n := s.addr(arg(1)), s.num(arg(2))
		added := 0
		for i := range uint32(n) {
			added += s.b.Add(s.now, src, 2*time.Hour, advert(ipv4(i*2654435761, 8333), s.now))
		}
		s.printf("added %d of %d", added, n)
	case "flood-group":
		ab := strings.Split(arg(1), ".")
		if len(ab) != 2 {
			s.fail("flood-group: want A.B, got %q", arg(1))
		}
		a, b := byte(s.num(ab[0])), byte(s.num(ab[1]))
		n := s.num(arg(2))
		added := 0
		for i := range uint32(n) {
			src := Addr{net: NetIPv4, port: 8333, raw: [32]byte{a, b, byte(i >> 8), byte(i)}}
			added += s.b.Add(s.now, src, 2*time.Hour, advert(ipv4(i*2654435761, 8333), s.now))
		}
		s.printf("added %d of %d", added, n)
	case "fill":
		n := s.num(arg(1))
		added := 0
		for i := range uint32(n) {
			added += s.b.Add(s.now, ipv4(i%1000<<16, 1), 2*time.Hour, advert(ipv4(i*2654435761, 8333), s.now))
		}
		s.printf("added %d of %d", added, n)
	case "good":
		s.printf("good %s: moved %v", arg(1), s.b.Good(s.addr(arg(1)), s.now))
	case "attempt":
		s.b.Attempt(s.addr(arg(1)), len(f) > 2 && f[2] == "fail", s.now)
	case "connected":
		s.b.Connected(s.addr(arg(1)), s.now)
	case "advance":
		s.now = s.now.Add(s.dur(arg(1)))
	case "lookup":
		e, ok := s.b.Lookup(s.addr(arg(1)))
		if !ok {
			s.printf("%s: unknown", arg(1))
			break
		}
		s.printf("%s", s.entry(e))
	case "group":
		a := s.addr(arg(1))
		s.printf("%s: group %v, routable %v", a, s.b.Group(a), s.b.Routable(a))
	case "buckets":
		g := s.b.Group(s.addr(arg(1)))
		used := map[int]bool{}
		for slot, x := range s.b.newTab {
			if x != 0 {
				used[slot/BucketSize] = true
			}
		}
		allowed := reachable(s.b, g)
		outside := 0
		for bk := range used {
			if !allowed[bk] {
				outside++
			}
		}
		s.printf("new buckets used %d, of them outside group %v's %d: %d", len(used), g, len(allowed), outside)
	case "twin":
		switch arg(1) {
		case "new":
			a, src := s.addr(arg(2)), s.b.Group(s.addr(arg(3)))
			s.printf("twin of %s in new: %s", a, sameNewSlot(s.t, s.b, a, src))
		case "tried":
			a := s.addr(arg(2))
			s.printf("twin of %s in tried: %s", a, sameTriedSlot(s.t, s.b, a))
		default:
			s.fail("twin new|tried")
		}
	case "select":
		n := s.num(arg(1))
		newOnly := len(f) > 2 && f[2] == "new"
		var tried, fromNew, none int
		for range n {
			e, ok := s.b.Select(s.now, newOnly)
			switch {
			case !ok:
				none++
			case e.Tried:
				tried++
			default:
				fromNew++
			}
		}
		s.printf("selected from tried %d, from new %d, none %d", tried, fromNew, none)
	case "getaddr":
		got := s.b.GetAddr(s.now, int(s.num(arg(1))), int(s.num(arg(2))))
		s.printf("getaddr %s %s: %d of %d", arg(1), arg(2), len(got), s.b.Len())
	case "collision":
		e, ok := s.b.SelectTriedCollision()
		if !ok {
			s.printf("no collision")
			break
		}
		s.printf("test %s", e.Addr)
	case "resolve":
		s.b.ResolveCollisions(s.now)
	case "state":
		c := s.b.Count()
		s.printf("new %d tried %d collisions %d", c.New, c.Tried, s.b.Collisions())
	default:
		s.fail("unknown command %q", line)
	}
}

func (s *scenario) entry(e Entry) string {
	table := fmt.Sprintf("new refs=%d", e.Refs)
	if e.Tried {
		table = "tried"
	}
	at := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		d := t.Sub(s.start)
		if d >= 0 {
			return "+" + d.String()
		}
		return d.String()
	}
	terrible := ""
	if e.IsTerrible(s.now) {
		terrible = " terrible"
	}
	return fmt.Sprintf("%s %s seen=%s try=%s success=%s attempts=%d source=%v%s",
		e.Addr, table, at(e.Seen), at(e.LastTry), at(e.LastSuccess), e.Attempts, e.Source, terrible)
}

func (s *scenario) addr(v string) Addr {
	a, err := ParseAddr(v)
	if err != nil {
		s.fail("%q: %v", v, err)
	}
	return a
}

func (s *scenario) num(v string) uint64 {
	n, err := strconv.ParseUint(v, 0, 64)
	if err != nil {
		s.fail("%q: %v", v, err)
	}
	return n
}

func (s *scenario) dur(v string) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil {
		s.fail("%q: %v", v, err)
	}
	return d
}
