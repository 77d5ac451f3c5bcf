// Package coreerr is Bitcoin Core's RPC error vocabulary: its error codes
// (src/rpc/protocol.h, RPCErrorCode), its exact messages, and the wording
// of the node's refusals (*node.Error, by kind) in them, per method. The
// JSON-RPC server answers with these errors; the debug console writes
// them as bitcoin-cli does. The node itself knows nothing of them.
package coreerr

import (
	"errors"
	"fmt"

	"github.com/peerd/peerd/node"
)

// Error codes, Core's.
const (
	// Standard JSON-RPC 2.0 errors.
	CodeInvalidRequest = -32600 // RPC_INVALID_REQUEST
	CodeMethodNotFound = -32601 // RPC_METHOD_NOT_FOUND
	CodeInvalidParams  = -32602 // RPC_INVALID_PARAMS
	CodeInternal       = -32603 // RPC_INTERNAL_ERROR
	CodeParse          = -32700 // RPC_PARSE_ERROR

	// General application errors.
	CodeMisc                = -1  // RPC_MISC_ERROR: std::exception thrown in command handling
	CodeType                = -3  // RPC_TYPE_ERROR: unexpected type was passed as parameter
	CodeInvalidAddressOrKey = -5  // RPC_INVALID_ADDRESS_OR_KEY: e.g. transaction not in mempool
	CodeOutOfMemory         = -7  // RPC_OUT_OF_MEMORY
	CodeInvalidParameter    = -8  // RPC_INVALID_PARAMETER: invalid, missing or duplicate parameter
	CodeDatabase            = -20 // RPC_DATABASE_ERROR
	CodeDeserialization     = -22 // RPC_DESERIALIZATION_ERROR: error parsing or validating structure in raw format
	CodeVerify              = -25 // RPC_VERIFY_ERROR: general error during transaction or block submission
	CodeVerifyRejected      = -26 // RPC_VERIFY_REJECTED: transaction or block was rejected by network rules
	CodeVerifyAlreadyInUTXO = -27 // RPC_VERIFY_ALREADY_IN_UTXO_SET (formerly RPC_VERIFY_ALREADY_IN_CHAIN)
	CodeInWarmup            = -28 // RPC_IN_WARMUP: client still warming up
	CodeMethodDeprecated    = -32 // RPC_METHOD_DEPRECATED

	// P2P client errors.
	CodeClientNotConnected        = -9  // RPC_CLIENT_NOT_CONNECTED
	CodeClientInInitialDownload   = -10 // RPC_CLIENT_IN_INITIAL_DOWNLOAD
	CodeClientNodeAlreadyAdded    = -23 // RPC_CLIENT_NODE_ALREADY_ADDED
	CodeClientNodeNotAdded        = -24 // RPC_CLIENT_NODE_NOT_ADDED
	CodeClientNodeNotConnected    = -29 // RPC_CLIENT_NODE_NOT_CONNECTED
	CodeClientInvalidIPOrSubnet   = -30 // RPC_CLIENT_INVALID_IP_OR_SUBNET
	CodeClientP2PDisabled         = -31 // RPC_CLIENT_P2P_DISABLED
	CodeClientMempoolDisabled     = -33 // RPC_CLIENT_MEMPOOL_DISABLED
	CodeClientNodeCapacityReached = -34 // RPC_CLIENT_NODE_CAPACITY_REACHED
)

// Error is a JSON-RPC error object: a Core code and its message.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// New returns an *Error with the code and message.
func New(code int, format string, args ...any) *Error {
	if len(args) == 0 {
		return &Error{Code: code, Message: format}
	}
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string { return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message) }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, NotInMempool()) works on wrapped errors.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t != nil && t.Code == e.Code
}

// Core's errors, with Core's exact messages.

// TxDecodeFailed is sendrawtransaction's error for a transaction that
// does not decode (src/rpc/mempool.cpp).
func TxDecodeFailed() *Error {
	return &Error{Code: CodeDeserialization, Message: "TX decode failed. Make sure the tx has at least one input."}
}

// NotInMempool is getmempoolentry's error for a txid the mempool does not
// have.
func NotInMempool() *Error {
	return &Error{Code: CodeInvalidAddressOrKey, Message: "Transaction not in mempool"}
}

// NodeAlreadyAdded is addnode "add"'s error for a node already added.
func NodeAlreadyAdded() *Error {
	return &Error{Code: CodeClientNodeAlreadyAdded, Message: "Error: Node already added"}
}

// NodeNotAdded is addnode "remove"'s error for a node never added.
func NodeNotAdded() *Error {
	return &Error{Code: CodeClientNodeNotAdded, Message: "Error: Node could not be removed. It has not been added previously."}
}

// NodeNotConnected is disconnectnode's error for no such peer.
func NodeNotConnected() *Error {
	return &Error{Code: CodeClientNodeNotConnected, Message: "Node not found in connected nodes"}
}

// InvalidIPOrSubnet is setban's error for a subnet that is no IP address
// or subnet (CIDR).
func InvalidIPOrSubnet() *Error {
	return &Error{Code: CodeClientInvalidIPOrSubnet, Message: "Error: Invalid IP/Subnet"}
}

