package rpcserver

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// contains checks that the JSON text got contains each of the fragments.
func contains(t *testing.T, what string, got json.RawMessage, fragments ...string) {
	t.Helper()
	for _, f := range fragments {
		if !strings.Contains(string(got), f) {
			t.Errorf("%s: %s lacks %s", what, got, f)
		}
	}
}

// TestMethodsPositionalAndNamed calls every method with positional and
// with named parameters, and checks the results' Core shapes.
func TestMethodsPositionalAndNamed(t *testing.T) {
	ts := startServer(t, Config{})
	txHex, txid := testTx(t, 1, 0)
	tx2Hex, tx2id := testTx(t, 2, 0)

	// sendrawtransaction: positional, with Core's and legacy second
	// parameters, and named.
	for _, params := range []any{
		[]any{txHex},
		[]any{txHex, 0.1},
		[]any{txHex, "0.1", 0},
		[]any{txHex, false}, // Core before 0.19: allowhighfees
		[]any{txHex, nil, nil},
		map[string]any{"hexstring": txHex},
		map[string]any{"hexstring": txHex, "maxfeerate": 0, "maxburnamount": "0.5"},
		map[string]any{"args": []any{txHex}, "maxburnamount": 0},
	} {
		if got := ts.mustCall(t, "sendrawtransaction", params); string(got) != `"`+txid+`"` {
			t.Errorf("sendrawtransaction %v = %s, want %q", params, got, txid)
		}
	}
	if got := ts.mustCall(t, "sendrawtransaction", map[string]any{"hexstring": tx2Hex}); string(got) != `"`+tx2id+`"` {
		t.Errorf("sendrawtransaction = %s, want %q", got, tx2id)
	}

	// getrawmempool
	wantIDs := fmt.Sprintf(`["%s","%s"]`, txid, tx2id)
	for _, params := range []any{nil, []any{}, []any{false}, []any{false, false}, map[string]any{}, map[string]any{"verbose": false}} {
		if got := ts.mustCall(t, "getrawmempool", params); string(got) != wantIDs {
			t.Errorf("getrawmempool %v = %s, want %s", params, got, wantIDs)
		}
	}
	for _, params := range []any{[]any{true}, map[string]any{"verbose": true}, map[string]any{"verbose": true, "mempool_sequence": false}} {
		got := ts.mustCall(t, "getrawmempool", params)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(got, &m); err != nil || len(m) != 2 {
			t.Fatalf("getrawmempool %v = %s (%v)", params, got, err)
		}
		contains(t, "getrawmempool true", m[txid], `"vsize":`, `"weight":`, `"time":1700000100`, `"height":0`,
			`"descendantcount":1`, `"ancestorcount":1`, `"wtxid":"`, `"depends":[]`, `"spentby":[]`,
			`"bip125-replaceable":false`, `"unbroadcast":true`,
			`"fees":{"base":0.00000000,"modified":0.00000000,"ancestor":0.00000000,"descendant":0.00000000}`,
			`"propagation":{"invsent":[],"fetched":[],"seenfrom":[],"attempts":[]}`)
	}

	// getmempoolentry, also with the txid in upper case.
	for _, params := range []any{[]any{txid}, []any{strings.ToUpper(txid)}, map[string]any{"txid": txid}} {
		got := ts.mustCall(t, "getmempoolentry", params)
		contains(t, "getmempoolentry", got, `"wtxid":"`, `"fees":{"base":0.00000000`, `"depends":[]`, `"propagation":{`)
	}

	// getmempoolinfo: Core's amounts have eight decimals.
	for _, params := range []any{nil, []any{}, map[string]any{}} {
		got := ts.mustCall(t, "getmempoolinfo", params)
		contains(t, "getmempoolinfo", got, `"loaded":true`, `"size":2`, `"bytes":0`, `"usage":0`,
			`"total_fee":0.00000000`, `"maxmempool":300000000`, `"mempoolminfee":0.00001000`,
			`"minrelaytxfee":0.00001000`, `"incrementalrelayfee":0.00001000`, `"unbroadcastcount":0`, `"fullrbf":false`)
	}

	// getpeerinfo: Core's names, omitted pingwait, empty arrays and
	// objects, "v1", and peerd's own fields.
	got := ts.mustCall(t, "getpeerinfo", []any{})
	contains(t, "getpeerinfo", got, `[{"id":7,"addr":"127.0.0.1:18444","addrbind":"127.0.0.1:50000","network":"not_publicly_routable"`,
		`"services":"0000000000000409","servicesnames":["NETWORK","WITNESS","NETWORK_LIMITED"]`,
		`"relaytxes":true`, `"lastsend":1700000001`, `"lastrecv":1700000002`, `"last_transaction":0`, `"last_block":0`,
		`"bytessent":100`, `"bytesrecv":200`, `"conntime":1700000000`, `"timeoffset":0`,
		`"pingtime":0.0015`, `"minping":0.001`, `"version":70016`, `"subver":"/btcd:0.24.2/"`, `"inbound":false`,
		`"bip152_hb_to":false`, `"bip152_hb_from":false`, `"startingheight":101`,
		`"addr_relay_enabled":true,"addr_processed":12,"addr_rate_limited":3,"permissions":[]`,
		`"minfeefilter":0.00001000`, `"bytessent_per_msg":{"ping":32,"version":126}`, `"bytesrecv_per_msg":{"*other*":30,"pong":32}`,
		`"connection_type":"manual"`, `"transport_protocol_type":"v1"`, `"session_id":""`,
		`"wtxidrelay":true`, `"state":"standby/validating"`,
		`"transitions":[{"time":1700000000.25,"from":"handshake/awaitverack","to":"standby","on":"verack"}]`)
	for _, absent := range []string{"pingwait", "addrlocal"} {
		if strings.Contains(string(got), `"`+absent+`"`) {
			t.Errorf("getpeerinfo has %s: %s", absent, got)
		}
	}

	// Methods without parameters.
	for _, c := range []struct{ method, want string }{
		{"getconnectioncount", "1"},
		{"uptime", "90"},
		{"disconnectall", "3"},
		{"ping", "null"},
		{"stop", `"peerd stopping"`},
	} {
		for _, params := range []any{nil, []any{}, map[string]any{}} {
			if got := ts.mustCall(t, c.method, params); string(got) != c.want {
				t.Errorf("%s %v = %s, want %s", c.method, params, got, c.want)
			}
		}
	}
	if pings, stops := ts.backend.counts(); pings != 3 || stops != 3 {
		t.Errorf("backend saw %d pings and %d stops, want 3 and 3", pings, stops)
	}

	got = ts.mustCall(t, "getnettotals", nil)
	if want := `{"totalbytesrecv":1200,"totalbytessent":3400,"timemillis":1700000000123,` +
		`"uploadtarget":{"timeframe":86400,"target":0,"target_reached":false,"serve_historical_blocks":true,` +
		`"bytes_left_in_cycle":0,"time_left_in_cycle":0}}`; string(got) != want {
		t.Errorf("getnettotals = %s\nwant %s", got, want)
	}

	got = ts.mustCall(t, "getnetworkinfo", nil)
	contains(t, "getnetworkinfo", got, `"version":100`, `"subversion":"/peerd:0.1.0/"`, `"protocolversion":70016`,
		`"localservices":"0000000000000000"`, `"localservicesnames":[]`, `"localrelay":true`, `"timeoffset":0`,
		`"connections":1`, `"connections_in":0`, `"connections_out":1`, `"networkactive":true`, `"networks":[]`,
		`"relayfee":0.00001000`, `"incrementalfee":0.00001000`, `"localaddresses":[]`, `"warnings":""`)

	// addnode
	for _, params := range []any{
		[]any{"1.2.3.4:8333", "add"},
		[]any{"1.2.3.4:8333", "remove", false},
		map[string]any{"node": "1.2.3.4:8333", "command": "add"},
		map[string]any{"command": "remove", "node": "1.2.3.4:8333", "v2transport": false},
		map[string]any{"node": "5.6.7.8:8333", "command": "onetry"},
	} {
		if got := ts.mustCall(t, "addnode", params); string(got) != "null" {
			t.Errorf("addnode %v = %s", params, got)
		}
	}

	// disconnectnode, by address and by id, as Core allows either.
	for _, params := range []any{
		[]any{"127.0.0.1:18444"},
		[]any{"127.0.0.1:18444", nil},
		[]any{"", 7},
		[]any{nil, 7},
		map[string]any{"address": "127.0.0.1:18444"},
		map[string]any{"nodeid": 7},
		map[string]any{"address": "", "nodeid": 7},
	} {
		if got := ts.mustCall(t, "disconnectnode", params); string(got) != "null" {
			t.Errorf("disconnectnode %v = %s", params, got)
		}
	}
	ts.backend.mu.Lock()
	disc := strings.Join(ts.backend.disc, " ")
	ts.backend.mu.Unlock()
	if want := "127.0.0.1:18444 127.0.0.1:18444 #7 #7 127.0.0.1:18444 #7 #7"; disc != want {
		t.Errorf("disconnectnode calls: %s, want %s", disc, want)
	}

	// help
	var list string
	if err := json.Unmarshal(ts.mustCall(t, "help", nil), &list); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"== Blockchain ==\ngetmempoolentry \"txid\"\ngetmempoolinfo\ngetrawmempool ( verbose mempool_sequence )\n\n== Control ==\nhelp ( \"command\" )\nstop\nuptime\n",
		"== Network ==\naddnode \"node\" \"command\" ( v2transport )\nclearbanned\ndisconnectnode ( \"address\" nodeid )\n",
		"listbanned\nping\nsetban \"subnet\" \"command\" ( bantime absolute )\n",
		"== Peerd ==\ndisconnectall\n",
		"== Rawtransactions ==\nabortprivatebroadcast \"id\"\ngetprivatebroadcastinfo\nsendrawtransaction \"hexstring\" ( maxfeerate maxburnamount )",
	} {
		if !strings.Contains(list, line) {
			t.Errorf("help lacks %q:\n%s", line, list)
		}
	}
	for _, params := range []any{[]any{"getrawmempool"}, map[string]any{"command": "getrawmempool"}} {
		var text string
		if err := json.Unmarshal(ts.mustCall(t, "help", params), &text); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(text, "getrawmempool ( verbose mempool_sequence )\n\nReturns all transaction ids") ||
			!strings.Contains(text, "\nArguments:\n1. verbose             (boolean, optional, default=false)") ||
			!strings.Contains(text, "> peerctl getrawmempool true\n> curl --user myusername") ||
			!strings.Contains(text, ts.url) {
			t.Errorf("help getrawmempool:\n%s", text)
		}
	}
	if got := ts.mustCall(t, "help", []any{"nosuch"}); string(got) != `"help: unknown command: nosuch"` {
		t.Errorf("help nosuch = %s", got)
	}
}

