package transport

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"syscall"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ellswift"
	"github.com/btcsuite/btcd/v2transport"
	"github.com/btcsuite/btcd/wire/v2"
	"golang.org/x/crypto/hkdf"

	"github.com/peerd/peerd/internal/wireio"
)

// BIP 324's sizes.
const (
	// KeyLen is an ElligatorSwift-encoded public key.
	KeyLen = 64
	// TermLen is a garbage terminator.
	TermLen = 16
	// MaxGarbage is the most garbage either side may send before its
	// terminator.
	MaxGarbage = 4095
	// lengthLen is a packet's encrypted length field; headerLen its
	// header byte; tagLen the AEAD's tag.
	lengthLen = 3
	headerLen = 1
	tagLen    = 16
	// MaxContents is the largest packet contents accepted (Core's
	// MAX_CONTENTS_LEN: a 1-byte short id or a 13-byte command, and a
	// payload of at most 4,000,000 bytes); a longer packet is refused on
	// its length field, before its body is read.
	MaxContents = 1 + wire.CommandSize + wireio.MaxPayload
	// v1PrefixLen is how much of a v1 version message's header tells a
	// v1 peer from a v2 one (magic and "version" padded to 12 bytes).
	v1PrefixLen = 16
	// MinFallbackSent: an outbound v2 attempt that sent at least this
	// much (a v1 header's worth) and received nothing before it was
	// closed most likely met a v1-only peer (Core's ShouldReconnectV1).
	MinFallbackSent = 24
	// ignoreBit marks a decoy packet in the header byte.
	ignoreBit = 1 << 7
)

// ErrV2 wraps every way a peer can break BIP 324: garbage without its
// terminator within MaxGarbage bytes, a packet longer than MaxContents, a
// packet that fails authentication, an unknown short id... The connection
// cannot be used after it.
var ErrV2 = errors.New("BIP 324 violation")

// ErrNotReady is what the write half says to a message queued before the
// transport's handshake is done.
var ErrNotReady = errors.New("transport: handshake not done")

// Handshake is what Next returns, as its message, while the transport's
// own handshake runs: Ready says it is done and messages follow (Name and
// SessionID say what was agreed); otherwise the handshake moved and has
// bytes to send, which the caller writes with Flush (or FlushSome) before
// it reads on. A Handshake is not a protocol message: its methods other
// than Command are never used.
type Handshake struct {
	Ready bool
}

// Command names the event for logs.
func (h *Handshake) Command() string {
	if h.Ready {
		return "transport ready"
	}
	return "transport handshake"
}

// BtcDecode is never used.
func (h *Handshake) BtcDecode(io.Reader, uint32, wire.MessageEncoding) error {
	return errors.New("transport: a Handshake is not decoded")
}

// BtcEncode is never used.
func (h *Handshake) BtcEncode(io.Writer, uint32, wire.MessageEncoding) error {
	return errors.New("transport: a Handshake is not sent")
}

// MaxPayloadLength is 0.
func (h *Handshake) MaxPayloadLength(uint32) uint32 { return 0 }

var (
	handshakeMoved = &Handshake{}
	handshakeDone  = &Handshake{Ready: true}
)

// Modes of a V2, as Name reports them.
const (
	modeDetecting int32 = iota // inbound, first 16 bytes not seen yet
	modeV2
	modeV1 // inbound, and the peer spoke v1
)

// Read-half stages of a V2.
const (
	stDetect  = iota // responder: the first 16 bytes
	stKey            // their public key
	stGarbage        // their garbage, up to their terminator
	stVersion        // packets up to their version packet
	stPackets        // messages
	stV1             // the peer speaks v1: everything goes to v1
)