// AlreadyBanned is setban "add"'s error for an IP/subnet already banned.
func AlreadyBanned() *Error {
	return &Error{Code: CodeClientNodeAlreadyAdded, Message: "Error: IP/Subnet already banned"}
}

// UnbanFailed is setban "remove"'s error for an IP/subnet not banned.
func UnbanFailed() *Error {
	return &Error{Code: CodeClientInvalidIPOrSubnet, Message: "Error: Unban failed. Requested address/subnet was not previously manually banned."}
}

// BanTimeInPast is setban "add"'s error for an absolute bantime before
// now.
func BanTimeInPast() *Error {
	return &Error{Code: CodeInvalidParameter, Message: "Error: Absolute timestamp is in the past"}
}

// PrivateBroadcastNotEnabled is getprivatebroadcastinfo's and
// abortprivatebroadcast's error on a node without private broadcast: Core's
// code and message, naming peerd's flag.
func PrivateBroadcastNotEnabled() *Error {
	return &Error{Code: CodeMethodNotFound, Message: "Private broadcast is not enabled. Ensure you're running peerd with --privatebroadcast."}
}

// NotInPrivateBroadcastQueue is abortprivatebroadcast's error for an id
// that names no transaction awaiting private broadcast.
func NotInPrivateBroadcastQueue() *Error {
	return &Error{Code: CodeInvalidAddressOrKey, Message: "Transaction not in private broadcast queue"}
}

// The node's refusals as each method's Core error. Each returns nil for
// nil and err itself when it is no *node.Error of a kind the method
// words; the server reports such an error as CodeMisc with its text.

// SendRawTransaction words sendrawtransaction's refusals: a transaction
// that does not decode is -22, one the mempool refuses -26 with the
// mempool's reason ("reason, detail", as Core's ValidationState).
func SendRawTransaction(err error) error {
	switch node.KindOf(err) {
	case node.ErrKindTxDecode:
		return TxDecodeFailed()
	case node.ErrKindRejected:
		return New(CodeVerifyRejected, "%s", err.Error())
	}
	return err
}

// GetMempoolEntry words getmempoolentry's refusal: -5 for a txid not in
// the mempool.
func GetMempoolEntry(err error) error {
	if node.KindOf(err) == node.ErrKindNotFound {
		return NotInMempool()
	}
	return err
}

// AddNode words addnode's refusals: -23 already added, -24 not added,
// -8 for v2transport asked of a node without it (Core's text, naming
// peerd's flag), -8 with the node's text for an address that does not
// parse.
func AddNode(err error) error {
	if errors.Is(err, node.ErrV2NotEnabled) {
		return New(CodeInvalidParameter, "Error: v2transport requested but not enabled (see --nov2transport)")
	}
	switch node.KindOf(err) {
	case node.ErrKindExists:
		return NodeAlreadyAdded()
	case node.ErrKindNotFound:
		return NodeNotAdded()
	case node.ErrKindInvalidAddress:
		return New(CodeInvalidParameter, "%s", err.Error())
	}
	return err
}

// AddPeerAddress words addpeeraddress's refusals: -30 "Invalid IP
// address" for an address that does not parse, -32601 "Method not found"
// off regtest and simnet.
func AddPeerAddress(err error) error {
	switch {
	case errors.Is(err, node.ErrTestOnly):
		return New(CodeMethodNotFound, "Method not found")
	case node.KindOf(err) == node.ErrKindInvalidAddress:
		return New(CodeClientInvalidIPOrSubnet, "Invalid IP address")
	}
	return err
}

// DisconnectNode words disconnectnode's refusal: -29 for no such peer.
func DisconnectNode(err error) error {
	if node.KindOf(err) == node.ErrKindNotFound {
		return NodeNotConnected()
	}
	return err
}

// SetBan words setban's refusals: -30 for an invalid IP/subnet and for an
// unban of what is not banned, -23 already banned, -8 an absolute time in
// the past.
func SetBan(err error) error {
	switch node.KindOf(err) {
	case node.ErrKindInvalidAddress:
		return InvalidIPOrSubnet()
	case node.ErrKindInvalidParameter:
		return BanTimeInPast()
	case node.ErrKindExists:
		return AlreadyBanned()
	case node.ErrKindNotFound:
		return UnbanFailed()
	}
	return err
}

// GetPrivateBroadcastInfo words getprivatebroadcastinfo's refusal: -32601
// without private broadcast.
func GetPrivateBroadcastInfo(err error) error {
	if node.KindOf(err) == node.ErrKindNotEnabled {
		return PrivateBroadcastNotEnabled()
	}
	return err
}

// AbortPrivateBroadcast words abortprivatebroadcast's refusals: -32601
// without private broadcast, -5 for a transaction not awaiting it.
func AbortPrivateBroadcast(err error) error {
	switch node.KindOf(err) {
	case node.ErrKindNotEnabled:
		return PrivateBroadcastNotEnabled()
	case node.ErrKindNotFound:
		return NotInPrivateBroadcastQueue()
	}
	return err
}
