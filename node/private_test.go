package node

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/internal/wireio"
	"github.com/peerd/peerd/mempool"
	"github.com/peerd/peerd/peer"
)

// privListener is a fake network peer for private broadcast tests. It
// tells a private-broadcast connection (Core's anonymous version) from an
// ordinary one: on the first it plays the receiving node (getdata, then
// the pong), checking what peerd sends; an ordinary one it takes through
// a handshake and keeps open, answering pings.
type privListener struct {
	t    *testing.T
	l    net.Listener
	addr netip.AddrPort
	// behave decides how a private connection is answered: "receipt"
	// (getdata, pong), "reject" (getdata, a BIP 61 reject, pong),
	// "silent" (never asks for the transaction).
	behave string

	mu     sync.Mutex
	got    []privConn // private connections seen, in order
	errs   []error
	conns  []net.Conn
	closed bool
}

// privConn is what one private-broadcast connection carried.
type privConn struct {
	version *wire.MsgVersion
	cmds    []string // commands received after the version, in order
	txid    string
}

func newPrivListener(t *testing.T, ip, behave string) *privListener {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	pl := &privListener{t: t, l: l, addr: netip.MustParseAddrPort(l.Addr().String()), behave: behave}
	go pl.serve()
	t.Cleanup(pl.close)
	return pl
}

func (pl *privListener) close() {
	pl.mu.Lock()
	pl.closed = true
	for _, c := range pl.conns {
		c.Close()
	}
	pl.mu.Unlock()
	pl.l.Close()
}

func (pl *privListener) serve() {
	for {
		c, err := pl.l.Accept()
		if err != nil {
			return
		}
		pl.mu.Lock()
		if pl.closed {
			pl.mu.Unlock()
			c.Close()
			return
		}
		pl.conns = append(pl.conns, c)
		pl.mu.Unlock()
		go pl.handle(c)
	}
}

func (pl *privListener) fail(err error) {
	pl.mu.Lock()
	pl.errs = append(pl.errs, err)
	pl.mu.Unlock()
}

func (pl *privListener) handle(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	netw := chaincfg.RegressionNetParams.Net
	r, w := wireio.NewReader(c, netw), wireio.NewWriter(c, netw)
	msg, err := r.Next()
	if err != nil {
		return
	}
	v, ok := msg.(*wire.MsgVersion)
	if !ok {
		pl.fail(fmt.Errorf("first message %s, want version", msg.Command()))
		return
	}
	ours := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 77, 0)
	ours.Services = wire.SFNodeWitness | wire.SFNodeNetwork
	ours.UserAgent = "/privlistener:1.0/"
	w.Write(ours)
	w.Write(wire.NewMsgWTxIdRelay())
	w.Write(wire.NewMsgSendAddrV2())
	w.Write(wire.NewMsgVerAck())
	if v.UserAgent != handshake.PrivateUserAgent {
		// An ordinary connection (automatic outbound, feeler): answer
		// pings until it ends.
		for {
			msg, err := r.Next()
			if err != nil {
				return
			}
			if p, ok := msg.(*wire.MsgPing); ok {
				w.Write(wire.NewMsgPong(p.Nonce))
			}
		}
	}
	pc := privConn{version: v}
	defer func() {
		pl.mu.Lock()
		pl.got = append(pl.got, pc)
		pl.mu.Unlock()
	}()
	// Core's receiving side, in the order peerd must send: verack, inv,
	// then (on our getdata) tx and ping; then it closes on our pong.
	for {
		msg, err := r.Next()
		if err != nil {
			return // closed by peerd: the receipt, or the lifetime
		}
		pc.cmds = append(pc.cmds, msg.Command())
		switch m := msg.(type) {
		case *wire.MsgInv:
			if len(m.InvList) != 1 || m.InvList[0].Type != wire.InvTypeTx {
				pl.fail(fmt.Errorf("private inv %v, want one MSG_TX", m.InvList))
				return
			}
			pc.txid = m.InvList[0].Hash.String()
			if pl.behave == "silent" {
				continue
			}
			gd := wire.NewMsgGetData()
			gd.AddInvVect(wire.NewInvVect(wire.InvTypeWitnessTx, &m.InvList[0].Hash))
			w.Write(gd)
		case *wire.MsgTx:
			if m.TxHash().String() != pc.txid {
				pl.fail(fmt.Errorf("private tx %v, announced %v", m.TxHash(), pc.txid))
			}
			if pl.behave == "reject" {
				rej := wire.NewMsgReject(wire.CmdTx, wire.RejectInvalid, "bad-txns-inputs-missingorspent")
				rej.Hash = m.TxHash()
				w.Write(rej)
			}
		case *wire.MsgPing:
			w.Write(wire.NewMsgPong(m.Nonce))
		}
	}
}

