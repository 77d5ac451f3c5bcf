package btcdtest

// Unit tests of the harness that need no btcd; they also run under -short.

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
)

func TestMiningAddr(t *testing.T) {
	a := MiningAddr()
	if a != MiningAddr() {
		t.Fatal("MiningAddr not deterministic")
	}
	if a[0] != 'm' && a[0] != 'n' {
		t.Errorf("MiningAddr %q: want regtest P2PKH prefix m or n", a)
	}
	dec, err := address.DecodeAddress(a, &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatalf("DecodeAddress(%q): %v", a, err)
	}
	if !dec.IsForNet(&chaincfg.RegressionNetParams) {
		t.Errorf("%q is not a regtest address", a)
	}
	if _, ok := dec.(*address.AddressPubKeyHash); !ok {
		t.Errorf("%q decodes to %T, want P2PKH", a, dec)
	}
	pkh := address.Hash160(MiningKey().PubKey().SerializeCompressed())
	if got := dec.ScriptAddress(); string(got) != string(pkh) {
		t.Errorf("MiningAddr hash %x does not match MiningKey %x", got, pkh)
	}
}

func TestFreePortUnique(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		p := FreePort(t)
		if p <= 0 || p > 65535 || seen[p] {
			t.Fatalf("FreePort returned %d (seen before: %v)", p, seen[p])
		}
		seen[p] = true
	}
	if a := FreeAddr(t); !strings.HasPrefix(a, "127.0.0.1:") {
		t.Errorf("FreeAddr = %q", a)
	}
}

func TestPeerInfoUnmarshal(t *testing.T) {
	// Shape of a real btcd v0.26.2 getpeerinfo entry.
	const js = `{"id":3,"addr":"127.0.0.1:40000","addrlocal":"127.0.0.1:18444",
		"services":"00001101","relaytxes":true,"lastsend":1700000001,
		"lastrecv":1700000002,"bytessent":209,"bytesrecv":185,
		"conntime":1700000000,"timeoffset":-1,"pingtime":1534,
		"pingwait":250000.5,"version":70016,"subver":"/btcwire:0.5.0/btcd:0.26.2/",
		"inbound":true,"startingheight":7,"currentheight":9,"banscore":0,
		"feefilter":1000,"syncnode":false,"v2_connection":false}`
	var p PeerInfo
	if err := json.Unmarshal([]byte(js), &p); err != nil {
		t.Fatal(err)
	}
	want := PeerInfo{
		ID: 3, Addr: "127.0.0.1:40000", AddrLocal: "127.0.0.1:18444",
		Services: "00001101", RelayTxes: true, LastSend: 1700000001,
		LastRecv: 1700000002, BytesSent: 209, BytesRecv: 185,
		ConnTime: 1700000000, TimeOffset: -1,
		PingTime: 1534 * time.Microsecond, PingWait: 250000500 * time.Nanosecond,
		Version: 70016, SubVer: "/btcwire:0.5.0/btcd:0.26.2/", Inbound: true,
		StartingHeight: 7, CurrentHeight: 9, FeeFilter: 1000,
	}
	if p != want {
		t.Errorf("got  %+v\nwant %+v", p, want)
	}
	flags, err := p.ServiceFlags()
	if err != nil || flags != 1101 { // NETWORK|BLOOM|WITNESS|CF|NETWORK_LIMITED
		t.Errorf("ServiceFlags = %d, %v; want 1101", flags, err)
	}
}

// fakeNode returns a Node whose RPC goes to handler.
func fakeNode(t *testing.T, handler http.HandlerFunc) *Node {
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return &Node{
		rpcAddr:    strings.TrimPrefix(srv.URL, "http://"),
		rpcUser:    "u",
		rpcPass:    "p",
		httpClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	}
}

