package main

import (
	"math/rand/v2"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/txgen"
)

// makeTxs returns the relay mode's n transactions, made up from seed by
// txgen.Segwit (which TestSoak uses too): the same seed gives the same
// transactions.
func makeTxs(n int, seed uint64) []*wire.MsgTx { return txgen.Segwit(n, seed) }

// txHex is tx serialized with its witness, in hex.
func txHex(tx *wire.MsgTx) string { return txgen.Hex(tx) }

// seedFrom returns s, or a random non-zero seed when s is 0.
func seedFrom(s uint64) uint64 {
	for s == 0 {
		s = rand.Uint64()
	}
	return s
}
