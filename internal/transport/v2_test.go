package transport

import (
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ellswift"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/v2transport"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/wireio"
)

// TestBIP324Vectors runs BIP 324's packet encoding test vectors
// (testdata/bip324_packet_vectors.csv, the BIP's published
// packet_encoding_test_vectors.csv, mainnet magic): the shared secret from
// the two keys, every derived key, the session id, and the ciphertext of
// the in_idx'th packet.
func TestBIP324Vectors(t *testing.T) {
	f, err := os.Open("testdata/bip324_packet_vectors.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := make(map[string]int)
	for i, name := range rows[0] {
		col[name] = i
	}
	if len(rows) < 2 {
		t.Fatal("no vectors")
	}
	for n, row := range rows[1:] {
		get := func(name string) string { return row[col[name]] }
		hexOf := func(name string) []byte {
			b, err := hex.DecodeString(get(name))
			if err != nil {
				t.Fatalf("vector %d: %s: %v", n, name, err)
			}
			return b
		}
		atoi := func(name string) int {
			v, err := strconv.Atoi(get(name))
			if err != nil {
				t.Fatalf("vector %d: %s: %v", n, name, err)
			}
			return v
		}
		initiating := get("in_initiating") == "true"
		priv, _ := btcec.PrivKeyFromBytes(hexOf("in_priv_ours"))
		var ours, theirs [KeyLen]byte
		copy(ours[:], hexOf("in_ellswift_ours"))
		copy(theirs[:], hexOf("in_ellswift_theirs"))
		secret, err := ellswift.V2Ecdh(priv, theirs, ours, initiating)
		if err != nil {
			t.Fatalf("vector %d: %v", n, err)
		}
		if !bytes.Equal(secret[:], hexOf("mid_shared_secret")) {
			t.Fatalf("vector %d: shared secret %x", n, secret[:])
		}
		keys, err := deriveKeys(secret[:], wire.MainNet)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			got  []byte
		}{
			{"mid_initiator_l", keys.initiatorL[:]},
			{"mid_initiator_p", keys.initiatorP[:]},
			{"mid_responder_l", keys.responderL[:]},
			{"mid_responder_p", keys.responderP[:]},
			{"out_session_id", keys.session[:]},
		} {
			if !bytes.Equal(c.got, hexOf(c.name)) {
				t.Errorf("vector %d: %s %x", n, c.name, c.got)
			}
		}
		tr := &V2{initiator: initiating}
		recvTerm, err := tr.establish(keys)
		if err != nil {
			t.Fatal(err)
		}
		sendTerm := keys.initiatorTerm
		if !initiating {
			sendTerm = keys.responderTerm
		}
		if !bytes.Equal(sendTerm[:], hexOf("mid_send_garbage_terminator")) || !bytes.Equal(recvTerm[:], hexOf("mid_recv_garbage_terminator")) {
			t.Errorf("vector %d: terminators %x, %x", n, sendTerm, recvTerm)
		}
		var b bytes.Buffer
		for range atoi("in_idx") {
			b.Reset()
			if err := tr.seal(&b, 0, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		contents := bytes.Repeat(hexOf("in_contents"), atoi("in_multiply"))
		var header byte
		if get("in_ignore") == "true" {
			header = ignoreBit
		}
		b.Reset()
		if err := tr.seal(&b, header, contents, hexOf("in_aad")); err != nil {
			t.Fatal(err)
		}
		if want := hexOf("out_ciphertext"); len(want) > 0 && !bytes.Equal(b.Bytes(), want) {
			t.Errorf("vector %d: ciphertext %x", n, b.Bytes())
		}
		if want := hexOf("out_ciphertext_endswith"); len(want) > 0 && !bytes.HasSuffix(b.Bytes(), want) {
			t.Errorf("vector %d: ciphertext ends %x", n, b.Bytes()[max(b.Len()-len(want), 0):])
		}
	}
}

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (dialed, accepted net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dialed, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	accepted, err = l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dialed.Close(); accepted.Close() })
	deadline := time.Now().Add(20 * time.Second)
	dialed.SetDeadline(deadline)
	accepted.SetDeadline(deadline)
	return dialed, accepted
}

