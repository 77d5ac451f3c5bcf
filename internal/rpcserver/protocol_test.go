package rpcserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestProtocolReplies checks whole replies, status and body, to single
// requests in both JSON-RPC versions, against Core 28's behaviour
// (src/httprpc.cpp, test/functional/interface_rpc.py).
func TestProtocolReplies(t *testing.T) {
	ts := startServer(t, Config{})
	cases := []struct {
		name, body string
		status     int
		want       string // "" for no body
	}{
		// JSON-RPC 1.0: result, error and id always; errors are HTTP errors.
		{"1.0 success", `{"method":"getconnectioncount","params":[],"id":5}`, 200,
			`{"result":1,"error":null,"id":5}`},
		{"1.0 named jsonrpc", `{"jsonrpc":"1.0","method":"getconnectioncount","id":"x"}`, 200,
			`{"result":1,"error":null,"id":"x"}`},
		{"1.0 version 1.1 field is ignored", `{"version":"1.1","method":"getconnectioncount","id":1}`, 200,
			`{"result":1,"error":null,"id":1}`},
		{"1.0 no id", `{"method":"getconnectioncount"}`, 200,
			`{"result":1,"error":null,"id":null}`},
		{"1.0 null result", `{"method":"ping","id":1}`, 200,
			`{"result":null,"error":null,"id":1}`},
		{"1.0 id echoed compactly", `{"method":"uptime","id": {"a": [1, 2.50, "x"]} }`, 200,
			`{"result":90,"error":null,"id":{"a":[1,2.50,"x"]}}`},
		{"1.0 method not found is 404", `{"method":"nosuch","id":1}`, 404,
			`{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":1}`},
		{"1.0 other errors are 500", `{"method":"getmempoolentry","params":["00"],"id":1}`, 500,
			`{"result":null,"error":{"code":-8,"message":"txid must be of length 64 (not 2, for '00')"},"id":1}`},
		{"1.0 -32602 is 500", `{"method":"disconnectnode","id":1}`, 500,
			`{"result":null,"error":{"code":-32602,"message":"Only one of address and nodeid should be provided."},"id":1}`},

		// JSON-RPC 2.0: result or error, HTTP 200.
		{"2.0 success", `{"jsonrpc":"2.0","method":"getconnectioncount","id":"a"}`, 200,
			`{"jsonrpc":"2.0","result":1,"id":"a"}`},
		{"2.0 null result", `{"jsonrpc":"2.0","method":"ping","id":1}`, 200,
			`{"jsonrpc":"2.0","result":null,"id":1}`},
		{"2.0 method not found is 200", `{"jsonrpc":"2.0","method":"nosuch","id":"a"}`, 200,
			`{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"a"}`},
		{"2.0 error is 200", `{"jsonrpc":"2.0","method":"getmempoolentry","params":["` + strings.Repeat("0", 64) + `"],"id":2}`, 200,
			`{"jsonrpc":"2.0","error":{"code":-5,"message":"Transaction not in mempool"},"id":2}`},
		{"2.0 id null is no notification", `{"jsonrpc":"2.0","method":"getconnectioncount","id":null}`, 200,
			`{"jsonrpc":"2.0","result":1,"id":null}`},
		{"2.0 notification", `{"jsonrpc":"2.0","method":"ping"}`, 204, ""},
		{"2.0 failing notification", `{"jsonrpc":"2.0","method":"nosuch"}`, 204, ""},
		{"2.0 notification with bad params", `{"jsonrpc":"2.0","method":"disconnectnode","params":[]}`, 204, ""},

		// Envelope errors: -32600 and HTTP 400 in either version, in the
		// version's shape once it is known.
		{"jsonrpc not a string", `{"jsonrpc":2,"method":"getconnectioncount"}`, 400,
			`{"result":null,"error":{"code":-32600,"message":"jsonrpc field must be a string"},"id":null}`},
		{"unknown version", `{"jsonrpc":"3.0","method":"getconnectioncount","id":4}`, 400,
			`{"result":null,"error":{"code":-32600,"message":"JSON-RPC version not supported"},"id":4}`},
		{"2.0 missing method", `{"jsonrpc":"2.0","id":1}`, 400,
			`{"jsonrpc":"2.0","error":{"code":-32600,"message":"Missing method"},"id":1}`},
		{"null method", `{"method":null,"id":1}`, 400,
			`{"result":null,"error":{"code":-32600,"message":"Missing method"},"id":1}`},
		{"method not a string", `{"method":5,"id":1}`, 400,
			`{"result":null,"error":{"code":-32600,"message":"Method must be a string"},"id":1}`},
		{"params not array or object", `{"jsonrpc":"2.0","method":"ping","params":5,"id":1}`, 400,
			`{"jsonrpc":"2.0","error":{"code":-32600,"message":"Params must be an array or object"},"id":1}`},
		{"top-level scalar", `42`, 400,
			`{"result":null,"error":{"code":-32600,"message":"Invalid Request object: expected a request object or an array of them"},"id":null}`},

		// Malformed JSON: -32700 and HTTP 500, as Core.
		{"empty body", ``, 500, `{"result":null,"error":{"code":-32700,"message":"Parse error"},"id":null}`},
		{"blank body", " \n\t", 500, `{"result":null,"error":{"code":-32700,"message":"Parse error"},"id":null}`},
		{"not JSON", `this is bad`, 500, `{"result":null,"error":{"code":-32700,"message":"Parse error"},"id":null}`},
		{"truncated", `{"method":"ping","id":1`, 500, `{"result":null,"error":{"code":-32700,"message":"Parse error"},"id":null}`},
		{"trailing garbage", `{"method":"ping","id":1} x`, 500, `{"result":null,"error":{"code":-32700,"message":"Parse error"},"id":null}`},
		{"two objects", `{"method":"ping"}{"method":"ping"}`, 500, `{"result":null,"error":{"code":-32700,"message":"Parse error"},"id":null}`},
	}
	for _, c := range cases {
		r := ts.post(t, c.body)
		want := c.want
		if want != "" {
			want += "\n"
		}
		if r.status != c.status || r.body != want {
			t.Errorf("%s: got %d %q, want %d %q", c.name, r.status, r.body, c.status, want)
		}
		if want != "" && r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type %q", c.name, r.header.Get("Content-Type"))
		}
	}
	// The notifications ran: one ping each from "1.0 null result",
	// "2.0 null result" and "2.0 notification".
	if pings, _ := ts.backend.counts(); pings != 3 {
		t.Errorf("backend saw %d pings, want 3", pings)
	}
}

