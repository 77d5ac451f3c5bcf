package node

import (
	"context"
	"net"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/v2"
)

// getpeerinfo's connection_type: the peers the operator named (--connect,
// --addpeer, addnode onetry) are manual, a peer found through a DNS seed
// is outbound-full-relay, and every peer that connected to us is inbound.
func TestConnectionTypes(t *testing.T) {
	a := startNode(t, testConfig())
	_, port, _ := net.SplitHostPort(a.addr)
	params := chaincfg.RegressionNetParams
	params.DefaultPort = port
	params.DNSSeeds = []chaincfg.DNSSeed{{Host: "seed.example"}}

	connType := func(tn *testNode) func() ConnType {
		return func() ConnType {
			ps := NewAdmin(tn.Node, 0, nil).Peers()
			if len(ps) != 1 || ps[0].State != "standby" {
				return 255
			}
			return ps[0].Conn
		}
	}
	check := func(what string, tn *testNode, want ConnType) {
		t.Helper()
		get := connType(tn)
		waitFor(t, what+"'s peer ready", func() bool { return get() != 255 })
		if got := get(); got != want {
			t.Errorf("%s: connection type %v, want %v", what, got, want)
		}
	}

	cfg := testConfig()
	cfg.NoListen = true
	cfg.Connect = []string{a.addr}
	check("--connect", startNode(t, cfg), ConnManual)

	cfg = testConfig()
	cfg.NoListen = true
	cfg.AddPeer = []string{a.addr}
	check("--addpeer", startNode(t, cfg), ConnManual)

	cfg = testConfig()
	cfg.NoListen, cfg.NoDNSSeed = true, true
	onetry := startNode(t, cfg)
	if err := NewAdmin(onetry.Node, 0, nil).AddNode(a.addr, "onetry", TransportAuto); err != nil {
		t.Fatal(err)
	}
	check("addnode onetry", onetry, ConnManual)

	cfg = testConfig()
	cfg.Params = &params
	cfg.NoListen = true
	cfg.TargetOutbound = 1
	cfg.LookupHost = func(context.Context, string) ([]string, error) { return []string{"127.0.0.1"}, nil }
	check("DNS seed", startNode(t, cfg), ConnOutboundFullRelay)

	in := NewAdmin(a.Node, 0, nil).Peers()
	if len(in) < 4 {
		t.Errorf("the listening node has %d peers, want the 4 above", len(in))
	}
	for _, p := range in {
		if p.Conn != ConnInbound {
			t.Errorf("peer %d of the listening node: %v, want inbound", p.ID, p.Conn)
		}
	}
}
