package rpcserver

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// handlerServer is a Server that tests call through ServeHTTP, with a fake
// clock and no delay after a failed authentication; it does not serve.
func handlerServer(t *testing.T, cfg Config) (*Server, *fakeBackend, *fakeClock) {
	t.Helper()
	cfg.Listen = []string{"127.0.0.1:0"}
	cfg.User, cfg.Pass = testUser, testPass
	if cfg.AuthFailureDelay == 0 {
		cfg.AuthFailureDelay = -1
	}
	b := newFakeBackend()
	s, err := New(cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	clk := &fakeClock{t: time.Unix(1700000000, 0)}
	s.now = clk.now
	return s, b, clk
}

// serveFrom sends a POST of body from the client address remote, with
// the credentials (none when user is "").
func serveFrom(s *Server, remote, user, pass, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.RemoteAddr = remote
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// TestAuthFailureLimit checks the limit on failed authentications: five
// failures from an address within a minute lock it out for a minute, with
// 429 and Retry-After for every request with credentials, right or
// wrong; other addresses are not affected; the lockout ends.
func TestAuthFailureLimit(t *testing.T) {
	s, b, clk := handlerServer(t, Config{})
	const a, other = "192.0.2.1:50001", "198.51.100.2:50002"
	ping := `{"method":"ping","id":1}`
	expect := func(what string, rec *httptest.ResponseRecorder, status int) {
		t.Helper()
		if rec.Code != status {
			t.Fatalf("%s: got %d %q, want %d", what, rec.Code, rec.Body, status)
		}
		switch status {
		case http.StatusUnauthorized:
			if rec.Header().Get("WWW-Authenticate") != wwwAuthenticate || rec.Body.Len() != 0 {
				t.Errorf("%s: 401 with WWW-Authenticate %q and body %q", what, rec.Header().Get("WWW-Authenticate"), rec.Body)
			}
		case http.StatusTooManyRequests:
			if !strings.Contains(rec.Body.String(), "Too many failed authentication attempts") || rec.Header().Get("Retry-After") == "" {
				t.Errorf("%s: 429 with Retry-After %q and body %q", what, rec.Header().Get("Retry-After"), rec.Body)
			}
		}
	}

	// Four failures, spread over most of a minute, and a success: the
	// success does not reset the count.
	for i := range 4 {
		expect(fmt.Sprintf("failure %d", i+1), serveFrom(s, a, testUser, "guess", ping), 401)
		clk.advance(10 * time.Second)
	}
	expect("right password after 4 failures", serveFrom(s, a, testUser, testPass, ping), 200)
	// Another address fails and succeeds on its own account.
	expect("other address fails", serveFrom(s, other, "x", "y", ping), 401)
	expect("other address succeeds", serveFrom(s, other, testUser, testPass, ping), 200)

	// The fifth failure within the minute is answered 401 and locks the
	// address out.
	clk.advance(10 * time.Second) // 50 s after the first failure
	expect("failure 5", serveFrom(s, a, testUser, "guess", ping), 401)
	rec := serveFrom(s, a, testUser, "guess", ping)
	expect("failure 6", rec, 429)
	if got := rec.Header().Get("Retry-After"); got != "60" {
		t.Errorf("Retry-After %q, want 60", got)
	}
	// Right credentials are refused too: a guesser learns nothing.
	pings, _ := b.counts()
	expect("right password while locked out", serveFrom(s, a, testUser, testPass, ping), 429)
	if now, _ := b.counts(); now != pings {
		t.Error("a request from a locked-out address ran")
	}
	// Without credentials, it is still the plain 401 (no attempt).
	expect("no credentials while locked out", serveFrom(s, a, "", "", ping), 401)
	// Another port of the same address is the same client.
	expect("another port", serveFrom(s, "192.0.2.1:60000", testUser, testPass, ping), 429)
	// Other addresses are not affected, and their successes do not
	// unlock the locked-out one.
	expect("other address while a is locked out", serveFrom(s, other, testUser, testPass, ping), 200)
	expect("a still locked out", serveFrom(s, a, testUser, testPass, ping), 429)

	// Attempts during the lockout do not extend it.
	clk.advance(59 * time.Second)
	rec = serveFrom(s, a, testUser, "guess", ping)
	expect("59 s into the lockout", rec, 429)
	if got := rec.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
	clk.advance(time.Second)
	expect("after the lockout", serveFrom(s, a, testUser, testPass, ping), 200)
	// The count starts anew: four failures are 401, the fifth locks.
	for i := range 4 {
		expect(fmt.Sprintf("failure %d after the lockout", i+1), serveFrom(s, a, testUser, "guess", ping), 401)
	}
	expect("failure 5 after the lockout", serveFrom(s, a, testUser, "guess", ping), 401)
	expect("failure 6 after the lockout", serveFrom(s, a, testUser, "guess", ping), 429)

	// Failures further apart than the window do not add up.
	const slow = "203.0.113.3:1"
	for i := range 12 {
		expect(fmt.Sprintf("slow failure %d", i+1), serveFrom(s, slow, testUser, "guess", ping), 401)
		if i%4 == 3 {
			clk.advance(61 * time.Second)
		}
	}
}

// TestAuthFailureLimitIPv6 checks that IPv6 clients count by /64.
func TestAuthFailureLimitIPv6(t *testing.T) {
	s, _, _ := handlerServer(t, Config{AuthFailureLimit: 2})
	ping := `{"method":"ping","id":1}`
	for _, remote := range []string{"[2001:db8:1:2::1]:1", "[2001:db8:1:2:ffff::9]:2"} {
		if rec := serveFrom(s, remote, testUser, "guess", ping); rec.Code != 401 {
			t.Fatalf("%s: got %d", remote, rec.Code)
		}
	}
	if rec := serveFrom(s, "[2001:db8:1:2::77]:3", testUser, testPass, ping); rec.Code != 429 {
		t.Errorf("same /64: got %d, want 429", rec.Code)
	}
	if rec := serveFrom(s, "[2001:db8:1:3::1]:3", testUser, testPass, ping); rec.Code != 200 {
		t.Errorf("another /64: got %d, want 200", rec.Code)
	}
}

// TestAuthFailureLimitOff checks that a negative limit turns it off.
func TestAuthFailureLimitOff(t *testing.T) {
	s, _, _ := handlerServer(t, Config{AuthFailureLimit: -1})
	for i := range 20 {
		if rec := serveFrom(s, "192.0.2.1:1", testUser, "guess", `{}`); rec.Code != 401 {
			t.Fatalf("failure %d: got %d, want 401", i+1, rec.Code)
		}
	}
	if rec := serveFrom(s, "192.0.2.1:1", testUser, testPass, `{"method":"ping","id":1}`); rec.Code != 200 {
		t.Errorf("right password: got %d", rec.Code)
	}
}

// TestAuthFailureLimitConcurrent sends many wrong guesses at once from one
// address, and right requests from another: no more than the limit of
// guesses get an answer, and the right requests all do.
func TestAuthFailureLimitConcurrent(t *testing.T) {
	s, _, _ := handlerServer(t, Config{MaxConcurrent: 1000})
	const guesses, rights = 200, 50
	var wg sync.WaitGroup
	codes := make(chan int, guesses)
	rightCodes := make(chan int, rights)
	for i := range guesses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- serveFrom(s, "192.0.2.1:1", testUser, fmt.Sprint("guess", i), `{"method":"ping","id":1}`).Code
		}()
	}
	for range rights {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rightCodes <- serveFrom(s, "192.0.2.2:1", testUser, testPass, `{"method":"ping","id":1}`).Code
		}()
	}
	wg.Wait()
	close(codes)
	close(rightCodes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[401] != DefaultAuthFailureLimit || count[429] != guesses-DefaultAuthFailureLimit {
		t.Errorf("concurrent guesses: %v, want %d × 401 and the rest 429", count, DefaultAuthFailureLimit)
	}
	for c := range rightCodes {
		if c != 200 {
			t.Errorf("a right request from another address: %d", c)
		}
	}
}

