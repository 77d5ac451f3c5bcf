package node

import (
	"bytes"
	"testing"

	"github.com/peerd/peerd/node/connmgr"
	"github.com/peerd/peerd/peer"
)

// v2Config is testConfig speaking BIP 324.
func v2Config() Config {
	cfg := testConfig()
	cfg.V2Transport = true
	return cfg
}

// peerWith waits for n's one ready peer in the given direction and
// returns its admin view.
func peerWith(t *testing.T, n *testNode, inbound bool) PeerInfo {
	t.Helper()
	waitFor(t, "a peer in standby", standby(n, inbound))
	for _, p := range NewAdmin(n.Node, 100, func() {}).Peers() {
		if p.Inbound == inbound && p.State == "standby" {
			return p
		}
	}
	t.Fatal("the peer in standby went away")
	return PeerInfo{}
}

// dials lists the transports of the recorded dials of target, in order:
// true for v2.
func dials(rec *stepRecorder, target string) []bool {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []bool
	for _, s := range rec.steps {
		for _, a := range s.acts {
			if a.Kind == connmgr.ActDial && a.Target == target {
				out = append(out, a.V2)
			}
		}
	}
	return out
}

// Two v2 nodes: the connection is v2 on both ends, and both report the
// same 32-byte session id through the admin view.
func TestV2BothEnds(t *testing.T) {
	a := startNode(t, v2Config())
	cfg := v2Config()
	cfg.NoListen = true
	cfg.Connect = []string{a.addr}
	b := startNode(t, cfg)

	out, in := peerWith(t, b, false), peerWith(t, a, true)
	if out.Transport != "v2" || in.Transport != "v2" {
		t.Fatalf("transports: outbound %q, inbound %q; want v2 both", out.Transport, in.Transport)
	}
	if len(out.SessionID) != 32 || !bytes.Equal(out.SessionID, in.SessionID) {
		t.Fatalf("session ids %x and %x: want the same 32 bytes", out.SessionID, in.SessionID)
	}
}

// addnode with v2transport=false dials a v2 node with v1 (no v2 attempt
// first), and the kept address keeps that choice when it is redialled;
// the v2 node tells the v1 peer apart.
func TestAddNodeV1OnV2Node(t *testing.T) {
	a := startNode(t, v2Config())
	cfg := v2Config()
	cfg.NoListen = true
	rec := &stepRecorder{}
	b := startNodeWith(t, cfg, rec)
	admin := NewAdmin(b.Node, 100, func() {})
	if err := admin.AddNode(a.addr, "add", TransportV1); err != nil {
		t.Fatal(err)
	}
	first := peerWith(t, b, false)
	if in := peerWith(t, a, true); first.Transport != "v1" || in.Transport != "v1" || first.SessionID != nil {
		t.Fatalf("outbound %q %x, inbound %q; want v1 both", first.Transport, first.SessionID, in.Transport)
	}
	if err := admin.AddNode(a.addr, "add", TransportV2); KindOf(err) != ErrKindExists {
		t.Fatalf("adding it again: %v, want ErrKindExists", err)
	}
	if !b.Disconnect(first.ID) {
		t.Fatal("no peer to disconnect")
	}
	waitFor(t, "the redial", func() bool {
		ps := b.Peers()
		return len(ps) == 1 && ps[0].ID != first.ID && ps[0].State == "standby"
	})
	if got := dials(rec, a.addr); len(got) != 2 || got[0] || got[1] {
		t.Fatalf("dials of %s (true: v2) = %v, want two v1 dials", a.addr, got)
	}
	if p := b.Peers()[0]; p.Transport != "v1" {
		t.Fatalf("redialled with %q, want v1", p.Transport)
	}
}

// A v1-only node closes a v2 attempt unanswered: the v2 node dials it
// again at once with v1 (rule 8), and ends connected in v1.
func TestV2FallbackToV1Node(t *testing.T) {
	a := startNode(t, testConfig())
	cfg := v2Config()
	cfg.NoListen = true
	rec := &stepRecorder{}
	b := startNodeWith(t, cfg, rec)
	if err := NewAdmin(b.Node, 100, func() {}).AddNode(a.addr, "onetry", TransportAuto); err != nil {
		t.Fatal(err)
	}
	if p := peerWith(t, b, false); p.Transport != "v1" {
		t.Fatalf("connected with %q, want v1", p.Transport)
	}
	rec.wait(t, "the refused v2 attempt", func(s recordedStep) bool {
		return s.ev.Kind == connmgr.EvClosed && s.ev.V2Refused && s.ev.Reason == string(peer.ReasonV2Refused)
	})
	if got := dials(rec, a.addr); len(got) != 2 || !got[0] || got[1] {
		t.Fatalf("dials of %s (true: v2) = %v, want v2 then v1", a.addr, got)
	}
}
