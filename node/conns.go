package node

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btclog"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/internal/transport"
	"github.com/peerd/peerd/node/connmgr"
	"github.com/peerd/peerd/peer"
	"github.com/peerd/peerd/peer/driver"
)

// This file carries out the connection manager's actions (package
// connmgr holds the policy). The manager is stepped under n.mu from the
// goroutine where its event happened: the accept loop (EvInbound), a dial
// goroutine (EvConnected, EvDialFailed), a peer's goroutine (EvReady,
// EvClosed), the seed query (EvSeeds), the timer loop (EvTick) and the
// operator's calls (EvCmd). Peers are registered in n.peers in the same
// critical section as the step that accepts them, so a later step's
// ActDisconnect always finds its peer. The other actions are carried out
// after the lock is released.

// misbehaved says which disconnect reasons are misbehaviour (Core's
// Misbehaving: messages over their limits, such as an inv of 50,001
// entries or an addr of 1,001). The manager then discourages the address.
func misbehaved(r peer.Reason) bool {
	return r == peer.ReasonOversized || r == peer.ReasonTooMany
}

// stepLocked gives ev, stamped with the time, to the manager and returns
// its actions. n.mu is held.
func (n *Node) stepLocked(ev connmgr.Event) []connmgr.Action {
	ev.Now = time.Now()
	acts := n.m.Step(ev)
	if n.observe != nil {
		n.observe(ev, acts)
	}
	return acts
}

// step is stepLocked and carry together; it returns the actions and the
// error of a refused command or of writing the ban list.
func (n *Node) step(ev connmgr.Event) ([]connmgr.Action, error) {
	n.mu.Lock()
	acts := n.stepLocked(ev)
	n.mu.Unlock()
	return acts, n.carry(acts)
}

// carry carries out acts, except ActAccept and ActRefuse of a connection,
// which the stepping caller handles. It returns the first error among a
// refused command (ActRefuse with ID 0) and the ban list's write.
func (n *Node) carry(acts []connmgr.Action) error {
	var first error
	for _, a := range acts {
		switch a.Kind {
		case connmgr.ActDial:
			n.spawn(func() { n.dialOut(a.Dial, a.Target, a.V2, a.Conn) })
		case connmgr.ActDisconnect:
			n.mu.Lock()
			p := n.peers[a.ID]
			n.mu.Unlock()
			if p != nil {
				p.Disconnect(disconnectReason(a.Why))
			}
		case connmgr.ActQuerySeeds:
			n.spawn(n.querySeeds)
		case connmgr.ActPersistBans:
			if err := n.saveBans(); err != nil && first == nil {
				first = err
			}
		case connmgr.ActRefuse:
			if a.ID == 0 && first == nil {
				first = a.Err
			}
		case connmgr.ActNote:
			if a.Info {
				log.Infof("%s", a.Note)
			} else {
				log.Debugf("%s", a.Note)
			}
		}
	}
	// The deadline may have moved.
	select {
	case n.wake <- struct{}{}:
	default:
	}
	return first
}

func disconnectReason(w connmgr.Why) peer.Reason {
	switch w {
	case connmgr.WhyEvicted:
		return peer.ReasonEvicted
	case connmgr.WhyBanned:
		return peer.ReasonBanned
	case connmgr.WhyFeeler:
		return reasonFeeler
	}
	return peer.ReasonOperator
}

// accepted finds the manager's answer about connection id.
func accepted(acts []connmgr.Action, id uint64) (bool, error) {
	for _, a := range acts {
		if a.ID != id {
			continue
		}
		switch a.Kind {
		case connmgr.ActAccept:
			return true, nil
		case connmgr.ActRefuse:
			return false, a.Err
		}
	}
	return false, errors.New("no answer from the connection manager")
}

