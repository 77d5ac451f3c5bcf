package rpcserver

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestBanMethods checks setban, listbanned and clearbanned: Core's
// parameters, positional and named, what reaches the node, and results.
func TestBanMethods(t *testing.T) {
	ts := startServer(t, Config{})

	// An empty list is [], never null.
	if got := ts.mustCall(t, "listbanned", nil); string(got) != "[]" {
		t.Errorf("listbanned with no bans = %s, want []", got)
	}
	for _, params := range []any{
		[]any{"192.0.2.1", "add"},
		[]any{"10.0.0.0/8", "add", 3600},
		[]any{"2001:db8::/32", "add", 1800000000, true},
		[]any{"198.51.100.7", "add", nil, nil},
		map[string]any{"subnet": "203.0.113.0/24", "command": "add", "bantime": 60},
		map[string]any{"command": "add", "subnet": "192.0.2.200", "absolute": false},
		map[string]any{"args": []any{"192.0.2.201"}, "command": "add", "bantime": 0, "absolute": false},
	} {
		if got := ts.mustCall(t, "setban", params); string(got) != "null" {
			t.Errorf("setban %v = %s, want null", params, got)
		}
	}
	ts.backend.mu.Lock()
	calls := ts.backend.banCalls
	ts.backend.mu.Unlock()
	wantCalls := []string{
		"192.0.2.1 add 0 false",
		"10.0.0.0/8 add 3600 false",
		"2001:db8::/32 add 1800000000 true",
		"198.51.100.7 add 0 false",
		"203.0.113.0/24 add 60 false",
		"192.0.2.200 add 0 false",
		"192.0.2.201 add 0 false",
	}
	if !reflect.DeepEqual(calls, wantCalls) {
		t.Errorf("SetBan calls:\n%q\nwant\n%q", calls, wantCalls)
	}

	got := ts.mustCall(t, "listbanned", []any{})
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(got, &list); err != nil || len(list) != 7 {
		t.Fatalf("listbanned = %s (%v), want 7 entries", got, err)
	}
	for _, e := range list {
		if len(e) != 5 {
			t.Errorf("listbanned entry %v: want Core's 5 members", e)
		}
	}
	contains(t, "listbanned", got,
		`{"address":"192.0.2.1/32","ban_created":1700000000,"banned_until":1700086400,"ban_duration":86400,"time_remaining":86400}`,
		`{"address":"10.0.0.0/8","ban_created":1700000000,"banned_until":1700003600,"ban_duration":3600,"time_remaining":3600}`,
		`"address":"2001:db8::/32","ban_created":1700000000,"banned_until":1800000000,`)

	// remove: bantime and absolute are not the node's business, as in
	// Core (which reads them only for add), whatever they are.
	for _, params := range []any{
		[]any{"192.0.2.1", "remove"},
		[]any{"10.0.0.0/8", "remove", 1.5, true},
		map[string]any{"subnet": "2001:db8::/32", "command": "remove"},
	} {
		if got := ts.mustCall(t, "setban", params); string(got) != "null" {
			t.Errorf("setban %v = %s, want null", params, got)
		}
	}
	ts.backend.mu.Lock()
	calls = ts.backend.banCalls[len(wantCalls):]
	ts.backend.mu.Unlock()
	if want := []string{"192.0.2.1 remove 0 false", "10.0.0.0/8 remove 0 false", "2001:db8::/32 remove 0 false"}; !reflect.DeepEqual(calls, want) {
		t.Errorf("SetBan remove calls %q, want %q", calls, want)
	}
	if got := ts.mustCall(t, "listbanned", nil); strings.Count(string(got), `"address"`) != 4 {
		t.Errorf("listbanned after 3 removes = %s", got)
	}

	// clearbanned: null, and the list is empty again.
	for _, params := range []any{nil, []any{}, map[string]any{}} {
		if got := ts.mustCall(t, "clearbanned", params); string(got) != "null" {
			t.Errorf("clearbanned %v = %s, want null", params, got)
		}
	}
	if got := ts.mustCall(t, "listbanned", map[string]any{}); string(got) != "[]" {
		t.Errorf("listbanned after clearbanned = %s, want []", got)
	}

	// JSON-RPC 1.0 and a batch, as a script would send them.
	r := ts.post(t, `[{"method":"setban","params":["192.0.2.9","add"],"id":1},{"method":"listbanned","id":2},{"method":"clearbanned","id":3}]`)
	want := `[{"result":null,"error":null,"id":1},` +
		`{"result":[{"address":"192.0.2.9/32","ban_created":1700000000,"banned_until":1700086400,"ban_duration":86400,"time_remaining":86400}],"error":null,"id":2},` +
		`{"result":null,"error":null,"id":3}]` + "\n"
	if r.status != 200 || r.body != want {
		t.Errorf("batch: got %d %s\nwant %s", r.status, r.body, want)
	}

	// help
	var text string
	if err := json.Unmarshal(ts.mustCall(t, "help", []any{"setban"}), &text); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"setban \"subnet\" \"command\" ( bantime absolute )\n\nAttempts to add or remove an IP/Subnet from the banned list.",
		"\n1. subnet      (string, required) ",
		"\n2. command     (string, required) 'add' to add an IP/Subnet to the list, 'remove' to remove an IP/Subnet from the list",
		"\n3. bantime     (numeric, optional, default=0) ",
		"\n4. absolute    (boolean, optional, default=false) ",
		"> peerctl setban \"192.168.0.6\" \"add\" 86400\n",
		`"method": "setban", "params": ["192.168.0.0/24", "add"]}`,
	} {
		if !strings.Contains(text, w) {
			t.Errorf("help setban lacks %q:\n%s", w, text)
		}
	}
	for _, m := range []string{"listbanned", "clearbanned"} {
		if err := json.Unmarshal(ts.mustCall(t, "help", []any{m}), &text); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(text, m+"\n\n") || !strings.Contains(text, "\nResult:\n") {
			t.Errorf("help %s:\n%s", m, text)
		}
	}
}

