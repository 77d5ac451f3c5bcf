package node

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/mempool"
	"github.com/peerd/peerd/node/addrbook"
	"github.com/peerd/peerd/node/connmgr"
	"github.com/peerd/peerd/node/privbcast"
	"github.com/peerd/peerd/peer/driver"
)

// Admin is the node's operator interface, one implementation behind every
// face: the JSON-RPC server (internal/rpcserver) and the debug console
// (internal/telnet) each adapt its values and errors to their own form.
// It speaks the node's types: hashes, mempool entries, peer views, bans,
// and *[Error] values that carry an [ErrorKind], never a face's codes.
// Its methods are safe for concurrent use and never block on a peer:
// commands reach peers through their contexts and bounded queues.
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

// ErrorKind says what kind of refusal an [Error] is, so that each face
// can word it in its own terms.
type ErrorKind uint8

const (
	// ErrKindTxDecode: the bytes are no transaction (they do not
	// deserialize, or bytes follow the transaction).
	ErrKindTxDecode ErrorKind = iota + 1
	// ErrKindRejected: the mempool refused the transaction; the Error
	// wraps the *mempool.RejectError.
	ErrKindRejected
	// ErrKindNotFound: what the command names is not there: a
	// transaction not in the mempool, a peer not connected, an address
	// never added (wraps ErrNotAdded), a subnet not banned (wraps
	// ErrNotBanned).
	ErrKindNotFound
	// ErrKindExists: what the command adds is there already: an added
	// address (wraps ErrAlreadyAdded), a banned subnet (wraps
	// ErrAlreadyBanned).
	ErrKindExists
	// ErrKindInvalidAddress: an address or subnet that does not parse.
	ErrKindInvalidAddress
	// ErrKindInvalidParameter: a parameter outside its domain, such as
	// an absolute ban time in the past.
	ErrKindInvalidParameter
	// ErrKindUnavailable: the node lacks what the command needs (no
	// mempool).
	ErrKindUnavailable
	// ErrKindNotEnabled: the command needs a feature the node runs
	// without (private broadcast without --privatebroadcast).
	ErrKindNotEnabled
)

var kindNames = [...]string{
	ErrKindTxDecode:         "tx decode",
	ErrKindRejected:         "rejected",
	ErrKindNotFound:         "not found",
	ErrKindExists:           "exists",
	ErrKindInvalidAddress:   "invalid address",
	ErrKindInvalidParameter: "invalid parameter",
	ErrKindUnavailable:      "unavailable",
	ErrKindNotEnabled:       "not enabled",
}

func (k ErrorKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("ErrorKind(%d)", uint8(k))
}

// Error is an Admin command's refusal. Its text is Err's; errors.Is and
// errors.As see through it to Err (a sentinel such as ErrAlreadyBanned,
// or a *mempool.RejectError). Admin methods return other errors only for
// failures that are no refusal (a disk error, a bad command word).
type Error struct {
	Kind ErrorKind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of the first *Error in err's chain, 0 if none.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e.Kind
	}
	return 0
}

func refuse(kind ErrorKind, err error) *Error { return &Error{Kind: kind, Err: err} }

// MempoolEntry is the operator's view of one mempool transaction.
type MempoolEntry struct {
	TxID, WTxID   chainhash.Hash
	VSize, Weight int       // BIP 141
	Added         time.Time // when the mempool accepted it
	// Propagation holds the peers it was announced to, fetched by and
	// seen from, including every report queued before the call.
	Propagation mempool.Propagation
	// Unbroadcast: no peer has fetched it yet.
	Unbroadcast bool
}

// MempoolInfo summarises the mempool. Fee rates are satoshis per 1000
// virtual bytes; peerd keeps no UTXO set and has no fee policy, so they
// are 0.
type MempoolInfo struct {
	Loaded      bool  // there is a mempool, loaded from disk
	Count       int   // transactions
	VSize       int64 // sum of virtual sizes
	Bytes       int64 // sum of serialized sizes: the memory the pool counts
	MaxBytes    int64 // the pool's limit on Bytes
	Unbroadcast int   // transactions no peer has fetched yet

	MinFeeRate, MinRelayFeeRate, IncrementalFeeRate int64
}

