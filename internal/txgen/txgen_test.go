package txgen

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/mempool"
)

// TestSegwit: the transactions are distinct, repeatable from the seed,
// segwit, and accepted by peerd's mempool in their hex form, as
// sendrawtransaction gets them.
func TestSegwit(t *testing.T) {
	a, b := Segwit(50, 7), Segwit(50, 7)
	seen := map[chainhash.Hash]bool{}
	for i := range a {
		if a[i].WitnessHash() != b[i].WitnessHash() {
			t.Fatalf("tx %d differs between two calls with the same seed", i)
		}
		if !a[i].HasWitness() {
			t.Fatalf("tx %d has no witness", i)
		}
		if seen[a[i].TxHash()] {
			t.Fatalf("tx %d repeats", i)
		}
		seen[a[i].TxHash()] = true
	}
	if Segwit(1, 8)[0].TxHash() == a[0].TxHash() {
		t.Error("seeds 7 and 8 gave the same first transaction")
	}
	pool, err := mempool.Open(mempool.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for i, tx := range a {
		raw, err := hex.DecodeString(Hex(tx))
		if err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
		var back wire.MsgTx
		if err := back.Deserialize(bytes.NewReader(raw)); err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
		if back.WitnessHash() != tx.WitnessHash() {
			t.Fatalf("tx %d changed in its hex form", i)
		}
		if _, err := pool.Add(&back); err != nil {
			t.Fatalf("the mempool refuses tx %d: %v", i, err)
		}
	}
}

// TestSegwitPinned: a seed gives the transactions it gave before the code
// moved here from cmd/peerload, so that a peerload run can be repeated
// with its --seed across versions.
func TestSegwitPinned(t *testing.T) {
	want := []string{
		"f04ae1a2a22a2d3b0c70615cb34a592004bfa602d6caeaa5c06d40176173d7a8",
		"abb91d0eb67b688fd26f5b8d3a5bfb559cf813c0e012c6de9dea663c1942c5d8",
		"3c5f82bb5152e34eff89d46ef06a59b11e16a8b92a4cf2cdba97e91969cf663b",
	}
	for i, tx := range Segwit(len(want), 1) {
		if got := tx.TxHash().String(); got != want[i] {
			t.Errorf("seed 1, tx %d: txid %s, want %s", i, got, want[i])
		}
	}
	const hex1 = "020000000001011dd452f5f6de33405df954aa30f182d08748a34d664cf4820f3a3d135f0af45f0200000000fdffffff01184f0c0000000000160014e011c2d5482240b2b0d550d6b6532e5c2132db7402483057260a129b7ceb5b34a6ca9fa5d316c2d89c4a7ec95d5c10b4026c87e1da46aa831553446ebf6bc3fcbe4df3b9f4781cf8b5511d0aa11feef8f6b12e1042bd3c42509e99adf501210233777371c0ae32ad8292c7e82b2d9f276a38c8f65aa298eb988c8193dd4fe2ac00000000"
	if got := Hex(Segwit(1, 1)[0]); got != hex1 {
		t.Errorf("seed 1, tx 0 in hex:\n%s\nwant\n%s", got, hex1)
	}
}
