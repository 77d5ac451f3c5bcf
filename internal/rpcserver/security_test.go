package rpcserver

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCredentials checks HTTP basic authentication: 401 with Core's
// WWW-Authenticate header for missing or wrong credentials. (Without the
// limit on failures, which TestAuthFailureLimit tests.)
func TestCredentials(t *testing.T) {
	ts := startServer(t, Config{AuthFailureLimit: -1})
	body := `{"method":"getconnectioncount","id":1}`
	for _, c := range []struct {
		name, user, pass string
	}{
		{"none", "", ""},
		{"wrong password", testUser, "wrong"},
		{"wrong user", "bob", testPass},
		{"password prefix", testUser, testPass[:5]},
		{"password longer", testUser, testPass + "x"},
		{"empty password", testUser, ""},
		{"swapped", testPass, testUser},
	} {
		r := do(t, http.MethodPost, ts.url, c.user, c.pass, strings.NewReader(body))
		if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != `Basic realm="jsonrpc"` || r.body != "" {
			t.Errorf("%s: got %d %q %q, want 401 with WWW-Authenticate", c.name, r.status, r.header.Get("WWW-Authenticate"), r.body)
		}
	}
	// Not basic authentication at all.
	req, _ := http.NewRequest(http.MethodPost, ts.url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testPass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("bearer token: got %d", resp.StatusCode)
	}
	if pings, _ := ts.backend.counts(); pings != 0 {
		t.Error("an unauthorized request ran")
	}
	if r := ts.post(t, body); r.status != 200 {
		t.Errorf("right credentials: got %d %s", r.status, r.body)
	}
}

// TestAuthFailureDelay checks that a wrong password waits before its 401.
func TestAuthFailureDelay(t *testing.T) {
	const delay = 150 * time.Millisecond
	ts := startServer(t, Config{AuthFailureDelay: delay})
	start := time.Now()
	r := do(t, http.MethodPost, ts.url, testUser, "wrong", strings.NewReader(`{}`))
	if elapsed := time.Since(start); r.status != 401 || elapsed < delay {
		t.Errorf("wrong password: %d after %v, want 401 after %v or more", r.status, elapsed, delay)
	}
	if r := ts.post(t, `{"method":"ping","id":1}`); r.status != 200 {
		t.Errorf("right password: %d", r.status)
	}
}

// TestAuthFailureFreesSlot checks that requests waiting out a wrong
// password do not hold the work queue.
func TestAuthFailureFreesSlot(t *testing.T) {
	ts := startServer(t, Config{MaxConcurrent: 1, AuthFailureDelay: 300 * time.Millisecond})
	wrong := make(chan reply, 1)
	go func() { wrong <- do(t, http.MethodPost, ts.url, testUser, "guess", strings.NewReader(`{}`)) }()
	time.Sleep(100 * time.Millisecond) // the guess is waiting
	if r := ts.post(t, `{"method":"uptime","id":1}`); r.status != 200 {
		t.Errorf("the operator's request during a guess: got %d %q", r.status, r.body)
	}
	if r := <-wrong; r.status != 401 {
		t.Errorf("the guess: got %d", r.status)
	}
}

// TestPathsAndMethods checks Core's routing: only "/" exists, and it
// takes only POST.
func TestPathsAndMethods(t *testing.T) {
	ts := startServer(t, Config{})
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/", 405},
		{http.MethodPut, "/", 405},
		{http.MethodHead, "/", 405},
		{http.MethodPost, "/wallet/main", 404},
		{http.MethodPost, "/rest/tx", 404},
		{http.MethodGet, "/x", 404},
		{http.MethodPost, "/", 200},
	} {
		r := do(t, c.method, strings.TrimSuffix(ts.url, "/")+c.path, testUser, testPass, strings.NewReader(`{"method":"uptime","id":1}`))
		if r.status != c.status {
			t.Errorf("%s %s: got %d, want %d", c.method, c.path, r.status, c.status)
		}
		if c.status == 405 && (r.header.Get("Allow") != "POST" || (c.method != http.MethodHead && !strings.Contains(r.body, "JSONRPC server handles only POST requests"))) {
			t.Errorf("%s %s: Allow %q, body %q", c.method, c.path, r.header.Get("Allow"), r.body)
		}
	}
	// Method before credentials, as Core: a GET without them is 405.
	if r := do(t, http.MethodGet, ts.url, "", "", nil); r.status != 405 {
		t.Errorf("GET without credentials: got %d, want 405", r.status)
	}
}

