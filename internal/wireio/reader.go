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
//   - a list (or a leading byte string) whose count is over the command's
//     limit: what Core does, by the command table (see commands): a fatal
//     error wrapping ErrOversized where Core calls Misbehaving, else the
//     message is dropped;
//   - a bad checksum, a command with invalid bytes, an unknown command or a
//     payload that does not decode: the message is consumed and reported as
//     a soft error, and the stream stays usable;
//   - trailing bytes after a known payload are ignored;
//   - the payload buffer grows with the bytes that actually arrive, never to
//     what the header merely claims.
//
// Commands that a relay node has no use for (blocks, headers, compact
// blocks, BIP 157 filters) are skipped without decoding and reported as
// Unknown, so a peer that sends them costs a discard, not a parse; of
// those, only headers has its count read, from the payload's first bytes.
package wireio

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
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
	// ErrTooMany is a count over its command's limit where Core calls
	// Misbehaving; it is returned once the whole payload has been read.
	// It wraps ErrOversized: both are misbehaviour.
	ErrTooMany = fmt.Errorf("%w: count over the command's limit", ErrOversized)
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

// internCommand returns the table's constant string for the commands in
// it (a map index by a converted byte slice does not allocate), and a new
// string for any other.
func internCommand(b []byte) string {
	if c := byName[string(b)]; c != nil {
		return c.name
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
	r io.Reader

	// The message being read (fields ordered for size: an idle peer
	// keeps one Reader).
	buf    *bytes.Buffer
	lr     io.LimitedReader
	rule   *command     // its entry in the command table; nil: unknown
	msg    wire.Message // nil: the payload is discarded
	soft   *SoftError   // what to report once a discarded payload is consumed
	cmd    string       // its command
	hashed *overCount   // a counted payload over its limit, being hashed
	want   int64        // payload bytes announced
	got    int64        // payload bytes read (or discarded) so far
	n      uint64       // bytes read from the stream
	hdrN   int          // header bytes read so far
	i0, i1 int          // in[i0:i1]: read ahead, not used yet

	net  wire.BitcoinNet
	pver uint32
	enc  wire.MessageEncoding
	sum  [4]byte // the header's checksum
	hdr  [HeaderSize]byte

	// A discarded payload whose count is read (headers): its first
	// bytes.
	pre     [9]byte
	preN    uint8
	body    bool // the header is complete; the payload is being read
	counted bool // the count has been judged

	// Read-ahead: one read of up to len(in) bytes brings a whole small
	// message (a version is about 126 bytes) or several (wtxidrelay,
	// sendaddrv2 and verack are 24 each), where reading header and
	// payload apart would take a system call each.
	in [readAhead]byte
}

// overCount is a discarded payload whose count is over its limit: the
// limit error, reported if the checksum is good, and the hash of what has
// been read so far.
type overCount struct {
	over   error
	digest hash.Hash
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

// MessageSize returns the size on the wire of the message whose header
// was read last, header included (24 bytes plus the payload the header
// announced): what Bitcoin Core counts in getpeerinfo's bytesrecv_per_msg.
func (r *Reader) MessageSize() int { return HeaderSize + int(r.want) }

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
	r.cmd, r.rule, r.msg, r.soft, r.sum = cmd, nil, nil, nil, h.Checksum
	r.want, r.got, r.preN, r.counted = int64(h.Length), 0, 0, false
	if !ok {
		r.soft = &SoftError{Command: cmd, Reason: "invalid command bytes"}
		return nil
	}
	c := byName[cmd]
	if c == nil {
		return nil
	}
	if h.Length > c.limit {
		return fmt.Errorf("%w: %s announces %d bytes, limit %d", ErrOversized, cmd, h.Length, c.limit)
	}
	r.rule = c
	if c.new != nil {
		r.msg = c.new()
	}
	return nil
}

// skip discards the payload of a message that is not decoded. A command
// whose count is read without decoding (headers) has its count read
// first; a count over the limit has the rest of the payload hashed, and
// meets its reaction only if the checksum is good.
func (r *Reader) skip() (wire.Message, error) {
	if r.rule != nil && r.rule.count != nil && !r.counted && r.soft == nil {
		if err := r.readCount(); err != nil {
			return nil, err
		}
	}
	if r.hashed != nil {
		if err := r.hashRest(); err != nil {
			return nil, err
		}
	} else if r.got < r.want {
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
	if r.hashed != nil {
		return nil, r.endHashed()
	}
	if r.soft != nil {
		return nil, r.soft
	}
	return &Unknown{Cmd: r.cmd, Size: uint32(r.want)}, nil
}

// readCount reads the compact size at the start of a discarded payload
// into pre, and judges it once it is complete: malformed (the message is
// dropped), within the limit, or over it (the rest is hashed). A call cut
// by a stall keeps what it read; the next one carries on.
func (r *Reader) readCount() error {
	for {
		need := 1
		if r.preN > 0 {
			need = varIntSize(r.pre[0])
		}
		need = min(need, int(r.preN)+int(r.want-r.got))
		if int(r.preN) >= need {
			break
		}
		n, err := r.fill(r.pre[r.preN:need])
		r.preN += uint8(n)
		r.got += int64(n)
		if err != nil && int(r.preN) < need {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	n, _, err := varInt(r.pre[:r.preN])
	switch c := r.rule.count; {
	case err != nil:
		// Core's ReadCompactSize throws: the message is dropped.
		r.soft = &SoftError{Command: r.cmd, Reason: "malformed payload: count: " + err.Error()}
	case n > c.max:
		r.hashed = &overCount{over: countError(r.cmd, n, c), digest: getDigest()}
		r.hashed.digest.Write(r.pre[:r.preN])
	}
	r.counted = true
	return nil
}

// hashRest reads the rest of a discarded payload into the digest, through
// a borrowed buffer.
func (r *Reader) hashRest() error {
	if r.got == r.want {
		return nil
	}
	b := getBuffer()
	defer putBuffer(b)
	b.Grow(4096)
	p := b.AvailableBuffer()[:4096]
	for r.got < r.want {
		n, err := r.fill(p[:min(int64(len(p)), r.want-r.got)])
		r.hashed.digest.Write(p[:n])
		r.got += int64(n)
		if err != nil && r.got < r.want {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// endHashed checks the checksum of a hashed payload: good, the count over
// the limit meets its reaction; bad, the message is dropped, as Core
// drops it before looking at it.
func (r *Reader) endHashed() error {
	var sum [sha256.Size]byte
	h := r.hashed
	r.hashed = nil
	h.digest.Sum(sum[:0])
	putDigest(h.digest)
	sum = sha256.Sum256(sum[:])
	over := h.over
	if !bytes.Equal(sum[:4], r.sum[:]) {
		return &SoftError{Command: r.cmd, Reason: "bad checksum"}
	}
	return over
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
	if err := r.rule.limits(payload); err != nil {
		return nil, err
	}
	if r.rule.trim != nil {
		r.buf.Truncate(r.rule.trim(payload))
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

// MaxPayloadFor is the largest payload accepted for msg's command: the
// command table's limit (which for lists follows their count limits: 50,000
// inventory vectors, 1,000 addresses), else btcd's bound for the message,
// but never less than MinCommandLimit.
func MaxPayloadFor(msg wire.Message, pver uint32) uint32 {
	if c := byName[msg.Command()]; c != nil {
		return c.limit
	}
	return min(max(msg.MaxPayloadLength(pver), MinCommandLimit), MaxPayload)
}

// Reaction says what breaking a command's count limit costs the peer. A
// payload longer than the command's limit is always a disconnect, decided on
// the header before any payload byte is read.
type reaction uint8

const (
	// drop: the message is consumed and reported as a *SoftError; the
	// connection stays.
	drop reaction = iota + 1
	// misbehave: a fatal error wrapping ErrOversized, which the peer
	// driver turns into ReasonOversized and the node into discouragement
	// (Core's Misbehaving).
	misbehave
)

func (r reaction) String() string {
	switch r {
	case drop:
		return "dropped"
	case misbehave:
		return "disconnect (misbehaviour)"
	}
	return "none"
}

// countRule limits the compact-size count that opens a command's payload:
// the entries of a list, or the bytes of a leading byte string.
type countRule struct {
	max  uint64 // the most the count may be
	elem int    // the least bytes one counted item takes; 0: not decoded, the count alone is read
	what string // what is counted, for messages and docs: "entries", "filter bytes"
	over reaction
}

// command is everything the Reader knows about one command.
type command struct {
	name string
	// new returns an empty message to decode into; nil: the command is
	// not decoded, its payload is discarded and it is reported as an
	// *Unknown (commands a node without a chain has no use for).
	new func() wire.Message
	// limit is the largest payload accepted: a header announcing more is
	// ErrOversized before any payload byte is read.
	limit uint32
	// count, if set, limits the count at the payload's start.
	//
	// For a decoded command (Core deserializes the whole list, then checks
	// its size) a count the payload cannot hold is malformed and dropped,
	// as Core's deserializer throws, and only a count the payload can hold
	// meets the limit. For a command that is not decoded (headers: Core
	// reads the count, then checks it) the count is read on its own; one
	// over the limit has the rest of the payload hashed, so that only a
	// message with a good checksum meets the reaction (Core's transport
	// drops a bad checksum before the message is processed).
	count *countRule
	// check, if set, is run on a decoded command's checksummed payload
	// before btcd's decoder sees it. A *limitError meets the count's
	// reaction; any other error drops the message as malformed.
	check func(p []byte) error
	// also describes, for the docs, what check limits beyond the count.
	also string
	// trim, if set, is run on the checksummed payload after limits and
	// before btcd's decoder: it drops entries the decoder would refuse
	// the whole message for, and returns the payload's new length (the
	// payload is rewritten in place, never longer).
	trim func(p []byte) int
}

// listLimit is the payload that holds n entries of size bytes after the
// largest compact size: btcd's bound for a list message.
func listLimit(n, size uint32) uint32 { return 9 + n*size }

// commands is the table the Reader works from: which commands are decoded
// and into what, their payload and count limits, and what breaking a
// count limit costs. Commands absent from it are unknown: skipped like
// the undecoded ones, their names not interned.
//
// The limits follow Core's net_processing.cpp: MAX_INV_SZ (50,000) for inv
// and getdata, MAX_ADDR_TO_SEND (1,000) for addr and addrv2,
// MAX_HEADERS_RESULTS (2,000) for headers, MAX_BLOOM_FILTER_SIZE (36,000)
// and MAX_HASH_FUNCS (50) for filterload, MAX_SCRIPT_ELEMENT_SIZE (520)
// for filteradd; each is Misbehaving there. Payload limits are btcd's
// MaxPayloadLength, never below MinCommandLimit.
var commands = [...]command{
	{name: wire.CmdVersion, new: func() wire.Message { return &wire.MsgVersion{} }, limit: MinCommandLimit,
		check: checkUserAgent, also: "user agent ≤ 256 bytes, else dropped"},
	{name: wire.CmdVerAck, new: func() wire.Message { return &wire.MsgVerAck{} }, limit: MinCommandLimit},
	{name: wire.CmdWTxIdRelay, new: func() wire.Message { return &wire.MsgWTxIdRelay{} }, limit: MinCommandLimit},
	{name: wire.CmdSendAddrV2, new: func() wire.Message { return &wire.MsgSendAddrV2{} }, limit: MinCommandLimit},
	{name: wire.CmdPing, new: func() wire.Message { return &wire.MsgPing{} }, limit: MinCommandLimit},
	{name: wire.CmdPong, new: func() wire.Message { return &wire.MsgPong{} }, limit: MinCommandLimit},
	{name: wire.CmdInv, new: func() wire.Message { return &wire.MsgInv{} }, limit: listLimit(wire.MaxInvPerMsg, invVectSize),
		count: &countRule{max: wire.MaxInvPerMsg, elem: invVectSize, what: "entries", over: misbehave}},
	{name: wire.CmdGetData, new: func() wire.Message { return &wire.MsgGetData{} }, limit: listLimit(wire.MaxInvPerMsg, invVectSize),
		count: &countRule{max: wire.MaxInvPerMsg, elem: invVectSize, what: "entries", over: misbehave}},
	{name: wire.CmdNotFound, new: func() wire.Message { return &wire.MsgNotFound{} }, limit: listLimit(wire.MaxInvPerMsg, invVectSize),
		count: &countRule{max: wire.MaxInvPerMsg, elem: invVectSize, what: "entries", over: misbehave}},
	{name: wire.CmdTx, new: func() wire.Message { return &wire.MsgTx{} }, limit: wire.MaxBlockPayload,
		check: checkTx, also: "input, output and witness counts must fit the payload, else dropped"},
	{name: wire.CmdMemPool, new: func() wire.Message { return &wire.MsgMemPool{} }, limit: MinCommandLimit},
	{name: wire.CmdFeeFilter, new: func() wire.Message { return &wire.MsgFeeFilter{} }, limit: MinCommandLimit},
	{name: wire.CmdSendHeaders, new: func() wire.Message { return &wire.MsgSendHeaders{} }, limit: MinCommandLimit},
	{name: wire.CmdGetAddr, new: func() wire.Message { return &wire.MsgGetAddr{} }, limit: MinCommandLimit},
	{name: wire.CmdAddr, new: func() wire.Message { return &wire.MsgAddr{} }, limit: listLimit(wire.MaxAddrPerMsg, addrSize),
		count: &countRule{max: wire.MaxAddrPerMsg, elem: addrSize, what: "entries", over: misbehave}},
	{name: wire.CmdAddrV2, new: func() wire.Message { return &wire.MsgAddrV2{} }, limit: 3 + wire.MaxV2AddrPerMsg*addrV2MaxLen,
		count: &countRule{max: wire.MaxV2AddrPerMsg, elem: addrV2MinLen, what: "entries", over: misbehave},
		trim:  trimAddrV2, also: "an entry with an address over 512 bytes or an unknown network id is dropped, the rest kept"},
	{name: wire.CmdFilterLoad, new: func() wire.Message { return &wire.MsgFilterLoad{} }, limit: 3 + wire.MaxFilterLoadFilterSize + 9,
		count: &countRule{max: wire.MaxFilterLoadFilterSize, elem: 1, what: "filter bytes", over: misbehave},
		check: checkHashFuncs, also: "hash functions ≤ 50, else disconnect (misbehaviour)"},
	{name: wire.CmdFilterAdd, new: func() wire.Message { return &wire.MsgFilterAdd{} }, limit: MinCommandLimit,
		count: &countRule{max: wire.MaxFilterAddDataSize, elem: 1, what: "data bytes", over: misbehave}},
	{name: wire.CmdFilterClear, new: func() wire.Message { return &wire.MsgFilterClear{} }, limit: MinCommandLimit},
	// BIP 61 reject: Core no longer sends it, btcd still does; a private
	// broadcast records it. btcd bounds its reason by the message size
	// only, and so does the table.
	{name: wire.CmdReject, new: func() wire.Message { return &wire.MsgReject{} }, limit: MaxPayload},

	{name: wire.CmdHeaders, limit: MaxPayload,
		count: &countRule{max: maxHeaders, what: "entries", over: misbehave}},
	{name: "sendcmpct", limit: MaxPayload},
	{name: wire.CmdGetHeaders, limit: MaxPayload},
	{name: wire.CmdGetBlocks, limit: MaxPayload},
	{name: wire.CmdBlock, limit: MaxPayload},
	{name: "cmpctblock", limit: MaxPayload},
	{name: "getblocktxn", limit: MaxPayload},
	{name: "blocktxn", limit: MaxPayload},
	{name: wire.CmdMerkleBlock, limit: MaxPayload},
	{name: wire.CmdGetCFilters, limit: MaxPayload},
	{name: wire.CmdCFilter, limit: MaxPayload},
	{name: wire.CmdGetCFHeaders, limit: MaxPayload},
	{name: wire.CmdCFHeaders, limit: MaxPayload},
	{name: wire.CmdGetCFCheckpt, limit: MaxPayload},
	{name: wire.CmdCFCheckpt, limit: MaxPayload},
}

// maxHeaders is Core's MAX_HEADERS_RESULTS.
const maxHeaders = 2000

// byName indexes commands.
var byName = func() map[string]*command {
	m := make(map[string]*command, len(commands))
	for i := range commands {
		m[commands[i].name] = &commands[i]
	}
	return m
}()

// byIndex maps a command of the table to its index in CommandNames.
var byIndex = func() map[string]int {
	m := make(map[string]int, len(commands))
	for i := range commands {
		m[commands[i].name] = i
	}
	return m
}()

// NumCommands is how many commands the table holds: the bound of a
// per-command counter's label set, with one more for the others.
const NumCommands = len(commands)

// CommandAt returns the name of command i of the table, and OtherCommand
// for NumCommands (the index of every command not in it).
func CommandAt(i int) string {
	if i >= 0 && i < len(commands) {
		return commands[i].name
	}
	return OtherCommand
}

// OtherCommand is the name per-command counters give the commands that
// are not in the table (Bitcoin Core's "*other*").
const OtherCommand = "*other*"

// CommandIndex returns cmd's index in the table, or NumCommands for a
// command that is not in it. It does not allocate.
func CommandIndex(cmd string) int {
	if i, ok := byIndex[cmd]; ok {
		return i
	}
	return NumCommands
}

// countError is a count over a command's limit, as the command's reaction:
// a fatal error wrapping ErrOversized, or a *SoftError.
func countError(cmd string, n uint64, c *countRule) error {
	if c.over == drop {
		return &SoftError{Command: cmd, Reason: fmt.Sprintf("%d %s, limit %d", n, c.what, c.max)}
	}
	return fmt.Errorf("%w: %s of %d %s, limit %d", ErrTooMany, cmd, n, c.what, c.max)
}

// limitError is a check's finding that a field other than the leading
// count is over its limit; it meets the count's reaction.
type limitError struct {
	n, max uint64
	what   string
}

func (e *limitError) Error() string { return fmt.Sprintf("%d %s, limit %d", e.n, e.what, e.max) }

// Fixed and minimum sizes used to check counts against the bytes present.
const (
	invVectSize  = 36  // type + hash
	addrSize     = 30  // time + services + ip + port
	addrV2MinLen = 9   // time, services (1), network id, address length (1), port
	addrV2MaxLen = 531 // btcd's bound: time, services (9), network id, length (3), 512, port
	versionUAAt  = 80  // version, services, time, addr_recv, addr_from, nonce
	txInMinLen   = 41  // outpoint, script length (1), sequence
	txOutMinLen  = 9   // value, script length (1)
)

// limits checks a decoded command's checksummed payload before btcd's
// decoder sees it: the leading count, if the command has one, then the
// command's own check. It returns nil, a *SoftError, or a fatal error
// wrapping ErrOversized.
func (c *command) limits(p []byte) error {
	if r := c.count; r != nil {
		n, size, err := varInt(p)
		if err != nil {
			return &SoftError{Command: c.name, Reason: "malformed payload: " + err.Error()}
		}
		if rest := uint64(len(p) - size); n > rest/uint64(r.elem) {
			return &SoftError{Command: c.name, Reason: fmt.Sprintf("malformed payload: count %d does not fit in %d bytes", n, rest)}
		}
		if n > r.max {
			return countError(c.name, n, r)
		}
	}
	if c.check == nil {
		return nil
	}
	err := c.check(p)
	var le *limitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &le) && c.count != nil:
		return countError(c.name, le.n, &countRule{max: le.max, what: le.what, over: c.count.over})
	}
	return &SoftError{Command: c.name, Reason: "malformed payload: " + err.Error()}
}

// checkUserAgent refuses a version whose user agent is longer than 256
// bytes or than the payload, before btcd's decoder allocates what the
// length claims (up to 32 MiB).
func checkUserAgent(p []byte) error {
	if len(p) <= versionUAAt {
		return nil
	}
	n, size, err := varInt(p[versionUAAt:])
	if err != nil {
		return err
	}
	if n > wire.MaxUserAgentLen {
		return fmt.Errorf("user agent of %d bytes, limit %d", n, wire.MaxUserAgentLen)
	}
	if rest := uint64(len(p) - versionUAAt - size); n > rest {
		return fmt.Errorf("count %d does not fit in %d bytes", n, rest)
	}
	return nil
}

// checkHashFuncs refuses a filterload with more than MAX_HASH_FUNCS (50)
// hash functions; the filter's length has been checked.
func checkHashFuncs(p []byte) error {
	n, size, err := varInt(p)
	if err != nil {
		return err
	}
	at := size + int(n)
	if len(p) < at+4 {
		return nil // btcd's decoder reports the short payload
	}
	if funcs := binary.LittleEndian.Uint32(p[at:]); funcs > wire.MaxFilterLoadHashFuncs {
		return &limitError{n: uint64(funcs), max: wire.MaxFilterLoadHashFuncs, what: "hash functions"}
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

// maxAddrV2Size is Core's MAX_ADDRV2_SIZE: the longest address an addrv2
// entry may carry.
const maxAddrV2Size = 512

// trimAddrV2 drops the addrv2 entries whose address is longer than
// maxAddrV2Size. btcd's decoder already skips an entry with an unknown
// network id (ErrSkippedNetworkID) but refuses the whole message for an
// over-long one; Core's p2p_invalid_messages.py wants the peer kept, and
// the good entries are kept too. A payload that does not parse is left
// as it is, for the decoder to call malformed. It returns the payload's
// length, in place and never longer: a smaller count is written in at
// most the bytes of the old one, and the entries kept move towards the
// start.
func trimAddrV2(p []byte) int {
	n, size, err := varInt(p)
	if err != nil {
		return len(p)
	}
	type span struct{ from, to int }
	var drop []span
	s := scanner{p: p, pos: size}
	for range n {
		start := s.pos
		s.skip(4) // time
		if s.err == nil {
			_, k, err := varInt(p[s.pos:]) // services
			if err != nil {
				return len(p)
			}
			s.pos += k
		}
		s.skip(1) // network id
		if s.err != nil {
			return len(p)
		}
		l, k, err := varInt(p[s.pos:])
		if err != nil {
			return len(p)
		}
		s.pos += k
		s.skip(l + 2) // address, port
		if s.err != nil {
			return len(p)
		}
		if l > maxAddrV2Size {
			drop = append(drop, span{start, s.pos})
		}
	}
	if len(drop) == 0 {
		return len(p)
	}
	w := putVarInt(p, n-uint64(len(drop)))
	r := size
	for _, d := range drop {
		w += copy(p[w:], p[r:d.from])
		r = d.to
	}
	w += copy(p[w:], p[r:])
	return w
}

// putVarInt writes v as a compact size at p's start and returns its size;
// p must have room (v < 2^16 here: at most 3 bytes).
func putVarInt(p []byte, v uint64) int {
	if v < 0xfd {
		p[0] = byte(v)
		return 1
	}
	p[0] = 0xfd
	binary.LittleEndian.PutUint16(p[1:], uint16(v))
	return 3
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

// varIntSize is the size of the compact size that starts with first.
func varIntSize(first byte) int {
	switch first {
	case 0xfd:
		return 3
	case 0xfe:
		return 5
	case 0xff:
		return 9
	}
	return 1
}

// errNonCanonical is a compact size longer than its value needs, which
// Core's ReadCompactSize and btcd's ReadVarInt both refuse.
var errNonCanonical = errors.New("non-canonical compact size")

// varInt reads a compact size.
func varInt(p []byte) (v uint64, size int, err error) {
	if len(p) == 0 {
		return 0, 0, io.ErrUnexpectedEOF
	}
	size = varIntSize(p[0])
	if size == 1 {
		return uint64(p[0]), 1, nil
	}
	if len(p) < size {
		return 0, 0, io.ErrUnexpectedEOF
	}
	var b [8]byte
	copy(b[:], p[1:size])
	v = binary.LittleEndian.Uint64(b[:])
	if least := [...]uint64{3: 0xfd, 5: 0x10000, 9: 0x100000000}[size]; v < least {
		return 0, 0, errNonCanonical
	}
	return v, size, nil
}

// Digests for the few discarded payloads that are hashed, shared by every
// Reader.
var digestPool = sync.Pool{New: func() any { return sha256.New() }}

func getDigest() hash.Hash { return digestPool.Get().(hash.Hash) }

func putDigest(d hash.Hash) {
	d.Reset()
	digestPool.Put(d)
}
