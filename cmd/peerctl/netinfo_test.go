package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/peerd/peerd/node"
)

var update = flag.Bool("update", false, "rewrite testdata/netinfo-*.golden from the output")

// netinfoNow is the fixed time the golden dashboards are drawn at.
var netinfoNow = time.Unix(1700003600, 0)

// peerctlAt is peerctl (cli_test.go's) with the clock at now.
func peerctlAt(t *testing.T, now time.Time, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, appDir: t.TempDir(),
		now: func() time.Time { return now }}
	code := c.run(args)
	return code, stdout.String(), stderr.String()
}

// fixturePeers are the fake node's peers: one of each outbound type, and
// inbound ones on each transport, in states along the machines' paths.
func fixturePeers() []node.PeerInfo {
	ago := func(d time.Duration) time.Time { return netinfoNow.Add(-d) }
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	return []node.PeerInfo{
		{ID: 3, Addr: "203.0.113.45:8333", Conn: node.ConnOutboundFullRelay, Transport: "v2",
			ConnectedAt: ago(62 * time.Minute), LastSend: ago(2 * time.Second), LastRecv: ago(time.Second),
			BytesSent: 48200, BytesRecv: 1_250_000, ProtocolVersion: 70016, UserAgent: "/Satoshi:27.1.0/",
			LastPing: ms(45.4), MinPing: ms(38), State: "standby/validated"},
		{ID: 5, Addr: "[2001:db8::7]:8333", Conn: node.ConnManual, Transport: "v1",
			ConnectedAt: ago(30 * time.Minute), LastSend: ago(40 * time.Second), LastRecv: ago(39 * time.Second),
			BytesSent: 9000, BytesRecv: 31000, ProtocolVersion: 70016, UserAgent: "/btcwire:0.5.0/btcd:0.24.2/",
			LastPing: ms(120.2), MinPing: ms(118), State: "standby/validating"},
		{ID: 9, Addr: "198.51.100.9:8333", Conn: node.ConnFeeler, Transport: "v1",
			ConnectedAt: ago(3 * time.Second), LastSend: ago(3 * time.Second), State: "handshake/awaitVerack",
			BytesSent: 127},
		{ID: 12, Addr: "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion:8333", Conn: node.ConnPrivateBroadcast,
			Transport: "v2", ConnectedAt: ago(20 * time.Second), LastSend: ago(4 * time.Second), LastRecv: ago(5 * time.Second),
			ProtocolVersion: 70016, UserAgent: "/Satoshi:28.0.0/", LastPing: ms(812), MinPing: ms(812),
			State: "broadcast/announced", BytesSent: 1500, BytesRecv: 600},
		{ID: 11, Addr: "192.168.1.20:51234", Inbound: true, Transport: "detecting",
			ConnectedAt: ago(time.Second), State: "handshake/awaitVersion"},
		{ID: 2, Addr: "[2001:db8:85a3::8a2e:370:7334]:48000", Inbound: true, Transport: "v2",
			ConnectedAt: ago(5*time.Hour + 10*time.Minute), LastSend: ago(7 * time.Second), LastRecv: ago(6 * time.Second),
			BytesSent: 5_400_000, BytesRecv: 77000, ProtocolVersion: 70016, UserAgent: "/Satoshi:26.0.0/",
			LastPing: ms(0.42), MinPing: ms(0.38), State: "standby/validated"},
	}
}

func fixtureNetInfo() *node.NetworkInfo {
	return &node.NetworkInfo{
		Version: 100, UserAgent: "/peerd:0.1.0/", ProtocolVersion: 70016, Active: true, Connections: 6, Inbound: 2,
		Networks: []node.Network{{Name: "ipv4", Reachable: true}, {Name: "ipv6", Reachable: true},
			{Name: "onion", Reachable: true, Proxy: "127.0.0.1:9050"}, {Name: "i2p"}, {Name: "cjdns"}},
	}
}

