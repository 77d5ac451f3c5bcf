package connmgr

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	script "github.com/peerd/peerd/internal/scenario"
)

var update = flag.Bool("update", false, "rewrite the expected output of scenario scripts")

// Scenario scripts (testdata/scenarios/*.txt) drive one manager on a fake
// clock, one script per rule of the policy. A script is a series of blocks
// separated by blank lines; each block is comment lines (#), commands, a
// line "----", then the expected output: the actions the commands
// produced, one per line, and "timer +D" (since the start) or "timer none"
// whenever the manager's deadline changed. `go test ./node/connmgr -run
// Scenarios -update` rewrites the expected output; review the diff.
//
// Commands:
//
//	start [key=value...]           a new manager, started; keys: maxpeers, target,
//	                               retrymin, retrymax, pending, peraddr, discourage,
//	                               connect=a,b  addpeer=a,b  seeds=true  v2=true
//	                               book=true (a fake address book, implied by seeds=true)
//	                               booklen=N (the fake book claims N more addresses)
//	                               seednames=a,b (the seeds' names, asked by addr-fetch)
//	                               ban=PREFIX/DURATION (a ban loaded from disk)
//	new [key=value...]             the same, not started yet
//	begin                          EvStart for a manager made by new
//	inbound ID ADDR                a connection accepted from ADDR
//	connected ID DIAL ADDR [nonce=N]   dial DIAL reached ADDR ("-": a name, no address)
//	dialfail DIAL [proxydown]      dial DIAL failed (proxydown: the proxy could not be reached)
//	ready ID                       peer ID finished its handshake
//	closed ID [misbehaved|v2refused]  peer ID ended (v2refused: a v2 attempt
//	                               closed before any reply)
//	seeds [ADDR...]                the DNS seeds' answer (the addresses go into the book;
//	                               none: with the error "seed.example: no such host")
//	fetched ID N                   addr-fetch peer ID answered with N addresses
//	book ADDR...                   addresses enter the fake book's new table
//	                               (its Select takes them in turn; Group is the /16);
//	                               NAME.onion:PORT is an onion service, of group "onion N"
//	tried ADDR                     the fake book moves ADDR to tried (the node's Good)
//	ping ID DURATION               peer ID's lowest ping, as the node would report it
//	advance DURATION               move the clock and tick
//	cmd add|remove|onetry ADDR [v1|v2]  addnode (v1, v2: its v2transport false, true)
//	cmd ban PREFIX DURATION | cmd unban PREFIX | cmd clearbans
//	cmd disconnect ID | cmd disconnect-addr ADDR | cmd disconnect-all
//	nonce N                        print whether N is one of our unfinished outbound nonces
//	state                          print the peers and counters
func TestScenarios(t *testing.T) {
	script.Each(t, func(t *testing.T, file string) {
		runScenario(t, file)
	})
}

type scenario struct {
	t        *testing.T
	book     *fakeBook
	start    time.Time
	now      time.Time
	m        *Manager
	pings    map[uint64]time.Duration
	deadline time.Time
	out      []string
}

func runScenario(t *testing.T, file string) {
	s := &scenario{t: t, start: time.Unix(1_700_000_000, 0)}
	s.now = s.start
	script.Run(t, file, *update, func(cmd string) []string {
		s.out = s.out[:0]
		s.run(cmd)
		return s.out
	})
}

func (s *scenario) fail(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf(format, args...)
}

func (s *scenario) step(ev Event) {
	ev.Now = s.now
	if ev.Kind == EvInbound {
		ev.MinPing = func(id uint64) time.Duration { return s.pings[id] }
	}
	for _, a := range s.m.Step(ev) {
		line := a.String()
		if a.Kind == ActPersistBans {
			for _, b := range a.Bans {
				line += " until +" + b.Until.Sub(s.start).String()
			}
		}
		s.out = append(s.out, line)
	}
	if d := s.m.Deadline(); !d.Equal(s.deadline) {
		s.deadline = d
		if d.IsZero() {
			s.out = append(s.out, "timer none")
		} else {
			s.out = append(s.out, "timer +"+d.Sub(s.start).String())
		}
	}
}

