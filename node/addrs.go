package node

import (
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/node/addrbook"
	"github.com/peerd/peerd/node/connmgr"
	"github.com/peerd/peerd/peer"
	"github.com/peerd/peerd/peer/driver"
)

// This file keeps the address book (package addrbook holds its rules): it
// loads and saves the book's file, feeds it what peers tell us (ActAddrs),
// answers inbound peers' getaddr from it (ActGetAddr), and records dials
// (Attempt) and outbound handshakes (Good). The book is guarded by bookMu,
// taken briefly from peers' goroutines, the connection manager's carry and
// the save loop; nothing else is locked while it is held.

// Address book policy, as Core has it.
const (
	// DefaultAddrBookSave is how often the book is written (Core's
	// DUMP_PEERS_INTERVAL); it is also written at shutdown.
	DefaultAddrBookSave = 15 * time.Minute
	// addrPenalty is taken off the time gossip tells of an address (Core
	// gives ProcessAddrs' addresses 2 hours).
	addrPenalty = 2 * time.Hour
	// getAddrPct caps a getaddr answer at this share of the book
	// (MAX_PCT_ADDR_TO_SEND); regtest and simnet take up to all of it.
	getAddrPct = 23
	// getAddrCache is how long one getaddr answer is reused (Core: about
	// 24 hours, so that repeated asking reveals no more of the book);
	// regtest and simnet, getAddrCacheLocal.
	getAddrCache      = 24 * time.Hour
	getAddrCacheLocal = time.Minute
)

// localNet reports whether the network is regtest or simnet, where
// loopback addresses count as routable and getaddr is answered from the
// whole book (issue 13, item 4).
func localNet(n wire.BitcoinNet) bool { return n == wire.TestNet || n == wire.SimNet }

// newRand is a math/rand/v2 source seeded from crypto/rand.
func newRand() *rand.ChaCha8 {
	var seed [32]byte
	crand.Read(seed[:])
	return rand.NewChaCha8(seed)
}

// loadBook makes the node's book from path. A missing file is a new book
// with a fresh key; a file that cannot be read back is renamed to
// path+".corrupt" and replaced by a new book, and the returned error says
// so (a book is a cache of the network, never a reason not to start).
func loadBook(path string, local bool) (*addrbook.Book, error) {
	fresh := func() *addrbook.Book {
		cfg := addrbook.Config{Rand: newRand(), Local: local}
		crand.Read(cfg.Key[:])
		b, err := addrbook.New(cfg)
		if err != nil {
			panic(err) // only a nil Rand is refused
		}
		return b
	}
	b := fresh()
	if path == "" {
		return b, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return b, nil
	}
	if err != nil {
		return b, fmt.Errorf("address book %s unreadable, starting empty: %w", path, err)
	}
	if err := b.UnmarshalBinary(data); err != nil {
		aside := path + ".corrupt"
		if rerr := os.Rename(path, aside); rerr != nil {
			return fresh(), fmt.Errorf("address book %s: %w; starting empty (and could not set it aside: %v)", path, err, rerr)
		}
		return fresh(), fmt.Errorf("address book %s: %w; set aside as %s, starting empty", path, err, aside)
	}
	return b, nil
}

// saveBook writes the book to its file: a temporary file, synced and
// renamed, so a crash leaves the old or the new book, never half of one.
// Safe for concurrent use; writes are serialised.
func (n *Node) saveBook() error {
	path := n.cfg.AddrBookFile
	if path == "" {
		return nil
	}
	n.bookSaveMu.Lock()
	defer n.bookSaveMu.Unlock()
	n.bookMu.Lock()
	data, err := n.book.MarshalBinary()
	n.bookMu.Unlock()
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data)
}

// writeFileAtomic writes data to path so that a crash leaves the old file
// or the new one, never a mix: a temporary file, synced, renamed over
// path, and the directory synced.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// bookLoop writes the book every AddrBookSave until the node stops; Run
// writes it once more at the end.
func (n *Node) bookLoop() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.AddrBookSave)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := n.saveBook(); err != nil {
				log.Warnf("Writing the address book: %v", err)
			}
		case <-n.ctx.Done():
			return
		}
	}
}

// bookAddr converts a peer's "ip:port" or "<key>.onion:port" to the
// book's form; ok is false for anything else (a seed's name).
func bookAddr(s string) (addrbook.Addr, bool) {
	a, err := addrbook.ParseAddr(s)
	if err != nil {
		return addrbook.Addr{}, false
	}
	return a, a.IsValid()
}

// advertV1 converts an addr entry; ok is false for an address the book
// cannot hold.
func advertV1(na *wire.NetAddress) (addrbook.Advert, bool) {
	ip, ok := netip.AddrFromSlice(na.IP)
	if !ok {
		return addrbook.Advert{}, false
	}
	a := addrbook.AddrFrom(netip.AddrPortFrom(ip, na.Port))
	return addrbook.Advert{Addr: a, Services: na.Services, Time: na.Timestamp}, a.IsValid()
}

