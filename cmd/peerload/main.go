// Command peerload puts load on a running peerd and measures how it copes.
// It opens many inbound connections to peerd, completes the real handshake
// on each (version, wtxidrelay, sendaddrv2, verack; pings are answered) and
// then runs one mode:
//
//	peerload [OPTIONS] relay [--txs=K] ...
//
// relay waits until peerd reports every connection in standby (over
// JSON-RPC: getconnectioncount, then getpeerinfo), injects K distinct
// segwit transactions one at a time with sendrawtransaction, and measures,
// for every (transaction, listener) pair, the time from the moment the RPC
// call was issued (and, separately, from the moment it returned) to the
// moment the listener read the inv that announces it. It reports p50, p99
// and max over all pairs, how many listeners got every transaction, how
// many invs were duplicates, and the RPC call latency (which includes
// peerd's fsync of its mempool log). --json prints the same as JSON.
//
// The options before the mode are shared by every mode: the connections
// (--target, --peers, --wtxid), how to reach peerd's RPC server, the
// network and the output. Modes to come (handshake: connection and
// handshake rate; hold: keep N connections open for a while) add their own
// options after their name, as relay does.
//
// Exit status: 0 when the run completed (whatever the numbers), 1 when it
// could not (peerd unreachable, connections refused, an RPC error), 2 for
// a bad command line.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/btcsuite/btcd/btcutil/v2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, btcutil.AppDataDir("peerd", false))
	stop()
	os.Exit(code)
}
