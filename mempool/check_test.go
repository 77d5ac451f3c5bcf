package mempool

import (
	"bytes"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"
)

var nullOutPoint = wire.OutPoint{Index: wire.MaxPrevOutIndex}

// txWith builds testTx(1) changed by f.
func txWith(f func(tx *wire.MsgTx)) *wire.MsgTx {
	tx := testTx(1)
	f(tx)
	return tx
}

func TestAddRefusesEachReason(t *testing.T) {
	tests := []struct {
		name   string
		tx     *wire.MsgTx
		reason string
	}{
		{"no inputs", txWith(func(tx *wire.MsgTx) { tx.TxIn = nil }), ReasonVinEmpty},
		{"no outputs", txWith(func(tx *wire.MsgTx) { tx.TxOut = nil }), ReasonVoutEmpty},
		{"base size above 1,000,000", txWith(func(tx *wire.MsgTx) {
			tx.TxOut[0].PkScript = make([]byte, MaxBlockBaseSize)
		}), ReasonOversize},
		{"negative output", txWith(func(tx *wire.MsgTx) { tx.TxOut[0].Value = -1 }), ReasonVoutNegative},
		{"output above 21e6 BTC", txWith(func(tx *wire.MsgTx) { tx.TxOut[0].Value = MaxMoney + 1 }), ReasonVoutTooLarge},
		{"outputs summing above 21e6 BTC", txWith(func(tx *wire.MsgTx) {
			tx.TxOut[0].Value = MaxMoney
			tx.AddTxOut(wire.NewTxOut(1, p2wpkh))
		}), ReasonOutTotalTooLarge},
		{"the same input twice", txWith(func(tx *wire.MsgTx) {
			tx.AddTxIn(&wire.TxIn{PreviousOutPoint: tx.TxIn[0].PreviousOutPoint})
		}), ReasonInputsDuplicate},
		{"coinbase with a 1-byte scriptSig", txWith(func(tx *wire.MsgTx) {
			tx.TxIn[0].PreviousOutPoint = nullOutPoint
			tx.TxIn[0].SignatureScript = []byte{1}
		}), ReasonBadCoinbaseLen},
		{"coinbase with a 101-byte scriptSig", txWith(func(tx *wire.MsgTx) {
			tx.TxIn[0].PreviousOutPoint = nullOutPoint
			tx.TxIn[0].SignatureScript = make([]byte, 101)
		}), ReasonBadCoinbaseLen},
		{"coinbase", txWith(func(tx *wire.MsgTx) {
			tx.TxIn[0].PreviousOutPoint = nullOutPoint
			tx.TxIn[0].SignatureScript = []byte{0x03, 0x01, 0x02, 0x03}
		}), ReasonCoinbase},
		{"a null prevout beside another input", txWith(func(tx *wire.MsgTx) {
			tx.AddTxIn(&wire.TxIn{PreviousOutPoint: nullOutPoint})
		}), ReasonPrevoutNull},
		{"weight 400,004 from base size", txWith(func(tx *wire.MsgTx) {
			tx.TxOut[0].PkScript = make([]byte, 99_936) // base 100,001 bytes
		}), ReasonTxSize},
		{"weight above 400,000 from witness", witnessTx(1, make([]byte, MaxStandardTxWeight)), ReasonTxSize},
		// Core's order: the first failing check names the refusal.
		{"negative output and duplicate inputs", txWith(func(tx *wire.MsgTx) {
			tx.TxOut[0].Value = -5
			tx.AddTxIn(&wire.TxIn{PreviousOutPoint: tx.TxIn[0].PreviousOutPoint})
		}), ReasonVoutNegative},
		{"no inputs and no outputs", wire.NewMsgTx(2), ReasonVinEmpty},
	}
	p := open(t, t.TempDir(), newClock(), Config{})
	defer mustClose(t, p)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := p.Add(tt.tx)
			if got := rejectReason(err); got != tt.reason {
				t.Fatalf("Add: %v (reason %q), want reason %q", err, got, tt.reason)
			}
			if e != nil {
				t.Fatalf("Add returned an entry with a refusal")
			}
			if n := p.Info().Count; n != 0 {
				t.Fatalf("pool holds %d entries after a refusal", n)
			}
			if got := rejectReason(CheckSanity(tt.tx)); got != tt.reason {
				t.Fatalf("CheckSanity: reason %q, want %q", got, tt.reason)
			}
		})
	}
}