// next reads the next message, writing whatever the transport's
// handshake queued, as the peer driver does; it fails on anything but a
// message.
func next(t *testing.T, tr Transport) wire.Message {
	t.Helper()
	for {
		msg, err := tr.Next()
		if err != nil {
			t.Fatalf("%s: %v", tr.Name(), err)
		}
		if _, ok := msg.(*Handshake); ok {
			if err := tr.Flush(); err != nil {
				t.Fatalf("%s: flush: %v", tr.Name(), err)
			}
			continue
		}
		return msg
	}
}

func send(t *testing.T, tr Transport, msgs ...wire.Message) {
	t.Helper()
	for _, m := range msgs {
		if err := tr.Queue(m, wire.WitnessEncoding); err != nil {
			t.Fatalf("%s: queue %s: %v", tr.Name(), m.Command(), err)
		}
	}
	if err := tr.Flush(); err != nil {
		t.Fatalf("%s: flush: %v", tr.Name(), err)
	}
}

// handshakeBoth runs both transports' handshakes until each has said Ready.
func handshakeBoth(t *testing.T, a, b Transport) {
	t.Helper()
	errs := make(chan error, 2)
	for _, tr := range []Transport{a, b} {
		go func() {
			for {
				msg, err := tr.Next()
				if err != nil {
					errs <- err
					return
				}
				h, ok := msg.(*Handshake)
				if !ok {
					errs <- errors.New("a message during the handshake: " + msg.Command())
					return
				}
				if err := tr.Flush(); err != nil {
					errs <- err
					return
				}
				if h.Ready {
					errs <- nil
					return
				}
			}
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestV2Pair: an outbound V2 and an inbound one agree on a session (the
// same id on both sides), say v2, and carry messages with short ids
// (ping), long commands (version, wtxidrelay) and a large payload both
// ways, byte counts matching.
func TestV2Pair(t *testing.T) {
	a, b := tcpPair(t)
	out, err := NewV2(a, wire.TestNet)
	if err != nil {
		t.Fatal(err)
	}
	in := NewDetect(b, wire.TestNet)
	if in.Name() != "detecting" {
		t.Errorf("inbound before any byte: %s", in.Name())
	}
	if err := out.Queue(wire.NewMsgPing(1), wire.WitnessEncoding); !errors.Is(err, ErrNotReady) {
		t.Errorf("queue before the handshake: %v", err)
	}
	if err := out.Flush(); err != nil { // the key and garbage
		t.Fatal(err)
	}
	handshakeBoth(t, out, in)
	if out.Name() != "v2" || in.Name() != "v2" {
		t.Fatalf("names %s, %s", out.Name(), in.Name())
	}
	if out.SessionID() != in.SessionID() || out.SessionID() == [32]byte{} {
		t.Fatalf("session ids %x, %x", out.SessionID(), in.SessionID())
	}
	v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 42, 0)
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: 1}, nil, [][]byte{{1, 2}}))
	tx.AddTxOut(wire.NewTxOut(5, bytes.Repeat([]byte{0x51}, 100_000)))
	send(t, out, v, wire.NewMsgWTxIdRelay(), wire.NewMsgPing(7), tx)
	if m, ok := next(t, in).(*wire.MsgVersion); !ok || m.Nonce != 42 {
		t.Fatalf("got %#v", m)
	}
	if m := next(t, in); m.Command() != wire.CmdWTxIdRelay {
		t.Fatalf("got %s", m.Command())
	}
	if m, ok := next(t, in).(*wire.MsgPing); !ok || m.Nonce != 7 {
		t.Fatalf("got %#v", m)
	}
	if m, ok := next(t, in).(*wire.MsgTx); !ok || m.TxHash() != tx.TxHash() {
		t.Fatalf("got %#v", m)
	}
	send(t, in, wire.NewMsgPong(7))
	if m, ok := next(t, out).(*wire.MsgPong); !ok || m.Nonce != 7 {
		t.Fatalf("got %#v", m)
	}
	if out.BytesWritten() != in.BytesRead() || in.BytesWritten() != out.BytesRead() {
		t.Errorf("out wrote %d, in read %d; in wrote %d, out read %d",
			out.BytesWritten(), in.BytesRead(), in.BytesWritten(), out.BytesRead())
	}
	if out.hs != nil || in.hs != nil || out.body != nil || in.body != nil || out.out != nil {
		t.Error("an idle session holds handshake state or buffers")
	}
}

