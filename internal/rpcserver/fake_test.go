package rpcserver

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/mempool"
	"github.com/peerd/peerd/node"
)

// fakeBackend is a Backend with a map for a mempool and a fixed peer list.
type fakeBackend struct {
	mu        sync.Mutex
	entries   map[chainhash.Hash]node.MempoolEntry
	order     []chainhash.Hash
	peers     []node.PeerInfo
	added     map[string]bool
	v2        bool            // the node speaks BIP 324
	mainnet   bool            // not a test network: no addpeeraddress
	booked    map[string]bool // AddPeerAddress's "ip port"
	addnodes  []string        // addnode calls: "addr command transport"
	sent      []string        // hex of accepted transactions
	pings     int
	stops     int
	disc      []string // disconnectnode calls, "addr" or "#id"
	bans      []node.Ban
	banCalls  []string // setban calls: "subnet command bantime absolute"
	noPrivate bool     // the node runs without --privatebroadcast
	private   []node.PrivateBroadcastTx
	aborted   []chainhash.Hash // AbortPrivateBroadcast's calls
	panicOn   string           // a method name whose call panics
	block     chan struct{}
	blockedIn chan struct{}
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{
		entries: map[chainhash.Hash]node.MempoolEntry{},
		added:   map[string]bool{"10.0.0.1:8333": true},
		peers: []node.PeerInfo{{
			ID: 7, Addr: "127.0.0.1:18444", LocalAddr: "127.0.0.1:50000", Conn: node.ConnManual,
			Services: wire.SFNodeNetwork | wire.SFNodeWitness | wire.SFNodeNetworkLimited,
			Relay:    true, LastSend: time.Unix(1700000001, 0), LastRecv: time.Unix(1700000002, 0), BytesSent: 100, BytesRecv: 200,
			ConnectedAt: time.Unix(1700000000, 0), LastPing: 1500 * time.Microsecond, MinPing: time.Millisecond,
			ProtocolVersion: 70016, UserAgent: "/btcd:0.24.2/",
			StartHeight: 101, WTxIDRelay: true, State: "standby/validating",
			AddrRelayEnabled: true, AddrProcessed: 12, AddrRateLimited: 3,
			BytesSentPerMsg: map[string]uint64{"version": 126, "ping": 32},
			BytesRecvPerMsg: map[string]uint64{"pong": 32, "*other*": 30}, MinFeeFilter: 1000,
			Transitions: []node.Transition{{At: time.UnixMilli(1700000000250), From: "handshake/awaitverack", To: "standby", On: "verack"}},
		}},
	}
}

// enter starts each Backend method: it panics if told to, and waits if
// told to block.
func (f *fakeBackend) enter(method string) {
	f.mu.Lock()
	panicOn, block, blockedIn := f.panicOn, f.block, f.blockedIn
	f.mu.Unlock()
	if panicOn == method {
		panic("fake backend: " + method)
	}
	if block != nil {
		blockedIn <- struct{}{}
		<-block
	}
}

// setPanic makes the Backend method named panic when called.
func (f *fakeBackend) setPanic(method string) {
	f.mu.Lock()
	f.panicOn = method
	f.mu.Unlock()
}

// setBlock makes every Backend method announce itself on a channel, which
// it returns, and wait until release is closed.
func (f *fakeBackend) setBlock(release chan struct{}) <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.block, f.blockedIn = release, make(chan struct{}, 16)
	return f.blockedIn
}

func (f *fakeBackend) SendRawTransaction(raw []byte) (chainhash.Hash, error) {
	f.enter("SendRawTransaction")
	var tx wire.MsgTx
	if err := tx.Deserialize(bytes.NewReader(raw)); err != nil {
		return chainhash.Hash{}, &node.Error{Kind: node.ErrKindTxDecode, Err: err}
	}
	txid := tx.TxHash()
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.entries[txid]; !ok {
		f.order = append(f.order, txid)
		f.sent = append(f.sent, hex.EncodeToString(raw))
		f.entries[txid] = node.MempoolEntry{
			TxID: txid, WTxID: tx.WitnessHash(), VSize: tx.SerializeSize(), Weight: 4 * tx.SerializeSize(),
			Added: time.Unix(1700000100, 0), Unbroadcast: true,
		}
	}
	return txid, nil
}