// TestNetInfoGolden draws the dashboard at each level from the fake
// node's peers, through peerd's RPC server, and compares it with
// testdata/netinfo-LEVEL.golden (go test -run NetInfoGolden -update
// rewrites them). Levels 0 to 3 fit in 80 columns.
func TestNetInfoGolden(t *testing.T) {
	flags, fake := userPass(t)
	fake.mu.Lock()
	fake.peers, fake.netInfo = fixturePeers(), fixtureNetInfo()
	fake.mu.Unlock()
	for level := 0; level <= maxNetInfoLevel; level++ {
		code, stdout, stderr := peerctlAt(t, netinfoNow, append(flags, "netinfo", fmt.Sprint(level))...)
		if code != 0 || stderr != "" {
			t.Fatalf("level %d: exit %d, %q", level, code, stderr)
		}
		golden := filepath.Join("testdata", fmt.Sprintf("netinfo-%d.golden", level))
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, []byte(stdout), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if stdout != string(want) {
			t.Errorf("level %d:\n%s\nwant (%s):\n%s", level, stdout, golden, want)
		}
		widest := 0
		for _, line := range strings.Split(stdout, "\n") {
			widest = max(widest, utf8.RuneCountInString(line))
		}
		if level <= 3 && widest > termWidth {
			t.Errorf("level %d is %d columns wide:\n%s", level, widest, stdout)
		}
		if level == 4 && !strings.Contains(stdout, "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion:8333") {
			t.Errorf("level 4 shortened the onion address:\n%s", stdout)
		}
	}

	// No level is level 0.
	code, stdout, _ := peerctlAt(t, netinfoNow, append(flags, "netinfo")...)
	want, _ := os.ReadFile(filepath.Join("testdata", "netinfo-0.golden"))
	if code != 0 || stdout != string(want) {
		t.Errorf("netinfo without a level: %d\n%s", code, stdout)
	}

	// No peers: no table even at level 4, and the counts are zeros.
	fake.mu.Lock()
	fake.peers = nil
	fake.mu.Unlock()
	code, stdout, _ = peerctlAt(t, netinfoNow, append(flags, "netinfo", "4")...)
	if code != 0 || strings.Contains(stdout, "<->") || !strings.Contains(stdout, "\ntotal      0      0      0      0\n") {
		t.Errorf("netinfo 4 without peers: %d\n%s", code, stdout)
	}
}

// TestNetInfoUsage: a bad level is refused before any call, with the
// levels named; help needs no peerd.
func TestNetInfoUsage(t *testing.T) {
	flags, fake := userPass(t)
	for _, args := range [][]string{{"5"}, {"-1"}, {"x"}, {"1.5"}, {"255"}, {"1", "2"}} {
		code, stdout, stderr := peerctlAt(t, netinfoNow, append(append(flags, "netinfo"), args...)...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, "usage: peerctl [OPTIONS] netinfo [LEVEL|help]") {
			t.Errorf("netinfo %v: %d %q %q", args, code, stdout, stderr)
		}
		if len(args) == 1 && !strings.Contains(stderr, fmt.Sprintf("bad netinfo level %q: want 0 to 4", args[0])) {
			t.Errorf("netinfo %v: %q", args, stderr)
		}
	}
	if fake.last() != "" {
		t.Errorf("a bad level called peerd: %q", fake.last())
	}
	// help with no server to reach.
	code, stdout, stderr := peerctlAt(t, netinfoNow, "--rpcserver=127.0.0.1:1", "--rpcuser=u", "--rpcpass=p", "netinfo", "help")
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "peerctl netinfo [LEVEL|help]\n") {
		t.Errorf("netinfo help: %d %q %q", code, stdout, stderr)
	}
	for i, line := range strings.Split(stdout, "\n") {
		if len(line) > termWidth {
			t.Errorf("netinfo help line %d is %d wide: %q", i+1, len(line), line)
		}
	}
}

