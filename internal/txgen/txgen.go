// Package txgen makes up transactions for peerd's load and soak tests
// (cmd/peerload relay, internal/e2e's TestSoak): transactions that pass
// peerd's context-free checks, which is all peerd applies (it has no UTXO
// set), and that nobody has seen before, so that each is relayed afresh.
package txgen

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// Segwit returns n distinct transactions: version 2, one input spending a
// made-up outpoint with an empty scriptSig and a P2WPKH-shaped witness (a
// 72-byte "signature" and a 33-byte "public key"), and one P2WPKH output.
// They are drawn from seed: the same seed gives the same transactions
// (peerload's --seed relies on it; a test pins them).
func Segwit(n int, seed uint64) []*wire.MsgTx {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	fill := func(b []byte) {
		for i := range b {
			b[i] = byte(r.Uint32())
		}
	}
	txs := make([]*wire.MsgTx, n)
	for i := range txs {
		var prev chainhash.Hash
		fill(prev[:])
		tx := wire.NewMsgTx(2)
		in := wire.NewTxIn(&wire.OutPoint{Hash: prev, Index: r.Uint32N(4)}, nil, nil)
		sig := make([]byte, 72)
		fill(sig)
		sig[0], sig[71] = 0x30, 0x01 // DER sequence, SIGHASH_ALL
		pub := make([]byte, 33)
		fill(pub)
		pub[0] = 0x02
		in.Witness = wire.TxWitness{sig, pub}
		in.Sequence = 0xfffffffd
		tx.AddTxIn(in)
		pkScript := make([]byte, 22)
		fill(pkScript[2:])
		pkScript[0], pkScript[1] = 0x00, 0x14 // OP_0 <20 bytes>
		tx.AddTxOut(wire.NewTxOut(10_000+int64(r.Uint32N(1_000_000)), pkScript))
		txs[i] = tx
	}
	return txs
}

// Hex is tx serialized with its witness, in hex: what sendrawtransaction
// takes.
func Hex(tx *wire.MsgTx) string {
	var b bytes.Buffer
	_ = tx.Serialize(&b) // a bytes.Buffer does not fail
	return hex.EncodeToString(b.Bytes())
}