// TestBodyLimit checks that bodies over the limit are 413, whether their
// length is declared or not, and that a 4 MB transaction fits the default.
func TestBodyLimit(t *testing.T) {
	ts := startServer(t, Config{MaxBodyBytes: 1024})
	big := `{"method":"help","params":["` + strings.Repeat("a", 2000) + `"],"id":1}`
	if r := ts.post(t, big); r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "more than 1024 bytes") {
		t.Errorf("declared length: got %d %q", r.status, r.body)
	}
	// No Content-Length: chunked, cut off by the reader.
	r := do(t, http.MethodPost, ts.url, testUser, testPass, io.MultiReader(strings.NewReader(big)))
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked: got %d %q", r.status, r.body)
	}
	// Just within the limit.
	fits := `{"method":"help","params":["` + strings.Repeat("a", 1024-len(`{"method":"help","params":[""],"id":1}`)) + `"],"id":1}`
	if r := ts.post(t, fits); r.status != 200 {
		t.Errorf("1024 bytes: got %d %.100s", r.status, r.body)
	}
	// The server goes on.
	if r := ts.post(t, `{"method":"uptime","id":1}`); r.status != 200 {
		t.Errorf("after 413: got %d", r.status)
	}
}

func TestFourMegabyteTransaction(t *testing.T) {
	ts := startServer(t, Config{})
	txHex, txid := testTx(t, 1, 3_999_925)
	if len(txHex) < 8_000_000 {
		t.Fatalf("transaction of %d hex digits, want 8 million", len(txHex))
	}
	if got := ts.mustCall(t, "sendrawtransaction", []any{txHex}); string(got) != `"`+txid+`"` {
		t.Errorf("sendrawtransaction of 4 MB = %s, want %s", got, txid)
	}
}

// TestWorkQueue checks that requests beyond MaxConcurrent are 503, as
// Core's work queue.
func TestWorkQueue(t *testing.T) {
	ts := startServer(t, Config{MaxConcurrent: 1})
	release := make(chan struct{})
	entered := ts.backend.setBlock(release)
	first := make(chan reply, 1)
	go func() { first <- ts.post(t, `{"method":"getconnectioncount","id":1}`) }()
	<-entered
	if r := ts.post(t, `{"method":"uptime","id":2}`); r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "Work queue depth exceeded") {
		t.Errorf("second request: got %d %q, want 503", r.status, r.body)
	}
	close(release)
	if r := <-first; r.status != 200 || r.body != `{"result":1,"error":null,"id":1}`+"\n" {
		t.Errorf("first request: got %d %s", r.status, r.body)
	}
	if r := ts.post(t, `{"method":"uptime","id":3}`); r.status != 200 {
		t.Errorf("third request: got %d %s", r.status, r.body)
	}
}

var cookieRE = regexp.MustCompile(`^__cookie__:[0-9a-f]{64}$`)

// TestCookie checks cookie authentication: the file's content and mode,
// that its credentials work, and that Close removes it.
func TestCookie(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "testnet4") // created by New
	ts := startServer(t, Config{CookieDir: dir})
	path := filepath.Join(dir, ".cookie")
	if ts.CookiePath() != path {
		t.Errorf("CookiePath() = %q, want %q", ts.CookiePath(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !cookieRE.Match(b) {
		t.Errorf("cookie %q, want __cookie__: and 64 hex digits, no newline", b)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("cookie mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary cookie file left: %v", err)
	}
	user, pass, _ := strings.Cut(string(b), ":")
	if r := do(t, http.MethodPost, ts.url, user, pass, strings.NewReader(`{"method":"uptime","id":1}`)); r.status != 200 {
		t.Errorf("cookie credentials: got %d %s", r.status, r.body)
	}
	if r := do(t, http.MethodPost, ts.url, user, pass[:63]+"0", strings.NewReader(`{"method":"uptime","id":1}`)); r.status != 401 && pass[63] != '0' {
		t.Errorf("wrong cookie: got %d", r.status)
	}
	if r := do(t, http.MethodPost, ts.url, testUser, testPass, strings.NewReader(`{"method":"uptime","id":1}`)); r.status != 401 {
		t.Errorf("other credentials with a cookie: got %d", r.status)
	}
	ts.stop(t)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cookie still there after Close: %v", err)
	}
	if err := ts.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// Each start writes a new cookie.
	ts2 := startServer(t, Config{CookieDir: dir})
	b2, err := os.ReadFile(ts2.CookiePath())
	if err != nil || !cookieRE.Match(b2) || string(b2) == string(b) {
		t.Errorf("second cookie %q (%v), first %q", b2, err, b)
	}
}

// TestCookieReplaced checks that Close leaves a cookie file that is no
// longer its own (another peerd's).
func TestCookieReplaced(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, Config{CookieDir: dir})
	other := "__cookie__:" + strings.Repeat("0", 64)
	if err := os.WriteFile(ts.CookiePath(), []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	ts.stop(t)
	if b, err := os.ReadFile(filepath.Join(dir, ".cookie")); err != nil || string(b) != other {
		t.Errorf("someone else's cookie: %q, %v", b, err)
	}
}

// TestCookieOldTempFile checks that a stale .cookie.tmp with loose
// permissions does not make the cookie readable by others.
func TestCookieOldTempFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".cookie.tmp"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, Config{CookieDir: dir})
	fi, err := os.Stat(ts.CookiePath())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("cookie mode: %v, %v", fi.Mode().Perm(), err)
	}
}

