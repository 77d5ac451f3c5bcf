// Package regtestfund makes transactions that a node which checks its
// inputs (btcd) accepts: signed spends of coinbase outputs on a regtest
// chain mined to a fixed, well-known key.
//
// The key is derived from a constant, so every chain mined with
// --miningaddr=[Address] pays it, and [SpendCoinbase] can sign for any of
// its coinbases once they are mature (100 blocks deep on regtest). [Fund]
// does the whole job over a node's JSON-RPC interface: it mines the blocks
// (btcd's generate) and returns one spend per coinbase.
//
// internal/btcdtest (tests) and cmd/peerload (peerload fund, for the
// benchmarks' relay runs against btcd) both use it. It never touches the
// network itself: the caller makes the RPC calls.
package regtestfund

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// keySeed deterministically derives the well-known key, so block rewards
// always go to the same address across runs. (It was btcdtest's, whose
// tests and helpers this package took over: the address stays the same.)
const keySeed = "peerd btcdtest regtest mining key"

// DefaultFee is the fee, in satoshis, of the transactions [Fund] makes:
// about 50 sat/vB for a one-input, one-output P2PKH spend of about 190
// bytes, well above btcd's default minimum relay fee (1,000 sat/kB).
const DefaultFee = 10_000

var key = sync.OnceValue(func() *btcec.PrivateKey {
	seed := sha256.Sum256([]byte(keySeed))
	priv, _ := btcec.PrivKeyFromBytes(seed[:])
	return priv
})

// Key returns the well-known private key (its public key is used
// compressed).
func Key() *btcec.PrivateKey { return key() }

// Address returns the key's P2PKH address on the network params, for
// btcd's --miningaddr (regtest: base58, prefix "m" or "n").
func Address(params *chaincfg.Params) string {
	a, err := address.NewAddressPubKeyHash(address.Hash160(Key().PubKey().SerializeCompressed()), params)
	if err != nil {
		panic("regtestfund: deriving the address: " + err.Error()) // a 20-byte hash is always valid
	}
	return a.EncodeAddress()
}

var pkScript = sync.OnceValue(func() []byte {
	// The script does not depend on the network.
	a, err := address.NewAddressPubKeyHash(address.Hash160(Key().PubKey().SerializeCompressed()), &chaincfg.RegressionNetParams)
	if err != nil {
		panic("regtestfund: deriving the address: " + err.Error())
	}
	s, err := txscript.PayToAddrScript(a)
	if err != nil {
		panic("regtestfund: building the output script: " + err.Error())
	}
	return s
})

// PkScript returns the output script that pays the key (P2PKH), the one
// in the coinbases of a chain mined to [Address]. The caller must not
// modify it.
func PkScript() []byte { return pkScript() }

// PaysKey reports whether output 0 of tx (a coinbase) pays the key.
func PaysKey(tx *wire.MsgTx) bool {
	return len(tx.TxOut) > 0 && bytes.Equal(tx.TxOut[0].PkScript, pkScript())
}

// SpendCoinbase builds and signs a transaction that spends output 0 of a
// coinbase paid to the key, back to the key, less fee satoshis, with the
// given sequence number (so one coinbase can yield distinct transactions).
// The coinbase must be mature (100 blocks deep on regtest) for a node to
// accept the spend.
func SpendCoinbase(coinbase *wire.MsgTx, fee int64, sequence uint32) (*wire.MsgTx, error) {
	if !PaysKey(coinbase) {
		return nil, fmt.Errorf("coinbase %v: output 0 does not pay the well-known key", coinbase.TxHash())
	}
	prev := coinbase.TxOut[0]
	if fee < 0 || fee >= prev.Value {
		return nil, fmt.Errorf("coinbase %v: a fee of %d satoshis leaves nothing of its %d", coinbase.TxHash(), fee, prev.Value)
	}
	tx := wire.NewMsgTx(2)
	in := wire.NewTxIn(&wire.OutPoint{Hash: coinbase.TxHash(), Index: 0}, nil, nil)
	in.Sequence = sequence
	tx.AddTxIn(in)
	tx.AddTxOut(wire.NewTxOut(prev.Value-fee, prev.PkScript))
	sig, err := txscript.SignatureScript(tx, 0, prev.PkScript, txscript.SigHashAll, Key(), true)
	if err != nil {
		return nil, err
	}
	tx.TxIn[0].SignatureScript = sig
	return tx, nil
}