func (f *fakeBackend) MempoolTxIDs() []chainhash.Hash {
	f.enter("MempoolTxIDs")
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chainhash.Hash(nil), f.order...)
}

func (f *fakeBackend) MempoolEntry(txid chainhash.Hash) (node.MempoolEntry, error) {
	f.enter("MempoolEntry")
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.entries[txid]
	if !ok {
		return node.MempoolEntry{}, &node.Error{Kind: node.ErrKindNotFound, Err: errors.New("not in the fake mempool")}
	}
	return e, nil
}

func (f *fakeBackend) MempoolEntries() []node.MempoolEntry {
	f.enter("MempoolEntries")
	f.mu.Lock()
	defer f.mu.Unlock()
	es := make([]node.MempoolEntry, len(f.order))
	for i, id := range f.order {
		es[i] = f.entries[id]
	}
	return es
}

func (f *fakeBackend) MempoolInfo() node.MempoolInfo {
	f.enter("MempoolInfo")
	f.mu.Lock()
	defer f.mu.Unlock()
	return node.MempoolInfo{Loaded: true, Count: len(f.entries), MaxBytes: 300000000,
		MinFeeRate: 1000, MinRelayFeeRate: 1000, IncrementalFeeRate: 1000}
}

func (f *fakeBackend) Peers() []node.PeerInfo {
	f.enter("Peers")
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.peers
}

func (f *fakeBackend) ConnectionCount() int {
	f.enter("ConnectionCount")
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.peers)
}

func (f *fakeBackend) NetTotals() node.NetTotals {
	f.enter("NetTotals")
	return node.NetTotals{BytesRecv: 1200, BytesSent: 3400, At: time.UnixMilli(1700000000123)}
}

func (f *fakeBackend) NetworkInfo() node.NetworkInfo {
	f.enter("NetworkInfo")
	return node.NetworkInfo{Version: 100, UserAgent: "/peerd:0.1.0/", ProtocolVersion: 70016,
		Relay: true, Connections: 1, Active: true, RelayFeeRate: 1000, IncrementalFeeRate: 1000}
}

func (f *fakeBackend) AddNode(addr, command string, tr node.Transport) error {
	f.enter("AddNode")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addnodes = append(f.addnodes, fmt.Sprintf("%s %s %s", addr, command, tr))
	if tr == node.TransportV2 && !f.v2 {
		return &node.Error{Kind: node.ErrKindInvalidParameter, Err: node.ErrV2NotEnabled}
	}
	switch command {
	case "add":
		if f.added[addr] {
			return &node.Error{Kind: node.ErrKindExists, Err: node.ErrAlreadyAdded}
		}
		f.added[addr] = true
	case "remove":
		if !f.added[addr] {
			return &node.Error{Kind: node.ErrKindNotFound, Err: node.ErrNotAdded}
		}
		delete(f.added, addr)
	case "onetry":
		if addr == "fail" {
			return errors.New("plain failure")
		}
	}
	return nil
}

func (f *fakeBackend) DisconnectNode(addr string, id int64, byID bool) error {
	f.enter("DisconnectNode")
	f.mu.Lock()
	defer f.mu.Unlock()
	if byID {
		f.disc = append(f.disc, fmt.Sprintf("#%d", id))
		if id == 7 {
			return nil
		}
	} else {
		f.disc = append(f.disc, addr)
		if addr == "127.0.0.1:18444" {
			return nil
		}
	}
	return &node.Error{Kind: node.ErrKindNotFound, Err: errors.New("no such fake peer")}
}

func (f *fakeBackend) Ping() {
	f.enter("Ping")
	f.mu.Lock()
	f.pings++
	f.mu.Unlock()
}

func (f *fakeBackend) DisconnectAll() int {
	f.enter("DisconnectAll")
	return 3
}

func (f *fakeBackend) Uptime() time.Duration {
	f.enter("Uptime")
	return 90*time.Second + 500*time.Millisecond
}

func (f *fakeBackend) Stop() {
	f.enter("Stop")
	f.mu.Lock()
	f.stops++
	f.mu.Unlock()
}

// fakeAdded is when the fake's private transactions were accepted.
var fakeAdded = time.UnixMilli(1700000100_000)