func (s *scenario) run(line string) {
	f := strings.Fields(line)
	arg := func(i int) string {
		if i >= len(f) {
			s.fail("%q: argument %d missing", line, i)
		}
		return f[i]
	}
	switch f[0] {
	case "start", "new":
		s.newManager(f[1:])
		if f[0] == "start" {
			s.step(Event{Kind: EvStart})
		}
	case "begin":
		s.step(Event{Kind: EvStart})
	case "inbound":
		s.step(Event{Kind: EvInbound, ID: s.num(arg(1)), Remote: s.addrPort(arg(2))})
	case "connected":
		ev := Event{Kind: EvConnected, ID: s.num(arg(1)), Dial: s.num(arg(2)), Remote: s.addrPort(arg(3))}
		if len(f) > 4 {
			ev.Nonce = s.num(strings.TrimPrefix(f[4], "nonce="))
		}
		s.step(ev)
	case "dialfail":
		ev := Event{Kind: EvDialFailed, Dial: s.num(arg(1)), Err: errors.New("connection refused")}
		if len(f) > 2 && f[2] == "proxydown" {
			ev.ProxyDown, ev.Err = true, errors.New("proxy 127.0.0.1:9050: connection refused")
		}
		s.step(ev)
	case "ready":
		s.step(Event{Kind: EvReady, ID: s.num(arg(1))})
	case "closed":
		s.step(Event{Kind: EvClosed, ID: s.num(arg(1)), Reason: "eof",
			Misbehaved: len(f) > 2 && f[2] == "misbehaved", V2Refused: len(f) > 2 && f[2] == "v2refused"})
	case "seeds":
		var addrs []netip.AddrPort
		for _, a := range f[1:] {
			addrs = append(addrs, s.addrPort(a))
			s.book.add(s.addrPort(a).String())
		}
		ev := Event{Kind: EvSeeds, Addrs: addrs}
		if len(addrs) == 0 {
			ev.Err = errors.New("seed.example: no such host")
		}
		s.step(ev)
	case "fetched":
		s.step(Event{Kind: EvAddrFetched, ID: s.num(arg(1)), Count: int(s.num(arg(2)))})
	case "book":
		for _, a := range f[1:] {
			if host, _, _ := strings.Cut(a, ":"); strings.HasSuffix(host, ".onion") {
				s.book.add(a)
				continue
			}
			s.book.add(s.addrPort(a).String())
		}
	case "tried":
		s.book.tried[s.addrPort(arg(1)).String()] = true
	case "bookv2":
		// Addresses the book says offer NODE_P2P_V2.
		for _, a := range f[1:] {
			a = s.addrPort(a).String()
			s.book.add(a)
			s.book.v2[a] = true
		}
	case "ping":
		s.pings[s.num(arg(1))] = s.dur(arg(2))
	case "advance":
		s.now = s.now.Add(s.dur(arg(1)))
		s.step(Event{Kind: EvTick})
	case "cmd":
		s.command(f[1:])
	case "nonce":
		s.out = append(s.out, fmt.Sprintf("own nonce %s: %v", arg(1), s.m.IsOwnNonce(s.num(arg(1)))))
	case "state":
		var ps []string
		for _, c := range s.m.sortedPeers() {
			addr := c.remote.String()
			if !c.remote.IsValid() {
				addr = c.target // a name, through a proxy
			}
			p := fmt.Sprintf("%d %s %s", c.id, c.kind, addr)
			if c.ready {
				p += " ready"
			}
			if c.leaving {
				p += " leaving"
			}
			ps = append(ps, p)
		}
		s.out = append(s.out, fmt.Sprintf("peers [%s] live %d inbound %d seed %d ready %d book %d bans %d",
			strings.Join(ps, ", "), s.m.live(), s.m.inbound, s.m.seedPeers, s.m.autoReady, s.book.Len(), len(s.m.Bans(s.now))))
		if s.m.privates > 0 || s.m.privLive > 0 {
			s.out = append(s.out, fmt.Sprintf("private %d (live peers %d) slots %d", s.m.privates, s.m.privLive, s.m.slots()))
		}
	default:
		s.fail("unknown command %q", line)
	}
}

func (s *scenario) command(f []string) {
	if len(f) == 0 {
		s.fail("cmd: which?")
	}
	ev := Event{Kind: EvCmd}
	a := func(i int) string {
		if i >= len(f) {
			s.fail("cmd %s: argument missing", f[0])
		}
		return f[i]
	}
	if isAddnode := f[0] == "add" || f[0] == "remove" || f[0] == "onetry" || f[0] == "private"; isAddnode && len(f) > 2 {
		switch f[2] {
		case "v1":
			ev.Transport = TransportV1
		case "v2":
			ev.Transport = TransportV2
		default:
			s.fail("cmd %s: unknown argument %q", f[0], f[2])
		}
	}
	switch f[0] {
	case "add":
		ev.Cmd, ev.Target = CmdAdd, a(1)
	case "remove":
		ev.Cmd, ev.Target = CmdRemove, a(1)
	case "onetry":
		ev.Cmd, ev.Target = CmdOneTry, a(1)
	case "private":
		ev.Cmd, ev.Target = CmdPrivate, a(1)
	case "ban":
		ev.Cmd, ev.Subnet, ev.Until = CmdBan, s.prefix(a(1)), s.now.Add(s.dur(a(2)))
	case "unban":
		ev.Cmd, ev.Subnet = CmdUnban, s.prefix(a(1))
	case "clearbans":
		ev.Cmd = CmdClearBans
	case "disconnect":
		ev.Cmd, ev.ID = CmdDisconnect, s.num(a(1))
	case "disconnect-addr":
		ev.Cmd, ev.Remote = CmdDisconnectAddr, s.addrPort(a(1))
	case "disconnect-all":
		ev.Cmd = CmdDisconnectAll
	default:
		s.fail("unknown cmd %q", f[0])
	}
	s.step(ev)
}

