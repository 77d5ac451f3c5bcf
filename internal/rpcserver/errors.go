package rpcserver

import (
	"errors"
	"fmt"
)

// Error codes, Bitcoin Core's (src/rpc/protocol.h, RPCErrorCode). The node
// reports failures as *[Error] values with these codes.
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

// Error is a JSON-RPC error object: what the node returns for a failure
// that has a Core error code, and what the server puts in a reply's
// "error" member. Any other error a [Backend] method returns is reported
// as [CodeMisc] with its text, as Core reports a C++ exception.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// NewError returns an *Error with the code and message.
func NewError(code int, format string, args ...any) *Error {
	if len(args) == 0 {
		return &Error{Code: code, Message: format}
	}
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string { return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message) }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, ErrNotInMempool()) works on wrapped errors.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t != nil && t.Code == e.Code
}

// Core's errors, with Core's exact messages, for the node to return.

// ErrTxDecodeFailed is sendrawtransaction's error for a transaction that
// does not decode (src/rpc/mempool.cpp).
func ErrTxDecodeFailed() *Error {
	return &Error{Code: CodeDeserialization, Message: "TX decode failed. Make sure the tx has at least one input."}
}

// ErrNotInMempool is getmempoolentry's error for a txid the mempool does
// not have.
func ErrNotInMempool() *Error {
	return &Error{Code: CodeInvalidAddressOrKey, Message: "Transaction not in mempool"}
}

// ErrNodeAlreadyAdded is addnode "add"'s error for a node already added.
func ErrNodeAlreadyAdded() *Error {
	return &Error{Code: CodeClientNodeAlreadyAdded, Message: "Error: Node already added"}
}

// ErrNodeNotAdded is addnode "remove"'s error for a node never added.
func ErrNodeNotAdded() *Error {
	return &Error{Code: CodeClientNodeNotAdded, Message: "Error: Node could not be removed. It has not been added previously."}
}

// ErrNodeNotConnected is disconnectnode's error for no such peer.
func ErrNodeNotConnected() *Error {
	return &Error{Code: CodeClientNodeNotConnected, Message: "Node not found in connected nodes"}
}

// ErrInvalidIPOrSubnet is setban's error for a subnet that is no IP
// address or subnet (CIDR).
func ErrInvalidIPOrSubnet() *Error {
	return &Error{Code: CodeClientInvalidIPOrSubnet, Message: "Error: Invalid IP/Subnet"}
}

// ErrAlreadyBanned is setban "add"'s error for an IP/subnet already
// banned.
func ErrAlreadyBanned() *Error {
	return &Error{Code: CodeClientNodeAlreadyAdded, Message: "Error: IP/Subnet already banned"}
}

// ErrUnbanFailed is setban "remove"'s error for an IP/subnet not banned.
func ErrUnbanFailed() *Error {
	return &Error{Code: CodeClientInvalidIPOrSubnet, Message: "Error: Unban failed. Requested address/subnet was not previously manually banned."}
}

// ErrBanTimeInPast is setban "add"'s error for an absolute bantime before
// now.
func ErrBanTimeInPast() *Error {
	return &Error{Code: CodeInvalidParameter, Message: "Error: Absolute timestamp is in the past"}
}

// asRPCError turns a handler's error into the reply's error object.
func asRPCError(err error) *Error {
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e
	}
	return &Error{Code: CodeMisc, Message: err.Error()}
}
