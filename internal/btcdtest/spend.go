package btcdtest

import (
	"context"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/regtestfund"
)

// Coinbase returns the coinbase transaction of the block at height, read
// from btcd (getblockhash, then getblock with verbosity 0).
func (n *Node) Coinbase(height int64) (*wire.MsgTx, error) {
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	return regtestfund.CoinbaseAt(ctx, n.CallResult, height)
}

// SpendCoinbase builds and signs a transaction that spends output 0 of a
// coinbase paid to MiningAddr, back to MiningAddr, less fee satoshis, with
// the given sequence number (so one coinbase can yield distinct
// transactions). The coinbase must be mature (100 blocks deep) for btcd to
// accept the spend. It is [regtestfund.SpendCoinbase].
func SpendCoinbase(coinbase *wire.MsgTx, fee int64, sequence uint32) (*wire.MsgTx, error) {
	return regtestfund.SpendCoinbase(coinbase, fee, sequence)
}

// TxHex serializes tx as sendrawtransaction expects it.
func TxHex(tx *wire.MsgTx) string { return regtestfund.TxHex(tx) }