// TestDetectV1: an inbound transport that meets a v1 version message
// becomes v1 and reads it whole, the 16 bytes it looked at included, and
// answers in v1.
func TestDetectV1(t *testing.T) {
	a, b := tcpPair(t)
	in := NewDetect(b, wire.TestNet)
	far := NewV1(a, wire.TestNet)
	v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 9, 0)
	send(t, far, v, wire.NewMsgVerAck())
	msg, err := in.Next()
	if h, ok := msg.(*Handshake); err != nil || !ok || !h.Ready {
		t.Fatalf("first Next: %v, %v", msg, err)
	}
	if in.Name() != "v1" {
		t.Fatalf("name %s", in.Name())
	}
	if m, ok := next(t, in).(*wire.MsgVersion); !ok || m.Nonce != 9 {
		t.Fatalf("got %#v", m)
	}
	if m := next(t, in); m.Command() != wire.CmdVerAck {
		t.Fatalf("got %s", m.Command())
	}
	send(t, in, wire.NewMsgPing(3))
	if m, ok := next(t, far).(*wire.MsgPing); !ok || m.Nonce != 3 {
		t.Fatalf("got %#v", m)
	}
	if in.BytesRead() != far.BytesWritten() || in.BytesWritten() != far.BytesRead() {
		t.Errorf("counts: in read %d of %d, wrote %d of %d", in.BytesRead(), far.BytesWritten(), in.BytesWritten(), far.BytesRead())
	}
}

// chunked hands out its first read in the sizes given, then reads as
// asked.
type chunked struct {
	net.Conn
	sizes []int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.sizes) > 0 {
		p = p[:min(len(p), c.sizes[0])]
		c.sizes = c.sizes[1:]
		return io.ReadFull(c.Conn, p)
	}
	return c.Conn.Read(p)
}

// TestDetectV1Fragmented: a v1 peer whose first bytes arrive in small
// pieces, the rest in one large one, is still told apart and read whole.
func TestDetectV1Fragmented(t *testing.T) {
	a, b := tcpPair(t)
	in := NewDetect(&chunked{Conn: b, sizes: []int{10, 128}}, wire.TestNet)
	far := NewV1(a, wire.TestNet)
	v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 9, 0)
	v.UserAgent = strings.Repeat("x", 200)
	send(t, far, v, wire.NewMsgVerAck())
	if m, ok := next(t, in).(*wire.MsgVersion); !ok || m.Nonce != 9 {
		t.Fatalf("got %#v", m)
	}
	if m := next(t, in); m.Command() != wire.CmdVerAck {
		t.Fatalf("got %s", m.Command())
	}
}

// stutter hands out what it reads from c a byte at a time, with a
// deadline error before each byte, as a read cut by wake-ups sees it.
type stutter struct {
	net.Conn
	cut bool
}

func (s *stutter) Read(p []byte) (int, error) {
	if s.cut = !s.cut; s.cut {
		return 0, os.ErrDeadlineExceeded
	}
	return s.Conn.Read(p[:1])
}

// TestV2Resumes: a session whose reads are cut before every byte, through
// the whole handshake and a message, loses nothing.
func TestV2Resumes(t *testing.T) {
	a, b := tcpPair(t)
	out, err := NewV2(&stutter{Conn: a}, wire.TestNet)
	if err != nil {
		t.Fatal(err)
	}
	in := NewDetect(b, wire.TestNet)
	if err := out.Flush(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for {
			msg, err := in.Next()
			if err != nil {
				done <- err
				return
			}
			if err := in.Flush(); err != nil {
				done <- err
				return
			}
			if h, ok := msg.(*Handshake); ok && h.Ready {
				done <- nil
				return
			}
		}
	}()
	cuts := 0
	for ready := false; !ready; {
		msg, err := out.Next()
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			cuts++
			continue
		case err != nil:
			t.Fatal(err)
		}
		if err := out.Flush(); err != nil {
			t.Fatal(err)
		}
		ready = msg.(*Handshake).Ready
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	send(t, in, wire.NewMsgPing(11))
	for {
		msg, err := out.Next()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			cuts++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := msg.(*wire.MsgPing); !ok || p.Nonce != 11 {
			t.Fatalf("got %#v", msg)
		}
		break
	}
	if cuts < KeyLen {
		t.Errorf("only %d cuts", cuts)
	}
}

