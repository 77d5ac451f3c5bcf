package node

import (
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/node/addrbook"
	"github.com/peerd/peerd/node/connmgr"
)

// Node A, given only B (--addpeer), learns C from B's getaddr answer and
// dials it on its own: an automatic outbound peer, in a network group
// (127.3 on regtest) other than B's (127.2).
func TestOutboundFromGossip(t *testing.T) {
	cfgC := testConfig()
	cfgC.Listen = []string{"127.3.0.1:0"}
	c := startNode(t, cfgC)

	cfgB := testConfig()
	cfgB.Listen = []string{"127.2.0.1:0"}
	b := startNode(t, cfgB)
	now := time.Now()
	ad, err := addrbook.ParseAddr(c.addr)
	if err != nil {
		t.Fatal(err)
	}
	b.bookMu.Lock()
	b.book.Add(now, addrbook.NamedSource("test"), 0, addrbook.Advert{Addr: ad, Services: wire.SFNodeNetwork | wire.SFNodeWitness, Time: now})
	b.bookMu.Unlock()

	cfgA := testConfig()
	cfgA.NoListen = true
	cfgA.AddPeer = []string{b.addr}
	a := startNode(t, cfgA)

	waitFor(t, "A to learn C from B", func() bool { return bookHas(a.Node, c.addr) })
	var id uint64
	waitFor(t, "A to dial C on its own", func() bool {
		for _, p := range a.Peers() {
			if !p.Inbound && p.Addr == c.addr && p.ProtocolVersion != 0 {
				id = p.ID
				return true
			}
		}
		return false
	})
	if k, ok := a.ConnKind(id); !ok || k != connmgr.KindSeed {
		t.Fatalf("A's peer C: kind %v %v, want seed", k, ok)
	}
	waitFor(t, "C in A's tried table", func() bool {
		a.bookMu.Lock()
		defer a.bookMu.Unlock()
		e, ok := a.book.Lookup(ad)
		return ok && e.Tried
	})
	// B is kept besides, and dialled once: not again as an automatic peer.
	n := 0
	for _, p := range a.Peers() {
		if !p.Inbound && p.Addr == b.addr {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("A has %d connections to B, want 1", n)
	}
}