// TestAuthLimiterBounded checks that the limiter tracks at most
// MaxAuthTracked addresses, forgetting the least recently failed first,
// and drops what has expired.
func TestAuthLimiterBounded(t *testing.T) {
	s, _, clk := handlerServer(t, Config{})
	addr := func(i int) string { return fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255) }
	// One address is locked out first; then more addresses than the table
	// holds fail once each.
	for range DefaultAuthFailureLimit {
		serveFrom(s, addr(0), testUser, "guess", `{}`)
	}
	if rec := serveFrom(s, addr(0), testUser, testPass, `{}`); rec.Code != 429 {
		t.Fatalf("address 0 not locked out: %d", rec.Code)
	}
	const n = 3 * MaxAuthTracked
	for i := 1; i <= n; i++ {
		if rec := serveFrom(s, addr(i), testUser, "guess", `{}`); rec.Code != 401 {
			t.Fatalf("address %d: got %d", i, rec.Code)
		}
		if got := s.limiter.tracked(); got > MaxAuthTracked {
			t.Fatalf("%d addresses tracked, want at most %d", got, MaxAuthTracked)
		}
	}
	if got := s.limiter.tracked(); got != MaxAuthTracked {
		t.Errorf("%d addresses tracked, want %d", got, MaxAuthTracked)
	}
	// The oldest were forgotten (address 0 with them); the newest are
	// still counted.
	if rec := serveFrom(s, addr(0), testUser, testPass, `{"method":"ping","id":1}`); rec.Code != 200 {
		t.Errorf("address 0 after %d others: got %d, want it forgotten", n, rec.Code)
	}
	for range DefaultAuthFailureLimit - 1 {
		serveFrom(s, addr(n), testUser, "guess", `{}`)
	}
	if rec := serveFrom(s, addr(n), testUser, "guess", `{}`); rec.Code != 429 {
		t.Errorf("the newest address after %d more failures: %d, want 429", DefaultAuthFailureLimit, rec.Code)
	}
	// Once the window is over, the table empties as attempts come.
	clk.advance(DefaultAuthFailureWindow + DefaultAuthLockout)
	serveFrom(s, addr(1), testUser, "guess", `{}`)
	if got := s.limiter.tracked(); got != 1 {
		t.Errorf("%d addresses tracked after the window, want 1", got)
	}
}

func TestClientKey(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.1:8332":              "192.0.2.1/32",
		"[::ffff:192.0.2.1]:8332":     "192.0.2.1/32",
		"[2001:db8:1:2:3:4:5:6]:8332": "2001:db8:1:2::/64",
		"[fe80::1%eth0]:8332":         "fe80::/64",
		"[::1]:8332":                  "::/64",
		"junk":                        netip.Prefix{}.String(),
	} {
		if got := clientKey(remote).String(); got != want {
			t.Errorf("clientKey(%q) = %s, want %s", remote, got, want)
		}
	}
}
