package wireio

import (
	"bytes"
	"fmt"

	"github.com/btcsuite/btcd/wire/v2"
)

// This file serves transports that frame messages themselves (BIP 324):
// they authenticate a whole packet before anything in it is used, so
// there is no checksum here, but the command table's limits and reactions
// are the same as over v1.

// CommandName returns the name in a 12-byte command field and whether the
// field is well formed (printable ASCII, then only NUL padding), as in a
// v1 header.
func CommandName(field *[wire.CommandSize]byte) (string, bool) {
	h := Header{Command: *field}
	return h.command()
}

// DecodePayload decodes a complete, authenticated payload of command cmd
// with the command table's limits: a payload over the command's limit or
// a count over its limit is ErrOversized or ErrTooMany (misbehaviour) or a
// *SoftError, as the table says; a command the table does not decode comes
// back as *Unknown. The message does not alias payload.
func DecodePayload(cmd string, payload *bytes.Buffer, pver uint32, enc wire.MessageEncoding) (wire.Message, error) {
	c := byName[cmd]
	if c == nil {
		return &Unknown{Cmd: cmd, Size: uint32(payload.Len())}, nil
	}
	if uint64(payload.Len()) > uint64(c.limit) {
		return nil, fmt.Errorf("%w: %s of %d bytes, limit %d", ErrOversized, cmd, payload.Len(), c.limit)
	}
	if c.new == nil {
		if r := c.count; r != nil {
			n, _, err := varInt(payload.Bytes())
			if err != nil {
				return nil, &SoftError{Command: cmd, Reason: "malformed payload: count: " + err.Error()}
			}
			if n > r.max {
				return nil, countError(cmd, n, r)
			}
		}
		return &Unknown{Cmd: c.name, Size: uint32(payload.Len())}, nil
	}
	if err := c.limits(payload.Bytes()); err != nil {
		return nil, err
	}
	msg := c.new()
	if err := msg.BtcDecode(payload, pver, enc); err != nil {
		return nil, &SoftError{Command: cmd, Reason: "malformed payload: " + err.Error()}
	}
	return msg, nil
}

// EncodePayload appends msg's payload, encoded with enc, to b, and refuses
// (leaving b as it was) a message that cannot be encoded or whose payload
// is over its command's limit or MaxPayload.
func EncodePayload(b *bytes.Buffer, msg wire.Message, pver uint32, enc wire.MessageEncoding) error {
	start := b.Len()
	if err := msg.BtcEncode(b, pver, enc); err != nil {
		b.Truncate(start)
		return err
	}
	n := b.Len() - start
	if limit := msg.MaxPayloadLength(pver); n > MaxPayload || uint32(n) > limit {
		b.Truncate(start)
		return fmt.Errorf("wireio: %s payload of %d bytes is over its limit (%d, and %d for any message)",
			msg.Command(), n, limit, MaxPayload)
	}
	return nil
}

// GetBuffer borrows a buffer from the pool that Readers and Writers share;
// PutBuffer gives it back (a large one is dropped).
func GetBuffer() *bytes.Buffer { return getBuffer() }

// PutBuffer gives back a buffer from GetBuffer; nil is ignored.
func PutBuffer(b *bytes.Buffer) { putBuffer(b) }

// Prime hands the Reader bytes already taken from its stream (a
// transport's detection read them), to be read before the stream's own.
// At most the read-ahead buffer's size (128 bytes) fits; call it before
// the first Next.
func (r *Reader) Prime(b []byte) error {
	if r.i1-r.i0+len(b) > len(r.in) || r.i0 != 0 {
		return fmt.Errorf("wireio: cannot prime %d bytes", len(b))
	}
	n := copy(r.in[r.i1:], b)
	r.i1 += n
	r.n += uint64(n)
	return nil
}