// TestBatch checks batches: an array of replies in order, HTTP 200 whatever
// the members' outcomes, no member for a notification.
func TestBatch(t *testing.T) {
	ts := startServer(t, Config{MaxBatch: 5})
	body := `[
		{"jsonrpc":"2.0","method":"getconnectioncount","id":1},
		{"jsonrpc":"2.0","method":"nosuch","id":2},
		{"method":"uptime","id":3},
		{"pizza":"sausage","id":4},
		5
	]`
	want := `[{"jsonrpc":"2.0","result":1,"id":1},` +
		`{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":2},` +
		`{"result":90,"error":null,"id":3},` +
		`{"result":null,"error":{"code":-32600,"message":"Missing method"},"id":4},` +
		`{"result":null,"error":{"code":-32600,"message":"Invalid Request object"},"id":null}]` + "\n"
	if r := ts.post(t, body); r.status != 200 || r.body != want {
		t.Errorf("mixed batch: got %d %s\nwant 200 %s", r.status, r.body, want)
	}

	// Notifications get no member; 1.0 errors are no HTTP errors here.
	body = `[{"jsonrpc":"2.0","method":"ping"},{"method":"nosuch","id":"n"},{"jsonrpc":"2.0","method":"nosuch"},{"jsonrpc":"2.0","method":"getmempoolentry","params":["00"],"id":6}]`
	want = `[{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":"n"},` +
		`{"jsonrpc":"2.0","error":{"code":-8,"message":"txid must be of length 64 (not 2, for '00')"},"id":6}]` + "\n"
	if r := ts.post(t, body); r.status != 200 || r.body != want {
		t.Errorf("batch with notifications: got %d %s\nwant 200 %s", r.status, r.body, want)
	}

	// A batch of notifications only: 204, but they ran.
	if r := ts.post(t, `[{"jsonrpc":"2.0","method":"ping"},{"jsonrpc":"2.0","method":"ping"}]`); r.status != 204 || r.body != "" {
		t.Errorf("notifications only: got %d %q, want 204", r.status, r.body)
	}
	if pings, _ := ts.backend.counts(); pings != 3 {
		t.Errorf("backend saw %d pings, want 3", pings)
	}

	// An empty batch is an error (JSON-RPC 2.0's rule).
	want = `{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request: empty batch"},"id":null}` + "\n"
	if r := ts.post(t, ` [ ] `); r.status != 400 || r.body != want {
		t.Errorf("empty batch: got %d %s, want 400 %s", r.status, r.body, want)
	}

	// A batch at the limit is served; one past it is refused whole, before
	// any member runs.
	full := "[" + strings.TrimSuffix(strings.Repeat(`{"method":"getconnectioncount","id":1},`, 5), ",") + "]"
	if r := ts.post(t, full); r.status != 200 || strings.Count(r.body, `"result":1`) != 5 {
		t.Errorf("batch of 5: got %d %s", r.status, r.body)
	}
	tooMany := "[" + strings.TrimSuffix(strings.Repeat(`{"method":"ping","id":1},`, 6), ",") + "]"
	want = `{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request: a batch may hold at most 5 requests"},"id":null}` + "\n"
	if r := ts.post(t, tooMany); r.status != 400 || r.body != want {
		t.Errorf("batch of 6: got %d %s, want 400 %s", r.status, r.body, want)
	}
	if pings, _ := ts.backend.counts(); pings != 3 {
		t.Errorf("a refused batch ran: backend saw %d pings, want 3", pings)
	}
}

