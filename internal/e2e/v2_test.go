package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/peerd/peerd/internal/btcdtest"
)

// The BIP 324 interop tests: peerd (v2 by default) against btcd v0.26.2,
// with and without btcd's --v2transport. Each test shares one btcd among
// its subtests; each subtest runs its own peerd, stopped when it ends.

// peerdPeer is the part of peerd's getpeerinfo these tests read.
type peerdPeer struct {
	ID        int64  `json:"id"`
	Addr      string `json:"addr"`
	Inbound   bool   `json:"inbound"`
	SubVer    string `json:"subver"`
	State     string `json:"state"`
	Transport string `json:"transport_protocol_type"`
	SessionID string `json:"session_id"`
}

// getPeerInfo is peerd's getpeerinfo, through peerctl.
func (p *peerd) getPeerInfo(t *testing.T) []peerdPeer {
	t.Helper()
	out, err := p.ctl("getpeerinfo")
	if err != nil {
		t.Fatal(err)
	}
	var ps []peerdPeer
	if err := json.Unmarshal([]byte(out), &ps); err != nil {
		t.Fatalf("getpeerinfo: %v\n%s", err, out)
	}
	return ps
}

// waitBtcdPeer waits until peerd has exactly one peer, a btcd in standby
// in the given direction, and returns it.
func (p *peerd) waitBtcdPeer(t *testing.T, inbound bool) peerdPeer {
	t.Helper()
	var got peerdPeer
	waitUntil(t, "peerd's btcd peer in standby", 15*time.Second, func() bool {
		ps := p.getPeerInfo(t)
		if len(ps) != 1 || ps[0].Inbound != inbound || ps[0].State != "standby" || !strings.Contains(ps[0].SubVer, "btcd") {
			return false
		}
		got = ps[0]
		return true
	})
	return got
}

// btcdSeesPeerd waits until btcd lists peerd (by user agent) in the given
// direction, as seen from btcd, and returns it.
func btcdSeesPeerd(t *testing.T, b *btcdtest.Node, inbound bool) btcdtest.PeerInfo {
	t.Helper()
	var us btcdtest.PeerInfo
	b.WaitPeers(t, 15*time.Second, func(ps []btcdtest.PeerInfo) bool {
		for _, p := range ps {
			if strings.HasPrefix(p.SubVer, "/peerd:") && p.Inbound == inbound {
				us = p
				return true
			}
		}
		return false
	})
	return us
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkV2 checks both ends' view of a v2 connection.
func checkV2(t *testing.T, ours peerdPeer, theirs btcdtest.PeerInfo) {
	t.Helper()
	if ours.Transport != "v2" || !hex64.MatchString(ours.SessionID) {
		t.Errorf("peerd's getpeerinfo: transport %q, session id %q; want v2 and 64 hex digits", ours.Transport, ours.SessionID)
	}
	if !theirs.V2Connection {
		t.Errorf("btcd's getpeerinfo does not mark peerd v2_connection: %s", theirs)
	}
}

// checkV1 checks both ends' view of a v1 connection.
func checkV1(t *testing.T, ours peerdPeer, theirs btcdtest.PeerInfo) {
	t.Helper()
	if ours.Transport != "v1" || ours.SessionID != "" {
		t.Errorf("peerd's getpeerinfo: transport %q, session id %q; want v1 and none", ours.Transport, ours.SessionID)
	}
	if theirs.V2Connection {
		t.Errorf("btcd's getpeerinfo marks peerd v2_connection: %s", theirs)
	}
}

// readyLines stops p and returns the handshake-completed lines of its log
// (the driver's "ready:" lines, which name the transport). Stopping first
// lets the log be read without racing the process's writes.
func readyLines(p *peerd) []string {
	p.stop()
	var out []string
	for _, l := range strings.Split(p.log.String(), "\n") {
		if strings.Contains(l, " ready: ") {
			out = append(out, l)
		}
	}
	return out
}

// TestV2WithBtcd: against a btcd speaking BIP 324 (--v2transport), peerd's
// connections are v2 both ways, and a transaction injected into peerd
// reaches btcd's mempool over one.
func TestV2WithBtcd(t *testing.T) {
	b := btcdtest.Start(t, btcdtest.Binary(t), btcdtest.Options{Args: []string{
		"--v2transport", "--miningaddr=" + btcdtest.MiningAddr()}})
	if _, err := b.Generate(101); err != nil {
		t.Fatal(err)
	}

	// btcd dials peerd; peerd tells the v2 handshake from a v1 one. btcd
	// keeps only outbound peers that advertise NODE_NETWORK.
	t.Run("BtcdDialsPeerd", func(t *testing.T) {
		p := startPeerd(t, t.TempDir(), "--services=network,witness")
		if err := b.ConnectNode(p.p2p, false); err != nil {
			t.Fatal(err)
		}
		ours := p.waitBtcdPeer(t, true)
		checkV2(t, ours, btcdSeesPeerd(t, b, false))
		if ready := readyLines(p); len(ready) != 1 || !strings.HasSuffix(ready[0], "transport v2") {
			t.Errorf("peerd's log of the handshake: %q, want one line ending in transport v2", ready)
		}
	})

	// peerd --connect dials btcd with v2 (an address the operator named).
	t.Run("PeerdDialsBtcd", func(t *testing.T) {
		p := startPeerd(t, t.TempDir(), "--connect="+b.P2PAddr())
		ours := p.waitBtcdPeer(t, false)
		checkV2(t, ours, btcdSeesPeerd(t, b, true))
		if ready := readyLines(p); len(ready) != 1 || !strings.HasSuffix(ready[0], "transport v2") {
			t.Errorf("peerd's log of the handshake: %q, want one line ending in transport v2", ready)
		}
	})

	// A transaction given to peerd is announced to btcd and fetched by it
	// over the v2 connection, and lands in btcd's mempool.
	t.Run("RelayOverV2", func(t *testing.T) {
		cb, err := b.Coinbase(1)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := btcdtest.SpendCoinbase(cb, 10_000, 0xfffffffe)
		if err != nil {
			t.Fatal(err)
		}
		p := startPeerd(t, t.TempDir(), "--connect="+b.P2PAddr())
		ours := p.waitBtcdPeer(t, false)
		checkV2(t, ours, btcdSeesPeerd(t, b, true))
		txid, err := p.ctl("sendrawtransaction", btcdtest.TxHex(tx))
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "btcd to hold the transaction", 10*time.Second, func() bool { return inMempool(t, b, txid) })
		out, err := p.ctl("getmempoolentry", txid)
		if err != nil {
			t.Fatal(err)
		}
		var e entry
		if err := json.Unmarshal([]byte(out), &e); err != nil {
			t.Fatalf("getmempoolentry: %v\n%s", err, out)
		}
		if len(e.Propagation.Fetched) != 1 || e.Propagation.Fetched[0].ID != ours.ID {
			t.Fatalf("propagation: %s; want a fetch by peer %d, the v2 btcd", out, ours.ID)
		}
	})
}

