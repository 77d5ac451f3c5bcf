package mempool

import (
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/wire/v2"
)

// Reject reasons: Bitcoin Core's strings (validation.cpp, consensus/tx_check.cpp,
// policy/policy.cpp), so that an RPC client sees what Core would say.
const (
	// CheckTransaction (consensus, context-free), in Core's order.
	ReasonVinEmpty         = "bad-txns-vin-empty"
	ReasonVoutEmpty        = "bad-txns-vout-empty"
	ReasonOversize         = "bad-txns-oversize"
	ReasonVoutNegative     = "bad-txns-vout-negative"
	ReasonVoutTooLarge     = "bad-txns-vout-toolarge"
	ReasonOutTotalTooLarge = "bad-txns-txouttotal-toolarge"
	ReasonInputsDuplicate  = "bad-txns-inputs-duplicate"
	ReasonBadCoinbaseLen   = "bad-cb-length" // a coinbase whose scriptSig is not 2..100 bytes
	ReasonPrevoutNull      = "bad-txns-prevout-null"

	// MemPoolAccept::PreChecks and IsStandardTx.
	ReasonCoinbase = "coinbase"
	ReasonTxSize   = "tx-size" // weight above MaxStandardTxWeight

	// Mempool state.
	ReasonSameNonWitness = "txn-same-nonwitness-data-in-mempool"
	ReasonMempoolFull    = "mempool full"
)

// Limits of the checks.
const (
	// MaxBlockBaseSize bounds a transaction's size without witness
	// (btcd's blockchain.MaxBlockBaseSize; Core: 4 × size > MAX_BLOCK_WEIGHT).
	MaxBlockBaseSize = 1_000_000
	// MaxStandardTxWeight is Core's MAX_STANDARD_TX_WEIGHT. A transaction's
	// serialized size with witness never exceeds its weight, so it also
	// bounds every transaction the pool stores.
	MaxStandardTxWeight = 400_000
	// WitnessScaleFactor converts base size to weight (BIP 141).
	WitnessScaleFactor = 4
	// MaxMoney is Core's MAX_MONEY (btcutil.MaxSatoshi): 21 million BTC
	// in satoshis.
	MaxMoney int64 = 21_000_000 * 100_000_000
)

// ErrAlreadyHave is returned by Add, together with the existing entry, when
// a transaction with the same wtxid is already in the pool (Core's
// "txn-already-in-mempool"). It is not a *RejectError: Core's
// sendrawtransaction answers it with success.
var ErrAlreadyHave = errors.New("txn-already-in-mempool")

// ErrClosed is returned by operations on a closed Pool.
var ErrClosed = errors.New("mempool: closed")

// ErrLocked is what Open returns when another process holds the
// directory's lock (another peerd on the same data directory).
var ErrLocked = errors.New("in use by another process")

// RejectError is a refusal of a transaction by Add. Reason is one of the
// Reason constants; Detail says why in words and may be empty.
type RejectError struct {
	Reason string
	Detail string
}

// Error formats as Core's ValidationState::ToString: "reason, detail".
func (e *RejectError) Error() string {
	if e.Detail == "" {
		return e.Reason
	}
	return e.Reason + ", " + e.Detail
}

func reject(reason, format string, args ...any) *RejectError {
	return &RejectError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// isNullOutPoint reports Core's COutPoint::IsNull: hash zero, index 0xffffffff.
func isNullOutPoint(op *wire.OutPoint) bool {
	return op.Index == wire.MaxPrevOutIndex && op.Hash == [32]byte{}
}

// txSizes holds the sizes the checks compute and the pool keeps.
type txSizes struct {
	stripped, size, weight, vsize int
}

// checkTx runs the context-free checks in Core's order: CheckTransaction,
// then PreChecks' coinbase test, then IsStandardTx's weight limit. tx must
// not be nil. It allocates at most a set of the inputs' outpoints.
func checkTx(tx *wire.MsgTx) (txSizes, error) {
	var sz txSizes
	if len(tx.TxIn) == 0 {
		return sz, &RejectError{Reason: ReasonVinEmpty}
	}
	if len(tx.TxOut) == 0 {
		return sz, &RejectError{Reason: ReasonVoutEmpty}
	}
	sz.stripped = tx.SerializeSizeStripped()
	if sz.stripped > MaxBlockBaseSize {
		return sz, reject(ReasonOversize, "size without witness %d > %d", sz.stripped, MaxBlockBaseSize)
	}
	var total int64
	for i, out := range tx.TxOut {
		if out.Value < 0 {
			return sz, reject(ReasonVoutNegative, "output %d value %d", i, out.Value)
		}
		if out.Value > MaxMoney {
			return sz, reject(ReasonVoutTooLarge, "output %d value %d > %d", i, out.Value, MaxMoney)
		}
		// Both terms are in 0..MaxSatoshi, so the sum cannot overflow.
		total += out.Value
		if total > MaxMoney {
			return sz, reject(ReasonOutTotalTooLarge, "outputs total more than %d", MaxMoney)
		}
	}
	seen := make(map[wire.OutPoint]struct{}, len(tx.TxIn))
	for i, in := range tx.TxIn {
		if _, dup := seen[in.PreviousOutPoint]; dup {
			return sz, reject(ReasonInputsDuplicate, "input %d spends %v again", i, in.PreviousOutPoint)
		}
		seen[in.PreviousOutPoint] = struct{}{}
	}
	coinbase := len(tx.TxIn) == 1 && isNullOutPoint(&tx.TxIn[0].PreviousOutPoint)
	if coinbase {
		if n := len(tx.TxIn[0].SignatureScript); n < 2 || n > 100 {
			return sz, reject(ReasonBadCoinbaseLen, "coinbase scriptSig of %d bytes", n)
		}
		return sz, &RejectError{Reason: ReasonCoinbase}
	}
	for i, in := range tx.TxIn {
		if isNullOutPoint(&in.PreviousOutPoint) {
			return sz, reject(ReasonPrevoutNull, "input %d", i)
		}
	}
	sz.size = tx.SerializeSize()
	sz.weight = sz.stripped*(WitnessScaleFactor-1) + sz.size
	if sz.weight > MaxStandardTxWeight {
		return sz, reject(ReasonTxSize, "weight %d > %d", sz.weight, MaxStandardTxWeight)
	}
	sz.vsize = (sz.weight + WitnessScaleFactor - 1) / WitnessScaleFactor
	return sz, nil
}
