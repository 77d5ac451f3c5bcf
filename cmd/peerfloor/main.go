// Command peerfloor is the floor of the handshake benchmarks: the cheapest
// server that still looks like a Bitcoin node to a client that connects
// and handshakes. It does nothing else, so what it costs per handshake and
// per idle connection is what the kernel, Go's runtime and one goroutine
// per connection cost; a real node (peerd, btcd) can be measured against
// it (scripts/bench-compare.sh, docs/benchmarks.md).
//
//	peerfloor --regtest --listen=127.0.0.1:18444
//
// On each connection it
//
//  1. waits for a whole version message (a 24-byte header, then as many
//     payload bytes as the header announces; the payload is not decoded
//     and the checksum not checked);
//  2. replies with version, wtxidrelay, sendaddrv2 and verack in one
//     write: bytes encoded once at start (btcd's wire/v2), the same for
//     every connection (the same nonce, zero addresses, start height 0);
//  3. from then on reads and discards whatever arrives, except that it
//     answers a ping with a pong carrying its nonce (a client that pings to
//     keep an idle connection alive, as peerload hold does not but nodes
//     do, stays connected; a ping costs the floor one write).
//
// With --rpclisten it also relays: sendrawtransaction announces the
// transaction to every connection at once (see relay.go), the floor of
// relay fan-out latency.
//
// It closes a connection on a wrong network magic or a header that
// announces more than 4,000,000 bytes, and when the client closes. It sends
// no ping, has no timeouts, no connection limit and no TCP keep-alive, keeps no state but a
// 512-byte buffer and a few counters per connection, and does not check
// that the client's protocol version is recent enough for wtxidrelay and
// sendaddrv2 (every client it is meant for is). One goroutine per
// connection, as peerd has: the per-peer memory of that design without
// anything of a node in it.
//
// Exit status: 0 when stopped by SIGINT or SIGTERM (or for --help,
// --version), 1 when it cannot listen, 2 for a bad command line.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