// setPrivate gives the fake one private-broadcast transaction of each
// state and returns them: pending (one attempt in the handshake, one
// received, one rejected), confirmed (two receipts, echoed back by two
// ordinary peers, the first 1.8 s after it was added) and given up.
func (f *fakeBackend) setPrivate(t *testing.T) []node.PrivateBroadcastTx {
	t.Helper()
	at := func(ms int) time.Time { return fakeAdded.Add(time.Duration(ms) * time.Millisecond) }
	tx := func(seq uint32) (chainhash.Hash, chainhash.Hash, []byte) {
		h, _ := testTx(t, seq, 0)
		raw, _ := hex.DecodeString(h)
		var m wire.MsgTx
		if err := m.Deserialize(bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		m.TxIn[0].Witness = wire.TxWitness{{0x01}} // a wtxid of its own
		var b bytes.Buffer
		if err := m.Serialize(&b); err != nil {
			t.Fatal(err)
		}
		return m.TxHash(), m.WitnessHash(), b.Bytes()
	}
	id1, w1, raw1 := tx(101)
	id2, w2, raw2 := tx(102)
	id3, w3, raw3 := tx(103)
	txs := []node.PrivateBroadcastTx{
		{
			TxID: id1, WTxID: w1, Raw: raw1, State: "pending", Added: fakeAdded, AttemptsRemaining: 997,
			Attempts: []mempool.Attempt{
				{ID: 1, Addr: "203.0.113.1:8333", Peer: 21, Transport: "v2", Opened: at(0), Announced: at(900),
					GetData: at(1100), Sent: at(1100), Received: at(1300), Ended: at(1301), Outcome: "receipt"},
				{ID: 2, Addr: "198.51.100.2:8333", Peer: 22, Transport: "v1", Opened: at(0), Announced: at(800),
					GetData: at(1000), Sent: at(1000), Reject: "16: bad-txns-inputs-missingorspent", Ended: at(1200), Outcome: "rejected"},
				{ID: 3, Addr: "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion:8333", Opened: at(0)},
			},
		},
		{
			TxID: id2, WTxID: w2, Raw: raw2, State: "confirmed", Added: fakeAdded, Confirmed: at(1800), AttemptsRemaining: 998,
			Attempts: []mempool.Attempt{
				{ID: 4, Addr: "203.0.113.4:8333", Peer: 24, Transport: "v1", Opened: at(0), Announced: at(500),
					GetData: at(600), Sent: at(600), Received: at(700), Ended: at(700), Outcome: "receipt"},
				{ID: 5, Addr: "203.0.113.5:8333", Peer: 25, Transport: "v1", Opened: at(0), Announced: at(550),
					GetData: at(650), Sent: at(650), Received: at(750), Ended: at(750), Outcome: "receipt"},
			},
			Echoes: []mempool.PeerEvent{
				{Peer: mempool.PeerRef{ID: 7, Addr: "127.0.0.1:18444"}, At: at(1800)},
				{Peer: mempool.PeerRef{ID: 8, Addr: "127.0.0.1:18445"}, At: at(2500)},
			},
		},
		{
			TxID: id3, WTxID: w3, Raw: raw3, State: "gave up", Added: fakeAdded,
			Attempts: []mempool.Attempt{{ID: 6, Addr: "203.0.113.6:8333", Opened: at(0), Ended: at(180000), Outcome: "dial failed: proxy refused"}},
		},
	}
	f.mu.Lock()
	f.private = txs
	f.mu.Unlock()
	return txs
}

// PrivateBroadcastInfo lists setPrivate's transactions; refused as the
// node refuses it when private broadcast is off.
func (f *fakeBackend) PrivateBroadcastInfo() ([]node.PrivateBroadcastTx, error) {
	f.enter("PrivateBroadcastInfo")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.noPrivate {
		return nil, &node.Error{Kind: node.ErrKindNotEnabled, Err: node.ErrPrivateNotEnabled}
	}
	return append([]node.PrivateBroadcastTx(nil), f.private...), nil
}

// AbortPrivateBroadcast removes a pending or given-up transaction found
// by txid or wtxid, as the node does; a confirmed one is public, not in
// the queue.
func (f *fakeBackend) AbortPrivateBroadcast(id chainhash.Hash) (node.PrivateBroadcastTx, error) {
	f.enter("AbortPrivateBroadcast")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.aborted = append(f.aborted, id)
	if f.noPrivate {
		return node.PrivateBroadcastTx{}, &node.Error{Kind: node.ErrKindNotEnabled, Err: node.ErrPrivateNotEnabled}
	}
	for i, t := range f.private {
		if (t.TxID == id || t.WTxID == id) && t.State != "confirmed" {
			f.private = append(f.private[:i:i], f.private[i+1:]...)
			return t, nil
		}
	}
	return node.PrivateBroadcastTx{}, &node.Error{Kind: node.ErrKindNotFound, Err: node.ErrNotInPrivateQueue}
}

// fakeNow is the fake backend's clock for bans, and the test server's.
const fakeNow = 1700000000

// SetBan keeps a ban list as the node does, with the node's refusals: the
// subnet is an IP address or a CIDR subnet.
func (f *fakeBackend) SetBan(subnet, command string, banTime int64, absolute bool) error {
	f.enter("SetBan")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.banCalls = append(f.banCalls, fmt.Sprintf("%s %s %d %v", subnet, command, banTime, absolute))
	var p netip.Prefix
	var err error
	if strings.Contains(subnet, "/") {
		p, err = netip.ParsePrefix(subnet)
		p = p.Masked()
	} else {
		var a netip.Addr
		if a, err = netip.ParseAddr(subnet); err == nil {
			p = netip.PrefixFrom(a, a.BitLen())
		}
	}
	if err != nil {
		return &node.Error{Kind: node.ErrKindInvalidAddress, Err: err}
	}
	at := -1
	for i, b := range f.bans {
		if b.Subnet == p {
			at = i
		}
	}
	switch command {
	case "add":
		if at >= 0 {
			return &node.Error{Kind: node.ErrKindExists, Err: node.ErrAlreadyBanned}
		}
		until := int64(fakeNow + 86400)
		switch {
		case absolute && banTime < fakeNow:
			return &node.Error{Kind: node.ErrKindInvalidParameter, Err: errors.New("in the past")}
		case absolute:
			until = banTime
		case banTime > 0:
			until = fakeNow + banTime
		}
		f.bans = append(f.bans, node.Ban{Subnet: p, Created: time.Unix(fakeNow, 0), Until: time.Unix(until, 0)})
	case "remove":
		if at < 0 {
			return &node.Error{Kind: node.ErrKindNotFound, Err: node.ErrNotBanned}
		}
		f.bans = append(f.bans[:at], f.bans[at+1:]...)
	default:
		return fmt.Errorf("fake backend: setban command %q", command)
	}
	return nil
}

func (f *fakeBackend) ListBanned() []node.Ban {
	f.enter("ListBanned")
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bans) == 0 {
		return nil // the server lists it as []
	}
	return append([]node.Ban(nil), f.bans...)
}