// spawn runs f on a goroutine of the node's, unless the node is shutting
// down. The check and the wait group's Add happen under n.mu, before Run
// sets stopping and waits, so no goroutine starts after Run's wait.
func (n *Node) spawn(f func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopping {
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// timerLoop sends the manager EvTick at its deadline; carry wakes it when
// the deadline may have moved.
func (n *Node) timerLoop() {
	defer n.wg.Done()
	n.deadlineLoop(func() time.Time {
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.m.Deadline()
	}, func() { n.step(connmgr.Event{Kind: connmgr.EvTick}) }, n.wake)
}

// deadlineLoop calls tick whenever the time deadline returns (zero: none)
// has come, asking deadline again after each tick and each wake-up, until
// the node stops. It drives the node's pure machines' timers.
func (n *Node) deadlineLoop(deadline func() time.Time, tick func(), wake <-chan struct{}) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	for {
		var fire <-chan time.Time
		if d := deadline(); !d.IsZero() {
			t.Reset(time.Until(d))
			fire = t.C
		}
		select {
		case <-fire:
			tick()
		case <-wake:
		case <-n.ctx.Done():
			return
		}
	}
}

// admit asks the manager about an accepted connection and starts a peer on
// it, or closes it.
func (n *Node) admit(conn net.Conn) {
	remote := addrPort(conn.RemoteAddr())
	n.mu.Lock()
	n.nextID++
	id := n.nextID
	acts := n.stepLocked(connmgr.Event{Kind: connmgr.EvInbound, ID: id, Remote: remote, MinPing: n.minPingLocked})
	ok, why := accepted(acts, id)
	var p *driver.Peer
	if ok {
		// Inbound, v2 is detected (NewPeer cannot fail for it).
		p, _ = n.newPeerLocked(id, 0, conn, true, randNonce(), n.cfg.V2Transport, connmgr.KindInbound)
	}
	n.mu.Unlock()
	n.carry(acts)
	if p == nil {
		log.Debugf("Refusing inbound %s: %v", conn.RemoteAddr(), why)
		conn.Close()
		return
	}
	n.startPeer(p)
}

// minPingLocked is the lowest ping measured on peer id, for eviction.
func (n *Node) minPingLocked(id uint64) time.Duration {
	if p := n.peers[id]; p != nil {
		return p.Snapshot().MinPing
	}
	return 0
}

// dialOut carries out one ActDial of a connection of kind, with BIP 324's
// transport when v2.
func (n *Node) dialOut(dial uint64, target string, v2 bool, kind connmgr.Kind) {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.DialTimeout)
	conn, err := n.cfg.Dial(ctx, "tcp", target)
	cancel()
	down := proxyDown(err)
	if !down {
		// As Core: an address is not blamed for a proxy that could not
		// be reached.
		n.bookAttempt(target)
	}
	if err != nil {
		dialFailure(target, kind, err)
		n.step(connmgr.Event{Kind: connmgr.EvDialFailed, Dial: dial, Err: err, ProxyDown: down})
		if kind == connmgr.KindPrivate {
			n.privDialEnded(dial, err)
		}
		return
	}
	n.mu.Lock()
	n.nextID++
	id := n.nextID
	nonce := randNonce()
	acts := n.stepLocked(connmgr.Event{Kind: connmgr.EvConnected, Dial: dial, ID: id,
		Remote: addrPort(conn.RemoteAddr()), Nonce: nonce})
	ok, why := accepted(acts, id)
	var p *driver.Peer
	if ok {
		p, err = n.newPeerLocked(id, dial, conn, false, nonce, v2, kind)
		ok = err == nil
	}
	n.mu.Unlock()
	n.carry(acts)
	if !ok && err != nil {
		// The manager counted the connection: it must hear of its end.
		log.Warnf("Outbound %s: %v", target, err)
		n.step(connmgr.Event{Kind: connmgr.EvClosed, ID: id, Reason: err.Error()})
	}
	if p == nil {
		log.Debugf("Refusing outbound %s: %v", target, why)
		conn.Close()
		if kind == connmgr.KindPrivate {
			n.privDialEnded(dial, errors.Join(why, err))
		}
		return
	}
	n.startPeer(p)
}