// PeerInfo is the operator's view of one connected peer. Zero times and
// durations mean never or not measured.
type PeerInfo struct {
	ID        uint64 // unique per connection, never reused
	Addr      string // host:port of the remote end
	LocalAddr string // host:port of our end; "" when not known
	Inbound   bool
	// Conn is the connection's type (getpeerinfo's connection_type).
	Conn ConnType
	// Transport is the connection's transport protocol: "v1", "v2", or
	// "detecting" (inbound, before the peer's first bytes tell).
	Transport string
	// SessionID is BIP 324's session id (32 bytes) on a v2 connection
	// whose key exchange is done; nil otherwise.
	SessionID []byte

	ConnectedAt, LastSend, LastRecv time.Time
	BytesSent, BytesRecv            uint64
	// Bytes per command, header included (a command peerd does not know
	// counts as "*other*"); nil before the first message.
	BytesSentPerMsg, BytesRecvPerMsg map[string]uint64
	// MinFeeFilter is the peer's last feefilter (BIP 133), satoshis per
	// 1000 virtual bytes; 0 if it sent none. peerd has no fees to
	// compare it with and only reports it.
	MinFeeFilter int64

	ProtocolVersion uint32
	Services        wire.ServiceFlag
	UserAgent       string
	StartHeight     int32
	Relay           bool // the peer asked us to relay transactions
	WTxIDRelay      bool // the peer sent wtxidrelay (BIP 339)

	LastPing, MinPing time.Duration // round trips
	PingWait          time.Duration // age of the outstanding ping

	// AddrRelayEnabled: we take part in address relay with the peer;
	// AddrProcessed and AddrRateLimited count the addresses it sent that
	// we processed and that its token bucket dropped (package peer,
	// addr.go).
	AddrRelayEnabled               bool
	AddrProcessed, AddrRateLimited uint64

	State       string       // state path, e.g. "standby/validating"
	Transitions []Transition // recent state changes, oldest first
}

// Transition is one state change of a peer's state machine.
type Transition struct {
	At       time.Time
	From, To string // state paths, e.g. "handshake/awaitVerack"
	On       string // the event, e.g. "verack"
}

// NetworkInfo is the node's networking as the operator sees it. Fee rates
// are satoshis per 1000 virtual bytes (0: see [MempoolInfo]).
type NetworkInfo struct {
	Version         int // peerd's, as Core writes its own: 0.1.0 is 100
	UserAgent       string
	ProtocolVersion uint32
	Services        wire.ServiceFlag // what we advertise
	Relay           bool             // we ask peers to relay transactions
	Active          bool             // networking is on
	Connections     int
	Inbound         int // of Connections
	Networks        []Network
	// LocalAddrs are the addresses we advertise as ours (--externalip,
	// else the routable listeners); Manual when from --externalip.
	LocalAddrs []netip.AddrPort
	Manual     bool

	RelayFeeRate, IncrementalFeeRate int64
}

// Network is how the node reaches one network (getnetworkinfo's
// "networks"): Reachable means automatic connections may go to it
// (--onlynet, and a proxy for onion), Proxy is the SOCKS5 proxy its
// connections go through ("" for none).
type Network struct {
	Name           string // ipv4, ipv6, onion, i2p, cjdns
	Reachable      bool
	Proxy          string
	ProxyRandomize bool // each connection offers the proxy random credentials
}

