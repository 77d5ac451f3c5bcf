// Package wireio frames Bitcoin P2P messages on a byte stream, defensively.
//
// btcd's wire.ReadMessage trusts a header's length field up to 32 MiB and
// allocates it before a single payload byte has arrived, disconnects on a bad
// checksum, and rejects trailing bytes after a payload. Reader follows Bitcoin
// Core instead:
//
//   - wrong network magic, or a length above 4,000,000 bytes or above the
//     command's own maximum (see MaxPayloadFor): a fatal error, returned
//     before any payload byte is read or allocated;
//   - a bad checksum, a command with invalid bytes, an unknown command or a
//     payload that does not decode: the message is consumed and reported as
//     a soft error, and the stream stays usable;
//   - trailing bytes after a known payload are ignored;
//   - the payload buffer grows with the bytes that actually arrive, never to
//     what the header merely claims.
//
// Commands that a relay node has no use for (blocks, headers, filters) are
// skipped without decoding and reported as Unknown, so a peer that sends
// them costs a discard, not a parse.
package wireio

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/btcsuite/btcd/wire/v2"
)

// MaxPayload is the largest payload any message may announce (Core's
// MAX_PROTOCOL_MESSAGE_LENGTH).
const MaxPayload = wire.MaxProtocolMessageLength

// HeaderSize is the size of a message header.
const HeaderSize = wire.MessageHeaderSize

// Errors that end a connection. The stream cannot be trusted after them.
var (
	ErrBadMagic  = errors.New("wrong network magic")
	ErrOversized = errors.New("message larger than allowed")
)

// SoftError reports a message that was consumed and dropped; the next call
// to Next reads the following message.
type SoftError struct {
	Command string // printable form of the command field
	Reason  string // "bad checksum", "invalid command bytes", "malformed payload: ..."
}

// Error reads "dropped ping message: bad checksum"; an invalid command
// appears Go-quoted, e.g. "pi\x01ng".
func (e *SoftError) Error() string {
	return fmt.Sprintf("dropped %s message: %s", e.Command, e.Reason)
}

// Unknown is a message whose command peerd does not decode: its payload was
// read and discarded. It satisfies wire.Message so it can travel as one.
type Unknown struct {
	Cmd  string
	Size uint32
}

// Command returns the command from the header.
func (u *Unknown) Command() string { return u.Cmd }

// MaxPayloadLength is MaxPayload.
func (u *Unknown) MaxPayloadLength(uint32) uint32 { return MaxPayload }

// BtcDecode is never used: Unknown is built by Reader, not decoded.
func (u *Unknown) BtcDecode(io.Reader, uint32, wire.MessageEncoding) error {
	return errors.New("wireio: Unknown cannot be decoded")
}

// BtcEncode is never used: Unknown is not sent.
func (u *Unknown) BtcEncode(io.Writer, uint32, wire.MessageEncoding) error {
	return errors.New("wireio: Unknown cannot be encoded")
}

// Header is a decoded message header.
type Header struct {
	Magic    wire.BitcoinNet
	Command  [wire.CommandSize]byte
	Length   uint32
	Checksum [4]byte
}

// ParseHeader decodes a 24-byte header.
func ParseHeader(b *[HeaderSize]byte) Header {
	var h Header
	h.Magic = wire.BitcoinNet(binary.LittleEndian.Uint32(b[0:4]))
	copy(h.Command[:], b[4:16])
	h.Length = binary.LittleEndian.Uint32(b[16:20])
	copy(h.Checksum[:], b[20:24])
	return h
}

// command returns the command name and whether the field is well formed:
// printable ASCII, then only NUL padding (Core's CMessageHeader::IsCommandValid).
func (h *Header) command() (string, bool) {
	n := bytes.IndexByte(h.Command[:], 0)
	if n < 0 {
		n = len(h.Command)
	}
	for _, c := range h.Command[:n] {
		if c < ' ' || c > '~' {
			return quoteCommand(h.Command[:n]), false
		}
	}
	for _, c := range h.Command[n:] {
		if c != 0 {
			return quoteCommand(bytes.TrimRight(h.Command[:], "\x00")), false
		}
	}
	return internCommand(h.Command[:n]), true
}

