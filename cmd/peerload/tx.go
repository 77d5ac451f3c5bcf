package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/regtestfund"
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

// maxTxLine bounds one line of a transaction file: the hex of a 2 MB
// transaction.
const maxTxLine = 4 << 20

// readTxFile reads the first n transactions of the file at path (see
// parseTxs).
func readTxFile(path string, n int) ([]*wire.MsgTx, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	txs, err := parseTxs(f, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return txs, nil
}

// parseTxs reads the first n transactions from r: hex, one a line, as
// peerload fund writes them. Blank lines and lines starting with # are
// skipped. Fewer than n transactions, or the same transaction twice (which
// the listeners could not tell apart), is an error.
func parseTxs(r io.Reader, n int) ([]*wire.MsgTx, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxTxLine)
	txs := make([]*wire.MsgTx, 0, n)
	seen := make(map[chainhash.Hash]int, n)
	for line := 1; len(txs) < n && sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		tx, err := regtestfund.ParseTxHex(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", line, err)
		}
		h := tx.TxHash()
		if first, ok := seen[h]; ok {
			return nil, fmt.Errorf("line %d: transaction %v again (first on line %d)", line, h, first)
		}
		seen[h] = line
		txs = append(txs, tx)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(txs) < n {
		return nil, fmt.Errorf("%d transactions, want %d (--txs)", len(txs), n)
	}
	return txs, nil
}
