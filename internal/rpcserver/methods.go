package rpcserver

import (
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"

	"github.com/peerd/peerd/internal/rpcserver/coreerr"
	"github.com/peerd/peerd/node"
)

// method is one RPC method: its parameters, its help, and what it does.
type method struct {
	name     string
	category string // for help's listing: blockchain, control, network, peerd, rawtransactions
	args     []argSpec
	desc     string    // help: what it does
	result   string    // help: the Result section
	examples []example // help: example calls
	run      func(s *Server, a callArgs) (any, error)
	// testOnly: only on regtest and simnet (Backend.TestNetwork); on other
	// networks the method does not exist, and help does not list it
	// anywhere (Core hides its test methods from help's list).
	testOnly bool
}

// example is an example call for help: its parameters on peerctl's command
// line and as a JSON params array.
type example struct{ cli, json string }

// methods are the server's methods by name; set in init, since help refers
// to them.
var methods map[string]*method

func init() {
	methods = make(map[string]*method)
	for _, m := range methodList() {
		methods[m.name] = m
	}
}

func methodList() []*method {
	return []*method{
		{
			name:     "sendrawtransaction",
			category: "rawtransactions",
			args: []argSpec{
				{name: "hexstring", kind: kindHex, required: true, help: "The hex string of the raw transaction"},
				{name: "maxfeerate", kind: kindAmount, def: "0.10", help: "Accepted and ignored: peerd cannot know fee rates without a UTXO set. (Core's fee rate cap in BTC/kvB; clients of Core before 0.19 send their allowhighfees boolean here, which is accepted too.)"},
				{name: "maxburnamount", kind: kindAmount, def: "0.00", help: "Accepted and ignored. (Core's cap on provably unspendable outputs, in BTC.)"},
			},
			desc: "Submit a raw transaction (serialized, hex-encoded) to peerd's mempool, which keeps it on disk,\n" +
				"and queue it for relay: peerd announces it to its peers and serves it to those who ask.\n" +
				"peerd keeps no UTXO set: it checks that the transaction decodes, not that its inputs exist\n" +
				"or that it pays a fee, so peers may still reject it.\n" +
				"A transaction already in the mempool is not an error: its txid is returned again.",
			result:   "\"hex\"    (string) The transaction hash in hex",
			examples: []example{{`"signedhex"`, `["signedhex"]`}},
			run:      rpcSendRawTransaction,
		},
		{
			name:     "getprivatebroadcastinfo",
			category: "rawtransactions",
			desc: "Returns information about transactions that are currently being privately broadcast\n" +
				"(peerd runs with --privatebroadcast: sendrawtransaction sends each transaction over short-lived\n" +
				"connections of its own through the proxy, and publishes it once an ordinary peer announces it back).\n" +
				"peerd lists a transaction until it leaves the mempool, also after it was confirmed, and adds its own\n" +
				"record of each broadcast connection and of the peers that announced it back.",
			result:   privateBroadcastInfoHelp,
			examples: []example{{"", "[]"}},
			run:      rpcGetPrivateBroadcastInfo,
		},
		{
			name:     "abortprivatebroadcast",
			category: "rawtransactions",
			args: []argSpec{
				{name: "id", kind: kindHex, required: true, help: "A transaction identifier to abort. It will be matched against both txid and wtxid for all transactions in the private broadcast queue"},
			},
			desc: "Abort private broadcast attempts for a transaction currently being privately broadcast.\n" +
				"The transaction will be removed from the private broadcast queue and from peerd's mempool\n" +
				"(it was never announced to ordinary peers). A transaction already confirmed (public) is not in the queue.",
			result: "{                              (json object)\n" +
				"  \"removed_transactions\" : [   (json array) Transactions removed from the private broadcast queue\n" +
				"    {                          (json object)\n" +
				"      \"txid\" : \"hex\",          (string) The transaction hash in hex\n" +
				"      \"wtxid\" : \"hex\",         (string) The transaction's witness hash in hex\n" +
				"      \"hex\" : \"hex\"            (string) The serialized, hex-encoded transaction data\n" +
				"    },\n" +
				"    ...\n" +
				"  ]\n" +
				"}",
			examples: []example{{`"id"`, `["id"]`}},
			run:      rpcAbortPrivateBroadcast,
		},
		{
			name:     "getrawmempool",
			category: "blockchain",
			args: []argSpec{
				{name: "verbose", kind: kindBool, def: "false", help: "True for a json object, false for array of transaction ids"},
				{name: "mempool_sequence", kind: kindBool, def: "false", help: "Not supported by peerd: it keeps no mempool sequence number. Must be false."},
			},
			desc: "Returns all transaction ids in memory pool as a json array of string transaction ids.\n\n" +
				"Hint: use getmempoolentry to fetch a specific transaction from the mempool.",
			result: "Result (for verbose = false):\n" +
				"[           (json array)\n" +
				"  \"hex\",    (string) The transaction id\n" +
				"  ...\n" +
				"]\n\n" +
				"Result (for verbose = true):\n" +
				"{                           (json object)\n" +
				"  \"transactionid\" : {...},  (json object) as getmempoolentry returns it\n" +
				"  ...\n" +
				"}",
			examples: []example{{"true", "[true]"}},
			run:      rpcGetRawMempool,
		},
		{
			name:     "getmempoolentry",
			category: "blockchain",
			args: []argSpec{
				{name: "txid", kind: kindHex, required: true, help: "The transaction id (must be in mempool)"},
			},
			desc: "Returns mempool data for given transaction.\n" +
				"peerd keeps no UTXO set, so it does not know fees: they are reported as 0.",
			result: mempoolEntryHelp,
			examples: []example{{
				`"mytxid"`, `["mytxid"]`,
			}},
			run: rpcGetMempoolEntry,
		},
		{
			name:     "getmempoolinfo",
			category: "blockchain",
			desc:     "Returns details on the active state of the TX memory pool.",
			result: "{                            (json object)\n" +
				"  \"loaded\" : true|false,       (boolean) True if the mempool is fully loaded\n" +
				"  \"size\" : n,                  (numeric) Current tx count\n" +
				"  \"bytes\" : n,                 (numeric) Sum of all virtual transaction sizes\n" +
				"  \"usage\" : n,                 (numeric) Total memory usage for the mempool\n" +
				"  \"total_fee\" : n,             (numeric) Total fees of transactions in the mempool in BTC (peerd: 0, unknown)\n" +
				"  \"maxmempool\" : n,            (numeric) Maximum memory usage for the mempool\n" +
				"  \"mempoolminfee\" : n,         (numeric) Minimum fee rate in BTC/kvB for tx to be accepted\n" +
				"  \"minrelaytxfee\" : n,         (numeric) Current minimum relay fee for transactions\n" +
				"  \"incrementalrelayfee\" : n,   (numeric) minimum fee rate increment for mempool limiting or replacement in BTC/kvB\n" +
				"  \"unbroadcastcount\" : n,      (numeric) Current number of transactions that haven't passed initial broadcast yet\n" +
				"  \"fullrbf\" : true|false       (boolean) True if the mempool accepts RBF without replaceability signaling inspection\n" +
				"}",
			run: func(s *Server, _ callArgs) (any, error) { return mempoolInfo(s.backend.MempoolInfo()), nil },
		},
		{
			name:     "getpeerinfo",
			category: "network",
			desc:     "Returns data about each connected network peer as a json array of objects.",
			result:   peerInfoHelp,
			run:      func(s *Server, _ callArgs) (any, error) { return mapSlice(s.backend.Peers(), peerInfo), nil },
		},
		{
			name:     "getconnectioncount",
			category: "network",
			desc:     "Returns the number of connections to other nodes.",
			result:   "n    (numeric) The connection count",
			run:      func(s *Server, _ callArgs) (any, error) { return s.backend.ConnectionCount(), nil },
		},
		{
			name:     "getnettotals",
			category: "network",
			desc: "Returns information about network traffic, including bytes in, bytes out,\n" +
				"and current system time.",
			result: "{                                              (json object)\n" +
				"  \"totalbytesrecv\" : n,                        (numeric) Total bytes received\n" +
				"  \"totalbytessent\" : n,                        (numeric) Total bytes sent\n" +
				"  \"timemillis\" : xxx,                          (numeric) Current system UNIX epoch time in milliseconds\n" +
				"  \"uploadtarget\" : {                           (json object) peerd has no upload target: Core's values for none\n" +
				"    \"timeframe\" : n,                           (numeric) Length of the measuring timeframe in seconds\n" +
				"    \"target\" : n,                              (numeric) Target in bytes\n" +
				"    \"target_reached\" : true|false,             (boolean) True if target is reached\n" +
				"    \"serve_historical_blocks\" : true|false,    (boolean) True if serving historical blocks\n" +
				"    \"bytes_left_in_cycle\" : n,                 (numeric) Bytes left in current time cycle\n" +
				"    \"time_left_in_cycle\" : n                   (numeric) Seconds left in current time cycle\n" +
				"  }\n" +
				"}",
			run: func(s *Server, _ callArgs) (any, error) { return netTotals(s.backend.NetTotals()), nil },
		},
		{
			name:     "getnetworkinfo",
			category: "network",
			desc:     "Returns an object containing various state info regarding P2P networking.",
			result: "{                                    (json object)\n" +
				"  \"version\" : n,                       (numeric) the server version\n" +
				"  \"subversion\" : \"str\",                (string) the server subversion string\n" +
				"  \"protocolversion\" : n,               (numeric) the protocol version\n" +
				"  \"localservices\" : \"hex\",             (string) the services we offer to the network\n" +
				"  \"localservicesnames\" : [ \"str\" ],    (json array) the services we offer to the network, in human-readable form\n" +
				"  \"localrelay\" : true|false,           (boolean) true if transaction relay is requested from peers\n" +
				"  \"timeoffset\" : n,                    (numeric) the time offset\n" +
				"  \"connections\" : n,                   (numeric) the total number of connections\n" +
				"  \"connections_in\" : n,                (numeric) the number of inbound connections\n" +
				"  \"connections_out\" : n,               (numeric) the number of outbound connections\n" +
				"  \"networkactive\" : true|false,        (boolean) whether p2p networking is enabled\n" +
				"  \"networks\" : [ {...} ],              (json array) information per network: name, limited, reachable, proxy, proxy_randomize_credentials\n" +
				"  \"relayfee\" : n,                      (numeric) minimum relay fee rate for transactions in BTC/kvB\n" +
				"  \"incrementalfee\" : n,                (numeric) minimum fee rate increment for mempool limiting or replacement in BTC/kvB\n" +
				"  \"localaddresses\" : [ {...} ],        (json array) list of local addresses: address, port, score\n" +
				"  \"warnings\" : \"str\"                   (string) any network and blockchain warnings\n" +
				"}",
			run: func(s *Server, _ callArgs) (any, error) { return networkInfo(s.backend.NetworkInfo()), nil },
		},
		{
			name:     "getnodeaddresses",
			category: "network",
			args: []argSpec{
				{name: "count", kind: kindNum, def: "1", help: "The maximum number of addresses to return. Specify 0 to return all known addresses."},
				{name: "network", kind: kindStr, def: "all networks", help: "Return only addresses of the specified network. Can be one of: ipv4, ipv6, onion, i2p, cjdns."},
			},
			desc: "Return known addresses, after filtering for quality and recency.\n" +
				"These can potentially be used to find new peers in the network.\n" +
				"The total number of addresses known to the node may be higher.",
			result: "[                         (json array)\n" +
				"  {                       (json object)\n" +
				"    \"time\" : xxx,         (numeric) The UNIX epoch time when the node was last seen\n" +
				"    \"services\" : n,       (numeric) The services offered by the node\n" +
				"    \"address\" : \"str\",    (string) The address of the node\n" +
				"    \"port\" : n,           (numeric) The port number of the node\n" +
				"    \"network\" : \"str\"     (string) The network (ipv4, ipv6, onion, i2p, cjdns) the node connected through\n" +
				"  },\n" +
				"  ...\n" +
				"]",
			examples: []example{{"8", "[8]"}, {`4 "ipv4"`, `[4, "ipv4"]`}},
			run:      rpcGetNodeAddresses,
		},
		{
			name:     "getaddrmaninfo",
			category: "network",
			desc:     "Provides information about the node's address manager by returning the number of addresses in the `new` and `tried` tables and their sum for all networks.",
			result: "{                   (json object) json object with network type as keys\n" +
				"  \"network\" : {     (json object) the network (ipv4, ipv6, onion, i2p, cjdns, all_networks)\n" +
				"    \"new\" : n,       (numeric) number of addresses in the new table, which represent potential peers the node has discovered but hasn't yet successfully connected to.\n" +
				"    \"tried\" : n,     (numeric) number of addresses in the tried table, which represent peers the node has successfully connected to in the past.\n" +
				"    \"total\" : n      (numeric) total number of addresses in both new/tried tables\n" +
				"  },\n" +
				"  ...\n" +
				"}",
			run: func(s *Server, _ callArgs) (any, error) { return addrManInfo(s.backend.AddrManInfo()), nil },
		},
		{
			name:     "addpeeraddress",
			category: "hidden",
			testOnly: true,
			args: []argSpec{
				{name: "address", kind: kindStr, required: true, help: "The IP address of the peer"},
				{name: "port", kind: kindNum, required: true, help: "The port of the peer"},
				{name: "tried", kind: kindBool, def: "false", help: "If true, attempt to add the peer to the tried addresses table"},
			},
			desc: "Add the address of a potential peer to the address manager. This RPC is for testing only.\n" +
				"peerd: only on regtest and simnet; the address is booked as seen now, with NODE_NETWORK and NODE_WITNESS,\n" +
				"from a source named \"addpeeraddress\" (Core gives each address itself as its source).",
			result: "{                       (json object)\n" +
				"  \"success\" : true|false  (boolean) whether the peer address was successfully added to the address manager table\n" +
				"  \"error\" : \"str\"        (string, optional) error description, if the address could not be added\n" +
				"}",
			examples: []example{{`"1.2.3.4" 8333 true`, `["1.2.3.4", 8333, true]`}},
			run:      rpcAddPeerAddress,
		},
		{
			name:     "addnode",
			category: "network",
			args: []argSpec{
				{name: "node", kind: kindStr, required: true, help: "The address of the peer to connect to"},
				{name: "command", kind: kindStr, required: true, help: "'add' to add a node to the list, 'remove' to remove a node from the list, 'onetry' to try a connection to the node once"},
				{name: "v2transport", kind: kindBool, def: "true unless peerd runs with --nov2transport", help: "Attempt to connect using BIP324 v2 transport protocol (ignored for 'remove' command)"},
			},
			desc: "Attempts to add or remove a node from the addnode list.\n" +
				"Or try a connection to a node once.\n" +
				"Nodes added using addnode are protected from DoS disconnection and are not required to be\n" +
				"full nodes as other outbound peers are (though such peers will not be synced from).",
			result: "null    (json null)",
			examples: []example{
				{`"192.168.0.6:8333" "onetry" true`, `["192.168.0.6:8333", "onetry", true]`},
			},
			run: rpcAddNode,
		},
		{
			name:     "disconnectnode",
			category: "network",
			args: []argSpec{
				{name: "address", kind: kindStr, def: "fallback to nodeid", help: "The IP address/port of the node"},
				{name: "nodeid", kind: kindNum, def: "fallback to address", help: "The node ID (see getpeerinfo for node IDs)"},
			},
			desc: "Immediately disconnects from the specified peer node.\n\n" +
				"Strictly one out of 'address' and 'nodeid' can be provided to identify the node.\n\n" +
				"To disconnect by nodeid, either set 'address' to the empty string, or call using the named 'nodeid' argument only.",
			result: "null    (json null)",
			examples: []example{
				{`"192.168.0.6:8333"`, `["192.168.0.6:8333"]`},
				{`"" 1`, `["", 1]`},
			},
			run: rpcDisconnectNode,
		},
		{
			name:     "setban",
			category: "network",
			args: []argSpec{
				{name: "subnet", kind: kindStr, required: true, help: "The IP/Subnet (see getpeerinfo for nodes IP) with an optional netmask (default is /32 = single IP)"},
				{name: "command", kind: kindStr, required: true, help: "'add' to add an IP/Subnet to the list, 'remove' to remove an IP/Subnet from the list"},
				{name: "bantime", kind: kindNum, def: "0", help: "time in seconds how long (or until when if [absolute] is set) the IP is banned (0 or empty means using the default time of 24h)"},
				{name: "absolute", kind: kindBool, def: "false", help: "If set, the bantime must be an absolute timestamp expressed in UNIX epoch time"},
			},
			desc: "Attempts to add or remove an IP/Subnet from the banned list.\n" +
				"peerd refuses connections from a banned address and disconnects the peers it has there.",
			result: "null    (json null)",
			examples: []example{
				{`"192.168.0.6" "add" 86400`, `["192.168.0.6", "add", 86400]`},
				{`"192.168.0.0/24" "add"`, `["192.168.0.0/24", "add"]`},
			},
			run: rpcSetBan,
		},
		{
			name:     "listbanned",
			category: "network",
			desc:     "List all manually banned IPs/Subnets.",
			result: "[                              (json array)\n" +
				"  {                            (json object)\n" +
				"    \"address\" : \"str\",         (string) The IP/Subnet of the banned node\n" +
				"    \"ban_created\" : xxx,       (numeric) The UNIX epoch time the ban was created\n" +
				"    \"banned_until\" : xxx,      (numeric) The UNIX epoch time the ban expires\n" +
				"    \"ban_duration\" : xxx,      (numeric) The ban duration, in seconds\n" +
				"    \"time_remaining\" : xxx     (numeric) The time remaining until the ban expires, in seconds\n" +
				"  },\n" +
				"  ...\n" +
				"]",
			run: func(s *Server, _ callArgs) (any, error) {
				now := s.now()
				return mapSlice(s.backend.ListBanned(), func(b node.Ban) BanInfo { return banInfo(b, now) }), nil
			},
		},
		{
			name:     "clearbanned",
			category: "network",
			desc:     "Clear all banned IPs.",
			result:   "null    (json null)",
			run: func(s *Server, _ callArgs) (any, error) {
				s.backend.ClearBanned()
				return nil, nil
			},
		},
		{
			name:     "ping",
			category: "network",
			desc: "Requests that a ping be sent to all other nodes, to measure ping time.\n" +
				"Results are provided in getpeerinfo, pingtime and pingwait fields are decimal seconds.\n" +
				"Ping command is handled in queue with all other commands, so it measures processing backlog, not just network ping.",
			result: "null    (json null)",
			run: func(s *Server, _ callArgs) (any, error) {
				s.backend.Ping()
				return nil, nil
			},
		},
		{
			name:     "disconnectall",
			category: "peerd",
			desc: "Disconnects every peer at once (peerd's own method). Peers that peerd keeps connections to\n" +
				"(--connect, --addpeer, addnode) are dialed again as usual.",
			result: "n    (numeric) The number of peers disconnected",
			run:    func(s *Server, _ callArgs) (any, error) { return s.backend.DisconnectAll(), nil },
		},
		{
			name:     "uptime",
			category: "control",
			desc:     "Returns the total uptime of the server.",
			result:   "n    (numeric) The number of seconds that the server has been running",
			run: func(s *Server, _ callArgs) (any, error) {
				return int64(s.backend.Uptime() / time.Second), nil
			},
		},
		{
			name:     "stop",
			category: "control",
			desc:     "Request a graceful shutdown of peerd.",
			result:   "\"str\"    (string) A string with the content 'peerd stopping'",
			run: func(s *Server, _ callArgs) (any, error) {
				log.Infof("RPC: stop requested")
				s.backend.Stop()
				return "peerd stopping", nil
			},
		},
		{
			name:     "help",
			category: "control",
			args: []argSpec{
				{name: "command", kind: kindStr, def: "all commands", help: "The command to get help on"},
			},
			desc:   "List all commands, or get help for a specified command.",
			result: "\"str\"    (string) The help text",
			run: func(s *Server, a callArgs) (any, error) {
				return s.help(a.str(0)), nil
			},
		},
	}
}

