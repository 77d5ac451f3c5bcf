package rpcserver

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"

	"github.com/peerd/peerd/node"
)

// Backend is the node as the server sees it: node.Admin's methods, in the
// node's own types. The server calls them on the HTTP request's goroutine,
// so they must not block for long. It words their values in Core's JSON
// shapes (below) and their refusals (*node.Error) in Core's codes and
// messages (package coreerr); any other error is reported as CodeMisc.
type Backend interface {
	// SendRawTransaction decodes raw, adds it to the mempool (durably)
	// and queues its relay. Returns the txid.
	SendRawTransaction(raw []byte) (chainhash.Hash, error)
	MempoolTxIDs() []chainhash.Hash
	MempoolEntry(txid chainhash.Hash) (node.MempoolEntry, error) // node.ErrKindNotFound when absent
	MempoolEntries() []node.MempoolEntry
	MempoolInfo() node.MempoolInfo
	Peers() []node.PeerInfo
	ConnectionCount() int
	// NetTotals is the bytes of every connection since the node started.
	NetTotals() node.NetTotals
	NetworkInfo() node.NetworkInfo
	// AddNode: command is add, remove or onetry; tr is the v2transport
	// parameter (node.TransportAuto when absent). Refusals as
	// [node.Admin.AddNode].
	AddNode(addr, command string, tr node.Transport) error
	DisconnectNode(addr string, id int64, byID bool) error // node.ErrKindNotFound when not connected
	Ping()                                                 // ask every peer to ping now
	DisconnectAll() int                                    // "kill all peers": returns how many
	Uptime() time.Duration
	// SetBan bans (command "add") or unbans ("remove") an IP address or
	// subnet (CIDR), given as the client wrote it: the node parses it.
	// banTime is seconds from now, 0 or less meaning the default (24 h);
	// with absolute, it is a Unix time in seconds. For "remove", banTime
	// is 0 and absolute false. Refusals as [node.Admin.SetBan].
	SetBan(subnet, command string, banTime int64, absolute bool) error
	// ListBanned returns the bans in force (nil is listed as []).
	ListBanned() []node.Ban
	ClearBanned()
	// NodeAddresses samples at most count addresses of the address book
	// (0: all) of network ("" for all, else one of node.AddrNetworks).
	NodeAddresses(count int, network string) []node.NodeAddress
	// AddrManInfo counts the book's addresses per network, the total
	// ("all_networks") last.
	AddrManInfo() []node.AddrBookCount
	// TestNetwork reports regtest or simnet, where the test-only methods
	// (addpeeraddress) exist; elsewhere they are "Method not found".
	TestNetwork() bool
	// AddPeerAddress adds ip:port to the address book, and with tried
	// marks it good. Refusals as [node.Admin.AddPeerAddress].
	AddPeerAddress(ip string, port uint16, tried bool) (node.PeerAddressResult, error)
	// PrivateBroadcastInfo lists the transactions broadcast privately
	// that are still in the mempool (pending, confirmed or given up).
	// Refusals as [node.Admin.PrivateBroadcastInfo]
	// (node.ErrKindNotEnabled without --privatebroadcast).
	PrivateBroadcastInfo() ([]node.PrivateBroadcastTx, error)
	// AbortPrivateBroadcast stops the private broadcast of the
	// transaction with this txid or wtxid and removes it from the
	// mempool. Refusals as [node.Admin.AbortPrivateBroadcast].
	AbortPrivateBroadcast(txid chainhash.Hash) (node.PrivateBroadcastTx, error)
	Stop() // begin shutdown (returns at once)
}

// Amount is an amount of bitcoin in satoshis, or a fee rate in satoshis per
// 1000 virtual bytes. In JSON it is what Core prints for amounts and fee
// rates: a number of BTC (or BTC/kvB) with eight decimals, e.g. 0.00001000.
type Amount int64

// MarshalJSON writes a as a JSON number of BTC with eight decimals.
func (a Amount) MarshalJSON() ([]byte, error) {
	sign := ""
	u := uint64(a)
	if a < 0 {
		sign = "-"
		u = uint64(-a) // math.MinInt64 stays right: uint64 wraps to 2^63
	}
	return fmt.Appendf(nil, "%s%d.%08d", sign, u/1e8, u%1e8), nil
}

