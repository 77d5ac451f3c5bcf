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
		"getpeerinfo":           mapSlice([]node.PeerInfo(nil), peerInfo),
		"a getpeerinfo element": peerInfo(node.PeerInfo{}),
		"getrawmempool":         txidStrings(nil),
		"getrawmempool true":    mempoolEntries(nil),
		"getmempoolentry":       mempoolEntry(node.MempoolEntry{}),
		"getmempoolinfo":        mempoolInfo(node.MempoolInfo{}),
		"getnetworkinfo":        networkInfo(node.NetworkInfo{}),
		"listbanned":            mapSlice([]node.Ban(nil), func(b node.Ban) BanInfo { return banInfo(b, time.Time{}) }),
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
		!strings.Contains(string(b), `"propagation":{"invsent":[],"fetched":[],"seenfrom":[]}`) {
		t.Errorf("getmempoolentry %s", b)
	}
	b, _ = json.Marshal(peerInfo(node.PeerInfo{Inbound: true, Manual: true}))
	if !strings.Contains(string(b), `"connection_type":"inbound"`) {
		t.Errorf("an inbound peer: %s", b)
	}
}
