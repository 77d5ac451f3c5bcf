package mempool

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// The log file. See the package documentation for the format.
const (
	logName     = "mempool.log"
	tmpName     = "mempool.log.tmp"
	corruptName = "mempool.log.corrupt"
	lockName    = "LOCK"

	fileMagic      = "peerdmp\x01"
	fileHeaderSize = 8 + 8 + 4 // magic, salt, crc
	recHeaderSize  = 16        // magic, length, payload crc, header crc

	recAdd    byte = 1
	recRemove byte = 2
	// recAddPrivate is an add record of a transaction awaiting private
	// broadcast (same layout as recAdd); recPublish (same layout as
	// recRemove) marks such an entry public: its private broadcast was
	// confirmed and it joins ordinary relay.
	recAddPrivate byte = 3
	recPublish    byte = 4

	addFixedSize = 1 + 8 + 8  // type, seq, added
	removeSize   = 1 + 8 + 32 // type, seq, txid

	// maxPayload bounds a record's payload: an add record of the largest
	// transaction Add accepts. A header claiming more is not trusted.
	maxPayload = addFixedSize + MaxStandardTxWeight

	// readWindow is the read buffer used at open; it holds a whole record.
	readWindow = 1 << 20

	// compactMinDead keeps a small pool from rewriting its log on every
	// other removal: compaction needs dead > live and dead >= this.
	compactMinDead = 64
)

var (
	recMagic   = [4]byte{0xf9, 'm', 'p', 'r'}
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	le         = binary.LittleEndian
)

func newSalt() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	return le.Uint64(b[:])
}

func appendFileHeader(buf []byte, salt uint64) []byte {
	start := len(buf)
	buf = append(buf, fileMagic...)
	buf = le.AppendUint64(buf, salt)
	return le.AppendUint32(buf, crc32.Checksum(buf[start:], castagnoli))
}

// headerCRC covers the salt, the record's own offset in the file and the
// first 12 bytes of its header (magic, length, payload CRC). A record is
// thus valid only at the place it was written, in the file it was written
// to: transaction bytes that happen to look like a record (or were made to)
// fail it.
func headerCRC(salt uint64, off int64, h []byte) uint32 {
	var b [28]byte
	le.PutUint64(b[0:], salt)
	le.PutUint64(b[8:], uint64(off))
	copy(b[16:], h[:12])
	return crc32.Checksum(b[:], castagnoli)
}

// sealRecord fills in the header of rec (header and payload, written at
// offset off).
func sealRecord(rec []byte, salt uint64, off int64) {
	copy(rec[0:4], recMagic[:])
	le.PutUint32(rec[4:8], uint32(len(rec)-recHeaderSize))
	le.PutUint32(rec[8:12], crc32.Checksum(rec[recHeaderSize:], castagnoli))
	le.PutUint32(rec[12:16], headerCRC(salt, off, rec))
}

// appendAdd appends e's add record, to be written at offset off.
func appendAdd(buf []byte, salt uint64, off int64, e *Entry) []byte {
	start := len(buf)
	buf = append(buf, make([]byte, recHeaderSize)...)
	typ := recAdd
	if e.Private() {
		typ = recAddPrivate
	}
	buf = append(buf, typ)
	buf = le.AppendUint64(buf, e.Seq)
	buf = le.AppendUint64(buf, uint64(e.Added.UnixNano()))
	buf = append(buf, e.Raw...)
	sealRecord(buf[start:], salt, off)
	return buf
}

// appendRemove appends the record removing e, to be written at offset off.
func appendRemove(buf []byte, salt uint64, off int64, e *Entry) []byte {
	return appendSeqTxID(buf, salt, off, recRemove, e)
}

// appendPublish appends the record making private e public.
func appendPublish(buf []byte, salt uint64, off int64, e *Entry) []byte {
	return appendSeqTxID(buf, salt, off, recPublish, e)
}