// V2 is BIP 324's encrypted transport: an ElligatorSwift key exchange
// (btcec's ellswift), then packets sealed with ChaCha20-Poly1305 and
// their lengths with ChaCha20, each rekeyed every 224 packets
// (v2transport's FSChaCha20Poly1305 and FSChaCha20, driven here from the
// transport's own buffers).
//
// An outbound V2 (NewV2) speaks v2 at once: its key and garbage are queued
// when it is made. An inbound one (NewDetect) first reads 16 bytes: a v1
// version header means a v1 peer, and the V2 becomes a V1 from then on
// (Name says "v1"); anything else is the start of a v2 key.
//
// Next returns *Handshake until the handshake is done (see Handshake),
// then messages, decoded through wireio's command table as over v1. Every
// stage is resumable: bytes are kept as they arrive, and a cipher moves
// only once a whole length field or packet is there.
type V2 struct {
	conn      net.Conn
	net       wire.BitcoinNet
	initiator bool
	mode      atomic.Int32

	// Read half.
	stage   int
	hs      *v2Handshake // the handshake's state; nil once it is done
	recvL   *v2transport.FSChaCha20
	recvP   *v2transport.FSChaCha20Poly1305
	aad     []byte // their garbage, the first packet's associated data
	lenBuf  [lengthLen]byte
	lenN    int
	bodyLen int           // the packet's header, contents and tag; 0: reading its length
	body    *bytes.Buffer // the packet being read, borrowed from wireio's pool
	lr      io.LimitedReader
	left    []byte            // bytes read past the garbage terminator, read first
	in      [readAheadV2]byte // read-ahead, as wireio.Reader's
	i0, i1  int
	read    uint64
	last    int                      // the last packet's size on the wire
	v1      *V1                      // stV1: the peer speaks v1
	session atomic.Pointer[[32]byte] // set once the keys are agreed; read by anyone

	// Write half.
	pver    uint32
	sendL   *v2transport.FSChaCha20
	sendP   *v2transport.FSChaCha20Poly1305
	out     *bytes.Buffer // queued bytes, borrowed from wireio's pool
	sent    uint64
	pending atomic.Pointer[[]byte] // handshake bytes the read half made, to go first
	ready   atomic.Bool            // the send ciphers are set up (and, in v1 mode, v1 is)
}

// readAheadV2 is the read-ahead of a V2: a length field and a small packet
// (a ping is 3 + 1 + 1 + 8 + 16 bytes) in one read.
const readAheadV2 = 128

// v2Handshake is what the key exchange needs and an established session
// does not.
type v2Handshake struct {
	priv        *btcec.PrivateKey
	ours        [KeyLen]byte
	theirs      [KeyLen]byte
	theirsN     int
	sentGarbage []byte
	recvTerm    [TermLen]byte
	garbage     []byte // their garbage and terminator as they arrive
	scanFrom    int    // where in garbage the terminator may start, as far as searched
}

var _ Transport = (*V2)(nil)

// NewV2 returns an outbound (initiating) v2 transport on conn for the
// network magic net; its public key and garbage are queued already.
func NewV2(conn net.Conn, net wire.BitcoinNet) (*V2, error) {
	t := &V2{conn: conn, net: net, initiator: true, stage: stKey, pver: wire.ProtocolVersion}
	t.mode.Store(modeV2)
	if err := t.startHandshake(); err != nil {
		return nil, err
	}
	return t, nil
}

// NewDetect returns an inbound transport on conn that speaks v2 or v1,
// whichever the peer opens with.
func NewDetect(conn net.Conn, net wire.BitcoinNet) *V2 {
	t := &V2{conn: conn, net: net, stage: stDetect, pver: wire.ProtocolVersion}
	t.hs = &v2Handshake{}
	return t
}

// startHandshake makes our key and garbage and queues them.
func (t *V2) startHandshake() error {
	priv, ours, err := ellswift.EllswiftCreate()
	if err != nil {
		return fmt.Errorf("transport: cannot make a key: %w", err)
	}
	if t.hs == nil {
		t.hs = &v2Handshake{}
	}
	t.hs.priv, t.hs.ours = priv, ours
	var n [2]byte
	if _, err := rand.Read(n[:]); err != nil {
		return fmt.Errorf("transport: cannot make garbage: %w", err)
	}
	garbage := make([]byte, KeyLen+int(binary.LittleEndian.Uint16(n[:]))%(MaxGarbage+1))
	copy(garbage, ours[:])
	if _, err := rand.Read(garbage[KeyLen:]); err != nil {
		return fmt.Errorf("transport: cannot make garbage: %w", err)
	}
	t.hs.sentGarbage = garbage[KeyLen:]
	t.pending.Store(&garbage)
	return nil
}

// Name is "v2", "v1" (an inbound peer that spoke v1) or "detecting".
func (t *V2) Name() string {
	switch t.mode.Load() {
	case modeV2:
		return "v2"
	case modeV1:
		return "v1"
	}
	return "detecting"
}

// Unwrap returns the V1 an inbound V2 became when its peer spoke v1 (the
// caller may use it in the V2's place from then on: the V2 then holds
// nothing the V1 needs), or nil.
func (t *V2) Unwrap() Transport {
	if t.stage == stV1 {
		return t.v1
	}
	return nil
}

