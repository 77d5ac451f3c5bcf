package transport

import (
	"net"
	"syscall"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/wireio"
)

// V1 is the unencrypted framing of the original protocol (magic, command,
// length, checksum), read and written by internal/wireio.
type V1 struct {
	conn net.Conn
	r    *wireio.Reader
	w    *wireio.Writer
	sent uint64 // write half
}

var _ Transport = (*V1)(nil)

// NewV1 returns the v1 transport on conn for the network magic net.
func NewV1(conn net.Conn, net wire.BitcoinNet) *V1 {
	t := &V1{conn: conn, r: wireio.NewReader(conn, net)}
	t.w = wireio.NewWriter((*v1Sink)(t), net)
	return t
}

// v1Sink is where the writer's Flush goes: the connection, counted.
type v1Sink V1

func (s *v1Sink) Write(b []byte) (int, error) {
	n, err := s.conn.Write(b)
	s.sent += uint64(max(n, 0))
	return n, err
}

// Name is "v1".
func (t *V1) Name() string { return "v1" }

// Next reads the next message.
func (t *V1) Next() (wire.Message, error) { return t.r.Next() }

// BytesRead is how many bytes were read from the connection.
func (t *V1) BytesRead() uint64 { return t.r.BytesRead() }

// LastSize is the last message's header and payload size.
func (t *V1) LastSize() int { return t.r.MessageSize() }

// Release hands back a partly read message's buffer.
func (t *V1) Release() { t.r.Release() }

// Queue encodes msg after the queued messages.
func (t *V1) Queue(msg wire.Message, enc wire.MessageEncoding) error { return t.w.Queue(msg, enc) }

// Buffered is how many queued bytes are not yet written.
func (t *V1) Buffered() int { return t.w.Buffered() }

// Flush writes everything queued in one Write.
func (t *V1) Flush() error { return t.w.Flush() }

// FlushSome offers the queued bytes to write.
func (t *V1) FlushSome(write func([]byte) (int, error)) error {
	before := t.w.Buffered()
	err := t.w.FlushSome(write)
	t.sent += uint64(before - t.w.Buffered())
	return err
}

// Discard drops what is queued.
func (t *V1) Discard() { t.w.Discard() }

// SetProtocolVersion sets the version payloads are encoded with.
func (t *V1) SetProtocolVersion(pver uint32) { t.w.SetProtocolVersion(pver) }

// BytesWritten is how many bytes were written.
func (t *V1) BytesWritten() uint64 { return t.sent }

// RawConn returns the socket's descriptor when the connection has one:
// v1 frames go to it as they are.
func (t *V1) RawConn() (syscall.RawConn, bool) { return rawConn(t.conn) }

// rawConn returns c's descriptor, if c is a socket that offers one.
func rawConn(c net.Conn) (syscall.RawConn, bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, false
	}
	return rc, true
}
