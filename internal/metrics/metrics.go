// Package metrics serves the node's metrics in Prometheus's text format
// (--metrics), with github.com/prometheus/client_golang.
//
// One Collector reads the node at scrape time: the peers' states,
// directions, transports and connection types from a pass over the peer
// table (driver.Peer.Brief: a lock and three words per peer), the
// mempool's size, and the counters and histograms that the peer driver,
// the node and the mempool keep with atomics where things happen
// (node.Stats, internal/stats). Nothing is updated on a peer's hot path
// but those atomics, and nothing in the node knows of Prometheus.
//
// Every label has a bounded set of values: states from the machines'
// Specs, the two directions, three transports, Core's connection types,
// the commands of wireio's table (others as "other"), node.ReasonLabels
// and privbcast's outcomes. There are no per-peer labels. The metrics are
// listed in docs/operations.md ("Metrics").
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerd/peerd/internal/fsm"
	"github.com/peerd/peerd/internal/stats"
	"github.com/peerd/peerd/internal/wireio"
	"github.com/peerd/peerd/node"
	"github.com/peerd/peerd/node/privbcast"
	"github.com/peerd/peerd/peer"
)

// Collector is the node's prometheus.Collector.
type Collector struct {
	n *node.Node

	states   []string       // every state path of peer.Spec
	stateIdx map[string]int // state path -> index in states

	peers, byState, byDir, byTransport, byConn *prometheus.Desc

	hsDone, hsFailed, disconnects, discouraged, bans, banned *prometheus.Desc

	bytesSent, bytesRecv, msgsSent, msgsRecv, netSent, netRecv *prometheus.Desc
	pingRTT                                                    *prometheus.Desc

	poolTxs, poolBytes, poolSync *prometheus.Desc

	announced, served, firstFetch, firstEcho, privAttempts *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// Transports are the values of the transport label.
var Transports = []string{"v1", "v2", "detecting"}

// NewCollector returns the collector of n's metrics.
func NewCollector(n *node.Node) *Collector {
	c := &Collector{n: n, states: StatePaths(peer.Spec, "")}
	c.stateIdx = make(map[string]int, len(c.states))
	for i, s := range c.states {
		c.stateIdx[s] = i
	}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("peerd_"+name, help, labels, nil)
	}
	c.peers = d("peers", "Connected peers (every connection, whatever its state).")
	c.byState = d("peers_by_state", "Connected peers by the state path of their state machine (docs/state-machines.md), e.g. standby/validating.", "state")
	c.byDir = d("peers_by_direction", "Connected peers by who dialed: inbound or outbound.", "direction")
	c.byTransport = d("peers_by_transport", "Connected peers by transport protocol: v1, v2 (BIP 324), or detecting (inbound, not known yet).", "transport")
	c.byConn = d("peers_by_connection_type", "Connected peers by connection type, as Bitcoin Core's getpeerinfo names it.", "connection_type")

	c.hsDone = d("handshakes_completed_total", "Connections whose version handshake completed.")
	c.hsFailed = d("handshakes_failed_total", "Connections that ended before their handshake completed, by why they ended.", "reason")
	c.disconnects = d("disconnects_total", "Connections that ended, by why they ended.", "reason")
	c.discouraged = d("discouragements_total", "Peers discouraged for misbehaviour (a message over Core's limits).")
	c.bans = d("bans_total", "Bans the operator added (setban add).")
	c.banned = d("banned_subnets", "Bans in force (listbanned).")

	c.bytesSent = d("bytes_sent_total", "Bytes of messages sent, header included, by command (commands peerd does not know: other).", "command")
	c.bytesRecv = d("bytes_received_total", "Bytes of messages received, header included, by command (commands peerd does not know: other).", "command")
	c.msgsSent = d("messages_sent_total", "Messages sent, by command.", "command")
	c.msgsRecv = d("messages_received_total", "Messages received, by command (commands peerd does not know: other).", "command")
	c.netSent = d("network_bytes_sent_total", "Bytes written to every connection since the node started, transport handshakes included (getnettotals' totalbytessent).")
	c.netRecv = d("network_bytes_received_total", "Bytes read from every connection since the node started (getnettotals' totalbytesrecv).")
	c.pingRTT = d("ping_rtt_seconds", "Round trip of each ping answered by its pong.")

	c.poolTxs = d("mempool_transactions", "Transactions in the mempool.")
	c.poolBytes = d("mempool_bytes", "Serialized size of the transactions in the mempool.")
	c.poolSync = d("mempool_log_fsync_seconds", "Time each fsync of the mempool's log took (a transaction is accepted after it).")

	c.announced = d("relay_announcements_total", "Transactions announced to peers (inv), one per transaction per peer.")
	c.served = d("relay_getdata_served_total", "Transactions peers fetched from us with getdata.")
	c.firstFetch = d("relay_first_getdata_seconds", "Per transaction: time from its acceptance into the mempool to the first peer's getdata for it.")
	c.firstEcho = d("relay_first_echo_seconds", "Per transaction: time from its acceptance into the mempool to the first announcement of it by a peer that did not fetch it from us.")
	c.privAttempts = d("private_broadcast_attempts_total", "Private broadcast connections that ended, by outcome: receipt, failed, rejected.", "outcome")
	return c
}

