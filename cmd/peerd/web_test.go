package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWebOption(t *testing.T) {
	empty := writeFile(t, t.TempDir(), "empty.conf", "")
	for _, tc := range []struct {
		args []string
		want string // the address, or part of the error
	}{
		{[]string{"--web=8334"}, "127.0.0.1:8334"},
		{[]string{"--web=[::1]:8334"}, "[::1]:8334"},
		{[]string{"--web=localhost:9000"}, "localhost:9000"},
		{[]string{"--web=0.0.0.0:8334", "--rpcuser=u", "--rpcpass=p"}, "0.0.0.0:8334"},
		{[]string{"--web=0.0.0.0:8334"}, "--web=0.0.0.0:8334 is not loopback: set --rpcuser and --rpcpass"},
		{[]string{"--web=:8334"}, "is not loopback"},
		{[]string{"--web=8334", "--norpc"}, "--web needs the RPC server"},
		{[]string{"--web=localhost"}, "not a host:port or a port number"},
		{[]string{"--web=127.0.0.1:99999"}, "port"},
	} {
		cfg, err := loadConfig(append([]string{"-C", empty, "--regtest"}, tc.args...), t.TempDir())
		switch {
		case err != nil && !strings.Contains(err.Error(), tc.want):
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		case err == nil && string(cfg.RPC.Web) != tc.want:
			t.Errorf("%v: --web %q, want %q", tc.args, cfg.RPC.Web, tc.want)
		}
	}
}

// TestRunServesWebPage: peerd with --web serves the page with the RPC
// cookie's credentials only, and its event stream ends when peerd stops.
func TestRunServesWebPage(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dataDir := t.TempDir()
	_, stdout, stderr, stop := startPeerd(t, "--regtest", "--listen=127.0.0.1:0", "--rpclisten=127.0.0.1:0",
		"--datadir="+dataDir, "--nodnsseed", "--nologfile", "--web="+addr)
	url := "http://" + addr + "/"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without credentials: %d, want 401", resp.StatusCode)
	}
	cookie, err := os.ReadFile(filepath.Join(dataDir, "regtest", ".cookie"))
	if err != nil {
		t.Fatal(err)
	}
	user, pass, _ := strings.Cut(string(cookie), ":")
	get := func(path string) *http.Response {
		req, _ := http.NewRequest("GET", url+path, nil)
		req.SetBasicAuth(user, pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp = get("")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "peerd regtest") {
		t.Errorf("with the cookie: %d\n%s", resp.StatusCode, body)
	}
	events := get("events")
	defer events.Body.Close()
	r := bufio.NewReader(events.Body)
	if line, _ := r.ReadString('\n'); line != "event: state\n" {
		t.Fatalf("events: %q", line)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit code %d; stderr: %s", code, stderr)
	}
	ended := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, r); ended <- err }()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the event stream outlived peerd")
	}
	if !strings.Contains(stdout.String(), "Live page on "+url+" (user __cookie__, password from ") {
		t.Errorf("no log line for the live page:\n%s", stdout)
	}
}