// appendSeqTxID appends a record of type typ naming e by Seq and txid.
func appendSeqTxID(buf []byte, salt uint64, off int64, typ byte, e *Entry) []byte {
	start := len(buf)
	buf = append(buf, make([]byte, recHeaderSize)...)
	buf = append(buf, typ)
	buf = le.AppendUint64(buf, e.Seq)
	buf = append(buf, e.TxID[:]...)
	sealRecord(buf[start:], salt, off)
	return buf
}

// newEntry builds the entry for a checked transaction and its
// serialization; it does not copy tx.
func newEntry(tx *wire.MsgTx, raw []byte, sz txSizes) *Entry {
	e := &Entry{
		Tx:     tx,
		Raw:    raw,
		TxID:   tx.TxHash(),
		Size:   sz.size,
		VSize:  sz.vsize,
		Weight: sz.weight,
	}
	e.WTxID = e.TxID
	if tx.HasWitness() {
		e.WTxID = chainhash.DoubleHashH(raw)
	}
	return e
}

// decodeEntry parses and checks a stored transaction. raw is kept by the
// entry. It allocates a bounded multiple of len(raw): scanTx refuses any
// count larger than the bytes that follow it before btcd allocates for it.
func decodeEntry(raw []byte) (*Entry, error) {
	if err := scanTx(raw); err != nil {
		return nil, err
	}
	tx := new(wire.MsgTx)
	r := bytes.NewReader(raw)
	if err := tx.Deserialize(r); err != nil {
		return nil, err
	}
	if r.Len() != 0 {
		return nil, errors.New("trailing bytes")
	}
	sz, err := checkTx(tx)
	if err != nil {
		return nil, err
	}
	if sz.size != len(raw) {
		return nil, errors.New("not in canonical serialization")
	}
	return newEntry(tx, raw, sz), nil
}

// scanTx walks a serialized transaction without allocating and fails if
// any count or length claims more than the bytes left, so that btcd's
// decoder, which allocates by the claimed counts (up to tens of MB), only
// ever allocates in proportion to the record.
func scanTx(b []byte) error {
	errShort := errors.New("transaction truncated or counts too large")
	pos := 0
	need := func(n uint64) bool {
		if n > uint64(len(b)-pos) {
			return false
		}
		pos += int(n)
		return true
	}
	varint := func() (uint64, bool) {
		if pos >= len(b) {
			return 0, false
		}
		d := b[pos]
		pos++
		var n int
		switch d {
		case 0xfd:
			n = 2
		case 0xfe:
			n = 4
		case 0xff:
			n = 8
		default:
			return uint64(d), true
		}
		if len(b)-pos < n {
			return 0, false
		}
		var v uint64
		for i := n - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[pos+i])
		}
		pos += n
		return v, true
	}
	if !need(4) {
		return errShort
	}
	nin, ok := varint()
	if !ok {
		return errShort
	}
	witness := false
	if nin == 0 {
		if pos >= len(b) || b[pos] != 1 {
			return errors.New("no inputs")
		}
		pos++
		witness = true
		if nin, ok = varint(); !ok {
			return errShort
		}
	}
	if nin > uint64(len(b)-pos)/41 { // outpoint, script length, sequence
		return errShort
	}
	for range nin {
		if !need(36) {
			return errShort
		}
		if n, ok := varint(); !ok || !need(n) || !need(4) {
			return errShort
		}
	}
	nout, ok := varint()
	if !ok || nout > uint64(len(b)-pos)/9 { // value, script length
		return errShort
	}
	for range nout {
		if !need(8) {
			return errShort
		}
		if n, ok := varint(); !ok || !need(n) {
			return errShort
		}
	}
	if witness {
		for range nin {
			items, ok := varint()
			if !ok || items > uint64(len(b)-pos) {
				return errShort
			}
			for range items {
				if n, ok := varint(); !ok || !need(n) {
					return errShort
				}
			}
		}
	}
	if !need(4) || pos != len(b) {
		return errShort
	}
	return nil
}

// logReader reads the log through one window that holds at least a whole
// record. It never allocates more than readWindow, whatever the file says.
type logReader struct {
	f    *os.File
	size int64
	buf  []byte
	off  int64 // file offset of buf[0]
	n    int   // valid bytes in buf
}