func TestCall(t *testing.T) {
	n := fakeNode(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			t.Errorf("method %s", r.Method)
		}
		if got := r.Header.Get("Authorization"); got != "Basic "+base64.StdEncoding.EncodeToString([]byte("u:p")) {
			t.Errorf("Authorization = %q", got)
		}
		body, _ := io.ReadAll(r.Body)
		var req struct {
			JSONRPC string            `json:"jsonrpc"`
			Method  string            `json:"method"`
			Params  []json.RawMessage `json:"params"`
			ID      json.RawMessage   `json:"id"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			t.Errorf("bad request %s: %v", body, err)
		}
		if req.JSONRPC != "1.0" || req.Params == nil {
			t.Errorf("request %s: want jsonrpc 1.0 and non-null params", body)
		}
		switch req.Method {
		case "getblockcount":
			fmt.Fprintf(w, `{"result":42,"error":null,"id":%s}`+"\n", req.ID)
		case "addnode":
			if string(req.Params[0]) != `"127.0.0.1:1"` || string(req.Params[1]) != `"onetry"` {
				t.Errorf("addnode params %s", req.Params)
			}
			fmt.Fprintf(w, `{"result":null,"error":null,"id":%s}`, req.ID)
		case "fail":
			fmt.Fprintf(w, `{"result":null,"error":{"code":-8,"message":"bad"},"id":%s}`, req.ID)
		case "wrongid":
			fmt.Fprint(w, `{"result":1,"error":null,"id":999999}`)
		case "empty":
			fmt.Fprint(w, "\n")
		case "unauth":
			http.Error(w, "401 Unauthorized.", http.StatusUnauthorized)
		}
	})

	if h, err := n.GetBlockCount(); err != nil || h != 42 {
		t.Errorf("GetBlockCount = %d, %v", h, err)
	}
	if err := n.AddNode("127.0.0.1:1", "onetry"); err != nil {
		t.Errorf("AddNode: %v", err)
	}
	_, err := n.Call("fail")
	var rpcErr *RPCError
	if !errors.As(err, &rpcErr) || rpcErr.Code != -8 || rpcErr.Message != "bad" || rpcErr.Method != "fail" {
		t.Errorf("Call(fail) = %v; want RPCError -8 bad", err)
	}
	if _, err := n.Call("wrongid"); err == nil || !strings.Contains(err.Error(), "reply id") {
		t.Errorf("Call(wrongid) = %v; want id mismatch", err)
	}
	if _, err := n.Call("empty"); err == nil || !strings.Contains(err.Error(), "empty reply") {
		t.Errorf("Call(empty) = %v; want empty reply error", err)
	}
	if _, err := n.Call("unauth"); err == nil || !strings.Contains(err.Error(), "401") || errors.As(err, &rpcErr) {
		t.Errorf("Call(unauth) = %v; want plain HTTP 401 error", err)
	}
}

func TestTailFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	var b strings.Builder
	for i := range 100 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := tailFile(path, 3, nil)
	if err != nil || got != "line 97\nline 98\nline 99" {
		t.Errorf("tailFile = %q, %v", got, err)
	}
	if got, err := tailFile(path, 1000, nil); err != nil || !strings.HasPrefix(got, "line 0\n") {
		t.Errorf("tailFile(all) = %q..., %v", got[:min(len(got), 20)], err)
	}
	odd := func(l []byte) bool { return l[len(l)-1]%2 == 1 }
	if got, err := tailFile(path, 2, odd); err != nil || got != "line 96\nline 98" {
		t.Errorf("tailFile(skip odd) = %q, %v", got, err)
	}
	if !isLogNoise([]byte("2026-01-01 00:00:00.000 [DBG] CMGR: Failed to connect to reqid 10: no valid connect address")) ||
		!isLogNoise([]byte("2026-01-01 00:00:00.000 [DBG] CMGR: Canceling: reqid 7")) ||
		isLogNoise([]byte("2026-01-01 00:00:00.000 [DBG] CMGR: Canceling: 127.0.0.1:1 (reqid 7)")) ||
		isLogNoise([]byte("2026-01-01 00:00:00.000 [DBG] PEER: Received version from 127.0.0.1:1")) {
		t.Error("isLogNoise misclassifies")
	}
}

// TestStartRetriesBusyPort checks that Start picks new ports when btcd
// cannot bind the ones it was given. It swaps pickPort, so it must not run
// in parallel with other tests.
func TestStartRetriesBusyPort(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	bin := Binary(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	calls := 0
	pickPort = func() (int, error) {
		calls++
		if calls == 1 {
			return busyPort, nil // the first attempt's P2P port is taken
		}
		return freePort()
	}
	defer func() { pickPort = freePort }()

	n := Start(t, bin, Options{})
	if n.P2PAddr() == busy.Addr().String() {
		t.Fatalf("node listens on the busy port %s", n.P2PAddr())
	}
	if calls != 4 {
		t.Errorf("pickPort called %d times; want 4 (two attempts)", calls)
	}
	if _, err := n.GetBlockCount(); err != nil {
		t.Fatal(err)
	}
}