func (f *fakeBackend) NodeAddresses(count int, network string) []node.NodeAddress {
	f.enter("NodeAddresses")
	all := []node.NodeAddress{
		{Seen: time.Unix(1700000000, 0), Services: wire.SFNodeNetwork | wire.SFNodeWitness, Host: "1.2.3.4", Port: 8333, Network: "ipv4"},
		{Seen: time.Unix(1700000001, 0), Services: wire.SFNodeNetwork, Host: "2001:db8::1", Port: 8333, Network: "ipv6"},
	}
	var out []node.NodeAddress
	for _, a := range all {
		if (network == "" || a.Network == network) && (count == 0 || len(out) < count) {
			out = append(out, a)
		}
	}
	return out
}

func (f *fakeBackend) AddrManInfo() []node.AddrBookCount {
	f.enter("AddrManInfo")
	return []node.AddrBookCount{
		{Network: "ipv4", New: 5, Tried: 2}, {Network: "ipv6", New: 1}, {Network: "onion"},
		{Network: "i2p"}, {Network: "cjdns"}, {Network: "all_networks", New: 6, Tried: 2},
	}
}

func (f *fakeBackend) TestNetwork() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.mainnet
}

// AddPeerAddress books each address once; "127.0.0.9" cannot be moved to
// tried.
func (f *fakeBackend) AddPeerAddress(ip string, port uint16, tried bool) (node.PeerAddressResult, error) {
	f.enter("AddPeerAddress")
	if !f.TestNetwork() {
		return 0, &node.Error{Kind: node.ErrKindUnavailable, Err: node.ErrTestOnly}
	}
	if _, err := netip.ParseAddr(ip); err != nil {
		return 0, &node.Error{Kind: node.ErrKindInvalidAddress, Err: err}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := fmt.Sprintf("%s %d", ip, port)
	if f.booked[key] {
		return node.PeerAddressNotAdded, nil
	}
	if f.booked == nil {
		f.booked = map[string]bool{}
	}
	f.booked[key] = true
	if tried && ip == "127.0.0.9" {
		return node.PeerAddressNotTried, nil
	}
	return node.PeerAddressAdded, nil
}

func (f *fakeBackend) ClearBanned() {
	f.enter("ClearBanned")
	f.mu.Lock()
	f.bans = nil
	f.mu.Unlock()
}

// reset forgets what the backend was asked, so that a fuzz run's state
// stays small.
func (f *fakeBackend) reset() {
	fresh := newFakeBackend()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries, f.order, f.sent, f.added = fresh.entries, nil, nil, fresh.added
	f.disc, f.bans, f.banCalls = nil, nil, nil
	f.pings, f.stops = 0, 0
}

func (f *fakeBackend) counts() (pings, stops int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pings, f.stops
}

// Test credentials.
const (
	testUser = "alice"
	testPass = "correct horse battery staple"
)

// testServer is a running Server on 127.0.0.1 with a fakeBackend.
type testServer struct {
	*Server
	backend *fakeBackend
	url     string
	done    chan error // Serve's result
	cancel  context.CancelFunc
	stopped sync.Once
}

// startServer starts a server with cfg over the defaults for tests
// (127.0.0.1:0, testUser/testPass, no auth delay).
func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	if cfg.Listen == nil {
		cfg.Listen = []string{"127.0.0.1:0"}
	}
	if cfg.User == "" && cfg.CookieDir == "" {
		cfg.User, cfg.Pass = testUser, testPass
	}
	if cfg.AuthFailureDelay == 0 {
		cfg.AuthFailureDelay = -1
	}
	b := newFakeBackend()
	s, err := New(cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return time.Unix(fakeNow, 0) }
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{Server: s, backend: b, url: "http://" + s.Addrs()[0].String() + "/", done: make(chan error, 1), cancel: cancel}
	go func() { ts.done <- s.Serve(ctx) }()
	t.Cleanup(func() { ts.stop(t) })
	return ts
}