// advertV2 converts an addrv2 entry: IPv4, IPv6 and Tor v3 (its 32-byte
// key); other networks (which wire/v2 mostly drops already) give false.
func advertV2(na *wire.NetAddressV2) (addrbook.Advert, bool) {
	var a addrbook.Addr
	if na.IsTorV3() {
		var err error
		a, err = addrbook.ParseAddr(fmt.Sprintf("%s:%d", na.Addr.String(), na.Port))
		if err != nil {
			return addrbook.Advert{}, false
		}
	} else {
		l := na.ToLegacy()
		if l == nil || (len(l.IP) != 4 && len(l.IP) != 16) {
			return addrbook.Advert{}, false
		}
		ip, _ := netip.AddrFromSlice(l.IP)
		a = addrbook.AddrFrom(netip.AddrPortFrom(ip, na.Port))
	}
	return addrbook.Advert{Addr: a, Services: na.Services, Time: na.Timestamp}, a.IsValid()
}

// peerAddrs is driver.Config.OnAddrs: what a peer told us goes into the
// book, with the peer's address as the source; with gossip, the fresh
// routable entries are relayed on (relayAddrs).
func (n *Node) peerAddrs(p *driver.Peer, addrs []wire.NetAddress, addrsV2 []wire.NetAddressV2, gossip bool) {
	var ads []addrbook.Advert
	kind, _ := n.ConnKind(p.ID())
	src, ok := bookAddr(p.Addr())
	if kind == connmgr.KindAddrFetch {
		// A DNS seed asked through the proxy: its answer counts as the
		// seed's, under its name, as a DNS answer does (bookSeeds).
		host, _, _ := net.SplitHostPort(p.Addr())
		src, ok = addrbook.NamedSource(host), true
		if !gossip {
			// The answer to our getaddr: the connection is done.
			defer func() {
				n.step(connmgr.Event{Kind: connmgr.EvAddrFetched, ID: p.ID(), Count: len(ads)})
			}()
		}
	}
	if !ok {
		return
	}
	ads = make([]addrbook.Advert, 0, len(addrs)+len(addrsV2))
	for i := range addrs {
		if ad, ok := advertV1(&addrs[i]); ok {
			ads = append(ads, ad)
		}
	}
	for i := range addrsV2 {
		if ad, ok := advertV2(&addrsV2[i]); ok {
			ads = append(ads, ad)
		}
	}
	now := time.Now()
	ads = n.notBanned(ads, now)
	if len(ads) == 0 {
		return
	}
	n.bookMu.Lock()
	added := n.book.Add(now, src, addrPenalty, ads...)
	var fresh []addrbook.Advert
	if gossip {
		for _, ad := range ads {
			if ad.Time.After(now.Add(-relayFresh)) && n.book.Routable(ad.Addr) {
				fresh = append(fresh, ad)
			}
		}
	}
	n.bookMu.Unlock()
	log.Debugf("%v: %d addresses, %d new to the book", p, len(ads), added)
	if len(fresh) > 0 {
		n.relayAddrs(p, fresh, now)
	}
}

// notBanned drops the addresses an operator ban covers or that are
// discouraged, as Core does before it stores or relays gossip. It keeps
// the order, in place.
func (n *Node) notBanned(ads []addrbook.Advert, now time.Time) []addrbook.Advert {
	n.mu.Lock()
	defer n.mu.Unlock()
	bans := n.m.Bans(now)
	out := ads[:0]
	for _, ad := range ads {
		if ap, ok := ad.Addr.AddrPort(); ok {
			ip := ap.Addr().Unmap()
			if n.m.Discouraged(ip, now) || slices.ContainsFunc(bans, func(b Ban) bool { return b.Subnet.Contains(ip) }) {
				continue
			}
		}
		out = append(out, ad)
	}
	return out
}

// Address relay, as Core's RelayAddress.
const (
	// relayFresh: only addresses seen this recently are relayed.
	relayFresh = 10 * time.Minute
	// relayRotate: an address goes to the same peers for this long.
	relayRotate = 24 * time.Hour
)

// relayAddrs relays each fresh address a peer gossiped to two other peers
// that take part in address relay (a Tor v3 address, which this node
// cannot reach, to one or two, and only to addrv2 peers). The choice is a
// keyed hash of the address, the peer and the 24-hour window (shifted per
// address), so an address goes to the same two peers for 24 hours while
// the peers stay: repeating it to us buys it no wider spread.
func (n *Node) relayAddrs(from *driver.Peer, ads []addrbook.Advert, now time.Time) {
	n.mu.Lock()
	peers := make([]*driver.Peer, 0, len(n.peers))
	for _, p := range n.peers {
		if p != from && p.WasReady() && p.AddrRelay() {
			peers = append(peers, p)
		}
	}
	n.mu.Unlock()
	if len(peers) == 0 {
		return
	}
	out := map[*driver.Peer][]*wire.NetAddressV2{}
	for _, ad := range ads {
		na := netAddressV2(addrbook.Entry{Addr: ad.Addr, Services: ad.Services, Seen: ad.Time})
		if na == nil {
			continue
		}
		for _, p := range n.relayTargets(ad.Addr, peers, now) {
			out[p] = append(out[p], na)
		}
	}
	for p, addrs := range out {
		p.RelayAddrs(addrs) // a full queue drops the batch, as gossip may
	}
}

