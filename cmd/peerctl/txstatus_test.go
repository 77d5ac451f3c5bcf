package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/peerd/peerd/mempool"
	"github.com/peerd/peerd/node"
)

// at is the fake mempool entry's acceptance time plus ms milliseconds.
func at(ms int) time.Time { return time.Unix(1700000000, 0).Add(time.Duration(ms) * time.Millisecond) }

// peers returns n peer events from id first, ms milliseconds after the
// entry's acceptance and 100 ms apart.
func peers(n int, first uint64, ms int) []mempool.PeerEvent {
	var out []mempool.PeerEvent
	for i := range n {
		id := first + uint64(i)
		out = append(out, mempool.PeerEvent{Peer: mempool.PeerRef{ID: id, Addr: fmt.Sprintf("192.0.2.%d:8333", id)}, At: at(ms + 100*i)})
	}
	return out
}

func receipt(addr string, ms int) mempool.Attempt {
	return mempool.Attempt{Addr: addr, Transport: "v1", Opened: at(0), Announced: at(ms - 200), GetData: at(ms - 100),
		Sent: at(ms - 100), Received: at(ms), Ended: at(ms), Outcome: "receipt"}
}

// TestTxStatus runs `peerctl txstatus` against peerd's RPC server over a
// fake node, for ordinary relay and for each state of a private
// broadcast, with private broadcast on and off.
func TestTxStatus(t *testing.T) {
	flags, fake := userPass(t)
	app := t.TempDir()
	rejected := mempool.Attempt{Addr: "198.51.100.2:8333", Opened: at(0), Announced: at(800), GetData: at(900), Sent: at(900),
		Reject: "16: bad-txns-inputs-missingorspent", Ended: at(1000), Outcome: "rejected"}
	open := mempool.Attempt{Addr: "203.0.113.3:8333", Opened: at(0)}
	failed := mempool.Attempt{Addr: "203.0.113.4:8333", Opened: at(0), Ended: at(180000), Outcome: "dial failed: proxy refused"}
	three := []mempool.Attempt{receipt("203.0.113.1:8333", 700), receipt("203.0.113.2:8333", 800), receipt("203.0.113.5:8333", 900)}
	private := func(state string, confirmedMS int, attempts []mempool.Attempt, echoes []mempool.PeerEvent, left int) []node.PrivateBroadcastTx {
		tx := node.PrivateBroadcastTx{TxID: txHash(), WTxID: txHash(), State: state, Added: at(0),
			Attempts: attempts, Echoes: echoes, AttemptsRemaining: left}
		if confirmedMS > 0 {
			tx.Confirmed = at(confirmedMS)
		}
		return []node.PrivateBroadcastTx{tx}
	}
	for _, c := range []struct {
		name      string
		prop      mempool.Propagation
		privateOn bool
		private   []node.PrivateBroadcastTx
		want      string
	}{
		{
			name: "ordinary, echoed",
			prop: mempool.Propagation{InvSent: peers(8, 1, 2000), Fetched: peers(5, 1, 2100), SeenFrom: peers(2, 20, 900)},
			want: "announced to 8 peers, fetched by 5, announced back by 2 (first after 0.9 s): accepted, other nodes relay it\n",
		},
		{
			name:      "ordinary, private broadcast on",
			prop:      mempool.Propagation{InvSent: peers(1, 1, 2000), Fetched: peers(1, 1, 2100)},
			privateOn: true,
			want: "announced to 1 peer, fetched by 1, announced back by none yet: NOT shown accepted by any peer " +
				"(peers fetch a transaction before they check it, and drop an invalid one without a word; " +
				"only a peer announcing it back shows it accepted it)\n",
		},
		{
			name: "ordinary, fetched by none",
			prop: mempool.Propagation{InvSent: peers(8, 1, 2000)},
			want: "announced to 8 peers, fetched by none: no peer took it from peerd (a peer that refuses it never asks for it)\n",
		},
		{
			name: "ordinary, not announced yet",
			want: "not announced to any peer yet\n",
		},
		{
			name: "ordinary, announced to peerd before it announced",
			prop: mempool.Propagation{SeenFrom: peers(1, 20, 12000)},
			want: "not announced to any peer yet, but announced to peerd by 1 peer (first after 12 s)\n",
		},
		{
			name:      "private, confirmed, then relayed",
			prop:      mempool.Propagation{InvSent: peers(6, 1, 4000), SeenFrom: peers(4, 20, 1800), Attempts: three, Confirmed: at(1800)},
			privateOn: true,
			private:   private("confirmed", 1800, three, peers(4, 20, 1800), 997),
			want: "confirmed by 4 peers in 1.8 s; 3 broadcast connections via the proxy (3 receipts)\n" +
				"since then in ordinary relay: announced to 6 peers, fetched by none\n",
		},
		{
			name:      "private, pending, one rejected",
			prop:      mempool.Propagation{Attempts: []mempool.Attempt{three[0], rejected, open}},
			privateOn: true,
			private:   private("pending", 0, []mempool.Attempt{three[0], rejected, open}, nil, 997),
			want: "private broadcast pending: 3 broadcast connections via the proxy (1 receipt, 1 rejected, 1 open); " +
				"no peer has announced it back yet (997 attempts left)\n" +
				"rejected by 198.51.100.2:8333: 16: bad-txns-inputs-missingorspent\n",
		},
		{
			name:      "private, gave up",
			prop:      mempool.Propagation{Attempts: []mempool.Attempt{failed, three[0]}},
			privateOn: true,
			private:   private("gave up", 0, []mempool.Attempt{failed, three[0]}, nil, 0),
			want: "private broadcast gave up: 2 broadcast connections via the proxy (1 receipt, 1 failed), and no peer announced it back; " +
				"abortprivatebroadcast removes it, sendrawtransaction starts again\n",
		},
		{
			// peerd restarted without --privatebroadcast: the record in
			// getmempoolentry still tells.
			name: "private record, private broadcast now off",
			prop: mempool.Propagation{SeenFrom: peers(2, 20, 1500), Attempts: three[:2], Confirmed: at(1500)},
			want: "confirmed by 2 peers in 1.5 s; 2 broadcast connections via the proxy (2 receipts)\n",
		},
	} {
		fake.mu.Lock()
		fake.prop, fake.privateOn, fake.private = c.prop, c.privateOn, c.private
		fake.mu.Unlock()
		code, stdout, stderr := peerctl(t, app, "", append(flags, "txstatus", txid)...)
		if code != 0 || stdout != c.want || stderr != "" {
			t.Errorf("%s: exit %d\n%s%s\nwant\n%s", c.name, code, stdout, stderr, c.want)
		}
		if fake.last() != "getprivatebroadcastinfo" {
			t.Errorf("%s: the last call was %q", c.name, fake.last())
		}
	}

	// Not in the mempool: peerd's error, as any call's.
	absent := strings.Repeat("1", 64)
	code, stdout, stderr := peerctl(t, app, "", append(flags, "txstatus", absent)...)
	if code != 1 || stdout != "" || stderr != "error code: -5\nerror message:\nTransaction not in mempool\n" {
		t.Errorf("txstatus of an absent txid: %d %q %q", code, stdout, stderr)
	}
	for _, args := range [][]string{{"txstatus"}, {"txstatus", txid, "extra"}} {
		code, _, stderr := peerctl(t, app, "", append(flags, args...)...)
		if code != 2 || !strings.Contains(stderr, "usage: peerctl [OPTIONS] txstatus TXID") {
			t.Errorf("%v: %d %q", args, code, stderr)
		}
	}
}
