package node

import (
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/wireio"
)

// countingConn counts the bytes written to the node.
type countingConn struct {
	net.Conn
	n atomic.Uint64
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(uint64(n))
	return n, err
}

// fooMsg is a command the node does not know.
type fooMsg struct{ payload []byte }

func (m *fooMsg) BtcDecode(io.Reader, uint32, wire.MessageEncoding) error { return nil }
func (m *fooMsg) BtcEncode(w io.Writer, _ uint32, _ wire.MessageEncoding) error {
	_, err := w.Write(m.payload)
	return err
}
func (m *fooMsg) Command() string                { return "foobar" }
func (m *fooMsg) MaxPayloadLength(uint32) uint32 { return 1000 }

// wireSize is msg's size on the wire (v1): header and payload.
func wireSize(t *testing.T, msg wire.Message) uint64 {
	t.Helper()
	var b bytes.Buffer
	if _, err := wire.WriteMessageN(&b, msg, wire.ProtocolVersion, chaincfg.RegressionNetParams.Net); err != nil {
		t.Fatal(err)
	}
	return uint64(b.Len())
}

// TestPerMessageCounters: against known traffic, getpeerinfo's bytes per
// command count exactly the messages' sizes with their headers, an unknown
// command counts as "*other*", the peer's feefilter is kept, and
// getnettotals counts every byte the peer wrote.
func TestPerMessageCounters(t *testing.T) {
	tn := startNode(t, testConfig())
	raw, err := net.Dial("tcp", tn.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	cc := &countingConn{Conn: raw}
	p := dialTestPeerConn(t, cc)
	p.handshake()

	const pings = 7
	for i := range pings {
		p.pingPong(uint64(100 + i))
	}
	p.send(wire.NewMsgFeeFilter(1234))
	foo := &fooMsg{payload: []byte("hello")}
	if err := wire.WriteMessage(cc, foo, wire.ProtocolVersion, chaincfg.RegressionNetParams.Net); err != nil {
		t.Fatal(err)
	}
	p.pingPong(999) // everything before it has been read

	admin := NewAdmin(tn.Node, 100, func() {})
	var info PeerInfo
	waitFor(t, "the last ping counted", func() bool {
		ps := admin.Peers()
		if len(ps) != 1 {
			return false
		}
		info = ps[0]
		var sent uint64
		for _, n := range info.BytesSentPerMsg {
			sent += n
		}
		// A message is counted when queued, and bytessent once written:
		// wait for the last pong's write to be published.
		return info.BytesRecvPerMsg["ping"] == (pings+1)*32 && info.BytesSentPerMsg["pong"] == (pings+1)*32 &&
			sent == info.BytesSent
	})
	pingSize := wireSize(t, wire.NewMsgPing(1))
	if pingSize != 32 {
		t.Fatalf("a ping is %d bytes on the wire, want 32", pingSize)
	}
	v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 0x5eed, 0)
	v.Services = wire.SFNodeWitness | wire.SFNodeNetwork
	v.UserAgent = "/testpeer:1.0/"
	want := map[string]uint64{
		"version":    wireSize(t, v),
		"wtxidrelay": 24, "sendaddrv2": 24, "verack": 24,
		"pong":      32, // the answer to the node's first ping
		"ping":      (pings + 1) * pingSize,
		"feefilter": wireSize(t, wire.NewMsgFeeFilter(1234)),
		"*other*":   24 + uint64(len(foo.payload)),
	}
	for cmd, n := range want {
		if got := info.BytesRecvPerMsg[cmd]; got != n {
			t.Errorf("bytesrecv_per_msg[%s] = %d, want %d", cmd, got, n)
		}
	}
	if len(info.BytesRecvPerMsg) != len(want) {
		t.Errorf("bytesrecv_per_msg = %v, want only %v", info.BytesRecvPerMsg, want)
	}
	var sum uint64
	for _, n := range info.BytesRecvPerMsg {
		sum += n
	}
	if sum != cc.n.Load() || info.BytesRecv != sum {
		t.Errorf("bytes received: per command %d, bytesrecv %d; the peer wrote %d", sum, info.BytesRecv, cc.n.Load())
	}
	if got := info.BytesSentPerMsg["pong"]; got != (pings+1)*pingSize {
		t.Errorf("bytessent_per_msg[pong] = %d, want %d", got, (pings+1)*pingSize)
	}
	sum = 0
	for _, n := range info.BytesSentPerMsg {
		sum += n
	}
	if sum != info.BytesSent {
		t.Errorf("bytes sent: per command %d, bytessent %d", sum, info.BytesSent)
	}
	if info.MinFeeFilter != 1234 {
		t.Errorf("minfeefilter = %d sat/kvB, want 1234", info.MinFeeFilter)
	}

	st := tn.Stats().Peer
	if got := st.MsgsRecv.Load(wireio.CommandIndex("ping")); got != pings+1 {
		t.Errorf("node's ping messages received = %d, want %d", got, pings+1)
	}
	if got := st.BytesRecv.Load(wireio.NumCommands); got != 29 {
		t.Errorf("node's bytes of other commands = %d, want 29", got)
	}
	if tn.Stats().HandshakesDone.Load() != 1 {
		t.Errorf("handshakes completed = %d, want 1", tn.Stats().HandshakesDone.Load())
	}

	// getnettotals counts the peer while connected, and after it ended.
	if nt := admin.NetTotals(); nt.BytesRecv != cc.n.Load() || nt.BytesSent != info.BytesSent {
		t.Errorf("net totals %d received, %d sent; want %d, %d", nt.BytesRecv, nt.BytesSent, cc.n.Load(), info.BytesSent)
	}
	raw.Close()
	waitFor(t, "the peer gone", func() bool { return tn.PeerCount() == 0 })
	if nt := admin.NetTotals(); nt.BytesRecv != cc.n.Load() || nt.BytesSent < info.BytesSent {
		t.Errorf("net totals after the end: %d received, %d sent; want %d, at least %d", nt.BytesRecv, nt.BytesSent, cc.n.Load(), info.BytesSent)
	}
	if got := tn.Stats().Disconnects.Load(ReasonLabel("connection closed by peer")); got != 1 {
		t.Errorf("disconnects closed_by_peer = %d, want 1", got)
	}
}
