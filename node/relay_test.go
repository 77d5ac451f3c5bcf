package node

import (
	"testing"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/mempool"
	"github.com/peerd/peerd/peer"
)

// testTx builds a valid-looking segwit transaction (its txid and wtxid
// differ); n makes it unique.
func testTx(n byte) *wire.MsgTx {
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: chainhash.Hash{n, 1}, Index: 0}, nil, wire.TxWitness{{n}, {2, 3}}))
	tx.AddTxOut(wire.NewTxOut(10_000, []byte{0x00, 0x14, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}))
	return tx
}

func relayNode(t *testing.T) (*testNode, *mempool.Pool) {
	t.Helper()
	pool, err := mempool.Open(mempool.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	cfg := testConfig()
	cfg.Mempool = pool
	return startNode(t, cfg), pool
}

// nextInv reads until an inv arrives (answering pings) and returns it.
func (p *testPeer) nextInv() *wire.MsgInv {
	p.t.Helper()
	for {
		switch m := p.next().(type) {
		case *wire.MsgInv:
			return m
		case *wire.MsgPing:
			p.send(wire.NewMsgPong(m.Nonce))
		}
	}
}

func TestRelayToPeersByNegotiatedType(t *testing.T) {
	n, pool := relayNode(t)
	wtx := dialTestPeer(t, n.addr)
	wtx.handshakeWith(true)
	plain := dialTestPeer(t, n.addr)
	plain.handshakeWith(false)
	waitFor(t, "two ready peers", func() bool { return len(n.readyPeers()) == 2 })

	tx := testTx(1)
	e, err := pool.Add(tx)
	if err != nil {
		t.Fatal(err)
	}
	inv := wtx.nextInv()
	if len(inv.InvList) != 1 || inv.InvList[0].Type != peer.InvTypeWTx || inv.InvList[0].Hash != e.WTxID {
		t.Fatalf("wtxidrelay peer got %+v, want MSG_WTX %v", inv.InvList[0], e.WTxID)
	}
	inv = plain.nextInv()
	if len(inv.InvList) != 1 || inv.InvList[0].Type != wire.InvTypeTx || inv.InvList[0].Hash != e.TxID {
		t.Fatalf("plain peer got %+v, want MSG_TX %v", inv.InvList[0], e.TxID)
	}

	// The wtxid peer fetches by wtxid and gets the witness; the plain
	// peer asks MSG_TX and gets the transaction stripped of it.
	gd := wire.NewMsgGetData()
	gd.AddInvVect(wire.NewInvVect(peer.InvTypeWTx, &e.WTxID))
	wtx.send(gd)
	got := wtx.expect("tx").(*wire.MsgTx)
	if got.WitnessHash() != e.WTxID {
		t.Fatalf("served wtxid %v, want %v", got.WitnessHash(), e.WTxID)
	}
	gd = wire.NewMsgGetData()
	gd.AddInvVect(wire.NewInvVect(wire.InvTypeTx, &e.TxID))
	plain.send(gd)
	got = plain.expect("tx").(*wire.MsgTx)
	if got.TxHash() != e.TxID || got.HasWitness() {
		t.Fatalf("MSG_TX served %v with witness=%v", got.TxHash(), got.HasWitness())
	}

	waitFor(t, "both fetches recorded", func() bool {
		prop, _ := pool.Propagation(e.TxID)
		return len(prop.InvSent) == 2 && len(prop.Fetched) == 2
	})
	if len(pool.Unbroadcast()) != 0 {
		t.Fatal("a fetched transaction is still unbroadcast")
	}

	// A peer that connects later is offered what the mempool holds.
	late := dialTestPeer(t, n.addr)
	late.handshakeWith(true)
	if inv := late.nextInv(); inv.InvList[0].Hash != e.WTxID {
		t.Fatalf("late peer got %v", inv.InvList[0].Hash)
	}

	// Nothing is announced twice: the next inv each peer sees is for
	// the next transaction.
	e2, err := pool.Add(testTx(2))
	if err != nil {
		t.Fatal(err)
	}
	if inv := wtx.nextInv(); len(inv.InvList) != 1 || inv.InvList[0].Hash != e2.WTxID {
		t.Fatalf("second inv %+v, want only %v", inv.InvList, e2.WTxID)
	}
}

func TestAnnouncedBackIsEvidence(t *testing.T) {
	n, pool := relayNode(t)
	a := dialTestPeer(t, n.addr)
	a.handshakeWith(true)
	waitFor(t, "ready", func() bool { return len(n.readyPeers()) == 1 })
	e, err := pool.Add(testTx(7))
	if err != nil {
		t.Fatal(err)
	}
	a.nextInv()
	// a got our inv: its echo proves nothing.
	inv := wire.NewMsgInv()
	inv.AddInvVect(wire.NewInvVect(peer.InvTypeWTx, &e.WTxID))
	a.send(inv)
	// b asked for no announcements (relay = false), so it never heard of
	// the transaction from us: its inv is evidence that it spread.
	b := dialTestPeer(t, n.addr)
	b.handshakeFull(false, false)
	binv := wire.NewMsgInv()
	binv.AddInvVect(wire.NewInvVect(wire.InvTypeTx, &e.TxID))
	b.send(binv)
	waitFor(t, "b recorded as seen", func() bool {
		prop, _ := pool.Propagation(e.TxID)
		return len(prop.SeenFrom) == 1
	})
	a.pingPong(1) // a's echo has been stepped, its report queued
	n.flushReports()
	prop, _ := pool.Propagation(e.TxID)
	if len(prop.SeenFrom) != 1 || prop.SeenFrom[0].Peer.Addr == "" {
		t.Fatalf("seen from %+v, want only b", prop.SeenFrom)
	}
}