// RefusedV2 reports whether this outbound attempt looks refused by a
// v1-only peer: at least MinFallbackSent bytes sent and nothing received
// (Core's ShouldReconnectV1). Call it once the connection has ended.
func (t *V2) RefusedV2() bool {
	return t.initiator && t.read == 0 && t.sent >= MinFallbackSent
}

// SessionID is the v2 session's id, once the key exchange is done (zero
// before, and for a peer that spoke v1).
func (t *V2) SessionID() [32]byte {
	if id := t.session.Load(); id != nil {
		return *id
	}
	return [32]byte{}
}

// fill reads into p: what was read past the garbage terminator first,
// then through the read-ahead buffer.
func (t *V2) fill(p []byte) (int, error) {
	if len(t.left) > 0 {
		n := copy(p, t.left)
		if t.left = t.left[n:]; len(t.left) == 0 {
			t.left = nil
		}
		return n, nil
	}
	if t.i0 == t.i1 {
		if len(p) >= len(t.in) {
			n, err := t.conn.Read(p)
			t.read += uint64(max(n, 0))
			return n, err
		}
		n, err := t.conn.Read(t.in[:])
		t.read += uint64(max(n, 0))
		t.i0, t.i1 = 0, n
		if n == 0 {
			return 0, err
		}
	}
	n := copy(p, t.in[t.i0:t.i1])
	t.i0 += n
	return n, nil
}

// v2Source reads through a V2's read-ahead buffer.
type v2Source V2

func (s *v2Source) Read(p []byte) (int, error) { return (*V2)(s).fill(p) }