func rpcSendRawTransaction(s *Server, a callArgs) (any, error) {
	if err := a.amount(1, true); err != nil {
		return nil, err
	}
	if err := a.amount(2, false); err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(a.str(0))
	if err != nil || len(raw) == 0 { // Core's DecodeHexTx fails the same way
		return nil, coreerr.TxDecodeFailed()
	}
	txid, err := s.backend.SendRawTransaction(raw)
	if err != nil {
		return nil, coreerr.SendRawTransaction(err)
	}
	return txid.String(), nil
}

func rpcGetRawMempool(s *Server, a callArgs) (any, error) {
	verbose, sequence := a.boolean(0, false), a.boolean(1, false)
	switch {
	case verbose && sequence:
		return nil, NewError(CodeInvalidParameter, "Verbose results cannot contain mempool sequence values.")
	case sequence:
		return nil, NewError(CodeInvalidParameter, "mempool_sequence is not supported: peerd keeps no mempool sequence number")
	case verbose:
		return mempoolEntries(s.backend.MempoolEntries()), nil
	default:
		return txidStrings(s.backend.MempoolTxIDs()), nil
	}
}

func rpcGetMempoolEntry(s *Server, a callArgs) (any, error) {
	txid, err := parseHash(a.str(0), "txid")
	if err != nil {
		return nil, err
	}
	e, err := s.backend.MempoolEntry(txid)
	if err != nil {
		return nil, coreerr.GetMempoolEntry(err)
	}
	return mempoolEntry(e), nil
}