// TestAddNodeTransport: addnode's v2transport reaches the node as the
// transport asked for: none (the node's default), v1 for false, v2 for
// true; a node without v2 refuses true with Core's -8.
func TestAddNodeTransport(t *testing.T) {
	ts := startServer(t, Config{})
	ts.backend.mu.Lock()
	ts.backend.v2 = true
	ts.backend.mu.Unlock()
	for _, params := range []any{
		[]any{"1.2.3.4:8333", "add"},
		[]any{"1.2.3.5:8333", "add", false},
		[]any{"1.2.3.6:8333", "onetry", true},
		[]any{"1.2.3.7:8333", "onetry", nil},
		map[string]any{"node": "1.2.3.8:8333", "command": "add", "v2transport": true},
		map[string]any{"node": "1.2.3.4:8333", "command": "remove", "v2transport": false},
	} {
		if got := ts.mustCall(t, "addnode", params); string(got) != "null" {
			t.Errorf("addnode %v = %s", params, got)
		}
	}
	ts.backend.mu.Lock()
	got := strings.Join(ts.backend.addnodes, "\n")
	ts.backend.v2 = false
	ts.backend.mu.Unlock()
	want := strings.Join([]string{"1.2.3.4:8333 add auto", "1.2.3.5:8333 add v1", "1.2.3.6:8333 onetry v2",
		"1.2.3.7:8333 onetry auto", "1.2.3.8:8333 add v2", "1.2.3.4:8333 remove v1"}, "\n")
	if got != want {
		t.Errorf("the node got\n%s\nwant\n%s", got, want)
	}
	for _, command := range []string{"add", "remove", "onetry"} {
		_, rerr := ts.call(t, "addnode", []any{"1.2.3.9:8333", command, true})
		if rerr == nil || rerr.Code != CodeInvalidParameter || rerr.Message != "Error: v2transport requested but not enabled (see --nov2transport)" {
			t.Errorf("addnode %s true on a v1 node: %+v", command, rerr)
		}
	}
}