// TxHex serializes tx (with its witness, if any) in hex, as
// sendrawtransaction takes it.
func TxHex(tx *wire.MsgTx) string {
	var b bytes.Buffer
	if err := tx.Serialize(&b); err != nil {
		panic(err) // writing to a bytes.Buffer does not fail
	}
	return hex.EncodeToString(b.Bytes())
}

// ParseTxHex decodes a transaction from hex, as [TxHex] writes it. Surrounding
// white space is ignored; trailing bytes are an error.
func ParseTxHex(s string) (*wire.MsgTx, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("not hex: %v", err)
	}
	var tx wire.MsgTx
	r := bytes.NewReader(b)
	if err := tx.Deserialize(r); err != nil {
		return nil, fmt.Errorf("not a transaction: %v", err)
	}
	if r.Len() > 0 {
		return nil, fmt.Errorf("%d bytes after the transaction", r.Len())
	}
	return &tx, nil
}

// Caller makes one JSON-RPC call to a node and decodes its result into
// result: btcdtest's Node.CallResult, or peerload's client.
type Caller func(ctx context.Context, method string, result any, params ...any) error

// CoinbaseAt returns the coinbase transaction of the block at height, read
// from the node (getblockhash, then getblock with verbosity 0).
func CoinbaseAt(ctx context.Context, call Caller, height int64) (*wire.MsgTx, error) {
	var hash, raw string
	if err := call(ctx, "getblockhash", &hash, height); err != nil {
		return nil, err
	}
	if err := call(ctx, "getblock", &raw, hash, 0); err != nil {
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
	if len(blk.Transactions) == 0 {
		return nil, fmt.Errorf("getblock %s: a block without transactions", hash)
	}
	return blk.Transactions[0], nil
}

// Fund returns n signed transactions that the node behind call accepts:
// one spend of each coinbase at heights 1 to n, less fee. First it mines
// (generate) until those coinbases are mature, which takes a chain of
// n + params.CoinbaseMaturity blocks; the node must mine to [Address]
// (btcd: --miningaddr) and its blocks 1 to n must pay it (a fresh chain).
// The transactions spend different outputs, so a node accepts all of
// them, in any order.
func Fund(ctx context.Context, call Caller, params *chaincfg.Params, n int, fee int64) ([]*wire.MsgTx, error) {
	if n < 1 {
		return nil, fmt.Errorf("cannot fund %d transactions", n)
	}
	var height int64
	if err := call(ctx, "getblockcount", &height); err != nil {
		return nil, err
	}
	if need := int64(n) + int64(params.CoinbaseMaturity); height < need {
		var hashes []string
		if err := call(ctx, "generate", &hashes, need-height); err != nil {
			return nil, fmt.Errorf("%w (the node must mine to %s: btcd --miningaddr)", err, Address(params))
		}
		if int64(len(hashes)) != need-height {
			return nil, fmt.Errorf("generate %d: %d blocks mined", need-height, len(hashes))
		}
	}
	txs := make([]*wire.MsgTx, 0, n)
	for h := int64(1); h <= int64(n); h++ {
		cb, err := CoinbaseAt(ctx, call, h)
		if err != nil {
			return nil, err
		}
		if !PaysKey(cb) {
			return nil, fmt.Errorf("the coinbase at height %d does not pay %s: fund from a fresh chain mined with --miningaddr=%[2]s", h, Address(params))
		}
		tx, err := SpendCoinbase(cb, fee, wire.MaxTxInSequenceNum-1)
		if err != nil {
			return nil, err
		}
		txs = append(txs, tx)
	}
	return txs, nil
}