func TestAddAcceptsBoundaries(t *testing.T) {
	tests := []struct {
		name       string
		tx         *wire.MsgTx
		weight     int
		vsize      int
		hasWitness bool
	}{
		{"output of exactly 21e6 BTC", txWith(func(tx *wire.MsgTx) { tx.TxOut[0].Value = MaxMoney }), 0, 0, false},
		{"outputs summing to exactly 21e6 BTC", txWith(func(tx *wire.MsgTx) {
			tx.TxOut[0].Value = MaxMoney - 1
			tx.AddTxOut(wire.NewTxOut(1, p2wpkh))
		}), 0, 0, false},
		{"zero-value output", txWith(func(tx *wire.MsgTx) { tx.TxOut[0].Value = 0 }), 0, 0, false},
		{"weight exactly 400,000", txWith(func(tx *wire.MsgTx) {
			tx.TxOut[0].PkScript = make([]byte, 99_935) // base 100,000 bytes
		}), 400_000, 100_000, false},
		{"witness", witnessTx(1, []byte{1, 2, 3}, make([]byte, 72)), 0, 0, true},
		{"same outpoint hash, other index", txWith(func(tx *wire.MsgTx) {
			op := tx.TxIn[0].PreviousOutPoint
			op.Index++
			tx.AddTxIn(&wire.TxIn{PreviousOutPoint: op})
		}), 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := open(t, t.TempDir(), newClock(), Config{})
			defer mustClose(t, p)
			e := mustAdd(t, p, tt.tx)
			if tt.weight != 0 && (e.Weight != tt.weight || e.VSize != tt.vsize) {
				t.Errorf("weight %d vsize %d, want %d %d", e.Weight, e.VSize, tt.weight, tt.vsize)
			}
			if e.TxID != tt.tx.TxHash() || e.WTxID != tt.tx.WitnessHash() {
				t.Errorf("txid/wtxid mismatch")
			}
			if (e.TxID != e.WTxID) != tt.hasWitness {
				t.Errorf("txid == wtxid: %v, want %v", e.TxID == e.WTxID, !tt.hasWitness)
			}
			stripped, size := tt.tx.SerializeSizeStripped(), tt.tx.SerializeSize()
			if e.Size != size || e.Weight != 3*stripped+size || e.VSize != (e.Weight+3)/4 || len(e.Raw) != size {
				t.Errorf("sizes: size %d weight %d vsize %d", e.Size, e.Weight, e.VSize)
			}
		})
	}
}

func TestAddDedupes(t *testing.T) {
	p := open(t, t.TempDir(), newClock(), Config{})
	defer mustClose(t, p)

	plain := testTx(1)
	e1 := mustAdd(t, p, plain)
	e2, err := p.Add(testTx(1)) // a fresh copy: same txid, same wtxid
	if !errors.Is(err, ErrAlreadyHave) || e2 != e1 {
		t.Fatalf("same tx again: %v, entry %p, want ErrAlreadyHave and %p", err, e2, e1)
	}
	var re *RejectError
	if errors.As(err, &re) {
		t.Fatalf("ErrAlreadyHave must not be a RejectError")
	}
	// The same non-witness data with a witness: same txid, other wtxid.
	malleated := testTx(1)
	malleated.TxIn[0].Witness = [][]byte{{7}}
	if _, err := p.Add(malleated); rejectReason(err) != ReasonSameNonWitness {
		t.Fatalf("same txid, other wtxid: %v, want %q", err, ReasonSameNonWitness)
	}

	// Two witnesses on the same transaction.
	a, b := witnessTx(2, []byte{1}), witnessTx(2, []byte{2})
	if a.TxHash() != b.TxHash() || a.WitnessHash() == b.WitnessHash() {
		t.Fatal("test transactions are not witness-malleated twins")
	}
	ea := mustAdd(t, p, a)
	if _, err := p.Add(b); rejectReason(err) != ReasonSameNonWitness {
		t.Fatalf("witness twin: %v", err)
	}
	if got, _ := p.GetByWTxID(a.WitnessHash()); got != ea {
		t.Fatal("GetByWTxID")
	}
	if _, ok := p.GetByWTxID(b.WitnessHash()); ok {
		t.Fatal("the refused twin is in the pool")
	}
	if got, _ := p.Get(a.TxHash()); got != ea {
		t.Fatal("Get")
	}
	if n := p.Info().Count; n != 2 {
		t.Fatalf("count %d, want 2", n)
	}
}

