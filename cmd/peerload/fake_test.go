package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/rpcserver"
	"github.com/peerd/peerd/internal/rpcserver/coreerr"
	"github.com/peerd/peerd/internal/transport"
	"github.com/peerd/peerd/internal/wireio"
)

// fakePeerd is just enough of peerd for relay mode, in-process: the
// inbound handshake, getconnectioncount, getpeerinfo, sendrawtransaction
// (an inv to every connection in standby at once) and getmempoolentry.
// It can misbehave: announce a transaction twice to one connection, drop
// a connection instead of announcing a transaction to it, and put an
// unknown hash in every inv. With btcd set it plays btcd v0.26 instead,
// where relay mode must tell the difference: no wtxidrelay in the
// handshake, getpeerinfo without peerd's fields and listing a connection
// only once its handshake is done, getmempoolentry unimplemented, and
// (with acceptTx) only known transactions accepted.
type fakePeerd struct {
	t   *testing.T
	p2p net.Listener
	rpc *http.Server
	url string

	mu     sync.Mutex
	conns  []*fakeConn
	sent   map[string][]rpcserver.PropagationEvent // txid -> invs sent
	nTx    int
	dupAt  int // transaction (from 1) announced twice to the first connection; 0: none
	dropAt int // transaction (from 1) at which the last connection is dropped; 0: none
	// noStandby: connections stay in the handshake as far as
	// getpeerinfo tells.
	noStandby bool
	// refuseFrom: connections after the first refuseFrom are closed at
	// once, without a handshake; 0: none.
	refuseFrom int
	// btcd: play btcd (see the type's comment); acceptTx: the txids
	// sendrawtransaction accepts, nil for any.
	btcd     bool
	acceptTx map[string]bool
	wg       sync.WaitGroup
	closing  bool
}

type fakeConn struct {
	id   int
	conn net.Conn
	// t tells a v1 peer from a v2 one, as peerd does; its write half
	// is used under wmu, its read half by serve.
	t       *transport.V2
	wmu     sync.Mutex
	standby bool
	wtxid   bool
	spoke   string // the transport agreed on ("v1", "v2"), under the fake's mu
}

func (c *fakeConn) write(m wire.Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.t.Queue(m, wire.WitnessEncoding); err != nil {
		return err
	}
	return c.t.Flush()
}

// flush writes what the transport's handshake queued.
func (c *fakeConn) flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.t.Flush()
}

func startFake(t *testing.T) *fakePeerd {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakePeerd{t: t, p2p: l, sent: map[string][]rpcserver.PropagationEvent{}}
	f.rpc = &http.Server{Handler: f, ReadHeaderTimeout: 5 * time.Second}
	f.url = rl.Addr().String()
	f.wg.Add(2)
	go func() { defer f.wg.Done(); f.rpc.Serve(rl) }()
	go func() { defer f.wg.Done(); f.accept() }()
	t.Cleanup(f.close)
	return f
}

func (f *fakePeerd) close() {
	f.mu.Lock()
	f.closing = true
	for _, c := range f.conns {
		c.conn.Close()
	}
	f.mu.Unlock()
	f.p2p.Close()
	f.rpc.Close()
	f.wg.Wait()
}

func (f *fakePeerd) accept() {
	for {
		conn, err := f.p2p.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		if f.closing {
			f.mu.Unlock()
			conn.Close()
			return
		}
		if f.refuseFrom > 0 && len(f.conns) >= f.refuseFrom {
			f.mu.Unlock()
			conn.Close()
			continue
		}
		c := &fakeConn{id: len(f.conns), conn: conn, t: transport.NewDetect(conn, wire.TestNet)}
		f.conns = append(f.conns, c)
		f.wg.Add(1)
		f.mu.Unlock()
		go func() { defer f.wg.Done(); f.serve(c) }()
	}
}

// serve runs the transport's handshake (v1 or v2, whichever the peer
// opens with), answers the version handshake as peerd does (version,
// wtxidrelay, sendaddrv2, verack), pings once in standby, and reads until
// the end.
func (f *fakePeerd) serve(c *fakeConn) {
	defer c.conn.Close()
	for {
		msg, err := c.t.Next()
		if err != nil {
			var soft *wireio.SoftError
			if errors.As(err, &soft) {
				continue
			}
			return
		}
		switch m := msg.(type) {
		case *transport.Handshake:
			if c.flush() != nil {
				return
			}
			if m.Ready {
				f.mu.Lock()
				c.spoke = c.t.Name()
				f.mu.Unlock()
			}
		case *wire.MsgVersion:
			v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, 1, 0)
			v.UserAgent = "/fakepeerd:0/"
			reply := []wire.Message{v, wire.NewMsgWTxIdRelay(), wire.NewMsgSendAddrV2(), wire.NewMsgVerAck()}
			f.mu.Lock()
			if f.btcd {
				v.UserAgent = "/fakebtcd:0/"
				reply = []wire.Message{v, wire.NewMsgSendAddrV2(), wire.NewMsgVerAck()}
			}
			f.mu.Unlock()
			for _, m := range reply {
				if c.write(m) != nil {
					return
				}
			}
		case *wire.MsgWTxIdRelay:
			f.mu.Lock()
			c.wtxid = !f.btcd // btcd skips it, and announces by txid
			f.mu.Unlock()
		case *wire.MsgVerAck:
			f.mu.Lock()
			c.standby = !f.noStandby
			f.mu.Unlock()
			if c.write(wire.NewMsgPing(42)) != nil {
				return
			}
		}
	}
}

