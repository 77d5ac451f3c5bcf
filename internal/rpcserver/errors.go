package rpcserver

import (
	"errors"

	"github.com/peerd/peerd/internal/rpcserver/coreerr"
)

// Error is a JSON-RPC error object: what the server puts in a reply's
// "error" member. A method's handler words the node's refusals in Core's
// codes and messages through package coreerr; any other error is
// reported as [CodeMisc] with its text, as Core reports a C++ exception.
type Error = coreerr.Error

// NewError returns an *Error with the code and message.
func NewError(code int, format string, args ...any) *Error {
	return coreerr.New(code, format, args...)
}

// Error codes, Core's: see package coreerr.
const (
	CodeInvalidRequest            = coreerr.CodeInvalidRequest
	CodeMethodNotFound            = coreerr.CodeMethodNotFound
	CodeInvalidParams             = coreerr.CodeInvalidParams
	CodeInternal                  = coreerr.CodeInternal
	CodeParse                     = coreerr.CodeParse
	CodeMisc                      = coreerr.CodeMisc
	CodeType                      = coreerr.CodeType
	CodeInvalidAddressOrKey       = coreerr.CodeInvalidAddressOrKey
	CodeOutOfMemory               = coreerr.CodeOutOfMemory
	CodeInvalidParameter          = coreerr.CodeInvalidParameter
	CodeDatabase                  = coreerr.CodeDatabase
	CodeDeserialization           = coreerr.CodeDeserialization
	CodeVerify                    = coreerr.CodeVerify
	CodeVerifyRejected            = coreerr.CodeVerifyRejected
	CodeVerifyAlreadyInUTXO       = coreerr.CodeVerifyAlreadyInUTXO
	CodeInWarmup                  = coreerr.CodeInWarmup
	CodeMethodDeprecated          = coreerr.CodeMethodDeprecated
	CodeClientNotConnected        = coreerr.CodeClientNotConnected
	CodeClientInInitialDownload   = coreerr.CodeClientInInitialDownload
	CodeClientNodeAlreadyAdded    = coreerr.CodeClientNodeAlreadyAdded
	CodeClientNodeNotAdded        = coreerr.CodeClientNodeNotAdded
	CodeClientNodeNotConnected    = coreerr.CodeClientNodeNotConnected
	CodeClientInvalidIPOrSubnet   = coreerr.CodeClientInvalidIPOrSubnet
	CodeClientP2PDisabled         = coreerr.CodeClientP2PDisabled
	CodeClientMempoolDisabled     = coreerr.CodeClientMempoolDisabled
	CodeClientNodeCapacityReached = coreerr.CodeClientNodeCapacityReached
)

// asRPCError turns a handler's error into the reply's error object.
func asRPCError(err error) *Error {
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e
	}
	return &Error{Code: CodeMisc, Message: err.Error()}
}