func TestAddConcurrentDuplicates(t *testing.T) {
	p := open(t, t.TempDir(), newClock(), Config{})
	defer mustClose(t, p)
	const n = 16
	type result struct {
		e   *Entry
		err error
	}
	results := make(chan result, n)
	for range n {
		go func() {
			e, err := p.Add(testTx(9))
			results <- result{e, err}
		}()
	}
	var first *Entry
	added := 0
	for range n {
		r := <-results
		switch {
		case r.err == nil:
			added++
		case errors.Is(r.err, ErrAlreadyHave):
		default:
			t.Fatalf("Add: %v", r.err)
		}
		if first == nil {
			first = r.e
		}
		if r.e != first {
			t.Fatal("concurrent Adds of one tx returned different entries")
		}
	}
	if added != 1 {
		t.Fatalf("%d Adds succeeded, want 1", added)
	}
}

func TestAddKeepsItsOwnCopy(t *testing.T) {
	p := open(t, t.TempDir(), newClock(), Config{})
	defer mustClose(t, p)
	tx := witnessTx(3, []byte{1, 2})
	e := mustAdd(t, p, tx)
	raw := bytes.Clone(e.Raw)
	tx.TxOut[0].Value = 1
	tx.TxOut[0].PkScript[0] = 0x51
	tx.TxIn[0].Witness[0][0] = 9
	var buf bytes.Buffer
	if err := e.Tx.Serialize(&buf); err != nil || !bytes.Equal(buf.Bytes(), raw) || !bytes.Equal(e.Raw, raw) {
		t.Fatal("changing the caller's tx changed the entry")
	}
}

func TestLimits(t *testing.T) {
	size := testTx(0).SerializeSize()
	tests := []struct {
		name     string
		maxCount int
		maxBytes int64
		fits     int
	}{
		{"count", 3, 0, 3},
		{"bytes", 0, int64(3*size + size - 1), 3},
		{"bytes exactly", 0, int64(4 * size), 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := open(t, t.TempDir(), newClock(), Config{MaxCount: tt.maxCount, MaxBytes: tt.maxBytes})
			defer mustClose(t, p)
			for i := range tt.fits {
				mustAdd(t, p, testTx(uint64(i)))
			}
			if _, err := p.Add(testTx(100)); rejectReason(err) != ReasonMempoolFull {
				t.Fatalf("Add beyond the limit: %v, want %q", err, ReasonMempoolFull)
			}
			// The same tx again is still "already have", not "full".
			if _, err := p.Add(testTx(0)); !errors.Is(err, ErrAlreadyHave) {
				t.Fatalf("Add of a present tx at the limit: %v", err)
			}
			if ok, err := p.Remove(testTx(0).TxHash()); !ok || err != nil {
				t.Fatalf("Remove: %v %v", ok, err)
			}
			mustAdd(t, p, testTx(100))
			info := p.Info()
			if info.Count != tt.fits || info.Bytes != int64(tt.fits*size) {
				t.Fatalf("Info %+v", info)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	p := open(t, t.TempDir(), newClock(), Config{})
	defer mustClose(t, p)
	info := p.Info()
	if info.MaxCount != DefaultMaxCount || info.MaxBytes != DefaultMaxBytes || p.cfg.Expiry != 336*3600e9 {
		t.Fatalf("defaults: %+v, expiry %v", info, p.cfg.Expiry)
	}
	if _, err := Open(Config{}); err == nil {
		t.Fatal("Open without Dir succeeded")
	}
}