func rpcGetPrivateBroadcastInfo(s *Server, _ callArgs) (any, error) {
	txs, err := s.backend.PrivateBroadcastInfo()
	if err != nil {
		return nil, coreerr.GetPrivateBroadcastInfo(err)
	}
	return PrivateBroadcastInfo{Transactions: mapSlice(txs, privateBroadcastTx)}, nil
}

func rpcAbortPrivateBroadcast(s *Server, a callArgs) (any, error) {
	id, err := parseHash(a.str(0), "id")
	if err != nil {
		return nil, err
	}
	t, err := s.backend.AbortPrivateBroadcast(id)
	if err != nil {
		return nil, coreerr.AbortPrivateBroadcast(err)
	}
	return AbortPrivateBroadcastResult{Removed: []RemovedTx{removedTx(t)}}, nil
}

func rpcAddNode(s *Server, a callArgs) (any, error) {
	command := a.str(1)
	if command != "add" && command != "remove" && command != "onetry" {
		return nil, NewError(CodeMisc, "%s", methods["addnode"].helpText(s.exampleURL)) // as Core
	}
	tr := node.TransportAuto
	switch {
	case !a.has(2):
	case a.boolean(2, false):
		tr = node.TransportV2
	default:
		tr = node.TransportV1
	}
	return nil, coreerr.AddNode(s.backend.AddNode(a.str(0), command, tr))
}