// quoteCommand Go-quotes an invalid command field. It takes a copy, so
// that the header it comes from does not escape to the heap on the path
// of every valid message.
func quoteCommand(b []byte) string { return strconv.Quote(string(b)) }

// internCommand returns the constant string for the commands peerd
// decodes (the switch on a converted byte slice does not allocate), and a
// new string for any other.
func internCommand(b []byte) string {
	switch string(b) {
	case wire.CmdVersion:
		return wire.CmdVersion
	case wire.CmdVerAck:
		return wire.CmdVerAck
	case wire.CmdWTxIdRelay:
		return wire.CmdWTxIdRelay
	case wire.CmdSendAddrV2:
		return wire.CmdSendAddrV2
	case wire.CmdPing:
		return wire.CmdPing
	case wire.CmdPong:
		return wire.CmdPong
	case wire.CmdInv:
		return wire.CmdInv
	case wire.CmdGetData:
		return wire.CmdGetData
	case wire.CmdNotFound:
		return wire.CmdNotFound
	case wire.CmdTx:
		return wire.CmdTx
	case wire.CmdFeeFilter:
		return wire.CmdFeeFilter
	case wire.CmdSendHeaders:
		return wire.CmdSendHeaders
	case wire.CmdGetAddr:
		return wire.CmdGetAddr
	case wire.CmdAddr:
		return wire.CmdAddr
	case wire.CmdAddrV2:
		return wire.CmdAddrV2
	}
	return string(b)
}

// Reader reads messages from one stream. It is not safe for concurrent use.
//
// A Reader can be resumed: when the underlying reader returns an error in
// the middle of a message (typically a read deadline, which is how a
// peer's goroutine is woken to do other work), Next returns that error and
// keeps what it has read; the next call carries on where it stopped. Only
// the caller knows which errors are temporary; after io.EOF or a fatal
// error the stream is useless anyway.
//
// An idle Reader holds no payload buffer: a message's payload is read into
// a buffer borrowed from a pool shared by every Reader and Writer, and
// handed back once the message is decoded.
type Reader struct {
	r    io.Reader
	net  wire.BitcoinNet
	pver uint32
	enc  wire.MessageEncoding

	// The message being read.
	hdr  [HeaderSize]byte
	hdrN int          // header bytes read so far
	body bool         // the header is complete; the payload is being read
	cmd  string       // its command
	msg  wire.Message // nil: the payload is discarded
	soft *SoftError   // what to report once a discarded payload is consumed
	sum  [4]byte      // the header's checksum
	want int64        // payload bytes announced
	got  int64        // payload bytes read (or discarded) so far
	buf  *bytes.Buffer
	lr   io.LimitedReader
	n    uint64 // bytes read from the stream

	// Read-ahead: in[i0:i1] holds bytes read from the stream and not yet
	// used. One read of up to len(in) bytes brings a whole small message
	// (a version is about 126 bytes) or several (wtxidrelay, sendaddrv2
	// and verack are 24 each), where reading header and payload apart
	// would take a system call each.
	in     [readAhead]byte
	i0, i1 int
}

// readAhead is the size of a Reader's read-ahead buffer: big enough for a
// version message, small enough to cost an idle peer little.
const readAhead = 128

// fill reads into p: from the read-ahead buffer if it holds anything,
// else straight from the stream when p is at least as large as the
// buffer, else by refilling the buffer with one read.
func (r *Reader) fill(p []byte) (int, error) {
	if r.i0 == r.i1 {
		if len(p) >= len(r.in) {
			n, err := r.r.Read(p)
			r.n += uint64(n)
			return n, err
		}
		n, err := r.r.Read(r.in[:])
		r.n += uint64(n)
		r.i0, r.i1 = 0, n
		if n == 0 {
			return 0, err
		}
		// An error that came with data comes again on the next read.
	}
	n := copy(p, r.in[r.i0:r.i1])
	r.i0 += n
	return n, nil
}