// getnodeaddresses and getaddrmaninfo: Core's shapes, the default count
// of 1, 0 for all, the network filter, and getaddrmaninfo's networks in
// Core's order.
func TestAddrManMethods(t *testing.T) {
	ts := startServer(t, Config{})
	one := `{"time":1700000000,"services":9,"address":"1.2.3.4","port":8333,"network":"ipv4"}`
	two := `{"time":1700000001,"services":1,"address":"2001:db8::1","port":8333,"network":"ipv6"}`
	for _, c := range []struct {
		params any
		want   string
	}{
		{nil, "[" + one + "]"},
		{[]any{0}, "[" + one + "," + two + "]"},
		{[]any{5, "ipv6"}, "[" + two + "]"},
		{map[string]any{"network": "onion"}, "[]"},
		{map[string]any{"count": 0, "network": "cjdns"}, "[]"},
	} {
		if got := ts.mustCall(t, "getnodeaddresses", c.params); string(got) != c.want {
			t.Errorf("getnodeaddresses %v = %s, want %s", c.params, got, c.want)
		}
	}
	want := `{"ipv4":{"new":5,"tried":2,"total":7},"ipv6":{"new":1,"tried":0,"total":1},` +
		`"onion":{"new":0,"tried":0,"total":0},"i2p":{"new":0,"tried":0,"total":0},` +
		`"cjdns":{"new":0,"tried":0,"total":0},"all_networks":{"new":6,"tried":2,"total":8}}`
	if got := ts.mustCall(t, "getaddrmaninfo", nil); string(got) != want {
		t.Errorf("getaddrmaninfo = %s, want %s", got, want)
	}
}

