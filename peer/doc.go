// Package peer is the wire peer's state machine: pure, driven by Step. It
// reads no clock, does no I/O and starts no goroutine (internal/archtest
// fails the build's tests if it ever does); package peer/driver runs it on
// a connection.
//
// Every input is an Event (a decoded message, a message that was not
// decoded, a dropped one, a tick, an operator command, transactions to
// relay, an executor's answer, the connection's end), each carrying Now;
// every output is an Action (send a message, disconnect, ready, note,
// report a transaction to the node, run a job on the executor). The
// machine keeps its own deadlines and tells the driver the earliest
// (Deadline).
//
// A connection's life, as the machine sees it:
//  1. EvStart: the connection is up. The machine is in Handshake, where
//     the handshake machine (package handshake) runs as a composed state:
//     outbound, our version goes out; inbound, we wait for theirs.
//  2. The peer's version, then (ours sent) wtxidrelay, sendaddrv2 and
//     verack, as Bitcoin Core does; the handshake ends on their verack, or
//     fails (refused version, timeout), and hands that event back.
//  3. Standby: ActReady; a ping goes out at once and every PingInterval
//     after its pong; pings are answered; transactions handed in with
//     EvRelay are announced (by wtxid or txid, as negotiated) after a
//     Poisson delay (an inbound peer's rounds come from the node's shared
//     Config.InboundTrickle, one per network key, as Core's; an outbound
//     peer draws its own) and served on getdata; a transaction the peer
//     sends is checked in the inner machine standby/validating on the
//     executor.
//     Address gossip (addr.go): an outbound full-relay peer is sent one
//     getaddr; addr and addrv2 pass a per-peer token bucket and go to the
//     node (ActAddrs); an inbound peer's first getaddr is answered with
//     the node's addresses (ActGetAddr, then EvAddrs).
//  4. Disconnected, final: on the connection's end, an operator's or the
//     node's request, a ping or idle timeout, or a protocol violation
//     (a handshake message after verack, BIP 35 mempool or a bloom filter
//     command without NODE_BLOOM). ActDisconnect is the last action.
//
// Events an inner machine does not handle go up to the peer machine (a
// ping is answered in standby/validating without the inner machine knowing
// about pings). Spec declares the states and edges; the diagrams in
// docs/state-machines.md are drawn from it.
package peer