func TestNewErrors(t *testing.T) {
	b := newFakeBackend()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		cfg  Config
		b    Backend
		want string
	}{
		{"no backend", Config{Listen: []string{"127.0.0.1:0"}, User: "u", Pass: "p"}, nil, "no backend"},
		{"no address", Config{User: "u", Pass: "p"}, b, "no address"},
		{"user only", Config{Listen: []string{"127.0.0.1:0"}, User: "u"}, b, "both"},
		{"password only", Config{Listen: []string{"127.0.0.1:0"}, Pass: "p"}, b, "both"},
		{"no cookie dir", Config{Listen: []string{"127.0.0.1:0"}}, b, "cookie"},
		{"address in use", Config{Listen: []string{"127.0.0.1:0", busy.Addr().String()}, CookieDir: dir}, b, "listen on " + busy.Addr().String()},
		{"bad address", Config{Listen: []string{"nonsense"}, CookieDir: dir}, b, "listen on nonsense"},
	} {
		s, err := New(c.cfg, c.b)
		if err == nil {
			s.Close()
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want it to say %q", c.name, err, c.want)
		}
	}
	// A failed New leaves no cookie behind.
	if _, err := os.Stat(filepath.Join(dir, ".cookie")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cookie after a failed New: %v", err)
	}
}

// TestLifecycle checks Serve and Close: several listeners, Close while a
// request runs (it is answered), Serve returning, and Close before Serve.
func TestLifecycle(t *testing.T) {
	b := newFakeBackend()
	s, err := New(Config{Listen: []string{"127.0.0.1:0", "127.0.0.1:0"}, User: testUser, Pass: testPass}, b)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Addrs()); n != 2 {
		t.Fatalf("%d addresses", n)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background()) }()
	for _, a := range s.Addrs() {
		r := do(t, http.MethodPost, "http://"+a.String()+"/", testUser, testPass, strings.NewReader(`{"method":"uptime","id":1}`))
		if r.status != 200 {
			t.Errorf("%v: got %d", a, r.status)
		}
	}
	if err := s.Serve(context.Background()); err == nil {
		t.Error("a second Serve did not fail")
	}

	// A request in flight when Close is called gets its reply: as "stop"
	// must.
	release := make(chan struct{})
	entered := b.setBlock(release)
	inflight := make(chan reply, 1)
	go func() {
		inflight <- do(t, http.MethodPost, "http://"+s.Addrs()[0].String()+"/", testUser, testPass, strings.NewReader(`{"method":"stop","id":1}`))
	}()
	<-entered
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	time.Sleep(50 * time.Millisecond) // Close is waiting for the request
	close(release)
	if r := <-inflight; r.status != 200 || r.body != `{"result":"peerd stopping","error":null,"id":1}`+"\n" {
		t.Errorf("stop during Close: got %d %s", r.status, r.body)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
	if _, stops := b.counts(); stops != 1 {
		t.Errorf("backend saw %d stops", stops)
	}
	for _, a := range s.Addrs() {
		if c, err := net.Dial("tcp", a.String()); err == nil {
			c.Close()
			t.Errorf("%v still accepts connections", a)
		}
	}

	// Close before Serve: Serve returns at once, the port is free.
	s2, err := New(Config{Listen: []string{"127.0.0.1:0"}, User: "u", Pass: "p"}, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s2.Serve(context.Background()); err != nil {
		t.Errorf("Serve after Close: %v", err)
	}
	l, err := net.Listen("tcp", s2.Addrs()[0].String())
	if err != nil {
		t.Errorf("port not freed by Close: %v", err)
	} else {
		l.Close()
	}
}