// TestHugeBatchDefaultLimit sends a batch just past the default limit of
// 1000 requests.
func TestHugeBatchDefaultLimit(t *testing.T) {
	ts := startServer(t, Config{})
	batch := "[" + strings.TrimSuffix(strings.Repeat(`{"jsonrpc":"2.0","method":"ping","id":1},`, DefaultMaxBatch+1), ",") + "]"
	r := ts.post(t, batch)
	if r.status != 400 || !strings.Contains(r.body, `"code":-32600`) || !strings.Contains(r.body, "at most 1000 requests") {
		t.Errorf("batch of 1001: got %d %s", r.status, r.body)
	}
	if pings, _ := ts.backend.counts(); pings != 0 {
		t.Errorf("backend saw %d pings, want none", pings)
	}
	batch = "[" + strings.TrimSuffix(strings.Repeat(`{"jsonrpc":"2.0","method":"ping","id":1},`, DefaultMaxBatch), ",") + "]"
	if r := ts.post(t, batch); r.status != 200 || strings.Count(r.body, `"result":null`) != DefaultMaxBatch {
		t.Errorf("batch of 1000: got %d, %d replies", r.status, strings.Count(r.body, `"result":null`))
	}
}

// TestNestingDepth checks that JSON nested deeper than 32 levels is
// refused as a parse error, and 32 levels are not.
func TestNestingDepth(t *testing.T) {
	ts := startServer(t, Config{})
	// The request object and its params array are 2 levels.
	nested := func(levels int) string {
		return `{"jsonrpc":"2.0","id":1,"method":"help","params":[` +
			strings.Repeat("[", levels-2) + strings.Repeat("]", levels-2) + `]}`
	}
	r := ts.post(t, nested(MaxJSONDepth))
	if r.status != 200 || !strings.Contains(r.body, `"code":-3,`) { // parsed: help's parameter has the wrong type
		t.Errorf("32 levels: got %d %s", r.status, r.body)
	}
	want := `{"result":null,"error":{"code":-32700,"message":"Parse error: JSON nested deeper than 32 levels"},"id":null}` + "\n"
	if r := ts.post(t, nested(MaxJSONDepth+1)); r.status != 500 || r.body != want {
		t.Errorf("33 levels: got %d %s, want 500 %s", r.status, r.body, want)
	}
	// Very deep, as an attacker would send it: refused the same way.
	if r := ts.post(t, strings.Repeat("[", 1_000_000)); r.status != 500 || r.body != want {
		t.Errorf("a million levels: got %d %.200s", r.status, r.body)
	}
	// Brackets in strings do not count.
	r = ts.post(t, `{"jsonrpc":"2.0","id":1,"method":"help","params":["`+strings.Repeat(`[{\"`, 100)+`"]}`)
	if r.status != 200 || !strings.Contains(r.body, "help: unknown command: ") {
		t.Errorf("brackets in a string: got %d %.200s", r.status, r.body)
	}
}

func TestDepthWithin(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want bool
	}{
		{`[]`, 1, true},
		{`[[]]`, 1, false},
		{`{"a":{"b":1}}`, 2, true},
		{`{"a":{"b":{}}}`, 2, false},
		{`"[[[[["`, 0, true},
		{`["\"[[[", "\\", [1]]`, 2, true},
		{`["\\"[[[]]]]`, 2, false}, // the string ends after the escaped backslash
		{`]]]][[`, 2, true},
	} {
		if got := depthWithin([]byte(c.in), c.max); got != c.want {
			t.Errorf("depthWithin(%s, %d) = %v, want %v", c.in, c.max, got, c.want)
		}
	}
}

// TestRawHTTPClient talks to the server as a script would: net/http and a
// JSON body written by hand, no code of this package.
func TestRawHTTPClient(t *testing.T) {
	ts := startServer(t, Config{})
	txHex, txid := testTx(t, 9, 0)
	body := `{"jsonrpc": "1.0", "id": "curltest", "method": "sendrawtransaction", "params": ["` + txHex + `"]}`
	req, err := http.NewRequest("POST", ts.url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(testUser, testPass)
	req.Header.Set("Content-Type", "text/plain;") // what curl and bitcoin-cli's examples send
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Result string          `json:"result"`
		Error  json.RawMessage `json:"error"`
		ID     string          `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || got.Result != txid || string(got.Error) != "null" || got.ID != "curltest" {
		t.Errorf("sendrawtransaction: HTTP %d, %+v", resp.StatusCode, got)
	}
	r := ts.post(t, `{"jsonrpc":"2.0","id":2,"method":"getrawmempool","params":{"verbose":false}}`)
	if want := fmt.Sprintf(`{"jsonrpc":"2.0","result":["%s"],"id":2}`+"\n", txid); r.status != 200 || r.body != want {
		t.Errorf("getrawmempool: got %d %s, want %s", r.status, r.body, want)
	}
}
