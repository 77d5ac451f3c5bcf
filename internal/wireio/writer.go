package wireio

import (
	"bytes"
	"io"

	"github.com/btcsuite/btcd/wire/v2"
)

// Writer encodes messages into one reusable buffer and writes each with a
// single Write call, so header and payload leave in one segment. It is not
// safe for concurrent use.
type Writer struct {
	w    io.Writer
	net  wire.BitcoinNet
	pver uint32
	buf  bytes.Buffer
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
	w.buf.Reset()
	if _, err := wire.WriteMessageWithEncodingN(&w.buf, msg, w.pver, w.net, enc); err != nil {
		return err
	}
	_, err := w.w.Write(w.buf.Bytes())
	if w.buf.Cap() > 64<<10 {
		w.buf = bytes.Buffer{}
	}
	return err
}