func (pl *privListener) private() ([]privConn, []error) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return append([]privConn(nil), pl.got...), append([]error(nil), pl.errs...)
}

// privateNode starts a node with private broadcast whose book holds the
// listeners' addresses (regtest: each 127.k.0.1 its own group).
func privateNode(t *testing.T, pool *mempool.Pool, ls ...*privListener) (*testNode, *Admin) {
	t.Helper()
	return privateNodeWith(t, pool, 0, ls...)
}

// privateNodeWith is privateNode with peersPerTx broadcast connections per
// transaction (0: the default).
func privateNodeWith(t *testing.T, pool *mempool.Pool, peersPerTx int, ls ...*privListener) (*testNode, *Admin) {
	t.Helper()
	cfg := testConfig()
	cfg.PrivateBroadcastPeers = peersPerTx
	cfg.Mempool = pool
	cfg.PrivateBroadcast = true
	cfg.NoDNSSeed = true
	cfg.TargetOutbound = -1 // the listeners get private connections only
	n := startNode(t, cfg)
	a := NewAdmin(n.Node, 1, func() {})
	for _, l := range ls {
		if res, err := a.AddPeerAddress(l.addr.Addr().String(), l.addr.Port(), false); err != nil || res != PeerAddressAdded {
			t.Fatalf("addpeeraddress %v: %v %v", l.addr, err, res)
		}
	}
	return n, a
}