// source reads through the Reader's read-ahead buffer.
type source struct{ r *Reader }

func (s source) Read(p []byte) (int, error) { return s.r.fill(p) }

// NewReader returns a Reader for the network magic net. It reads r directly,
// without a buffer of its own, so an idle connection holds no read buffer.
func NewReader(r io.Reader, net wire.BitcoinNet) *Reader {
	return &Reader{r: r, net: net, pver: wire.ProtocolVersion, enc: wire.WitnessEncoding}
}

// SetProtocolVersion sets the version used to decode payloads, normally the
// version negotiated in the handshake.
func (r *Reader) SetProtocolVersion(pver uint32) { r.pver = pver }

// BytesRead returns how many bytes the Reader has taken from the stream,
// including those read ahead and not used yet (Buffered).
func (r *Reader) BytesRead() uint64 { return r.n }

// Buffered returns how many bytes were read ahead from the stream and not
// used yet: at most the read-ahead buffer's size (128 bytes), whatever a
// header claims.
func (r *Reader) Buffered() int { return r.i1 - r.i0 }

// Next reads the next message. Errors are *SoftError (the message was
// dropped, call Next again), ErrBadMagic or ErrOversized wrapped with detail
// (fatal), or the underlying reader's error (io.EOF on a clean close
// between messages, io.ErrUnexpectedEOF within one); after such an error
// Next may be called again and resumes the message it was reading.
func (r *Reader) Next() (wire.Message, error) {
	if !r.body {
		// A plain loop rather than io.ReadFull: an idle peer waits in
		// here, and every frame on its stack then counts.
		for r.hdrN < HeaderSize {
			n, err := r.fill(r.hdr[r.hdrN:])
			r.hdrN += n
			if err != nil && r.hdrN < HeaderSize {
				if err == io.EOF && r.hdrN > 0 {
					err = io.ErrUnexpectedEOF
				}
				return nil, err
			}
		}
		r.hdrN = 0
		if err := r.header(); err != nil {
			return nil, err
		}
		r.body = true
	}
	if r.msg == nil {
		return r.skip()
	}
	return r.decode()
}

// header checks the header just read and prepares for its payload.
func (r *Reader) header() error {
	h := ParseHeader(&r.hdr)
	if h.Magic != r.net {
		return fmt.Errorf("%w: got %#08x, want %#08x", ErrBadMagic, uint32(h.Magic), uint32(r.net))
	}
	if h.Length > MaxPayload {
		return fmt.Errorf("%w: header announces %d bytes, limit %d", ErrOversized, h.Length, MaxPayload)
	}
	cmd, ok := h.command()
	r.cmd, r.msg, r.soft, r.sum = cmd, nil, nil, h.Checksum
	r.want, r.got = int64(h.Length), 0
	if !ok {
		r.soft = &SoftError{Command: cmd, Reason: "invalid command bytes"}
		return nil
	}
	if r.msg = newMessage(cmd); r.msg == nil {
		return nil
	}
	if limit := MaxPayloadFor(r.msg, r.pver); h.Length > limit {
		r.msg = nil
		return fmt.Errorf("%w: %s announces %d bytes, limit %d", ErrOversized, cmd, h.Length, limit)
	}
	return nil
}

