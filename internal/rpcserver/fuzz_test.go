package rpcserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// FuzzRequest sends arbitrary bytes as the body of an authorized POST
// through the server's handler, with the fake backend. Whatever the body,
// the handler must not panic (not even one it recovers from: a reply of
// -32603 is a failure), and must answer a well-formed reply: 204 with no
// body, or a JSON body, with its Content-Type and Content-Length, in one
// of the statuses the protocol uses.
//
// Seeds are below and in testdata/fuzz/FuzzRequest; run it with
// scripts/fuzz.sh or go test -fuzz=FuzzRequest ./internal/rpcserver.
func FuzzRequest(f *testing.F) {
	// testTx(t, 1, 0)'s transaction.
	const txHex = "02000000010000000000000000000000000000000000000000000000000000000000000000010000000151ffffffff01e803000000000000016a00000000"
	for _, seed := range []string{
		`{"method":"getconnectioncount","params":[],"id":5}`,
		`{"jsonrpc":"2.0","method":"getrawmempool","params":{"verbose":true},"id":"a"}`,
		`{"jsonrpc":"2.0","method":"ping"}`,
		`[{"jsonrpc":"2.0","method":"uptime","id":1},{"method":"nosuch","id":2},{"jsonrpc":"2.0","method":"ping"},5]`,
		`{"jsonrpc":"2.0","id":1,"method":"setban","params":["10.0.0.0/8","add",3600,false]}`,
		`{"jsonrpc":"2.0","id":1,"method":"setban","params":{"subnet":"::1","command":"remove","bantime":1.5}}`,
		`{"method":"listbanned","id":null}`,
		`{"method":"sendrawtransaction","params":["` + txHex + `",0.1],"id":1}`,
		`{"method":"sendrawtransaction","params":{"args":["00"],"maxburnamount":"1e400"},"id":1}`,
		`{"method":"disconnectnode","params":["",1e30],"id":[1,{"a":null}]}`,
		`{"method":"help","params":["addnode"],"id":1}`,
		`{"\u006dethod":"help","method":"stop","id":1}`,
		`{"method":"getmempoolentry","params":["` + txHex[:64] + `"],"id":1}`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
		`[]`, ``, ` 42 `, `{"method":"ping"`, `{"method":"ping"} x`, "\xff\xfe",
	} {
		f.Add([]byte(seed))
	}
	b := newFakeBackend()
	s, err := New(Config{Listen: []string{"127.0.0.1:0"}, User: testUser, Pass: testPass, AuthFailureDelay: -1}, b)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, body []byte) {
		b.reset()
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.SetBasicAuth(testUser, testPass)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		checkReply(t, body, rec)
	})
}

// checkReply checks that rec is a well-formed reply to a POST of body.
func checkReply(t *testing.T, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	got := rec.Body.Bytes()
	switch rec.Code {
	case http.StatusNoContent:
		if len(got) != 0 {
			t.Fatalf("204 with a body %q (request %q)", got, body)
		}
		return
	case http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusInternalServerError:
	default:
		t.Fatalf("HTTP %d %q (request %q)", rec.Code, got, body)
	}
	if !json.Valid(got) {
		t.Fatalf("HTTP %d with a body that is not JSON: %q (request %q)", rec.Code, got, body)
	}
	h := rec.Header()
	if h.Get("Content-Type") != "application/json" || h.Get("Content-Length") != strconv.Itoa(len(got)) {
		t.Fatalf("Content-Type %q, Content-Length %q for %d bytes (request %q)", h.Get("Content-Type"), h.Get("Content-Length"), len(got), body)
	}
	// Each reply has a result or an error, and no error is the -32603 of
	// a recovered panic.
	var replies []map[string]json.RawMessage
	if err := json.Unmarshal(got, &replies); err != nil {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(got, &one); err != nil {
			t.Fatalf("reply is neither an object nor an array of them: %q (request %q)", got, body)
		}
		replies = append(replies, one)
	}
	if len(replies) == 0 {
		t.Fatalf("an empty batch reply (request %q)", body)
	}
	for _, r := range replies {
		_, hasResult := r["result"]
		e, hasError := r["error"]
		if !hasResult && !hasError {
			t.Fatalf("a reply without result or error: %q (request %q)", got, body)
		}
		if _, ok := r["id"]; !ok {
			t.Fatalf("a reply without id: %q (request %q)", got, body)
		}
		var rerr *Error
		if hasError && !isNull(e) {
			if err := json.Unmarshal(e, &rerr); err != nil || rerr.Message == "" {
				t.Fatalf("a malformed error %s (request %q)", e, body)
			}
			if rerr.Code == CodeInternal {
				t.Fatalf("internal error (a panic?) %q for request %q", rerr.Message, body)
			}
		}
	}
}

