package rpcserver

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The limits on hostile input, each refused cleanly: the reply is an HTTP
// error or a JSON-RPC error, nothing runs, and the server goes on. The
// basic cases are in security_test.go (TestBodyLimit) and protocol_test.go
// (TestNestingDepth, TestBatch, TestHugeBatchDefaultLimit); these are the
// defaults and the attacker's versions.

// allocated runs f and returns how many bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestDefaultBodyLimit sends a body one byte over the default limit, with
// its length declared and chunked: 413, and nothing runs.
func TestDefaultBodyLimit(t *testing.T) {
	s, b, _ := handlerServer(t, Config{})
	pad := DefaultMaxBodyBytes + 1 - len(`{"method":"ping","id":1,"x":""}`)
	body := `{"method":"ping","id":1,"x":"` + strings.Repeat("a", pad) + `"}`
	if len(body) != DefaultMaxBodyBytes+1 {
		t.Fatalf("body of %d bytes", len(body))
	}
	want := fmt.Sprintf("more than %d bytes", DefaultMaxBodyBytes)
	for _, declared := range []bool{true, false} {
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		body := &countingReader{r: strings.NewReader(body)}
		req.Body = io.NopCloser(body)
		req.ContentLength = int64(DefaultMaxBodyBytes + 1)
		if !declared { // as a chunked request: cut off by the reader
			req.ContentLength = -1
		}
		req.SetBasicAuth(testUser, testPass)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("length declared %v: got %d %.100q", declared, rec.Code, rec.Body)
		}
		if declared && body.n != 0 || body.n > DefaultMaxBodyBytes+1 {
			t.Errorf("length declared %v: %d bytes read", declared, body.n)
		}
	}
	if pings, _ := b.counts(); pings != 0 {
		t.Errorf("an oversized request ran: %d pings", pings)
	}
	if rec := serveFrom(s, "192.0.2.1:1", testUser, testPass, `{"method":"uptime","id":1}`); rec.Code != 200 {
		t.Errorf("after 413: got %d", rec.Code)
	}
}

// countingReader counts what is read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestUnauthorizedBodyNotRead checks that the body of a request without
// the right credentials is not read at all, whatever it declares.
func TestUnauthorizedBodyNotRead(t *testing.T) {
	s, _, _ := handlerServer(t, Config{AuthFailureLimit: -1})
	for _, user := range []string{"", testUser} {
		body := &countingReader{r: strings.NewReader(strings.Repeat("[", 1<<20))}
		req, _ := http.NewRequest(http.MethodPost, "/", body)
		req.ContentLength = 1 << 40
		req.RemoteAddr = "192.0.2.1:1"
		if user != "" {
			req.SetBasicAuth(user, "wrong")
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized || body.n != 0 {
			t.Errorf("credentials %q: got %d after reading %d bytes, want 401 and nothing read", user, rec.Code, body.n)
		}
	}
}

// TestHeaderLimit checks that headers over 8 KB (Core's limit) are refused
// before anything else: 431.
func TestHeaderLimit(t *testing.T) {
	ts := startServer(t, Config{})
	conn, err := net.Dial("tcp", ts.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nX-Junk: %s\r\nContent-Length: 2\r\n\r\n{}", strings.Repeat("a", 64<<10))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KB header: got %d, want 431", resp.StatusCode)
	}
}

