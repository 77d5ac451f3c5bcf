// Package cdp is a small client of the Chrome DevTools protocol, for tests
// and tools that drive Debian's headless chromium: start the browser, load
// a page, evaluate JavaScript in it, take a screenshot. It speaks the
// protocol over a websocket (golang.org/x/net/websocket) and knows only
// the few methods its callers use.
package cdp

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/websocket"
)

// InstallHint says how to get the browser.
const InstallHint = "needs Debian's chromium (apt-get install chromium)"

// Find returns the path of a chromium binary, or an error naming
// InstallHint.
func Find() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium on PATH: " + InstallHint)
}

// Browser is a headless chromium with one page, driven over the DevTools
// protocol.
type Browser struct {
	cmd    *exec.Cmd
	dir    string
	ws     *websocket.Conn
	mu     sync.Mutex
	nextID int64
	calls  map[int64]chan reply
	done   chan struct{}
	err    error // why the reader stopped; read after done
}

type reply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Start runs chromium headless, at width x height, and connects to its
// page. Close ends it.
func Start(ctx context.Context, width, height int) (*Browser, error) {
	bin, err := Find()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "peerd-chromium-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
		"--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", "--remote-allow-origins=http://127.0.0.1",
		"--user-data-dir="+dir, fmt.Sprintf("--window-size=%d,%d", width, height), "about:blank")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	b := &Browser{cmd: cmd, dir: dir, calls: make(map[int64]chan reply), done: make(chan struct{})}
	// The browser says where it listens on stderr; the rest is noise.
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "DevTools listening on "); ok {
				found <- u
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	var wsURL string
	select {
	case wsURL = <-found:
	case <-ctx.Done():
		b.kill()
		return nil, fmt.Errorf("chromium did not start: %w", ctx.Err())
	case <-time.After(30 * time.Second):
		b.kill()
		return nil, errors.New("chromium did not say where DevTools listens within 30 s")
	}
	page, err := pageURL(ctx, wsURL)
	if err != nil {
		b.kill()
		return nil, err
	}
	cfg, err := websocket.NewConfig(page, "http://127.0.0.1")
	if err != nil {
		b.kill()
		return nil, err
	}
	if b.ws, err = cfg.DialContext(ctx); err != nil {
		b.kill()
		return nil, fmt.Errorf("connect to the page's DevTools: %w", err)
	}
	b.ws.MaxPayloadBytes = 64 << 20
	go b.read()
	return b, nil
}

// pageURL finds the websocket of the browser's page from its /json list.
func pageURL(ctx context.Context, browserWS string) (string, error) {
	rest, ok := strings.CutPrefix(browserWS, "ws://")
	if !ok {
		return "", fmt.Errorf("unexpected DevTools address %q", browserWS)
	}
	host, _, _ := strings.Cut(rest, "/")
	deadline := time.Now().Add(15 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+host+"/json/list", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var targets []struct {
				Type string `json:"type"`
				URL  string `json:"webSocketDebuggerUrl"`
			}
			err = json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
			for _, t := range targets {
				if t.Type == "page" && t.URL != "" {
					return t.URL, nil
				}
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no page in chromium's DevTools list: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// read dispatches replies to their calls; events are dropped.
func (b *Browser) read() {
	defer close(b.done)
	for {
		var msg struct {
			ID int64 `json:"id"`
			reply
		}
		if err := websocket.JSON.Receive(b.ws, &msg); err != nil {
			b.err = err
			b.mu.Lock()
			for id, c := range b.calls {
				close(c)
				delete(b.calls, id)
			}
			b.mu.Unlock()
			return
		}
		if msg.ID == 0 {
			continue
		}
		b.mu.Lock()
		c := b.calls[msg.ID]
		delete(b.calls, msg.ID)
		b.mu.Unlock()
		if c != nil {
			c <- msg.reply
		}
	}
}

// Call invokes a DevTools method on the page and returns its result.
func (b *Browser) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	c := make(chan reply, 1)
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	b.calls[id] = c
	b.mu.Unlock()
	if params == nil {
		params = struct{}{}
	}
	if err := websocket.JSON.Send(b.ws, map[string]any{"id": id, "method": method, "params": params}); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	select {
	case r, ok := <-c:
		if !ok {
			return nil, fmt.Errorf("%s: connection to chromium lost: %v", method, b.err)
		}
		if r.Error != nil {
			return nil, fmt.Errorf("%s: %s (%d)", method, r.Error.Message, r.Error.Code)
		}
		return r.Result, nil
	case <-ctx.Done():
		b.mu.Lock()
		delete(b.calls, id)
		b.mu.Unlock()
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// SetBasicAuth makes every request of the page carry these credentials.
func (b *Browser) SetBasicAuth(ctx context.Context, user, pass string) error {
	if _, err := b.Call(ctx, "Network.enable", nil); err != nil {
		return err
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	_, err := b.Call(ctx, "Network.setExtraHTTPHeaders", map[string]any{"headers": map[string]string{"Authorization": auth}})
	return err
}

// Navigate loads url and waits until its document has loaded.
func (b *Browser) Navigate(ctx context.Context, url string) error {
	res, err := b.Call(ctx, "Page.navigate", map[string]any{"url": url})
	if err != nil {
		return err
	}
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	json.Unmarshal(res, &nav)
	if nav.ErrorText != "" {
		return fmt.Errorf("navigate to %s: %s", url, nav.ErrorText)
	}
	for {
		var state string
		if err := b.Eval(ctx, "document.readyState + '|' + location.href", &state); err == nil && strings.HasPrefix(state, "complete|") && strings.HasSuffix(state, url) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("navigate to %s: %w", url, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Eval evaluates a JavaScript expression in the page and stores its
// value (JSON-serialisable) in out.
func (b *Browser) Eval(ctx context.Context, expr string, out any) error {
	res, err := b.Call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	if err != nil {
		return err
	}
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return err
	}
	if r.Exception != nil {
		return fmt.Errorf("evaluate %q: %s", expr, r.Exception.Text)
	}
	if out == nil || len(r.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(r.Result.Value, out)
}

// Screenshot captures the whole page as PNG.
func (b *Browser) Screenshot(ctx context.Context) ([]byte, error) {
	res, err := b.Call(ctx, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true})
	if err != nil {
		return nil, err
	}
	var r struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(r.Data)
}

// Close ends the browser and removes its profile.
func (b *Browser) Close() {
	exited := make(chan struct{})
	go func() { b.cmd.Wait(); close(exited) }()
	if b.ws != nil {
		// Asked to, the browser ends its own helper processes.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		b.Call(ctx, "Browser.close", nil)
		cancel()
		b.ws.Close()
		<-b.done
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		b.cmd.Process.Kill()
		<-exited
	}
	os.RemoveAll(b.dir)
}

// kill ends a browser that never connected.
func (b *Browser) kill() {
	b.cmd.Process.Kill()
	b.cmd.Wait()
	os.RemoveAll(b.dir)
}