func (f *fakePeerd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if u, p, ok := r.BasicAuth(); !ok || u != "u" || p != "p" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params []string        `json:"params"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	result, rerr := f.call(req.Method, req.Params)
	reply := map[string]any{"jsonrpc": "2.0", "id": req.ID}
	if rerr != nil {
		reply["error"] = rerr
	} else {
		reply["result"] = result
	}
	json.NewEncoder(w).Encode(reply)
}

func (f *fakePeerd) call(method string, params []string) (any, *rpcserver.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch method {
	case "getconnectioncount":
		return len(f.conns), nil
	case "getpeerinfo":
		if f.btcd {
			// btcd's entries: no state, no wtxidrelay; only peers
			// whose handshake is done.
			ps := []map[string]any{}
			for _, c := range f.conns {
				if c.standby {
					ps = append(ps, map[string]any{"id": c.id, "addr": c.conn.RemoteAddr().String(), "inbound": true})
				}
			}
			return ps, nil
		}
		ps := []rpcserver.PeerInfo{}
		for _, c := range f.conns {
			state := "handshake/awaitverack"
			if c.standby {
				state = "standby"
			}
			ps = append(ps, rpcserver.PeerInfo{ID: int64(c.id), Addr: c.conn.RemoteAddr().String(), Inbound: true, State: state, WTxIDRelay: c.wtxid})
		}
		return ps, nil
	case "sendrawtransaction":
		raw, err := hex.DecodeString(params[0])
		var tx wire.MsgTx
		if err != nil || tx.Deserialize(bytes.NewReader(raw)) != nil {
			return nil, coreerr.TxDecodeFailed()
		}
		txid := tx.TxHash().String()
		if f.acceptTx != nil && !f.acceptTx[txid] {
			return nil, &rpcserver.Error{Code: -25, Message: "TX rejected: orphan transaction " + txid}
		}
		f.nTx++
		for i, c := range f.conns {
			if f.nTx >= f.dropAt && f.dropAt > 0 && i == len(f.conns)-1 {
				c.conn.Close()
				continue
			}
			h, typ := tx.TxHash(), wire.InvTypeTx
			if c.wtxid {
				h, typ = tx.WitnessHash(), invTypeWTx
			}
			inv := wire.NewMsgInv()
			inv.AddInvVect(wire.NewInvVect(typ, &h))
			// An unknown hash in the same message: counted as unexpected.
			inv.AddInvVect(wire.NewInvVect(typ, &chainhash.Hash{1}))
			c.write(inv)
			if f.nTx == f.dupAt && i == 0 {
				c.write(inv)
			}
			f.sent[txid] = append(f.sent[txid], rpcserver.PropagationEvent{ID: int64(c.id), Time: rpcserver.UnixSeconds(time.Now())})
		}
		return txid, nil
	case "getmempoolentry":
		if f.btcd {
			return nil, &rpcserver.Error{Code: -1, Message: "Command unimplemented"}
		}
		return rpcserver.MempoolEntry{Propagation: rpcserver.Propagation{InvSent: f.sent[params[0]]}}, nil
	}
	return nil, &rpcserver.Error{Code: -32601, Message: "Method not found"}
}

// TestRelayAgainstFake runs relay mode against the in-process fake: 4
// connections, 3 transactions; the fake announces the second one twice to
// one connection, drops another connection at the third, and adds an
// unknown hash to each of its 12 invs. No binary needed.
func TestRelayAgainstFake(t *testing.T) {
	f := startFake(t)
	f.mu.Lock()
	f.dupAt, f.dropAt = 2, 3
	f.mu.Unlock()
	args := []string{"--regtest", "--target=" + f.p2p.Addr().String(), "--rpcserver=" + f.url,
		"--rpcuser=u", "--rpcpass=p", "--peers=4", "-q", "--json",
		"relay", "--txs=3", "--gap=0s", "--linger=200ms", "--txtimeout=20s", "--seed=5"}
	var stdout, stderr bytes.Buffer
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if code := run(ctx, args, &stdout, &stderr, t.TempDir()); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the run took %v: it waited for the dropped connection", d)
	}
	var r relayResult
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if r.Pairs != 12 || r.Delivered != 11 || r.ListenersAll != 3 || r.TxsAll != 2 || r.Duplicates != 1 ||
		r.Unexpected != 12 || r.Dropped != 1 || r.WrongType != 0 || r.PingsAnswered != 4 || r.Seed != 5 {
		t.Errorf("result: %+v", r)
	}
	if r.ReadyBy != "standby" || r.TargetAgent != "/fakepeerd:0/" || r.TxFile != "" {
		t.Errorf("ready by %q, agent %q, txfile %q", r.ReadyBy, r.TargetAgent, r.TxFile)
	}
	if len(r.DropErrors) != 1 || !strings.Contains(r.DropErrors[0], "closed") {
		t.Errorf("drop errors: %q", r.DropErrors)
	}
	if r.PeerdInv == nil || r.PeerdInv.N != 11 {
		t.Errorf("peerd's records: %+v, want 11", r.PeerdInv)
	}
	if r.PerTx[2].Received != 3 || r.PerTx[2].TimedOut {
		t.Errorf("the third transaction: %+v; want 3 received, no time-out", r.PerTx[2])
	}
}

// TestStandbyTimeout: when peerd never reports the connections in standby,
// the run fails and says what peerd reported.
func TestStandbyTimeout(t *testing.T) {
	f := startFake(t)
	f.mu.Lock()
	f.noStandby = true
	f.mu.Unlock()
	args := []string{"--regtest", "--target=" + f.p2p.Addr().String(), "--rpcserver=" + f.url,
		"--rpcuser=u", "--rpcpass=p", "--peers=2", "-q", "--standbytimeout=300ms", "relay", "--txs=1"}
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := run(ctx, args, &stdout, &stderr, t.TempDir())
	if code != exitError || !strings.Contains(stderr.String(), "0 of our 2 connections in standby") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
}
