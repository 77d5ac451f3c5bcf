package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/proxydial"
	"github.com/peerd/peerd/internal/socks5test"
	"github.com/peerd/peerd/internal/wireio"
	"github.com/peerd/peerd/node/addrbook"
	"github.com/peerd/peerd/node/connmgr"
)

// onlyProxy is a node's direct dialer when it has a proxy: it may open
// connections to the proxy and nothing else; anything else fails the test.
func onlyProxy(t *testing.T, proxy string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr != proxy {
			t.Errorf("direct dial of %s with --proxy=%s", addr, proxy)
			return nil, errors.New("direct dial")
		}
		return (&net.Dialer{KeepAlive: -1}).DialContext(ctx, network, addr)
	}
}

// noLookup fails the test if a DNS query is made.
func noLookup(t *testing.T) func(ctx context.Context, host string) ([]string, error) {
	return func(ctx context.Context, host string) ([]string, error) {
		t.Errorf("DNS query for %s with a proxy set", host)
		return nil, errors.New("no DNS")
	}
}

// With --proxy every outbound connection goes through the proxy: the
// proxy's log holds one CONNECT per outbound connection, each with its own
// random credentials (and none with NoProxyRandomize), the node dials
// nothing but the proxy, and its peers' addresses are the targets.
func TestProxyCarriesEveryOutbound(t *testing.T) {
	base := runtime.NumGoroutine()
	for _, randomize := range []bool{true, false} {
		t.Run(fmt.Sprintf("randomize=%v", randomize), func(t *testing.T) {
			var targets []string
			for range 3 {
				targets = append(targets, startNode(t, testConfig()).addr)
			}
			// A server that takes the client's first offer it accepts:
			// with credentials offered, one that accepts only them.
			s := socks5test.Start(t, socks5test.Options{UserPass: randomize, NoAuth: !randomize})
			cfg := testConfig()
			cfg.NoListen = true
			cfg.Connect = targets
			cfg.Proxy = s.Addr()
			cfg.NoProxyRandomize = !randomize
			cfg.Dial = onlyProxy(t, s.Addr())
			cfg.LookupHost = noLookup(t)
			rec := &stepRecorder{}
			n := startNodeWith(t, cfg, rec)
			waitFor(t, "3 peers in standby", func() bool {
				ready := 0
				for _, p := range n.Peers() {
					if p.State == "standby" {
						ready++
					}
				}
				return ready == 3
			})
			var addrs []string
			for _, p := range n.Peers() {
				addrs = append(addrs, p.Addr)
			}
			conns := s.Conns()
			var proxied []string
			creds := map[string]bool{}
			for _, c := range conns {
				proxied = append(proxied, c.Target)
				creds[c.User+":"+c.Password] = true
				if randomize == (c.User == "" || c.Password == "") {
					t.Errorf("randomize=%v, credentials %q:%q", randomize, c.User, c.Password)
				}
			}
			connected := rec.count(func(st recordedStep) bool { return st.ev.Kind == connmgr.EvConnected })
			slices.Sort(targets)
			slices.Sort(addrs)
			slices.Sort(proxied)
			if !slices.Equal(addrs, targets) || !slices.Equal(proxied, targets) || connected != 3 {
				t.Fatalf("peers %v, through the proxy %v, %d connections; want %v each", addrs, proxied, connected, targets)
			}
			if randomize && len(creds) != 3 || !randomize && len(creds) != 1 {
				t.Fatalf("randomize=%v: %d distinct credentials in %d connections", randomize, len(creds), len(conns))
			}
		})
	}
	settleGoroutines(t, base)
}

// seedPeer is a DNS seed's node as the proxy reaches it: it accepts
// connections, answers the handshake, answers getaddr with addrs, and
// reports when the other side has closed the connection.
type seedPeer struct {
	l      net.Listener
	addrs  []netip.AddrPort
	closed chan error
	wg     sync.WaitGroup
}

func startSeedPeer(t *testing.T, addrs []netip.AddrPort) *seedPeer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &seedPeer{l: l, addrs: addrs, closed: make(chan error, 4)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				s.closed <- s.serve(c)
			}()
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *seedPeer) close() { s.l.Close(); s.wg.Wait() }