// TestBanMethodErrors checks setban's errors: the server's (count, types,
// command, bantime) and the node's, passed through with their codes.
func TestBanMethodErrors(t *testing.T) {
	ts := startServer(t, Config{})
	ts.mustCall(t, "setban", []any{"192.0.2.1", "add"})
	typeErr := func(pos int, name, got, want string) string {
		return fmt.Sprintf("Wrong type passed:\n{\n    \"Position %d (%s)\": \"JSON value of type %s is not of expected type %s\"\n}", pos, name, got, want)
	}
	const helpStart = "setban \"subnet\" \"command\" ( bantime absolute )\n\nAttempts to add or remove..."
	for _, c := range []struct {
		params any
		code   int
		msg    string // the message, or its start when it ends in "..."
	}{
		// Counts and the command: Core's -1 with the help.
		{nil, CodeMisc, helpStart},
		{[]any{"192.0.2.2"}, CodeMisc, helpStart},
		{[]any{"192.0.2.2", "add", 1, false, 5}, CodeMisc, helpStart},
		{[]any{"192.0.2.2", "ban"}, CodeMisc, helpStart},
		{[]any{"192.0.2.2", "ADD"}, CodeMisc, helpStart},
		{[]any{"192.0.2.2", ""}, CodeMisc, helpStart},
		{[]any{"bogus", "onetry"}, CodeMisc, helpStart}, // the command is checked first, as Core

		// Types: -3.
		{[]any{1, "add"}, CodeType, typeErr(1, "subnet", "number", "string")},
		{[]any{"192.0.2.2", true}, CodeType, typeErr(2, "command", "bool", "string")},
		{[]any{"192.0.2.2", "add", "86400"}, CodeType, typeErr(3, "bantime", "string", "number")},
		{[]any{"192.0.2.2", "add", 1, "true"}, CodeType, typeErr(4, "absolute", "string", "bool")},
		{map[string]any{"subnet": "192.0.2.2", "command": "add", "absolute": 1}, CodeType, typeErr(4, "absolute", "number", "bool")},

		// bantime must be an integer: Core's UniValue::getInt error.
		{[]any{"192.0.2.2", "add", 1.5}, CodeMisc, "JSON integer out of range"},
		{[]any{"192.0.2.2", "add", 1e30}, CodeMisc, "JSON integer out of range"},

		// Named parameters: -8.
		{map[string]any{"subnet": "192.0.2.2", "command": "add", "until": 5}, CodeInvalidParameter, "Unknown named parameter until"},
		{map[string]any{"args": []any{"192.0.2.2"}, "subnet": "192.0.2.3", "command": "add"}, CodeInvalidParameter,
			"Parameter subnet specified twice both as positional and named argument"},

		// The node's errors.
		{[]any{"not an address", "add"}, CodeClientInvalidIPOrSubnet, "Error: Invalid IP/Subnet"},
		{[]any{"10.0.0.0/33", "add"}, CodeClientInvalidIPOrSubnet, "Error: Invalid IP/Subnet"},
		{[]any{"", "remove"}, CodeClientInvalidIPOrSubnet, "Error: Invalid IP/Subnet"},
		{[]any{"192.0.2.1", "add"}, CodeClientNodeAlreadyAdded, "Error: IP/Subnet already banned"},
		{[]any{"192.0.2.99", "remove"}, CodeClientInvalidIPOrSubnet, "Error: Unban failed. Requested address/subnet was not previously manually banned."},
		{[]any{"192.0.2.2", "add", 1000, true}, CodeInvalidParameter, "Error: Absolute timestamp is in the past"},
	} {
		res, rerr := ts.call(t, "setban", c.params)
		if rerr == nil {
			t.Errorf("setban %v = %s, want error %d", c.params, res, c.code)
			continue
		}
		msgOK := rerr.Message == c.msg
		if prefix, ok := strings.CutSuffix(c.msg, "..."); ok {
			msgOK = strings.HasPrefix(rerr.Message, prefix)
		}
		if rerr.Code != c.code || !msgOK {
			t.Errorf("setban %v: error %d %q, want %d %q", c.params, rerr.Code, rerr.Message, c.code, c.msg)
		}
	}
	// Parameters on methods that take none.
	for _, m := range []string{"listbanned", "clearbanned"} {
		if _, rerr := ts.call(t, m, []any{1}); rerr == nil || rerr.Code != CodeMisc || !strings.HasPrefix(rerr.Message, m+"\n\n") {
			t.Errorf("%s [1]: %+v, want -1 with the help", m, rerr)
		}
		if _, rerr := ts.call(t, m, map[string]any{"x": 1}); rerr == nil || rerr.Code != CodeInvalidParameter {
			t.Errorf("%s {x:1}: %+v, want -8", m, rerr)
		}
	}
	// Only the valid setban reached the ban list.
	if got := ts.mustCall(t, "listbanned", nil); strings.Count(string(got), `"address"`) != 1 {
		t.Errorf("listbanned = %s, want the one ban", got)
	}
}