// peerInfo is the one place that reads the peer package's snapshot.
func peerInfo(s driver.Snapshot) PeerInfo {
	trs := make([]Transition, len(s.History))
	for i, t := range s.History {
		trs[i] = Transition{At: t.At, From: t.From, To: t.To, On: t.On}
	}
	return PeerInfo{
		ID: s.ID, Addr: s.Addr, LocalAddr: s.LocalAddr, Inbound: s.Inbound, Transport: s.Transport, SessionID: s.SessionID,
		ConnectedAt: s.ConnectedAt, LastSend: s.LastSend, LastRecv: s.LastRecv,
		BytesSent: s.BytesSent, BytesRecv: s.BytesRecv,
		BytesSentPerMsg: s.BytesSentPerMsg, BytesRecvPerMsg: s.BytesRecvPerMsg, MinFeeFilter: s.MinFeeFilter,
		ProtocolVersion: s.ProtocolVersion, Services: s.Services, UserAgent: s.UserAgent,
		StartHeight: s.StartHeight, Relay: s.Relay, WTxIDRelay: s.WTxIDRelay,
		LastPing: s.LastPing, MinPing: s.MinPing, PingWait: s.PingWait,
		AddrRelayEnabled: s.AddrRelayEnabled, AddrProcessed: s.AddrProcessed, AddrRateLimited: s.AddrRateLimited,
		State: s.State, Transitions: trs,
	}
}

func (a *Admin) pool() *mempool.Pool { return a.n.cfg.Mempool }

// SendRawTransaction decodes raw (a serialized transaction), adds it
// durably, and lets the relay loop announce it; it returns the txid. A
// transaction already in the mempool is no refusal (as in Core): its txid
// is returned and it is offered again, and so is one with the same txid
// and another witness. Refusals: ErrKindTxDecode, ErrKindRejected,
// ErrKindUnavailable.
func (a *Admin) SendRawTransaction(raw []byte) (chainhash.Hash, error) {
	var tx wire.MsgTx
	r := bytes.NewReader(raw)
	if err := tx.Deserialize(r); err != nil {
		return chainhash.Hash{}, refuse(ErrKindTxDecode, fmt.Errorf("transaction does not decode: %w", err))
	}
	if r.Len() != 0 {
		return chainhash.Hash{}, refuse(ErrKindTxDecode, fmt.Errorf("transaction does not decode: %d bytes after its end", r.Len()))
	}
	if a.pool() == nil {
		return chainhash.Hash{}, refuse(ErrKindUnavailable, errors.New("no mempool"))
	}
	if a.n.priv != nil {
		return a.sendPrivate(&tx)
	}
	e, err := a.pool().Add(&tx)
	var rej *mempool.RejectError
	switch {
	case errors.Is(err, mempool.ErrAlreadyHave):
		a.n.broadcast(a.n.peerTxs([]*mempool.Entry{e}))
	case errors.As(err, &rej) && rej.Reason == mempool.ReasonSameNonWitness:
		return tx.TxHash(), nil
	case errors.As(err, &rej):
		return chainhash.Hash{}, refuse(ErrKindRejected, rej)
	case err != nil:
		return chainhash.Hash{}, err
	}
	return e.TxID, nil
}

// sendPrivate is SendRawTransaction with private broadcast on: the
// transaction is stored as private (durably) and handed to the scheduler.
// One already private is left to its broadcast (Core logs "ignoring
// unnecessary request"); one already public (confirmed, or added before
// private broadcast was turned on) is broadcast privately again, as Core
// does for a mempool transaction.
func (a *Admin) sendPrivate(tx *wire.MsgTx) (chainhash.Hash, error) {
	e, err := a.pool().AddPrivate(tx)
	var rej *mempool.RejectError
	switch {
	case errors.Is(err, mempool.ErrAlreadyHave):
		if e.Private() {
			log.Infof("Private broadcast of %v: already scheduled", e.TxID)
			return e.TxID, nil
		}
	case errors.As(err, &rej) && rej.Reason == mempool.ReasonSameNonWitness:
		return tx.TxHash(), nil
	case errors.As(err, &rej):
		return chainhash.Hash{}, refuse(ErrKindRejected, rej)
	case err != nil:
		return chainhash.Hash{}, err
	}
	// Scheduled off the caller's goroutine: the call returns once the
	// transaction is durable, not after its first connections are drawn.
	txid := e.TxID
	a.n.spawn(func() { a.n.privAdd(txid) })
	return e.TxID, nil
}

// ErrPrivateNotEnabled refuses the private-broadcast commands on a node
// running without it.
var ErrPrivateNotEnabled = errors.New("private broadcast is not enabled: start peerd with --privatebroadcast (and --proxy or --onion)")

