package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/peerd/peerd/internal/rpcserver"
)

// cookieFile is the name of peerd's cookie file (rpcserver's).
const cookieFile = ".cookie"

// credentials are --rpcuser and --rpcpass, or the cookie file's, found as
// peerctl finds it.
func credentials(o *options, netw network, appDir string) (user, pass string, err error) {
	if o.RPC.RPCUser != "" || o.RPC.RPCPass != "" {
		if o.RPC.RPCUser == "" || o.RPC.RPCPass == "" {
			return "", "", &usageError{"--rpcuser and --rpcpass go together"}
		}
		return o.RPC.RPCUser, o.RPC.RPCPass, nil
	}
	name := netw.params.Name
	var tried []string
	if o.RPC.DataDir != "" {
		tried = []string{filepath.Join(o.RPC.DataDir, cookieFile), filepath.Join(o.RPC.DataDir, name, cookieFile)}
	} else {
		tried = []string{filepath.Join(appDir, "data", name, cookieFile)}
	}
	for _, path := range tried {
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", "", fmt.Errorf("cannot read the cookie file: %v", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		user, pass, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if !ok || user == "" || pass == "" {
			return "", "", fmt.Errorf("the cookie file %s is not user:password", path)
		}
		return user, pass, nil
	}
	return "", "", fmt.Errorf("no cookie file at %s: is peerd running on %s with cookie authentication? "+
		"Pass --rpcuser and --rpcpass, or --datadir=DIR", strings.Join(tried, " or "), name)
}

// rpcClient is a minimal JSON-RPC 2.0 client for peerd, and btcd (which
// takes 2.0 requests too). It keeps its HTTP connection alive between
// calls, so that a call's latency is the node's work and the loopback round
// trip, not a TCP handshake; btcd closes the connection after every reply
// (Connection: close), so against btcd each call opens one.
type rpcClient struct {
	url        string
	user, pass string
	hc         *http.Client
	id         atomic.Int64
}

func newRPCClient(addr, user, pass string, timeout time.Duration) *rpcClient {
	return &rpcClient{
		url: "http://" + addr + "/", user: user, pass: pass,
		hc: &http.Client{
			Timeout:   timeout,
			Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute},
		},
	}
}

// close drops the client's idle connection.
func (c *rpcClient) close() { c.hc.CloseIdleConnections() }

// call calls method with params and decodes its result into result (if not
// nil). An error reply is a *rpcserver.Error.
func (c *rpcClient) call(ctx context.Context, method string, result any, params ...any) error {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(struct {
		JSONRPC string `json:"jsonrpc"`
		ID      int64  `json:"id"`
		Method  string `json:"method"`
		Params  []any  `json:"params"`
	}{"2.0", c.id.Add(1), method, params})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(c.user, c.pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("%s: reading the reply: %v", method, err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("%s: the node refused the credentials (HTTP 401): check --rpcuser/--rpcpass or --datadir", method)
	}
	var r struct {
		Result json.RawMessage  `json:"result"`
		Error  *rpcserver.Error `json:"error"`
	}
	if err := json.Unmarshal(reply, &r); err != nil {
		text := strings.TrimSpace(string(reply))
		if len(text) > 200 {
			text = text[:200] + "..."
		}
		return fmt.Errorf("%s: HTTP %d: %s", method, resp.StatusCode, text)
	}
	if r.Error != nil {
		return fmt.Errorf("%s: %w", method, r.Error)
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(r.Result, result); err != nil {
		return fmt.Errorf("%s: decoding the result: %v", method, err)
	}
	return nil
}

func (c *rpcClient) connectionCount(ctx context.Context) (int, error) {
	var n int
	err := c.call(ctx, "getconnectioncount", &n)
	return n, err
}

// peerEntry is what relay mode reads of a getpeerinfo entry. State and
// WTxIDRelay are peerd's own fields: nil when the node leaves them out
// (btcd, Bitcoin Core).
type peerEntry struct {
	Addr       string  `json:"addr"`
	State      *string `json:"state"`
	WTxIDRelay *bool   `json:"wtxidrelay"`
}

func (c *rpcClient) peerInfo(ctx context.Context) ([]peerEntry, error) {
	var ps []peerEntry
	err := c.call(ctx, "getpeerinfo", &ps)
	return ps, err
}

func (c *rpcClient) sendRawTransaction(ctx context.Context, hexTx string) (string, error) {
	var txid string
	err := c.call(ctx, "sendrawtransaction", &txid, hexTx)
	return txid, err
}

// mempoolEntry is what relay mode reads of a getmempoolentry reply:
// peerd's propagation record, nil when the node keeps none.
type mempoolEntry struct {
	Propagation *rpcserver.Propagation `json:"propagation"`
}

func (c *rpcClient) mempoolEntry(ctx context.Context, txid string) (mempoolEntry, error) {
	var e mempoolEntry
	err := c.call(ctx, "getmempoolentry", &e, txid)
	return e, err
}
