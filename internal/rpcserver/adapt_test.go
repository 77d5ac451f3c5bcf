package rpcserver

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/peerd/peerd/node"
)

// TestAdaptersNeverNull: the shapes built from the node's zero values,
// nil slices included, have Core's [] and {} where Core has them, and
// never null.
func TestAdaptersNeverNull(t *testing.T) {
	for name, v := range map[string]any{
		"getpeerinfo":                       mapSlice([]node.PeerInfo(nil), peerInfo),
		"a getpeerinfo element":             peerInfo(node.PeerInfo{}),
		"getrawmempool":                     txidStrings(nil),
		"getrawmempool true":                mempoolEntries(nil),
		"getmempoolentry":                   mempoolEntry(node.MempoolEntry{}),
		"getmempoolinfo":                    mempoolInfo(node.MempoolInfo{}),
		"getnetworkinfo":                    networkInfo(node.NetworkInfo{}),
		"listbanned":                        mapSlice([]node.Ban(nil), func(b node.Ban) BanInfo { return banInfo(b, time.Time{}) }),
		"getprivatebroadcastinfo":           PrivateBroadcastInfo{Transactions: mapSlice([]node.PrivateBroadcastTx(nil), privateBroadcastTx)},
		"a getprivatebroadcastinfo element": privateBroadcastTx(node.PrivateBroadcastTx{}),
	} {
		b, err := json.Marshal(v)
		if err != nil || strings.Contains(string(b), "null") {
			t.Errorf("%s: %s (%v)", name, b, err)
		}
	}
	b, _ := json.Marshal(peerInfo(node.PeerInfo{}))
	for _, want := range []string{`"servicesnames":[]`, `"permissions":[]`, `"bytessent_per_msg":{}`, `"bytesrecv_per_msg":{}`,
		`"transport_protocol_type":"v1"`, `"connection_type":"outbound-full-relay"`, `"transitions":[]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("getpeerinfo element %s lacks %s", b, want)
		}
	}
	b, _ = json.Marshal(mempoolEntry(node.MempoolEntry{}))
	if want := `"depends":[],"spentby":[]`; !strings.Contains(string(b), want) ||
		!strings.Contains(string(b), `"propagation":{"invsent":[],"fetched":[],"seenfrom":[],"attempts":[]}`) {
		t.Errorf("getmempoolentry %s", b)
	}
	for _, c := range []struct {
		p    node.PeerInfo
		want string
	}{
		{node.PeerInfo{Inbound: true, Conn: node.ConnManual}, ConnInbound}, // Inbound wins
		{node.PeerInfo{Conn: node.ConnInbound}, ConnInbound},
		{node.PeerInfo{Conn: node.ConnManual}, ConnManual},
		{node.PeerInfo{}, ConnOutboundFullRelay},
		{node.PeerInfo{Conn: node.ConnFeeler}, ConnFeeler},
		{node.PeerInfo{Conn: node.ConnPrivateBroadcast}, ConnPrivateBroadcast},
		{node.PeerInfo{Conn: node.ConnAddrFetch}, ConnAddrFetch},
	} {
		b, _ = json.Marshal(peerInfo(c.p))
		if !strings.Contains(string(b), `"connection_type":"`+c.want+`"`) {
			t.Errorf("%+v: %s, want connection_type %s", c.p.Conn, b, c.want)
		}
	}
}

// TestPeerInfoTransport: getpeerinfo's transport_protocol_type and
// session_id, as Core writes them: the session id in hex on a v2
// connection, "" on v1 and while an inbound transport is still detected.
func TestPeerInfoTransport(t *testing.T) {
	id := make([]byte, 32)
	for i := range id {
		id[i] = byte(i)
	}
	for _, c := range []struct {
		p         node.PeerInfo
		transport string
		session   string
	}{
		{node.PeerInfo{Transport: "v2", SessionID: id}, "v2", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
		{node.PeerInfo{Transport: "v1"}, "v1", ""},
		{node.PeerInfo{Transport: "detecting", Inbound: true}, "detecting", ""},
		{node.PeerInfo{}, "v1", ""},
	} {
		b, err := json.Marshal(peerInfo(c.p))
		if err != nil {
			t.Fatal(err)
		}
		want := `"transport_protocol_type":"` + c.transport + `","session_id":"` + c.session + `"`
		if !strings.Contains(string(b), want) {
			t.Errorf("%+v: %s lacks %s", c.p, b, want)
		}
	}
}
