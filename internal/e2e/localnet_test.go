package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/btcdtest"
)

// localNode is one node of the local network: node k listens on 127.k.0.1,
// its own /16 (network group 127.k on regtest).
type localNode struct {
	k       int
	datadir string
	rpc     string
	p2p     string
	p       *peerd
}

func newLocalNode(t *testing.T, k int) *localNode {
	t.Helper()
	datadir := filepath.Join(t.TempDir(), fmt.Sprintf("node%d", k))
	if err := os.MkdirAll(datadir, 0o700); err != nil {
		t.Fatal(err)
	}
	return &localNode{
		k:       k,
		datadir: datadir,
		rpc:     btcdtest.FreeAddr(t),
		p2p:     net.JoinHostPort(fmt.Sprintf("127.%d.0.1", k), strconv.Itoa(btcdtest.FreePort(t))),
	}
}

// start launches the node (findable: --services=network,witness; no DNS
// seeds) with the extra flags and waits for its RPC server.
func (n *localNode) start(t *testing.T, args ...string) {
	t.Helper()
	all := append([]string{"--rpclisten=" + n.rpc, "--listen=" + n.p2p, "--services=network,witness",
		"--nodnsseed", "--trickleinterval=0s", "--addrtrickle=0s", "--debuglevel=debug"}, args...)
	n.p = launchPeerd(t, n.datadir, n.rpc, n.p2p, all...)
	if dir := os.Getenv("PEERD_LOCALNET_LOGS"); dir != "" {
		p := n.p
		name := filepath.Join(dir, fmt.Sprintf("node%d-%d.log", n.k, time.Now().UnixNano()))
		t.Cleanup(func() { os.WriteFile(name, p.log.Bytes(), 0o600) })
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if c, err := net.Dial("tcp", n.rpc); err == nil {
			c.Close()
			return
		}
		if n.p.cmd.ProcessState != nil || time.Now().After(deadline) {
			t.Fatalf("node %d: RPC did not come up:\n%s", n.k, tail(n.p.log.String(), 40))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type localPeer struct {
	Addr           string `json:"addr"`
	Inbound        bool   `json:"inbound"`
	ConnectionType string `json:"connection_type"`
	State          string `json:"state"`
}

func (n *localNode) peers(t *testing.T) []localPeer {
	t.Helper()
	out, err := n.p.ctl("getpeerinfo")
	if err != nil {
		t.Fatal(err)
	}
	var ps []localPeer
	if err := json.Unmarshal([]byte(out), &ps); err != nil {
		t.Fatalf("getpeerinfo: %v\n%s", err, out)
	}
	return ps
}

// known is the set of "IP:port" in the node's getnodeaddresses 0.
func (n *localNode) known(t *testing.T) map[string]bool {
	t.Helper()
	out, err := n.p.ctl("getnodeaddresses", "0")
	if err != nil {
		t.Fatal(err)
	}
	var as []struct {
		Address string `json:"address"`
		Port    int    `json:"port"`
	}
	if err := json.Unmarshal([]byte(out), &as); err != nil {
		t.Fatalf("getnodeaddresses: %v\n%s", err, out)
	}
	m := make(map[string]bool, len(as))
	for _, a := range as {
		m[net.JoinHostPort(a.Address, strconv.Itoa(a.Port))] = true
	}
	return m
}

// knowsAll reports whether n's book lists every node of others (by listen
// address), and the ones it misses.
func (n *localNode) knowsAll(t *testing.T, others []*localNode) (bool, []int) {
	t.Helper()
	m := n.known(t)
	var missing []int
	for _, o := range others {
		if !m[o.p2p] {
			missing = append(missing, o.k)
		}
	}
	return len(missing) == 0, missing
}

// autoOutbound returns the groups (the k of 127.k.0.1) of n's automatic
// outbound full-relay peers among the nodes of byAddr, the manual outbound
// peers apart. It fails the test if two automatic peers share a group.
func (n *localNode) autoOutbound(t *testing.T, byAddr map[string]*localNode) (auto []int, manual int) {
	t.Helper()
	seen := map[int]bool{}
	for _, p := range n.peers(t) {
		if p.Inbound || strings.HasPrefix(p.State, "handshake") {
			continue // only outbound peers whose handshake is done
		}
		switch p.ConnectionType {
		case "manual":
			manual++
			continue
		case "outbound-full-relay":
		default:
			continue // a feeler is not counted
		}
		o, ok := byAddr[p.Addr]
		if !ok || o == n {
			continue // not a node of the network, or n dialling itself
		}
		if seen[o.k] {
			t.Fatalf("node %d: two automatic outbound peers in group 127.%d", n.k, o.k)
		}
		seen[o.k] = true
		auto = append(auto, o.k)
	}
	sort.Ints(auto)
	return auto, manual
}

// TestLocalNetwork is issue 13's local network: eight peerd nodes on
// regtest, node k on 127.k.0.1 (its own /16). Nodes 3..8 are given only
// node 2, which learns them from their self-advertisements; node 1, given
// only node 2, must find the others through gossip and hold an automatic
// outbound peer in each of their groups within 60 s; restarted without
// --addpeer, it must reconnect from its saved book to at least 4 peers
// within 10 s. Two departures from the script, both for time: all
// nodes run with --addrtrickle=0s (a node's own address otherwise waits a
// Poisson delay of mean 30 s, as in Core), and node 2 is restarted once it
// knows nodes 3..8 (see below). The times to each count of peers are
// logged (-v); docs/benchmarks.md has them. btcd in such a network is
// TestLocalNetworkBtcd's.
func TestLocalNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("local network of 8 peerd processes: skipped with -short")
	}
	if _, err := bins(); err != nil {
		t.Fatal(err)
	}
	nodes := make([]*localNode, 9) // nodes[1..8]
	byAddr := map[string]*localNode{}
	for k := 1; k <= 8; k++ {
		nodes[k] = newLocalNode(t, k)
		byAddr[nodes[k].p2p] = nodes[k]
	}
	two := nodes[2]
	two.start(t)
	for k := 3; k <= 8; k++ {
		nodes[k].start(t, "--addpeer="+two.p2p)
	}
	began := time.Now()
	for {
		ok, missing := two.knowsAll(t, nodes[3:])
		if ok {
			break
		}
		if time.Since(began) > 30*time.Second {
			t.Fatalf("after 30 s node 2's getnodeaddresses misses nodes %v: it lists %v", missing, two.known(t))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("node 2 learnt nodes 3..8 in %v", time.Since(began).Round(time.Millisecond))

	// Node 2 answers getaddr from one sample of its book, reused for 1 min
	// on regtest (24 h elsewhere, as Core's cache): the sample was taken
	// when the first of nodes 3..8 connected and sent its getaddr, before
	// node 2 knew the others, so node 1 would be told (almost) nothing
	// for a minute. Restarting node 2 (its book saved and loaded, the
	// cache empty) makes the next getaddr answer hold all of them; nodes
	// 3..8 reconnect on their own (--addpeer).
	two.p.stop()
	two.start(t)
	if ok, missing := two.knowsAll(t, nodes[3:]); !ok {
		t.Fatalf("node 2, restarted, lost nodes %v from its saved book", missing)
	}

	// Node 1 from an empty book, seeded by one --addpeer.
	one := nodes[1]
	others := nodes[2:]
	start := time.Now()
	one.start(t, "--addpeer="+two.p2p)
	reached := map[int]time.Duration{}
	var auto []int
	deadline := start.Add(60 * time.Second)
	for {
		var manual int
		auto, manual = one.autoOutbound(t, byAddr)
		for c := 1; c <= len(auto); c++ {
			if _, ok := reached[c]; !ok {
				reached[c] = time.Since(start)
			}
		}
		if len(auto) >= 6 && manual >= 1 {
			if ok, _ := one.knowsAll(t, others); ok {
				break
			}
		}
		if time.Now().After(deadline) {
			_, missing := one.knowsAll(t, others)
			t.Fatalf("after 60 s node 1 holds automatic outbound peers in groups %v (%d manual; want >= 6 in distinct groups besides node 2) and its book misses nodes %v; times to n peers: %v",
				auto, manual, missing, reached)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, k := range auto {
		if k < 3 {
			t.Fatalf("node 1's automatic outbound peers %v include node %d, not one learnt by gossip", auto, k)
		}
	}
	t.Logf("empty book + --addpeer: automatic outbound peers in groups %v; time to n peers: %s", auto, fmtReached(reached))
	// Stop node 1 (SIGINT: it saves its book) and check it exited cleanly.
	one.p.stop()
	if one.p.cmd.ProcessState == nil || !one.p.cmd.ProcessState.Exited() {
		t.Fatalf("node 1 did not exit cleanly: %v", one.p.cmd.ProcessState)
	}

	// Node 1 again, same datadir, no --addpeer: only its saved book.
	start = time.Now()
	one.start(t)
	reached = map[int]time.Duration{}
	deadline = start.Add(10 * time.Second)
	for {
		auto, _ = one.autoOutbound(t, byAddr)
		for c := 1; c <= len(auto); c++ {
			if _, ok := reached[c]; !ok {
				reached[c] = time.Since(start)
			}
		}
		if len(auto) >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s node 1, restarted from its saved book, holds automatic outbound peers in groups %v (want >= 4)", auto)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Measure how far it gets in a few more seconds (not asserted).
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		auto, _ = one.autoOutbound(t, byAddr)
		for c := 1; c <= len(auto); c++ {
			if _, ok := reached[c]; !ok {
				reached[c] = time.Since(start)
			}
		}
	}
	t.Logf("saved book, no --addpeer: automatic outbound peers in groups %v; time to n peers: %s", auto, fmtReached(reached))
}

func fmtReached(r map[int]time.Duration) string {
	s := ""
	for c := 1; ; c++ {
		d, ok := r[c]
		if !ok {
			return s
		}
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("%d: %v", c, d.Round(time.Millisecond))
	}
}

// TestLocalNetworkBtcd is the last point of issue 13's local network: btcd
// in the same network still interoperates. Every connection stays on
// loopback, and btcd stores no loopback address (addrmgr.IsRoutable), so
// the test hands btcd routable addresses that nobody dials:
//
//   - node 2 runs, and btcd is started with --connect=node 2: it dials
//     node 2 and nothing else (not even the addresses of its own book),
//     and after the handshake asks node 2 for addresses (getaddr);
//   - node 3 is started, given node 2: node 2 learns it from its
//     self-advertisement and relays that fresh (loopback) address to btcd,
//     its one other address-relay peer; btcd drops it and stays connected;
//   - a raw client tells btcd 40 routable public addresses (addr) and
//     pings it: btcd handles a peer's messages in order, so the pong means
//     they are in its book;
//   - node 9 is started with --connect=btcd (no automatic outbound peers,
//     no feelers, no seeds: it never dials what it learns); it sends btcd
//     a getaddr after the handshake, as Core does to a manual peer, and
//     btcd, which answers only inbound peers, with 23 % of its book, must
//     answer it: node 9's getnodeaddresses lists some of the 40 and nothing
//     else, and its getpeerinfo for btcd counts them in addr_processed.
//
// peerd's getpeerinfo has no per-message counts yet (bytessent_per_msg is
// always empty), so btcd's debug log (the pinned v0.26.2's "Received <cmd>
// ... from <addr> (<direction>)" lines) shows which messages btcd got.
func TestLocalNetworkBtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("btcd in a local network of peerd processes: skipped with -short")
	}
	if _, err := bins(); err != nil {
		t.Fatal(err)
	}
	bin := btcdtest.Binary(t)
	began := time.Now()
	two, three, nine := newLocalNode(t, 2), newLocalNode(t, 3), newLocalNode(t, 9)
	two.start(t)
	b := btcdtest.Start(t, bin, btcdtest.Options{Args: []string{"--connect=" + two.p2p}})

	// btcd and node 2 connect; node 2 sees btcd from btcd's end of the
	// socket.
	var local string
	b.WaitPeers(t, 30*time.Second, func(ps []btcdtest.PeerInfo) bool {
		for _, p := range ps {
			if p.Addr == two.p2p && !p.Inbound {
				local = p.AddrLocal
				return true
			}
		}
		return false
	})
	var atTwo fullPeer
	btcdAtTwo := func() bool {
		var ok bool
		atTwo, ok = two.peer(t, local)
		return ok && atTwo.Inbound && !strings.HasPrefix(atTwo.State, "handshake")
	}
	// btcd's getaddr is what turns on address relay to an inbound peer.
	waitUntil(t, "btcd's handshake with node 2 and its getaddr", 15*time.Second, func() bool {
		return btcdAtTwo() && atTwo.AddrRelayEnabled
	})

	// Node 3 joins; node 2 learns it and relays its address to btcd.
	three.start(t, "--addpeer="+two.p2p)
	waitUntil(t, "node 2 to learn node 3 and relay it to btcd", 30*time.Second, func() bool {
		ok, _ := two.knowsAll(t, []*localNode{three})
		return ok && btcdLogHas(t, b, "Received addr", "from "+two.p2p+" (outbound)")
	})
	if !btcdAtTwo() {
		t.Fatalf("node 2 lost btcd after relaying it node 3's address (%+v)", atTwo)
	}

	// Routable addresses for btcd's book: public IPv4, one /16 each, none
	// in a range btcd's addrmgr.IsRoutable refuses.
	const told = 40
	public := make(map[string]bool, told)
	addr := wire.NewMsgAddr()
	now := time.Now()
	for i := range told {
		ip := net.IPv4(23, byte(10+i), 45, 67)
		public[net.JoinHostPort(ip.String(), "18444")] = true
		na := wire.NewNetAddressIPPort(ip, 18444, wire.SFNodeNetwork|wire.SFNodeWitness)
		na.Timestamp = now.Add(-time.Duration(i) * time.Minute).Truncate(time.Second)
		if err := addr.AddAddress(na); err != nil {
			t.Fatal(err)
		}
	}
	c, err := soakDial("127.0.0.1", b.P2PAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if err := c.handshake(false); err != nil {
		t.Fatalf("raw client's handshake with btcd: %v", err)
	}
	if err := c.send(addr); err != nil {
		t.Fatal(err)
	}
	if err := c.pingPong(42); err != nil {
		t.Fatalf("btcd after our addr: %v", err)
	}

	// Node 9 dials only btcd and asks it for addresses.
	nine.start(t, "--connect="+b.P2PAddr())
	var atNine fullPeer
	var got []string
	waitUntil(t, "node 9 to hear btcd's getaddr answer", 15*time.Second, func() bool {
		atNine, _ = nine.peer(t, b.P2PAddr())
		got = got[:0]
		for a := range nine.known(t) {
			got = append(got, a)
		}
		return atNine.AddrProcessed > 0 && len(got) > 0
	})
	sort.Strings(got)
	for _, a := range got {
		if !public[a] {
			t.Fatalf("node 9's book lists %s, not one of the addresses btcd was told (it lists %v)", a, got)
		}
	}
	if atNine.Inbound || atNine.ConnectionType != "manual" || strings.HasPrefix(atNine.State, "handshake") || !atNine.AddrRelayEnabled {
		t.Fatalf("node 9's peer btcd: %+v; want a manual outbound peer, handshake done, address relay on", atNine)
	}
	if !btcdLogHas(t, b, "Received getaddr", "from "+atNine.AddrBind+" (inbound)") {
		t.Fatalf("btcd's log has no getaddr from node 9 (%s)", atNine.AddrBind)
	}
	if int(atNine.AddrProcessed) < len(got) || atNine.AddrProcessed > told*23/100 {
		t.Fatalf("node 9 processed %d addresses from btcd and lists %d; btcd answers at most %d (23 %% of %d)",
			atNine.AddrProcessed, len(got), told*23/100, told)
	}
	if ps := nine.peers(t); len(ps) != 1 {
		t.Fatalf("node 9 (--connect=btcd) has peers %+v; want btcd alone", ps)
	}
	t.Logf("btcd told %d addresses, answered node 9's getaddr: %d processed, %d in node 9's book: %v",
		told, atNine.AddrProcessed, len(got), got)

	// btcd and node 2 are still connected, handshake done; btcd lists node
	// 2 (outbound) and node 9 (inbound, a peerd user agent).
	if !btcdAtTwo() {
		t.Fatalf("node 2 lost btcd (%+v); its peers: %+v", atTwo, two.peers(t))
	}
	b.WaitPeers(t, 5*time.Second, func(ps []btcdtest.PeerInfo) bool {
		var toTwo, fromNine bool
		for _, p := range ps {
			toTwo = toTwo || p.Addr == two.p2p && !p.Inbound
			fromNine = fromNine || p.Inbound && strings.HasPrefix(p.SubVer, "/peerd:")
		}
		return toTwo && fromNine
	})
	t.Logf("btcd in the local network: %v", time.Since(began).Round(time.Millisecond))
}

// fullPeer is the part of getpeerinfo TestLocalNetworkBtcd reads.
type fullPeer struct {
	localPeer
	AddrBind         string `json:"addrbind"`
	AddrRelayEnabled bool   `json:"addr_relay_enabled"`
	AddrProcessed    uint64 `json:"addr_processed"`
}

// btcdLogHas reports whether a line of b's log has prefix (after the
// timestamp and level: "[DBG] PEER: ") and ends with suffix.
func btcdLogHas(t *testing.T, b *btcdtest.Node, prefix, suffix string) bool {
	t.Helper()
	lg, err := os.ReadFile(b.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(lg)) {
		line = strings.TrimRight(line, "\n")
		if _, msg, ok := strings.Cut(line, " PEER: "); ok && strings.HasPrefix(msg, prefix) && strings.HasSuffix(msg, suffix) {
			return true
		}
	}
	return false
}

// peer is n's getpeerinfo entry for the remote address addr.
func (n *localNode) peer(t *testing.T, addr string) (fullPeer, bool) {
	t.Helper()
	out, err := n.p.ctl("getpeerinfo")
	if err != nil {
		t.Fatal(err)
	}
	var ps []fullPeer
	if err := json.Unmarshal([]byte(out), &ps); err != nil {
		t.Fatalf("getpeerinfo: %v\n%s", err, out)
	}
	for _, p := range ps {
		if p.Addr == addr {
			return p, true
		}
	}
	return fullPeer{}, false
}
