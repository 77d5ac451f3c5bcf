package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"

	"github.com/peerd/peerd/internal/rpcserver"
	"github.com/peerd/peerd/mempool"
	"github.com/peerd/peerd/node"
)

// fakeNode is an rpcserver.Backend that records what it is asked.
type fakeNode struct {
	mu        sync.Mutex
	calls     []string
	prop      mempool.Propagation       // the propagation of the mempool's one transaction
	privateOn bool                      // the node runs with --privatebroadcast
	private   []node.PrivateBroadcastTx // getprivatebroadcastinfo's transactions
	peers     []node.PeerInfo           // getpeerinfo's peers
	netInfo   *node.NetworkInfo         // getnetworkinfo's; nil: a user agent only
}

func (f *fakeNode) record(format string, args ...any) {
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func (f *fakeNode) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}

const txid = "5a4ebf66822b0b2d56bd9dc64ece0bc38ee7844a23ff1d7320a88c5fdb2ad3e2"

func txHash() chainhash.Hash {
	h, err := chainhash.NewHashFromStr(txid)
	if err != nil {
		panic(err)
	}
	return *h
}

func (f *fakeNode) SendRawTransaction(raw []byte) (chainhash.Hash, error) {
	f.record("send %d", 2*len(raw)) // hex digits
	return txHash(), nil
}
func (f *fakeNode) MempoolTxIDs() []chainhash.Hash { return []chainhash.Hash{txHash()} }
func (f *fakeNode) MempoolEntry(id chainhash.Hash) (node.MempoolEntry, error) {
	f.record("entry %s", id)
	if id != txHash() {
		return node.MempoolEntry{}, &node.Error{Kind: node.ErrKindNotFound, Err: errors.New("not in the fake mempool")}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return node.MempoolEntry{TxID: id, WTxID: id, VSize: 110, Weight: 440, Added: time.Unix(1700000000, 0), Propagation: f.prop}, nil
}
func (f *fakeNode) MempoolEntries() []node.MempoolEntry {
	e, _ := f.MempoolEntry(txHash())
	return []node.MempoolEntry{e}
}
func (f *fakeNode) MempoolInfo() node.MempoolInfo {
	return node.MempoolInfo{Loaded: true, Count: 1}
}
func (f *fakeNode) Peers() []node.PeerInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.peers
}
func (f *fakeNode) ConnectionCount() int { return 2 }
func (f *fakeNode) NetTotals() node.NetTotals {
	return node.NetTotals{BytesRecv: 10, BytesSent: 20, At: time.UnixMilli(1700000000000)}
}
func (f *fakeNode) NetworkInfo() node.NetworkInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.netInfo != nil {
		return *f.netInfo
	}
	return node.NetworkInfo{UserAgent: "/peerd:0.1.0/"}
}
func (f *fakeNode) AddNode(addr, command string, tr node.Transport) error {
	f.record("addnode %s %s %s", addr, command, tr)
	return nil
}
func (f *fakeNode) DisconnectNode(addr string, id int64, byID bool) error {
	f.record("disconnect %q %d %v", addr, id, byID)
	return &node.Error{Kind: node.ErrKindNotFound, Err: errors.New("no such fake peer")}
}
func (f *fakeNode) Ping()                                    { f.record("ping") }
func (f *fakeNode) DisconnectAll() int                       { return 4 }
func (f *fakeNode) Uptime() time.Duration                    { return time.Hour }
func (f *fakeNode) Stop()                                    { f.record("stop") }
func (f *fakeNode) SetBan(string, string, int64, bool) error { f.record("setban"); return nil }
func (f *fakeNode) ListBanned() []node.Ban                   { f.record("listbanned"); return nil }
func (f *fakeNode) ClearBanned()                             { f.record("clearbanned") }
func (f *fakeNode) NodeAddresses(count int, network string) []node.NodeAddress {
	f.record("getnodeaddresses %d %q", count, network)
	return nil
}
func (f *fakeNode) AddrManInfo() []node.AddrBookCount { return nil }
func (f *fakeNode) TestNetwork() bool                 { return true }
func (f *fakeNode) AddPeerAddress(string, uint16, bool) (node.PeerAddressResult, error) {
	return node.PeerAddressAdded, nil
}
func (f *fakeNode) PrivateBroadcastInfo() ([]node.PrivateBroadcastTx, error) {
	f.record("getprivatebroadcastinfo")
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.privateOn {
		return nil, &node.Error{Kind: node.ErrKindNotEnabled, Err: node.ErrPrivateNotEnabled}
	}
	return f.private, nil
}
func (f *fakeNode) AbortPrivateBroadcast(chainhash.Hash) (node.PrivateBroadcastTx, error) {
	return node.PrivateBroadcastTx{}, &node.Error{Kind: node.ErrKindNotEnabled, Err: node.ErrPrivateNotEnabled}
}