// FuzzJSONScan checks the byte scanner that takes requests apart
// (jsonscan.go) against encoding/json: for any valid JSON object or array,
// the same members and elements.
func FuzzJSONScan(f *testing.F) {
	for _, seed := range []string{
		`{}`, `[]`, ` { "a" : 1 , "b":[1, {"c":"]}"}] } `, `["\"", "\\", "\u0041", {"\u0041\n":-1.5e3}, true, null, false]`,
		`{"a":{"b":{"c":[[],{}]}},"a":"dup"}`, `[1,2,3e10,-0,"x"]`, "{\"k\\\"\":\"v\",\"\":\"\"}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		compact := func(b []byte) string {
			var out bytes.Buffer
			if err := json.Compact(&out, b); err != nil {
				t.Fatalf("not JSON: %q (from %q)", b, raw)
			}
			return out.String()
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		tok, _ := dec.Token()
		switch tok {
		case json.Delim('{'):
			var want []member
			for dec.More() {
				k, _ := dec.Token()
				var v json.RawMessage
				if err := dec.Decode(&v); err != nil {
					t.Fatal(err)
				}
				want = append(want, member{k.(string), v})
			}
			got, err := decodeObject(raw, -1)
			if err != nil || len(got) != len(want) {
				t.Fatalf("decodeObject(%q) = %d members, %v; want %d", raw, len(got), err, len(want))
			}
			for i := range want {
				if got[i].key != want[i].key || compact(got[i].val) != compact(want[i].val) {
					t.Fatalf("decodeObject(%q) member %d = %q: %s, want %q: %s", raw, i, got[i].key, got[i].val, want[i].key, want[i].val)
				}
			}
			if _, err := decodeArray(raw, 10); err == nil {
				t.Fatalf("decodeArray of an object %q: no error", raw)
			}
		case json.Delim('['):
			var want []json.RawMessage
			for dec.More() {
				var v json.RawMessage
				if err := dec.Decode(&v); err != nil {
					t.Fatal(err)
				}
				want = append(want, v)
			}
			got, err := decodeArray(raw, len(want)+1)
			if err != nil || len(got) != len(want) {
				t.Fatalf("decodeArray(%q) = %d elements, %v; want %d", raw, len(got), err, len(want))
			}
			for i := range want {
				if string(got[i]) != string(bytes.TrimSpace(want[i])) {
					t.Fatalf("decodeArray(%q) element %d = %q, want %q", raw, i, got[i], want[i])
				}
			}
			if len(want) > 0 {
				if got, err := decodeArray(raw, len(want)-1); err != errTooMany || len(got) != len(want)-1 {
					t.Fatalf("decodeArray(%q, %d) = %d, %v; want errTooMany", raw, len(want)-1, len(got), err)
				}
			}
			if _, err := decodeObject(raw, -1); err == nil {
				t.Fatalf("decodeObject of an array %q: no error", raw)
			}
		default:
			if _, err := decodeObject(raw, -1); err == nil {
				t.Fatalf("decodeObject of a scalar %q: no error", raw)
			}
			if _, err := decodeArray(raw, 10); err == nil {
				t.Fatalf("decodeArray of a scalar %q: no error", raw)
			}
		}
	})
}