// stop ends Serve and checks that it returned cleanly.
func (ts *testServer) stop(t *testing.T) {
	t.Helper()
	ts.stopped.Do(func() {
		ts.cancel()
		select {
		case err := <-ts.done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return")
		}
	})
}

// reply is an HTTP reply.
type reply struct {
	status int
	header http.Header
	body   string
}

// do sends an HTTP request; user "" sends no credentials.
func do(t *testing.T, method, url, user, pass string, body io.Reader) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// post sends an authorized POST of body to the server.
func (ts *testServer) post(t *testing.T, body string) reply {
	t.Helper()
	return do(t, http.MethodPost, ts.url, testUser, testPass, strings.NewReader(body))
}

// call sends one JSON-RPC 2.0 request and returns the reply's result and
// error members.
func (ts *testServer) call(t *testing.T, method string, params any) (json.RawMessage, *Error) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		t.Fatal(err)
	}
	r := ts.post(t, string(body))
	if r.status != http.StatusOK {
		t.Fatalf("%s: HTTP %d: %s", method, r.status, r.body)
	}
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  *Error          `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.body), &out); err != nil {
		t.Fatalf("%s: %v in %s", method, err, r.body)
	}
	return out.Result, out.Error
}

// mustCall is call for a request that must succeed.
func (ts *testServer) mustCall(t *testing.T, method string, params any) json.RawMessage {
	t.Helper()
	res, rerr := ts.call(t, method, params)
	if rerr != nil {
		t.Fatalf("%s %v: error %d: %s", method, params, rerr.Code, rerr.Message)
	}
	return res
}

// testTx returns a valid serialized transaction, its hex and txid; extra
// is the size of a filler output script.
func testTx(t *testing.T, seq uint32, extra int) (string, string) {
	t.Helper()
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: seq}, []byte{0x51}, nil))
	tx.AddTxOut(wire.NewTxOut(1000, []byte{0x6a}))
	if extra > 0 {
		tx.AddTxOut(wire.NewTxOut(0, make([]byte, extra)))
	}
	var b bytes.Buffer
	if err := tx.Serialize(&b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b.Bytes()), tx.TxHash().String()
}

// The node's operator interface is a Backend.
var _ Backend = (*node.Admin)(nil)
