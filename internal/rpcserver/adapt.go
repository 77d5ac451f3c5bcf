package rpcserver

import (
	"cmp"
	"encoding/hex"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"

	"github.com/peerd/peerd/mempool"
	"github.com/peerd/peerd/node"
)

// The server's only builders of Core's JSON shapes from the node's values.
// Core writes an empty list as [] and an empty object as {}, never null, so
// every slice and map they set is non-nil.

// mapSlice converts each element of in with f; nil in gives an empty,
// non-nil slice.
func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

func txidStrings(ids []chainhash.Hash) []string {
	return mapSlice(ids, chainhash.Hash.String)
}

func propagationEvent(ev mempool.PeerEvent) PropagationEvent {
	return PropagationEvent{ID: int64(ev.Peer.ID), Addr: ev.Peer.Addr, Time: UnixSeconds(ev.At)}
}

func mempoolEntry(e node.MempoolEntry) MempoolEntry {
	return MempoolEntry{
		VSize: int64(e.VSize), Weight: int64(e.Weight), Time: e.Added.Unix(),
		DescendantCount: 1, DescendantSize: int64(e.VSize), AncestorCount: 1, AncestorSize: int64(e.VSize),
		WTxID:       e.WTxID.String(),
		Depends:     []string{},
		SpentBy:     []string{},
		Unbroadcast: e.Unbroadcast,
		Propagation: Propagation{
			InvSent:   mapSlice(e.Propagation.InvSent, propagationEvent),
			Fetched:   mapSlice(e.Propagation.Fetched, propagationEvent),
			SeenFrom:  mapSlice(e.Propagation.SeenFrom, propagationEvent),
			Attempts:  mapSlice(e.Propagation.Attempts, broadcastAttempt),
			Confirmed: UnixSeconds(e.Propagation.Confirmed),
			FirstEcho: firstEcho(e.Added, e.Propagation.SeenFrom),
		},
	}
}

// firstEcho is the seconds (to the millisecond) from added to the first
// of echoes; nil when there is none.
func firstEcho(added time.Time, echoes []mempool.PeerEvent) *float64 {
	if len(echoes) == 0 {
		return nil
	}
	d := math.Round(echoes[0].At.Sub(added).Seconds()*1000) / 1000
	return &d
}

func broadcastAttempt(a mempool.Attempt) BroadcastAttempt {
	return BroadcastAttempt{
		Address: a.Addr, PeerID: int64(a.Peer), Transport: a.Transport,
		Opened: UnixSeconds(a.Opened), Announced: UnixSeconds(a.Announced), GetData: UnixSeconds(a.GetData),
		Sent: UnixSeconds(a.Sent), Received: UnixSeconds(a.Received), Reject: a.Reject,
		Ended: UnixSeconds(a.Ended), Outcome: a.Outcome,
	}
}

// privateBroadcastTx is one transaction of getprivatebroadcastinfo. Core's
// "peers" are the attempts that got past the handshake (announced), "sent"
// being when the inv went out.
func privateBroadcastTx(t node.PrivateBroadcastTx) PrivateBroadcastTx {
	peers := []PrivateBroadcastPeer{}
	for _, a := range t.Attempts {
		if !a.Announced.IsZero() {
			peers = append(peers, PrivateBroadcastPeer{Address: a.Addr, Sent: a.Announced.Unix(), Received: unix(a.Received)})
		}
	}
	out := PrivateBroadcastTx{
		TxID: t.TxID.String(), WTxID: t.WTxID.String(), Hex: hex.EncodeToString(t.Raw), Peers: peers,
		State: t.State, Added: UnixSeconds(t.Added), Confirmed: UnixSeconds(t.Confirmed),
		AttemptsRemaining: t.AttemptsRemaining,
		Attempts:          mapSlice(t.Attempts, broadcastAttempt),
		Echoes:            mapSlice(t.Echoes, propagationEvent),
	}
	out.FirstEcho = firstEcho(t.Added, t.Echoes)
	return out
}

func removedTx(t node.PrivateBroadcastTx) RemovedTx {
	return RemovedTx{TxID: t.TxID.String(), WTxID: t.WTxID.String(), Hex: hex.EncodeToString(t.Raw)}
}

// mempoolEntries is getrawmempool true's object: entries by txid.
func mempoolEntries(es []node.MempoolEntry) map[string]MempoolEntry {
	out := make(map[string]MempoolEntry, len(es))
	for _, e := range es {
		out[e.TxID.String()] = mempoolEntry(e)
	}
	return out
}

func mempoolInfo(i node.MempoolInfo) MempoolInfo {
	return MempoolInfo{
		Loaded: i.Loaded, Size: int64(i.Count), Bytes: i.VSize, Usage: i.Bytes, MaxMempool: i.MaxBytes,
		MempoolMinFee: Amount(i.MinFeeRate), MinRelayTxFee: Amount(i.MinRelayFeeRate),
		IncrementalRelayFee: Amount(i.IncrementalFeeRate), UnbroadcastCount: int64(i.Unbroadcast),
	}
}

