package regtestfund

// A real btcd accepting what Fund makes is tested in cmd/peerload
// (TestRelayAgainstBtcd) and internal/btcdtest (TestSpendCoinbase).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// coinbase is a made-up coinbase of the block at height that pays script.
func coinbase(height int64, script []byte) *wire.MsgTx {
	tx := wire.NewMsgTx(1)
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&chainhash.Hash{}, wire.MaxPrevOutIndex), []byte{byte(height), 0x51}, nil))
	tx.AddTxOut(wire.NewTxOut(50e8, script))
	return tx
}

// verify runs tx's input 0 through the script engine against prev.
func verify(t *testing.T, tx *wire.MsgTx, prev *wire.TxOut) {
	t.Helper()
	fetch := txscript.NewCannedPrevOutputFetcher(prev.PkScript, prev.Value)
	vm, err := txscript.NewEngine(prev.PkScript, tx, 0, txscript.StandardVerifyFlags, nil,
		txscript.NewTxSigHashes(tx, fetch), prev.Value, fetch)
	if err != nil {
		t.Fatal(err)
	}
	if err := vm.Execute(); err != nil {
		t.Fatalf("the spend does not verify: %v", err)
	}
}

func TestAddress(t *testing.T) {
	a := Address(&chaincfg.RegressionNetParams)
	if a != Address(&chaincfg.RegressionNetParams) {
		t.Fatal("Address is not deterministic")
	}
	// The address btcdtest has always used.
	if a != "mxJFQ2zLxex22WHgbUiujPQFmpntK5UhTx" {
		t.Errorf("Address = %s: the key changed", a)
	}
	dec, err := address.DecodeAddress(a, &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	script, err := txscript.PayToAddrScript(dec)
	if err != nil {
		t.Fatal(err)
	}
	if !PaysKey(coinbase(1, script)) {
		t.Error("PaysKey is false for a coinbase paying Address")
	}
	if PaysKey(coinbase(1, []byte{txscript.OP_TRUE})) || PaysKey(wire.NewMsgTx(1)) {
		t.Error("PaysKey is true for a coinbase paying something else")
	}
}

func TestSpendCoinbase(t *testing.T) {
	cb := coinbase(7, pkScript())
	tx, err := SpendCoinbase(cb, DefaultFee, 0xfffffffe)
	if err != nil {
		t.Fatal(err)
	}
	if tx.TxIn[0].PreviousOutPoint != (wire.OutPoint{Hash: cb.TxHash(), Index: 0}) || tx.TxIn[0].Sequence != 0xfffffffe ||
		len(tx.TxOut) != 1 || tx.TxOut[0].Value != 50e8-DefaultFee {
		t.Errorf("spend: %+v", tx)
	}
	verify(t, tx, cb.TxOut[0])
	// Another sequence number: another transaction.
	tx2, err := SpendCoinbase(cb, DefaultFee, 0xfffffffd)
	if err != nil {
		t.Fatal(err)
	}
	if tx2.TxHash() == tx.TxHash() {
		t.Error("the same transaction for two sequence numbers")
	}

	if _, err := SpendCoinbase(coinbase(7, []byte{txscript.OP_TRUE}), DefaultFee, 0); err == nil {
		t.Error("spent a coinbase that does not pay the key")
	}
	if _, err := SpendCoinbase(cb, 50e8, 0); err == nil {
		t.Error("a fee of the whole output")
	}
}

func TestParseTxHex(t *testing.T) {
	tx, err := SpendCoinbase(coinbase(3, pkScript()), DefaultFee, 0)
	if err != nil {
		t.Fatal(err)
	}
	h := TxHex(tx)
	got, err := ParseTxHex(" " + h + "\r\n")
	if err != nil || got.TxHash() != tx.TxHash() {
		t.Fatalf("ParseTxHex(TxHex(tx)) = %v, %v", got, err)
	}
	for _, c := range []struct{ in, err string }{
		{"zz", "not hex"},
		{h[:len(h)-2], "not a transaction"},
		{h + "00", "1 bytes after"},
	} {
		if _, err := ParseTxHex(c.in); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("ParseTxHex(%.20q...): %v, want %q", c.in, err, c.err)
		}
	}
}

// fakeChain answers the calls Fund makes as btcd would, from a chain whose
// coinbases pay payee; it mines on generate.
type fakeChain struct {
	payee  []byte
	blocks []*wire.MsgBlock // from height 1
	calls  []string
}

func (c *fakeChain) call(_ context.Context, method string, result any, params ...any) error {
	c.calls = append(c.calls, method)
	var v any
	switch method {
	case "getblockcount":
		v = len(c.blocks)
	case "generate":
		n := params[0].(int64)
		var hashes []string
		for range n {
			b := wire.MsgBlock{Transactions: []*wire.MsgTx{coinbase(int64(len(c.blocks)+1), c.payee)}}
			c.blocks = append(c.blocks, &b)
			hashes = append(hashes, b.BlockHash().String())
		}
		v = hashes
	case "getblockhash":
		v = fmt.Sprint(params[0].(int64))
	case "getblock":
		var h int
		fmt.Sscan(params[0].(string), &h)
		var sb strings.Builder
		if err := c.blocks[h-1].Serialize(hexWriter{&sb}); err != nil {
			return err
		}
		v = sb.String()
	default:
		return errors.New("method not found")
	}
	b, _ := json.Marshal(v)
	return json.Unmarshal(b, result)
}

// hexWriter writes bytes as hex.
type hexWriter struct{ sb *strings.Builder }

func (w hexWriter) Write(p []byte) (int, error) {
	fmt.Fprintf(w.sb, "%x", p)
	return len(p), nil
}

func TestFund(t *testing.T) {
	params := &chaincfg.RegressionNetParams
	c := &fakeChain{payee: pkScript()}
	txs, err := Fund(context.Background(), c.call, params, 3, DefaultFee)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.blocks) != 3+int(params.CoinbaseMaturity) || len(txs) != 3 {
		t.Fatalf("%d blocks, %d transactions", len(c.blocks), len(txs))
	}
	for i, tx := range txs {
		cb := c.blocks[i].Transactions[0]
		if tx.TxIn[0].PreviousOutPoint.Hash != cb.TxHash() {
			t.Errorf("transaction %d spends %v, want the coinbase at height %d", i, tx.TxIn[0].PreviousOutPoint, i+1)
		}
		verify(t, tx, cb.TxOut[0])
	}

	// A chain tall enough already: nothing mined.
	c.calls = nil
	if _, err := Fund(context.Background(), c.call, params, 2, DefaultFee); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(c.calls, " "), "generate") {
		t.Errorf("mined again: %v", c.calls)
	}

	// A chain mined to someone else.
	other := &fakeChain{payee: []byte{txscript.OP_TRUE}}
	if _, err := Fund(context.Background(), other.call, params, 1, DefaultFee); err == nil || !strings.Contains(err.Error(), "--miningaddr="+Address(params)) {
		t.Errorf("Fund on a chain that does not pay the key: %v", err)
	}
	if _, err := Fund(context.Background(), c.call, params, 0, DefaultFee); err == nil {
		t.Error("Fund of 0 transactions")
	}
}
