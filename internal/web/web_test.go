package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"

	"github.com/peerd/peerd/mempool"
	"github.com/peerd/peerd/node"
)

// fakeSource is a node with two peers, one transaction and a private one.
type fakeSource struct {
	peers []node.PeerInfo
	trs   []node.PeerTransition
	txs   []node.MempoolEntry
	priv  []node.PrivateBroadcastTx
}

func (f *fakeSource) Peers() []node.PeerInfo                   { return f.peers }
func (f *fakeSource) RecentTransitions() []node.PeerTransition { return f.trs }
func (f *fakeSource) MempoolTxIDs() []chainhash.Hash {
	var ids []chainhash.Hash
	for _, e := range f.txs {
		ids = append(ids, e.TxID)
	}
	return ids
}
func (f *fakeSource) Uptime() time.Duration { return 42 * time.Second }
func (f *fakeSource) PrivateBroadcastInfo() ([]node.PrivateBroadcastTx, error) {
	if f.priv == nil {
		return nil, errors.New("not enabled")
	}
	return f.priv, nil
}
func (f *fakeSource) MempoolEntry(txid chainhash.Hash) (node.MempoolEntry, error) {
	for _, e := range f.txs {
		if e.TxID == txid {
			return e, nil
		}
	}
	for _, p := range f.priv {
		if p.TxID == txid {
			return node.MempoolEntry{TxID: p.TxID, WTxID: p.WTxID, Added: p.Added, Unbroadcast: true}, nil
		}
	}
	return node.MempoolEntry{}, errors.New("not found")
}

const evilUA = `/evil:1.0/<script>alert("ua")</script><img src=x onerror=alert(1)>`

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func newFake() *fakeSource {
	tx := chainhash.Hash{1, 2, 3}
	ptx := chainhash.Hash{9, 9}
	tr := func(peer uint64, from, to, on string) node.PeerTransition {
		return node.PeerTransition{Peer: peer, Transition: node.Transition{At: time.Now(), From: from, To: to, On: on}}
	}
	return &fakeSource{
		peers: []node.PeerInfo{
			{ID: 1, Addr: "127.0.0.1:18444", Transport: "v1", State: "standby/validated", UserAgent: "/btcd:0.26.2/",
				ConnectedAt: time.Now().Add(-time.Minute), LastPing: 1500 * time.Microsecond,
				Transitions: []node.Transition{{At: t0, From: "handshake/init", To: "handshake/sentVersion", On: "start outbound"}}},
			{ID: 7, Addr: "127.0.0.1:50000", Inbound: true, Conn: node.ConnInbound, Transport: "v2", State: "handshake/awaitVerack", UserAgent: evilUA},
		},
		trs: []node.PeerTransition{
			tr(1, "handshake/awaitVerack", "handshake/done", "verack"),
			tr(1, "handshake", "standby", "handshake done"),
			tr(1, "standby", "standby/validating", "tx"),
			tr(3, "standby", "disconnected", "closed, operator or shutdown"),
		},
		txs: []node.MempoolEntry{{TxID: tx, Added: t0, VSize: 110, Propagation: mempool.Propagation{
			InvSent:  []mempool.PeerEvent{{Peer: mempool.PeerRef{ID: 1, Addr: "127.0.0.1:18444"}, At: t0.Add(5 * time.Millisecond)}},
			Fetched:  []mempool.PeerEvent{{Peer: mempool.PeerRef{ID: 1, Addr: "127.0.0.1:18444"}, At: t0.Add(9 * time.Millisecond)}},
			SeenFrom: []mempool.PeerEvent{{Peer: mempool.PeerRef{ID: 7, Addr: evilUA}, At: t0.Add(2 * time.Second)}},
		}}},
		priv: []node.PrivateBroadcastTx{{TxID: ptx, Added: t0, State: "pending", AttemptsRemaining: 4, Attempts: []mempool.Attempt{
			{ID: 1, Addr: "203.0.113.5:8333", Peer: 12, Transport: "v2", Opened: t0, Announced: t0.Add(time.Second),
				GetData: t0.Add(2 * time.Second), Sent: t0.Add(2 * time.Second), Received: t0.Add(3 * time.Second), Ended: t0.Add(3 * time.Second), Outcome: "receipt"},
		}}},
	}
}

func allow(w http.ResponseWriter, r *http.Request) bool { return true }

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w
}

