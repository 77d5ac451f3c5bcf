package wireio

import (
	"io"

	"github.com/btcsuite/btcd/wire/v2"
)

// Writer encodes each message into a buffer borrowed from the package's
// pool and writes it with a single Write call, so header and payload leave
// in one segment and an idle connection holds no buffer. It is not safe for
// concurrent use.
type Writer struct {
	w    io.Writer
	net  wire.BitcoinNet
	pver uint32
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
	buf := getBuffer()
	defer putBuffer(buf)
	if _, err := wire.WriteMessageWithEncodingN(buf, msg, w.pver, w.net, enc); err != nil {
		return err
	}
	_, err := w.w.Write(buf.Bytes())
	return err
}
