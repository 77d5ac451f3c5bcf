package rpcserver

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/wire/v2"
)

// TestBtcdRPCClient talks to the server with btcd's rpcclient, a client
// written for bitcoind and btcd, in HTTP POST mode: the independent check
// that peerd speaks bitcoind's dialect.
func TestBtcdRPCClient(t *testing.T) {
	ts := startServer(t, Config{})
	client, err := rpcclient.New(&rpcclient.ConnConfig{
		Host:         ts.Addrs()[0].String(),
		User:         testUser,
		Pass:         testPass,
		HTTPPostMode: true,
		DisableTLS:   true,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Shutdown()

	n, err := client.GetConnectionCount()
	if err != nil || n != 1 {
		t.Errorf("GetConnectionCount = %d, %v", n, err)
	}

	peers, err := client.GetPeerInfo()
	if err != nil {
		t.Fatal(err)
	}
	if len(peers) != 1 {
		t.Fatalf("GetPeerInfo: %d peers", len(peers))
	}
	p := peers[0]
	if p.ID != 7 || p.Addr != "127.0.0.1:18444" || p.Services != "0000000000000409" || p.SubVer != "/btcd:0.24.2/" ||
		p.PingTime != 0.0015 || p.Version != 70016 || p.Inbound || !p.RelayTxes || p.StartingHeight != 101 ||
		p.BytesSent != 100 || p.BytesRecv != 200 || p.ConnTime != 1700000000 {
		t.Errorf("GetPeerInfo: %+v", p)
	}

	info, err := client.GetNetworkInfo()
	if err != nil || info.SubVersion != "/peerd:0.1.0/" || info.Connections != 1 || info.RelayFee != 0.00001 || info.LocalServices != "0000000000000000" {
		t.Errorf("GetNetworkInfo = %+v, %v", info, err)
	}

	// SendRawTransaction first asks getinfo (btcd's) and, on -32601,
	// getnetworkinfo to tell which bitcoind it talks to.
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: 3}, []byte{0x51}, nil))
	tx.AddTxOut(wire.NewTxOut(5000, []byte{0x6a, 0x01, 0x02}))
	hash, err := client.SendRawTransaction(tx, false)
	if err != nil {
		t.Fatalf("SendRawTransaction: %v", err)
	}
	if *hash != tx.TxHash() {
		t.Errorf("SendRawTransaction = %v, want %v", hash, tx.TxHash())
	}
	ts.backend.mu.Lock()
	sent := strings.Join(ts.backend.sent, " ")
	ts.backend.mu.Unlock()
	var buf bytes.Buffer
	if err := tx.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	if sent != hex.EncodeToString(buf.Bytes()) {
		t.Errorf("backend got %s", sent)
	}

	ids, err := client.GetRawMempool()
	if err != nil || len(ids) != 1 || *ids[0] != tx.TxHash() {
		t.Errorf("GetRawMempool = %v, %v", ids, err)
	}
	verbose, err := client.GetRawMempoolVerbose()
	if err != nil {
		t.Fatal(err)
	}
	e, ok := verbose[tx.TxHash().String()]
	if !ok || len(verbose) != 1 || e.Vsize != int32(tx.SerializeSize()) || e.Time != 1700000100 || e.Depends == nil {
		t.Errorf("GetRawMempoolVerbose = %+v", verbose)
	}
	entry, err := client.GetMempoolEntry(tx.TxHash().String())
	if err != nil || entry.WTxId != tx.WitnessHash().String() || entry.VSize != int32(tx.SerializeSize()) || entry.DescendantCount != 1 || entry.Depends == nil {
		t.Errorf("GetMempoolEntry = %+v, %v", entry, err)
	}

	// Errors come back as *btcjson.RPCError with Core's codes.
	_, err = client.GetMempoolEntry(strings.Repeat("00", 32))
	var rerr *btcjson.RPCError
	if !errors.As(err, &rerr) || rerr.Code != btcjson.ErrRPCInvalidAddressOrKey || rerr.Message != "Transaction not in mempool" {
		t.Errorf("GetMempoolEntry of an absent txid: %v", err)
	}
	if _, err := client.GetBlockCount(); !errors.As(err, &rerr) || rerr.Code != btcjson.ErrRPCMethodNotFound.Code {
		t.Errorf("GetBlockCount: %v", err)
	}
	if err := client.AddNode("10.0.0.1:8333", rpcclient.ANAdd); !errors.As(err, &rerr) || rerr.Code != btcjson.ErrRPCClientNodeAlreadyAdded {
		t.Errorf("AddNode of an added node: %v", err)
	}
	if err := client.Ping(); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// TestBtcdRPCClientCookie checks cookie authentication with rpcclient's
// own cookie file reader.
func TestBtcdRPCClientCookie(t *testing.T) {
	ts := startServer(t, Config{CookieDir: t.TempDir()})
	client, err := rpcclient.New(&rpcclient.ConnConfig{
		Host:         ts.Addrs()[0].String(),
		CookiePath:   ts.CookiePath(),
		HTTPPostMode: true,
		DisableTLS:   true,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Shutdown()
	if n, err := client.GetConnectionCount(); err != nil || n != 1 {
		t.Errorf("GetConnectionCount with the cookie = %d, %v", n, err)
	}
}
