package node

// Hostile address gossip: a flood of 100,000 addresses from one peer and
// from 100 peers of one /16, and addrv2 entries the decoder cannot use.
// The floods log their peak memory as the cases of hostile_test.go do:
// `go test -v -run 'AddrFlood' ./node`.

import (
	"net"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/node/addrbook"
	"github.com/peerd/peerd/peer"
)

// floodSize is how many addresses a flood carries, in addr messages of
// peer.MaxAddrPerMsg.
const floodSize = 100_000

// floodAddr is the i-th flooded address: routable, each in its own /24,
// spread over 60 first octets (20 to 79) and so over thousands of /16s.
func floodAddr(i int) *wire.NetAddress {
	ip := net.IPv4(byte(20+i%60), byte(i/60), byte(i/(60*256)), 1)
	return wire.NewNetAddressIPPort(ip, 8333, wire.SFNodeNetwork|wire.SFNodeWitness)
}

// floodMsg is addr message k of a flood: entries k*1,000 up to the next.
func floodMsg(k int) *wire.MsgAddr {
	m := wire.NewMsgAddr()
	for i := k * peer.MaxAddrPerMsg; i < (k+1)*peer.MaxAddrPerMsg; i++ {
		m.AddAddress(floodAddr(i))
	}
	return m
}

// addrCounts sums what getpeerinfo says the node's peers sent.
func addrCounts(n *Node) (processed, limited uint64) {
	for _, p := range n.Peers() {
		processed += p.AddrProcessed
		limited += p.AddrRateLimited
	}
	return processed, limited
}

func bookLen(n *Node) int {
	n.bookMu.Lock()
	defer n.bookMu.Unlock()
	return n.book.Len()
}

// checkFlood waits until every flooded address is counted, then checks
// that the token bucket dropped all but the few it allowed (1 token per
// peer at the start, 0.1 more a second) and that the book took no more
// than that, which is also within the 64 new buckets of 64 slots the
// flooding source group may reach.
func checkFlood(t *testing.T, n *Node, peers int, start time.Time) {
	t.Helper()
	waitFor(t, "every flooded address counted", func() bool {
		p, l := addrCounts(n)
		return p+l == floodSize
	})
	processed, limited := addrCounts(n)
	allowed := uint64(peers) + uint64(float64(peers)*peer.AddrRate*time.Since(start).Seconds()) + 1
	if processed > allowed {
		t.Errorf("processed %d addresses, the token buckets allow at most %d", processed, allowed)
	}
	size := bookLen(n)
	t.Logf("%d peers, %d addresses: %d processed, %d rate-limited, %d in the book", peers, floodSize, processed, limited, size)
	if uint64(size) > processed || size > 64*addrbook.BucketSize {
		t.Errorf("the book holds %d addresses after %d were processed (a source group reaches %d slots)",
			size, processed, 64*addrbook.BucketSize)
	}
}

// One inbound peer sends 100 addr messages of 1,000 fresh routable
// addresses: it stays connected, its token bucket lets through what it
// holds (1 token at the start, 0.1 a second) and counts the rest as
// rate-limited, and the book grows by at most that.
func TestAddrFloodOnePeer(t *testing.T) {
	n := startNode(t, testConfig())
	p := dialTestPeer(t, n.addr)
	p.handshake()
	msgs := make([]*wire.MsgAddr, floodSize/peer.MaxAddrPerMsg)
	for k := range msgs {
		msgs[k] = floodMsg(k)
	}
	done := watchMemory(t, "addr flood, one peer", 32*mb)
	start := time.Now()
	for _, m := range msgs {
		p.send(m)
	}
	p.pingPong(7)
	checkFlood(t, n.Node, 1, start)
	done()
}

// 100 inbound peers of 127.42.0.0/16 (8 per /24) each send one addr
// message of 1,000 fresh addresses: each is kept, each bucket lets 1
// through, and the book takes them in the buckets of the one source group.
func TestAddrFloodOneGroup(t *testing.T) {
	const peers = floodSize / peer.MaxAddrPerMsg
	n := startNode(t, testConfig())
	msgs := make([]*wire.MsgAddr, peers)
	for k := range msgs {
		msgs[k] = floodMsg(k)
	}
	done := watchMemory(t, "addr flood, 100 peers of one /16", 32*mb)
	start := time.Now()
	tps := make([]*testPeer, peers)
	for i := range tps {
		conn, err := rawDial(spread(42, i), n.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.SetDeadline(time.Now().Add(60 * time.Second))
		tps[i] = dialTestPeerConn(t, conn)
		tps[i].handshake()
		tps[i].send(msgs[i])
	}
	for i, p := range tps {
		p.pingPong(uint64(i + 1))
	}
	// The node may dial a few of the flooded addresses on its own (its
	// outbound policy draws from the book): count the flooding peers.
	inbound := 0
	for _, s := range n.Peers() {
		if s.Inbound {
			inbound++
		}
	}
	if inbound != peers {
		t.Errorf("%d flooding peers still connected after the flood, want %d", inbound, peers)
	}
	checkFlood(t, n.Node, peers, start)
	done()
}

// Core's p2p_invalid_messages.py: an addrv2 entry with an unknown network
// id, or with an address longer than 512 bytes, is dropped; the peer is
// kept and the message's good entry lands in the book.
func TestAddrV2BadEntriesKeepPeer(t *testing.T) {
	n := startNode(t, testConfig())
	p := dialTestPeer(t, n.addr)
	p.handshake()
	entry := func(netID byte, addr []byte) []byte {
		e := []byte{0, 0, 0, 0, 1, netID}
		if len(addr) < 0xfd {
			e = append(e, byte(len(addr)))
		} else {
			e = append(e, 0xfd, byte(len(addr)), byte(len(addr)>>8))
		}
		return append(append(e, addr...), 0x20, 0x8d) // port 8333
	}
	now := uint32(time.Now().Unix())
	var payload []byte
	payload = append(payload, 3)
	for _, e := range [][]byte{
		entry(0x42, []byte{9, 9, 9, 9}), // unknown network id
		entry(2, make([]byte, 513)),     // IPv6 id, 513 bytes
		entry(1, []byte{127, 9, 8, 7}),  // good
	} {
		e[0], e[1], e[2], e[3] = byte(now), byte(now>>8), byte(now>>16), byte(now>>24)
		payload = append(payload, e...)
	}
	p.raw(frame(wire.TestNet, []byte("addrv2"), payload, false))
	p.pingPong(1)
	waitFor(t, "the good entry in the book", func() bool { return bookHas(n.Node, "127.9.8.7:8333") })
	if ps := n.Peers(); len(ps) != 1 || ps[0].AddrProcessed != 1 {
		t.Fatalf("peers after the addrv2: %+v", ps)
	}
}