func openPool(t *testing.T, dir string) *mempool.Pool {
	t.Helper()
	pool, err := mempool.Open(mempool.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	return pool
}

func serialize(t *testing.T, tx *wire.MsgTx) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := tx.Serialize(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestPrivateBroadcast: a transaction from sendrawtransaction leaves over
// 3 private-broadcast connections in 3 groups, each carrying exactly
// version, verack, inv, tx, ping with Core's anonymous version; ordinary
// peers hear nothing of it and are not served it until an ordinary peer
// announces it back; then it is confirmed, public, and relayed.
func TestPrivateBroadcast(t *testing.T) {
	var ls []*privListener
	for k := 1; k <= 3; k++ {
		ls = append(ls, newPrivListener(t, "127."+strconv.Itoa(k)+".0.1", "receipt"))
	}
	pool := openPool(t, t.TempDir())
	n, a := privateNode(t, pool, ls...)

	// Two ordinary, long-lived inbound peers.
	watcher := dialTestPeer(t, n.addr)
	watcher.handshake()
	echoer := dialTestPeer(t, n.addr)
	echoer.handshake()

	tx := testTx(40)
	txid, err := a.SendRawTransaction(serialize(t, tx))
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := pool.Get(txid); !ok || !e.Private() {
		t.Fatal("the transaction is not in the pool as private")
	}
	waitFor(t, "3 private broadcasts with receipts", func() bool {
		info, err := a.PrivateBroadcastInfo()
		if err != nil || len(info) != 1 {
			return false
		}
		got := 0
		for _, at := range info[0].Attempts {
			if !at.Received.IsZero() && at.Outcome == "receipt" {
				got++
			}
		}
		return got >= 3
	})
	waitFor(t, "the listeners saw the private connections end", func() bool {
		for _, l := range ls {
			if got, _ := l.private(); len(got) == 0 {
				return false
			}
		}
		return true
	})
	for _, l := range ls {
		got, errs := l.private()
		if len(errs) > 0 {
			t.Fatalf("listener %v: %v", l.addr, errs)
		}
		if len(got) != 1 {
			t.Fatalf("listener %v got %d private connections, want 1 (one per group)", l.addr, len(got))
		}
		pc := got[0]
		v := pc.version
		if v.ProtocolVersion != 70016 || v.Services != 0 || v.Timestamp.Unix() != 0 || v.LastBlock != 0 ||
			!v.DisableRelayTx || v.AddrYou.Port != 0 || v.AddrMe.Port != 0 {
			t.Fatalf("private version %+v", v)
		}
		if want := "verack inv tx ping"; fmt.Sprint(pc.cmds) != "["+want+"]" {
			t.Fatalf("private connection carried %v, want [%s]", pc.cmds, want)
		}
		if pc.txid != txid.String() {
			t.Fatalf("private inv of %v, want %v", pc.txid, txid)
		}
	}
	info, _ := a.PrivateBroadcastInfo()
	if info[0].State != "pending" || !info[0].Confirmed.IsZero() {
		t.Fatalf("before any echo: state %q, confirmed %v", info[0].State, info[0].Confirmed)
	}
	for _, at := range info[0].Attempts {
		if at.Transport != "v1" || at.Announced.IsZero() || at.GetData.IsZero() || at.Sent.IsZero() || at.Peer == 0 {
			t.Fatalf("attempt record %+v", at)
		}
	}
	// An ordinary peer is not served it, and was not told of it.
	gd := wire.NewMsgGetData()
	gd.AddInvVect(wire.NewInvVect(peer.InvTypeWTx, &info[0].WTxID))
	watcher.send(gd)
	if nf := watcher.expect("notfound").(*wire.MsgNotFound); len(nf.InvList) != 1 {
		t.Fatalf("notfound %v", nf.InvList)
	}
	if got := a.MempoolTxIDs(); len(got) != 0 {
		// getrawmempool: as Core, a private transaction is not in the
		// mempool the network may learn of.
		t.Fatalf("getrawmempool lists %v", got)
	}

	// The echo confirms it; it then goes to the ordinary peers.
	inv := wire.NewMsgInv()
	inv.AddInvVect(wire.NewInvVect(peer.InvTypeWTx, &info[0].WTxID))
	echoer.send(inv)
	waitFor(t, "confirmed", func() bool {
		e, _ := pool.Get(txid)
		return !e.Private()
	})
	if inv := watcher.nextInv(); inv.InvList[0].Hash != info[0].WTxID {
		t.Fatalf("watcher's first inv %v, want the confirmed transaction", inv.InvList[0].Hash)
	}
	info, _ = a.PrivateBroadcastInfo()
	if len(info) != 1 || info[0].State != "confirmed" || info[0].Confirmed.IsZero() || len(info[0].Echoes) != 1 {
		t.Fatalf("after the echo: %+v", info)
	}
	// abortprivatebroadcast of a confirmed transaction: not in the queue.
	if _, err := a.AbortPrivateBroadcast(txid); KindOf(err) != ErrKindNotFound {
		t.Fatalf("abort of a confirmed transaction: %v", err)
	}
}

// TestPrivateBroadcastRejectRecorded: a peer that rejects the transaction
// (BIP 61, as btcd does): its attempt ends "rejected" with the reason
// recorded, and the scheduler opens another after the back-off; abort
// then forgets the transaction and drops it from the pool.
func TestPrivateBroadcastRejectRecorded(t *testing.T) {
	rej := newPrivListener(t, "127.4.0.1", "reject")
	pool := openPool(t, t.TempDir())
	_, a := privateNode(t, pool, rej)
	txid, err := a.SendRawTransaction(serialize(t, testTx(41)))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a rejected attempt, then a second one", func() bool {
		info, _ := a.PrivateBroadcastInfo()
		return len(info) == 1 && len(info[0].Attempts) >= 2 && info[0].Attempts[0].Outcome == "rejected"
	})
	info, _ := a.PrivateBroadcastInfo()
	at := info[0].Attempts[0]
	if at.Reject != "REJECT_INVALID: bad-txns-inputs-missingorspent" || at.Received.IsZero() {
		t.Fatalf("rejected attempt %+v", at)
	}
	// Abort: the scheduler forgets it and the pool drops it.
	got, err := a.AbortPrivateBroadcast(txid)
	if err != nil || got.TxID != txid {
		t.Fatalf("abort: %v %v", got.TxID, err)
	}
	if _, ok := pool.Get(txid); ok {
		t.Fatal("aborted transaction still in the pool")
	}
	if _, err := a.AbortPrivateBroadcast(txid); !errors.Is(err, ErrNotInPrivateQueue) {
		t.Fatalf("second abort: %v", err)
	}
}

