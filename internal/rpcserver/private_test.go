package rpcserver

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/peerd/peerd/mempool"
	"github.com/peerd/peerd/node"
)

// TestGetPrivateBroadcastInfo: Core's shape (txid, wtxid, hex, and peers
// for the connections past the handshake, "received" only with a receipt)
// and peerd's own fields, for a pending, a confirmed and a given-up
// transaction; [] when there are none.
func TestGetPrivateBroadcastInfo(t *testing.T) {
	ts := startServer(t, Config{})
	for _, params := range []any{nil, []any{}, map[string]any{}} {
		if got := ts.mustCall(t, "getprivatebroadcastinfo", params); string(got) != `{"transactions":[]}` {
			t.Errorf("getprivatebroadcastinfo %v with none = %s", params, got)
		}
	}
	txs := ts.backend.setPrivate(t)
	got := ts.mustCall(t, "getprivatebroadcastinfo", nil)
	var out struct {
		Transactions []json.RawMessage `json:"transactions"`
	}
	if err := json.Unmarshal(got, &out); err != nil || len(out.Transactions) != 3 {
		t.Fatalf("getprivatebroadcastinfo = %s (%v)", got, err)
	}
	pending, confirmed, gaveUp := out.Transactions[0], out.Transactions[1], out.Transactions[2]
	contains(t, "pending", pending,
		`{"txid":"`+txs[0].TxID.String()+`","wtxid":"`+txs[0].WTxID.String()+`","hex":"`+hex.EncodeToString(txs[0].Raw)+`",`,
		`"peers":[{"address":"203.0.113.1:8333","sent":1700000100,"received":1700000101},{"address":"198.51.100.2:8333","sent":1700000100}],`,
		`"state":"pending","added":1700000100,"attempts_remaining":997,`,
		`"attempts":[{"address":"203.0.113.1:8333","peer_id":21,"transport":"v2","opened":1700000100,"announced":1700000100.9,`+
			`"getdata":1700000101.1,"sent":1700000101.1,"received":1700000101.3,"ended":1700000101.301,"outcome":"receipt"},`,
		`{"address":"198.51.100.2:8333","peer_id":22,"transport":"v1","opened":1700000100,"announced":1700000100.8,"getdata":1700000101,`+
			`"sent":1700000101,"reject":"16: bad-txns-inputs-missingorspent","ended":1700000101.2,"outcome":"rejected"},`,
		`{"address":"abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion:8333","opened":1700000100}],`,
		`"echoes":[]}`)
	for _, absent := range []string{`"confirmed"`, `"first_echo"`} {
		if strings.Contains(string(pending), absent) {
			t.Errorf("pending has %s: %s", absent, pending)
		}
	}
	contains(t, "confirmed", confirmed,
		`"peers":[{"address":"203.0.113.4:8333","sent":1700000100,"received":1700000100},{"address":"203.0.113.5:8333","sent":1700000100,"received":1700000100}]`,
		`"state":"confirmed","added":1700000100,"confirmed":1700000101.8,"attempts_remaining":998`,
		`"echoes":[{"id":7,"addr":"127.0.0.1:18444","time":1700000101.8},{"id":8,"addr":"127.0.0.1:18445","time":1700000102.5}],"first_echo":1.8}`)
	contains(t, "gave up", gaveUp, `"peers":[]`, `"state":"gave up"`, `"attempts_remaining":0`,
		`"attempts":[{"address":"203.0.113.6:8333","opened":1700000100,"ended":1700000280,"outcome":"dial failed: proxy refused"}]`)

	var text string
	if err := json.Unmarshal(ts.mustCall(t, "help", []any{"getprivatebroadcastinfo"}), &text); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"getprivatebroadcastinfo\n\nReturns information about transactions that are currently being privately broadcast\n",
		"\nResult:\n{ ", `"peers" : [`, `"first_echo" : n`,
		"> peerctl getprivatebroadcastinfo\n",
		`"method": "getprivatebroadcastinfo", "params": []}`,
	} {
		if !strings.Contains(text, w) {
			t.Errorf("help getprivatebroadcastinfo lacks %q:\n%s", w, text)
		}
	}
}

