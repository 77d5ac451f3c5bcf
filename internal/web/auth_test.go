package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/v2"

	"github.com/peerd/peerd/internal/rpcserver"
	"github.com/peerd/peerd/node"
)

// rpcAuth is a real RPC server's credential check, on a real node's admin
// interface; cookieDir "" means user "u", password "p".
func rpcAuth(t *testing.T, cookieDir string) (*rpcserver.Server, *node.Admin) {
	t.Helper()
	n, err := node.New(node.Config{Params: &chaincfg.RegressionNetParams, NoListen: true, NoDNSSeed: true})
	if err != nil {
		t.Fatal(err)
	}
	admin := node.NewAdmin(n, 100, func() {})
	cfg := rpcserver.Config{Listen: []string{"127.0.0.1:0"}, AuthFailureDelay: -1, CookieDir: cookieDir}
	if cookieDir == "" {
		cfg.User, cfg.Pass = "u", "p"
	}
	srv, err := rpcserver.New(cfg, admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, admin
}

// TestAuthAsRPC: every path of the page, its data and its assets refuse a
// request without the RPC credentials or with wrong ones, and answer the
// right ones: --rpcuser/--rpcpass, or the cookie's.
func TestAuthAsRPC(t *testing.T) {
	srv, admin := rpcAuth(t, "")
	s := newServer(Config{Source: admin, Auth: func(w http.ResponseWriter, r *http.Request) bool { return srv.Authenticate(w, r, "peerd") }})
	paths := []string{"/", "/api/state", "/events", "/static/app.js", "/peer/1", "/tx/00"}
	for i, path := range paths {
		w := get(t, s, path)
		if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") != `Basic realm="peerd"` {
			t.Errorf("%s without credentials: %d %q, want 401 with a challenge", path, w.Code, w.Header().Get("WWW-Authenticate"))
		}
		if strings.Contains(w.Body.String(), "<") {
			t.Errorf("%s without credentials shows content: %q", path, w.Body)
		}
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = fmt.Sprintf("192.0.2.%d:1234", i+1) // each its own address: below the lockout
		r.SetBasicAuth("u", "wrong")
		w = httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong password: %d, want 401", path, w.Code)
		}
	}
	r := httptest.NewRequest("GET", "/api/state", nil)
	r.SetBasicAuth("u", "p")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"peers":[]`) {
		t.Errorf("/api/state with the credentials: %d %s", w.Code, w.Body)
	}

	// Failures count against the RPC server's per-address limit.
	for i := 0; i < rpcserver.DefaultAuthFailureLimit; i++ {
		r := httptest.NewRequest("GET", "/", nil)
		r.SetBasicAuth("u", "guess")
		s.ServeHTTP(httptest.NewRecorder(), r)
	}
	r = httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth("u", "p")
	w = httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusTooManyRequests {
		t.Errorf("after %d failures the right password got %d, want 429 as the RPC server answers", rpcserver.DefaultAuthFailureLimit, w.Code)
	}

	// The cookie.
	dir := t.TempDir()
	srv, admin = rpcAuth(t, dir)
	s = newServer(Config{Source: admin, Auth: func(w http.ResponseWriter, r *http.Request) bool { return srv.Authenticate(w, r, "peerd") }})
	data, err := os.ReadFile(filepath.Join(dir, rpcserver.CookieFile))
	if err != nil {
		t.Fatal(err)
	}
	user, pass, _ := strings.Cut(string(data), ":")
	r = httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pass)
	w = httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != 200 || user != rpcserver.CookieUser {
		t.Errorf("/ with the cookie %q: %d", user, w.Code)
	}
	r = httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pass+"0")
	w = httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("/ with a wrong cookie: %d", w.Code)
	}
}

// TestRealNodeServes: the page on a real node's admin interface.
func TestRealNodeServes(t *testing.T) {
	_, admin := rpcAuth(t, "")
	s := newServer(Config{Source: admin, Auth: allow})
	if w := get(t, s, "/"); w.Code != 200 || !strings.Contains(w.Body.String(), "no peers") {
		t.Errorf("/ on an idle node: %d", w.Code)
	}
}