// serve answers one connection; nil means the node closed it after our
// answer to its getaddr.
func (s *seedPeer) serve(c net.Conn) error {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	params := chaincfg.RegressionNetParams
	r, w := wireio.NewReader(c, params.Net), wireio.NewWriter(c, params.Net)
	answered := false
	for {
		msg, err := r.Next()
		if err != nil {
			if answered {
				return nil
			}
			return fmt.Errorf("seed: closed before getaddr: %w", err)
		}
		switch m := msg.(type) {
		case *wire.MsgVersion:
			v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 0x5eed5eed, 0)
			v.Services = wire.SFNodeNetwork | wire.SFNodeWitness
			w.Write(v)
			w.Write(wire.NewMsgVerAck())
		case *wire.MsgPing:
			w.Write(wire.NewMsgPong(m.Nonce))
		case *wire.MsgGetAddr:
			a := wire.NewMsgAddr()
			for _, ap := range s.addrs {
				a.AddAddress(wire.NewNetAddressIPPort(net.IP(ap.Addr().AsSlice()), ap.Port(),
					wire.SFNodeNetwork|wire.SFNodeWitness))
			}
			if err := w.Write(a); err != nil {
				return err
			}
			answered = true
		}
	}
}

// count counts the recorded steps that match accepts.
func (r *stepRecorder) count(match func(recordedStep) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := 0
	for _, st := range r.steps {
		if match(st) {
			c++
		}
	}
	return c
}

// The DNS seed step through the proxy: the seed's name reaches the proxy
// unresolved (no DNS query here), the node handshakes with the seed's
// node over an addr-fetch connection, takes its answer into the book and
// disconnects.
func TestProxySeedAddrFetch(t *testing.T) {
	base := runtime.NumGoroutine()
	var want []netip.AddrPort
	for i := range 5 {
		want = append(want, netip.MustParseAddrPort(fmt.Sprintf("127.77.%d.1:1", i)))
	}
	seed := startSeedPeer(t, want)
	defer seed.close()
	_, port, _ := net.SplitHostPort(seed.l.Addr().String())
	s := socks5test.Start(t, socks5test.Options{Resolve: map[string]string{"seed.example": "127.0.0.1"}})
	params := chaincfg.RegressionNetParams
	params.DefaultPort = port
	params.DNSSeeds = []chaincfg.DNSSeed{{Host: "seed.example"}}
	cfg := testConfig()
	cfg.Params = &params
	cfg.NoListen = true
	cfg.Proxy = s.Addr()
	cfg.Dial = onlyProxy(t, s.Addr())
	cfg.LookupHost = noLookup(t)
	rec := &stepRecorder{}
	n := startNodeWith(t, cfg, rec)

	select {
	case err := <-seed.closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the seed's node was not asked and left")
	}
	dial := rec.wait(t, "the addr-fetch dial", func(st recordedStep) bool {
		for _, a := range st.acts {
			if a.Kind == connmgr.ActDial && a.Conn == connmgr.KindAddrFetch {
				return true
			}
		}
		return false
	})
	rec.wait(t, "the answer", func(st recordedStep) bool {
		return st.ev.Kind == connmgr.EvAddrFetched && st.ev.Count == len(want)
	})
	if c := s.Conns()[0]; !c.Name || c.Target != "seed.example:"+port {
		t.Fatalf("the proxy was asked for %+v, want the name seed.example:%s", c, port)
	}
	if names := s.Names(); len(names) == 0 || names[0] != "seed.example" {
		t.Fatalf("the proxy resolved %v", names)
	}
	n.bookMu.Lock()
	for _, ap := range want {
		if _, ok := n.book.Lookup(addrbook.AddrFrom(ap)); !ok {
			t.Errorf("%v not in the book", ap)
		}
	}
	n.bookMu.Unlock()
	if a := dial.acts[0]; a.V2 {
		t.Errorf("addr-fetch dialled with v2: %v", a)
	}
	n.stop()
	s.Close()
	seed.close()
	settleGoroutines(t, base)
}

