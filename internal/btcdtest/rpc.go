package btcdtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// rpcTimeout bounds a single [Node.Call]; use [Node.CallContext] for a
// different bound.
const rpcTimeout = 60 * time.Second

// RPCError is an error answered by btcd in the "error" member of a JSON-RPC
// reply. Code is btcd's btcjson.RPCErrorCode (the Bitcoin Core codes, e.g.
// -8 invalid parameter, -32601 method not found).
type RPCError struct {
	Method  string
	Code    int
	Message string
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("btcd rpc %s: %d: %s", e.Method, e.Code, e.Message)
}

type rpcRequest struct {
	JSONRPC string `json:"jsonrpc"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
	ID      uint64 `json:"id"`
}

type rpcResponse struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	ID json.RawMessage `json:"id"`
}

// Call performs one JSON-RPC 1.0 request ({"jsonrpc":"1.0","method",
// "params","id"}, which is the form btcd insists on) and returns the raw
// "result" (JSON null for commands without a result). A btcd-side error is
// returned as *[RPCError]; transport and HTTP errors (401, 503, ...) as plain
// errors. Each call is bounded by a 60 s timeout.
func (n *Node) Call(method string, params ...any) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	return n.CallContext(ctx, method, params...)
}

// CallContext is [Node.Call] bounded by ctx instead of the default timeout.
func (n *Node) CallContext(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	if params == nil {
		params = []any{}
	}
	id := n.rpcID.Add(1)
	body, err := json.Marshal(rpcRequest{JSONRPC: "1.0", Method: method, Params: params, ID: id})
	if err != nil {
		return nil, fmt.Errorf("btcd rpc %s: encode request: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+n.rpcAddr, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("btcd rpc %s: %w", method, err)
	}
	req.SetBasicAuth(n.rpcUser, n.rpcPass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("btcd rpc %s: %w", method, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("btcd rpc %s: read reply: %w", method, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("btcd rpc %s: HTTP %s: %s", method, resp.Status, bytes.TrimSpace(raw))
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		// btcd's answer to a request it cannot reply to (no jsonrpc
		// version, no id).
		return nil, fmt.Errorf("btcd rpc %s: empty reply", method)
	}
	var r rpcResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("btcd rpc %s: decode reply %q: %w", method, raw, err)
	}
	if string(r.ID) != strconv.FormatUint(id, 10) {
		return nil, fmt.Errorf("btcd rpc %s: reply id %s, want %d", method, r.ID, id)
	}
	if r.Error != nil {
		return nil, &RPCError{Method: method, Code: r.Error.Code, Message: r.Error.Message}
	}
	return r.Result, nil
}

// callInto performs Call and decodes the result into out.
func (n *Node) callInto(out any, method string, params ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	return n.CallResult(ctx, method, out, params...)
}

// CallResult is [Node.CallContext] with the result decoded into result
// (unless nil): a [regtestfund.Caller], for [regtestfund.Fund].
func (n *Node) CallResult(ctx context.Context, method string, result any, params ...any) error {
	raw, err := n.CallContext(ctx, method, params...)
	if err != nil || result == nil {
		return err
	}
	if err := json.Unmarshal(raw, result); err != nil {
		return fmt.Errorf("btcd rpc %s: decode result %q: %w", method, raw, err)
	}
	return nil
}

// RPCCredentials returns the user name and password of btcd's RPC server
// (--rpcuser, --rpcpass), for clients other than [Node.Call].
func (n *Node) RPCCredentials() (user, pass string) { return n.rpcUser, n.rpcPass }

// PeerInfo is one entry of btcd's getpeerinfo reply (btcjson.GetPeerInfoResult
// in btcd v0.26.2), with btcd's microsecond ping figures converted to
// durations.
type PeerInfo struct {
	ID        int32  `json:"id"`        // btcd's peer id
	Addr      string `json:"addr"`      // remote "ip:port"
	AddrLocal string `json:"addrlocal"` // btcd's side of the connection, "ip:port"
	// Services is the remote's service bits as btcd prints them: a
	// zero-padded DECIMAL number, e.g. "00001033"; see ServiceFlags.
	Services  string `json:"services"`
	RelayTxes bool   `json:"relaytxes"`
	LastSend  int64  `json:"lastsend"`  // unix seconds of the last message sent
	LastRecv  int64  `json:"lastrecv"`  // unix seconds of the last message received
	BytesSent uint64 `json:"bytessent"` // total, including headers
	BytesRecv uint64 `json:"bytesrecv"`
	ConnTime  int64  `json:"conntime"` // unix seconds
	// TimeOffset is the remote's version timestamp minus btcd's clock, in
	// seconds.
	TimeOffset int64 `json:"timeoffset"`
	// PingTime is the last measured ping round trip (0 until btcd's first
	// ping, which it sends 2 minutes after connecting).
	PingTime time.Duration `json:"-"`
	// PingWait is how long an outstanding ping has been waiting (0 when no
	// ping is outstanding).
	PingWait       time.Duration `json:"-"`
	Version        uint32        `json:"version"` // remote's protocol version
	SubVer         string        `json:"subver"`  // remote's user agent
	Inbound        bool          `json:"inbound"`
	StartingHeight int32         `json:"startingheight"`
	CurrentHeight  int32         `json:"currentheight"`
	BanScore       int32         `json:"banscore"`
	FeeFilter      int64         `json:"feefilter"`
	SyncNode       bool          `json:"syncnode"`
	V2Connection   bool          `json:"v2_connection"`
}

// UnmarshalJSON decodes a getpeerinfo entry, converting btcd's "pingtime"
// and "pingwait" (float microseconds) to PingTime and PingWait.
func (p *PeerInfo) UnmarshalJSON(b []byte) error {
	type plain PeerInfo
	aux := struct {
		*plain
		PingTimeMicros float64 `json:"pingtime"`
		PingWaitMicros float64 `json:"pingwait"`
	}{plain: (*plain)(p)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	p.PingTime = time.Duration(aux.PingTimeMicros * float64(time.Microsecond))
	p.PingWait = time.Duration(aux.PingWaitMicros * float64(time.Microsecond))
	return nil
}

// ServiceFlags parses Services (decimal, as btcd formats it) into the
// service bit field of the remote's version message.
func (p PeerInfo) ServiceFlags() (uint64, error) {
	return strconv.ParseUint(p.Services, 10, 64)
}

// GetPeerInfo returns btcd's connected peers (getpeerinfo).
func (n *Node) GetPeerInfo() ([]PeerInfo, error) {
	var ps []PeerInfo
	if err := n.callInto(&ps, "getpeerinfo"); err != nil {
		return nil, err
	}
	return ps, nil
}

// Generate mines n regtest blocks and returns their hashes (generate). btcd
// must have been started with --miningaddr (see [MiningAddr]).
func (n *Node) Generate(blocks int) ([]string, error) {
	var hashes []string
	err := n.callInto(&hashes, "generate", blocks)
	return hashes, err
}

// GetBlockCount returns the height of btcd's best chain (getblockcount).
func (n *Node) GetBlockCount() (int64, error) {
	var h int64
	err := n.callInto(&h, "getblockcount")
	return h, err
}

// GetBestBlockHash returns the hash of btcd's chain tip (getbestblockhash).
func (n *Node) GetBestBlockHash() (string, error) {
	var h string
	err := n.callInto(&h, "getbestblockhash")
	return h, err
}

// GetRawMempool returns the txids in btcd's mempool (getrawmempool).
func (n *Node) GetRawMempool() ([]string, error) {
	var ids []string
	if err := n.callInto(&ids, "getrawmempool", false); err != nil {
		return nil, err
	}
	return ids, nil
}

// AddNode runs btcd's addnode: cmd "add" makes a persistent outbound
// connection to addr (reconnected when lost), "onetry" a one-shot one, and
// "remove" drops a persistent peer. It returns once the request is queued,
// not when the connection is up; use [Node.WaitPeers] for that.
func (n *Node) AddNode(addr, cmd string) error {
	_, err := n.Call("addnode", addr, cmd)
	return err
}

// ConnectNode runs btcd's "node connect addr perm|temp": like AddNode "add"
// (perm) or "onetry" (temp).
func (n *Node) ConnectNode(addr string, perm bool) error {
	sub := "temp"
	if perm {
		sub = "perm"
	}
	_, err := n.Call("node", "connect", addr, sub)
	return err
}

// DisconnectNode runs btcd's "node disconnect target": target is a peer's
// "ip:port" or its numeric id. btcd refuses to disconnect a persistent peer
// (use "node remove" / AddNode "remove" instead).
func (n *Node) DisconnectNode(target string) error {
	_, err := n.Call("node", "disconnect", target)
	return err
}