// at returns n bytes at off (off+n <= size), valid until the next call.
func (r *logReader) at(off int64, n int) ([]byte, error) {
	b, err := r.from(off, n)
	if err != nil {
		return nil, err
	}
	return b[:n], nil
}

// from returns the buffered bytes from off on, at least min of them (or
// all that remain in the file), refilling the window at off if needed.
func (r *logReader) from(off int64, min int) ([]byte, error) {
	want := int64(min)
	if rem := r.size - off; want > rem {
		want = rem
	}
	if off >= r.off && off+want <= r.off+int64(r.n) {
		return r.buf[off-r.off : r.n], nil
	}
	if r.buf == nil {
		r.buf = make([]byte, int(minInt64(readWindow, r.size)))
	}
	m := int(minInt64(int64(len(r.buf)), r.size-off))
	if _, err := r.f.ReadAt(r.buf[:m], off); err != nil {
		r.n = 0
		return nil, fmt.Errorf("mempool: read log: %w", err)
	}
	r.off, r.n = off, m
	return r.buf[:m], nil
}

func minInt64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

// validHeader reports whether the 16 bytes at off are a record header
// written at off under salt, and returns its payload length and CRC.
func (r *logReader) validHeader(salt uint64, off int64) (length, crc uint32, ok bool, err error) {
	h, err := r.at(off, recHeaderSize)
	if err != nil {
		return 0, 0, false, err
	}
	if [4]byte(h[0:4]) != recMagic || le.Uint32(h[12:16]) != headerCRC(salt, off, h) {
		return 0, 0, false, nil
	}
	length, crc = le.Uint32(h[4:8]), le.Uint32(h[8:12])
	return length, crc, length <= maxPayload, nil
}

// resync finds the first valid record header at or after from, or returns
// -1. It reads the rest of the file once: candidates are the places where
// the record magic appears, and each costs one header check.
func (r *logReader) resync(salt uint64, from int64) (int64, error) {
	pos := from
	for r.size-pos >= recHeaderSize {
		b, err := r.from(pos, 4096)
		if err != nil {
			return 0, err
		}
		i := bytes.Index(b, recMagic[:])
		if i < 0 {
			pos += int64(max(len(b)-len(recMagic)+1, 1))
			continue
		}
		q := pos + int64(i)
		if r.size-q < recHeaderSize {
			break
		}
		_, _, ok, err := r.validHeader(salt, q)
		if err != nil {
			return 0, err
		}
		if ok {
			return q, nil
		}
		pos = q + 1
	}
	return -1, nil
}

// logState is what reading the log found.
type logState struct {
	salt    uint64
	fresh   bool     // empty file: nothing to read
	live    []*Entry // by Seq
	records int      // intact records
	maxSeq  uint64
	end     int64 // offset after the last intact record
	stats   LoadStats
}

// readLog reads the whole log. Damage is reported in the stats, never as an
// error; an error means the file could not be read at all.
func readLog(f *os.File, size int64) (*logState, error) {
	st := &logState{}
	if size == 0 {
		st.fresh = true
		return st, nil
	}
	r := &logReader{f: f, size: size}
	if size < fileHeaderSize {
		st.stats.BadHeader = true
		return st, nil
	}
	h, err := r.at(0, fileHeaderSize)
	if err != nil {
		return nil, err
	}
	if string(h[:8]) != fileMagic || le.Uint32(h[16:20]) != crc32.Checksum(h[:16], castagnoli) {
		st.stats.BadHeader = true
		return st, nil
	}
	st.salt = le.Uint64(h[8:16])

	bySeq := make(map[uint64]*Entry)
	byTxID := make(map[chainhash.Hash]*Entry)
	pos := int64(fileHeaderSize)
	for pos < size && size-pos >= recHeaderSize {
		length, crc, ok, err := r.validHeader(st.salt, pos)
		if err != nil {
			return nil, err
		}
		if ok {
			end := pos + recHeaderSize + int64(length)
			if end > size {
				break // torn: an intact header whose payload never made it
			}
			payload, err := r.at(pos+recHeaderSize, int(length))
			if err != nil {
				return nil, err
			}
			if crc32.Checksum(payload, castagnoli) == crc {
				st.records++
				st.apply(payload, bySeq, byTxID)
				pos = end
				continue
			}
		}
		q, err := r.resync(st.salt, pos+1)
		if err != nil {
			return nil, err
		}
		if q < 0 {
			break // nothing intact follows: a torn or corrupt tail
		}
		st.stats.BadRegions++
		st.stats.BadBytes += q - pos
		pos = q
	}
	if pos < size {
		st.stats.TornTail = true
		st.stats.TornBytes = size - pos
	}
	st.end = pos
	st.live = make([]*Entry, 0, len(bySeq))
	for _, e := range bySeq {
		st.live = append(st.live, e)
	}
	sortBySeq(st.live)
	return st, nil
}