func (s *scenario) newManager(args []string) {
	cfg := Config{MaxPeers: 125, TargetOutbound: 8, RetryMin: 5 * time.Second, RetryMax: 5 * time.Minute,
		MaxPendingPerSubnet: 8, DiscourageTime: 24 * time.Hour}
	s.book = &fakeBook{tried: map[string]bool{}, v2: map[string]bool{}}
	useBook := false
	for _, kv := range args {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			s.fail("start: %q is not key=value", kv)
		}
		switch k {
		case "maxpeers":
			cfg.MaxPeers = int(s.num(v))
		case "target":
			cfg.TargetOutbound = int(s.num(v))
		case "retrymin":
			cfg.RetryMin = s.dur(v)
		case "retrymax":
			cfg.RetryMax = s.dur(v)
		case "pending":
			cfg.MaxPendingPerSubnet = int(s.num(v))
		case "peraddr":
			cfg.MaxPerAddress = int(s.num(v))
		case "discourage":
			cfg.DiscourageTime = s.dur(v)
		case "connect":
			cfg.Connect = strings.Split(v, ",")
		case "addpeer":
			cfg.AddPeer = strings.Split(v, ",")
		case "seeds":
			cfg.Seeds = v == "true"
			useBook = useBook || cfg.Seeds
		case "book":
			useBook = v == "true"
		case "seednames":
			cfg.SeedNames = strings.Split(v, ",")
		case "booklen":
			s.book.extra = int(s.num(v))
		case "v2":
			cfg.V2 = v == "true"
		case "maxprivate":
			cfg.MaxPrivate = int(s.num(v))
		case "ban":
			p, d, _ := strings.Cut(v, "/")
			bits, d, _ := strings.Cut(d, "/")
			cfg.Bans = append(cfg.Bans, Ban{Subnet: s.prefix(p + "/" + bits), Created: s.now, Until: s.now.Add(s.dur(d))})
		default:
			s.fail("start: unknown key %q", k)
		}
	}
	if useBook {
		cfg.Book = s.book
	}
	m, err := New(cfg)
	if err != nil {
		s.fail("New: %v", err)
	}
	s.m, s.pings, s.deadline = m, map[uint64]time.Duration{}, time.Time{}
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

func (s *scenario) addrPort(v string) netip.AddrPort {
	if v == "-" {
		return netip.AddrPort{} // a connection to a name, through a proxy
	}
	a, err := netip.ParseAddrPort(v)
	if err != nil {
		s.fail("%q: %v", v, err)
	}
	return a
}

func (s *scenario) prefix(v string) netip.Prefix {
	p, err := netip.ParsePrefix(v)
	if err != nil {
		s.fail("%q: %v", v, err)
	}
	return p
}

// fakeBook is the scenarios' address book: Select takes its addresses in
// turn (from new only when asked), Group is the /16 of IPv4 (/32 of IPv6),
// and "onion X" for an onion service whose name starts with X.
type fakeBook struct {
	addrs []string // "ip:port" or "NAME.onion:port"
	tried map[string]bool
	v2    map[string]bool // addresses offering NODE_P2P_V2
	next  int
	extra int // addresses claimed beyond addrs, for Len
}

func (b *fakeBook) add(addrs ...string) {
	for _, a := range addrs {
		if !slices.Contains(b.addrs, a) {
			b.addrs = append(b.addrs, a)
		}
	}
}

func (b *fakeBook) Select(_ time.Time, newOnly bool) (Candidate, bool) {
	for i := range b.addrs {
		j := (b.next + i) % len(b.addrs)
		if newOnly && b.tried[b.addrs[j]] {
			continue
		}
		b.next = j + 1
		if ap, err := netip.ParseAddrPort(b.addrs[j]); err == nil {
			c := CandidateOf(ap)
			c.V2 = b.v2[b.addrs[j]]
			return c, true
		}
		return Candidate{Target: b.addrs[j], Group: "onion " + b.addrs[j][:1]}, true
	}
	return Candidate{}, false
}

func (b *fakeBook) Group(ip netip.Addr) string {
	bits := 32
	if ip.Is4() {
		bits = 16
	}
	p, _ := ip.Prefix(bits)
	return p.String()
}

func (b *fakeBook) Len() int { return len(b.addrs) + b.extra }
