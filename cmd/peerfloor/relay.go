package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// The floor's relay: the least a server can do to announce a transaction
// to every connection, as the reference for relay fan-out latency. With
// --rpclisten, the floor answers three JSON-RPC calls, which are what
// peerload relay needs of a node:
//
//   - sendrawtransaction HEX: decodes the transaction (so that it has its
//     txid and wtxid; nothing is checked), encodes one inv by txid
//     (MSG_TX) and one by wtxid (MSG_WTX), writes the right one to every
//     connection whose handshake is done (MSG_WTX where the client sent
//     wtxidrelay), and only then replies with the txid. The writes are
//     shared among GOMAXPROCS goroutines, each taking a contiguous share
//     of the connections. Nothing is stored, and a transaction sent twice
//     is announced twice.
//   - getconnectioncount: the connections whose handshake is done (the
//     client's verack arrived; what it asked for before, wtxidrelay, is
//     known by then).
//   - getpeerinfo: one entry for each of them, with its id, address and
//     direction only.
//
// Any credentials are accepted; the listener should be loopback.

// fconn is a connection as the relay sees it.
type fconn struct {
	id    int64
	c     net.Conn
	addr  string
	wtxid atomic.Bool // the client sent wtxidrelay before the handshake ended
	wmu   sync.Mutex  // orders the connection's writes: pongs and invs
}

func (c *fconn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.c.Write(b)
	return err
}

// registry holds the connections whose handshake is done.
type registry struct {
	mu    sync.Mutex
	conns map[*fconn]struct{}
	ids   int64
}

func (r *registry) add(c *fconn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conns == nil {
		r.conns = make(map[*fconn]struct{})
	}
	r.ids++
	c.id = r.ids
	r.conns[c] = struct{}{}
}

func (r *registry) remove(c *fconn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.conns, c)
}

func (r *registry) list() []*fconn {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs := make([]*fconn, 0, len(r.conns))
	for c := range r.conns {
		cs = append(cs, c)
	}
	return cs
}

// announce writes inv by txid, or by wtxid where the client asked for it,
// to every connection whose handshake is done, and returns how many writes failed.
func (f *floor) announce(tx *wire.MsgTx) (failed int, err error) {
	byTxID, err := f.invFrame(wire.InvTypeTx, tx.TxHash())
	if err != nil {
		return 0, err
	}
	byWTxID, err := f.invFrame(invTypeWTx, tx.WitnessHash())
	if err != nil {
		return 0, err
	}
	cs := f.reg.list()
	workers := min(runtime.GOMAXPROCS(0), max(len(cs), 1))
	var wg sync.WaitGroup
	var bad atomic.Int64
	for w := range workers {
		share := cs[w*len(cs)/workers : (w+1)*len(cs)/workers]
		wg.Go(func() {
			for _, c := range share {
				frame := byTxID
				if c.wtxid.Load() {
					frame = byWTxID
				}
				if c.write(frame) != nil {
					bad.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return int(bad.Load()), nil
}

// invTypeWTx is BIP 339's MSG_WTX, which btcd's wire/v2 does not name.
const invTypeWTx wire.InvType = 5

// invFrame encodes an inv of one entry, header included.
func (f *floor) invFrame(t wire.InvType, h chainhash.Hash) ([]byte, error) {
	inv := wire.NewMsgInvSizeHint(1)
	if err := inv.AddInvVect(wire.NewInvVect(t, &h)); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := wire.WriteMessageN(&b, inv, wire.ProtocolVersion, wire.BitcoinNet(f.magic)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// rpcRequest and rpcReply are JSON-RPC 1.0/2.0, as far as peerload needs.
type rpcRequest struct {
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
	ID     json.RawMessage   `json:"id"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type rpcReply struct {
	Result any             `json:"result"`
	Error  *rpcError       `json:"error"`
	ID     json.RawMessage `json:"id"`
}

// floorPeer is a getpeerinfo entry.
type floorPeer struct {
	ID      int64  `json:"id"`
	Addr    string `json:"addr"`
	Inbound bool   `json:"inbound"`
}

// ServeHTTP answers one JSON-RPC call (no batches).
func (f *floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req rpcRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<20)).Decode(&req); err != nil {
		http.Error(w, "bad JSON-RPC request: "+err.Error(), http.StatusBadRequest)
		return
	}
	result, rerr := f.call(req)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(rpcReply{Result: result, Error: rerr, ID: req.ID})
}

// Core's error codes for the cases the floor reports.
const (
	errMethodNotFound = -32601
	errInvalidParams  = -32602
	errDeserialize    = -22
)

func (f *floor) call(req rpcRequest) (any, *rpcError) {
	switch req.Method {
	case "getconnectioncount":
		return len(f.reg.list()), nil
	case "getpeerinfo":
		cs := f.reg.list()
		ps := make([]floorPeer, len(cs))
		for i, c := range cs {
			ps[i] = floorPeer{ID: c.id, Addr: c.addr, Inbound: true}
		}
		return ps, nil
	case "sendrawtransaction":
		var s string
		if len(req.Params) < 1 || json.Unmarshal(req.Params[0], &s) != nil {
			return nil, &rpcError{errInvalidParams, "sendrawtransaction takes the transaction in hex"}
		}
		raw, err := hex.DecodeString(s)
		if err != nil {
			return nil, &rpcError{errDeserialize, "TX decode failed: " + err.Error()}
		}
		var tx wire.MsgTx
		if err := tx.Deserialize(bytes.NewReader(raw)); err != nil {
			return nil, &rpcError{errDeserialize, "TX decode failed: " + err.Error()}
		}
		failed, err := f.announce(&tx)
		if err != nil {
			return nil, &rpcError{-1, err.Error()}
		}
		if failed > 0 {
			return nil, &rpcError{-1, fmt.Sprintf("announced, but %d connections failed", failed)}
		}
		return tx.TxHash().String(), nil
	}
	return nil, &rpcError{errMethodNotFound, "method not found (the floor answers sendrawtransaction, getconnectioncount and getpeerinfo)"}
}
