package node

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/internal/rpcserver"
	"github.com/peerd/peerd/mempool"
)

// Admin is the node's operator interface, one implementation behind every
// face (the JSON-RPC server now, the debug console later). Its methods are
// safe for concurrent use and never block on a peer: commands reach peers
// through their contexts and bounded queues.
type Admin struct {
	n       *Node
	version int // Core-style: 0.1.0 is 100
	stop    func()
}

// NewAdmin returns the admin interface of n; stop begins the node's
// shutdown and must return at once; version is peerd's version written as
// Core writes its own (0.1.0 is 100).
func NewAdmin(n *Node, version int, stop func()) *Admin {
	return &Admin{n: n, version: version, stop: stop}
}

var _ rpcserver.Backend = (*Admin)(nil)

func (a *Admin) pool() *mempool.Pool { return a.n.cfg.Mempool }

// SendRawTransaction decodes, adds durably, and lets the relay loop
// announce it. A transaction already in the mempool is not an error (as in
// Core): its txid is returned and it is offered again.
func (a *Admin) SendRawTransaction(hexTx string) (string, error) {
	raw, err := hex.DecodeString(hexTx)
	if err != nil {
		return "", rpcserver.ErrTxDecodeFailed()
	}
	var tx wire.MsgTx
	r := bytes.NewReader(raw)
	if err := tx.Deserialize(r); err != nil || r.Len() != 0 {
		return "", rpcserver.ErrTxDecodeFailed()
	}
	if a.pool() == nil {
		return "", rpcserver.NewError(-1, "no mempool")
	}
	e, err := a.pool().Add(&tx)
	var rej *mempool.RejectError
	switch {
	case errors.Is(err, mempool.ErrAlreadyHave):
		a.n.broadcast(a.n.peerTxs([]*mempool.Entry{e}))
	case errors.As(err, &rej) && rej.Reason == mempool.ReasonSameNonWitness:
		// Core answers with the txid when a transaction with the same
		// txid (another witness) is already in its mempool.
		return tx.TxHash().String(), nil
	case errors.As(err, &rej):
		return "", rpcserver.NewError(-26, "%s", rej.Error())
	case err != nil:
		return "", rpcserver.NewError(-1, "%v", err)
	}
	return e.TxID.String(), nil
}

func (a *Admin) MempoolTxIDs() []string {
	if a.pool() == nil {
		return nil
	}
	es := a.pool().Entries()
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.TxID.String()
	}
	return ids
}

// entry converts e; callers flush the recorder first so that the
// propagation records include every report already queued.
func (a *Admin) entry(e *mempool.Entry) rpcserver.MempoolEntry {
	prop, _ := a.pool().Propagation(e.TxID)
	events := func(evs []mempool.PeerEvent) []rpcserver.PropagationEvent {
		out := make([]rpcserver.PropagationEvent, len(evs))
		for i, ev := range evs {
			out[i] = rpcserver.PropagationEvent{ID: int64(ev.Peer.ID), Addr: ev.Peer.Addr, Time: rpcserver.UnixSeconds(ev.At)}
		}
		return out
	}
	return rpcserver.MempoolEntry{
		VSize: int64(e.VSize), Weight: int64(e.Weight), Time: e.Added.Unix(),
		DescendantCount: 1, DescendantSize: int64(e.VSize), AncestorCount: 1, AncestorSize: int64(e.VSize),
		WTxID:       e.WTxID.String(),
		Unbroadcast: len(prop.Fetched) == 0,
		Propagation: rpcserver.Propagation{InvSent: events(prop.InvSent), Fetched: events(prop.Fetched), SeenFrom: events(prop.SeenFrom)},
	}
}

func (a *Admin) MempoolEntry(txid string) (rpcserver.MempoolEntry, error) {
	h, err := chainhash.NewHashFromStr(txid)
	if err != nil || a.pool() == nil {
		return rpcserver.MempoolEntry{}, rpcserver.ErrNotInMempool()
	}
	e, ok := a.pool().Get(*h)
	if !ok {
		return rpcserver.MempoolEntry{}, rpcserver.ErrNotInMempool()
	}
	a.n.flushReports()
	return a.entry(e), nil
}

func (a *Admin) MempoolEntries() map[string]rpcserver.MempoolEntry {
	out := map[string]rpcserver.MempoolEntry{}
	if a.pool() == nil {
		return out
	}
	a.n.flushReports()
	for _, e := range a.pool().Entries() {
		out[e.TxID.String()] = a.entry(e)
	}
	return out
}

func (a *Admin) MempoolInfo() rpcserver.MempoolInfo {
	if a.pool() == nil {
		return rpcserver.MempoolInfo{}
	}
	info := a.pool().Info()
	var vbytes int64
	for _, e := range a.pool().Entries() {
		vbytes += int64(e.VSize)
	}
	return rpcserver.MempoolInfo{
		Loaded: true, Size: int64(info.Count), Bytes: vbytes, Usage: info.Bytes,
		MaxMempool: info.MaxBytes, UnbroadcastCount: int64(len(a.pool().Unbroadcast())),
	}
}