// skip discards the payload of a message that is not decoded.
func (r *Reader) skip() (wire.Message, error) {
	if r.got < r.want {
		n, err := io.CopyN(io.Discard, source{r}, r.want-r.got)
		r.got += n
		if r.got < r.want {
			if err == io.EOF || err == nil {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	r.body = false
	if r.soft != nil {
		return nil, r.soft
	}
	return &Unknown{Cmd: r.cmd, Size: uint32(r.want)}, nil
}

// decode reads the rest of the payload, growing the borrowed buffer only
// as bytes arrive (a header that lies about its length costs nothing until
// the bytes are really sent), then checks and decodes it.
func (r *Reader) decode() (wire.Message, error) {
	if r.buf == nil {
		r.buf = getBuffer()
	}
	if r.got < r.want {
		r.lr = io.LimitedReader{R: source{r}, N: r.want - r.got}
		n, err := r.buf.ReadFrom(&r.lr)
		r.lr.R = nil
		r.got += n
		if r.got < r.want {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	r.body = false
	msg := r.msg
	r.msg = nil
	defer r.Release()
	payload := r.buf.Bytes()
	sum := sha256.Sum256(payload)
	sum = sha256.Sum256(sum[:])
	if !bytes.Equal(sum[:4], r.sum[:]) {
		return nil, &SoftError{Command: r.cmd, Reason: "bad checksum"}
	}
	if err := checkCounts(r.cmd, payload); err != nil {
		return nil, &SoftError{Command: r.cmd, Reason: "malformed payload: " + err.Error()}
	}
	// btcd's decoders copy what they keep, so the message does not alias
	// the buffer, which goes back to the pool. (MsgVersion insists on
	// reading from a *bytes.Buffer.)
	if err := msg.BtcDecode(r.buf, r.pver, r.enc); err != nil {
		return nil, &SoftError{Command: r.cmd, Reason: "malformed payload: " + err.Error()}
	}
	return msg, nil
}

// Release hands back the buffer of a partly read message, if any. Call it
// when the stream is done with; the Reader must not be used afterwards.
func (r *Reader) Release() {
	putBuffer(r.buf)
	r.buf = nil
}

// Buffers are shared by every Reader and Writer of the process: a peer
// borrows one for the time it takes to read or write one message, so ten
// thousand idle peers hold none. Buffers that grew past maxPooled are left
// to the garbage collector rather than kept for the next small message.
const maxPooled = 64 << 10

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuffer() *bytes.Buffer { return bufPool.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b == nil || b.Cap() > maxPooled {
		return
	}
	b.Reset()
	bufPool.Put(b)
}

// MinCommandLimit is the least any command may carry. Messages of a fixed
// size (ping, verack, feefilter...) are allowed this much so that trailing
// bytes after a known payload, which Core ignores and future versions may
// add, never cost a connection.
const MinCommandLimit = 1024

// MaxPayloadFor is the largest payload accepted for msg's command: btcd's
// bound for the message (which for lists follows their count limits: 50,000
// inventory vectors, 1,000 addresses), but never less than MinCommandLimit.
func MaxPayloadFor(msg wire.Message, pver uint32) uint32 {
	return min(max(msg.MaxPayloadLength(pver), MinCommandLimit), MaxPayload)
}

// newMessage returns an empty message for the commands peerd decodes, or nil.
func newMessage(cmd string) wire.Message {
	switch cmd {
	case wire.CmdVersion:
		return &wire.MsgVersion{}
	case wire.CmdVerAck:
		return &wire.MsgVerAck{}
	case wire.CmdWTxIdRelay:
		return &wire.MsgWTxIdRelay{}
	case wire.CmdSendAddrV2:
		return &wire.MsgSendAddrV2{}
	case wire.CmdPing:
		return &wire.MsgPing{}
	case wire.CmdPong:
		return &wire.MsgPong{}
	case wire.CmdInv:
		return &wire.MsgInv{}
	case wire.CmdGetData:
		return &wire.MsgGetData{}
	case wire.CmdNotFound:
		return &wire.MsgNotFound{}
	case wire.CmdTx:
		return &wire.MsgTx{}
	case wire.CmdMemPool:
		return &wire.MsgMemPool{}
	case wire.CmdFeeFilter:
		return &wire.MsgFeeFilter{}
	case wire.CmdSendHeaders:
		return &wire.MsgSendHeaders{}
	case wire.CmdGetAddr:
		return &wire.MsgGetAddr{}
	case wire.CmdAddr:
		return &wire.MsgAddr{}
	case wire.CmdAddrV2:
		return &wire.MsgAddrV2{}
	}
	return nil
}

// Fixed and minimum sizes used to check counts against the bytes present.
const (
	invVectSize  = 36 // type + hash
	addrSize     = 30 // time + services + ip + port
	addrV2MinLen = 9  // time, services (1), network id, address length (1), port
	versionUAAt  = 80 // version, services, time, addr_recv, addr_from, nonce
	txInMinLen   = 41 // outpoint, script length (1), sequence
	txOutMinLen  = 9  // value, script length (1)
)

// checkCounts refuses payloads whose leading count or length claims more
// elements than the payload can hold, before btcd's decoder allocates a
// slice or string of the claimed size (it would allocate up to 32 MiB for a
// version's user agent, or 50,000 entries for an inv of a few bytes).
func checkCounts(cmd string, p []byte) error {
	var at, elem int
	switch cmd {
	case wire.CmdInv, wire.CmdGetData, wire.CmdNotFound:
		elem = invVectSize
	case wire.CmdAddr:
		elem = addrSize
	case wire.CmdAddrV2:
		elem = addrV2MinLen
	case wire.CmdTx:
		return checkTx(p)
	case wire.CmdVersion:
		if len(p) <= versionUAAt {
			return nil
		}
		at, elem = versionUAAt, 1
	default:
		return nil
	}
	n, size, err := varInt(p[at:])
	if err != nil {
		return err
	}
	if cmd == wire.CmdVersion && n > wire.MaxUserAgentLen {
		return fmt.Errorf("user agent of %d bytes, limit %d", n, wire.MaxUserAgentLen)
	}
	if rest := uint64(len(p) - at - size); n > rest/uint64(elem) {
		return fmt.Errorf("count %d does not fit in %d bytes", n, rest)
	}
	return nil
}

// checkTx walks a serialized transaction and refuses any input, output,
// witness item or script count that the remaining bytes cannot hold, before
// btcd's decoder sizes slices by them (it accepts up to 818,401 inputs or
// 4,000,000 witness items per input, which a 9-byte payload can claim).
func checkTx(p []byte) error {
	s := scanner{p: p}
	s.skip(4) // version
	segwit := false
	if s.peek() == 0 { // BIP 144 marker, then the flag
		s.skip(2)
		segwit = true
	}
	nIn := s.count(txInMinLen, "inputs")
	for range nIn {
		s.skip(36)
		s.skip(s.count(1, "signature script bytes"))
		s.skip(4)
	}
	nOut := s.count(txOutMinLen, "outputs")
	for range nOut {
		s.skip(8)
		s.skip(s.count(1, "output script bytes"))
	}
	if segwit {
		for range nIn {
			for range s.count(1, "witness items") {
				s.skip(s.count(1, "witness item bytes"))
			}
		}
	}
	return s.err
}

// scanner reads varints and skips bytes, recording the first problem and
// doing nothing after it.
type scanner struct {
	p   []byte
	pos int
	err error
}

func (s *scanner) skip(n uint64) {
	if s.err != nil {
		return
	}
	if n > uint64(len(s.p)-s.pos) {
		s.err = io.ErrUnexpectedEOF
		return
	}
	s.pos += int(n)
}

func (s *scanner) peek() byte {
	if s.err != nil || s.pos >= len(s.p) {
		return 0xff
	}
	return s.p[s.pos]
}

// count reads a varint that counts elements of at least minLen bytes each,
// and fails if the rest of the payload cannot hold that many.
func (s *scanner) count(minLen int, what string) uint64 {
	if s.err != nil {
		return 0
	}
	n, size, err := varInt(s.p[s.pos:])
	if err != nil {
		s.err = err
		return 0
	}
	s.pos += size
	if rest := uint64(len(s.p) - s.pos); n > rest/uint64(minLen) {
		s.err = fmt.Errorf("%d %s do not fit in %d bytes", n, what, rest)
		return 0
	}
	return n
}

func varInt(p []byte) (v uint64, size int, err error) {
	if len(p) == 0 {
		return 0, 0, io.ErrUnexpectedEOF
	}
	switch p[0] {
	case 0xfd:
		size = 3
	case 0xfe:
		size = 5
	case 0xff:
		size = 9
	default:
		return uint64(p[0]), 1, nil
	}
	if len(p) < size {
		return 0, 0, io.ErrUnexpectedEOF
	}
	var b [8]byte
	copy(b[:], p[1:size])
	return binary.LittleEndian.Uint64(b[:]), size, nil
}