// addpeeraddress, Core's hidden test method: on regtest and simnet it
// books an address ({"success":true}), says why it did not (Core's
// "failed-adding-to-new" and "failed-adding-to-tried"), refuses what is no
// IP address (-30) and a port out of range (-8); help lists it nowhere but
// explains it when asked. On other networks it does not exist.
func TestAddPeerAddress(t *testing.T) {
	ts := startServer(t, Config{})
	for _, c := range []struct {
		params any
		want   string
	}{
		{[]any{"1.2.3.4", 8333}, `{"success":true}`},
		{[]any{"1.2.3.4", 8333, true}, `{"success":false,"error":"failed-adding-to-new"}`},
		{map[string]any{"address": "2001:db8::1", "port": 8333, "tried": true}, `{"success":true}`},
		{[]any{"127.0.0.9", 18444, true}, `{"success":false,"error":"failed-adding-to-tried"}`},
	} {
		if got := ts.mustCall(t, "addpeeraddress", c.params); string(got) != c.want {
			t.Errorf("addpeeraddress %v = %s, want %s", c.params, got, c.want)
		}
	}
	for _, c := range []struct {
		params any
		code   int
		msg    string
	}{
		{[]any{"example.org", 8333}, CodeClientInvalidIPOrSubnet, "Invalid IP address"},
		{[]any{"1.2.3.4", 65536}, CodeInvalidParameter, "port out of range"},
		{[]any{"1.2.3.4", -1}, CodeInvalidParameter, "port out of range"},
		{[]any{"1.2.3.4"}, CodeMisc, "addpeeraddress \"address\" port ( tried )\n..."},
	} {
		_, err := ts.call(t, "addpeeraddress", c.params)
		msgOK := err != nil && err.Message == c.msg
		if prefix, ok := strings.CutSuffix(c.msg, "..."); ok && err != nil {
			msgOK = strings.HasPrefix(err.Message, prefix)
		}
		if err == nil || err.Code != c.code || !msgOK {
			t.Errorf("addpeeraddress %v: %v, want %d %q", c.params, err, c.code, c.msg)
		}
	}
	var list, one string
	json.Unmarshal(ts.mustCall(t, "help", nil), &list)
	json.Unmarshal(ts.mustCall(t, "help", []any{"addpeeraddress"}), &one)
	if strings.Contains(list, "addpeeraddress") || !strings.HasPrefix(one, "addpeeraddress \"address\" port ( tried )") {
		t.Errorf("help lists addpeeraddress, or does not explain it:\n%s\n%s", list, one)
	}

	ts.backend.mu.Lock()
	ts.backend.mainnet = true
	ts.backend.mu.Unlock()
	if _, err := ts.call(t, "addpeeraddress", []any{"1.2.3.4", 8333}); err == nil || err.Code != CodeMethodNotFound || err.Message != "Method not found" {
		t.Errorf("addpeeraddress on mainnet: %v, want -32601 Method not found", err)
	}
	json.Unmarshal(ts.mustCall(t, "help", []any{"addpeeraddress"}), &one)
	if one != "help: unknown command: addpeeraddress" {
		t.Errorf("help addpeeraddress on mainnet: %q", one)
	}
}