// rpcGetNodeAddresses checks getnodeaddresses' parameters as Core does
// (src/rpc/net.cpp): a count below 0, or a network Core does not know,
// is -8.
func rpcGetNodeAddresses(s *Server, a callArgs) (any, error) {
	count := int64(1)
	if a.has(0) {
		var err error
		if count, err = a.int64(0); err != nil {
			return nil, err
		}
		if count < 0 {
			return nil, NewError(CodeInvalidParameter, "Address count out of range")
		}
	}
	network := ""
	if a.has(1) {
		network = a.str(1)
		if !slices.Contains(node.AddrNetworks, network) {
			return nil, NewError(CodeInvalidParameter, "Network not recognized: %s", network)
		}
	}
	return mapSlice(s.backend.NodeAddresses(int(min(count, math.MaxInt32)), network), nodeAddress), nil
}

// rpcAddPeerAddress is Core's addpeeraddress: -30 "Invalid IP address"
// for what is no IP address, a port outside 0 to 65535 is -8, and what the
// book did is the result's success and error.
func rpcAddPeerAddress(s *Server, a callArgs) (any, error) {
	port, err := a.int64(1)
	if err != nil {
		return nil, err
	}
	if port < 0 || port > math.MaxUint16 {
		return nil, NewError(CodeInvalidParameter, "port out of range")
	}
	r, err := s.backend.AddPeerAddress(a.str(0), uint16(port), a.boolean(2, false))
	if err != nil {
		return nil, coreerr.AddPeerAddress(err)
	}
	return peerAddressResult(r), nil
}

