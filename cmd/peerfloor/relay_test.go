package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/txgen"
	"github.com/peerd/peerd/internal/wireio"
)

// handshaken opens a connection to the floor and completes the handshake,
// with or without wtxidrelay.
func handshaken(t *testing.T, addr string, wtxid bool) (net.Conn, *wireio.Reader) {
	t.Helper()
	c, r := greeted(t, addr)
	msgs := []wire.Message{wire.NewMsgVerAck()}
	if wtxid {
		msgs = []wire.Message{wire.NewMsgWTxIdRelay(), wire.NewMsgVerAck()}
	}
	// A ping after the verack: its pong says the floor has read the
	// verack, so the connection is listed.
	c.Write(encode(t, wire.TestNet, append(msgs, wire.NewMsgPing(5))...))
	expect(t, r, "pong")
	return c, r
}

// rpc posts one JSON-RPC call to the floor's handler.
func rpc(t *testing.T, f *floor, method string, params ...any) (json.RawMessage, *rpcError) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "1.0", "id": 1, "method": method, "params": params})
	w := httptest.NewRecorder()
	f.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
	var reply struct {
		Result json.RawMessage `json:"result"`
		Error  *rpcError       `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &reply); err != nil {
		t.Fatalf("%s: %v: %s", method, err, w.Body.String())
	}
	return reply.Result, reply.Error
}

// TestRelay: sendrawtransaction announces the transaction to every
// connection whose handshake is done, by wtxid (MSG_WTX) to the one that
// sent wtxidrelay and by txid (MSG_TX) to the other, and replies with the
// txid; getconnectioncount and getpeerinfo list those connections; a
// connection still in its handshake gets nothing.
func TestRelay(t *testing.T) {
	f, addr := serveFloor(t)
	_, rw := handshaken(t, addr, true)
	_, rt := handshaken(t, addr, false)
	half, hr := greeted(t, addr) // no verack sent

	if res, rerr := rpc(t, f, "getconnectioncount"); rerr != nil || string(res) != "2" {
		t.Fatalf("getconnectioncount: %s, %v; want 2", res, rerr)
	}
	res, rerr := rpc(t, f, "getpeerinfo")
	var ps []floorPeer
	if rerr != nil || json.Unmarshal(res, &ps) != nil || len(ps) != 2 || ps[0].Addr == "" || !ps[0].Inbound {
		t.Fatalf("getpeerinfo: %s, %v", res, rerr)
	}

	tx := txgen.Segwit(1, 7)[0]
	res, rerr = rpc(t, f, "sendrawtransaction", txgen.Hex(tx))
	if rerr != nil || string(res) != `"`+tx.TxHash().String()+`"` {
		t.Fatalf("sendrawtransaction: %s, %v; want %s", res, rerr, tx.TxHash())
	}
	for _, c := range []struct {
		r    *wireio.Reader
		typ  wire.InvType
		hash string
	}{{rw, invTypeWTx, tx.WitnessHash().String()}, {rt, wire.InvTypeTx, tx.TxHash().String()}} {
		inv := expect(t, c.r, "inv")[0].(*wire.MsgInv)
		if len(inv.InvList) != 1 || inv.InvList[0].Type != c.typ || inv.InvList[0].Hash.String() != c.hash {
			t.Errorf("inv %v, want %v %s", inv.InvList[0], c.typ, c.hash)
		}
	}
	// The half-open connection got nothing: a ping is answered before
	// any inv would be.
	half.Write(encode(t, wire.TestNet, wire.NewMsgPing(6)))
	expect(t, hr, "pong")
}

// TestRelayBadCalls: bad calls get Core's error codes and announce nothing.
func TestRelayBadCalls(t *testing.T) {
	f, _ := serveFloor(t)
	for _, c := range []struct {
		method string
		params []any
		code   int
	}{
		{"sendrawtransaction", nil, errInvalidParams},
		{"sendrawtransaction", []any{42}, errInvalidParams},
		{"sendrawtransaction", []any{"zz"}, errDeserialize},
		{"sendrawtransaction", []any{"0100"}, errDeserialize},
		{"getblockcount", nil, errMethodNotFound},
	} {
		if _, rerr := rpc(t, f, c.method, c.params...); rerr == nil || rerr.Code != c.code {
			t.Errorf("%s %v: error %+v, want code %d", c.method, c.params, rerr, c.code)
		}
	}
	w := httptest.NewRecorder()
	f.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{")))
	if w.Code != http.StatusBadRequest {
		t.Errorf("a broken request: HTTP %d, want 400", w.Code)
	}
}