// TestAbortPrivateBroadcast: by txid or wtxid, in either case, named or
// positional; Core's result; -5 for what is not in the queue (unknown, or
// confirmed and public already), -8 for what is no hash.
func TestAbortPrivateBroadcast(t *testing.T) {
	ts := startServer(t, Config{})
	txs := ts.backend.setPrivate(t)
	removed := func(i int) string {
		return `{"removed_transactions":[{"txid":"` + txs[i].TxID.String() + `","wtxid":"` + txs[i].WTxID.String() +
			`","hex":"` + hex.EncodeToString(txs[i].Raw) + `"}]}`
	}
	if txs[0].TxID == txs[0].WTxID {
		t.Fatal("the fake's transactions need a witness")
	}
	if got := ts.mustCall(t, "abortprivatebroadcast", []any{strings.ToUpper(txs[0].WTxID.String())}); string(got) != removed(0) {
		t.Errorf("abort by wtxid = %s, want %s", got, removed(0))
	}
	if got := ts.mustCall(t, "abortprivatebroadcast", map[string]any{"id": txs[2].TxID.String()}); string(got) != removed(2) {
		t.Errorf("abort by txid = %s, want %s", got, removed(2))
	}
	got := ts.mustCall(t, "getprivatebroadcastinfo", nil)
	if strings.Count(string(got), `"txid"`) != 1 || !strings.Contains(string(got), txs[1].TxID.String()) {
		t.Errorf("after the aborts: %s", got)
	}

	for _, c := range []struct {
		params any
		code   int
		msg    string
	}{
		{[]any{txs[0].TxID.String()}, CodeInvalidAddressOrKey, "Transaction not in private broadcast queue"}, // gone
		{[]any{txs[1].TxID.String()}, CodeInvalidAddressOrKey, "Transaction not in private broadcast queue"}, // confirmed: public
		{[]any{strings.Repeat("ab", 32)}, CodeInvalidAddressOrKey, "Transaction not in private broadcast queue"},
		{[]any{"abcd"}, CodeInvalidParameter, "id must be of length 64 (not 4, for 'abcd')"},
		{[]any{strings.Repeat("z", 64)}, CodeInvalidParameter, "id must be hexadecimal string (not '" + strings.Repeat("z", 64) + "')"},
		{[]any{}, CodeMisc, "abortprivatebroadcast \"id\"\n\nAbort private broadcast attempts for a transaction"},
		{[]any{1}, CodeType, "Wrong type passed:\n{\n    \"Position 1 (id)\": \"JSON value of type number is not of expected type string\"\n}"},
	} {
		_, rerr := ts.call(t, "abortprivatebroadcast", c.params)
		if rerr == nil || rerr.Code != c.code || !strings.HasPrefix(rerr.Message, c.msg) {
			t.Errorf("abortprivatebroadcast %v: %+v, want %d %q", c.params, rerr, c.code, c.msg)
		}
	}

	var text string
	if err := json.Unmarshal(ts.mustCall(t, "help", []any{"abortprivatebroadcast"}), &text); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"\nArguments:\n1. id    (string, required) A transaction identifier to abort.",
		`"removed_transactions" : [`,
		"> peerctl abortprivatebroadcast \"id\"\n",
		`"method": "abortprivatebroadcast", "params": ["id"]}`,
	} {
		if !strings.Contains(text, w) {
			t.Errorf("help abortprivatebroadcast lacks %q:\n%s", w, text)
		}
	}
	var list string
	if err := json.Unmarshal(ts.mustCall(t, "help", nil), &list); err != nil {
		t.Fatal(err)
	}
	if w := "== Rawtransactions ==\nabortprivatebroadcast \"id\"\ngetprivatebroadcastinfo\nsendrawtransaction"; !strings.Contains(list, w) {
		t.Errorf("help lacks %q:\n%s", w, list)
	}
}

// TestPrivateBroadcastNotEnabled: without --privatebroadcast both methods
// are Core's -32601 with Core's message naming peerd's flag; in JSON-RPC
// 1.0 that is HTTP 404, as Core answers.
func TestPrivateBroadcastNotEnabled(t *testing.T) {
	ts := startServer(t, Config{})
	ts.backend.mu.Lock()
	ts.backend.noPrivate = true
	ts.backend.mu.Unlock()
	const msg = "Private broadcast is not enabled. Ensure you're running peerd with --privatebroadcast."
	for _, c := range []struct {
		method string
		params any
	}{
		{"getprivatebroadcastinfo", nil},
		{"abortprivatebroadcast", []any{strings.Repeat("ab", 32)}},
	} {
		_, rerr := ts.call(t, c.method, c.params)
		if rerr == nil || rerr.Code != CodeMethodNotFound || rerr.Message != msg {
			t.Errorf("%s without private broadcast: %+v", c.method, rerr)
		}
	}
	r := ts.post(t, `{"method":"getprivatebroadcastinfo","id":1}`)
	if want := `{"result":null,"error":{"code":-32601,"message":"` + msg + `"},"id":1}` + "\n"; r.status != 404 || r.body != want {
		t.Errorf("1.0: %d %s, want 404 %s", r.status, r.body, want)
	}
}

// TestPropagationAttempts: getmempoolentry's propagation carries a
// private broadcast's attempts and confirmation in getprivatebroadcastinfo's
// shapes, and getpeerinfo names a broadcast connection private-broadcast.
func TestPropagationAttempts(t *testing.T) {
	ts := startServer(t, Config{})
	txHex, txid := testTx(t, 1, 0)
	ts.mustCall(t, "sendrawtransaction", []any{txHex})
	ts.backend.mu.Lock()
	for id, e := range ts.backend.entries {
		e.Propagation = mempool.Propagation{
			SeenFrom: []mempool.PeerEvent{{Peer: mempool.PeerRef{ID: 7, Addr: "127.0.0.1:18444"}, At: time.UnixMilli(1700000101_800)}},
			Attempts: []mempool.Attempt{{ID: 1, Addr: "203.0.113.1:8333", Peer: 21, Transport: "v1",
				Opened: time.UnixMilli(1700000100_000), Announced: time.UnixMilli(1700000100_500), Ended: time.UnixMilli(1700000101_000), Outcome: "receipt"}},
			Confirmed: time.UnixMilli(1700000101_800),
		}
		ts.backend.entries[id] = e
	}
	ts.backend.peers = append(ts.backend.peers, node.PeerInfo{ID: 21, Addr: "203.0.113.1:8333", Conn: node.ConnPrivateBroadcast})
	ts.backend.mu.Unlock()
	got := ts.mustCall(t, "getmempoolentry", []any{txid})
	contains(t, "getmempoolentry", got, `"propagation":{"invsent":[],"fetched":[],"seenfrom":[{"id":7,"addr":"127.0.0.1:18444","time":1700000101.8}],`+
		`"attempts":[{"address":"203.0.113.1:8333","peer_id":21,"transport":"v1","opened":1700000100,"announced":1700000100.5,"ended":1700000101,"outcome":"receipt"}],`+
		`"confirmed":1700000101.8,"first_echo":1.8}`)
	got = ts.mustCall(t, "getpeerinfo", nil)
	contains(t, "getpeerinfo", got, `"id":21,"addr":"203.0.113.1:8333"`, `"connection_type":"private-broadcast"`)
}