func (a *Admin) Peers() []rpcserver.PeerInfo {
	snaps := a.n.Peers()
	out := make([]rpcserver.PeerInfo, len(snaps))
	for i, s := range snaps {
		svc, names := rpcserver.ServiceFlags(uint64(s.Services))
		ct := rpcserver.ConnOutboundFullRelay
		if s.Inbound {
			ct = rpcserver.ConnInbound
		}
		trs := make([]rpcserver.Transition, len(s.History))
		for j, t := range s.History {
			trs[j] = rpcserver.Transition{Time: rpcserver.UnixSeconds(t.At), From: t.From, To: t.To, On: t.On}
		}
		out[i] = rpcserver.PeerInfo{
			ID: int64(s.ID), Addr: s.Addr, Network: network(s.Addr),
			Services: svc, ServicesNames: names, RelayTxes: s.Relay,
			LastSend: unix(s.LastSend), LastRecv: unix(s.LastRecv),
			BytesSent: s.BytesSent, BytesRecv: s.BytesRecv, ConnTime: s.ConnectedAt.Unix(),
			PingTime: s.LastPing.Seconds(), MinPing: s.MinPing.Seconds(), PingWait: s.PingWait.Seconds(),
			Version: s.ProtocolVersion, SubVer: s.UserAgent, Inbound: s.Inbound,
			StartingHeight: s.StartHeight, ConnectionType: ct,
			WTxIDRelay: s.WTxIDRelay, State: s.State, Transitions: trs,
		}
	}
	return out
}

func (a *Admin) ConnectionCount() int { return a.n.PeerCount() }

func (a *Admin) NetworkInfo() rpcserver.NetworkInfo {
	hc := &a.n.cfg.Peer.Machine.Handshake
	svc, names := rpcserver.ServiceFlags(uint64(hc.Services))
	in := 0
	snaps := a.n.Peers()
	for _, s := range snaps {
		if s.Inbound {
			in++
		}
	}
	return rpcserver.NetworkInfo{
		Version: a.version, SubVersion: hc.UserAgent, ProtocolVersion: int(handshake.ProtocolVersion),
		LocalServices: svc, LocalServicesNames: names, LocalRelay: !hc.DisableRelay,
		Connections: len(snaps), ConnectionsIn: in, ConnectionsOut: len(snaps) - in, NetworkActive: true,
	}
}

func (a *Admin) AddNode(addr, command string) error {
	var err error
	switch command {
	case "add":
		err = a.n.AddPeer(addr)
	case "remove":
		err = a.n.RemovePeer(addr)
	case "onetry":
		err = a.n.ConnectOnce(addr)
	default:
		return rpcserver.NewError(-1, "addnode: command must be add, remove or onetry")
	}
	switch {
	case errors.Is(err, ErrAlreadyAdded):
		return rpcserver.ErrNodeAlreadyAdded()
	case errors.Is(err, ErrNotAdded):
		return rpcserver.ErrNodeNotAdded()
	case err != nil:
		return rpcserver.NewError(-8, "%v", err)
	}
	return nil
}

func (a *Admin) DisconnectNode(addr string, id int64, byID bool) error {
	ok := false
	if byID {
		ok = id >= 0 && a.n.Disconnect(uint64(id))
	} else {
		ok = a.n.DisconnectAddr(addr)
	}
	if !ok {
		return rpcserver.ErrNodeNotConnected()
	}
	return nil
}

func (a *Admin) Ping()                 { a.n.PingAll() }
func (a *Admin) DisconnectAll() int    { return a.n.DisconnectAll() }
func (a *Admin) Uptime() time.Duration { return a.n.Uptime() }
func (a *Admin) Stop()                 { a.stop() }

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// network names an address's network as getpeerinfo does.
func network(addr string) string {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		if strings.HasSuffix(strings.Split(addr, ":")[0], ".onion") {
			return "onion"
		}
		return "not_publicly_routable"
	}
	ip := ap.Addr().Unmap()
	switch {
	case !ip.IsGlobalUnicast() || ip.IsPrivate():
		return "not_publicly_routable"
	case ip.Is4():
		return "ipv4"
	}
	return "ipv6"
}

// SetBan adds or removes an operator ban (Core's setban).
func (a *Admin) SetBan(subnet, command string, banTime int64, absolute bool) error {
	p, err := ParseSubnet(subnet)
	if err != nil {
		return rpcserver.ErrInvalidIPOrSubnet()
	}
	switch command {
	case "add":
		until := time.Now().Add(DefaultBanTime)
		switch {
		case absolute:
			until = time.Unix(banTime, 0)
			if !until.After(time.Now()) {
				return rpcserver.ErrBanTimeInPast()
			}
		case banTime > 0:
			until = time.Now().Add(time.Duration(banTime) * time.Second)
		}
		if err := a.n.Ban(p, until); errors.Is(err, ErrAlreadyBanned) {
			return rpcserver.ErrAlreadyBanned()
		} else if err != nil {
			return rpcserver.NewError(-1, "%v", err)
		}
	case "remove":
		if err := a.n.Unban(p); errors.Is(err, ErrNotBanned) {
			return rpcserver.ErrUnbanFailed()
		} else if err != nil {
			return rpcserver.NewError(-1, "%v", err)
		}
	default:
		return rpcserver.NewError(-1, "setban: command must be add or remove")
	}
	return nil
}

// ListBanned lists the bans in force (Core's listbanned).
func (a *Admin) ListBanned() []rpcserver.BanInfo {
	now := time.Now()
	bans := a.n.Bans()
	out := make([]rpcserver.BanInfo, len(bans))
	for i, b := range bans {
		out[i] = rpcserver.BanInfo{
			Address: b.Subnet.String(), BanCreated: b.Created.Unix(), BannedUntil: b.Until.Unix(),
			BanDuration: int64(b.Until.Sub(b.Created).Seconds()), TimeRemaining: int64(b.Until.Sub(now).Seconds()),
		}
	}
	return out
}

// ClearBanned removes every ban (Core's clearbanned).
func (a *Admin) ClearBanned() {
	if err := a.n.ClearBans(); err != nil {
		log.Errorf("clearbanned: %v", err)
	}
}