// startNode runs an RPC server with cfg (on 127.0.0.1) until the test ends.
func startNode(t *testing.T, cfg rpcserver.Config) (*rpcserver.Server, *fakeNode) {
	t.Helper()
	if cfg.Listen == nil {
		cfg.Listen = []string{"127.0.0.1:0"}
	}
	cfg.AuthFailureDelay = -1
	node := &fakeNode{}
	s, err := rpcserver.New(cfg, node)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, node
}

// peerctl runs peerctl with args (and stdin) in a test application
// directory, and returns its exit code, stdout and stderr.
func peerctl(t *testing.T, appDir, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := cli{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, appDir: appDir}
	code := c.run(args)
	return code, stdout.String(), stderr.String()
}

// userPass starts a node with a user and password and returns the flags
// that reach it.
func userPass(t *testing.T) ([]string, *fakeNode) {
	s, node := startNode(t, rpcserver.Config{User: "op", Pass: "secret"})
	return []string{"--rpcserver=" + s.Addrs()[0].String(), "--rpcuser=op", "--rpcpass=secret"}, node
}

func TestPositionalParams(t *testing.T) {
	flags, node := userPass(t)
	app := t.TempDir()
	for _, c := range []struct {
		args     []string
		stdout   string
		lastCall string
	}{
		{[]string{"getconnectioncount"}, "2\n", ""},
		{[]string{"uptime"}, "3600\n", ""},
		{[]string{"ping"}, "", "ping"},                 // null prints nothing
		{[]string{"stop"}, "peerd stopping\n", "stop"}, // a string prints raw
		{[]string{"getrawmempool"}, "[\n  \"" + txid + "\"\n]\n", ""},
		{[]string{"getrawmempool", "false"}, "[\n  \"" + txid + "\"\n]\n", ""},
		{[]string{"getmempoolinfo"}, "{\n  \"loaded\": true,\n  \"size\": 1,\n  \"bytes\": 0,\n  \"usage\": 0,\n  \"total_fee\": 0.00000000,\n  \"maxmempool\": 0,\n" +
			"  \"mempoolminfee\": 0.00000000,\n  \"minrelaytxfee\": 0.00000000,\n  \"incrementalrelayfee\": 0.00000000,\n  \"unbroadcastcount\": 0,\n  \"fullrbf\": false\n}\n", ""},
		{[]string{"addnode", "1.2.3.4:8333", "onetry"}, "", "addnode 1.2.3.4:8333 onetry auto"},
		{[]string{"addnode", "1234", "add"}, "", "addnode 1234 add auto"}, // a string parameter stays a string
		{[]string{"addnode", "1.2.3.4:8333", "add", "false"}, "", "addnode 1.2.3.4:8333 add v1"},
		{[]string{"addnode", "1.2.3.4:8333", "onetry", "true"}, "", "addnode 1.2.3.4:8333 onetry v2"},
		{[]string{"sendrawtransaction", "0200000001"}, txid + "\n", "send 10"},
		{[]string{"sendrawtransaction", "0200000001", "0.1"}, txid + "\n", "send 10"},
	} {
		code, stdout, stderr := peerctl(t, app, "", append(flags, c.args...)...)
		if code != 0 || stdout != c.stdout || stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0, %q", c.args, code, stdout, stderr, c.stdout)
		}
		if c.lastCall != "" && node.last() != c.lastCall {
			t.Errorf("%v: the node got %q, want %q", c.args, node.last(), c.lastCall)
		}
	}
	// A verbose mempool: JSON parameters are parsed.
	code, stdout, _ := peerctl(t, app, "", append(flags, "getrawmempool", "true")...)
	if code != 0 || !strings.HasPrefix(stdout, "{\n  \""+txid+"\": {\n    \"vsize\": 110,") {
		t.Errorf("getrawmempool true: %d %q", code, stdout)
	}
	// A txid of digits is still a string.
	digits := strings.Repeat("1", 64)
	code, _, stderr := peerctl(t, app, "", append(flags, "getmempoolentry", digits)...)
	if code != 1 || node.last() != "entry "+digits || !strings.Contains(stderr, "error code: -5") {
		t.Errorf("getmempoolentry of digits: %d %q, node %q", code, stderr, node.last())
	}
	// A negative number after the method is a parameter, not an option.
	code, _, stderr = peerctl(t, app, "", append(flags, "disconnectnode", "", "-1")...)
	if code != 1 || node.last() != `disconnect "" -1 true` || stderr != "error code: -29\nerror message:\nNode not found in connected nodes\n" {
		t.Errorf("disconnectnode \"\" -1: %d %q, node %q", code, stderr, node.last())
	}
	// help's text is printed as it is.
	code, stdout, _ = peerctl(t, app, "", append(flags, "help", "getrawmempool")...)
	if code != 0 || !strings.HasPrefix(stdout, "getrawmempool ( verbose mempool_sequence )\n\nReturns") {
		t.Errorf("help getrawmempool: %d %q", code, stdout)
	}
}