// A proxy that is down, refuses, or answers garbage: the dial fails with
// an error naming the proxy and the target, the kept address backs off,
// nothing is dialled directly, and no goroutine is left.
func TestProxyFailures(t *testing.T) {
	base := runtime.NumGoroutine()
	target := startNode(t, testConfig())
	down, _ := net.Listen("tcp", "127.0.0.1:0")
	downAddr := down.Addr().String()
	down.Close()
	refusing := socks5test.Start(t, socks5test.Options{Refuse: true})
	garbage, _ := net.Listen("tcp", "127.0.0.1:0")
	var gwg sync.WaitGroup
	gwg.Add(1)
	go func() {
		defer gwg.Done()
		for {
			c, err := garbage.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("\x05\xff garbage"))
			c.Close()
		}
	}()
	for _, c := range []struct{ name, proxy, says string }{
		{"down", downAddr, "connecting to the proxy"},
		{"refusing", refusing.Addr(), "not allowed by ruleset"},
		{"garbage", garbage.Addr().String(), "SOCKS5 handshake"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.NoListen = true
			cfg.Connect = []string{target.addr}
			cfg.Proxy = c.proxy
			cfg.Dial = onlyProxy(t, c.proxy)
			cfg.LookupHost = noLookup(t)
			rec := &stepRecorder{}
			n := startNodeWith(t, cfg, rec)
			var fails []error
			rec.wait(t, "two failed dials and a back-off", func(st recordedStep) bool {
				if st.ev.Kind == connmgr.EvDialFailed {
					fails = append(fails, st.ev.Err)
				}
				return len(fails) >= 2 && slices.ContainsFunc(st.acts, func(a connmgr.Action) bool {
					return a.Kind == connmgr.ActNote && strings.HasPrefix(a.Note, "reconnecting to "+target.addr+" in 100ms")
				})
			})
			var pe *proxydial.Error
			if !errors.As(fails[0], &pe) || pe.Proxy != c.proxy || pe.Target != target.addr || !strings.Contains(fails[0].Error(), c.says) {
				t.Fatalf("dial failed with %v, want a proxydial.Error for %s to %s saying %q", fails[0], c.proxy, target.addr, c.says)
			}
			if n.PeerCount() != 0 || target.PeerCount() != 0 {
				t.Fatal("connected without the proxy")
			}
			n.stop()
		})
	}
	garbage.Close()
	gwg.Wait()
	refusing.Close()
	target.stop()
	settleGoroutines(t, base)
}

// .onion addresses: never dialled without a proxy that reaches Tor; with
// --onion they go to the onion proxy (by name), the rest to --proxy.
func TestOnionNeedsProxy(t *testing.T) {
	const onion = "vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd.onion:8333"
	cfg := testConfig()
	cfg.NoListen = true
	cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		t.Errorf("dialled %s", addr)
		return nil, errors.New("no")
	}
	rec := &stepRecorder{}
	n := startNodeWith(t, cfg, rec)
	if err := n.ConnectOnce(onion, TransportAuto); err != nil {
		t.Fatal(err)
	}
	st := rec.wait(t, "the onion dial to fail", func(st recordedStep) bool { return st.ev.Kind == connmgr.EvDialFailed })
	if !errors.Is(st.ev.Err, proxydial.ErrNoOnionProxy) {
		t.Fatalf("onion without a proxy: %v", st.ev.Err)
	}

	plain := socks5test.Start(t, socks5test.Options{})
	tor := socks5test.Start(t, socks5test.Options{})
	cfg = testConfig()
	cfg.NoListen = true
	cfg.Proxy, cfg.Onion = plain.Addr(), tor.Addr()
	cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr != plain.Addr() && addr != tor.Addr() {
			t.Errorf("direct dial of %s", addr)
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	rec = &stepRecorder{}
	n = startNodeWith(t, cfg, rec)
	n.ConnectOnce(onion, TransportV1)
	n.ConnectOnce("127.0.0.1:1", TransportV1)
	waitFor(t, "both dials to fail", func() bool {
		return rec.count(func(st recordedStep) bool { return st.ev.Kind == connmgr.EvDialFailed }) == 2
	})
	// The test's onion proxy cannot resolve the name: it was asked to.
	if names := tor.Names(); len(names) != 1 || names[0]+":8333" != onion || len(plain.Names()) != 0 {
		t.Fatalf("the onion proxy resolved %v, the other %v", names, plain.Names())
	}
	if c := plain.Conns(); len(c) != 1 || c[0].Target != "127.0.0.1:1" {
		t.Fatalf("the proxy saw %+v", c)
	}
}

// --onlynet limits the automatic connections' networks; onion is reachable
// only through a proxy; bad values are refused at New.
func TestReachable(t *testing.T) {
	v4, v6, tor := addrbook.NetIPv4, addrbook.NetIPv6, addrbook.NetTorV3
	for _, c := range []struct {
		cfg  Config
		want []addrbook.Network
		err  string
	}{
		{Config{}, []addrbook.Network{v4, v6}, ""},
		{Config{Proxy: "p:1"}, []addrbook.Network{v4, v6, tor}, ""},
		{Config{Onion: "o:1"}, []addrbook.Network{v4, v6, tor}, ""},
		{Config{Onion: "o:1", OnlyNet: []string{"onion"}}, []addrbook.Network{tor}, ""},
		{Config{Proxy: "p:1", OnlyNet: []string{"ipv4", "onion", "ipv4"}}, []addrbook.Network{v4, tor}, ""},
		{Config{OnlyNet: []string{"onion"}}, nil, "no proxy to reach the Tor network"},
		{Config{OnlyNet: []string{"i2p"}}, nil, "unknown network"},
		{Config{Proxy: "localhost"}, nil, "want HOST:PORT"},
	} {
		got, err := reachable(c.cfg)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%+v: %v, want %q", c.cfg, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%+v: %v %v, want %v", c.cfg, got, err, c.want)
		}
	}
	cfg := testConfig()
	cfg.OnlyNet = []string{"onion"}
	if _, err := New(cfg); err == nil {
		t.Fatal("New took --onlynet=onion without a proxy")
	}
}

