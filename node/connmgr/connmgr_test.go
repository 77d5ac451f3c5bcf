package connmgr

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

func testManager(t *testing.T, cfg Config) *Manager {
	t.Helper()
	if cfg.MaxPeers == 0 {
		cfg.MaxPeers = 125
	}
	if cfg.RetryMin == 0 {
		cfg.RetryMin, cfg.RetryMax = 5*time.Second, 5*time.Minute
	}
	if cfg.DiscourageTime == 0 {
		cfg.DiscourageTime = 24 * time.Hour
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.Step(Event{Kind: EvStart, Now: t0})
	return m
}

func TestNewRefusesBadConfig(t *testing.T) {
	good := Config{MaxPeers: 1, RetryMin: time.Second, RetryMax: time.Second, DiscourageTime: time.Hour}
	for _, c := range []struct {
		name string
		edit func(*Config)
	}{
		{"no peers", func(c *Config) { c.MaxPeers = 0 }},
		{"negative target", func(c *Config) { c.TargetOutbound = -1 }},
		{"no back-off", func(c *Config) { c.RetryMin = 0 }},
		{"max below min", func(c *Config) { c.RetryMax = c.RetryMin / 2 }},
		{"no discouragement", func(c *Config) { c.DiscourageTime = 0 }},
	} {
		cfg := good
		c.edit(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	if _, err := New(good); err != nil {
		t.Fatal(err)
	}
}

// Single transitions on bad or stray input: each gets a specific answer,
// or none, and never a panic.
func TestStrayEvents(t *testing.T) {
	ap := netip.MustParseAddrPort("10.0.0.1:1")
	cases := []struct {
		name string
		ev   Event
		want error // nil: no ActRefuse expected
	}{
		{"inbound without address", Event{Kind: EvInbound, ID: 1}, ErrBadAddress},
		{"inbound with id 0", Event{Kind: EvInbound, Remote: ap}, ErrDuplicateID},
		{"connected for no dial", Event{Kind: EvConnected, ID: 1, Dial: 42, Remote: ap}, ErrUnknownDial},
		{"failure of no dial", Event{Kind: EvDialFailed, Dial: 42}, nil},
		{"ready of no peer", Event{Kind: EvReady, ID: 9}, nil},
		{"end of no peer", Event{Kind: EvClosed, ID: 9, Misbehaved: true}, nil},
		{"unknown command", Event{Kind: EvCmd, Cmd: 200}, ErrBadCommand},
		{"no command", Event{Kind: EvCmd}, ErrBadCommand},
		{"add empty", Event{Kind: EvCmd, Cmd: CmdAdd}, ErrBadAddress},
		{"onetry empty", Event{Kind: EvCmd, Cmd: CmdOneTry}, ErrBadAddress},
		{"ban no subnet", Event{Kind: EvCmd, Cmd: CmdBan, Until: t0.Add(time.Hour)}, ErrBadSubnet},
		{"ban in the past", Event{Kind: EvCmd, Cmd: CmdBan, Subnet: netip.MustParsePrefix("10.0.0.0/8"), Until: t0}, ErrBadBanTime},
		{"unban no subnet", Event{Kind: EvCmd, Cmd: CmdUnban}, ErrNotBanned},
		{"disconnect no peer", Event{Kind: EvCmd, Cmd: CmdDisconnect, ID: 5}, ErrNoPeer},
		{"disconnect no address", Event{Kind: EvCmd, Cmd: CmdDisconnectAddr}, ErrNoPeer},
		{"unknown event", Event{Kind: 99}, nil},
	}
	for _, c := range cases {
		m := testManager(t, Config{})
		c.ev.Now = t0
		var got error
		for _, a := range m.Step(c.ev) {
			if a.Kind == ActRefuse {
				got = a.Err
			}
		}
		if (c.want == nil) != (got == nil) || (c.want != nil && !errors.Is(got, c.want)) {
			t.Errorf("%s: refused with %v, want %v", c.name, got, c.want)
		}
		if len(m.peers) != 0 || m.live() != 0 {
			t.Errorf("%s: left peers behind: %d", c.name, len(m.peers))
		}
	}
}

// The admission counts follow inbound peers through arrival, handshake and
// departure, whatever the order of the last two, and keep no empty entry.
func TestAdmissionCounts(t *testing.T) {
	m := testManager(t, Config{})
	ipA, ipB := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	sub := netip.MustParsePrefix("10.0.0.0/24")
	sub6 := netip.MustParsePrefix("2001:db8::/64")
	step := func(ev Event) {
		ev.Now = t0
		m.Step(ev)
	}
	check := func(what string, perA, perB, pending, pending6, peers int) {
		t.Helper()
		if m.perIP[ipA] != perA || m.perIP[ipB] != perB || m.pending[sub] != pending ||
			m.pending[sub6] != pending6 || len(m.peers) != peers || m.inbound != peers {
			t.Fatalf("%s: perIP %d/%d, pending %d (v6 %d), peers %d/%d; want %d/%d, %d (v6 %d), %d", what,
				m.perIP[ipA], m.perIP[ipB], m.pending[sub], m.pending[sub6], len(m.peers), m.inbound,
				perA, perB, pending, pending6, peers)
		}
	}
	in := func(id uint64, a string) Event {
		return Event{Kind: EvInbound, ID: id, Remote: netip.MustParseAddrPort(a)}
	}
	step(in(1, "10.0.0.1:1"))
	step(in(2, "10.0.0.1:2"))
	step(in(3, "10.0.0.2:1"))
	step(in(4, "[2001:db8::1]:3"))
	check("four arrive", 2, 1, 3, 1, 4)
	step(Event{Kind: EvReady, ID: 1})
	step(Event{Kind: EvReady, ID: 1}) // reported twice: counted once
	check("one ready", 2, 1, 2, 1, 4)
	step(Event{Kind: EvClosed, ID: 2}) // leaves before its handshake finished
	check("pending one leaves", 1, 1, 1, 1, 3)
	step(Event{Kind: EvClosed, ID: 1}) // leaves after it
	check("ready one leaves", 0, 1, 1, 1, 2)
	step(Event{Kind: EvClosed, ID: 1}) // twice
	check("reported twice", 0, 1, 1, 1, 2)
	step(Event{Kind: EvClosed, ID: 3})
	step(Event{Kind: EvClosed, ID: 4})
	check("all gone", 0, 0, 0, 0, 0)
	if len(m.perIP) != 0 || len(m.pending) != 0 || m.leaving != 0 {
		t.Fatalf("maps keep empty entries: %v %v, leaving %d", m.perIP, m.pending, m.leaving)
	}
}

// The discouraged table never grows past MaxDiscouraged: the entry that
// expires first makes room.
func TestDiscouragedBounded(t *testing.T) {
	m := testManager(t, Config{})
	var out []Action
	for i := range MaxDiscouraged + 10 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		m.discourage(ip, t0.Add(time.Duration(i)*time.Second), &out)
	}
	if len(m.discouraged) != MaxDiscouraged {
		t.Fatalf("%d discouraged, want %d", len(m.discouraged), MaxDiscouraged)
	}
	if m.Discouraged(netip.AddrFrom4([4]byte{10, 0, 0, 0}), t0) {
		t.Fatal("the first to expire was kept")
	}
	if !m.Discouraged(netip.AddrFrom4([4]byte{10, 0, 0, 10}), t0) {
		t.Fatal("the 11th was dropped")
	}
}

// Every way an addr-fetch connection can end (answered, dial failed,
// refused for want of a slot, misbehaved, no answer in time) ends the
// seed query once: the next query waits RetryMax after an answer with
// addresses, RetryMin after none; nothing is left counted.
func TestAddrFetchEnds(t *testing.T) {
	const name = "seed.example:8333"
	cases := []struct {
		name  string
		run   func(m *Manager, step func(Event) []Action)
		count int // addresses the query brought
	}{
		{"answered", func(m *Manager, step func(Event) []Action) {
			step(Event{Kind: EvConnected, ID: 1, Dial: 1})
			step(Event{Kind: EvReady, ID: 1})
			acts := step(Event{Kind: EvAddrFetched, ID: 1, Count: 7})
			if len(acts) < 1 || acts[len(acts)-1].Kind != ActDisconnect || acts[len(acts)-1].Why != WhyAddrFetch {
				t.Errorf("answered: %v, want a disconnect", acts)
			}
			step(Event{Kind: EvClosed, ID: 1})
		}, 7},
		{"dial failed", func(m *Manager, step func(Event) []Action) {
			step(Event{Kind: EvDialFailed, Dial: 1, Err: errors.New("proxy down")})
		}, 0},
		{"refused", func(m *Manager, step func(Event) []Action) {
			for i := range uint64(2) {
				step(Event{Kind: EvInbound, ID: 10 + i, Remote: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 1)})
			}
			step(Event{Kind: EvConnected, ID: 1, Dial: 1})
			step(Event{Kind: EvClosed, ID: 10})
			step(Event{Kind: EvClosed, ID: 11})
		}, 0},
		{"misbehaved", func(m *Manager, step func(Event) []Action) {
			step(Event{Kind: EvConnected, ID: 1, Dial: 1})
			step(Event{Kind: EvClosed, ID: 1, Misbehaved: true})
		}, 0},
		{"timeout", func(m *Manager, step func(Event) []Action) {
			step(Event{Kind: EvConnected, ID: 1, Dial: 1})
			step(Event{Kind: EvTick, Now: t0.Add(AddrFetchTimeout - time.Second)})
			if m.peers[1].leaving {
				t.Error("timeout: closed early")
			}
		}, 0},
	}
	for _, c := range cases {
		m := testManager(t, Config{MaxPeers: 2, TargetOutbound: 1, Seeds: true, SeedNames: []string{name}, Book: &fakeBook{}})
		if d, ok := m.dials[1]; !ok || d.kind != KindAddrFetch || d.target != name || d.v2 {
			t.Fatalf("%s: dials %v", c.name, m.dials)
		}
		now := t0
		step := func(ev Event) []Action {
			if ev.Now.IsZero() {
				ev.Now = now
			}
			return m.Step(ev)
		}
		c.run(m, step)
		if c.name == "timeout" {
			now = t0.Add(AddrFetchTimeout)
			step(Event{Kind: EvTick})
			if !m.peers[1].leaving {
				t.Fatalf("timeout: not disconnected")
			}
			step(Event{Kind: EvClosed, ID: 1})
		}
		want := t0.Add(m.cfg.RetryMin)
		if c.count > 0 {
			want = t0.Add(m.cfg.RetryMax)
		}
		if c.name == "timeout" {
			want = now.Add(m.cfg.RetryMin)
		}
		if m.querying || m.fetching != 0 || !m.seedAt.Equal(want) || len(m.peers) != 0 || len(m.busy) != 0 ||
			len(m.discouraged) != 0 {
			t.Errorf("%s: querying %v fetching %d seedAt +%v (want +%v) peers %d busy %v discouraged %v", c.name,
				m.querying, m.fetching, m.seedAt.Sub(t0), want.Sub(t0), len(m.peers), m.busy, m.discouraged)
		}
	}
	if KindAddrFetch.String() != "addr-fetch" || WhyAddrFetch.String() != "addr-fetch done" {
		t.Fatal("names")
	}
}