// ErrNotInPrivateQueue refuses abortprivatebroadcast of a transaction that
// is not awaiting private broadcast.
var ErrNotInPrivateQueue = errors.New("transaction not in private broadcast queue")

// PrivateBroadcastTx is one transaction's private broadcast
// (getprivatebroadcastinfo): kept while it awaits confirmation, and after
// it, until the transaction leaves the mempool (Core forgets it at once).
type PrivateBroadcastTx struct {
	TxID, WTxID chainhash.Hash
	Raw         []byte
	// State: "pending", "confirmed" (an ordinary peer announced it
	// back; it is public now), or "gave up" (MaxAttempts without an
	// echo).
	State     string
	Added     time.Time
	Confirmed time.Time // zero unless confirmed
	// Attempts are its broadcast connections, in the order opened.
	Attempts []mempool.Attempt
	// Echoes are the ordinary peers that announced it back, first first.
	Echoes            []mempool.PeerEvent
	AttemptsRemaining int
}

// PrivateBroadcastInfo lists the transactions broadcast privately that
// are still in the mempool, in acceptance order. ErrKindNotEnabled without
// private broadcast.
func (a *Admin) PrivateBroadcastInfo() ([]PrivateBroadcastTx, error) {
	ps := a.n.priv
	if ps == nil {
		return nil, refuse(ErrKindNotEnabled, ErrPrivateNotEnabled)
	}
	a.n.flushReports()
	var out []PrivateBroadcastTx
	for _, e := range a.pool().Entries() {
		if t, ok := a.privateTx(e); ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// privateTx describes e's private broadcast; false if it had none.
func (a *Admin) privateTx(e *mempool.Entry) (PrivateBroadcastTx, bool) {
	prop, _ := a.pool().Propagation(e.TxID)
	if !e.Private() && len(prop.Attempts) == 0 {
		return PrivateBroadcastTx{}, false
	}
	ps := a.n.priv
	ps.pmu.Lock()
	st, known := ps.m.Status(e.TxID)
	limit := ps.m.Config().MaxAttempts
	ps.pmu.Unlock()
	t := PrivateBroadcastTx{
		TxID: e.TxID, WTxID: e.WTxID, Raw: e.Raw, State: "pending", Added: e.Added,
		Confirmed: prop.Confirmed, Attempts: prop.Attempts, Echoes: prop.SeenFrom,
		AttemptsRemaining: limit,
	}
	switch {
	case !e.Private():
		t.State = "confirmed"
	case known && st.State == privbcast.GaveUp:
		t.State = "gave up"
	}
	if known {
		t.AttemptsRemaining = max(0, limit-st.Attempts)
	}
	return t, true
}

// AbortPrivateBroadcast stops the private broadcast of txid and removes it
// from the mempool (it was never public); it returns what was removed.
// ErrKindNotFound (ErrNotInPrivateQueue) when txid is not awaiting private
// broadcast; ErrKindNotEnabled without private broadcast.
func (a *Admin) AbortPrivateBroadcast(txid chainhash.Hash) (PrivateBroadcastTx, error) {
	if a.n.priv == nil {
		return PrivateBroadcastTx{}, refuse(ErrKindNotEnabled, ErrPrivateNotEnabled)
	}
	e, ok := a.pool().Get(txid)
	if !ok {
		e, ok = a.pool().GetByWTxID(txid)
	}
	if !ok || !e.Private() {
		return PrivateBroadcastTx{}, refuse(ErrKindNotFound, ErrNotInPrivateQueue)
	}
	a.n.flushReports()
	t, _ := a.privateTx(e)
	a.n.privStep(privbcast.Event{Kind: privbcast.EvAbort, TxID: e.TxID})
	if _, err := a.pool().Remove(e.TxID); err != nil {
		return PrivateBroadcastTx{}, err
	}
	log.Infof("Private broadcast of %v aborted by the operator; removed from the mempool", e.TxID)
	return t, nil
}

// MempoolTxIDs lists the mempool's txids in acceptance order. Private
// entries (awaiting private broadcast) are left out, as Core keeps them out
// of its mempool; getprivatebroadcastinfo lists them.
func (a *Admin) MempoolTxIDs() []chainhash.Hash {
	if a.pool() == nil {
		return nil
	}
	es := public(a.pool().Entries())
	ids := make([]chainhash.Hash, len(es))
	for i, e := range es {
		ids[i] = e.TxID
	}
	return ids
}

// entry converts e; callers flush the recorder first so that the
// propagation records include every report already queued.
func (a *Admin) entry(e *mempool.Entry) MempoolEntry {
	prop, _ := a.pool().Propagation(e.TxID)
	return MempoolEntry{
		TxID: e.TxID, WTxID: e.WTxID, VSize: e.VSize, Weight: e.Weight, Added: e.Added,
		Propagation: prop, Unbroadcast: len(prop.Fetched) == 0,
	}
}

// MempoolEntry returns the mempool's entry for txid; ErrKindNotFound when
// there is none.
func (a *Admin) MempoolEntry(txid chainhash.Hash) (MempoolEntry, error) {
	var e *mempool.Entry
	ok := false
	if a.pool() != nil {
		e, ok = a.pool().Get(txid)
	}
	if !ok {
		return MempoolEntry{}, refuse(ErrKindNotFound, fmt.Errorf("transaction %s not in the mempool", txid))
	}
	a.n.flushReports()
	return a.entry(e), nil
}

// MempoolEntries returns every mempool entry, in acceptance order.
func (a *Admin) MempoolEntries() []MempoolEntry {
	if a.pool() == nil {
		return nil
	}
	a.n.flushReports()
	es := public(a.pool().Entries())
	out := make([]MempoolEntry, len(es))
	for i, e := range es {
		out[i] = a.entry(e)
	}
	return out
}

// MempoolInfo summarises the mempool; the zero value when there is none.
func (a *Admin) MempoolInfo() MempoolInfo {
	if a.pool() == nil {
		return MempoolInfo{}
	}
	info := a.pool().Info()
	var vsize int64
	for _, e := range a.pool().Entries() {
		vsize += int64(e.VSize)
	}
	return MempoolInfo{
		Loaded: true, Count: info.Count, VSize: vsize, Bytes: info.Bytes,
		MaxBytes: info.MaxBytes, Unbroadcast: len(a.pool().Unbroadcast()),
	}
}

// Peers lists the connected peers, ordered by id.
func (a *Admin) Peers() []PeerInfo {
	snaps := a.n.Peers()
	out := make([]PeerInfo, len(snaps))
	for i, s := range snaps {
		out[i] = peerInfo(s)
	}
	a.n.mu.Lock()
	for i := range out {
		kind, ok := a.n.m.Kind(out[i].ID)
		out[i].Conn = connType(out[i].Inbound, kind, ok)
	}
	a.n.mu.Unlock()
	return out
}

// ConnType is a connection's type as Core's getpeerinfo names it
// (connection_type).
type ConnType uint8

// Connection types.
const (
	// ConnOutboundFullRelay: an outbound connection the node chose, for
	// transactions and addresses.
	ConnOutboundFullRelay ConnType = iota
	// ConnInbound: the peer connected to us.
	ConnInbound
	// ConnManual: the operator asked for it (--connect, --addpeer,
	// addnode add or onetry).
	ConnManual
	// ConnFeeler: a short connection that tests an address of the book.
	ConnFeeler
	// ConnPrivateBroadcast: a short connection that carries one of the
	// operator's transactions (--privatebroadcast).
	ConnPrivateBroadcast
	// ConnAddrFetch: a short connection to a DNS seed's name through
	// the proxy, for its addresses.
	ConnAddrFetch
)

var connTypeNames = [...]string{"outbound-full-relay", "inbound", "manual", "feeler", "private-broadcast", "addr-fetch"}

// NumConnTypes is how many connection types there are: ConnType(0) to
// ConnType(NumConnTypes-1).
const NumConnTypes = len(connTypeNames)

// String is Core's name for the type.
func (c ConnType) String() string {
	if int(c) < len(connTypeNames) {
		return connTypeNames[c]
	}
	return fmt.Sprintf("ConnType(%d)", uint8(c))
}

// connType is the type of a connection the manager made as kind (known:
// the node recorded its kind when it made the peer).
func connType(inbound bool, kind connmgr.Kind, known bool) ConnType {
	switch {
	case inbound:
		return ConnInbound
	case !known:
		return ConnOutboundFullRelay
	}
	// KindSeed (the automatic peers), and any kind this switch does not
	// know, is outbound-full-relay.
	switch kind {
	case connmgr.KindManual, connmgr.KindPersistent, connmgr.KindOneTry:
		return ConnManual
	case connmgr.KindFeeler:
		return ConnFeeler
	case connmgr.KindPrivate:
		return ConnPrivateBroadcast
	case connmgr.KindAddrFetch:
		return ConnAddrFetch
	}
	return ConnOutboundFullRelay
}

// ConnectionCount is the number of connected peers.
func (a *Admin) ConnectionCount() int { return a.n.PeerCount() }

// NetTotals returns the bytes received and sent on every connection since
// the node started (Core's getnettotals).
func (a *Admin) NetTotals() NetTotals { return a.n.NetTotals() }

// NetworkInfo describes the node's networking.
func (a *Admin) NetworkInfo() NetworkInfo {
	hc := &a.n.cfg.Peer.Machine.Handshake
	in := 0
	snaps := a.n.Peers()
	for _, s := range snaps {
		if s.Inbound {
			in++
		}
	}
	return NetworkInfo{
		Version: a.version, UserAgent: hc.UserAgent, ProtocolVersion: handshake.ProtocolVersion,
		Services: hc.Services, Relay: !hc.DisableRelay, Active: true,
		Connections: len(snaps), Inbound: in, Networks: a.n.networks(),
		LocalAddrs: slices.Clone(a.n.local), Manual: len(a.n.cfg.ExternalIPs) > 0,
	}
}

// AddNode keeps a connection to addr ("add"), stops keeping it
// ("remove"), or dials it once ("onetry"), as Core's addnode with its
// v2transport parameter: tr is TransportAuto when the operator gave none
// (v2 exactly when the node speaks it), TransportV1 for false,
// TransportV2 for true. A kept address is dialled with its transport
// every time. Refusals, in this order: TransportV2 while the node speaks
// only v1, for every command (ErrKindInvalidParameter, ErrV2NotEnabled);
// ErrKindInvalidAddress; ErrKindExists (ErrAlreadyAdded); ErrKindNotFound
// (ErrNotAdded). Any other command word is a plain error.
func (a *Admin) AddNode(addr, command string, tr Transport) error {
	if tr == TransportV2 && !a.n.cfg.V2Transport && (command == "add" || command == "remove" || command == "onetry") {
		return refuse(ErrKindInvalidParameter, ErrV2NotEnabled)
	}
	var err error
	switch command {
	case "add":
		err = a.n.AddPeer(addr, tr)
	case "remove":
		err = a.n.RemovePeer(addr)
	case "onetry":
		err = a.n.ConnectOnce(addr, tr)
	default:
		return errors.New("addnode: command must be add, remove or onetry")
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrAlreadyAdded):
		return refuse(ErrKindExists, err)
	case errors.Is(err, ErrNotAdded):
		return refuse(ErrKindNotFound, err)
	}
	return refuse(ErrKindInvalidAddress, err)
}

// DisconnectNode disconnects the peer with the id (byID) or the peers at
// addr; ErrKindNotFound when there is none.
func (a *Admin) DisconnectNode(addr string, id int64, byID bool) error {
	if byID {
		if id < 0 || !a.n.Disconnect(uint64(id)) {
			return refuse(ErrKindNotFound, fmt.Errorf("no connected peer with id %d", id))
		}
		return nil
	}
	if !a.n.DisconnectAddr(addr) {
		return refuse(ErrKindNotFound, fmt.Errorf("no connected peer at %q", addr))
	}
	return nil
}

// Ping asks every peer to ping now.
func (a *Admin) Ping() { a.n.PingAll() }

// DisconnectAll disconnects every peer and returns how many there were.
func (a *Admin) DisconnectAll() int { return a.n.DisconnectAll() }

// Uptime is how long the node has run.
func (a *Admin) Uptime() time.Duration { return a.n.Uptime() }

// Stop begins the node's shutdown and returns at once.
func (a *Admin) Stop() { a.stop() }

// errBanTimeInPast is SetBan's refusal of an absolute ban time that has
// passed.
var errBanTimeInPast = errors.New("absolute ban time is in the past")

// SetBan bans (command "add") or unbans ("remove") subnet, an IP address
// or a CIDR subnet. A ban lasts banTime seconds, DefaultBanTime when
// banTime is 0 or less; with absolute, it lasts until the Unix time
// banTime. Refusals, checked in this order: ErrKindInvalidAddress; for
// "add" an absolute time not after now (ErrKindInvalidParameter), then
// ErrKindExists (ErrAlreadyBanned); for "remove" ErrKindNotFound
// (ErrNotBanned). Any other command word is a plain error.
func (a *Admin) SetBan(subnet, command string, banTime int64, absolute bool) error {
	p, err := ParseSubnet(subnet)
	if err != nil {
		return refuse(ErrKindInvalidAddress, err)
	}
	switch command {
	case "add":
		until := time.Now().Add(DefaultBanTime)
		switch {
		case absolute:
			until = time.Unix(banTime, 0)
			if !until.After(time.Now()) {
				return refuse(ErrKindInvalidParameter, errBanTimeInPast)
			}
		case banTime > 0:
			until = time.Now().Add(time.Duration(banTime) * time.Second)
		}
		if err := a.n.Ban(p, until); errors.Is(err, ErrAlreadyBanned) {
			return refuse(ErrKindExists, err)
		} else if err != nil {
			return err
		}
	case "remove":
		if err := a.n.Unban(p); errors.Is(err, ErrNotBanned) {
			return refuse(ErrKindNotFound, err)
		} else if err != nil {
			return err
		}
	default:
		return errors.New("setban: command must be add or remove")
	}
	return nil
}

// ListBanned lists the bans in force.
func (a *Admin) ListBanned() []Ban { return a.n.Bans() }

// ClearBanned removes every ban; a failure to persist is logged.
func (a *Admin) ClearBanned() {
	if err := a.n.ClearBans(); err != nil {
		log.Errorf("clearbanned: %v", err)
	}
}

// NodeAddress is one address of the address book, as Core's
// getnodeaddresses shows it.
type NodeAddress struct {
	Seen     time.Time // when it was last heard of or connected
	Services wire.ServiceFlag
	Host     string // an IP address, or "<56 characters>.onion"
	Port     uint16
	Network  string // "ipv4", "ipv6" or "onion"
}

// AddrBookCount is how many addresses of one network the book's tables
// hold (Core's getaddrmaninfo).
type AddrBookCount struct {
	Network    string // "ipv4", "ipv6", "onion", "i2p", "cjdns" or "all_networks"
	New, Tried int
}

// AddrNetworks are the network names NodeAddresses takes, as Core's
// getnodeaddresses does; the book holds no i2p or cjdns address.
var AddrNetworks = []string{"ipv4", "ipv6", "onion", "i2p", "cjdns"}

// NodeAddresses returns a random sample of at most count addresses of the
// book (0: all of them), of the named network ("" for all; see
// AddrNetworks; an unknown name gives none), without the ones the book
// deems terrible.
func (a *Admin) NodeAddresses(count int, network string) []NodeAddress {
	var nets []addrbook.Network
	switch network {
	case "":
	case "ipv4":
		nets = []addrbook.Network{addrbook.NetIPv4}
	case "ipv6":
		nets = []addrbook.Network{addrbook.NetIPv6}
	case "onion":
		nets = []addrbook.Network{addrbook.NetTorV3}
	default:
		return nil
	}
	n := a.n
	n.bookMu.Lock()
	es := n.book.GetAddr(time.Now(), max(count, 0), 0, nets...)
	n.bookMu.Unlock()
	out := make([]NodeAddress, 0, len(es))
	for _, e := range es {
		na := NodeAddress{Seen: e.Seen, Services: e.Services, Port: e.Addr.Port(), Network: e.Addr.Network().String()}
		if ap, ok := e.Addr.AddrPort(); ok {
			na.Host = ap.Addr().String()
		} else {
			s := e.Addr.String()
			na.Host = s[:strings.LastIndexByte(s, ':')]
		}
		out = append(out, na)
	}
	return out
}

// AddrManInfo counts the book's addresses per network, in Core's order,
// the total last.
func (a *Admin) AddrManInfo() []AddrBookCount {
	n := a.n
	n.bookMu.Lock()
	defer n.bookMu.Unlock()
	count := func(name string, nets ...addrbook.Network) AddrBookCount {
		c := n.book.Count(nets...)
		return AddrBookCount{Network: name, New: c.New, Tried: c.Tried}
	}
	return []AddrBookCount{
		count("ipv4", addrbook.NetIPv4),
		count("ipv6", addrbook.NetIPv6),
		count("onion", addrbook.NetTorV3),
		{Network: "i2p"},
		{Network: "cjdns"},
		count("all_networks"),
	}
}

// TestNetwork reports whether the node runs regtest or simnet, the
// networks with test-only methods (addpeeraddress).
func (a *Admin) TestNetwork() bool { return a.n.bookLocal }

// ErrTestOnly refuses a test-only method (AddPeerAddress) off regtest
// and simnet.
var ErrTestOnly = errors.New("only on regtest and simnet")

// PeerAddressResult is what AddPeerAddress did.
type PeerAddressResult uint8

const (
	// PeerAddressAdded: the address is in new, or with tried in tried.
	PeerAddressAdded PeerAddressResult = iota
	// PeerAddressNotAdded: the book did not take it (it is there
	// already, is not routable, or lost its slot): Core's
	// "failed-adding-to-new".
	PeerAddressNotAdded
	// PeerAddressNotTried: added to new, but not moved to tried (its
	// tried slot is taken; the move waits as a collision): Core's
	// "failed-adding-to-tried".
	PeerAddressNotTried
)

// peerAddressSource is the source AddPeerAddress names: every address
// the operator adds shares its group, as one peer's gossip would. (Core's
// addpeeraddress gives each address itself as its source.)
var peerAddressSource = addrbook.NamedSource("addpeeraddress")

// AddPeerAddress adds ip:port to the address book as seen now, with
// NODE_NETWORK and NODE_WITNESS, from a source named "addpeeraddress";
// with tried it then marks it good, moving it to tried as a completed
// handshake would (Core's hidden test RPC addpeeraddress). Only on
// regtest and simnet (ErrTestOnly, ErrKindUnavailable, elsewhere); an ip
// that is no IP address is ErrKindInvalidAddress. Safe for concurrent
// use.
func (a *Admin) AddPeerAddress(ip string, port uint16, tried bool) (PeerAddressResult, error) {
	if !a.TestNetwork() {
		return 0, refuse(ErrKindUnavailable, ErrTestOnly)
	}
	host, err := netip.ParseAddr(ip)
	if err != nil {
		return 0, refuse(ErrKindInvalidAddress, fmt.Errorf("invalid IP address %q", ip))
	}
	ad := addrbook.AddrFrom(netip.AddrPortFrom(host.Unmap(), port))
	n := a.n
	now := time.Now()
	n.bookMu.Lock()
	defer n.bookMu.Unlock()
	if n.book.Add(now, peerAddressSource, 0, addrbook.Advert{Addr: ad, Services: wire.SFNodeNetwork | wire.SFNodeWitness, Time: now}) == 0 {
		return PeerAddressNotAdded, nil
	}
	if tried && !n.book.Good(ad, now) {
		return PeerAddressNotTried, nil
	}
	return PeerAddressAdded, nil
}