// readFull fills p[*n:] and reports whether p is complete; err is the
// connection's (io.ErrUnexpectedEOF for an end inside p).
func (t *V2) readFull(p []byte, n *int) error {
	for *n < len(p) {
		k, err := t.fill(p[*n:])
		*n += k
		if err != nil && *n < len(p) {
			if err == io.EOF && *n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// Next reads the next message, or the handshake's next step (*Handshake).
//
// An idle session waits in here for the next length field, so that path
// is kept shallow: the rest of the work happens in calls that have
// returned by then (an idle peer's goroutine then fits the runtime's
// smallest stack).
func (t *V2) Next() (wire.Message, error) {
	if t.stage == stPackets && t.bodyLen == 0 && t.lenN < lengthLen {
		for t.lenN < lengthLen {
			n, err := t.fill(t.lenBuf[t.lenN:])
			t.lenN += n
			if err != nil && t.lenN < lengthLen {
				if err == io.EOF && t.lenN > 0 {
					err = io.ErrUnexpectedEOF
				}
				return nil, err
			}
		}
	}
	return t.next()
}

// next is Next's work once a packet's length field is in, or during the
// handshake.
//
//go:noinline
func (t *V2) next() (wire.Message, error) {
	switch t.stage {
	case stDetect:
		return t.detect()
	case stKey:
		return t.key()
	case stGarbage:
		return t.garbage()
	case stV1:
		return t.v1.Next()
	}
	return t.packet()
}

// detect tells a v1 peer from a v2 one by the first 16 bytes.
func (t *V2) detect() (wire.Message, error) {
	hs := t.hs
	for hs.theirsN < v1PrefixLen {
		// After a first short read, read straight into the key so that
		// the read-ahead never holds more than a v1 reader can take
		// back with the 16 bytes (wireio.Reader.Prime).
		p := hs.theirs[hs.theirsN:v1PrefixLen]
		var n int
		var err error
		if hs.theirsN == 0 || t.i0 < t.i1 {
			n, err = t.fill(p)
		} else {
			n, err = t.conn.Read(p)
			t.read += uint64(max(n, 0))
		}
		hs.theirsN += n
		if err != nil && hs.theirsN < v1PrefixLen {
			if err == io.EOF && hs.theirsN > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	if bytes.Equal(hs.theirs[:v1PrefixLen], v1Prefix(t.net)) {
		t.v1 = NewV1(t.conn, t.net)
		// The read-ahead may hold bytes past the 16: they go first too.
		prefix := append(hs.theirs[:v1PrefixLen:v1PrefixLen], t.in[t.i0:t.i1]...)
		t.i0, t.i1 = 0, 0
		if err := t.v1.r.Prime(prefix); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrV2, err)
		}
		t.read -= uint64(len(prefix)) // counted by the v1 reader from now on
		t.hs, t.stage = nil, stV1
		t.mode.Store(modeV1)
		t.ready.Store(true)
		return handshakeDone, nil
	}
	t.mode.Store(modeV2)
	t.stage = stKey
	if err := t.startHandshake(); err != nil {
		return nil, err
	}
	return handshakeMoved, nil
}

// key reads their public key, agrees on the session's keys and queues our
// garbage terminator and version packet.
func (t *V2) key() (wire.Message, error) {
	hs := t.hs
	if err := t.readFull(hs.theirs[:], &hs.theirsN); err != nil {
		return nil, err
	}
	if !t.initiator && bytes.Equal(hs.theirs[4:v1PrefixLen], v1Prefix(t.net)[4:]) {
		return nil, fmt.Errorf("%w: a v1 version message for another network", ErrV2)
	}
	secret, err := ellswift.V2Ecdh(hs.priv, hs.theirs, hs.ours, t.initiator)
	if err != nil {
		return nil, fmt.Errorf("%w: key exchange: %v", ErrV2, err)
	}
	keys, err := deriveKeys(secret[:], t.net)
	if err != nil {
		return nil, err
	}
	recvTerm, err := t.establish(keys)
	if err != nil {
		return nil, err
	}
	hs.recvTerm = recvTerm
	sendTerm := keys.initiatorTerm
	if !t.initiator {
		sendTerm = keys.responderTerm
	}
	// Our terminator, then our version packet (empty contents: no
	// transport features), whose associated data is our garbage.
	var b bytes.Buffer
	b.Write(sendTerm[:])
	if err := t.seal(&b, 0, nil, hs.sentGarbage); err != nil {
		return nil, err
	}
	hs.sentGarbage = nil
	out := b.Bytes()
	if p := t.pending.Swap(nil); p != nil {
		out = append(*p, out...) // the key and garbage were not written yet
	}
	t.pending.Store(&out)
	t.ready.Store(true)
	t.stage = stGarbage
	return handshakeMoved, nil
}

// establish sets up the session's four ciphers from keys, as the
// initiator or the responder, and returns the terminator to look for.
func (t *V2) establish(keys *sessionKeys) (recvTerm [TermLen]byte, err error) {
	id := keys.session
	t.session.Store(&id)
	sendL, sendP, recvL, recvP := keys.initiatorL, keys.initiatorP, keys.responderL, keys.responderP
	recvTerm = keys.responderTerm
	if !t.initiator {
		sendL, sendP, recvL, recvP = recvL, recvP, sendL, sendP
		recvTerm = keys.initiatorTerm
	}
	if t.sendL, err = v2transport.NewFSChaCha20(sendL[:]); err != nil {
		return recvTerm, err
	}
	if t.sendP, err = v2transport.NewFSChaCha20Poly1305(sendP[:]); err != nil {
		return recvTerm, err
	}
	if t.recvL, err = v2transport.NewFSChaCha20(recvL[:]); err != nil {
		return recvTerm, err
	}
	t.recvP, err = v2transport.NewFSChaCha20Poly1305(recvP[:])
	return recvTerm, err
}

// garbage reads their garbage up to their terminator.
func (t *V2) garbage() (wire.Message, error) {
	hs := t.hs
	for {
		if i := bytes.Index(hs.garbage[hs.scanFrom:], hs.recvTerm[:]); i >= 0 {
			i += hs.scanFrom
			// What came after the terminator is packets: it is read
			// before anything else.
			if rest := hs.garbage[i+TermLen:]; len(rest) > 0 {
				t.left = bytes.Clone(rest)
			}
			t.aad = bytes.Clone(hs.garbage[:i])
			t.hs, t.stage = nil, stVersion
			return t.packet()
		}
		// A terminator may straddle two reads.
		hs.scanFrom = max(len(hs.garbage)-(TermLen-1), 0)
		if len(hs.garbage) >= MaxGarbage+TermLen {
			return nil, fmt.Errorf("%w: no garbage terminator within %d bytes", ErrV2, MaxGarbage)
		}
		if hs.garbage == nil {
			hs.garbage = make([]byte, 0, MaxGarbage+TermLen)
		}
		p := hs.garbage[len(hs.garbage):cap(hs.garbage)]
		n, err := t.fill(p)
		hs.garbage = hs.garbage[:len(hs.garbage)+n]
		if err != nil && n == 0 {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// packet reads one packet: a decoy is skipped, their version packet ends
// the handshake, anything after it is a message.
func (t *V2) packet() (wire.Message, error) {
	for {
		plain, err := t.readPacket()
		if err != nil {
			return nil, err
		}
		if plain[0]&ignoreBit != 0 {
			t.releaseBody()
			continue // a decoy
		}
		if t.stage == stVersion {
			// Its contents announce transport features; none are
			// defined, and unknown ones are ignored.
			t.releaseBody()
			t.stage = stPackets
			t.mode.Store(modeV2)
			return handshakeDone, nil
		}
		msg, err := t.decode(plain[headerLen:])
		t.releaseBody()
		return msg, err
	}
}

// readPacket reads a whole packet and returns its plaintext (header and
// contents), which lives in t.body until releaseBody.
func (t *V2) readPacket() ([]byte, error) {
	if t.bodyLen == 0 {
		if err := t.readFull(t.lenBuf[:], &t.lenN); err != nil {
			return nil, err
		}
		t.lenN = 0
		plain, err := t.recvL.Crypt(t.lenBuf[:])
		if err != nil {
			return nil, fmt.Errorf("%w: length: %v", ErrV2, err)
		}
		n := int(plain[0]) | int(plain[1])<<8 | int(plain[2])<<16
		if n > MaxContents {
			return nil, fmt.Errorf("%w: packet of %d bytes, limit %d", ErrV2, n, MaxContents)
		}
		t.bodyLen = headerLen + n + tagLen
	}
	if t.body == nil {
		t.body = wireio.GetBuffer()
	}
	if got := t.body.Len(); got < t.bodyLen {
		// The buffer grows as bytes arrive, never to what the length
		// claims.
		t.lr = io.LimitedReader{R: (*v2Source)(t), N: int64(t.bodyLen - got)}
		_, err := t.body.ReadFrom(&t.lr)
		t.lr.R = nil
		if t.body.Len() < t.bodyLen {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	t.last = lengthLen + t.bodyLen
	t.bodyLen = 0
	plain, err := t.recvP.Decrypt(t.aad, t.body.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%w: packet authentication failed", ErrV2)
	}
	t.aad = nil
	t.body.Reset()
	t.body.Write(plain)
	return t.body.Bytes(), nil
}

func (t *V2) releaseBody() {
	wireio.PutBuffer(t.body)
	t.body = nil
}

// decode turns a packet's contents into a message: a short id or a
// 12-byte command, then the payload.
func (t *V2) decode(contents []byte) (wire.Message, error) {
	if len(contents) == 0 {
		return nil, fmt.Errorf("%w: a packet with no message type", ErrV2)
	}
	var cmd string
	var payload []byte
	if id := contents[0]; id != 0 {
		cmd = shortIDs[id]
		if cmd == "" {
			// Core ignores a message whose short id it does not know.
			return &wireio.Unknown{Cmd: fmt.Sprintf("short id %d", id), Size: uint32(len(contents) - 1)}, nil
		}
		payload = contents[1:]
	} else {
		if len(contents) < 1+wire.CommandSize {
			return nil, fmt.Errorf("%w: a %d-byte packet with a long message type", ErrV2, len(contents))
		}
		var field [wire.CommandSize]byte
		copy(field[:], contents[1:1+wire.CommandSize])
		name, ok := wireio.CommandName(&field)
		if !ok {
			return nil, &wireio.SoftError{Command: name, Reason: "invalid command bytes"}
		}
		cmd, payload = name, contents[1+wire.CommandSize:]
	}
	// The decoders read from a *bytes.Buffer: move the payload to the
	// front of the body buffer and trim it.
	b := t.body
	n := copy(b.Bytes(), payload)
	b.Truncate(n)
	return wireio.DecodePayload(cmd, b, wire.ProtocolVersion, wire.WitnessEncoding)
}

// BytesRead is how many bytes were read from the connection.
func (t *V2) BytesRead() uint64 {
	if t.stage == stV1 {
		return t.read + t.v1.BytesRead()
	}
	return t.read
}

// LastSize is the last packet's size on the wire (a v1 peer's: its
// message's).
func (t *V2) LastSize() int {
	if t.stage == stV1 {
		return t.v1.LastSize()
	}
	return t.last
}

// Release hands back the buffer of a partly read packet.
func (t *V2) Release() {
	t.releaseBody()
	if t.v1 != nil {
		t.v1.Release()
	}
}

// seal appends a packet with the given header byte and contents (id and
// command already in contents), sealed with aad, to b.
func (t *V2) seal(b *bytes.Buffer, header byte, contents, aad []byte) error {
	start := b.Len()
	b.Write([]byte{0, 0, 0, header})
	b.Write(contents)
	return t.sealAt(b, start, aad)
}

// sealAt seals the packet that starts at b[start:]: a length field
// reserved there, then the header byte and the contents.
func (t *V2) sealAt(b *bytes.Buffer, start int, aad []byte) error {
	p := b.Bytes()[start:]
	n := len(p) - lengthLen - headerLen
	if n >= 1<<(8*lengthLen) {
		b.Truncate(start)
		return fmt.Errorf("transport: packet of %d bytes, more than a length field holds", n)
	}
	var le [4]byte
	binary.LittleEndian.PutUint32(le[:], uint32(n))
	encLen, err := t.sendL.Crypt(le[:lengthLen])
	if err != nil {
		b.Truncate(start)
		return err
	}
	sealed, err := t.sendP.Encrypt(aad, p[lengthLen:])
	if err != nil {
		b.Truncate(start)
		return err
	}
	copy(p, encLen)
	b.Truncate(start + lengthLen)
	b.Write(sealed)
	return nil
}

// Queue encodes msg with enc into a packet after those already queued.
// Before the handshake is done it refuses with ErrNotReady.
func (t *V2) Queue(msg wire.Message, enc wire.MessageEncoding) error {
	if !t.ready.Load() {
		return ErrNotReady
	}
	if t.mode.Load() == modeV1 {
		return t.v1.Queue(msg, enc)
	}
	cmd := msg.Command()
	if len(cmd) > wire.CommandSize {
		return fmt.Errorf("transport: command %q is longer than %d bytes", cmd, wire.CommandSize)
	}
	if t.out == nil {
		t.out = wireio.GetBuffer()
	}
	b := t.out
	start := b.Len()
	var head [lengthLen + headerLen + 1 + wire.CommandSize]byte
	if id := shortIDOf[cmd]; id != 0 {
		head[lengthLen+headerLen] = id
		b.Write(head[:lengthLen+headerLen+1])
	} else {
		copy(head[lengthLen+headerLen+1:], cmd)
		b.Write(head[:])
	}
	if err := wireio.EncodePayload(b, msg, t.pver, enc); err != nil {
		b.Truncate(start)
		return err
	}
	return t.sealAt(b, start, nil)
}

// takePending moves the handshake's bytes in front of what is queued.
func (t *V2) takePending() {
	p := t.pending.Swap(nil)
	if p == nil {
		return
	}
	if t.out == nil {
		t.out = wireio.GetBuffer()
	}
	if t.out.Len() == 0 {
		t.out.Write(*p)
		return
	}
	rest := bytes.Clone(t.out.Bytes())
	t.out.Reset()
	t.out.Write(*p)
	t.out.Write(rest)
}

// Buffered is how many queued bytes are not yet written, the handshake's
// included.
func (t *V2) Buffered() int {
	if t.mode.Load() == modeV1 && t.v1 != nil {
		return t.v1.Buffered()
	}
	n := 0
	if p := t.pending.Load(); p != nil {
		n = len(*p)
	}
	if t.out != nil {
		n += t.out.Len()
	}
	return n
}

// Flush writes everything queued in one Write.
func (t *V2) Flush() error {
	if t.mode.Load() == modeV1 && t.v1 != nil {
		return t.v1.Flush()
	}
	t.takePending()
	if t.out == nil {
		return nil
	}
	b := t.out
	t.out = nil
	defer wireio.PutBuffer(b)
	if b.Len() == 0 {
		return nil
	}
	n, err := t.conn.Write(b.Bytes())
	t.sent += uint64(max(n, 0))
	return err
}

// FlushSome offers the queued bytes to write; what it does not take stays.
func (t *V2) FlushSome(write func([]byte) (int, error)) error {
	if t.mode.Load() == modeV1 && t.v1 != nil {
		return t.v1.FlushSome(write)
	}
	t.takePending()
	if t.out == nil {
		return nil
	}
	b := t.out
	var err error
	if b.Len() > 0 {
		var n int
		n, err = write(b.Bytes())
		n = max(n, 0)
		t.sent += uint64(n)
		b.Next(n)
	}
	if b.Len() == 0 {
		t.out = nil
		wireio.PutBuffer(b)
	}
	return err
}

// Discard drops what is queued.
func (t *V2) Discard() {
	if t.v1 != nil {
		t.v1.Discard()
	}
	t.pending.Store(nil)
	wireio.PutBuffer(t.out)
	t.out = nil
}

// SetProtocolVersion sets the version payloads are encoded with.
func (t *V2) SetProtocolVersion(pver uint32) {
	t.pver = pver
	if t.mode.Load() == modeV1 && t.v1 != nil {
		t.v1.SetProtocolVersion(pver)
	}
}

// BytesWritten is how many bytes were written.
func (t *V2) BytesWritten() uint64 {
	if t.mode.Load() == modeV1 && t.v1 != nil {
		return t.sent + t.v1.BytesWritten()
	}
	return t.sent
}

// RawConn returns the socket's descriptor: packets are sealed when they
// are queued, so what is queued may go to it as it is.
func (t *V2) RawConn() (syscall.RawConn, bool) { return rawConn(t.conn) }

// v1Prefix is the start of a v1 version message on network net.
func v1Prefix(net wire.BitcoinNet) []byte {
	var p [v1PrefixLen]byte
	binary.LittleEndian.PutUint32(p[:4], uint32(net))
	copy(p[4:], wire.CmdVersion)
	return p[:]
}

// sessionKeys are what BIP 324 derives from the ECDH secret.
type sessionKeys struct {
	initiatorL, initiatorP, responderL, responderP [32]byte
	initiatorTerm, responderTerm                   [TermLen]byte
	session                                        [32]byte
}

// deriveKeys expands the shared secret with HKDF-SHA256, salted with
// "bitcoin_v2_shared_secret" and the network magic (BIP 324).
func deriveKeys(secret []byte, net wire.BitcoinNet) (*sessionKeys, error) {
	salt := make([]byte, 0, 28)
	salt = append(salt, "bitcoin_v2_shared_secret"...)
	salt = binary.LittleEndian.AppendUint32(salt, uint32(net))
	prk := hkdf.Extract(sha256.New, secret, salt)
	k := new(sessionKeys)
	var terms [2 * TermLen]byte
	for _, d := range []struct {
		info string
		out  []byte
	}{
		{"initiator_L", k.initiatorL[:]},
		{"initiator_P", k.initiatorP[:]},
		{"responder_L", k.responderL[:]},
		{"responder_P", k.responderP[:]},
		{"garbage_terminators", terms[:]},
		{"session_id", k.session[:]},
	} {
		if _, err := io.ReadFull(hkdf.Expand(sha256.New, prk, []byte(d.info)), d.out); err != nil {
			return nil, fmt.Errorf("transport: key derivation: %w", err)
		}
	}
	copy(k.initiatorTerm[:], terms[:TermLen])
	copy(k.responderTerm[:], terms[TermLen:])
	return k, nil
}

// shortIDs is BIP 324's table of 1-byte message types; shortIDOf its
// inverse. Ids above 28 are unassigned.
var (
	shortIDs = [256]string{
		1: wire.CmdAddr, 2: wire.CmdBlock, 3: "blocktxn", 4: "cmpctblock",
		5: wire.CmdFeeFilter, 6: wire.CmdFilterAdd, 7: wire.CmdFilterClear,
		8: wire.CmdFilterLoad, 9: wire.CmdGetBlocks, 10: "getblocktxn",
		11: wire.CmdGetData, 12: wire.CmdGetHeaders, 13: wire.CmdHeaders,
		14: wire.CmdInv, 15: wire.CmdMemPool, 16: wire.CmdMerkleBlock,
		17: wire.CmdNotFound, 18: wire.CmdPing, 19: wire.CmdPong,
		20: "sendcmpct", 21: wire.CmdTx, 22: wire.CmdGetCFilters,
		23: wire.CmdCFilter, 24: wire.CmdGetCFHeaders, 25: wire.CmdCFHeaders,
		26: wire.CmdGetCFCheckpt, 27: wire.CmdCFCheckpt, 28: wire.CmdAddrV2,
	}
	shortIDOf = func() map[string]byte {
		m := make(map[string]byte)
		for id, cmd := range shortIDs {
			if cmd != "" {
				m[cmd] = byte(id)
			}
		}
		return m
	}()
)