// TestHelpWithoutNode: help answers from peerctl's own copy of the method
// list, with no peerd running and no cookie file.
func TestHelpWithoutNode(t *testing.T) {
	app := t.TempDir()
	code, stdout, stderr := peerctl(t, app, "", "--regtest", "--rpcserver=127.0.0.1:1", "help")
	if code != 0 || stderr != "" || !strings.Contains(stdout, "sendrawtransaction \"hexstring\"") || !strings.Contains(stdout, "== Network ==") {
		t.Errorf("help: %d %q %q", code, stdout, stderr)
	}
	code, stdout, stderr = peerctl(t, app, "", "--regtest", "--named", "help", "command=getpeerinfo")
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "getpeerinfo\n") || !strings.Contains(stdout, "http://127.0.0.1:18443/") {
		t.Errorf("help getpeerinfo: %d %q %q", code, stdout, stderr)
	}
	code, stdout, _ = peerctl(t, app, "", "help", "nosuchmethod")
	if code != 0 || stdout != "help: unknown command: nosuchmethod\n" {
		t.Errorf("help nosuchmethod: %d %q", code, stdout)
	}
}

func TestNamedParams(t *testing.T) {
	flags, node := userPass(t)
	app := t.TempDir()
	flags = append(flags, "--named")
	for _, c := range []struct {
		args     []string
		stdout   string
		lastCall string
	}{
		{[]string{"addnode", "node=1.2.3.4:8333", "command=add"}, "", "addnode 1.2.3.4:8333 add auto"},
		{[]string{"addnode", "command=remove", "node=5.6.7.8:8333", "v2transport=false"}, "", "addnode 5.6.7.8:8333 remove v1"},
		{[]string{"addnode", "node=5.6.7.8:8333", "command=onetry", "v2transport=true"}, "", "addnode 5.6.7.8:8333 onetry v2"},
		{[]string{"getrawmempool", "verbose=false"}, "[\n  \"" + txid + "\"\n]\n", ""},
		{[]string{"sendrawtransaction", "hexstring=0200000001", "maxfeerate=0.1"}, txid + "\n", "send 10"},
		{[]string{"sendrawtransaction", "0200000001", "maxburnamount=0"}, txid + "\n", "send 10"}, // positional, as "args"
		{[]string{"getmempoolentry", "txid=" + txid}, "", "entry " + txid},
		{[]string{"help", "command=stop"}, "", ""},
	} {
		code, stdout, stderr := peerctl(t, app, "", append(flags, c.args...)...)
		if code != 0 || stderr != "" || (c.stdout != "" && stdout != c.stdout) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0, %q", c.args, code, stdout, stderr, c.stdout)
		}
		if c.lastCall != "" && node.last() != c.lastCall {
			t.Errorf("%v: the node got %q, want %q", c.args, node.last(), c.lastCall)
		}
	}
	code, _, stderr := peerctl(t, app, "", append(flags, "disconnectnode", "nodeid=12")...)
	if code != 1 || node.last() != `disconnect "" 12 true` || !strings.Contains(stderr, "error code: -29") {
		t.Errorf("disconnectnode nodeid=12: %d %q, node %q", code, stderr, node.last())
	}
	code, _, stderr = peerctl(t, app, "", append(flags, "disconnectnode", "address=1.1.1.1:1", "nodeid=3")...)
	if code != 1 || stderr != "error code: -32602\nerror message:\nOnly one of address and nodeid should be provided.\n" {
		t.Errorf("disconnectnode with both: %d %q", code, stderr)
	}
	code, _, stderr = peerctl(t, app, "", append(flags, "getconnectioncount", "bogus=1")...)
	if code != 1 || stderr != "error code: -8\nerror message:\nUnknown named parameter bogus\n" {
		t.Errorf("unknown named parameter: %d %q", code, stderr)
	}
}