// relayTargets picks the peers one address is relayed to.
func (n *Node) relayTargets(a addrbook.Addr, peers []*driver.Peer, now time.Time) []*driver.Peer {
	ah := n.relayHash([]byte(a.String()))
	window := (uint64(now.Unix()) + ah) / uint64(relayRotate/time.Second)
	var w [8]byte
	binary.BigEndian.PutUint64(w[:], window)
	base := n.relayHash([]byte(a.String()), w[:])
	count := 2
	tor := a.Network() == addrbook.NetTorV3
	if tor && base&1 == 0 {
		count = 1
	}
	var best [2]struct {
		h uint64
		p *driver.Peer
	}
	for _, p := range peers {
		if tor && !p.AddrV2() {
			continue
		}
		var id [8]byte
		binary.BigEndian.PutUint64(id[:], p.ID())
		h := n.relayHash(w[:], []byte(a.String()), id[:])
		for i := range count {
			if h > best[i].h {
				copy(best[i+1:count], best[i:count-1])
				best[i].h, best[i].p = h, p
				break
			}
		}
	}
	var out []*driver.Peer
	for i := range count {
		if best[i].p != nil {
			out = append(out, best[i].p)
		}
	}
	return out
}

// relayHash is a hash of parts keyed with the node's secret relay key.
func (n *Node) relayHash(parts ...[]byte) uint64 {
	h := sha256.New()
	h.Write(n.relayKey[:])
	for _, p := range parts {
		h.Write(p)
	}
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint64(h.Sum(sum[:0]))
}

// peerGetAddr is driver.Config.OnGetAddr: the answer comes from a sample
// of the book that is reused for getAddrCache, so that asking again and
// again (from new connections) reveals no more of the book.
func (n *Node) peerGetAddr(p *driver.Peer) {
	now := time.Now()
	n.bookMu.Lock()
	if n.getAddrAt.IsZero() || now.Sub(n.getAddrAt) >= n.getAddrTTL() {
		pct := getAddrPct
		if n.bookLocal {
			pct = 100
		}
		es := n.book.GetAddr(now, peer.MaxAddrPerMsg, pct)
		ans := make([]*wire.NetAddressV2, 0, len(es))
		for _, e := range es {
			if na := netAddressV2(e); na != nil {
				ans = append(ans, na)
			}
		}
		n.getAddrAnswer, n.getAddrAt = ans, now
	}
	ans := n.getAddrAnswer
	n.bookMu.Unlock()
	// The answer is shared, read-only, by every peer it goes to.
	p.AnswerGetAddr(ans)
}

func (n *Node) getAddrTTL() time.Duration {
	if n.bookLocal {
		return getAddrCacheLocal
	}
	return getAddrCache
}

// netAddressV2 is a book entry as addrv2 carries it; nil for an address
// wire cannot encode.
func netAddressV2(e addrbook.Entry) *wire.NetAddressV2 {
	if key, ok := e.Addr.TorKey(); ok {
		return wire.NetAddressV2FromBytes(e.Seen, e.Services, key[:], e.Addr.Port())
	}
	ap, ok := e.Addr.AddrPort()
	if !ok {
		return nil
	}
	return wire.NetAddressV2FromBytes(e.Seen, e.Services, ap.Addr().AsSlice(), ap.Port())
}

// bookGood records a completed outbound handshake (Core's Good: the entry
// moves to tried).
func (n *Node) bookGood(p *driver.Peer) {
	if p.Inbound() {
		return
	}
	a, ok := bookAddr(p.Addr())
	if !ok {
		return
	}
	n.bookMu.Lock()
	n.book.Good(a, time.Now())
	n.bookMu.Unlock()
}

// bookAttempt records a dial of target. As Core does, failures count only
// while at least two outbound peers are connected, so that a node without
// connectivity does not condemn its whole book.
func (n *Node) bookAttempt(target string) {
	a, ok := bookAddr(target)
	if !ok {
		return
	}
	n.mu.Lock()
	out := 0
	for _, p := range n.peers {
		if !p.Inbound() && p.WasReady() {
			out++
		}
	}
	n.mu.Unlock()
	n.bookMu.Lock()
	n.book.Attempt(a, out >= 2, time.Now())
	n.bookMu.Unlock()
}

// bookSeeds adds what a DNS seed answered, with the seed's name as the
// source.
func (n *Node) bookSeeds(seed string, addrs []netip.AddrPort) {
	now := time.Now()
	ads := make([]addrbook.Advert, 0, len(addrs))
	for _, ap := range addrs {
		ads = append(ads, addrbook.Advert{Addr: addrbook.AddrFrom(ap),
			Services: wire.SFNodeNetwork | wire.SFNodeWitness, Time: now})
	}
	n.bookMu.Lock()
	n.book.Add(now, addrbook.NamedSource(seed), 0, ads...)
	n.bookMu.Unlock()
}