// TestDeepNestingEverywhere checks that the depth limit holds whatever
// nests: objects, a batch's member, params, an id; and that a wide
// document within the limit is fine.
func TestDeepNestingEverywhere(t *testing.T) {
	ts := startServer(t, Config{})
	want := `{"result":null,"error":{"code":-32700,"message":"Parse error: JSON nested deeper than 32 levels"},"id":null}` + "\n"
	deep := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	for name, body := range map[string]string{
		"objects":          deep(33),
		"objects, a lot":   deep(500_000),
		"in a batch":       `[{"method":"ping","id":1},{"method":"ping","id":` + deep(31) + `}]`,
		"in named params":  `{"method":"help","id":1,"params":{"command":` + deep(31) + `}}`,
		"in the id":        `{"method":"ping","id":` + deep(32) + `}`,
		"unclosed":         strings.Repeat(`[{"a":`, 100),
		"closers first":    strings.Repeat("]", 100) + strings.Repeat("[", 33),
		"mixed, past 32":   strings.Repeat("[{", 16) + "[" + strings.Repeat("}]", 16) + "]",
		"batch of a deep":  "[" + strings.Repeat("[", 32) + strings.Repeat("]", 32) + "]",
		"unclosed strings": `["` + strings.Repeat(`\"[`, 100),
	} {
		// Invalid JSON that is not too deep is a plain parse error.
		plain := strings.Contains(name, "unclosed") || name == "closers first"
		if r := ts.post(t, body); r.status != 500 || (r.body != want && !plain) || !strings.Contains(r.body, `"code":-32700`) {
			t.Errorf("%s: got %d %.200s", name, r.status, r.body)
		}
	}
	if pings, _ := ts.backend.counts(); pings != 0 {
		t.Errorf("a refused request ran: %d pings", pings)
	}
	// 32 levels, and wide: parsed and answered.
	wide := `{"method":"ping","id":1,"x":[` + strings.TrimSuffix(strings.Repeat(deep(29)+",", 1000), ",") + `]}`
	if r := ts.post(t, wide); r.status != 200 || r.body != `{"result":null,"error":null,"id":1}`+"\n" {
		t.Errorf("wide, 32 levels: got %d %.200s", r.status, r.body)
	}
}

// TestHugeBatchCheap checks that a batch of millions of tiny members is
// refused after the limit's worth, without taking each apart: in about
// the memory of the body.
func TestHugeBatchCheap(t *testing.T) {
	s, b, _ := handlerServer(t, Config{})
	body := "[" + strings.Repeat(`{"method":"ping"},`, DefaultMaxBodyBytes/18-1) + `{"method":"ping"}]`
	var rec *httptest.ResponseRecorder
	alloc := allocated(func() { rec = serveFrom(s, "192.0.2.1:1", testUser, testPass, body) })
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "at most 1000 requests") {
		t.Errorf("got %d %.200s", rec.Code, rec.Body)
	}
	if pings, _ := b.counts(); pings != 0 {
		t.Errorf("%d members of a refused batch ran", pings)
	}
	if limit := 3 * uint64(len(body)); alloc > limit {
		t.Errorf("a refused batch of %d bytes allocated %d bytes, more than %d", len(body), alloc, limit)
	}
}

// TestManyMembersCheap sends request objects with 300,000 members: the
// ones that matter are found, the others cost nothing (a decoder that
// kept them all allocated 70 times the body).
func TestManyMembersCheap(t *testing.T) {
	s, b, _ := handlerServer(t, Config{})
	junk := strings.Repeat(`,"a":1`, 300_000)
	for _, c := range []struct {
		name, body, want string
	}{
		{"request object", `{"method":"ping","id":1` + junk + `}`, `{"result":null,"error":null,"id":1}`},
		{"repeated members, the first counts", `{"method":"ping","id":1` + strings.Repeat(`,"method":"stop","id":2`, 100_000) + `}`,
			`{"result":null,"error":null,"id":1}`},
		{"named params", `{"method":"help","id":1,"params":{"command":"ping"` + junk + `}}`,
			`{"result":null,"error":{"code":-8,"message":"Unknown named parameter a"},"id":1}`},
		{"positional params", `{"method":"help","id":1,"params":[` + strings.Repeat(`1,`, 300_000) + `1]}`,
			`{"result":null,"error":{"code":-1,"message":"help ( \"command\" )`},
	} {
		var rec *httptest.ResponseRecorder
		alloc := allocated(func() { rec = serveFrom(s, "192.0.2.1:1", testUser, testPass, c.body) })
		if !strings.HasPrefix(rec.Body.String(), c.want) {
			t.Errorf("%s: got %d %.200s", c.name, rec.Code, rec.Body)
		}
		if limit := 3 * uint64(len(c.body)); alloc > limit {
			t.Errorf("%s: %d bytes allocated %d, more than %d", c.name, len(c.body), alloc, limit)
		}
	}
	if _, stops := b.counts(); stops != 0 {
		t.Error("a repeated member won over the first")
	}
}