// querySeeds resolves every DNS seed of the network and gives the manager
// the addresses found, shuffled, with the network's default port.
func (n *Node) querySeeds() {
	if n.cfg.Proxy != "" {
		// Never with a proxy: the manager asks the seeds by addr-fetch
		// connections through it (connmgr's SeedNames), and no DNS query
		// may leave directly.
		n.step(connmgr.Event{Kind: connmgr.EvSeeds})
		return
	}
	port, _ := strconv.ParseUint(n.cfg.Params.DefaultPort, 10, 16)
	seen := map[netip.AddrPort]bool{}
	var out []netip.AddrPort
	var failures []seedFailure
	for _, s := range n.cfg.Params.DNSSeeds {
		ctx, cancel := context.WithTimeout(n.ctx, n.cfg.DialTimeout)
		hosts, err := n.cfg.LookupHost(ctx, s.Host)
		cancel()
		if err != nil {
			log.Debugf("DNS seed %s: %v", s.Host, err)
			failures = append(failures, seedFailure{s.Host, err})
			continue
		}
		log.Debugf("DNS seed %s: %d addresses", s.Host, len(hosts))
		if len(hosts) == 0 {
			failures = append(failures, seedFailure{s.Host, nil})
		}
		var found []netip.AddrPort
		for _, h := range hosts {
			ip, err := netip.ParseAddr(h)
			if err != nil {
				continue
			}
			a := netip.AddrPortFrom(ip.Unmap(), uint16(port))
			found = append(found, a)
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
		n.bookSeeds(s.Host, found)
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	ev := connmgr.Event{Kind: connmgr.EvSeeds, Addrs: out}
	if len(out) == 0 {
		ev.Err = seedsError(failures)
	}
	n.step(ev)
}

// seedFailure is a DNS seed that gave no address: its lookup's error, or
// nil for an empty answer.
type seedFailure struct {
	host string
	err  error
}

// seedsError says why the DNS seeds gave no address, for the manager's
// info line: each seed's error, the DNS server once, and when every
// lookup failed, what to do about it.
func seedsError(fs []seedFailure) error {
	if len(fs) == 0 {
		return errors.New("the network has no DNS seeds")
	}
	var parts []string
	servers := map[string]bool{}
	allFailed := true
	for _, f := range fs {
		var de *net.DNSError
		switch {
		case f.err == nil:
			parts = append(parts, f.host+": no addresses")
			allFailed = false
		case errors.As(f.err, &de):
			msg := de.Err
			if de.IsTimeout {
				msg = "timed out (" + de.Err + ")"
			}
			parts = append(parts, f.host+": "+msg)
			if de.Server != "" {
				servers[de.Server] = true
			}
		default:
			parts = append(parts, f.host+": "+f.err.Error())
		}
	}
	s := strings.Join(parts, "; ")
	if len(servers) > 0 {
		s += "; DNS server " + strings.Join(slices.Sorted(maps.Keys(servers)), ", ")
	}
	if allFailed {
		s += "; every lookup failed: is this machine offline, or without DNS? --connect=HOST:PORT names a peer without DNS"
	}
	return errors.New(s)
}

// newPeerLocked makes the peer on an accepted connection and registers it.
// v2: outbound, open with BIP 324; inbound, tell v1 from v2 by what the
// peer sends. kind is the manager's: a feeler sends no getaddr. n.mu is
// held. dial is the manager's dial of an outbound connection: a private
// broadcast's tells which transaction it carries.
func (n *Node) newPeerLocked(id, dial uint64, conn net.Conn, inbound bool, nonce uint64, v2 bool, kind connmgr.Kind) (*driver.Peer, error) {
	var bcast *peer.Tx
	if kind == connmgr.KindPrivate {
		var err error
		if bcast, err = n.privConnectedLocked(dial, id); err != nil {
			return nil, err
		}
	}
	tr, err := n.transportFor(conn, inbound, v2)
	if err != nil {
		return nil, err
	}
	p := driver.New(n.ctx, id, conn, tr, &n.cfg.Peer, peer.Params{
		Params: handshake.Params{
			Inbound:     inbound,
			Nonce:       nonce,
			Remote:      remoteNetAddress(conn.RemoteAddr()),
			IsOwnNonce:  n.isOwnNonce,
			KeyExchange: v2,
		},
		Rand: rand.Uint64,
		// Every outbound connection but a feeler or a private
		// broadcast is full-relay.
		GetAddr:   !inbound && kind != connmgr.KindFeeler && kind != connmgr.KindPrivate,
		Broadcast: bcast,
		NetKey:    n.inboundNetKeyLocked(conn, inbound),
	})
	n.peers[id] = p
	if log.Level() <= btclog.LevelDebug {
		log.Debugf("New %v, transport %s", p, tr.Name())
	}
	return p, nil
}

// transportFor makes a connection's transport: v1, or with v2 BIP 324
// (outbound) or v1-or-v2 detection (inbound).
func (n *Node) transportFor(conn net.Conn, inbound, v2 bool) (transport.Transport, error) {
	switch {
	case !v2:
		return transport.NewV1(conn, n.cfg.Params.Net), nil
	case inbound:
		return transport.NewDetect(conn, n.cfg.Params.Net), nil
	}
	return transport.NewV2(conn, n.cfg.Params.Net)
}

// startPeer serves p on its own goroutine; its end is reported to the
// manager.
func (n *Node) startPeer(p *driver.Peer) {
	n.wg.Add(1)
	p.Start(func(reason peer.Reason) {
		defer n.wg.Done()
		n.peerEnded(p, reason)
	})
}

// peerEnded forgets p, which ended for reason.
func (n *Node) peerEnded(p *driver.Peer, reason peer.Reason) {
	if log.Level() <= btclog.LevelDebug {
		log.Debugf("%v ended: %s", p, reason)
	}
	n.privPeerEnded(p.ID(), reason)
	sent, recv := p.Bytes()
	n.mu.Lock()
	n.endedSent += sent
	n.endedRecv += recv
	delete(n.peers, p.ID())
	acts := n.stepLocked(connmgr.Event{Kind: connmgr.EvClosed, ID: p.ID(), Reason: string(reason),
		Misbehaved: misbehaved(reason), V2Refused: reason == peer.ReasonV2Refused})
	n.mu.Unlock()
	// Counted once the peer is out of the table: a scrape that sees the
	// disconnect does not see the peer.
	why := ReasonLabel(reason)
	if !p.WasReady() {
		n.stats.HandshakeFailed.Inc(why)
	}
	if misbehaved(reason) {
		n.stats.Discouraged.Add(1)
	}
	n.stats.Disconnects.Inc(why)
	n.carry(acts)
}

// isOwnNonce is the handshake's self-connection check: called from an
// inbound peer's goroutine with the nonce of the peer's version.
func (n *Node) isOwnNonce(nonce uint64) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.m.IsOwnNonce(nonce)
}

// addrPort is a connection's remote address; the zero AddrPort (which the
// manager refuses) when it has none.
func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
