package mempool

import (
	"bytes"
	"os"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"
)

// buildLog makes a log of n adds (odd ones with a witness) and returns its
// bytes and the entries, in order.
func buildLog(t testing.TB, n int) ([]byte, []*Entry) {
	t.Helper()
	dir := t.TempDir()
	p := open(t, dir, newClock(), Config{})
	var es []*Entry
	for i := range uint64(n) {
		tx := testTx(i)
		if i%2 == 1 {
			tx = witnessTx(i, []byte{1, 2, 3}, make([]byte, 20))
		}
		es = append(es, mustAdd(t, p, tx))
	}
	mustClose(t, p)
	return readLogFile(t, dir), es
}

// reopenClean checks that a pool opened over damage reopens cleanly with
// the same entries, and still takes new ones.
func reopenClean(t *testing.T, dir string, p *Pool, want []*Entry) {
	t.Helper()
	mustClose(t, p)
	clk := newClock()
	p = open(t, dir, clk, Config{})
	if st := p.LoadStats(); st.Damaged() {
		t.Fatalf("damage reported again after reopen: %v", st)
	}
	sameEntries(t, p.Entries(), want)
	e := mustAdd(t, p, testTx(1_000_000))
	mustClose(t, p)
	p = open(t, dir, clk, Config{})
	defer mustClose(t, p)
	sameEntries(t, p.Entries(), append(want[:len(want):len(want)], e))
}

// TestTornLastRecord simulates kill -9 during the write of the last record:
// the file is cut at every byte offset of it.
func TestTornLastRecord(t *testing.T) {
	const n = 4
	data, want := buildLog(t, n)
	bounds := recordBounds(t, data)
	last, end := bounds[n-1], bounds[n]
	for cut := last; cut <= end; cut++ {
		dir := writeLogDir(t, data[:cut])
		p := open(t, dir, newClock(), Config{})
		st := p.LoadStats()
		wantN, torn := n-1, cut > last && cut < end
		if cut == end {
			wantN = n
		}
		if st.Loaded != wantN || st.TornTail != torn || (torn && st.TornBytes != int64(cut-last)) ||
			st.BadRegions != 0 || st.BadHeader || st.Skipped != 0 || st.SavedAs != "" {
			t.Fatalf("cut at %d (record %d..%d): %v", cut, last, end, st)
		}
		sameEntries(t, p.Entries(), want[:wantN])
		if cut == last || cut == end || cut == last+recHeaderSize+1 {
			reopenClean(t, dir, p, want[:wantN])
		} else {
			mustClose(t, p)
			if got := len(readLogFile(t, dir)); got != last {
				t.Fatalf("cut at %d: torn tail not cut off: file is %d bytes, want %d", cut, got, last)
			}
		}
	}
}

// TestTornRemoval: a torn removal record loses only the removal.
func TestTornRemoval(t *testing.T) {
	dir := t.TempDir()
	p := open(t, dir, newClock(), Config{})
	var want []*Entry
	for i := range uint64(3) {
		want = append(want, mustAdd(t, p, testTx(i)))
	}
	if _, err := p.Remove(want[1].TxID); err != nil {
		t.Fatal(err)
	}
	mustClose(t, p)
	data := readLogFile(t, dir)
	bounds := recordBounds(t, data)
	cut := bounds[len(bounds)-2] + 5
	p = open(t, writeLogDir(t, data[:cut]), newClock(), Config{})
	defer mustClose(t, p)
	if st := p.LoadStats(); !st.TornTail || st.Loaded != 3 {
		t.Fatalf("LoadStats %v", st)
	}
	sameEntries(t, p.Entries(), want)
}

// TestCorruptByte flips each byte of a record in turn: in the last record
// it is a corrupt tail; in a middle record the record alone is lost and the
// damaged file is kept.
func TestCorruptByte(t *testing.T) {
	const n = 4
	data, want := buildLog(t, n)
	bounds := recordBounds(t, data)
	tests := []struct {
		name   string
		record int
	}{
		{"last record", n - 1},
		{"middle record", 1},
		{"first record", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end := bounds[tt.record], bounds[tt.record+1]
			wantEntries := append(append([]*Entry(nil), want[:tt.record]...), want[tt.record+1:]...)
			tail := tt.record == n-1
			for off := start; off < end; off++ {
				bad := bytes.Clone(data)
				bad[off] ^= 0x20
				dir := writeLogDir(t, bad)
				p := open(t, dir, newClock(), Config{})
				st := p.LoadStats()
				if st.Loaded != n-1 || st.TornTail != tail || (st.BadRegions == 1) == tail || st.Skipped != 0 {
					t.Fatalf("byte %d flipped: %v", off, st)
				}
				if !tail {
					if st.BadBytes != int64(end-start) || st.SavedAs == "" || !st.Compacted {
						t.Fatalf("byte %d flipped: %v", off, st)
					}
					saved, err := os.ReadFile(st.SavedAs)
					if err != nil || !bytes.Equal(saved, bad) {
						t.Fatalf("damaged file not saved as is: %v", err)
					}
				}
				sameEntries(t, p.Entries(), wantEntries)
				if off == start || off == end-1 {
					reopenClean(t, dir, p, wantEntries)
				} else {
					mustClose(t, p)
				}
			}
		})
	}
}

func TestCorruptFileHeader(t *testing.T) {
	data, _ := buildLog(t, 2)
	for _, bad := range [][]byte{
		append([]byte{data[0] ^ 1}, data[1:]...),
		append(append(bytes.Clone(data[:10]), data[10]^1), data[11:]...),
		data[:fileHeaderSize-1],
		[]byte("not a mempool log at all, just some text\n"),
	} {
		dir := writeLogDir(t, bad)
		p := open(t, dir, newClock(), Config{})
		st := p.LoadStats()
		if !st.BadHeader || st.Loaded != 0 || st.SavedAs == "" {
			t.Fatalf("LoadStats %v", st)
		}
		reopenClean(t, dir, p, nil)
	}
}

