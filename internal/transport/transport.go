// Package transport frames and unframes Bitcoin P2P messages on one
// connection, for the peer driver. A Transport sits between the driver and
// a connection (a TCP socket, or a stream through a SOCKS5 proxy that a
// dialer opened); the driver never sees how messages are framed, so v1
// framing (V1, on internal/wireio) and an encrypted transport are the same
// to it.
//
// # Contract
//
// A Transport has a read half (Next, BytesRead, Release) and a write half
// (Queue, Buffered, Flush, FlushSome, Discard, SetProtocolVersion,
// BytesWritten, RawConn). Each half is used by one goroutine at a time; the
// two halves may be used by two goroutines at once (the driver's loop reads
// while a relay fan-out writes).
//
// Reading is resumable: when the connection's Read fails (a read deadline
// reached, or moved into the past to wake the reader), Next returns that
// error and keeps every byte it had read; the next call resumes the same
// message. A wake-up or a deadline never loses a byte or desynchronises
// the stream.
//
// Next's errors say what is left of the connection:
//   - *wireio.SoftError: one message was read and dropped (bad checksum,
//     a count larger than the payload can hold); the stream is intact.
//   - wireio.ErrBadMagic, wireio.ErrOversized: the stream cannot be
//     trusted any more (ErrOversized is misbehaviour: the peer broke a
//     limit that Bitcoin Core disconnects for).
//   - io.EOF and the connection's own errors (a deadline:
//     os.ErrDeadlineExceeded; the caller closed it: net.ErrClosed).
//
// A message whose command is not decoded comes back as *wireio.Unknown
// (its payload skipped without buffering). Buffers grow only as bytes
// arrive: a header that claims a large payload allocates nothing until the
// payload is there, and is refused first if it is over the command's
// limit.
//
// Writing is two steps: Queue encodes messages into a buffer (a step's
// messages together), Flush writes them with one Write on the connection,
// under whatever write deadline the caller set. FlushSome hands the queued
// bytes to a write function that may take only part of them (a
// non-blocking write on a full socket); the rest stays queued, in order.
// An idle Transport holds no read or write buffer.
//
// RawConn offers the connection's descriptor for writes that must never
// wait (the driver's direct relay path), when the bytes Queue produces can
// go to it as they are. A connection that has no descriptor (net.Pipe, a
// wrapped stream that does not expose its socket) has no direct path:
// the driver then hands every write to its loop, which is correct, only
// slower at fan-out. A dialer that tunnels through a proxy should hand the
// Transport the underlying socket once the tunnel is up, so the path stays.
package transport

import (
	"syscall"

	"github.com/btcsuite/btcd/wire/v2"
)

// Transport frames messages on one connection; see the package comment for
// the contract.
type Transport interface {
	// Name is the protocol's name in getpeerinfo's
	// transport_protocol_type: "v1" or "v2".
	Name() string

	// Next reads the next message (read half).
	Next() (wire.Message, error)
	// BytesRead is how many bytes were taken from the connection.
	BytesRead() uint64
	// LastSize is the size on the wire of the message Next returned
	// last, framing included (v1: the 24-byte header and the payload;
	// v2: the length field, header byte, contents and tag).
	LastSize() int
	// Release hands back the buffer of a partly read message. Call it
	// once the connection is done with.
	Release()

	// Queue encodes msg with enc after the messages already queued. A
	// message that cannot be encoded or is over its limit is refused and
	// nothing of it is queued.
	Queue(msg wire.Message, enc wire.MessageEncoding) error
	// Buffered is how many queued bytes are not yet written.
	Buffered() int
	// Flush writes everything queued, in one Write, and releases the
	// buffer.
	Flush() error
	// FlushSome offers everything queued to write, which may take part;
	// the rest stays queued. It returns write's error.
	FlushSome(write func([]byte) (int, error)) error
	// Discard drops what is queued, unwritten (the connection is gone).
	Discard()
	// SetProtocolVersion sets the protocol version payloads are encoded
	// with (the version both sides speak, once the handshake is done).
	SetProtocolVersion(pver uint32)
	// BytesWritten is how many bytes Flush and FlushSome wrote.
	BytesWritten() uint64
	// RawConn returns the connection's descriptor for non-blocking
	// writes of what Queue produced, or false if there is none.
	RawConn() (syscall.RawConn, bool)
}