func TestStdinParams(t *testing.T) {
	flags, node := userPass(t)
	hexTx := strings.Repeat("ab", 200_000) // longer than a command-line argument may be
	code, stdout, stderr := peerctl(t, t.TempDir(), hexTx+"\n", append(flags, "--stdin", "sendrawtransaction")...)
	if code != 0 || stdout != txid+"\n" || stderr != "" || node.last() != "send 400000" {
		t.Errorf("--stdin: %d %q %q, node %q", code, stdout, stderr, node.last())
	}
}

// TestCookieAuth reads the cookie that the server writes, by --datadir and
// from the default data directory.
func TestCookieAuth(t *testing.T) {
	app := t.TempDir()
	netDir := filepath.Join(app, "data", "regtest")
	s, _ := startNode(t, rpcserver.Config{CookieDir: netDir})
	server := "--rpcserver=" + s.Addrs()[0].String()
	for _, args := range [][]string{
		{"--regtest", server, "--datadir=" + netDir, "getconnectioncount"},                     // DIR/.cookie
		{"--regtest", server, "--datadir=" + filepath.Join(app, "data"), "getconnectioncount"}, // DIR/regtest/.cookie
		{"--regtest", server, "getconnectioncount"},                                            // the default directory
	} {
		code, stdout, stderr := peerctl(t, app, "", args...)
		if code != 0 || stdout != "2\n" || stderr != "" {
			t.Errorf("%v: %d %q %q", args, code, stdout, stderr)
		}
	}
	// The cookie of another network's directory is not looked for.
	code, _, stderr := peerctl(t, app, "", server, "getconnectioncount")
	want := "peerctl: no cookie file at " + filepath.Join(app, "data", "testnet4", ".cookie") + ": is peerd running on testnet4"
	if code != 1 || !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("testnet4's cookie: %d %q, want %q...", code, stderr, want)
	}
	// A stale cookie.
	stale := t.TempDir()
	if err := os.WriteFile(filepath.Join(stale, ".cookie"), []byte("__cookie__:"+strings.Repeat("0", 64)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = peerctl(t, app, "", server, "--datadir="+stale, "getconnectioncount")
	if code != 1 || !strings.Contains(stderr, "refused the credentials (HTTP 401)") || !strings.Contains(stderr, filepath.Join(stale, ".cookie")) {
		t.Errorf("stale cookie: %d %q", code, stderr)
	}
}

func TestMissingCookie(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := peerctl(t, t.TempDir(), "", "--regtest", "--datadir="+dir, "getconnectioncount")
	want := fmt.Sprintf("peerctl: no cookie file at %s or %s: is peerd running on regtest with cookie authentication? "+
		"Pass --rpcuser and --rpcpass, or --datadir=DIR for another data directory\n",
		filepath.Join(dir, ".cookie"), filepath.Join(dir, "regtest", ".cookie"))
	if code != 1 || stdout != "" || stderr != want {
		t.Errorf("got %d %q %q, want 1 %q", code, stdout, stderr, want)
	}
}

func TestWrongPassword(t *testing.T) {
	s, _ := startNode(t, rpcserver.Config{User: "op", Pass: "secret"})
	code, _, stderr := peerctl(t, t.TempDir(), "", "--rpcserver="+s.Addrs()[0].String(), "--rpcuser=op", "--rpcpass=wrong", "uptime")
	if code != 1 || stderr != "peerctl: peerd at "+s.Addrs()[0].String()+" refused the credentials (HTTP 401): check --rpcuser and --rpcpass\n" {
		t.Errorf("got %d %q", code, stderr)
	}
}

// TestErrorOutput checks bitcoin-cli's error format and exit 1.
func TestErrorOutput(t *testing.T) {
	flags, _ := userPass(t)
	for _, c := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"getmempoolentry", strings.Repeat("0", 64)}, "error code: -5\nerror message:\nTransaction not in mempool\n"},
		{[]string{"nosuchmethod"}, "error code: -32601\nerror message:\nMethod not found\n"},
		{[]string{"sendrawtransaction", "xyz"}, "error code: -22\nerror message:\nTX decode failed. Make sure the tx has at least one input.\n"},
		{[]string{"getrawmempool", "maybe"}, "error code: -3\nerror message:\nWrong type passed:\n{\n    \"Position 1 (verbose)\": \"JSON value of type string is not of expected type bool\"\n}\n"},
	} {
		code, stdout, stderr := peerctl(t, t.TempDir(), "", append(flags, c.args...)...)
		if code != 1 || stdout != "" || stderr != c.stderr {
			t.Errorf("%v: %d %q %q, want 1 %q", c.args, code, stdout, stderr, c.stderr)
		}
	}
	// A wrong count: the method's help is the message.
	code, _, stderr := peerctl(t, t.TempDir(), "", append(flags, "getconnectioncount", "1")...)
	if code != 1 || !strings.HasPrefix(stderr, "error code: -1\nerror message:\ngetconnectioncount\n\nReturns the number of connections") {
		t.Errorf("wrong count: %d %q", code, stderr)
	}
}

