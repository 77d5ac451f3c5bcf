package node

import (
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/btcdtest"
)

// The tests in this file prove interoperability against a real btcd
// v0.26.2 (built once for this test binary by TestMain) in regtest on
// loopback. They are skipped with -short.

func TestMain(m *testing.M) { btcdtest.Main(m) }

func findPeer(ps []btcdtest.PeerInfo, pred func(btcdtest.PeerInfo) bool) (btcdtest.PeerInfo, bool) {
	for _, p := range ps {
		if pred(p) {
			return p, true
		}
	}
	return btcdtest.PeerInfo{}, false
}

func isPeerd(p btcdtest.PeerInfo) bool { return strings.HasPrefix(p.SubVer, "/peerd:") }

// (a) peerd dials btcd: the handshake completes, btcd lists us with our user
// agent and version 70016, and pings are answered both ways.
func TestBtcdOutbound(t *testing.T) {
	btcd := btcdtest.Start(t, btcdtest.Binary(t), btcdtest.Options{})
	cfg := testConfig()
	cfg.NoListen = true
	cfg.Connect = []string{btcd.P2PAddr()}
	n := startNode(t, cfg)

	waitFor(t, "peerd to reach standby with btcd", standby(n, false))
	ps := btcd.WaitPeers(t, 10*time.Second, func(ps []btcdtest.PeerInfo) bool {
		_, ok := findPeer(ps, isPeerd)
		return ok
	})
	us, _ := findPeer(ps, isPeerd)
	if us.SubVer != "/peerd:test/" || us.Version != 70016 || !us.Inbound {
		t.Fatalf("btcd sees us as %+v", us)
	}
	s := n.Peers()[0]
	if !strings.Contains(s.UserAgent, "btcd") || s.ProtocolVersion != 70016 || !s.AddrV2 || s.WTxIDRelay {
		// btcd sends sendaddrv2 but not wtxidrelay.
		t.Fatalf("we see btcd as %+v", s)
	}

	pingsBothWays(t, n, btcd)
}

// pingsBothWays checks that btcd answers our ping (sent at verack) and that
// we answer btcd's (its ping RPC queues one to every peer), as btcd's
// getpeerinfo ping time shows.
func pingsBothWays(t *testing.T, n *testNode, btcd *btcdtest.Node) {
	t.Helper()
	waitFor(t, "btcd's pong to our ping", func() bool { return n.Peers()[0].LastPing > 0 })
	if _, err := btcd.Call("ping"); err != nil {
		t.Fatal(err)
	}
	btcd.WaitPeers(t, 10*time.Second, func(ps []btcdtest.PeerInfo) bool {
		us, ok := findPeer(ps, isPeerd)
		return ok && us.PingTime > 0
	})
}

// (b) btcd dials peerd (--connect): the handshake completes on both sides.
// btcd keeps only outbound peers that advertise NODE_NETWORK (and, on a
// segwit chain, NODE_WITNESS), so peerd advertises both here.
func TestBtcdInbound(t *testing.T) {
	cfg := testConfig()
	cfg.Peer.Machine.Handshake.Services = wire.SFNodeNetwork | wire.SFNodeWitness
	n := startNode(t, cfg)
	btcd := btcdtest.Start(t, btcdtest.Binary(t), btcdtest.Options{Args: []string{"--connect=" + n.addr}})

	waitFor(t, "btcd to reach standby as an inbound peer", standby(n, true))
	ps := btcd.WaitPeers(t, 10*time.Second, func(ps []btcdtest.PeerInfo) bool {
		_, ok := findPeer(ps, isPeerd)
		return ok
	})
	us, _ := findPeer(ps, isPeerd)
	if us.Inbound || us.Version != 70016 {
		t.Fatalf("btcd sees us as %+v", us)
	}
	pingsBothWays(t, n, btcd)
}

// A btcd that drops us is reconnected by a persistent (--addpeer) peer.
func TestBtcdReconnect(t *testing.T) {
	btcd := btcdtest.Start(t, btcdtest.Binary(t), btcdtest.Options{})
	cfg := testConfig()
	cfg.NoListen = true
	cfg.AddPeer = []string{btcd.P2PAddr()}
	n := startNode(t, cfg)
	waitFor(t, "first connection", standby(n, false))
	first := n.Peers()[0].ID
	ps := btcd.WaitPeers(t, 10*time.Second, func(ps []btcdtest.PeerInfo) bool { return len(ps) == 1 })
	if err := btcd.DisconnectNode(ps[0].Addr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reconnection", func() bool {
		ps := n.Peers()
		return len(ps) == 1 && ps[0].ID != first && ps[0].State == "standby"
	})
}
