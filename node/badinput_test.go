package node

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/wireio"
)

// frame builds a raw message: magic, a 12-byte command field taken as is,
// the payload length and checksum (corrupted when badSum).
func frame(magic wire.BitcoinNet, cmd []byte, payload []byte, badSum bool) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint32(magic))
	var c [12]byte
	copy(c[:], cmd)
	b.Write(c[:])
	binary.Write(&b, binary.LittleEndian, uint32(len(payload)))
	sum := sha256.Sum256(payload)
	sum = sha256.Sum256(sum[:])
	if badSum {
		sum[0] ^= 0xff
	}
	b.Write(sum[:4])
	b.Write(payload)
	return b.Bytes()
}

// header builds only a header announcing length bytes.
func header(magic wire.BitcoinNet, cmd string, length uint32) []byte {
	b := frame(magic, []byte(cmd), nil, false)
	binary.LittleEndian.PutUint32(b[16:20], length)
	return b
}

func encode(t testing.TB, msg wire.Message) []byte {
	var b bytes.Buffer
	if err := wireio.NewWriter(&b, wire.TestNet).Write(msg); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func invOf(n int, typ wire.InvType) []byte {
	var b bytes.Buffer
	wire.WriteVarInt(&b, 0, uint64(n))
	for i := range n {
		binary.Write(&b, binary.LittleEndian, uint32(typ))
		var h chainhash.Hash
		binary.LittleEndian.PutUint32(h[:], uint32(i))
		b.Write(h[:])
	}
	return b.Bytes()
}

// headersOf is a headers payload of n empty headers, each followed by a
// zero transaction count.
func headersOf(n int) []byte {
	var b bytes.Buffer
	wire.WriteVarInt(&b, 0, uint64(n))
	b.Write(bytes.Repeat(make([]byte, 81), n))
	return b.Bytes()
}

// addrV2Of is an addrv2 payload of n IPv4 addresses.
func addrV2Of(n int) []byte {
	var b bytes.Buffer
	wire.WriteVarInt(&b, 0, uint64(n))
	for i := range n {
		b.Write([]byte{0, 0, 0, 0, 1, 1, 4, 198, 51, byte(i >> 8), byte(i), 0x20, 0x8d})
	}
	return b.Bytes()
}

// TestBadInput runs each row of PROTOCOL.md's bad-input table that applies
// to a node without blocks, and the framing cases of the peer issue,
// against a running node over TCP: a peer completes the handshake, sends
// the bad input, and sees the expected reaction (dropped and still answering
// pings, or disconnected); afterwards a fresh peer still completes a
// handshake.
func TestBadInput(t *testing.T) {
	regtest := wire.TestNet
	cases := []struct {
		name       string
		send       func(t *testing.T, p *testPeer)
		disconnect bool
	}{
		{"wrong network magic", func(t *testing.T, p *testPeer) {
			p.raw(frame(wire.MainNet, []byte("ping"), make([]byte, 8), false))
		}, true},
		{"bad checksum is dropped", func(t *testing.T, p *testPeer) {
			p.raw(frame(regtest, []byte("ping"), make([]byte, 8), true))
		}, false},
		{"payload over 4,000,000 bytes: disconnect before the payload", func(t *testing.T, p *testPeer) {
			p.raw(header(regtest, "tx", 4_000_001)) // no payload follows
		}, true},
		{"payload over the command's own maximum", func(t *testing.T, p *testPeer) {
			p.raw(header(regtest, "ping", wireio.MinCommandLimit+1))
		}, true},
		{"invalid bytes in the command name are dropped", func(t *testing.T, p *testPeer) {
			p.raw(frame(regtest, []byte("pi\x01ng"), make([]byte, 8), false))
		}, false},
		{"bytes after the NUL padding are dropped", func(t *testing.T, p *testPeer) {
			p.raw(frame(regtest, []byte("ping\x00\x00x"), make([]byte, 8), false))
		}, false},
		{"unknown command is ignored", func(t *testing.T, p *testPeer) {
			p.raw(frame(regtest, []byte("bogus"), []byte("hello"), false))
		}, false},
		{"sendcmpct, sendheaders, feefilter, getaddr, headers are ignored", func(t *testing.T, p *testPeer) {
			p.raw(frame(regtest, []byte("sendcmpct"), make([]byte, 9), false))
			p.send(wire.NewMsgSendHeaders())
			p.send(wire.NewMsgFeeFilter(1000))
			p.send(wire.NewMsgGetAddr())
			p.raw(frame(regtest, []byte("headers"), []byte{0}, false))
		}, false},
		{"inv of 50,001 entries: disconnect", func(t *testing.T, p *testPeer) {
			p.rawMayFail(frame(regtest, []byte("inv"), invOf(50_001, wire.InvTypeTx), false))
		}, true},
		{"getdata of 50,001 entries: disconnect", func(t *testing.T, p *testPeer) {
			p.rawMayFail(frame(regtest, []byte("getdata"), invOf(50_001, wire.InvTypeTx), false))
		}, true},
		{"inv of 50,000 entries is fine", func(t *testing.T, p *testPeer) {
			p.raw(frame(regtest, []byte("inv"), invOf(50_000, wire.InvTypeTx), false))
		}, false},
		{"addr of 1,001 entries: disconnect", func(t *testing.T, p *testPeer) {
			var b bytes.Buffer
			wire.WriteVarInt(&b, 0, 1001)
			b.Write(make([]byte, 1001*30))
			p.rawMayFail(frame(regtest, []byte("addr"), b.Bytes(), false))
		}, true},
		{"headers of 2,001 entries: disconnect", func(t *testing.T, p *testPeer) {
			p.rawMayFail(frame(regtest, []byte("headers"), headersOf(2001), false))
		}, true},
		{"headers of 2,000 entries are ignored", func(t *testing.T, p *testPeer) {
			p.raw(frame(regtest, []byte("headers"), headersOf(2000), false))
		}, false},
		{"addrv2 of 1,001 entries: disconnect", func(t *testing.T, p *testPeer) {
			p.rawMayFail(frame(regtest, []byte("addrv2"), addrV2Of(1001), false))
		}, true},
		{"addrv2 of 1,000 entries is ignored", func(t *testing.T, p *testPeer) {
			p.raw(frame(regtest, []byte("addrv2"), addrV2Of(1000), false))
		}, false},
		{"filterload without NODE_BLOOM: disconnect", func(t *testing.T, p *testPeer) {
			p.send(wire.NewMsgFilterLoad([]byte{0xff}, 5, 0, wire.BloomUpdateNone))
		}, true},
		{"filteradd without NODE_BLOOM: disconnect", func(t *testing.T, p *testPeer) {
			p.send(wire.NewMsgFilterAdd([]byte{1, 2, 3}))
		}, true},
		{"filterclear without NODE_BLOOM: disconnect", func(t *testing.T, p *testPeer) {
			p.send(wire.NewMsgFilterClear())
		}, true},
		{"notfound of 5,017 entries is ignored", func(t *testing.T, p *testPeer) {
			p.raw(frame(regtest, []byte("notfound"), invOf(5017, wire.InvTypeTx), false))
		}, false},
		{"inv count larger than its payload is dropped", func(t *testing.T, p *testPeer) {
			b := invOf(1, wire.InvTypeTx)
			b[0] = 0xfd
			b = append(b[:1], append([]byte{0x50, 0xc3}, b[1:]...)...) // claims 50,000
			p.raw(frame(regtest, []byte("inv"), b, false))
		}, false},
		{"header split into one-byte writes is reassembled", func(t *testing.T, p *testPeer) {
			for _, c := range encode(t, wire.NewMsgPing(31337)) {
				p.raw([]byte{c})
			}
			if pong := p.expect("pong").(*wire.MsgPong); pong.Nonce != 31337 {
				t.Fatalf("pong nonce %d", pong.Nonce)
			}
		}, false},
		{"trailing bytes after a known payload are ignored", func(t *testing.T, p *testPeer) {
			payload := binary.LittleEndian.AppendUint64(nil, 4444)
			payload = append(payload, 1, 2, 3, 4)
			p.raw(frame(regtest, []byte("ping"), payload, false))
			if pong := p.expect("pong").(*wire.MsgPong); pong.Nonce != 4444 {
				t.Fatalf("pong nonce %d", pong.Nonce)
			}
		}, false},
		{"wtxidrelay after verack: disconnect", func(t *testing.T, p *testPeer) {
			p.send(wire.NewMsgWTxIdRelay())
		}, true},
		{"sendaddrv2 after verack: disconnect", func(t *testing.T, p *testPeer) {
			p.send(wire.NewMsgSendAddrV2())
		}, true},
		{"duplicate version and verack are ignored", func(t *testing.T, p *testPeer) {
			p.send(wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 3, 0))
			p.send(wire.NewMsgVerAck())
		}, false},
		{"pong with a wrong nonce is ignored", func(t *testing.T, p *testPeer) {
			p.send(wire.NewMsgPong(12345))
		}, false},
		{"unsolicited tx is not a violation", func(t *testing.T, p *testPeer) {
			tx := wire.NewMsgTx(2)
			tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: 1}, []byte{1}, nil))
			tx.AddTxOut(wire.NewTxOut(1000, []byte{0x51}))
			p.send(tx)
		}, false},
	}
	n := startNode(t, testConfig())
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := dialTestPeer(t, n.addr)
			p.handshake()
			c.send(t, p)
			if c.disconnect {
				p.expectClosed()
			} else {
				p.pingPong(99)
			}
			fresh := dialTestPeer(t, n.addr)
			fresh.handshake()
			fresh.pingPong(100)
		})
	}
}