func TestNodeNotRunning(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	code, stdout, stderr := peerctl(t, t.TempDir(), "", "--rpcserver="+addr, "--rpcuser=u", "--rpcpass=p", "getconnectioncount")
	want := "peerctl: cannot connect to peerd at " + addr + ": is peerd running? (dial tcp " + addr + ": connect: connection refused)\n"
	if code != 1 || stdout != "" || stderr != want {
		t.Errorf("got %d %q %q, want 1 %q", code, stdout, stderr, want)
	}
}

func TestVersionAndHelp(t *testing.T) {
	for _, args := range [][]string{{"-V"}, {"--version"}, {"--regtest", "-V", "getpeerinfo"}} {
		code, stdout, stderr := peerctl(t, t.TempDir(), "", args...)
		if code != 0 || stdout != "peerctl version "+version+"\n" || stderr != "" {
			t.Errorf("%v: %d %q %q", args, code, stdout, stderr)
		}
	}
	app := "/home/op/.peerd" // short enough to show unwrapped
	code, stdout, stderr := peerctl(t, app, "", "--help")
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "Usage:\n  peerctl [OPTIONS] METHOD [PARAMS...]") ||
		!strings.Contains(stdout, "--rpcserver=HOST[:PORT]") || !strings.Contains(stdout, filepath.Join(app, "data", "<network>")) ||
		!strings.Contains(stdout, "--regtest") || !strings.Contains(stdout, "peerctl help") {
		t.Errorf("--help: %d %q %q", code, stdout, stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "peerctl: no method given"},
		{[]string{"--regtest"}, "peerctl: no method given"},
		{[]string{"--bogus", "uptime"}, "peerctl: unknown flag `bogus'"},
		{[]string{"--regtest", "--mainnet", "uptime"}, "peerctl: choose one network, not --regtest and --mainnet"},
		{[]string{"--rpcuser=u", "uptime"}, "peerctl: --rpcuser and --rpcpass go together"},
		{[]string{"--rpcpass=p", "uptime"}, "peerctl: --rpcuser and --rpcpass go together"},
		{[]string{"--rpcserver=http://x/", "uptime"}, "peerctl: --rpcserver=http://x/: want HOST or HOST:PORT, not a URL"},
		{[]string{"--rpcserver=host:99999", "uptime"}, `peerctl: --rpcserver=host:99999: bad port "99999"`},
		{[]string{"--timeout=0s", "uptime"}, "peerctl: --timeout must be positive"},
		{[]string{"--named", "--rpcuser=u", "--rpcpass=p", "help", "=x"}, `peerctl: parameter "=x" has no name before =`},
	} {
		code, stdout, stderr := peerctl(t, t.TempDir(), "", c.args...)
		if code != exitUsage || stdout != "" || !strings.HasPrefix(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: %d %q %q, want 2 and %q", c.args, code, stdout, stderr, c.want)
		}
	}
}