func peerInfo(p node.PeerInfo) PeerInfo {
	svc, names := ServiceFlags(uint64(p.Services))
	ct := p.Conn.String()
	if p.Inbound {
		ct = ConnInbound
	}
	return PeerInfo{
		ID: int64(p.ID), Addr: p.Addr, AddrBind: p.LocalAddr, Network: network(p.Addr),
		Services: svc, ServicesNames: names, RelayTxes: p.Relay,
		LastSend: unix(p.LastSend), LastRecv: unix(p.LastRecv),
		BytesSent: p.BytesSent, BytesRecv: p.BytesRecv, ConnTime: p.ConnectedAt.Unix(),
		PingTime: p.LastPing.Seconds(), MinPing: p.MinPing.Seconds(), PingWait: p.PingWait.Seconds(),
		Version: p.ProtocolVersion, SubVer: p.UserAgent, Inbound: p.Inbound,
		StartingHeight: p.StartHeight, Permissions: []string{},
		AddrRelayEnabled: p.AddrRelayEnabled, AddrProcessed: p.AddrProcessed, AddrRateLimited: p.AddrRateLimited,
		MinFeeFilter:    Amount(p.MinFeeFilter),
		BytesSentPerMsg: nonNil(p.BytesSentPerMsg), BytesRecvPerMsg: nonNil(p.BytesRecvPerMsg),
		ConnectionType: ct, TransportProtocolType: cmp.Or(p.Transport, "v1"), SessionID: hex.EncodeToString(p.SessionID),
		WTxIDRelay: p.WTxIDRelay, State: p.State,
		Transitions: mapSlice(p.Transitions, func(t node.Transition) Transition {
			return Transition{Time: UnixSeconds(t.At), From: t.From, To: t.To, On: t.On}
		}),
	}
}

// nonNil is m, or an empty map: Core writes {} for a peer that exchanged
// nothing yet.
func nonNil(m map[string]uint64) map[string]uint64 {
	if m == nil {
		return map[string]uint64{}
	}
	return m
}

// noUploadTarget is Core's upload target when -maxuploadtarget is 0.
var noUploadTarget = UploadTarget{TimeFrame: 24 * 60 * 60, ServeHistoricalBlocks: true}

func netTotals(t node.NetTotals) NetTotals {
	return NetTotals{TotalBytesRecv: t.BytesRecv, TotalBytesSent: t.BytesSent, TimeMillis: t.At.UnixMilli(), UploadTarget: noUploadTarget}
}

func nodeAddress(a node.NodeAddress) NodeAddress {
	return NodeAddress{Time: unix(a.Seen), Services: uint64(a.Services), Address: a.Host, Port: a.Port, Network: a.Network}
}

func addrManInfo(cs []node.AddrBookCount) AddrManInfo {
	return mapSlice(cs, func(c node.AddrBookCount) AddrManNetwork {
		return AddrManNetwork{Network: c.Network, New: c.New, Tried: c.Tried, Total: c.New + c.Tried}
	})
}

func networkInfo(n node.NetworkInfo) NetworkInfo {
	svc, names := ServiceFlags(uint64(n.Services))
	return NetworkInfo{
		Version: n.Version, SubVersion: n.UserAgent, ProtocolVersion: int(n.ProtocolVersion),
		LocalServices: svc, LocalServicesNames: names, LocalRelay: n.Relay,
		Connections: n.Connections, ConnectionsIn: n.Inbound, ConnectionsOut: n.Connections - n.Inbound,
		NetworkActive: n.Active, Networks: mapSlice(n.Networks, func(nw node.Network) Network {
			return Network{Name: nw.Name, Limited: !nw.Reachable, Reachable: nw.Reachable, Proxy: nw.Proxy,
				ProxyRandomizeCredentials: nw.ProxyRandomize}
		}),
		RelayFee: Amount(n.RelayFeeRate), IncrementalFee: Amount(n.IncrementalFeeRate),
		LocalAddresses: mapSlice(n.LocalAddrs, func(ap netip.AddrPort) LocalAddress {
			// Core's scores: LOCAL_MANUAL (4) for -externalip, LOCAL_BIND
			// (1) for a bound address.
			score := 1
			if n.Manual {
				score = 4
			}
			return LocalAddress{Address: ap.Addr().String(), Port: int(ap.Port()), Score: score}
		}),
	}
}

func banInfo(b node.Ban, now time.Time) BanInfo {
	return BanInfo{
		Address: b.Subnet.String(), BanCreated: b.Created.Unix(), BannedUntil: b.Until.Unix(),
		BanDuration: int64(b.Until.Sub(b.Created).Seconds()), TimeRemaining: int64(b.Until.Sub(now).Seconds()),
	}
}

// unix is a time as getpeerinfo's seconds: 0 for never.
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

// PeerAddressResult is Core's addpeeraddress result.
type PeerAddressResult struct {
	Success bool   `json:"success"`
	Error   string `json:"error,omitempty"`
}

func peerAddressResult(r node.PeerAddressResult) PeerAddressResult {
	switch r {
	case node.PeerAddressNotAdded:
		return PeerAddressResult{Error: "failed-adding-to-new"}
	case node.PeerAddressNotTried:
		return PeerAddressResult{Error: "failed-adding-to-tried"}
	}
	return PeerAddressResult{Success: true}
}