// UnmarshalJSON reads a JSON number (or numeric string) of BTC.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' {
		s = s[1 : len(s)-1]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 21e6 {
		return fmt.Errorf("invalid amount %s", b)
	}
	*a = Amount(math.Round(f * 1e8))
	return nil
}

// MempoolEntry is one transaction in the mempool, in the shape of Core's
// getmempoolentry result (and of an entry of getrawmempool true), plus
// peerd's own "propagation".
//
// Fees: peerd keeps no UTXO set, so it cannot know what a transaction's
// inputs are worth, and so neither its fee nor its fee rate. Fees are
// reported as 0 (and BIP125Replaceable as false); they are in the shape so
// that tools written for Core can read the entry.
type MempoolEntry struct {
	VSize             int64       `json:"vsize"`           // virtual size (BIP 141)
	Weight            int64       `json:"weight"`          // weight (BIP 141)
	Time              int64       `json:"time"`            // entry time, seconds since the epoch
	Height            int64       `json:"height"`          // block height at entry: peerd keeps no chain, 0
	DescendantCount   int64       `json:"descendantcount"` // in-mempool descendants, this one included
	DescendantSize    int64       `json:"descendantsize"`  // their virtual size, this one included
	AncestorCount     int64       `json:"ancestorcount"`   // in-mempool ancestors, this one included
	AncestorSize      int64       `json:"ancestorsize"`    // their virtual size, this one included
	WTxID             string      `json:"wtxid"`           // hash of the serialized transaction, witness included
	Fees              MempoolFees `json:"fees"`            // all 0: see the type's doc
	Depends           []string    `json:"depends"`         // txids of in-mempool parents
	SpentBy           []string    `json:"spentby"`         // txids of in-mempool children
	BIP125Replaceable bool        `json:"bip125-replaceable"`
	Unbroadcast       bool        `json:"unbroadcast"` // no peer has asked for it yet
	Propagation       Propagation `json:"propagation"` // peerd's own
}

// BanInfo is one entry of listbanned, as in Core.
type BanInfo struct {
	Address       string `json:"address"`        // "1.2.3.4/32", "10.0.0.0/8"
	BanCreated    int64  `json:"ban_created"`    // unix seconds
	BannedUntil   int64  `json:"banned_until"`   // unix seconds
	BanDuration   int64  `json:"ban_duration"`   // seconds
	TimeRemaining int64  `json:"time_remaining"` // seconds
}

// MempoolFees is Core's "fees" object. peerd reports zeros: without the
// UTXO set it cannot know fees (see [MempoolEntry]).
type MempoolFees struct {
	Base       Amount `json:"base"`
	Modified   Amount `json:"modified"`
	Ancestor   Amount `json:"ancestor"`
	Descendant Amount `json:"descendant"`
}

// Propagation is peerd's record of a transaction's relay: which peers it
// announced the transaction to (an inv), which peers fetched it (a
// getdata), and which peers announced it to peerd; for a transaction sent
// by private broadcast also its broadcast connections and when an ordinary
// peer's announcement confirmed it, as getprivatebroadcastinfo shows them.
type Propagation struct {
	InvSent   []PropagationEvent `json:"invsent"`
	Fetched   []PropagationEvent `json:"fetched"`
	SeenFrom  []PropagationEvent `json:"seenfrom"`
	Attempts  []BroadcastAttempt `json:"attempts"`             // private broadcast connections, in the order opened
	Confirmed float64            `json:"confirmed,omitempty"`  // private broadcast confirmed (see [UnixSeconds]); omitted while not
	FirstEcho *float64           `json:"first_echo,omitempty"` // seconds from the entry's acceptance to the first of seenfrom; omitted when none
}

// BroadcastAttempt is one private-broadcast connection of a transaction:
// peerd's own record, each step's time as seconds since the epoch with
// fractions (see [UnixSeconds]), omitted until the step happened.
type BroadcastAttempt struct {
	Address   string  `json:"address"`             // the address dialled (through the proxy)
	PeerID    int64   `json:"peer_id,omitempty"`   // the connection's peer id, as in getpeerinfo, once connected
	Transport string  `json:"transport,omitempty"` // "v1" or "v2", once connected
	Opened    float64 `json:"opened,omitempty"`    // the dial began
	Announced float64 `json:"announced,omitempty"` // handshake done, inv sent
	GetData   float64 `json:"getdata,omitempty"`   // the peer asked for the transaction
	Sent      float64 `json:"sent,omitempty"`      // the transaction and a ping were written
	Received  float64 `json:"received,omitempty"`  // the pong came back: the receipt
	Reject    string  `json:"reject,omitempty"`    // the peer's BIP 61 reject, "code: reason"
	Ended     float64 `json:"ended,omitempty"`     // the connection is over
	Outcome   string  `json:"outcome,omitempty"`   // "receipt", "rejected", or why it failed; omitted while open
}