// TestMethodErrors checks each error path of the methods: Core's codes and
// messages.
func TestMethodErrors(t *testing.T) {
	ts := startServer(t, Config{})
	txHex, _ := testTx(t, 1, 0)
	absent := strings.Repeat("ab", 32)
	type tc struct {
		method string
		params any
		code   int
		msg    string // the message, or its start when it ends in "..."
	}
	typeErr := func(pos int, name, got, want string) string {
		return fmt.Sprintf("Wrong type passed:\n{\n    \"Position %d (%s)\": \"JSON value of type %s is not of expected type %s\"\n}", pos, name, got, want)
	}
	cases := []tc{
		{"nosuchmethod", nil, CodeMethodNotFound, "Method not found"},
		{"GetConnectionCount", nil, CodeMethodNotFound, "Method not found"}, // names are case-sensitive

		// Wrong counts: Core's -1 with the help as message.
		{"getconnectioncount", []any{1}, CodeMisc, "getconnectioncount\n\nReturns the number of connections to other nodes...."},
		{"sendrawtransaction", []any{}, CodeMisc, "sendrawtransaction \"hexstring\" ( maxfeerate maxburnamount )\n..."},
		{"sendrawtransaction", map[string]any{}, CodeMisc, "sendrawtransaction \"hexstring\"..."},
		{"sendrawtransaction", []any{txHex, 0.1, 0, 1}, CodeMisc, "sendrawtransaction \"hexstring\"..."},
		{"addnode", []any{"1.2.3.4:8333"}, CodeMisc, "addnode \"node\" \"command\" ( v2transport )..."},
		{"addnode", []any{"1.2.3.4:8333", "bogus"}, CodeMisc, "addnode \"node\" \"command\" ( v2transport )..."},
		{"disconnectnode", []any{"a", 1, 2}, CodeMisc, "disconnectnode ( \"address\" nodeid )..."},
		{"getnodeaddresses", []any{1, "ipv4", 3}, CodeMisc, "getnodeaddresses ( count \"network\" )..."},
		{"getaddrmaninfo", []any{1}, CodeMisc, "getaddrmaninfo\n..."},

		// getnodeaddresses' own checks, as Core's.
		{"getnodeaddresses", []any{-1}, CodeInvalidParameter, "Address count out of range"},
		{"getnodeaddresses", []any{1, "tor"}, CodeInvalidParameter, "Network not recognized: tor"},
		{"getnodeaddresses", []any{"1"}, CodeType, typeErr(1, "count", "string", "number")},

		// Wrong types: -3.
		{"sendrawtransaction", []any{12}, CodeType, typeErr(1, "hexstring", "number", "string")},
		{"sendrawtransaction", map[string]any{"maxfeerate": 0.1}, CodeType, typeErr(1, "hexstring", "null", "string")},
		{"getrawmempool", []any{"yes"}, CodeType, typeErr(1, "verbose", "string", "bool")},
		{"getrawmempool", []any{1}, CodeType, typeErr(1, "verbose", "number", "bool")},
		{"getmempoolentry", []any{[]any{}}, CodeType, typeErr(1, "txid", "array", "string")},
		{"disconnectnode", []any{"", "7"}, CodeType, typeErr(2, "nodeid", "string", "number")},
		{"addnode", []any{1, 2}, CodeType, "Wrong type passed:\n{\n    \"Position 1 (node)\": \"JSON value of type number is not of expected type string\",\n    \"Position 2 (command)\": \"JSON value of type number is not of expected type string\"\n}"},
		{"help", []any{true}, CodeType, typeErr(1, "command", "bool", "string")},
		{"sendrawtransaction", []any{txHex, []any{}}, CodeType, "Amount is not a number or string"},
		{"sendrawtransaction", []any{txHex, 0, true}, CodeType, "Amount is not a number or string"},
		{"sendrawtransaction", []any{txHex, -1}, CodeType, "Amount out of range"},
		{"sendrawtransaction", []any{txHex, "lots"}, CodeType, "Invalid amount"},

		// Named parameters: -8.
		{"sendrawtransaction", map[string]any{"hexstring": txHex, "bogus": 1}, CodeInvalidParameter, "Unknown named parameter bogus"},
		{"getconnectioncount", map[string]any{"x": 1}, CodeInvalidParameter, "Unknown named parameter x"},
		{"sendrawtransaction", map[string]any{"args": []any{txHex}, "hexstring": txHex}, CodeInvalidParameter,
			"Parameter hexstring specified twice both as positional and named argument"},
		{"sendrawtransaction", map[string]any{"args": txHex}, CodeInvalidParameter, "Parameter args must be an array of positional parameters"},

		// Method-specific.
		{"sendrawtransaction", []any{"zz"}, CodeDeserialization, "TX decode failed. Make sure the tx has at least one input."},
		{"sendrawtransaction", []any{"abc"}, CodeDeserialization, "TX decode failed. Make sure the tx has at least one input."},
		{"sendrawtransaction", []any{""}, CodeDeserialization, "TX decode failed. Make sure the tx has at least one input."},
		{"sendrawtransaction", []any{"0001"}, CodeDeserialization, "TX decode failed. Make sure the tx has at least one input."}, // the backend's
		{"getmempoolentry", []any{absent}, CodeInvalidAddressOrKey, "Transaction not in mempool"},
		{"getmempoolentry", map[string]any{"txid": absent}, CodeInvalidAddressOrKey, "Transaction not in mempool"},
		{"getmempoolentry", []any{"abcd"}, CodeInvalidParameter, "txid must be of length 64 (not 4, for 'abcd')"},
		{"getmempoolentry", []any{strings.Repeat("z", 64)}, CodeInvalidParameter, "txid must be hexadecimal string (not '" + strings.Repeat("z", 64) + "')"},
		{"getrawmempool", []any{true, true}, CodeInvalidParameter, "Verbose results cannot contain mempool sequence values."},
		{"getrawmempool", []any{false, true}, CodeInvalidParameter, "mempool_sequence is not supported..."},
		{"addnode", []any{"10.0.0.1:8333", "add"}, CodeClientNodeAlreadyAdded, "Error: Node already added"},
		{"addnode", map[string]any{"node": "9.9.9.9:8333", "command": "remove"}, CodeClientNodeNotAdded, "Error: Node could not be removed. It has not been added previously."},
		{"addnode", []any{"fail", "onetry"}, CodeMisc, "plain failure"}, // a backend error without a code
		{"addnode", []any{"1.2.3.4:8333", "add", true}, CodeInvalidParameter, "Error: v2transport requested but not enabled..."},
		{"disconnectnode", nil, CodeInvalidParams, "Only one of address and nodeid should be provided."},
		{"disconnectnode", []any{}, CodeInvalidParams, "Only one of address and nodeid should be provided."},
		{"disconnectnode", []any{nil, nil}, CodeInvalidParams, "Only one of address and nodeid should be provided."},
		{"disconnectnode", []any{"127.0.0.1:18444", 7}, CodeInvalidParams, "Only one of address and nodeid should be provided."},
		{"disconnectnode", map[string]any{"address": "127.0.0.1:18444", "nodeid": 7}, CodeInvalidParams, "Only one of address and nodeid should be provided."},
		{"disconnectnode", []any{"1.1.1.1:1"}, CodeClientNodeNotConnected, "Node not found in connected nodes"},
		{"disconnectnode", []any{""}, CodeClientNodeNotConnected, "Node not found in connected nodes"},
		{"disconnectnode", map[string]any{"nodeid": 99}, CodeClientNodeNotConnected, "Node not found in connected nodes"},
		{"disconnectnode", []any{"", 1.5}, CodeMisc, "JSON integer out of range"},
		{"disconnectnode", []any{"", 1e30}, CodeMisc, "JSON integer out of range"},
	}
	for _, c := range cases {
		res, rerr := ts.call(t, c.method, c.params)
		if rerr == nil {
			t.Errorf("%s %v = %s, want error %d", c.method, c.params, res, c.code)
			continue
		}
		msgOK := rerr.Message == c.msg
		if prefix, ok := strings.CutSuffix(c.msg, "..."); ok {
			msgOK = strings.HasPrefix(rerr.Message, prefix)
		}
		if rerr.Code != c.code || !msgOK {
			t.Errorf("%s %v: error %d %q, want %d %q", c.method, c.params, rerr.Code, rerr.Message, c.code, c.msg)
		}
	}
}

