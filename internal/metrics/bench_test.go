package metrics

import (
	"io"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/peerd/peerd/node"
)

// BenchmarkScrape1000Peers is one scrape of /metrics, as Prometheus makes
// it (the handler, the text format written), with 1,000 handshaken peers
// held over loopback TCP: the node's collector and Go's runtime and
// process collectors. The bound is 5 ms.
func BenchmarkScrape1000Peers(b *testing.B) {
	const peers = 1000
	n := startNodeWith(b, func(c *node.Config) {
		c.MaxPeers = peers + 100
		c.MaxPendingPerSubnet = -1
	})
	addr := n.ListenAddrs()[0].String()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for range peers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p := dial(b, addr)
			p.conn.SetDeadline(time.Now().Add(5 * time.Minute))
			p.handshake()
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for n.PeerCount() != peers || n.Stats().HandshakesDone.Load() != peers {
		if time.Now().After(deadline) {
			b.Fatalf("%d peers, %d handshakes; want %d", n.PeerCount(), n.Stats().HandshakesDone.Load(), peers)
		}
		time.Sleep(10 * time.Millisecond)
	}
	h := Handler(Registry(n))
	req := httptest.NewRequest("GET", "/metrics", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
		io.Copy(io.Discard, w.Body)
	}
}
