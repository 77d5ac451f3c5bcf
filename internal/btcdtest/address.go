package btcdtest

import (
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"

	"github.com/peerd/peerd/internal/regtestfund"
)

// MiningAddr returns a fixed, valid regtest P2PKH address (base58, prefix
// "m" or "n": regtest shares testnet's version byte 0x6f) for btcd's
// --miningaddr flag, which the generate RPC requires:
//
//	btcdtest.Options{Args: []string{"--miningaddr=" + btcdtest.MiningAddr()}}
//
// Its private key is [MiningKey], so tests can spend the (mature, after 100
// blocks) coinbase outputs. It is [regtestfund.Address]'s, which
// cmd/peerload's fund mode mines to as well.
func MiningAddr() string { return regtestfund.Address(&chaincfg.RegressionNetParams) }

// MiningKey returns the private key of [MiningAddr] (compressed public key).
func MiningKey() *btcec.PrivateKey { return regtestfund.Key() }
