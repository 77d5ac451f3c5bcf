package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/btcdtest"
)

// rawCall makes one JSON-RPC call with the cookie peerd wrote.
func (p *peerd) rawCall(method string, params ...any) (json.RawMessage, error) {
	cookie, err := os.ReadFile(filepath.Join(p.datadir, "regtest", ".cookie"))
	if err != nil {
		return nil, err
	}
	user, pass, _ := strings.Cut(strings.TrimSpace(string(cookie)), ":")
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	req, _ := http.NewRequest("POST", "http://"+p.rpc+"/", bytes.NewReader(body))
	req.SetBasicAuth(user, pass)
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Result json.RawMessage
		Error  *struct{ Message string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Error != nil {
		return nil, fmt.Errorf("%s", r.Error.Message)
	}
	return r.Result, nil
}

// TestKill9DuringStream kills peerd with SIGKILL at a random moment during
// a stream of sendrawtransaction calls, 20 times, restarting it on the same
// data directory each time: every transaction whose call returned success
// is in the mempool afterwards, and the mempool file always loads.
func TestKill9DuringStream(t *testing.T) {
	if testing.Short() {
		t.Skip("starts peerd 21 times")
	}
	rounds := 20
	datadir := t.TempDir()
	var accepted []string
	seq := uint32(0)
	for round := range rounds {
		p := startPeerd(t, datadir)
		var mu sync.Mutex
		var ok []string
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				seq++
				tx := wire.NewMsgTx(2)
				tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: seq, Hash: [32]byte{byte(round), 7}}, []byte{0x51}, nil))
				tx.AddTxOut(wire.NewTxOut(int64(1000+seq), []byte{0x51}))
				res, err := p.rawCall("sendrawtransaction", btcdtest.TxHex(tx))
				if err != nil {
					continue // killed mid-call: the caller never heard "accepted"
				}
				var txid string
				if json.Unmarshal(res, &txid) == nil {
					mu.Lock()
					ok = append(ok, txid)
					mu.Unlock()
				}
			}
		}()
		time.Sleep(time.Duration(20+rand.IntN(200)) * time.Millisecond)
		p.kill()
		close(stop)
		<-done
		mu.Lock()
		accepted = append(accepted, ok...)
		mu.Unlock()
	}
	p := startPeerd(t, datadir)
	res, err := p.rawCall("getrawmempool")
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	if err := json.Unmarshal(res, &have); err != nil {
		t.Fatal(err)
	}
	in := map[string]bool{}
	for _, id := range have {
		in[id] = true
	}
	lost := 0
	for _, id := range accepted {
		if !in[id] {
			lost++
		}
	}
	t.Logf("%d rounds, %d transactions accepted before the kills, %d in the mempool after", rounds, len(accepted), len(have))
	if len(accepted) == 0 {
		t.Fatal("no transaction was accepted: the test proved nothing")
	}
	if lost > 0 {
		t.Fatalf("%d of %d accepted transactions were lost", lost, len(accepted))
	}
}
