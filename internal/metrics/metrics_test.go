package metrics

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/internal/wireio"
	"github.com/peerd/peerd/mempool"
	"github.com/peerd/peerd/node"
	"github.com/peerd/peerd/peer"
	"github.com/peerd/peerd/peer/driver"
)

// startNode runs a regtest node with a mempool on a loopback port until
// the test ends.
func startNode(t testing.TB) *node.Node { return startNodeWith(t, nil) }

// startNodeWith is startNode with the config changed by edit.
func startNodeWith(t testing.TB, edit func(*node.Config)) *node.Node {
	t.Helper()
	pool, err := mempool.Open(mempool.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	params := chaincfg.RegressionNetParams
	cfg := node.Config{
		Params:  &params,
		Listen:  []string{"127.0.0.1:0"},
		Mempool: pool,
		Peer: driver.Config{Machine: peer.Config{Handshake: handshake.Config{
			UserAgent: "/peerd:test/", Timeout: 5 * time.Second,
		}}},
		Dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, fmt.Errorf("no dialing in this test")
		},
		TargetOutbound: -1,
	}
	if edit != nil {
		edit(&cfg)
	}
	n, err := node.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return n
}

// testPeer is a client that speaks the wire protocol by hand.
type testPeer struct {
	t    testing.TB
	conn net.Conn
	r    *wireio.Reader
	w    *wireio.Writer
}

func dial(t testing.TB, addr string) *testPeer {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	nt := chaincfg.RegressionNetParams.Net
	return &testPeer{t: t, conn: conn, r: wireio.NewReader(conn, nt), w: wireio.NewWriter(conn, nt)}
}

func (p *testPeer) send(msg wire.Message) {
	p.t.Helper()
	if err := p.w.Write(msg); err != nil {
		p.t.Fatal(err)
	}
}

// until reads up to the first message of command cmd, answering pings.
func (p *testPeer) until(cmd string) wire.Message {
	p.t.Helper()
	for {
		msg, err := p.r.Next()
		if err != nil {
			p.t.Fatalf("waiting for %s: %v", cmd, err)
		}
		if ping, ok := msg.(*wire.MsgPing); ok {
			p.send(wire.NewMsgPong(ping.Nonce))
		}
		if msg.Command() == cmd {
			return msg
		}
	}
}

// handshake: version, verack out; up to the node's first ping, answered.
func (p *testPeer) handshake() {
	p.t.Helper()
	v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 0x5eed, 0)
	v.Services = wire.SFNodeWitness | wire.SFNodeNetwork
	v.UserAgent = "/testpeer:1.0/"
	p.send(v)
	p.send(wire.NewMsgVerAck())
	p.until("ping")
}

// scrape fetches url and parses it with Prometheus's text parser.
func scrape(t testing.TB, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse the exposition: %v", err)
	}
	return fams
}

// value returns the value of the family's series with the given labels
// (name, value pairs), and whether there is one.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// TestEndpoint runs a node with --metrics's server and real test peers,
// and reads the endpoint as Prometheus would.
func TestEndpoint(t *testing.T) {
	n := startNode(t)
	srv, err := Listen("127.0.0.1:0", n)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	url := "http://" + srv.Addr().String() + "/metrics"
	addr := n.ListenAddrs()[0].String()

	// One peer in standby, one that said nothing yet (handshake).
	a := dial(t, addr)
	a.handshake()
	const pings = 5
	for i := range pings {
		a.send(wire.NewMsgPing(uint64(i)))
		a.until("pong")
	}
	b := dial(t, addr)
	_ = b

	var fams map[string]*dto.MetricFamily
	deadline := time.Now().Add(10 * time.Second)
	for {
		fams = scrape(t, url)
		v, _ := value(fams, "peerd_peers")
		p, _ := value(fams, "peerd_messages_received_total", "command", "ping")
		// The second peer's machine starts (handshake/init) and
		// waits for its version.
		w, _ := value(fams, "peerd_peers_by_state", "state", "handshake/awaitVersion")
		if v == 2 && p == pings && w == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers or pings not counted: %v %v", fams["peerd_peers"], fams["peerd_messages_received_total"])
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"peerd_peers_by_state", []string{"state", "standby"}, 1},
		{"peerd_peers_by_state", []string{"state", "handshake/awaitVersion"}, 1},
		{"peerd_peers_by_state", []string{"state", "standby/validating"}, 0},
		{"peerd_peers_by_direction", []string{"direction", "inbound"}, 2},
		{"peerd_peers_by_direction", []string{"direction", "outbound"}, 0},
		{"peerd_peers_by_transport", []string{"transport", "v1"}, 2},
		{"peerd_peers_by_connection_type", []string{"connection_type", "inbound"}, 2},
		{"peerd_handshakes_completed_total", nil, 1},
		{"peerd_bytes_received_total", []string{"command", "ping"}, pings * 32},
		{"peerd_bytes_sent_total", []string{"command", "pong"}, pings * 32},
		{"peerd_messages_sent_total", []string{"command", "pong"}, pings},
		{"peerd_ping_rtt_seconds", nil, 1}, // the node's ping, answered
		{"peerd_mempool_transactions", nil, 0},
		{"peerd_disconnects_total", []string{"reason", "closed_by_peer"}, 0},
		{"peerd_private_broadcast_attempts_total", []string{"outcome", "receipt"}, 0},
	} {
		got, ok := value(fams, c.name, c.labels...)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	for _, name := range []string{"peerd_mempool_log_fsync_seconds", "peerd_relay_first_getdata_seconds", "peerd_relay_first_echo_seconds"} {
		if f := fams[name]; f == nil || f.GetType() != dto.MetricType_HISTOGRAM {
			t.Errorf("%s: %v, want a histogram", name, f)
		}
	}
	for name, f := range fams {
		if f.GetHelp() == "" {
			t.Errorf("%s has no help", name)
		}
	}

	// The peer that never spoke is closed by us; the one in standby by
	// itself: both counted by reason.
	a.conn.Close()
	b.conn.Close()
	deadline = time.Now().Add(10 * time.Second)
	for {
		fams = scrape(t, url)
		v, _ := value(fams, "peerd_disconnects_total", "reason", "closed_by_peer")
		h, _ := value(fams, "peerd_handshakes_failed_total", "reason", "closed_by_peer")
		if v == 2 && h == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("disconnects %v, handshake failures %v; want 2 and 1", v, h)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v, _ := value(fams, "peerd_peers"); v != 0 {
		t.Errorf("peerd_peers = %v after both left", v)
	}
}
