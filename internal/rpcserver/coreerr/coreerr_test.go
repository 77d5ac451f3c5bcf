package coreerr

import (
	"errors"
	"fmt"
	"testing"

	"github.com/peerd/peerd/mempool"
	"github.com/peerd/peerd/node"
)

func TestErrorValue(t *testing.T) {
	err := fmt.Errorf("adding: %w", NotInMempool())
	if !errors.Is(err, NotInMempool()) || errors.Is(err, NodeNotConnected()) {
		t.Error("errors.Is by code")
	}
	if s := TxDecodeFailed().Error(); s != "rpc error -22: TX decode failed. Make sure the tx has at least one input." {
		t.Errorf("Error() = %q", s)
	}
	if e := New(CodeInvalidParameter, "bad %s", "x"); e.Message != "bad x" || e.Code != -8 {
		t.Errorf("New = %+v", e)
	}
}

// TestWording maps each of the node's refusals, per method, to Core's
// code and exact message; errors of no kind the method words pass as they
// are.
func TestWording(t *testing.T) {
	refusal := func(k node.ErrorKind, text string) error { return &node.Error{Kind: k, Err: errors.New(text)} }
	rej := &node.Error{Kind: node.ErrKindRejected, Err: &mempool.RejectError{Reason: "bad-txns-vout-empty", Detail: "no outputs"}}
	plain := errors.New("disk full")
	for _, c := range []struct {
		name string
		got  error
		code int
		msg  string
	}{
		{"sendrawtransaction decode", SendRawTransaction(refusal(node.ErrKindTxDecode, "EOF")), -22, "TX decode failed. Make sure the tx has at least one input."},
		{"sendrawtransaction rejected", SendRawTransaction(rej), -26, "bad-txns-vout-empty, no outputs"},
		{"sendrawtransaction wrapped rejection", SendRawTransaction(fmt.Errorf("relay: %w", rej)), -26, "relay: bad-txns-vout-empty, no outputs"},
		{"getmempoolentry absent", GetMempoolEntry(refusal(node.ErrKindNotFound, "x")), -5, "Transaction not in mempool"},
		{"addnode added twice", AddNode(&node.Error{Kind: node.ErrKindExists, Err: node.ErrAlreadyAdded}), -23, "Error: Node already added"},
		{"addnode remove unknown", AddNode(&node.Error{Kind: node.ErrKindNotFound, Err: node.ErrNotAdded}), -24, "Error: Node could not be removed. It has not been added previously."},
		{"addnode bad address", AddNode(refusal(node.ErrKindInvalidAddress, "bad port")), -8, "bad port"},
		{"addnode v2 without v2", AddNode(&node.Error{Kind: node.ErrKindInvalidParameter, Err: node.ErrV2NotEnabled}), -8, "Error: v2transport requested but not enabled (see --nov2transport)"},
		{"disconnectnode unknown", DisconnectNode(refusal(node.ErrKindNotFound, "x")), -29, "Node not found in connected nodes"},
		{"setban invalid subnet", SetBan(refusal(node.ErrKindInvalidAddress, "x")), -30, "Error: Invalid IP/Subnet"},
		{"setban time in the past", SetBan(refusal(node.ErrKindInvalidParameter, "x")), -8, "Error: Absolute timestamp is in the past"},
		{"setban already banned", SetBan(&node.Error{Kind: node.ErrKindExists, Err: node.ErrAlreadyBanned}), -23, "Error: IP/Subnet already banned"},
		{"getprivatebroadcastinfo not enabled", GetPrivateBroadcastInfo(&node.Error{Kind: node.ErrKindNotEnabled, Err: node.ErrPrivateNotEnabled}), -32601, "Private broadcast is not enabled. Ensure you're running peerd with --privatebroadcast."},
		{"abortprivatebroadcast not enabled", AbortPrivateBroadcast(&node.Error{Kind: node.ErrKindNotEnabled, Err: node.ErrPrivateNotEnabled}), -32601, "Private broadcast is not enabled. Ensure you're running peerd with --privatebroadcast."},
		{"abortprivatebroadcast unknown", AbortPrivateBroadcast(&node.Error{Kind: node.ErrKindNotFound, Err: node.ErrNotInPrivateQueue}), -5, "Transaction not in private broadcast queue"},
		{"setban unban unknown", SetBan(&node.Error{Kind: node.ErrKindNotFound, Err: node.ErrNotBanned}), -30, "Error: Unban failed. Requested address/subnet was not previously manually banned."},
	} {
		var e *Error
		if !errors.As(c.got, &e) || e.Code != c.code || e.Message != c.msg {
			t.Errorf("%s: %v, want %d %q", c.name, c.got, c.code, c.msg)
		}
	}
	for name, f := range map[string]func(error) error{
		"sendrawtransaction": SendRawTransaction, "getmempoolentry": GetMempoolEntry,
		"addnode": AddNode, "disconnectnode": DisconnectNode, "setban": SetBan,
		"getprivatebroadcastinfo": GetPrivateBroadcastInfo, "abortprivatebroadcast": AbortPrivateBroadcast,
	} {
		if got := f(nil); got != nil {
			t.Errorf("%s(nil) = %v", name, got)
		}
		if got := f(plain); got != plain {
			t.Errorf("%s(plain) = %v, want it unchanged", name, got)
		}
		unavailable := refusal(node.ErrKindUnavailable, "no mempool")
		if got := f(unavailable); got != unavailable {
			t.Errorf("%s(unavailable) = %v, want it unchanged", name, got)
		}
	}
}
