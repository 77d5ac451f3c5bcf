package btcdtest

import (
	"crypto/sha256"
	"sync"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
)

// miningKeySeed deterministically derives the harness' well-known key, so
// block rewards always go to the same address across runs.
const miningKeySeed = "peerd btcdtest regtest mining key"

var miningKey = sync.OnceValues(func() (*btcec.PrivateKey, string) {
	seed := sha256.Sum256([]byte(miningKeySeed))
	priv, pub := btcec.PrivKeyFromBytes(seed[:])
	addr, err := address.NewAddressPubKeyHash(
		address.Hash160(pub.SerializeCompressed()), &chaincfg.RegressionNetParams)
	if err != nil {
		panic("btcdtest: deriving mining address: " + err.Error())
	}
	return priv, addr.EncodeAddress()
})

// MiningAddr returns a fixed, valid regtest P2PKH address (base58, prefix
// "m" or "n": regtest shares testnet's version byte 0x6f) for btcd's
// --miningaddr flag, which the generate RPC requires:
//
//	btcdtest.Options{Args: []string{"--miningaddr=" + btcdtest.MiningAddr()}}
//
// Its private key is [MiningKey], so tests can spend the (mature, after 100
// blocks) coinbase outputs.
func MiningAddr() string {
	_, a := miningKey()
	return a
}

// MiningKey returns the private key of [MiningAddr] (compressed public key).
func MiningKey() *btcec.PrivateKey {
	k, _ := miningKey()
	return k
}