func TestPagesRenderAndEscape(t *testing.T) {
	s := newServer(Config{Source: newFake(), Auth: allow, Network: "regtest"})
	for _, path := range []string{"/", "/peer/7", "/peer/1", "/peer/3", "/tx/" + (chainhash.Hash{1, 2, 3}).String(), "/tx/" + (chainhash.Hash{9, 9}).String()} {
		w := get(t, s, path)
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		body := w.Body.String()
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Errorf("%s: the peer's user agent is not escaped:\n%s", path, body)
		}
		if os.Getenv("WEB_DUMP") != "" {
			os.WriteFile(os.Getenv("WEB_DUMP")+strings.ReplaceAll(path, "/", "_")+".html", w.Body.Bytes(), 0o644)
		}
	}
	body := get(t, s, "/").Body.String()
	for _, want := range []string{
		`&lt;script&gt;alert(&#34;ua&#34;)&lt;/script&gt;`, // the user agent, inert
		`data-count="standby/validated"`, `data-count="handshake/awaitVerack"`, `data-state="disconnected"`,
		`<tr data-peer-id="7" data-state="handshake/awaitVerack">`, `href="/peer/7"`,
		`href="/tx/` + (chainhash.Hash{1, 2, 3}).String() + `"`, `<span class="tag">private</span>`,
		`<script src="/static/app.js"></script>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Errorf("the page names another site:\n%s", body)
	}
	tx := html.UnescapeString(get(t, s, "/tx/"+(chainhash.Hash{1, 2, 3}).String()).Body.String())
	for _, want := range []string{"+5 ms", "+9 ms", "+2.0 s", "sent to peer 1", "fetched by peer 1", "echoed by peer 7"} {
		if !strings.Contains(tx, want) {
			t.Errorf("the timeline lacks %q", want)
		}
	}
	ptx := html.UnescapeString(get(t, s, "/tx/"+(chainhash.Hash{9, 9}).String()).Body.String())
	for _, want := range []string{"Private broadcast: pending", "203.0.113.5:8333", "receipt", "+3.0 s"} {
		if !strings.Contains(ptx, want) {
			t.Errorf("the private broadcast's attempts lack %q", want)
		}
	}
	if w := get(t, s, "/peer/99"); w.Code != 404 {
		t.Errorf("/peer/99: %d, want 404", w.Code)
	}
	if w := get(t, s, "/tx/zz"); w.Code != 404 {
		t.Errorf("/tx/zz: %d, want 404", w.Code)
	}
	for _, path := range []string{"/static/app.js", "/static/style.css"} {
		if w := get(t, s, path); w.Code != 200 || w.Body.Len() == 0 {
			t.Errorf("%s: %d", path, w.Code)
		}
	}
}

func TestStateJSON(t *testing.T) {
	s := newServer(Config{Source: newFake(), Auth: allow})
	w := get(t, s, "/api/state")
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var st struct {
		States      map[string]int `json:"states"`
		Edges       map[string]int `json:"edges"`
		Transitions int            `json:"transitions_1m"`
		Peers       []map[string]any
		Mempool     []map[string]any
	}
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.States["standby"] != 1 || st.States["standby/validated"] != 1 || st.States["handshake"] != 1 || st.States["handshake/awaitVerack"] != 1 {
		t.Errorf("states %v", st.States)
	}
	if st.Transitions != 4 {
		t.Errorf("transitions_1m %d, want 4", st.Transitions)
	}
	d := s.diagram
	for _, k := range []string{"handshake/awaitVerack|handshake/done|verack", "handshake|standby|handshake done", "standby|standby/validating|", "standby|disconnected|closed, operator or shutdown"} {
		if id := d.edges[k]; id == "" || st.Edges[id] != 1 {
			t.Errorf("edge %s (%q): count %d, want 1 (edges %v)", k, id, st.Edges[id], st.Edges)
		}
	}
	if len(st.Peers) != 2 || st.Peers[1]["user_agent"] != evilUA || st.Peers[1]["direction"] != "in" || st.Peers[1]["conn"] != "inbound" ||
		st.Peers[0]["ping_ms"] != 1.5 || st.Peers[0]["state"] != "standby/validated" {
		t.Errorf("peers %v", st.Peers)
	}
	if len(st.Mempool) != 2 || st.Mempool[0]["sent"] != 1.0 || st.Mempool[0]["fetched"] != 1.0 || st.Mempool[0]["echoed"] != 1.0 || st.Mempool[1]["private"] != true {
		t.Errorf("mempool %v", st.Mempool)
	}
}

// TestEventsStreamAndEndWithServer: /events sends "state" events of the
// JSON shape, and the stream ends when the server closes.
func TestEventsStreamAndEndWithServer(t *testing.T) {
	s, err := New(Config{Listen: "127.0.0.1:0", Source: newFake(), Auth: allow, Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	resp, err := http.Get("http://" + s.Addr().String() + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	for i := 0; i < 3; i++ { // three events, at the interval
		ev, _ := r.ReadString('\n')
		data, _ := r.ReadString('\n')
		blank, _ := r.ReadString('\n')
		if ev != "event: state\n" || !strings.HasPrefix(data, "data: {") || blank != "\n" {
			t.Fatalf("event %d: %q %q %q", i, ev, data, blank)
		}
		var st State
		if err := json.Unmarshal([]byte(strings.TrimPrefix(data, "data: ")), &st); err != nil || len(st.Peers) != 2 {
			t.Fatalf("event %d: %v %+v", i, err, st)
		}
	}
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return with an event stream open")
	}
	done := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, r); done <- err }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the event stream did not end with the server")
	}
}
