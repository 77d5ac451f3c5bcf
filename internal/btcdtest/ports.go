package btcdtest

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
)

// handedOut remembers every port returned by freePort in this process so
// that two callers (e.g. parallel tests) never receive the same port, even
// if the kernel offers it again after it was closed.
var (
	portsMu   sync.Mutex
	handedOut = map[int]bool{}
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. It
// binds 127.0.0.1:0, closes the listener and returns the port, and never
// returns the same port twice within one process. Another process may still
// grab the port before the caller binds it; [Start] retries with new ports
// when btcd fails to bind.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// FreeAddr is [FreePort] formatted as "127.0.0.1:PORT".
func FreeAddr(t testing.TB) string {
	t.Helper()
	return loopback(FreePort(t))
}

func loopback(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

func freePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("btcdtest: listen on 127.0.0.1:0: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !handedOut[port] {
			handedOut[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("btcdtest: no unused loopback port found")
}