// TestRepeatedNamedParameter sends a params object with a name twice,
// which JSON allows and Core refuses.
func TestRepeatedNamedParameter(t *testing.T) {
	ts := startServer(t, Config{})
	r := ts.post(t, `{"jsonrpc":"2.0","id":1,"method":"help","params":{"command":"stop","command":"ping"}}`)
	want := `{"jsonrpc":"2.0","error":{"code":-8,"message":"Parameter command specified multiple times"},"id":1}` + "\n"
	if r.status != 200 || r.body != want {
		t.Errorf("got %d %s, want 200 %s", r.status, r.body, want)
	}
}

// TestPanicIsInternalError makes a backend method panic: its call is
// -32603, and the server goes on serving.
func TestPanicIsInternalError(t *testing.T) {
	ts := startServer(t, Config{})
	ts.backend.setPanic("Peers")
	_, rerr := ts.call(t, "getpeerinfo", nil)
	if rerr == nil || rerr.Code != CodeInternal || rerr.Message != "Internal error while running getpeerinfo (see peerd's log)" {
		t.Fatalf("getpeerinfo with a panicking backend: %+v", rerr)
	}
	// JSON-RPC 1.0: HTTP 500, as any error but -32600/-32601.
	r := ts.post(t, `{"method":"getpeerinfo","id":2}`)
	if want := `{"result":null,"error":{"code":-32603,"message":"Internal error while running getpeerinfo (see peerd's log)"},"id":2}` + "\n"; r.status != 500 || r.body != want {
		t.Errorf("1.0: got %d %s, want 500 %s", r.status, r.body, want)
	}
	// In a batch, the other members are answered.
	r = ts.post(t, `[{"method":"getpeerinfo","id":1},{"method":"getconnectioncount","id":2}]`)
	if !strings.Contains(r.body, `{"result":1,"error":null,"id":2}`) {
		t.Errorf("batch after a panic: %d %s", r.status, r.body)
	}
	ts.backend.setPanic("")
	if got := ts.mustCall(t, "getconnectioncount", nil); string(got) != "1" {
		t.Errorf("after the panic: getconnectioncount = %s", got)
	}
	if got := ts.mustCall(t, "getpeerinfo", nil); !strings.HasPrefix(string(got), `[{"id":7`) {
		t.Errorf("after the panic: getpeerinfo = %s", got)
	}
}

// TestNilResultsAreEmpty checks that a backend's nil slices and maps are
// Core's [] and {}, never null.
func TestNilResultsAreEmpty(t *testing.T) {
	ts := startServer(t, Config{})
	ts.backend.mu.Lock()
	ts.backend.peers = nil
	ts.backend.mu.Unlock()
	for _, c := range []struct {
		method string
		params any
		want   string
	}{
		{"getpeerinfo", nil, "[]"},
		{"getrawmempool", nil, "[]"},
		{"getrawmempool", []any{true}, "{}"},
		{"getconnectioncount", nil, "0"},
	} {
		if got := ts.mustCall(t, c.method, c.params); string(got) != c.want {
			t.Errorf("%s %v = %s, want %s", c.method, c.params, got, c.want)
		}
	}
}