// PrivateBroadcastInfo is Core's getprivatebroadcastinfo result.
type PrivateBroadcastInfo struct {
	Transactions []PrivateBroadcastTx `json:"transactions"`
}

// PrivateBroadcastTx is one transaction of getprivatebroadcastinfo: Core's
// txid, wtxid, hex and peers, plus peerd's own record of it. peerd keeps a
// transaction listed after its confirmation, until it leaves the mempool
// (Core 31.0 forgets it at once).
type PrivateBroadcastTx struct {
	TxID  string                 `json:"txid"`
	WTxID string                 `json:"wtxid"`
	Hex   string                 `json:"hex"`
	Peers []PrivateBroadcastPeer `json:"peers"` // Core's: the connections that got past the handshake

	// peerd's own.
	State             string             `json:"state"`               // "pending", "confirmed" or "gave up"
	Added             float64            `json:"added"`               // accepted by sendrawtransaction (see [UnixSeconds])
	Confirmed         float64            `json:"confirmed,omitempty"` // an ordinary peer announced it back; omitted while not
	AttemptsRemaining int                `json:"attempts_remaining"`  // broadcast connections still allowed
	Attempts          []BroadcastAttempt `json:"attempts"`            // every broadcast connection, in the order opened
	Echoes            []PropagationEvent `json:"echoes"`              // the ordinary peers that announced it back, first first
	FirstEcho         *float64           `json:"first_echo,omitempty"`
}

// PrivateBroadcastPeer is Core's record of one broadcast connection: the
// peer's address, when the transaction was announced to it and, once its
// pong came back, when it was received (unix seconds).
type PrivateBroadcastPeer struct {
	Address  string `json:"address"`
	Sent     int64  `json:"sent"`
	Received int64  `json:"received,omitempty"`
}

// AbortPrivateBroadcastResult is Core's abortprivatebroadcast result.
type AbortPrivateBroadcastResult struct {
	Removed []RemovedTx `json:"removed_transactions"`
}

// RemovedTx is one transaction abortprivatebroadcast removed.
type RemovedTx struct {
	TxID  string `json:"txid"`
	WTxID string `json:"wtxid"`
	Hex   string `json:"hex"`
}

// PropagationEvent is one peer's part in a transaction's relay.
type PropagationEvent struct {
	ID   int64   `json:"id"`   // the peer's id, as in getpeerinfo
	Addr string  `json:"addr"` // the peer's address
	Time float64 `json:"time"` // when, seconds since the epoch, with fractions (see [UnixSeconds])
}

// Transition is one state change of a peer's state machine.
type Transition struct {
	Time float64 `json:"time"` // seconds since the epoch, with fractions (see [UnixSeconds])
	From string  `json:"from"` // state path before, e.g. "handshake/awaitverack"
	To   string  `json:"to"`   // state path after
	On   string  `json:"on"`   // the event that caused it, e.g. "verack"
}

// UnixSeconds is t as seconds since the epoch with millisecond fractions,
// the form of peerd's own time fields; the zero time is 0.
func UnixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMilli()) / 1000
}

// MempoolInfo is Core's getmempoolinfo result.
type MempoolInfo struct {
	Loaded              bool   `json:"loaded"`              // the mempool is fully loaded (from disk)
	Size                int64  `json:"size"`                // transaction count
	Bytes               int64  `json:"bytes"`               // sum of virtual sizes
	Usage               int64  `json:"usage"`               // memory used, bytes
	TotalFee            Amount `json:"total_fee"`           // unknown to peerd: 0
	MaxMempool          int64  `json:"maxmempool"`          // memory limit, bytes
	MempoolMinFee       Amount `json:"mempoolminfee"`       // BTC/kvB
	MinRelayTxFee       Amount `json:"minrelaytxfee"`       // BTC/kvB
	IncrementalRelayFee Amount `json:"incrementalrelayfee"` // BTC/kvB
	UnbroadcastCount    int64  `json:"unbroadcastcount"`    // transactions no peer has fetched yet
	FullRBF             bool   `json:"fullrbf"`
}