// StatePaths lists every state path of spec under prefix: each state, and
// for a composed state each of its inner machine's paths.
func StatePaths(spec *fsm.Spec, prefix string) []string {
	var out []string
	for _, s := range spec.States {
		p := string(s)
		if prefix != "" {
			p = prefix + "/" + p
		}
		out = append(out, p)
		if in := spec.Inner[s]; in != nil {
			out = append(out, StatePaths(in, p)...)
		}
	}
	return out
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.peers, c.byState, c.byDir, c.byTransport, c.byConn,
		c.hsDone, c.hsFailed, c.disconnects, c.discouraged, c.bans, c.banned,
		c.bytesSent, c.bytesRecv, c.msgsSent, c.msgsRecv, c.netSent, c.netRecv, c.pingRTT,
		c.poolTxs, c.poolBytes, c.poolSync,
		c.announced, c.served, c.firstFetch, c.firstEcho, c.privAttempts,
	} {
		ch <- d
	}
}

// Collect reads the node and sends every metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	histogram := func(d *prometheus.Desc, h *stats.Histogram) {
		s := h.Snapshot()
		ch <- prometheus.MustNewConstHistogram(d, s.Count, s.Sum, s.Buckets)
	}

	st := c.n.Stats()
	counter(c.hsDone, st.HandshakesDone.Load())
	for i, r := range node.ReasonLabels {
		counter(c.hsFailed, st.HandshakeFailed.Load(i), r)
		counter(c.disconnects, st.Disconnects.Load(i), r)
	}
	counter(c.discouraged, st.Discouraged.Load())
	counter(c.bans, st.Bans.Load())
	gauge(c.banned, float64(len(c.n.Bans())))

	ps := st.Peer
	for i := 0; i <= wireio.NumCommands; i++ {
		cmd := wireio.CommandAt(i)
		if i == wireio.NumCommands {
			cmd = "other"
		}
		counter(c.bytesSent, ps.BytesSent.Load(i), cmd)
		counter(c.bytesRecv, ps.BytesRecv.Load(i), cmd)
		counter(c.msgsSent, ps.MsgsSent.Load(i), cmd)
		counter(c.msgsRecv, ps.MsgsRecv.Load(i), cmd)
	}
	nt := c.n.NetTotals()
	counter(c.netSent, nt.BytesSent)
	counter(c.netRecv, nt.BytesRecv)
	histogram(c.pingRTT, ps.PingRTT)

	if pool := c.n.Config().Mempool; pool != nil {
		info := pool.Info()
		gauge(c.poolTxs, float64(info.Count))
		gauge(c.poolBytes, float64(info.Bytes))
		histogram(c.poolSync, pool.SyncLatency())
	}

	counter(c.announced, st.Announced.Load())
	counter(c.served, st.Served.Load())
	histogram(c.firstFetch, st.FirstFetch)
	histogram(c.firstEcho, st.FirstEcho)
	for o := privbcast.OutcomeReceipt; o <= privbcast.OutcomeRejected; o++ {
		counter(c.privAttempts, st.PrivAttempts.Load(int(o)), o.String())
	}
	// Peers last, in one pass over the table: a peer leaves the table
	// before its disconnect is counted, so a scrape that counted it
	// does not list it.
	byState := make([]int, len(c.states))
	var other map[string]int // a state path the Specs do not list (none expected)
	var in, out int
	var byTransport [3]int
	var byConn [node.NumConnTypes]int
	total := 0
	c.n.EachPeer(func(p node.PeerGauge) {
		total++
		if i, ok := c.stateIdx[p.State]; ok {
			byState[i]++
		} else {
			if other == nil {
				other = make(map[string]int)
			}
			other[p.State]++
		}
		if p.Inbound {
			in++
		} else {
			out++
		}
		switch p.Transport {
		case "v2":
			byTransport[1]++
		case "detecting":
			byTransport[2]++
		default:
			byTransport[0]++
		}
		if int(p.Conn) < len(byConn) {
			byConn[p.Conn]++
		}
	})
	gauge(c.peers, float64(total))
	for i, s := range c.states {
		gauge(c.byState, float64(byState[i]), s)
	}
	for s, k := range other {
		gauge(c.byState, float64(k), s)
	}
	gauge(c.byDir, float64(in), "inbound")
	gauge(c.byDir, float64(out), "outbound")
	for i, t := range Transports {
		gauge(c.byTransport, float64(byTransport[i]), t)
	}
	for i, k := range byConn {
		gauge(c.byConn, float64(k), node.ConnType(i).String())
	}
}