func TestServerAddr(t *testing.T) {
	for _, c := range []struct {
		flag, name, port string
	}{
		{"", "testnet4", "48332"},
		{"--testnet4", "testnet4", "48332"},
		{"--testnet", "testnet3", "18332"},
		{"--signet", "signet", "38332"},
		{"--regtest", "regtest", "18443"},
		{"--simnet", "simnet", "18556"},
		{"--mainnet", "mainnet", "8332"},
	} {
		var o options
		switch c.flag {
		case "--testnet4":
			o.Network.TestNet4 = true
		case "--testnet":
			o.Network.TestNet3 = true
		case "--signet":
			o.Network.SigNet = true
		case "--regtest":
			o.Network.RegTest = true
		case "--simnet":
			o.Network.SimNet = true
		case "--mainnet":
			o.Network.MainNet = true
		}
		n, err := o.chooseNetwork()
		if err != nil || n.name != c.name || n.port != c.port {
			t.Errorf("%q: %+v %v, want %s %s", c.flag, n, err, c.name, c.port)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"", "127.0.0.1:18443"},
		{"localhost", "localhost:18443"},
		{"10.1.2.3", "10.1.2.3:18443"},
		{"10.1.2.3:1234", "10.1.2.3:1234"},
		{":1234", "127.0.0.1:1234"},
		{"::1", "[::1]:18443"},
		{"[::1]", "[::1]:18443"},
		{"[::1]:99", "[::1]:99"},
	} {
		got, err := serverAddr(c.in, "18443")
		if err != nil || got != c.want {
			t.Errorf("serverAddr(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestParamValue(t *testing.T) {
	for _, c := range []struct {
		in       string
		isString bool
		want     string
	}{
		{"true", false, "true"},
		{"false", false, "false"},
		{"null", false, "null"},
		{"12", false, "12"},
		{"-1.5e3", false, "-1.5e3"},
		{`{"a":1}`, false, `{"a":1}`},
		{"[1, 2]", false, "[1, 2]"},
		{"", false, `""`},
		{"abc", false, `"abc"`},
		{`"quoted"`, false, `"\"quoted\""`}, // JSON strings are not parsed
		{"1.2.3.4:8333", false, `"1.2.3.4:8333"`},
		{"0200000001", false, `"0200000001"`}, // not a JSON number
		{"12", true, `"12"`},
		{"true", true, `"true"`},
	} {
		if got := string(paramValue(c.in, c.isString)); got != c.want {
			t.Errorf("paramValue(%q, %v) = %s, want %s", c.in, c.isString, got, c.want)
		}
	}
	got, err := buildParams("disconnectnode", []string{"nodeid=3", "address=", "x"}, true)
	if err != nil || string(got) != `{"nodeid":3,"address":"","args":["x"]}` {
		t.Errorf("buildParams named = %s, %v", got, err)
	}
	var v any
	if err := json.Unmarshal(got, &v); err != nil {
		t.Error(err)
	}
	got, _ = buildParams("getrawmempool", nil, false)
	if string(got) != "[]" {
		t.Errorf("buildParams of nothing = %s", got)
	}
}