// TestJunkMessages sends 80 unknown messages of 4 MB each (Core's
// p2p_invalid_messages.py): the peer stays connected and responsive.
func TestJunkMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 320 MB over loopback")
	}
	n := startNode(t, testConfig())
	p := dialTestPeer(t, n.addr)
	p.handshake()
	junk := frame(wire.TestNet, []byte("badmsg"), bytes.Repeat([]byte{0xab}, wireio.MaxPayload), false)
	for range 80 {
		p.raw(junk)
	}
	p.pingPong(80)
}

// TestSilentPeerTimesOut: a peer that sends nothing after connecting is
// dropped at the handshake timeout.
func TestSilentPeerTimesOut(t *testing.T) {
	cfg := testConfig()
	cfg.Peer.Machine.Handshake.Timeout = 300 * 1e6 // 300ms
	n := startNode(t, cfg)
	p := dialTestPeer(t, n.addr)
	p.expectClosed()
	fresh := dialTestPeer(t, n.addr)
	fresh.handshake()
}

// TestHandshakeOrderNothingElseBeforeVerack checks, from an independent
// client's side (btcd's wire.WriteMessage out, headers parsed by hand in,
// since btcd's wire.ReadMessage does not know wtxidrelay; not our framing), that the replies to version, wtxidrelay, sendaddrv2, verack are
// exactly version, wtxidrelay, sendaddrv2, verack, that nothing asked for
// before verack is answered, and that our first message after it is a ping.
func TestHandshakeOrderNothingElseBeforeVerack(t *testing.T) {
	n := startNode(t, testConfig())
	conn, err := net.DialTimeout("tcp", n.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	net := wire.TestNet
	send := func(m wire.Message) {
		if err := wire.WriteMessage(conn, m, wire.ProtocolVersion, net); err != nil {
			t.Fatal(err)
		}
	}
	// recv returns the next message's command and payload.
	recv := func() (string, []byte) {
		var hdr [24]byte
		if _, err := io.ReadFull(conn, hdr[:]); err != nil {
			t.Fatal(err)
		}
		if wire.BitcoinNet(binary.LittleEndian.Uint32(hdr[:4])) != net {
			t.Fatalf("magic %x", hdr[:4])
		}
		payload := make([]byte, binary.LittleEndian.Uint32(hdr[16:20]))
		if _, err := io.ReadFull(conn, payload); err != nil {
			t.Fatal(err)
		}
		return string(bytes.TrimRight(hdr[4:16], "\x00")), payload
	}
	send(wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 1, 0))
	send(wire.NewMsgWTxIdRelay())
	send(wire.NewMsgSendAddrV2())
	send(wire.NewMsgPing(5)) // before verack: must not be answered
	send(wire.NewMsgGetAddr())
	send(wire.NewMsgVerAck())
	var got []string
	for len(got) < 4 {
		cmd, _ := recv()
		got = append(got, cmd)
	}
	if want := "version wtxidrelay sendaddrv2 verack"; joinWords(got) != want {
		t.Fatalf("before verack: %s, want %s", joinWords(got), want)
	}
	cmd, payload := recv()
	if cmd != "ping" || len(payload) != 8 {
		t.Fatalf("first message after verack: %s, want our ping", cmd)
	}
	send(wire.NewMsgPong(binary.LittleEndian.Uint64(payload)))
	send(wire.NewMsgPing(6))
	cmd, payload = recv()
	if cmd != "pong" || binary.LittleEndian.Uint64(payload) != 6 {
		t.Fatalf("got %s %x, want pong 6 (the pre-verack ping 5 must stay unanswered)", cmd, payload)
	}
}

func joinWords(ws []string) string {
	var b bytes.Buffer
	for i, w := range ws {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	return b.String()
}