// btcdV2 is btcd's v2transport on one end of a connection, run the way
// btcd runs it (blocking reads).
func btcdV2(c net.Conn) *v2transport.Peer {
	p := v2transport.NewPeer()
	p.UseReadWriter(c)
	return p
}

// TestV2AgainstBtcd: our transport and btcd's v2transport, an independent
// implementation, agree in both roles: btcd sends decoys and garbage,
// messages go both ways.
func TestV2AgainstBtcd(t *testing.T) {
	t.Run("we initiate", func(t *testing.T) {
		a, b := tcpPair(t)
		ours, err := NewV2(a, wire.TestNet)
		if err != nil {
			t.Fatal(err)
		}
		theirs := btcdV2(b)
		errc := make(chan error, 1)
		go func() {
			if err := theirs.RespondV2Handshake(100, v2transport.BitcoinNet(wire.TestNet)); err != nil {
				errc <- err
				return
			}
			errc <- theirs.CompleteHandshake(false, []int{5, 0, 300}, v2transport.BitcoinNet(wire.TestNet))
		}()
		if err := ours.Flush(); err != nil {
			t.Fatal(err)
		}
		exchangeWithBtcd(t, ours, theirs, errc)
	})
	t.Run("they initiate", func(t *testing.T) {
		a, b := tcpPair(t)
		ours := NewDetect(b, wire.TestNet)
		theirs := btcdV2(a)
		errc := make(chan error, 1)
		go func() {
			if err := theirs.InitiateV2Handshake(4095); err != nil {
				errc <- err
				return
			}
			errc <- theirs.CompleteHandshake(true, []int{1, 2}, v2transport.BitcoinNet(wire.TestNet))
		}()
		exchangeWithBtcd(t, ours, theirs, errc)
	})
}

func exchangeWithBtcd(t *testing.T, ours *V2, theirs *v2transport.Peer, errc chan error) {
	t.Helper()
	for ready := false; !ready; {
		msg, err := ours.Next()
		if err != nil {
			t.Fatal(err)
		}
		if err := ours.Flush(); err != nil {
			t.Fatal(err)
		}
		ready = msg.(*Handshake).Ready
	}
	if err := <-errc; err != nil {
		t.Fatalf("btcd's side: %v", err)
	}
	// btcd to us: a ping (short id) and a version (long command).
	for _, m := range []wire.Message{wire.NewMsgPing(5), wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 6, 0)} {
		var b bytes.Buffer
		if _, err := wire.WriteV2MessageN(&b, m, wire.ProtocolVersion, wire.WitnessEncoding); err != nil {
			t.Fatal(err)
		}
		go theirs.V2EncPacket(b.Bytes(), nil, false)
		if got := next(t, ours); got.Command() != m.Command() {
			t.Fatalf("got %s, want %s", got.Command(), m.Command())
		}
	}
	// Us to btcd.
	send(t, ours, wire.NewMsgPong(5), wire.NewMsgSendAddrV2())
	for _, want := range []string{wire.CmdPong, wire.CmdSendAddrV2} {
		plain, err := theirs.V2ReceivePacket(nil)
		if err != nil {
			t.Fatal(err)
		}
		msg, _, err := wire.ReadV2MessageN(plain, wire.ProtocolVersion, wire.WitnessEncoding)
		if err != nil {
			t.Fatal(err)
		}
		if msg.Command() != want {
			t.Fatalf("btcd got %s, want %s", msg.Command(), want)
		}
	}
}