func rpcDisconnectNode(s *Server, a callArgs) (any, error) {
	// Core's rules (src/rpc/net.cpp): an address alone, or a nodeid with
	// the address absent or "", and nothing else.
	hasAddr, hasID := a.has(0), a.has(1)
	switch {
	case hasAddr && !hasID:
		return nil, coreerr.DisconnectNode(s.backend.DisconnectNode(a.str(0), 0, false))
	case hasID && (!hasAddr || a.str(0) == ""):
		id, err := a.int64(1)
		if err != nil {
			return nil, err
		}
		return nil, coreerr.DisconnectNode(s.backend.DisconnectNode("", id, true))
	default:
		return nil, NewError(CodeInvalidParams, "Only one of address and nodeid should be provided.")
	}
}

// rpcSetBan checks setban's parameters in Core's order (src/rpc/net.cpp):
// the command first (anything but add or remove is -1 with the help as
// the message), then, for add, the bantime as an integer (remove ignores
// bantime and absolute, as Core). The subnet goes to the node as it is:
// the node parses it and answers -30 when it is no IP address or subnet.
func rpcSetBan(s *Server, a callArgs) (any, error) {
	command := a.str(1)
	if command != "add" && command != "remove" {
		return nil, NewError(CodeMisc, "%s", methods["setban"].helpText(s.exampleURL)) // as Core
	}
	var banTime int64
	if command == "add" && a.has(2) {
		var err error
		if banTime, err = a.int64(2); err != nil {
			return nil, err
		}
	}
	absolute := command == "add" && a.boolean(3, false)
	return nil, coreerr.SetBan(s.backend.SetBan(a.str(0), command, banTime, absolute))
}