// With --onlynet=onion, the book's IPv4 addresses are never drawn; its
// onion service is, goes to the proxy by name (the test's proxy maps it to
// a loopback node), and becomes an automatic peer known by its onion name.
func TestOnlyNetOnion(t *testing.T) {
	a := startNode(t, testConfig())
	_, port, _ := net.SplitHostPort(a.addr)
	host := "vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd.onion"
	onion := host + ":" + port
	s := socks5test.Start(t, socks5test.Options{Resolve: map[string]string{host: "127.0.0.1"}})
	cfg := testConfig()
	cfg.NoListen = true
	cfg.Proxy = s.Addr()
	cfg.OnlyNet = []string{"onion"}
	cfg.NoDNSSeed = true
	cfg.TargetOutbound = 2
	cfg.Dial = onlyProxy(t, s.Addr())
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, addr := range []string{"127.5.0.1:1", "127.6.0.1:1", onion} {
		ad, _ := addrbook.ParseAddr(addr)
		n.book.Add(now, addrbook.NamedSource("test"), 0, addrbook.Advert{Addr: ad, Services: wire.SFNodeNetwork, Time: now})
	}
	rec := &stepRecorder{}
	n.observe = rec.observe
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "the onion peer", func() bool {
		ps := n.Peers()
		return len(ps) == 1 && ps[0].State == "standby" && ps[0].Addr == onion
	})
	if k, _ := n.ConnKind(n.Peers()[0].ID); k != connmgr.KindSeed {
		t.Errorf("the onion peer is %v, want an automatic one", k)
	}
	rec.count(func(st recordedStep) bool {
		for _, a := range st.acts {
			if a.Kind == connmgr.ActDial && a.Target != onion {
				t.Errorf("dialled %s with --onlynet=onion", a.Target)
			}
		}
		return false
	})
	if c := s.Conns(); len(c) == 0 || !c[0].Name || c[0].Target != onion {
		t.Fatalf("the proxy was asked for %+v", c)
	}
}

// getnetworkinfo's networks: reachable as --onlynet and the proxies say,
// with the proxy of each.
func TestNetworks(t *testing.T) {
	cfg := testConfig()
	cfg.NoListen = true
	cfg.Proxy, cfg.Onion, cfg.OnlyNet = "127.0.0.1:9050", "127.0.0.1:9150", []string{"ipv4", "onion"}
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(NewAdmin(n, 0, nil).NetworkInfo().Networks)
	want := "[{ipv4 true 127.0.0.1:9050 true} {ipv6 false 127.0.0.1:9050 true} {onion true 127.0.0.1:9150 true} {i2p false  false} {cjdns false  false}]"
	if got != want {
		t.Fatalf("networks %s\nwant %s", got, want)
	}
}

// A proxy that cannot be reached fails every dial at once: the automatic
// dials then wait for the next refill instead of drawing the book in a
// loop, and the book does not blame the addresses (Core's rule).
func TestProxyDownNoDialLoop(t *testing.T) {
	down, _ := net.Listen("tcp", "127.0.0.1:0")
	proxy := down.Addr().String()
	down.Close()
	cfg := testConfig()
	cfg.NoListen = true
	cfg.NoDNSSeed = true
	cfg.TargetOutbound = 2
	cfg.Proxy = proxy
	cfg.Dial = onlyProxy(t, proxy)
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var ads []addrbook.Addr
	for i := range 20 {
		ad := addrbook.AddrFrom(netip.MustParseAddrPort(fmt.Sprintf("127.%d.0.1:1", 10+i)))
		ads = append(ads, ad)
		n.book.Add(now, addrbook.NamedSource("test"), 0, addrbook.Advert{Addr: ad, Services: wire.SFNodeNetwork, Time: now})
	}
	rec := &stepRecorder{}
	n.observe = rec.observe
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	time.Sleep(1500 * time.Millisecond)
	cancel()
	<-done
	dials := rec.count(func(st recordedStep) bool { return st.ev.Kind == connmgr.EvDialFailed && st.ev.ProxyDown })
	if dials == 0 || dials > 8 {
		t.Fatalf("%d dials failed on the proxy in 1.5 s; want a few (two per refill)", dials)
	}
	for _, ad := range ads {
		if e, ok := n.book.Lookup(ad); ok && !e.LastTry.IsZero() {
			t.Fatalf("%v blamed for the proxy: %+v", ad, e)
		}
	}
}
