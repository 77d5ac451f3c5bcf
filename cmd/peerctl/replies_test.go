package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestOddReplies runs peerctl against an HTTP server that answers what
// peerd's RPC server answers outside JSON-RPC (503, 413), or odd JSON.
func TestOddReplies(t *testing.T) {
	var status int
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, c := range []struct {
		status       int
		body, stderr string
		stdout       string
		code         int
	}{
		{503, "Work queue depth exceeded\n", "peerctl: peerd at " + addr + " answered HTTP 503: Work queue depth exceeded\n", "", 1},
		{404, "", "peerctl: peerd at " + addr + " answered HTTP 404\n", "", 1},
		{500, `{"result":null,"error":"boom","id":1}`, "error: \"boom\"\n", "", 1},
		{200, `{"result":{"a":[1,2.50]},"error":null,"id":1}`, "", "{\n  \"a\": [\n    1,\n    2.50\n  ]\n}\n", 0},
		{200, `{"jsonrpc":"2.0","result":"multi\nline","id":1}`, "", "multi\nline\n", 0},
	} {
		status, body = c.status, c.body
		code, stdout, stderr := peerctl(t, t.TempDir(), "", "--rpcserver="+addr, "--rpcuser=u", "--rpcpass=p", "getinfo")
		if code != c.code || stdout != c.stdout || stderr != c.stderr {
			t.Errorf("HTTP %d %q: got %d %q %q, want %d %q %q", c.status, c.body, code, stdout, stderr, c.code, c.stdout, c.stderr)
		}
	}
}

// TestTimeout checks the message when peerd does not answer in time.
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer close(release)
	addr := strings.TrimPrefix(srv.URL, "http://")
	code, _, stderr := peerctl(t, t.TempDir(), "", "--rpcserver="+addr, "--rpcuser=u", "--rpcpass=p", "--timeout=100ms", "uptime")
	if code != 1 || !strings.HasPrefix(stderr, "peerctl: no reply from peerd at "+addr+" within 100ms (") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("got %d %q", code, stderr)
	}
}
