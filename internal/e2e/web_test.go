package e2e

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/btcdtest"
	"github.com/peerd/peerd/internal/cdp"
	"github.com/peerd/peerd/internal/wireio"
)

// startBrowser starts headless chromium, skipping the test (failing it
// when CI is set) if there is none.
func startBrowser(t *testing.T, ctx context.Context, w, h int) *cdp.Browser {
	t.Helper()
	if _, err := cdp.Find(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the live page's browser test %s", cdp.InstallHint)
		}
		t.Skipf("the live page's browser test %s", cdp.InstallHint)
	}
	b, err := cdp.Start(ctx, w, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// cookie reads peerd's RPC cookie: user and password.
func (p *peerd) cookie(t *testing.T) (string, string) {
	t.Helper()
	var data []byte
	waitUntil(t, "the cookie file", 15*time.Second, func() bool {
		var err error
		data, err = os.ReadFile(filepath.Join(p.datadir, "regtest", ".cookie"))
		return err == nil
	})
	user, pass, _ := strings.Cut(strings.TrimSpace(string(data)), ":")
	return user, pass
}

// pageState is what the test reads of the live page's DOM.
type pageState struct {
	Row     string `json:"row"`     // the test peer's data-state, "" without its row
	Standby string `json:"standby"` // the standby state's count in the diagram
	Hshake  string `json:"hshake"`  // the handshake state's count
	Gone    string `json:"gone"`    // the count on standby's "closed" edge to disconnected
	Status  string `json:"status"`
}

const readPage = `(() => {
  const row = [...document.querySelectorAll('#peers tr[data-peer-id]')].find(r => r.querySelector('.ua').textContent === '/e2e:1/');
  const edge = [...document.querySelectorAll('[data-edge-label]')].find(e => e.closest('g.edge') &&
      e.textContent.startsWith('closed, operator or shutdown') && e.closest('g.edge').getAttribute('data-edge').split(' ').length === 4);
  return {
    row: row ? row.getAttribute('data-state') + '|' + row.querySelector('.ua').textContent : '',
    standby: document.querySelector('[data-count="standby"]').textContent,
    hshake: document.querySelector('[data-count="handshake"]').textContent,
    gone: edge ? edge.querySelector('[data-edge-count]').textContent : 'no edge',
    status: document.getElementById('status').textContent,
  };
})()`

// evilUA is a user agent made of markup that would run if it were
// rendered as HTML.
const evilUA = `/x:1/<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`

// TestLivePageInChromium: peerd with --web, the page loaded in a real
// headless chromium with the cookie's credentials; a test peer completes
// its handshake and the running page shows it in standby (its row, and
// the diagram's count); the peer disconnects and the page, never
// reloaded, drops the row, counts one peer less in standby and the disconnect on
// its edge. A peer whose user agent is markup is listed as text, and
// nothing of it runs.
func TestLivePageInChromium(t *testing.T) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	br := startBrowser(t, ctx, 1280, 1000)

	webAddr := btcdtest.FreeAddr(t)
	p := startPeerd(t, t.TempDir(), "--web="+webAddr, "--nodnsseed", "--targetoutbound=0")
	user, pass := p.cookie(t)
	if err := br.SetBasicAuth(ctx, user, pass); err != nil {
		t.Fatal(err)
	}
	url := "http://" + webAddr + "/"
	if err := br.Navigate(ctx, url); err != nil {
		t.Fatal(err)
	}
	var title string
	if err := br.Eval(ctx, "document.title", &title); err != nil || !strings.Contains(title, "peerd regtest") {
		t.Fatalf("title %q, %v: the page did not load with the cookie's credentials", title, err)
	}

	read := func() pageState {
		var s pageState
		if err := br.Eval(ctx, readPage, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	var s pageState
	waitUntil(t, "the page to go live", 15*time.Second, func() bool {
		s = read()
		return strings.HasPrefix(s.Status, "live")
	})

	// A peer whose user agent is markup: it must render as text.
	evil, err := net.Dial("tcp", p.p2p)
	if err != nil {
		t.Fatal(err)
	}
	defer evil.Close()
	v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 79, 0)
	v.UserAgent = evilUA
	ew := wireio.NewWriter(evil, wire.TestNet)
	if err := ew.Write(v); err != nil {
		t.Fatal(err)
	}
	if err := ew.Write(wire.NewMsgVerAck()); err != nil {
		t.Fatal(err)
	}

	tp := dialWTxIDPeer(t, p.p2p)
	waitUntil(t, "the page to show the test peer in standby", 15*time.Second, func() bool {
		s = read()
		return strings.HasPrefix(s.Row, "standby") && s.Standby == "2" && s.Hshake == "0" // with the markup peer
	})
	if !strings.HasSuffix(s.Row, "|/e2e:1/") {
		t.Errorf("the peer's row %q lacks its user agent", s.Row)
	}
	t.Logf("after the handshake: %+v", s)
	var xss struct {
		UA      string `json:"ua"`
		Ran     bool   `json:"ran"`
		Scripts int    `json:"scripts"`
	}
	waitUntil(t, "the page to list the peer with markup in its user agent", 15*time.Second, func() bool {
		err := br.Eval(ctx, `(() => {
  const r = [...document.querySelectorAll('#peers td.ua')].find(td => td.textContent.includes('/x:1/'));
  return {ua: r ? r.textContent : '', ran: window.__xss !== undefined, scripts: document.querySelectorAll('#peers script, #peers img').length};
})()`, &xss)
		return err == nil && xss.UA != ""
	})
	if xss.UA != evilUA || xss.Ran || xss.Scripts != 0 {
		t.Errorf("a user agent with markup: shown as %q, script ran %v, %d elements made of it", xss.UA, xss.Ran, xss.Scripts)
	}

	tp.conn.Close()
	waitUntil(t, "the page to show the disconnect", 15*time.Second, func() bool {
		s = read()
		return s.Row == "" && s.Standby == "1" && s.Gone == "×1"
	})
	t.Logf("after the disconnect: %+v", s)
	// The page was never reloaded: the same document updated itself.
	var nav int
	if err := br.Eval(ctx, "performance.getEntriesByType('navigation').length", &nav); err != nil || nav != 1 {
		t.Errorf("navigations %d, %v", nav, err)
	}
	t.Logf("chromium test took %v", time.Since(start).Round(time.Millisecond))
}

// TestLivePageScreenshot writes docs/web.png and docs/web-tx.png (into
// $PEERD_SCREENSHOT_DIR; scripts/screenshot-web.sh runs it): peerd with two
// btcds, a test peer in standby and one stuck in its handshake, one that
// came and went, and a transaction that travelled.
func TestLivePageScreenshot(t *testing.T) {
	dir := os.Getenv("PEERD_SCREENSHOT_DIR")
	if dir == "" {
		t.Skip("writes the live page's screenshots when PEERD_SCREENSHOT_DIR is set (scripts/screenshot-web.sh)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	br := startBrowser(t, ctx, 1280, 900)

	bin := btcdtest.Binary(t)
	a := btcdtest.Start(t, bin, btcdtest.Options{Args: []string{"--miningaddr=" + btcdtest.MiningAddr()}})
	if _, err := a.Generate(101); err != nil {
		t.Fatal(err)
	}
	b := btcdtest.Start(t, bin, btcdtest.Options{Args: []string{"--addpeer=" + a.P2PAddr()}})
	cb, err := a.Coinbase(1)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := btcdtest.SpendCoinbase(cb, 10_000, 0xfffffffe)
	if err != nil {
		t.Fatal(err)
	}
	webAddr := btcdtest.FreeAddr(t)
	p := startPeerd(t, t.TempDir(), "--web="+webAddr, "--connect="+a.P2PAddr(), "--connect="+b.P2PAddr())
	waitUntil(t, "both btcds connected", 15*time.Second, func() bool {
		out, err := p.ctl("getconnectioncount")
		return err == nil && out == "2"
	})
	dialWTxIDPeer(t, p.p2p)
	gone := dialWTxIDPeer(t, p.p2p)
	time.Sleep(300 * time.Millisecond)
	gone.conn.Close()
	// A peer that sends its version and nothing more waits in the handshake.
	slow, err := net.Dial("tcp", p.p2p)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 78, 0)
	v.UserAgent = "/slow:0.1/"
	if err := wireio.NewWriter(slow, wire.TestNet).Write(v); err != nil {
		t.Fatal(err)
	}
	txid, err := p.ctl("sendrawtransaction", btcdtest.TxHex(tx))
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "both btcds to hold the transaction", 15*time.Second, func() bool {
		return inMempool(t, a, txid) && inMempool(t, b, txid)
	})

	user, pass := p.cookie(t)
	if err := br.SetBasicAuth(ctx, user, pass); err != nil {
		t.Fatal(err)
	}
	shoot := func(url, file string) {
		if err := br.Navigate(ctx, url); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond) // a few live updates
		png, err := br.Screenshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", filepath.Join(dir, file), len(png))
	}
	shoot("http://"+webAddr+"/", "web.png")
	shoot("http://"+webAddr+"/tx/"+txid, "web-tx.png")
}
