package wireio

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/btcsuite/btcd/wire/v2"
)

// Writer encodes each message into a buffer borrowed from the package's
// pool and writes it with a single Write call, so header and payload leave
// in one segment and an idle connection holds no buffer. It is not safe for
// concurrent use.
type Writer struct {
	w      io.Writer
	net    wire.BitcoinNet
	pver   uint32
	queued *bytes.Buffer // messages encoded by Queue, not yet written
}

// NewWriter returns a Writer for the network magic net.
func NewWriter(w io.Writer, net wire.BitcoinNet) *Writer {
	return &Writer{w: w, net: net, pver: wire.ProtocolVersion}
}

// SetProtocolVersion sets the version used to encode payloads.
func (w *Writer) SetProtocolVersion(pver uint32) { w.pver = pver }

// Write encodes msg with witness data (wire.WitnessEncoding) and writes it.
func (w *Writer) Write(msg wire.Message) error {
	return w.WriteEncoding(msg, wire.WitnessEncoding)
}

// WriteEncoding encodes msg with enc and writes it: wire.BaseEncoding
// strips witnesses from a transaction, for a peer that asked for MSG_TX.
func (w *Writer) WriteEncoding(msg wire.Message, enc wire.MessageEncoding) error {
	if err := w.Queue(msg, enc); err != nil {
		return err
	}
	return w.Flush()
}

// Queue encodes msg with enc after the messages already queued, to be
// written by Flush. A message that cannot be encoded, or whose payload is
// over its command's limit or MaxPayload, is refused (with the errors of
// btcd's wire.WriteMessage), and nothing of it is queued.
//
// The frame is built in place: the payload is encoded after a reserved
// header, whose length and checksum are then filled in, so queueing a
// message allocates nothing but what the message's own encoder does
// (btcd's WriteMessage allocates a payload buffer, a header buffer and a
// hash per message).
func (w *Writer) Queue(msg wire.Message, enc wire.MessageEncoding) error {
	cmd := msg.Command()
	if len(cmd) > wire.CommandSize {
		return fmt.Errorf("wireio: command %q is longer than %d bytes", cmd, wire.CommandSize)
	}
	if w.queued == nil {
		w.queued = getBuffer()
	}
	b := w.queued
	start := b.Len()
	var hdr [HeaderSize]byte
	b.Write(hdr[:])
	if err := msg.BtcEncode(b, w.pver, enc); err != nil {
		b.Truncate(start)
		return err
	}
	frame := b.Bytes()[start:]
	payload := frame[HeaderSize:]
	if limit := msg.MaxPayloadLength(w.pver); len(payload) > MaxPayload || uint32(len(payload)) > limit {
		b.Truncate(start)
		return fmt.Errorf("wireio: %s payload of %d bytes is over its limit (%d, and %d for any message)",
			cmd, len(payload), limit, MaxPayload)
	}
	binary.LittleEndian.PutUint32(frame[0:4], uint32(w.net))
	copy(frame[4:16], cmd)
	binary.LittleEndian.PutUint32(frame[16:20], uint32(len(payload)))
	sum := sha256.Sum256(payload)
	sum = sha256.Sum256(sum[:])
	copy(frame[20:24], sum[:4])
	return nil
}

// Buffered returns the number of bytes queued and not yet written.
func (w *Writer) Buffered() int {
	if w.queued == nil {
		return 0
	}
	return w.queued.Len()
}

// Flush writes the queued messages with one Write call (so that several
// messages of one step leave in one system call and, as far as the kernel
// manages, one segment) and releases the buffer.
func (w *Writer) Flush() error {
	if w.queued == nil {
		return nil
	}
	b := w.queued
	w.queued = nil
	defer putBuffer(b)
	if b.Len() == 0 {
		return nil
	}
	_, err := w.w.Write(b.Bytes())
	return err
}

// Discard drops the queued messages unwritten and releases the buffer, for
// a connection that is closed or broken.
func (w *Writer) Discard() {
	putBuffer(w.queued)
	w.queued = nil
}

// FlushSome offers the queued messages to write in one call, which may
// take only some of them (a non-blocking write to a full socket); what it
// did not take stays queued, in order, for the next FlushSome or Flush. It
// returns write's error; the buffer is released once everything is
// written.
func (w *Writer) FlushSome(write func([]byte) (int, error)) error {
	if w.queued == nil {
		return nil
	}
	b := w.queued
	var err error
	if b.Len() > 0 {
		var n int
		n, err = write(b.Bytes())
		b.Next(max(n, 0))
	}
	if b.Len() == 0 {
		w.queued = nil
		putBuffer(b)
	}
	return err
}