// Connection types, Core's getpeerinfo "connection_type" values that peerd
// has.
const (
	ConnOutboundFullRelay = "outbound-full-relay"
	ConnInbound           = "inbound"
	ConnManual            = "manual"
	ConnFeeler            = "feeler"
	ConnPrivateBroadcast  = "private-broadcast"
	ConnAddrFetch         = "addr-fetch"
)

// PeerInfo is one peer, in the shape of an element of Core's getpeerinfo
// result, plus peerd's own "wtxidrelay", "state" and "transitions". Times
// are seconds since the epoch (0 for never); ping times are seconds with
// fractions, and 0 omits them, as Core omits what it has not measured.
type PeerInfo struct {
	ID                    int64             `json:"id"`
	Addr                  string            `json:"addr"`                // host:port
	AddrBind              string            `json:"addrbind,omitempty"`  // local end of the connection
	AddrLocal             string            `json:"addrlocal,omitempty"` // our address as the peer sees it
	Network               string            `json:"network"`             // ipv4, ipv6, onion, i2p, cjdns, not_publicly_routable
	Services              string            `json:"services"`            // hex, 16 digits: see ServiceFlags
	ServicesNames         []string          `json:"servicesnames"`       // see ServiceFlags
	RelayTxes             bool              `json:"relaytxes"`
	LastSend              int64             `json:"lastsend"`
	LastRecv              int64             `json:"lastrecv"`
	LastTransaction       int64             `json:"last_transaction"`
	LastBlock             int64             `json:"last_block"`
	BytesSent             uint64            `json:"bytessent"`
	BytesRecv             uint64            `json:"bytesrecv"`
	ConnTime              int64             `json:"conntime"`
	TimeOffset            int64             `json:"timeoffset"` // seconds
	PingTime              float64           `json:"pingtime,omitempty"`
	MinPing               float64           `json:"minping,omitempty"`
	PingWait              float64           `json:"pingwait,omitempty"` // age of the outstanding ping
	Version               uint32            `json:"version"`
	SubVer                string            `json:"subver"`
	Inbound               bool              `json:"inbound"`
	BIP152HBTo            bool              `json:"bip152_hb_to"`
	BIP152HBFrom          bool              `json:"bip152_hb_from"`
	StartingHeight        int32             `json:"startingheight"`
	AddrRelayEnabled      bool              `json:"addr_relay_enabled"`
	AddrProcessed         uint64            `json:"addr_processed"`
	AddrRateLimited       uint64            `json:"addr_rate_limited"`
	Permissions           []string          `json:"permissions"`
	MinFeeFilter          Amount            `json:"minfeefilter"` // the peer's feefilter, BTC/kvB
	BytesSentPerMsg       map[string]uint64 `json:"bytessent_per_msg"`
	BytesRecvPerMsg       map[string]uint64 `json:"bytesrecv_per_msg"`
	ConnectionType        string            `json:"connection_type"`         // ConnOutboundFullRelay, ConnInbound, ConnManual, ConnFeeler, ConnPrivateBroadcast
	TransportProtocolType string            `json:"transport_protocol_type"` // "v1" (the default when empty), "v2", "detecting"
	SessionID             string            `json:"session_id"`              // hex of BIP 324's 32-byte session id; "" unless v2

	// peerd's own.
	WTxIDRelay  bool         `json:"wtxidrelay"`  // the peer sent wtxidrelay (BIP 339)
	State       string       `json:"state"`       // state path, e.g. "standby/validating"
	Transitions []Transition `json:"transitions"` // recent transitions, oldest first
}

// NetTotals is Core's getnettotals result.
type NetTotals struct {
	TotalBytesRecv uint64       `json:"totalbytesrecv"`
	TotalBytesSent uint64       `json:"totalbytessent"`
	TimeMillis     int64        `json:"timemillis"`
	UploadTarget   UploadTarget `json:"uploadtarget"`
}

// UploadTarget is getnettotals' uploadtarget. peerd has no upload target
// (Core's -maxuploadtarget): it reports Core's values for none.
type UploadTarget struct {
	TimeFrame             int64  `json:"timeframe"` // seconds: Core's 24 h
	Target                uint64 `json:"target"`    // 0: no target
	TargetReached         bool   `json:"target_reached"`
	ServeHistoricalBlocks bool   `json:"serve_historical_blocks"`
	BytesLeftInCycle      uint64 `json:"bytes_left_in_cycle"`
	TimeLeftInCycle       int64  `json:"time_left_in_cycle"`
}