// isHex is Core's IsHex: a non-empty, even number of hex digits.
func isHex(s string) bool {
	if s == "" || len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return false
		}
	}
	return true
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// parseHash checks a 256-bit hash parameter as Core's ParseHashV and
// returns it.
func parseHash(s, name string) (chainhash.Hash, error) {
	shown := s
	if len(shown) > 80 {
		shown = shown[:80] + "..."
	}
	if len(s) != 64 {
		return chainhash.Hash{}, NewError(CodeInvalidParameter, "%s must be of length 64 (not %d, for '%s')", name, len(s), shown)
	}
	h, err := chainhash.NewHashFromStr(s)
	if !isHex(s) || err != nil {
		return chainhash.Hash{}, NewError(CodeInvalidParameter, "%s must be hexadecimal string (not '%s')", name, shown)
	}
	return *h, nil
}

// signature is the first line of the method's help: its name and
// parameters, strings quoted and optional ones in parentheses, as Core.
func (m *method) signature() string {
	var b strings.Builder
	b.WriteString(m.name)
	optional := false
	for _, a := range m.args {
		if !a.required && !optional {
			b.WriteString(" (")
			optional = true
		}
		b.WriteByte(' ')
		if a.kind == kindStr || a.kind == kindHex {
			fmt.Fprintf(&b, "%q", a.name)
		} else {
			b.WriteString(a.name)
		}
	}
	if optional {
		b.WriteString(" )")
	}
	return b.String()
}