// TestV1OnlyBtcd: against a btcd without --v2transport, peerd (v2 by
// default) falls back to v1 on its own dial at once, and takes btcd's v1
// dial.
func TestV1OnlyBtcd(t *testing.T) {
	b := btcdtest.Start(t, btcdtest.Binary(t), btcdtest.Options{})

	// btcd closes peerd's v2 attempt unanswered; peerd dials again at
	// once with v1: the log shows the refusal, then the v1 handshake,
	// with no back-off wait ("reconnecting to ... in") between them.
	t.Run("PeerdFallsBack", func(t *testing.T) {
		p := startPeerd(t, t.TempDir(), "--connect="+b.P2PAddr())
		ours := p.waitBtcdPeer(t, false)
		checkV1(t, ours, btcdSeesPeerd(t, b, true))
		p.stop()
		log := p.log.String()
		refused := strings.Index(log, b.P2PAddr()+" closed our v2 handshake unanswered: dialing it again with v1")
		ready := strings.Index(log, " ready: ")
		switch {
		case refused < 0:
			t.Fatal("peerd's log does not show the refused v2 attempt")
		case ready < refused:
			t.Fatal("peerd's log shows a handshake before the refused v2 attempt")
		case strings.Contains(log[refused:ready], "reconnecting to"):
			t.Fatalf("peerd waited a back-off before the v1 dial:\n%s", log[refused:ready])
		}
		if lines := readyLines(p); len(lines) != 1 || !strings.HasSuffix(lines[0], "transport v1") {
			t.Errorf("peerd's log of the handshake: %q, want one line ending in transport v1", lines)
		}
	})

	// A v1-only client dialling a v2-enabled peerd is served in v1.
	t.Run("BtcdDialsPeerdV1", func(t *testing.T) {
		p := startPeerd(t, t.TempDir(), "--services=network,witness")
		if err := b.ConnectNode(p.p2p, false); err != nil {
			t.Fatal(err)
		}
		ours := p.waitBtcdPeer(t, true)
		checkV1(t, ours, btcdSeesPeerd(t, b, false))
	})
}
