// Command peerctl is the operator's client for peerd: it sends one
// JSON-RPC request to peerd's RPC server and prints the reply, as
// bitcoin-cli does for bitcoind.
//
//	peerctl [OPTIONS] METHOD [PARAMS...]
//
// Options come before the method; everything after it is a parameter.
// A parameter that parses as a JSON number, boolean, object, array or null
// is sent as that value, anything else as a string; the parameters that
// peerd's methods take as strings (a transaction's hex, a txid, a node's
// address, ...) are always sent as strings. With --named, name=value
// parameters are sent by name. With --stdin, more parameters are read from
// standard input, one a line: for transactions too long for a command line.
//
// Two commands are peerctl's own, not methods of peerd's:
//
//	peerctl [OPTIONS] txstatus TXID
//
// prints in a line or three how far one of peerd's transactions got, from
// getmempoolentry and, when peerd runs with --privatebroadcast,
// getprivatebroadcastinfo: "confirmed by 4 peers in 1.8 s; 3 broadcast
// connections via the proxy (3 receipts)" for a private broadcast,
// "announced to 8 peers, fetched by 5, announced back by 2 (first after
// 0.9 s): accepted, other nodes relay it" for ordinary relay (and "NOT
// shown accepted by any peer" when peers fetched it but none announced it
// back), and a line for each peer that rejected it.
//
//	peerctl [OPTIONS] netinfo [LEVEL|help]
//
// is bitcoin-cli's -netinfo dashboard for peerd, from getpeerinfo,
// getnetworkinfo and getnettotals: the traffic and the peer counts by
// network and connection type, then at levels 1 to 4 a table of the peers
// (direction, type, transport, state path, ping, last send and receive,
// age, id; the address at 2, the version at 3, both and more at 4).
// Levels 0 to 3 fit in 80 columns. `peerctl netinfo help` explains the
// columns.
//
// Output: a string result is printed as it is, null prints nothing, other
// results are printed as indented JSON. Exit status:
//
//	0: the call succeeded (and --help, --version)
//	1: peerd answered with an error (printed as bitcoin-cli prints it), or
//	   could not be reached, or refused the credentials
//	2: bad command line
package main

import (
	"io"
	"os"

	"github.com/peerd/peerd/internal/appdir"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs peerctl with the command line args and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	c := cli{
		stdin:  os.Stdin,
		stdout: stdout,
		stderr: stderr,
		appDir: appdir.Dir(),
	}
	return c.run(args)
}