// TestShortIDsMatchBtcd: every short id btcd's wire package writes is the
// one in our table.
func TestShortIDsMatchBtcd(t *testing.T) {
	msgs := []wire.Message{
		&wire.MsgAddr{}, &wire.MsgFeeFilter{}, &wire.MsgFilterAdd{}, &wire.MsgFilterClear{},
		&wire.MsgFilterLoad{}, wire.NewMsgGetBlocks(&chainhash.Hash{}), wire.NewMsgGetData(),
		wire.NewMsgGetHeaders(), wire.NewMsgHeaders(), wire.NewMsgInv(), wire.NewMsgMemPool(),
		wire.NewMsgNotFound(), wire.NewMsgPing(1), wire.NewMsgPong(1), wire.NewMsgTx(2),
		wire.NewMsgAddrV2(),
	}
	for _, msg := range msgs {
		var b bytes.Buffer
		if _, err := wire.WriteV2MessageN(&b, msg, wire.ProtocolVersion, wire.BaseEncoding); err != nil {
			t.Fatalf("%s: %v", msg.Command(), err)
		}
		if id := shortIDOf[msg.Command()]; b.Bytes()[0] != id || shortIDs[id] != msg.Command() {
			t.Errorf("%s: btcd writes id %d, our table %d", msg.Command(), b.Bytes()[0], id)
		}
	}
}

// TestV2BadInput: each way of breaking BIP 324 ends the session with
// ErrV2 (or, for garbage, before any buffer grows past the limit).
func TestV2BadInput(t *testing.T) {
	t.Run("garbage without terminator", func(t *testing.T) {
		a, b := tcpPair(t)
		in := NewDetect(b, wire.TestNet)
		go func() {
			// A key, then garbage that never ends.
			a.Write(bytes.Repeat([]byte{0xab}, KeyLen))
			a.Write(bytes.Repeat([]byte{0xcd}, MaxGarbage+TermLen+100))
			io.Copy(io.Discard, a)
		}()
		err := readUntilError(in)
		if !errors.Is(err, ErrV2) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("packet over the limit", func(t *testing.T) {
		out, in := v2Session(t)
		// A length field claiming MaxContents+1: sealed by hand with
		// the sender's length cipher.
		var le [4]byte
		le[0], le[1], le[2] = byte((MaxContents+1)&0xff), byte((MaxContents+1)>>8&0xff), byte((MaxContents+1)>>16)
		encLen, _ := out.sendL.Crypt(le[:3])
		out.conn.Write(encLen)
		if _, err := in.Next(); !errors.Is(err, ErrV2) {
			t.Fatalf("got %v", err)
		}
		if in.body != nil {
			t.Error("a buffer was taken for a packet refused on its length")
		}
	})
	t.Run("bad tag", func(t *testing.T) {
		out, in := v2Session(t)
		var b bytes.Buffer
		out.seal(&b, 0, []byte{18, 1, 2, 3, 4, 5, 6, 7, 8}, nil)
		p := b.Bytes()
		p[len(p)-1] ^= 1
		out.conn.Write(p)
		if _, err := in.Next(); !errors.Is(err, ErrV2) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("decoy flood then a message", func(t *testing.T) {
		out, in := v2Session(t)
		var b bytes.Buffer
		for range 1000 {
			out.seal(&b, ignoreBit, make([]byte, 100), nil)
		}
		out.seal(&b, 0, []byte{18, 9, 0, 0, 0, 0, 0, 0, 0}, nil)
		go out.conn.Write(b.Bytes())
		if m, ok := next(t, in).(*wire.MsgPing); !ok || m.Nonce != 9 {
			t.Fatalf("got %#v", m)
		}
	})
	t.Run("unknown short id", func(t *testing.T) {
		out, in := v2Session(t)
		var b bytes.Buffer
		out.seal(&b, 0, []byte{200, 1, 2}, nil)
		out.conn.Write(b.Bytes())
		if u, ok := next(t, in).(*wireio.Unknown); !ok || u.Size != 2 {
			t.Fatalf("got %#v", u)
		}
	})
}

// v2Session returns two transports with a finished handshake.
func v2Session(t *testing.T) (out, in *V2) {
	t.Helper()
	a, b := tcpPair(t)
	out, err := NewV2(a, wire.TestNet)
	if err != nil {
		t.Fatal(err)
	}
	in = NewDetect(b, wire.TestNet)
	if err := out.Flush(); err != nil {
		t.Fatal(err)
	}
	handshakeBoth(t, out, in)
	return out, in
}

func readUntilError(tr Transport) error {
	for {
		msg, err := tr.Next()
		if err != nil {
			return err
		}
		if _, ok := msg.(*Handshake); ok {
			tr.Flush()
		}
	}
}
