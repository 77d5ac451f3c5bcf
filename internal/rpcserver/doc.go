// Package rpcserver is peerd's JSON-RPC server: the operator's interface,
// spoken over HTTP the way Bitcoin Core's bitcoind speaks it, so that tools
// written for bitcoind (bitcoin-cli, btcd's rpcclient, scripts with curl)
// work against peerd for the methods it has.
//
// # Methods
//
// Core's methods, with Core's parameter names, result shapes and error
// codes: sendrawtransaction, getrawmempool, getmempoolentry,
// getmempoolinfo, getpeerinfo, getconnectioncount, getnettotals, getnetworkinfo,
// getnodeaddresses, getaddrmaninfo, addnode, disconnectnode, setban,
// listbanned, clearbanned, ping, uptime, stop and help; Core 31's
// getprivatebroadcastinfo and abortprivatebroadcast (-32601 when peerd runs
// without --privatebroadcast, as Core); on regtest and simnet only, Core's
// hidden test method addpeeraddress (help does not list it; elsewhere it is
// "Method not found"). peerd's own: disconnectall, and peerd's own fields
// in some of Core's results (getmempoolentry's "propagation", the record of
// each private broadcast connection). Parameters may be positional (a JSON array) or named (a
// JSON object, with Core's "args" member for leading positional ones).
// Parameter errors are Core's: a wrong number of parameters is -1 with the
// method's help as the message, a wrong JSON type is -3 ("Wrong type
// passed"), an unknown or repeated named parameter is -8.
//
// # Protocol
//
// As Core 28 (src/httprpc.cpp, src/rpc/request.cpp):
//
//   - A request without "jsonrpc", or with "jsonrpc":"1.0", is legacy
//     JSON-RPC 1.0: the reply always has "result", "error" and "id", one of
//     the first two null, and an error is also an HTTP status: 404 for
//     -32601 (method not found), 400 for -32600 (invalid request), 500 for
//     any other code.
//   - "jsonrpc":"2.0" is JSON-RPC 2.0: the reply has "jsonrpc":"2.0" and
//     either "result" or "error", with HTTP 200 even for an error; a request
//     without "id" is a notification, run but not answered (HTTP 204).
//     Envelope errors (invalid request) are still HTTP 400.
//   - A batch (JSON array) is answered with an array, HTTP 200, whatever
//     its members' outcomes; notifications in it get no member, and a
//     batch of notifications only is answered with HTTP 204.
//   - Malformed JSON is -32700 "Parse error" with HTTP 500.
//
// Where peerd differs from Core, on purpose: an empty batch is a -32600
// error (JSON-RPC 2.0's rule; Core answers []), a top-level JSON value that
// is neither object nor array is -32600 (Core: -32700), a legacy reply to a
// request without "id" has "id":null (Core leaves "id" out), and an invalid
// request in a batch is answered even without an "id".
//
// # Security and limits
//
// Every request needs HTTP basic authentication: the configured user and
// password, or, when none are configured, the credentials of a random
// cookie file written at start as bitcoind does (<CookieDir>/.cookie, mode
// 0600, "__cookie__:" and 64 hex digits, removed by Close). Credentials are
// compared in constant time over SHA-256 digests, so neither their content
// nor their length leaks through timing; a failed attempt waits 250 ms
// before its 401, as in Core. Beyond Core, failures are limited per client
// address (an IPv4 address, an IPv6 /64): the 5th failure within a minute
// locks the address out for a minute, during which every request from it
// that carries credentials, right or wrong, is answered 429 at once, with
// Retry-After, so that a guesser learns nothing; other addresses are not
// affected, and a success changes no count. At most 1,024 addresses are
// tracked, the least recently failed forgotten first. Only POST to "/" is
// served (other paths 404, other methods 405). The body of a request
// without the right credentials is never read. Headers are limited to 8 KB
// (431), bodies (8 MiB by default, which holds a 4 MB transaction in hex;
// more is 413), batches (1000 requests; a longer batch is refused before
// any member runs), JSON nesting to 32 levels (checked before anything is
// decoded), requests in flight (more are 503, as Core's work queue); the
// request is taken apart without copies, so a body of a million members
// costs the memory of the body; and the HTTP server has header, read,
// write and idle timeouts.
//
// # The node
//
// The server reaches the node only through [Backend] (node.Admin, in
// the node's own types), calling it on the HTTP request's goroutine; the
// node keeps those calls short. The server adapts the node's values to
// Core's JSON shapes (adapt.go, the only place that builds them) and its
// refusals to Core's codes and messages (package coreerr).
package rpcserver
