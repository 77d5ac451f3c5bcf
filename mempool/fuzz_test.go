package mempool

import (
	"bytes"
	"runtime"
	"testing"
)

// allocBound is what Open may allocate for a log of n bytes: fixed buffers
// (the read window, the rewrite buffer, btcd's 4 MiB script slab) plus a
// multiple of the file for the entries it holds.
func allocBound(n int) uint64 { return 24<<20 + 64*uint64(n) }

// checkOpen opens data as a log and checks that Open neither fails nor
// allocates beyond allocBound, and that the result reopens cleanly with the
// same entries.
func checkOpen(t *testing.T, data []byte) {
	dir := writeLogDir(t, data)
	clk := newClock()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	p, err := Open(Config{Dir: dir, Now: clk.Now})
	runtime.ReadMemStats(&ms)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if got := ms.TotalAlloc - before; got > allocBound(len(data)) {
		t.Fatalf("Open allocated %d bytes for a %d-byte log", got, len(data))
	}
	want := p.Entries()
	st := p.LoadStats()
	if st.Loaded != len(want) {
		t.Fatalf("LoadStats.Loaded %d, %d entries", st.Loaded, len(want))
	}
	mustClose(t, p)
	p = open(t, dir, clk, Config{})
	defer mustClose(t, p)
	if st := p.LoadStats(); st.Damaged() {
		t.Fatalf("damage reported again after reopen: %v", st)
	}
	sameEntries(t, p.Entries(), want)
}

// FuzzOpen writes arbitrary bytes as the log and opens it.
func FuzzOpen(f *testing.F) {
	data, _ := buildLog(f, 3)
	f.Add(data)
	f.Add(data[:len(data)-7])
	f.Add(data[:fileHeaderSize])
	f.Add([]byte{})
	f.Add([]byte("peerdmp\x01"))
	dir := f.TempDir()
	p := open(f, dir, newClock(), Config{})
	e := mustAdd(f, p, witnessTx(1, []byte{1}))
	mustAdd(f, p, testTx(2))
	if _, err := p.Remove(e.TxID); err != nil {
		f.Fatal(err)
	}
	mustClose(f, p)
	f.Add(readLogFile(f, dir))
	f.Fuzz(checkOpen)
}

// FuzzRecordPayload frames arbitrary bytes as an intact record between two
// valid adds, so that the payload decoder (and btcd's, behind scanTx) sees
// them.
func FuzzRecordPayload(f *testing.F) {
	_, es := buildLog(f, 3)
	add := appendAdd(nil, 0, 0, es[1])[recHeaderSize:]
	f.Add(add)
	f.Add(add[:len(add)-1])
	f.Add(appendRemove(nil, 0, 0, es[0])[recHeaderSize:])
	f.Add([]byte{recAdd})
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) > maxPayload {
			return
		}
		const salt = 42
		data := appendFileHeader(nil, salt)
		data = appendAdd(data, salt, int64(len(data)), es[0])
		start := len(data)
		data = append(data, make([]byte, recHeaderSize)...)
		data = append(data, payload...)
		sealRecord(data[start:], salt, int64(start))
		data = appendAdd(data, salt, int64(len(data)), es[2])
		checkOpen(t, data)
	})
}

// FuzzDecodeTx feeds arbitrary bytes to the stored-transaction decoder
// alone (no disk, so it runs fast): it must not allocate beyond a multiple
// of its input, and what it accepts must serialize back to the same bytes.
func FuzzDecodeTx(f *testing.F) {
	_, es := buildLog(f, 2)
	for _, e := range es {
		f.Add(e.Raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		e, err := decodeEntry(raw)
		runtime.ReadMemStats(&ms)
		if got := ms.TotalAlloc - before; got > allocBound(len(raw)) {
			t.Fatalf("decodeEntry allocated %d bytes for %d", got, len(raw))
		}
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := e.Tx.Serialize(&buf); err != nil || !bytes.Equal(buf.Bytes(), raw) {
			t.Fatalf("accepted bytes do not round-trip")
		}
		if e.TxID != e.Tx.TxHash() || e.WTxID != e.Tx.WitnessHash() {
			t.Fatalf("hashes")
		}
	})
}