// TestLostBlock zeroes a 4 KiB block in the middle of a larger log, as a
// failing disk might: only the records touching it are lost.
func TestLostBlock(t *testing.T) {
	data, want := buildLog(t, 200)
	bounds := recordBounds(t, data)
	const lo, hi = 8192, 8192 + 4096
	var kept []*Entry
	for i, e := range want {
		if bounds[i+1] <= lo || bounds[i] >= hi {
			kept = append(kept, e)
		}
	}
	bad := bytes.Clone(data)
	clear(bad[lo:hi])
	dir := writeLogDir(t, bad)
	p := open(t, dir, newClock(), Config{})
	st := p.LoadStats()
	if st.BadRegions != 1 || st.TornTail || len(kept) == len(want) {
		t.Fatalf("LoadStats %v", st)
	}
	sameEntries(t, p.Entries(), kept)
	reopenClean(t, dir, p, kept)
}

// TestSkipsRefusedRecords: an intact record whose transaction the checks
// refuse (written by a buggy or older version) is skipped and counted.
func TestSkipsRefusedRecords(t *testing.T) {
	data, want := buildLog(t, 2)
	salt := le.Uint64(data[8:16])
	coinbase := wire.NewMsgTx(1)
	coinbase.AddTxIn(&wire.TxIn{PreviousOutPoint: nullOutPoint, SignatureScript: []byte{1, 2}})
	coinbase.AddTxOut(wire.NewTxOut(50, p2wpkh))
	var raw bytes.Buffer
	coinbase.Serialize(&raw)
	bad := &Entry{Raw: raw.Bytes(), Seq: 3}
	data = appendAdd(data, salt, int64(len(data)), bad)
	junk := &Entry{Raw: []byte{1, 2, 3}, Seq: 4}
	data = appendAdd(data, salt, int64(len(data)), junk)
	dup := &Entry{Raw: want[0].Raw, Seq: 5}
	data = appendAdd(data, salt, int64(len(data)), dup)

	dir := writeLogDir(t, data)
	p := open(t, dir, newClock(), Config{})
	st := p.LoadStats()
	if st.Skipped != 3 || st.Loaded != 2 || st.TornTail || st.BadRegions != 0 {
		t.Fatalf("LoadStats %v", st)
	}
	sameEntries(t, p.Entries(), want)
	if e := mustAdd(t, p, testTx(50)); e.Seq != 6 {
		t.Fatalf("Seq %d after skipped records up to 5", e.Seq)
	}
	mustClose(t, p)
}

func TestScanTxBoundsCounts(t *testing.T) {
	valid := func(tx *wire.MsgTx) []byte {
		var b bytes.Buffer
		tx.Serialize(&b)
		return b.Bytes()
	}
	tests := []struct {
		name string
		raw  []byte
		ok   bool
	}{
		{"plain", valid(testTx(1)), true},
		{"witness", valid(witnessTx(1, []byte{1}, nil)), true},
		{"empty", nil, false},
		{"huge input count", []byte{1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0}, false},
		{"huge output count", append(valid(testTx(1))[:4+1+42], 0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0), false},
		{"huge witness item count", func() []byte {
			b := valid(witnessTx(1, []byte{1}))
			i := len(b) - 4 - 2 // witness: count 1, item len 1, item
			b = append(b[:i-1:i-1], 0xfe, 0xff, 0xff, 0xff, 0x0f)
			return append(b, 0, 0, 0, 0)
		}(), false},
		{"script longer than the rest", func() []byte {
			b := valid(testTx(1))
			b[4+1+36] = 0xfd
			return b
		}(), false},
		{"trailing byte", append(valid(testTx(1)), 0), false},
		{"bad witness flag", func() []byte {
			b := valid(witnessTx(1, []byte{1}))
			b[5] = 2
			return b
		}(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := scanTx(tt.raw); (err == nil) != tt.ok {
				t.Fatalf("scanTx: %v, want ok %v", err, tt.ok)
			}
			if _, err := decodeEntry(bytes.Clone(tt.raw)); (err == nil) != tt.ok {
				t.Fatalf("decodeEntry: %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// TestEmbeddedRecordIsNotResynced: when resyncing after damage, a copy of
// a genuine record carried inside a transaction (here in an output script)
// is not taken for a record, because a header is valid only at its own
// offset.
func TestEmbeddedRecordIsNotResynced(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	p := open(t, dir, clk, Config{})
	a := mustAdd(t, p, testTx(1))
	mustClose(t, p)
	recA := bytes.Clone(readLogFile(t, dir)[fileHeaderSize:])

	p = open(t, dir, clk, Config{})
	carrier := testTx(2)
	carrier.TxOut[0].PkScript = recA
	mustAdd(t, p, carrier)
	c := mustAdd(t, p, testTx(3))
	mustClose(t, p)

	data := readLogFile(t, dir)
	bounds := recordBounds(t, data)
	data[bounds[1]] ^= 1 // the carrier's record is damaged: resync from inside it
	p = open(t, writeLogDir(t, data), clk, Config{})
	defer mustClose(t, p)
	st := p.LoadStats()
	if st.BadRegions != 1 || st.BadBytes != int64(bounds[2]-bounds[1]) || st.Skipped != 0 {
		t.Fatalf("LoadStats %v", st)
	}
	sameEntries(t, p.Entries(), []*Entry{a, c})
}