// TestPrivateBroadcastResumes: a private transaction in the pool when the
// node starts (it was accepted before a crash) is broadcast privately.
func TestPrivateBroadcastResumes(t *testing.T) {
	dir := t.TempDir()
	pool := openPool(t, dir)
	e, err := pool.AddPrivate(testTx(42))
	if err != nil {
		t.Fatal(err)
	}
	l := newPrivListener(t, "127.5.0.1", "receipt")
	_, a := privateNode(t, pool, l)
	waitFor(t, "the resumed broadcast's receipt", func() bool {
		info, _ := a.PrivateBroadcastInfo()
		return len(info) == 1 && len(info[0].Attempts) > 0 && info[0].Attempts[0].Outcome == "receipt"
	})
	got, _ := l.private()
	if len(got) == 0 || got[0].txid != e.TxID.String() {
		t.Fatalf("listener got %+v", got)
	}
}

// TestPrivateBroadcastRefusals: without private broadcast its RPCs are
// refused as Core refuses them; with --connect the node does not start.
func TestPrivateBroadcastRefusals(t *testing.T) {
	n := startNode(t, testConfig())
	a := NewAdmin(n.Node, 1, func() {})
	if _, err := a.PrivateBroadcastInfo(); KindOf(err) != ErrKindNotEnabled {
		t.Fatalf("getprivatebroadcastinfo: %v", err)
	}
	if _, err := a.AbortPrivateBroadcast(testTx(1).TxHash()); KindOf(err) != ErrKindNotEnabled {
		t.Fatalf("abortprivatebroadcast: %v", err)
	}
	cfg := testConfig()
	cfg.PrivateBroadcast = true
	cfg.Mempool = openPool(t, t.TempDir())
	cfg.Connect = []string{"127.0.0.1:1"}
	if _, err := New(cfg); err == nil {
		t.Fatal("private broadcast with --connect accepted")
	}
	cfg.Connect, cfg.Mempool = nil, nil
	if _, err := New(cfg); err == nil {
		t.Fatal("private broadcast without a mempool accepted")
	}
}

// TestPrivateBroadcastOneGroup: when the book has a single network group
// (three nodes on one IP), the attempts still go to three distinct
// addresses rather than waiting for another group.
func TestPrivateBroadcastOneGroup(t *testing.T) {
	var ls []*privListener
	for range 3 {
		ls = append(ls, newPrivListener(t, "127.6.0.1", "receipt"))
	}
	pool := openPool(t, t.TempDir())
	_, a := privateNode(t, pool, ls...)
	if _, err := a.SendRawTransaction(serialize(t, testTx(43))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "one private connection at each address", func() bool {
		for _, l := range ls {
			if got, _ := l.private(); len(got) != 1 {
				return false
			}
		}
		return true
	})
}

// TestPrivateBroadcastWaitsForFreeAddress: with one address in the book,
// the second transaction's attempt waits for the first's connection to end
// instead of failing (and backing off) on a busy address.
func TestPrivateBroadcastWaitsForFreeAddress(t *testing.T) {
	l := newPrivListener(t, "127.7.0.1", "receipt")
	pool := openPool(t, t.TempDir())
	_, a := privateNodeWith(t, pool, 1, l)
	for _, n := range []byte{44, 45} {
		if _, err := a.SendRawTransaction(serialize(t, testTx(n))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both transactions' receipts", func() bool {
		info, _ := a.PrivateBroadcastInfo()
		got := 0
		for _, tx := range info {
			for _, at := range tx.Attempts {
				if at.Outcome == "receipt" {
					got++
				}
			}
		}
		return got == 2
	})
	info, _ := a.PrivateBroadcastInfo()
	for _, tx := range info {
		for _, at := range tx.Attempts {
			if at.Outcome != "receipt" {
				t.Fatalf("transaction %v has an attempt that ended %q: a busy address must be waited for", tx.TxID, at.Outcome)
			}
		}
	}
}
