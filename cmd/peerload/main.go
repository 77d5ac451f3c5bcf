// Command peerload puts load on a running node and measures how it copes.
// It opens many inbound connections to the node over TCP, completes the
// real handshake on each (version, wtxidrelay, sendaddrv2, verack; pings
// are answered) and runs one of three modes (fund prepares relay against
// btcd):
//
//	peerload [OPTIONS] handshake [--workers=C] [--count=N] [--duration=D] [--pid=PID]
//	peerload [OPTIONS] hold [--hold=D] [--settle=D] [--pid=PID]
//	peerload [OPTIONS] relay [--txs=K] [--txfile=FILE] ...
//	peerload [OPTIONS] fund [--txs=K] [--out=FILE] [--address]
//
// handshake runs C workers, each of which connects, handshakes, closes
// (with a reset: see closeConn) and starts again, until N handshakes or D.
// It reports handshakes per second, the latency from the start of the dial
// to the target's verack (p50, p99, max), failures, and, given the
// target's process id, its CPU time per handshake (from /proc, read before
// the first dial and --settle after the last handshake).
//
// hold opens --peers connections, keeps them for --hold answering pings,
// and, given the target's process id, reads its resident memory (VmRSS)
// before the first connection, when all are open, after --settle, and at
// the end: (settled - before) / connections held is the target's memory
// per held peer. A connection that cannot be opened is counted and the
// others go on (up to --maxfailures).
//
// relay waits until the target reports every connection ready (over
// JSON-RPC: getconnectioncount, then getpeerinfo: peerd reports each
// peer's state, and ready is standby; btcd reports none, and lists a peer
// only once its handshake is done), injects K distinct transactions one at
// a time with sendrawtransaction, and measures, for every (transaction,
// listener) pair, the time from the moment the RPC call was issued (and,
// separately, from the moment it returned) to the moment the listener read
// the inv that announces it. It reports p50, p99
// and max over all pairs, how many listeners got every transaction, how
// many invs were duplicates, and the RPC call latency (which includes
// peerd's fsync of its mempool log). --json prints the same as JSON. The
// transactions are made up (segwit, inputs that exist nowhere), which
// peerd accepts, as it checks no inputs; a node that does (btcd) needs
// real ones: --txfile, from fund. btcd v0.26 does not implement
// wtxidrelay (BIP 339) and announces by txid: relay against it needs
// --wtxid=false (relay fails, saying so, when the target did not send
// wtxidrelay and --wtxid is on). peerd's own record of when it sent each
// inv (getmempoolentry) is read when the target keeps one.
//
// fund prepares relay against btcd in regtest: over btcd's RPC it mines
// (generate) until the coinbases of blocks 1 to K are mature, and writes a
// signed spend of each (internal/regtestfund), hex, one a line. btcd must
// mine to the address fund --address prints (--miningaddr).
//
// handshake and hold need nothing but the P2P port, so they work against
// any node (peerd, btcd, cmd/peerfloor); relay and fund talk to the node's
// RPC server and need its credentials (peerd's cookie file, or --rpcuser
// and --rpcpass). The options before the mode are shared by every mode:
// the connections (--target, --peers, --dialers, --wtxid), how to reach
// the node's RPC server, the network and the output. Against a
// loopback target the connections come from addresses spread over
// 127.x.y.z, consecutive ones from different /24s, because peerd and btcd
// v0.26 allow only 8 unfinished handshakes per source /24.
//
// Exit status: 0 when the run completed (whatever the numbers), 1 when it
// could not (target unreachable, no handshake completed, an RPC error), 2
// for a bad command line.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/peerd/peerd/internal/appdir"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, appdir.Dir())
	stop()
	os.Exit(code)
}
