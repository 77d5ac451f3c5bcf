package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/peerd/peerd/internal/btcdtest"
	"github.com/peerd/peerd/internal/socks5test"
)

// TestProxyWithBtcd: peerd --proxy=<microsocks> --connect=<btcd> finishes
// its handshake with a real btcd through a real SOCKS5 server, over v2 and
// over v1. microsocks binds its outgoing connections to 127.0.0.2, so btcd
// sees peerd come from 127.0.0.2: a direct dial would come from 127.0.0.1.
func TestProxyWithBtcd(t *testing.T) {
	bin := btcdtest.Binary(t) // skips under -short
	proxy := socks5test.Microsocks(t, "-b", "127.0.0.2")
	b := btcdtest.Start(t, bin, btcdtest.Options{Args: []string{"--v2transport"}})
	for _, c := range []struct {
		name string
		args []string
		v2   bool
	}{
		{"v2", nil, true},
		{"v1", []string{"--nov2transport"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := startPeerd(t, t.TempDir(), append(c.args, "--proxy="+proxy, "--connect="+b.P2PAddr())...)
			ours := p.waitBtcdPeer(t, false)
			theirs := btcdSeesPeerd(t, b, true)
			if c.v2 {
				checkV2(t, ours, theirs)
			} else {
				checkV1(t, ours, theirs)
			}
			if ours.Addr != b.P2PAddr() {
				t.Errorf("peerd's getpeerinfo addr %s, want btcd's %s", ours.Addr, b.P2PAddr())
			}
			if !strings.HasPrefix(theirs.Addr, "127.0.0.2:") {
				t.Errorf("btcd sees peerd at %s, want 127.0.0.2 (microsocks' outgoing address)", theirs.Addr)
			}
			p.stop()
			// The next subtest must not find this peerd in btcd's list.
			b.WaitPeers(t, 15*time.Second, func(ps []btcdtest.PeerInfo) bool { return len(ps) == 0 })
			if !strings.Contains(p.log.String(), "every outbound connection through SOCKS5 proxy "+proxy) {
				t.Errorf("peerd's log does not name the proxy:\n%s", p.log.String())
			}
		})
	}
}