// helpText is the method's full help, as Core's RPCHelpMan::ToString lays
// it out.
func (m *method) helpText(url string) string {
	var b strings.Builder
	b.WriteString(m.signature())
	b.WriteString("\n\n")
	b.WriteString(m.desc)
	b.WriteString("\n")
	if len(m.args) > 0 {
		b.WriteString("\nArguments:\n")
		width := 0
		for _, a := range m.args {
			width = max(width, len(a.name))
		}
		for i, a := range m.args {
			req := "required"
			if !a.required {
				req = "optional"
				if a.def != "" {
					req += ", default=" + a.def
				}
			}
			fmt.Fprintf(&b, "%d. %-*s    (%s, %s) %s\n", i+1, width, a.name, a.kind.helpName(), req, a.help)
		}
	}
	b.WriteString("\nResult:\n")
	b.WriteString(m.result)
	b.WriteString("\n\nExamples:\n")
	exs := m.examples
	if len(exs) == 0 {
		exs = []example{{"", "[]"}}
	}
	for _, e := range exs {
		fmt.Fprintf(&b, "> peerctl %s\n", strings.TrimSpace(m.name+" "+e.cli))
	}
	for _, e := range exs {
		fmt.Fprintf(&b, "> curl --user myusername --data-binary '{\"jsonrpc\": \"2.0\", \"id\": \"curltest\", \"method\": \"%s\", \"params\": %s}' -H 'content-type: application/json' %s\n",
			m.name, e.json, url)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// help is the help method's result: the list of methods by category, each
// with its signature, or one method's help, as Core's CRPCTable::help.
func (s *Server) help(command string) string {
	return Help(command, s.backend.TestNetwork(), s.exampleURL)
}

// Help is the help method's result without a server, for clients that
// answer it themselves (peerctl help works without a running peerd): the
// method list is static. testNetwork shows the test-only methods'
// help; url is the server's address in the curl examples.
func Help(command string, testNetwork bool, url string) string {
	if command != "" {
		m, ok := methods[command]
		if !ok || m.testOnly && !testNetwork {
			return "help: unknown command: " + command
		}
		return m.helpText(url)
	}
	list := make([]*method, 0, len(methods))
	for _, m := range methods {
		if !m.testOnly {
			list = append(list, m)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].category != list[j].category {
			return list[i].category < list[j].category
		}
		return list[i].name < list[j].name
	})
	var b strings.Builder
	category := ""
	for _, m := range list {
		if m.category != category {
			if category != "" {
				b.WriteString("\n")
			}
			category = m.category
			fmt.Fprintf(&b, "== %s ==\n", strings.ToUpper(category[:1])+category[1:])
		}
		b.WriteString(m.signature())
		b.WriteString("\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

const mempoolEntryHelp = `{                                       (json object)
  "vsize" : n,                          (numeric) virtual transaction size as defined in BIP 141
  "weight" : n,                         (numeric) transaction weight as defined in BIP 141
  "time" : xxx,                         (numeric) local time transaction entered pool in seconds since 1 Jan 1970 GMT
  "height" : n,                         (numeric) block height when transaction entered pool (peerd keeps no chain: 0)
  "descendantcount" : n,                (numeric) number of in-mempool descendant transactions (including this one)
  "descendantsize" : n,                 (numeric) virtual transaction size of in-mempool descendants (including this one)
  "ancestorcount" : n,                  (numeric) number of in-mempool ancestor transactions (including this one)
  "ancestorsize" : n,                   (numeric) virtual transaction size of in-mempool ancestors (including this one)
  "wtxid" : "hex",                      (string) hash of serialized transaction, including witness data
  "fees" : {                            (json object) all 0: peerd keeps no UTXO set and cannot know fees
    "base" : n,                         (numeric) transaction fee, denominated in BTC
    "modified" : n,                     (numeric) transaction fee with fee deltas used for mining priority, denominated in BTC
    "ancestor" : n,                     (numeric) transaction fees of in-mempool ancestors (including this one) with fee deltas used for mining priority, denominated in BTC
    "descendant" : n                    (numeric) transaction fees of in-mempool descendants (including this one) with fee deltas used for mining priority, denominated in BTC
  },
  "depends" : [ "hex", ... ],           (json array) unconfirmed transactions used as inputs for this transaction
  "spentby" : [ "hex", ... ],           (json array) unconfirmed transactions spending outputs from this transaction
  "bip125-replaceable" : true|false,    (boolean) whether this transaction signals BIP125 replaceability (peerd: false)
  "unbroadcast" : true|false,           (boolean) whether this transaction is currently unbroadcast (initial broadcast not yet acknowledged by any peers)
  "propagation" : {                     (json object) peerd's own: the transaction's relay
    "invsent" : [ {...}, ... ],         (json array) peers it was announced to: {"id": n, "addr": "str", "time": n}
    "fetched" : [ {...}, ... ],         (json array) peers that fetched it from peerd
    "seenfrom" : [ {...}, ... ],        (json array) peers that announced it to peerd
    "attempts" : [ {...}, ... ],        (json array) private broadcast connections, as getprivatebroadcastinfo's "attempts" (else empty)
    "confirmed" : n,                    (numeric, optional) when an ordinary peer announced a privately broadcast transaction back
    "first_echo" : n                    (numeric, optional) seconds from entering the pool to the first of seenfrom
  }
}`

const privateBroadcastInfoHelp = `{                                       (json object)
  "transactions" : [                    (json array)
    {                                   (json object)
      "txid" : "hex",                   (string) The transaction hash in hex
      "wtxid" : "hex",                  (string) The transaction's witness hash in hex
      "hex" : "hex",                    (string) The serialized, hex-encoded transaction data
      "peers" : [                       (json array) Per-peer send and acknowledgment information
        {                               (json object)
          "address" : "str",            (string) The address of the peer to which the transaction was sent
          "sent" : xxx,                 (numeric) The time this transaction was sent to this peer via inv (seconds since epoch)
          "received" : xxx              (numeric, optional) The time the peer acknowledged reception (pong) (seconds since epoch)
        },
        ...
      ],
      "state" : "str",                  (string) peerd's own: pending, confirmed (announced back by an ordinary peer; now public) or gave up
      "added" : n,                      (numeric) peerd's own: when sendrawtransaction accepted it, seconds since epoch with fractions
      "confirmed" : n,                  (numeric, optional) peerd's own: when an ordinary peer announced it back
      "attempts_remaining" : n,         (numeric) broadcast connections still allowed before peerd gives up
      "attempts" : [                    (json array) peerd's own: every broadcast connection, in the order opened
        {                               (json object) times in seconds since epoch with fractions, each omitted until it happened
          "address" : "str",            (string) The address dialled (through the proxy)
          "peer_id" : n,                (numeric, optional) The connection's peer id (see getpeerinfo), once connected
          "transport" : "str",          (string, optional) v1 or v2, once connected
          "opened" : n,                 (numeric, optional) The dial began
          "announced" : n,              (numeric, optional) The handshake was done and the inv sent
          "getdata" : n,                (numeric, optional) The peer asked for the transaction
          "sent" : n,                   (numeric, optional) The transaction and a ping were sent
          "received" : n,               (numeric, optional) The pong came back: the receipt
          "reject" : "str",             (string, optional) The peer's BIP 61 reject of the transaction, "code: reason"
          "ended" : n,                  (numeric, optional) The connection is over
          "outcome" : "str"             (string, optional) receipt, rejected, or why the connection failed; omitted while open
        },
        ...
      ],
      "echoes" : [ {...}, ... ],        (json array) peerd's own: ordinary peers that announced it back: {"id": n, "addr": "str", "time": n}
      "first_echo" : n                  (numeric, optional) peerd's own: seconds from "added" to the first echo
    },
    ...
  ]
}`

const peerInfoHelp = `[                                   (json array)
  {                                 (json object)
    "id" : n,                       (numeric) Peer index
    "addr" : "host:port",           (string) (host:port) The IP address and port of the peer
    "addrbind" : "ip:port",         (string, optional) (ip:port) Bind address of the connection to the peer
    "addrlocal" : "ip:port",        (string, optional) (ip:port) Local address as reported by the peer
    "network" : "str",              (string) Network (ipv4, ipv6, onion, i2p, cjdns, not_publicly_routable)
    "services" : "hex",             (string) The services offered
    "servicesnames" : [ "str" ],    (json array) the services offered, in human-readable form
    "relaytxes" : true|false,       (boolean) Whether we relay transactions to this peer
    "lastsend" : xxx,               (numeric) The UNIX epoch time of the last send
    "lastrecv" : xxx,               (numeric) The UNIX epoch time of the last receive
    "last_transaction" : xxx,       (numeric) The UNIX epoch time of the last valid transaction received from this peer
    "last_block" : xxx,             (numeric) The UNIX epoch time of the last block received from this peer
    "bytessent" : n,                (numeric) The total bytes sent
    "bytesrecv" : n,                (numeric) The total bytes received
    "conntime" : xxx,               (numeric) The UNIX epoch time of the connection
    "timeoffset" : n,               (numeric) The time offset in seconds
    "pingtime" : n,                 (numeric, optional) The last ping time in seconds, if any
    "minping" : n,                  (numeric, optional) The minimum observed ping time in seconds, if any
    "pingwait" : n,                 (numeric, optional) The duration in seconds of an outstanding ping (if non-zero)
    "version" : n,                  (numeric) The peer version, such as 70001
    "subver" : "str",               (string) The string version
    "inbound" : true|false,         (boolean) Inbound (true) or Outbound (false)
    "bip152_hb_to" : true|false,    (boolean) Whether we selected peer as (compact blocks) high-bandwidth peer
    "bip152_hb_from" : true|false,  (boolean) Whether peer selected us as (compact blocks) high-bandwidth peer
    "startingheight" : n,           (numeric) The starting height (block) of the peer
    "addr_relay_enabled" : true|false, (boolean) Whether we participate in address relay with this peer
    "addr_processed" : n,           (numeric) The total number of addresses processed, excluding those dropped due to rate limiting
    "addr_rate_limited" : n,        (numeric) The total number of addresses dropped due to rate limiting
    "permissions" : [ "str" ],      (json array) Any special permissions that have been granted to this peer
    "minfeefilter" : n,             (numeric) The minimum fee rate for transactions this peer accepts (its last feefilter, in BTC/kvB; peerd only reports it)
    "bytessent_per_msg" : {         (json object) The total bytes sent aggregated by message type
                                    When a message type is not listed in this json object, the bytes sent are 0.
                                    Only known message types can appear as keys in the object.
      "msg" : n,                    (numeric) The total bytes sent aggregated by message type, header included.
                                    When the message type is not known, it is listed as "*other*".
      ...
    },
    "bytesrecv_per_msg" : {         (json object) The total bytes received aggregated by message type
                                    When a message type is not listed in this json object, the bytes received are 0.
                                    Only known message types can appear as keys in the object and all bytes received
                                    of unknown message types are listed under '*other*'.
      "msg" : n,                    (numeric) The total bytes received aggregated by message type, header included.
      ...
    },
    "connection_type" : "str",      (string) Type of connection: outbound-full-relay, inbound, manual (--connect, --addpeer, addnode), feeler, private-broadcast
    "transport_protocol_type" : "str", (string) Type of transport protocol: detecting (peer could be v1 or v2), v1 (plaintext transport protocol), v2 (BIP324 encrypted transport protocol)
    "session_id" : "str",           (string) The session ID for this connection, or "" if there is none ("v2" transport protocol only)
    "wtxidrelay" : true|false,      (boolean) peerd's own: whether the peer announces transactions by wtxid (BIP 339)
    "state" : "str",                (string) peerd's own: the peer's state machine state, e.g. "standby/validating"
    "transitions" : [ {...} ]       (json array) peerd's own: recent state transitions, {"time": n, "from": "str", "to": "str", "on": "str"}
  },
  ...
]`
