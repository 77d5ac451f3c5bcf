package node

import (
	"testing"

	"github.com/peerd/peerd/mempool"
)

// Every peer gets the same *peer.Tx for a mempool entry; a getdata by
// either hash finds it; once the entry is gone, pruning forgets it.
func TestSharedPeerTxs(t *testing.T) {
	pool, err := mempool.Open(mempool.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	n, err := New(Config{Params: testConfig().Params, NoListen: true, Mempool: pool})
	if err != nil {
		t.Fatal(err)
	}
	e, err := pool.Add(testTx(7))
	if err != nil {
		t.Fatal(err)
	}
	a, b := n.peerTxs([]*mempool.Entry{e})[0], n.peerTxs(pool.Entries())[0]
	if a != b {
		t.Fatal("two conversions of one entry gave two objects")
	}
	if n.lookupTx(e.TxID, false) != a || n.lookupTx(e.WTxID, true) != a {
		t.Fatal("lookup by txid or wtxid does not find the shared object")
	}
	if n.lookupTx(e.WTxID, false) != nil && e.WTxID != e.TxID {
		t.Fatal("a wtxid found as a txid")
	}
	if _, err := pool.Remove(e.TxID); err != nil {
		t.Fatal(err)
	}
	n.pruneTxs()
	if len(n.txs) != 0 || n.lookupTx(e.TxID, false) != nil {
		t.Fatal("a removed transaction is still shared")
	}
}