// apply replays one intact record.
func (st *logState) apply(p []byte, bySeq map[uint64]*Entry, byTxID map[chainhash.Hash]*Entry) {
	switch {
	case len(p) >= addFixedSize && (p[0] == recAdd || p[0] == recAddPrivate):
		seq := le.Uint64(p[1:9])
		st.maxSeq = max(st.maxSeq, seq)
		raw := bytes.Clone(p[addFixedSize:])
		e, err := decodeEntry(raw)
		if err != nil || seq == 0 || bySeq[seq] != nil || byTxID[e.TxID] != nil {
			st.stats.Skipped++
			return
		}
		e.Seq = seq
		e.Added = time.Unix(0, int64(le.Uint64(p[9:17])))
		e.private.Store(p[0] == recAddPrivate)
		bySeq[seq] = e
		byTxID[e.TxID] = e
	case len(p) == removeSize && p[0] == recRemove:
		seq := le.Uint64(p[1:9])
		st.maxSeq = max(st.maxSeq, seq)
		if e := bySeq[seq]; e != nil && e.TxID == chainhash.Hash(p[9:41]) {
			delete(bySeq, seq)
			delete(byTxID, e.TxID)
		}
	case len(p) == removeSize && p[0] == recPublish:
		// A publish record's seq is its entry's: it gives out no Seq.
		if e := bySeq[le.Uint64(p[1:9])]; e != nil && e.TxID == chainhash.Hash(p[9:41]) {
			e.private.Store(false)
		}
	default:
		st.stats.Skipped++
	}
}

// saveCopy copies the log to dir/corruptName, replacing an older copy, so
// that damage found at open can be inspected.
func saveCopy(f *os.File, size int64, dir string) (string, error) {
	path := filepath.Join(dir, corruptName)
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, io.NewSectionReader(f, 0, size))
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("mempool: save damaged log: %w", err)
	}
	return path, nil
}

// writeNewLog writes entries to a new log beside the current one, fsyncs
// it, renames it over dir/logName and fsyncs dir. It returns the new file
// (open for writing at size) and its salt. When the rename has happened,
// the returned file is valid even if err (from the directory sync) is not
// nil; before it, the old log is untouched and f is nil.
func writeNewLog(dir string, entries []*Entry) (f *os.File, size int64, salt uint64, err error) {
	tmp := filepath.Join(dir, tmpName)
	nf, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("mempool: compact log: %w", err)
	}
	salt = newSalt()
	w := bufio.NewWriterSize(nf, 1<<20)
	rec := appendFileHeader(nil, salt)
	_, err = w.Write(rec)
	off := int64(len(rec))
	for _, e := range entries {
		if err != nil {
			break
		}
		rec = appendAdd(rec[:0], salt, off, e)
		_, err = w.Write(rec)
		off += int64(len(rec))
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = nf.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, logName))
	}
	if err != nil {
		nf.Close()
		os.Remove(tmp)
		return nil, 0, 0, fmt.Errorf("mempool: compact log: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return nf, off, salt, fmt.Errorf("mempool: compact log: sync directory: %w", err)
	}
	return nf, off, salt, nil
}
