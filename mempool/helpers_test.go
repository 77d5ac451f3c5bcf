package mempool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// fakeClock is a Config.Now that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// outpoint returns a distinct, non-null outpoint for n.
func outpoint(n uint64) wire.OutPoint {
	var h chainhash.Hash
	binary.LittleEndian.PutUint64(h[:], n)
	h[31] = 0xaa
	return wire.OutPoint{Hash: h, Index: uint32(n % 7)}
}

// p2wpkh is a standard-looking output script.
var p2wpkh = append([]byte{0x00, 0x14}, bytes.Repeat([]byte{0x11}, 20)...)

// testTx returns a small valid transaction, distinct for each n.
func testTx(n uint64) *wire.MsgTx {
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(&wire.TxIn{PreviousOutPoint: outpoint(n), SignatureScript: []byte{0x51}, Sequence: 0xfffffffd})
	tx.AddTxOut(wire.NewTxOut(10_000, p2wpkh))
	return tx
}

// witnessTx returns testTx(n) with a witness stack of the given items.
func witnessTx(n uint64, items ...[]byte) *wire.MsgTx {
	tx := testTx(n)
	tx.TxIn[0].SignatureScript = nil
	tx.TxIn[0].Witness = items
	return tx
}

// open opens a pool in dir with the fake clock; cfg fields other than Dir
// and Now are taken from cfg.
func open(t testing.TB, dir string, clk *fakeClock, cfg Config) *Pool {
	t.Helper()
	cfg.Dir = dir
	cfg.Now = clk.Now
	p, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return p
}

func mustAdd(t testing.TB, p *Pool, tx *wire.MsgTx) *Entry {
	t.Helper()
	e, err := p.Add(tx)
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	return e
}

func mustClose(t testing.TB, p *Pool) {
	t.Helper()
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func rejectReason(err error) string {
	var re *RejectError
	if errors.As(err, &re) {
		return re.Reason
	}
	return ""
}

func logPath(dir string) string { return filepath.Join(dir, logName) }

func readLogFile(t testing.TB, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(logPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeLogDir writes data as the log of a new directory and returns it.
func writeLogDir(t testing.TB, data []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(logPath(dir), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// sameEntries fails unless got and want describe the same transactions,
// in the same order, with the same Seq and Added.
func sameEntries(t testing.TB, got, want []*Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.TxID != w.TxID || g.WTxID != w.WTxID || g.Seq != w.Seq || !g.Added.Equal(w.Added) ||
			!bytes.Equal(g.Raw, w.Raw) || g.Size != w.Size || g.VSize != w.VSize || g.Weight != w.Weight {
			t.Fatalf("entry %d: got seq %d %v added %v, want seq %d %v added %v",
				i, g.Seq, g.TxID, g.Added, w.Seq, w.TxID, w.Added)
		}
		var buf bytes.Buffer
		if err := g.Tx.Serialize(&buf); err != nil || !bytes.Equal(buf.Bytes(), w.Raw) {
			t.Fatalf("entry %d: Tx does not serialize to Raw", i)
		}
	}
}

// recordBounds returns the offsets at which the log's records start (and
// the file's length last), by walking the file as written.
func recordBounds(t testing.TB, data []byte) []int {
	t.Helper()
	var out []int
	pos := fileHeaderSize
	for pos+recHeaderSize <= len(data) {
		out = append(out, pos)
		pos += recHeaderSize + int(binary.LittleEndian.Uint32(data[pos+4:]))
	}
	if pos != len(data) {
		t.Fatalf("log does not end on a record boundary")
	}
	return append(out, pos)
}