// NetworkInfo is Core's getnetworkinfo result. Warnings is a string, as
// before Core 28 (which made it an array), because btcd's rpcclient and
// older tools read a string.
type NetworkInfo struct {
	Version            int            `json:"version"`         // peerd's version as Core writes its own: 0.1.0 is 100
	SubVersion         string         `json:"subversion"`      // user agent, e.g. "/peerd:0.1.0/"
	ProtocolVersion    int            `json:"protocolversion"` // P2P protocol version
	LocalServices      string         `json:"localservices"`   // hex, 16 digits: see ServiceFlags
	LocalServicesNames []string       `json:"localservicesnames"`
	LocalRelay         bool           `json:"localrelay"` // we ask peers to relay transactions
	TimeOffset         int64          `json:"timeoffset"`
	Connections        int            `json:"connections"`
	ConnectionsIn      int            `json:"connections_in"`
	ConnectionsOut     int            `json:"connections_out"`
	NetworkActive      bool           `json:"networkactive"`
	Networks           []Network      `json:"networks"`
	RelayFee           Amount         `json:"relayfee"`       // BTC/kvB
	IncrementalFee     Amount         `json:"incrementalfee"` // BTC/kvB
	LocalAddresses     []LocalAddress `json:"localaddresses"`
	Warnings           string         `json:"warnings"`
}

// Network is an element of getnetworkinfo's "networks".
type Network struct {
	Name                      string `json:"name"` // ipv4, ipv6, onion, i2p, cjdns
	Limited                   bool   `json:"limited"`
	Reachable                 bool   `json:"reachable"`
	Proxy                     string `json:"proxy"`
	ProxyRandomizeCredentials bool   `json:"proxy_randomize_credentials"`
}

// LocalAddress is an element of getnetworkinfo's "localaddresses".
type LocalAddress struct {
	Address string `json:"address"`
	Port    int    `json:"port"`
	Score   int    `json:"score"`
}

// ServiceFlags returns a service bit field as Core writes it: the 16-digit
// hex of "services"/"localservices" and the names of "servicesnames"
// (NETWORK, BLOOM, WITNESS, COMPACT_FILTERS, NETWORK_LIMITED, P2P_V2, and
// UNKNOWN[2^n] for any other bit), lowest bit first.
func ServiceFlags(flags uint64) (hex string, names []string) {
	names = []string{}
	for bit := range 64 {
		if flags&(1<<bit) == 0 {
			continue
		}
		var name string
		switch bit {
		case 0:
			name = "NETWORK"
		case 2:
			name = "BLOOM"
		case 3:
			name = "WITNESS"
		case 6:
			name = "COMPACT_FILTERS"
		case 10:
			name = "NETWORK_LIMITED"
		case 11:
			name = "P2P_V2"
		default:
			name = fmt.Sprintf("UNKNOWN[2^%d]", bit)
		}
		names = append(names, name)
	}
	return fmt.Sprintf("%016x", flags), names
}

// NodeAddress is an element of Core's getnodeaddresses result.
type NodeAddress struct {
	Time     int64  `json:"time"`     // when last seen, unix seconds
	Services uint64 `json:"services"` // a number, as Core writes it here
	Address  string `json:"address"`  // IP address or onion host, without the port
	Port     uint16 `json:"port"`
	Network  string `json:"network"` // ipv4, ipv6, onion
}

// AddrManInfo is Core's getaddrmaninfo result: an object with one member
// per network, in Core's order (ipv4, ipv6, onion, i2p, cjdns,
// all_networks).
type AddrManInfo []AddrManNetwork

// AddrManNetwork is one network's counts in getaddrmaninfo.
type AddrManNetwork struct {
	Network string `json:"-"`
	New     int    `json:"new"`
	Tried   int    `json:"tried"`
	Total   int    `json:"total"`
}

// MarshalJSON writes the networks as one object, in order.
func (m AddrManInfo) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, n := range m {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "%q:{\"new\":%d,\"tried\":%d,\"total\":%d}", n.Network, n.New, n.Tried, n.Total)
	}
	return append(b, '}'), nil
}