// TestNetInfoReplies runs netinfo against a server that answers what a
// peerd with getnettotals answers, and one whose getpeerinfo fails.
func TestNetInfoReplies(t *testing.T) {
	replies := map[string]string{
		"getpeerinfo": `[{"id":1,"addr":"127.0.0.1:18444","network":"not_publicly_routable","inbound":false,` +
			`"connection_type":"manual","transport_protocol_type":"v1","state":"standby/validated","pingtime":0.0003,` +
			`"lastsend":1700003590,"lastrecv":1700003595,"conntime":1700003000,"version":70016,"subver":"/peerd:0.1.0/"}]`,
		"getnetworkinfo": `{"version":100,"subversion":"/peerd:0.1.0/","protocolversion":70016,"networkactive":false,` +
			`"networks":[{"name":"ipv4","reachable":false}],"localaddresses":[{"address":"192.0.2.1","port":18444,"score":1}]}`,
		"getnettotals": `{"totalbytesrecv":2500000,"totalbytessent":734,"timemillis":1700003600000}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		for method, result := range replies {
			if bytes.Contains(body, []byte(`"method":"`+method+`"`)) {
				if strings.HasPrefix(result, "ERR") {
					_, _ = fmt.Fprintf(w, `{"result":null,"error":{"code":-1,"message":%q},"id":1}`, result[3:])
					return
				}
				_, _ = fmt.Fprintf(w, `{"result":%s,"error":null,"id":1}`, result)
				return
			}
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":1}`)
	}))
	defer srv.Close()
	flags := []string{"--rpcserver=" + strings.TrimPrefix(srv.URL, "http://"), "--rpcuser=u", "--rpcpass=p", "--regtest"}

	code, stdout, stderr := peerctlAt(t, netinfoNow, append(flags, "netinfo", "1")...)
	want := "peerctl 0.1.0 regtest - server 70016/peerd:0.1.0/ - network inactive\n" +
		"traffic: 734 B sent, 2.5 MB received since peerd started\n" +
		"\n" +
		"         npr  total   full manual\n" +
		"in         0      0\n" +
		"out        1      1      0      1\n" +
		"total      1      1\n" +
		"\n" +
		"<-> type   v state             ping send recv age id\n" +
		"out manual 1 standby/validated  0.3   10    5  10  1\n" +
		"                                 ms    s    s min\n" +
		"\n" +
		"Local addresses:\n" +
		"192.0.2.1  port 18444  score     1\n"
	if code != 0 || stdout != want || stderr != "" {
		t.Errorf("got %d %q\n%s\nwant\n%s", code, stderr, stdout, want)
	}

	replies["getpeerinfo"] = "ERRboom"
	code, stdout, stderr = peerctlAt(t, netinfoNow, append(flags, "netinfo")...)
	if code != 1 || stdout != "" || stderr != "error code: -1\nerror message:\nboom\n" {
		t.Errorf("getpeerinfo failing: %d %q %q", code, stdout, stderr)
	}
}

func TestShorten(t *testing.T) {
	for _, c := range []struct {
		addr string
		n    int
		want string
	}{
		{"203.0.113.45:8333", 22, "203.0.113.45:8333"},
		{"[2001:db8:85a3::8a2e:370:7334]:48000", 22, "[2001:d..0:7334]:48000"},
		{"pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion:8333", 22, "pg6mmjiy..d.onion:8333"},
		{"[2001:db8::1]:8333", 7, "[2001:d"},
	} {
		got := shorten(c.addr, c.n)
		if got != c.want || len(got) > c.n {
			t.Errorf("shorten(%q, %d) = %q, want %q", c.addr, c.n, got, c.want)
		}
	}
}

// TestCountsWidth: with a peer on every network and of every outbound
// type, the counts still fit 80 columns, the types on a line of their own.
func TestCountsWidth(t *testing.T) {
	var d netInfoData
	types := []string{"outbound-full-relay", "manual", "feeler", "addr-fetch", "private-broadcast", "inbound"}
	for i, n := range netInfoNetworks {
		d.peers = append(d.peers, netPeer{ID: int64(i), Network: n.name, ConnectionType: types[i], Inbound: types[i] == "inbound"})
	}
	got := counts(d)
	want := "        ipv4   ipv6  onion    i2p  cjdns    npr  total\n" +
		"in         0      0      0      0      0      1      1\n" +
		"out        1      1      1      1      1      0      5\n" +
		"total      1      1      1      1      1      1      6\n" +
		"out by type: 1 full, 1 manual, 1 feeler, 1 addr, 1 priv\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
