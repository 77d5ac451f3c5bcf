package btcdtest

import (
	"bytes"
	"encoding/hex"
	"fmt"

	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// Coinbase returns the coinbase transaction of the block at height, read
// from btcd (getblockhash, then getblock with verbosity 0).
func (n *Node) Coinbase(height int64) (*wire.MsgTx, error) {
	var hash, raw string
	if err := n.callInto(&hash, "getblockhash", height); err != nil {
		return nil, err
	}
	if err := n.callInto(&raw, "getblock", hash, 0); err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(raw)
	if err != nil {
		return nil, fmt.Errorf("getblock %s: %w", hash, err)
	}
	var blk wire.MsgBlock
	if err := blk.Deserialize(bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("getblock %s: %w", hash, err)
	}
	return blk.Transactions[0], nil
}

// SpendCoinbase builds and signs a transaction that spends output 0 of a
// coinbase paid to MiningAddr, back to MiningAddr, less fee satoshis, with
// the given sequence number (so one coinbase can yield distinct
// transactions). The coinbase must be mature (100 blocks deep) for btcd to
// accept the spend.
func SpendCoinbase(coinbase *wire.MsgTx, fee int64, sequence uint32) (*wire.MsgTx, error) {
	prev := coinbase.TxOut[0]
	tx := wire.NewMsgTx(2)
	in := wire.NewTxIn(&wire.OutPoint{Hash: coinbase.TxHash(), Index: 0}, nil, nil)
	in.Sequence = sequence
	tx.AddTxIn(in)
	tx.AddTxOut(wire.NewTxOut(prev.Value-fee, prev.PkScript))
	sig, err := txscript.SignatureScript(tx, 0, prev.PkScript, txscript.SigHashAll, MiningKey(), true)
	if err != nil {
		return nil, err
	}
	tx.TxIn[0].SignatureScript = sig
	return tx, nil
}

// TxHex serializes tx as sendrawtransaction expects it.
func TxHex(tx *wire.MsgTx) string {
	var b bytes.Buffer
	if err := tx.Serialize(&b); err != nil {
		panic(err) // writing to a bytes.Buffer does not fail
	}
	return hex.EncodeToString(b.Bytes())
}
