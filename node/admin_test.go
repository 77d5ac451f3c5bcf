package node

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/mempool"
)

// TestAdminRefusals gives every mempool and node refusal its kind, which
// each face words in its own terms (internal/rpcserver/coreerr maps them
// to Bitcoin Core's codes).
func TestAdminRefusals(t *testing.T) {
	n, _ := relayNode(t)
	a := NewAdmin(n.Node, 100, func() {})

	good := testTx(3)
	txid, err := a.SendRawTransaction(raw(t, good))
	if err != nil || txid != good.TxHash() {
		t.Fatalf("sendrawtransaction = %v, %v", txid, err)
	}
	// Already in the mempool: success with the txid, as in Core.
	if again, err := a.SendRawTransaction(raw(t, good)); err != nil || again != txid {
		t.Fatalf("resend = %v, %v; want the txid", again, err)
	}
	// Same txid, other witness: Core also answers with the txid.
	other := good.Copy()
	other.TxIn[0].Witness = wire.TxWitness{{9, 9}}
	if got, err := a.SendRawTransaction(raw(t, other)); err != nil || got != txid {
		t.Fatalf("same non-witness data = %v, %v; want the txid", got, err)
	}

	noOutputs := wire.NewMsgTx(2)
	noOutputs.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: 1, Hash: [32]byte{1}}, nil, nil))
	absent := txid
	absent[31] ^= 0xff
	cases := []struct {
		name string
		err  error
		kind ErrorKind
	}{
		{"no bytes", second(a.SendRawTransaction(nil)), ErrKindTxDecode},
		{"not a transaction", second(a.SendRawTransaction([]byte{0})), ErrKindTxDecode},
		{"trailing bytes", second(a.SendRawTransaction(append(raw(t, testTx(4)), 0))), ErrKindTxDecode},
		{"refused by the mempool", second(a.SendRawTransaction(raw(t, noOutputs))), ErrKindRejected},
		{"not in mempool", second(a.MempoolEntry(absent)), ErrKindNotFound},
		{"addnode bad command", a.AddNode("127.0.0.1:1", "jump", TransportAuto), 0},
		{"addnode bad address", a.AddNode("[]", "add", TransportAuto), ErrKindInvalidAddress},
		{"addnode remove unknown", a.AddNode("127.0.0.1:1", "remove", TransportAuto), ErrKindNotFound},
		{"addnode v2 without v2", a.AddNode("127.0.0.1:1", "add", TransportV2), ErrKindInvalidParameter},
		{"addnode onetry v2 without v2", a.AddNode("127.0.0.1:1", "onetry", TransportV2), ErrKindInvalidParameter},
		{"addnode remove v2 without v2", a.AddNode("127.0.0.1:1", "remove", TransportV2), ErrKindInvalidParameter},
		{"addnode v2 without v2, bad address", a.AddNode("[]", "add", TransportV2), ErrKindInvalidParameter},
		{"disconnectnode unknown address", a.DisconnectNode("127.0.0.1:1", 0, false), ErrKindNotFound},
		{"disconnectnode unknown id", a.DisconnectNode("", 999, true), ErrKindNotFound},
		{"disconnectnode negative id", a.DisconnectNode("", -1, true), ErrKindNotFound},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
		} else if got := KindOf(c.err); got != c.kind {
			t.Errorf("%s: error %v (kind %v), want kind %v", c.name, c.err, got, c.kind)
		}
	}
	var rej *mempool.RejectError
	if err := second(a.SendRawTransaction(raw(t, noOutputs))); !errors.As(err, &rej) || err.Error() != rej.Error() {
		t.Errorf("a mempool refusal %v: want the *mempool.RejectError, with its text", err)
	}
	if err := a.AddNode("127.0.0.1:2", "onetry", TransportV2); !errors.Is(err, ErrV2NotEnabled) {
		t.Errorf("addnode onetry v2 on a v1 node: %v, want ErrV2NotEnabled", err)
	}
	if err := a.AddNode("127.0.0.1:1", "add", TransportV1); err != nil {
		t.Fatal(err)
	}
	if err := a.AddNode("127.0.0.1:1", "add", TransportAuto); KindOf(err) != ErrKindExists || !errors.Is(err, ErrAlreadyAdded) {
		t.Errorf("addnode twice: %v, want ErrKindExists wrapping ErrAlreadyAdded", err)
	}
	if err := a.AddNode("127.0.0.1:1", "remove", TransportV1); err != nil {
		t.Errorf("addnode remove: %v", err)
	}

	e, err := a.MempoolEntry(txid)
	if err != nil || e.TxID != txid || e.WTxID != good.WitnessHash() || !e.Unbroadcast || e.VSize == 0 || e.Added.IsZero() {
		t.Fatalf("getmempoolentry = %+v, %v", e, err)
	}
	if ids := a.MempoolTxIDs(); len(ids) != 1 || ids[0] != txid {
		t.Fatalf("getrawmempool = %v", ids)
	}
	if es := a.MempoolEntries(); len(es) != 1 || es[0].TxID != txid {
		t.Fatalf("getrawmempool true = %+v", es)
	}
	if info := a.MempoolInfo(); !info.Loaded || info.Count != 1 || info.Unbroadcast != 1 || info.VSize != int64(e.VSize) {
		t.Fatalf("getmempoolinfo = %+v", info)
	}
}

// TestErrorKind: an Error reads as its cause, and errors.Is, errors.As
// and KindOf see through wrapping.
func TestErrorKind(t *testing.T) {
	err := fmt.Errorf("setban: %w", &Error{Kind: ErrKindExists, Err: ErrAlreadyBanned})
	if KindOf(err) != ErrKindExists || !errors.Is(err, ErrAlreadyBanned) || err.Error() != "setban: "+ErrAlreadyBanned.Error() {
		t.Errorf("wrapped Error: kind %v, %q", KindOf(err), err)
	}
	if KindOf(errors.New("plain")) != 0 || KindOf(nil) != 0 {
		t.Error("KindOf of no Error is not 0")
	}
	if s := ErrKindTxDecode.String(); s != "tx decode" {
		t.Errorf("ErrKindTxDecode = %q", s)
	}
	if s := ErrorKind(200).String(); s != "ErrorKind(200)" {
		t.Errorf("an unknown kind = %q", s)
	}
}

func raw(t *testing.T, tx *wire.MsgTx) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := tx.Serialize(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func second[T any](_ T, err error) error { return err }

// getpeerinfo's addrbind (PeerInfo.LocalAddr) is our end of the
// connection, inbound and outbound: it was always empty before.
func TestPeersLocalAddr(t *testing.T) {
	a := startNode(t, testConfig())
	cfg := testConfig()
	cfg.NoListen = true
	cfg.Connect = []string{a.addr}
	b := startNode(t, cfg)
	aa, ba := NewAdmin(a.Node, 100, func() {}), NewAdmin(b.Node, 100, func() {})
	var in, out []PeerInfo
	waitFor(t, "a and b to see each other", func() bool {
		in, out = aa.Peers(), ba.Peers()
		return len(in) == 1 && len(out) == 1
	})
	if in[0].LocalAddr != a.addr || !in[0].Inbound {
		t.Fatalf("a's inbound peer: LocalAddr %q, want a's listener %s", in[0].LocalAddr, a.addr)
	}
	if out[0].LocalAddr == "" || out[0].LocalAddr != in[0].Addr || out[0].Addr != a.addr {
		t.Fatalf("b's outbound peer %s: LocalAddr %q, want the address a sees it from, %s", out[0].Addr, out[0].LocalAddr, in[0].Addr)
	}
}
