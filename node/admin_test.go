package node

import (
	"errors"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/btcdtest"
	"github.com/peerd/peerd/internal/rpcserver"
)

func rpcCode(err error) int {
	var e *rpcserver.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// TestAdminErrorCodes maps every mempool and node refusal to Bitcoin Core's
// RPC error code.
func TestAdminErrorCodes(t *testing.T) {
	n, _ := relayNode(t)
	a := NewAdmin(n.Node, 100, func() {})

	good := testTx(3)
	txid, err := a.SendRawTransaction(btcdtest.TxHex(good))
	if err != nil || txid != good.TxHash().String() {
		t.Fatalf("sendrawtransaction = %q, %v", txid, err)
	}
	// Already in the mempool: success with the txid, as in Core.
	if again, err := a.SendRawTransaction(btcdtest.TxHex(good)); err != nil || again != txid {
		t.Fatalf("resend = %q, %v; want the txid", again, err)
	}
	// Same txid, other witness: Core also answers with the txid.
	other := good.Copy()
	other.TxIn[0].Witness = wire.TxWitness{{9, 9}}
	if got, err := a.SendRawTransaction(btcdtest.TxHex(other)); err != nil || got != txid {
		t.Fatalf("same non-witness data = %q, %v; want the txid", got, err)
	}

	noOutputs := wire.NewMsgTx(2)
	noOutputs.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: 1, Hash: [32]byte{1}}, nil, nil))
	cases := []struct {
		name string
		err  error
		code int
	}{
		{"bad hex", second(a.SendRawTransaction("zz")), -22},
		{"not a transaction", second(a.SendRawTransaction("00")), -22},
		{"trailing bytes", second(a.SendRawTransaction(btcdtest.TxHex(testTx(4)) + "00")), -22},
		{"refused by the mempool", second(a.SendRawTransaction(btcdtest.TxHex(noOutputs))), -26},
		{"not in mempool", second(a.MempoolEntry("00" + txid[2:])), -5},
		{"malformed txid", second(a.MempoolEntry("xyz")), -5},
		{"addnode bad command", a.AddNode("127.0.0.1:1", "jump"), -1},
		{"addnode remove unknown", a.AddNode("127.0.0.1:1", "remove"), -24},
		{"disconnectnode unknown address", a.DisconnectNode("127.0.0.1:1", 0, false), -29},
		{"disconnectnode unknown id", a.DisconnectNode("", 999, true), -29},
	}
	for _, c := range cases {
		if got := rpcCode(c.err); got != c.code {
			t.Errorf("%s: error %v (code %d), want code %d", c.name, c.err, got, c.code)
		}
	}
	if err := a.AddNode("127.0.0.1:1", "add"); err != nil {
		t.Fatal(err)
	}
	if got := rpcCode(a.AddNode("127.0.0.1:1", "add")); got != -23 {
		t.Errorf("addnode twice: code %d, want -23", got)
	}
	if err := a.AddNode("127.0.0.1:1", "remove"); err != nil {
		t.Errorf("addnode remove: %v", err)
	}

	e, err := a.MempoolEntry(txid)
	if err != nil || e.WTxID != good.WitnessHash().String() || !e.Unbroadcast {
		t.Fatalf("getmempoolentry = %+v, %v", e, err)
	}
	if ids := a.MempoolTxIDs(); len(ids) != 1 || ids[0] != txid {
		t.Fatalf("getrawmempool = %v", ids)
	}
	if info := a.MempoolInfo(); info.Size != 1 || info.UnbroadcastCount != 1 {
		t.Fatalf("getmempoolinfo = %+v", info)
	}
}

func second[T any](_ T, err error) error { return err }
