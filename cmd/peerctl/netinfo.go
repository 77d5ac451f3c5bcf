package main

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// netInfoCommand is peerctl's own command for bitcoin-cli's -netinfo
// dashboard: peer counts by network and type, then at levels 1 to 4 a
// table of the peers, from getpeerinfo, getnetworkinfo and getnettotals.
const netInfoCommand = "netinfo"

// maxNetInfoLevel is the most detailed level, as Core's.
const maxNetInfoLevel = 4

// termWidth is the width levels 0 to 3 fit in.
const termWidth = 80

// netInfoUsage is the usage line that a bad netinfo command line gets.
const netInfoUsage = "usage: peerctl [OPTIONS] netinfo [LEVEL|help]: LEVEL 0 (the default) counts the peers, " +
	"1 lists them too, 2 with their addresses, 3 with their versions, 4 with everything"

// netInfoHelp is what `peerctl netinfo help` prints.
const netInfoHelp = `peerctl netinfo [LEVEL|help]

A dashboard of peerd's peers, as bitcoin-cli -netinfo is of bitcoind's. It
reads getpeerinfo, getnetworkinfo and getnettotals. Its layout may change:
scripts should read those methods instead. Try: watch -n 1 peerctl netinfo 2

LEVEL (0 to 4, default 0):
  0  the header, the traffic, the peer counts and the local addresses
  1  the same, followed by a table of the peers
  2  like 1, with an address column
  3  like 1, with a version column (the protocol version)
  4  like 1, with both, the subversion after the version, and the net and
     mping columns (wider than 80 columns with long addresses or user agents)

Peer counts: a column per network that peerd can reach (getnetworkinfo's
networks) or has a peer on ("npr": not publicly routable, such as
loopback and private addresses), the total, and the outbound peers by
connection type: "full" always, "manual", "feeler", "addr" and "priv"
when there are any (on a line of their own, "out by type", when the
table would be wider than 80 columns). peerd makes no block-relay-only
connections (it keeps no chain), so there is no "block" column.

Peer table, inbound peers first, each by the lowest ping:
  <->    direction: "in" (the peer connected) or "out" (peerd did)
  type   connection type: "full" (outbound full relay), "manual" (--connect,
         --addpeer, addnode), "feeler" (tests an address of the book),
         "addr" (address fetch from a DNS seed through the proxy), "priv"
         (private broadcast of one transaction); blank for inbound
  net    network (level 4): ipv4, ipv6, onion, npr
  v      transport: 1 (v1, plaintext), 2 (v2, BIP 324), ? (still detecting)
  state  the peer's state machine, as getpeerinfo's "state": e.g.
         handshake/awaitVerack, standby/validating, broadcast/announced
  mping  the lowest ping seen, ms (level 4)
  ping   the last ping's round trip, ms (blank before the first pong)
  send   seconds since peerd last sent to the peer
  recv   seconds since peerd last heard from the peer
  age    minutes since the connection opened
  id     the peer's id, as getpeerinfo's and disconnectnode's
  address   host:port (levels 2 and 4; shortened in the middle at level 2
            to fit 80 columns)
  version   the protocol version (level 3), with the user agent (level 4)
`

// Core's getpeerinfo "network" names, in Core's order, and the short
// names the counts table shows.
var netInfoNetworks = []struct{ name, short string }{
	{"ipv4", "ipv4"}, {"ipv6", "ipv6"}, {"onion", "onion"}, {"i2p", "i2p"}, {"cjdns", "cjdns"},
	{"not_publicly_routable", "npr"},
}

// netInfoTypes are the outbound connection types the counts table has a
// column for, in order: Core's connection_type and netinfo's short name.
// Only "full" is always shown.
var netInfoTypes = []struct{ name, short string }{
	{"outbound-full-relay", "full"}, {"manual", "manual"}, {"feeler", "feeler"},
	{"addr-fetch", "addr"}, {"private-broadcast", "priv"}, {"block-relay-only", "block"},
}

// The parts of peerd's replies that the dashboard reads.
type (
	netPeer struct {
		ID             int64   `json:"id"`
		Addr           string  `json:"addr"`
		Network        string  `json:"network"`
		Inbound        bool    `json:"inbound"`
		ConnectionType string  `json:"connection_type"`
		Transport      string  `json:"transport_protocol_type"`
		State          string  `json:"state"`
		PingTime       float64 `json:"pingtime"`
		MinPing        float64 `json:"minping"`
		LastSend       int64   `json:"lastsend"`
		LastRecv       int64   `json:"lastrecv"`
		ConnTime       int64   `json:"conntime"`
		BytesSent      uint64  `json:"bytessent"`
		BytesRecv      uint64  `json:"bytesrecv"`
		Version        int64   `json:"version"`
		SubVer         string  `json:"subver"`
	}
	netInfoReply struct {
		Version         int    `json:"version"`
		SubVersion      string `json:"subversion"`
		ProtocolVersion int    `json:"protocolversion"`
		NetworkActive   bool   `json:"networkactive"`
		Networks        []struct {
			Name      string `json:"name"`
			Reachable bool   `json:"reachable"`
		} `json:"networks"`
		LocalAddresses []struct {
			Address string `json:"address"`
			Port    int    `json:"port"`
			Score   int    `json:"score"`
		} `json:"localaddresses"`
	}
	netTotals struct {
		Recv uint64 `json:"totalbytesrecv"`
		Sent uint64 `json:"totalbytessent"`
	}
)

// netInfoData is what the dashboard shows: the replies, and when.
type netInfoData struct {
	chain  string // the network peerctl was told, as Core's header
	now    time.Time
	peers  []netPeer
	info   netInfoReply
	totals *netTotals // nil: peerd has no getnettotals
}

// parseNetInfoLevel reads netinfo's argument: none is level 0, "help"
// is -1, anything but 0 to 4 a usage error.
func parseNetInfoLevel(words []string) (int, error) {
	switch {
	case len(words) == 0:
		return 0, nil
	case len(words) > 1:
		return 0, &usageError{"netinfo takes one argument, not " + strconv.Itoa(len(words)) + "; " + netInfoUsage}
	case words[0] == "help":
		return -1, nil
	}
	n, err := strconv.Atoi(words[0])
	if err != nil || n < 0 || n > maxNetInfoLevel {
		return 0, &usageError{fmt.Sprintf("bad netinfo level %q: want 0 to %d; %s", words[0], maxNetInfoLevel, netInfoUsage)}
	}
	return n, nil
}

// netInfo fetches the replies and prints the dashboard at level.
func netInfo(w io.Writer, p *peerd, chain string, level int, now time.Time) error {
	d := netInfoData{chain: chain, now: now}
	if _, err := p.callInto("getpeerinfo", nil, &d.peers, false); err != nil {
		return err
	}
	if _, err := p.callInto("getnetworkinfo", nil, &d.info, false); err != nil {
		return err
	}
	// A peerd without getnettotals: the traffic line says so.
	totals := new(netTotals)
	found, err := p.callInto("getnettotals", nil, totals, true)
	if err != nil {
		return err
	}
	if found {
		d.totals = totals
	}
	_, err = io.WriteString(w, dashboard(d, level))
	return err
}

// dashboard is the text of netinfo at level: header, traffic, counts,
// then the peer table (levels 1 to 4), then the local addresses.
func dashboard(d netInfoData, level int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "peerctl %s %s - server %d%s", version, d.chain, d.info.ProtocolVersion, d.info.SubVersion)
	if !d.info.NetworkActive {
		b.WriteString(" - network inactive")
	}
	b.WriteString("\n")
	b.WriteString(traffic(d))
	b.WriteString("\n")
	b.WriteString(counts(d))
	if level > 0 && len(d.peers) > 0 {
		b.WriteString("\n")
		b.WriteString(peerTable(d, level))
	}
	b.WriteString("\n")
	b.WriteString(localAddresses(d))
	return b.String()
}

// traffic is the line of bytes sent and received: getnettotals', or
// without it (a peerd that predates it) the sum over the peers connected
// now.
func traffic(d netInfoData) string {
	if d.totals != nil {
		return fmt.Sprintf("traffic: %s sent, %s received since peerd started\n", bytesText(d.totals.Sent), bytesText(d.totals.Recv))
	}
	var sent, recv uint64
	for _, p := range d.peers {
		sent += p.BytesSent
		recv += p.BytesRecv
	}
	return fmt.Sprintf("traffic with the peers connected now: %s sent, %s received\n", bytesText(sent), bytesText(recv))
}

// bytesText writes a byte count for a person: 512 B, 1.5 kB, 23.4 MB.
func bytesText(n uint64) string {
	const k = 1000
	switch {
	case n < k:
		return fmt.Sprintf("%d B", n)
	case n < k*k:
		return fmt.Sprintf("%.1f kB", float64(n)/k)
	case n < k*k*k:
		return fmt.Sprintf("%.1f MB", float64(n)/(k*k))
	}
	return fmt.Sprintf("%.1f GB", float64(n)/(k*k*k))
}

// shortNetwork is the counts table's and the peer table's name for a
// getpeerinfo network.
func shortNetwork(name string) string {
	for _, n := range netInfoNetworks {
		if n.name == name {
			return n.short
		}
	}
	return name
}

// shortType is the peer table's name for a connection type: Core's
// netinfo names, blank for inbound.
func shortType(connType string) string {
	if connType == "inbound" {
		return ""
	}
	for _, t := range netInfoTypes {
		if t.name == connType {
			return t.short
		}
	}
	return connType
}

// counts is the peer counts table: in, out and total by network, and the
// outbound peers by type.
func counts(d netInfoData) string {
	// Columns: the reachable networks and those with peers, in Core's
	// order, then any other name getpeerinfo used.
	byNet := map[string][3]int{} // in, out, total
	for _, p := range d.peers {
		c := byNet[p.Network]
		if p.Inbound {
			c[0]++
		} else {
			c[1]++
		}
		c[2]++
		byNet[p.Network] = c
	}
	reachable := map[string]bool{}
	for _, n := range d.info.Networks {
		reachable[n.Name] = n.Reachable
	}
	var nets []string
	for _, n := range netInfoNetworks {
		if reachable[n.name] || byNet[n.name][2] > 0 {
			nets = append(nets, n.name)
		}
	}
	var others []string
	for name := range byNet {
		if !slices.ContainsFunc(netInfoNetworks, func(n struct{ name, short string }) bool { return n.name == name }) {
			others = append(others, name)
		}
	}
	slices.Sort(others)
	nets = append(nets, others...)

	byType := map[string]int{}
	for _, p := range d.peers {
		if !p.Inbound {
			byType[p.ConnectionType]++
		}
	}
	var types []string
	for _, t := range netInfoTypes {
		if t.short == "full" || byType[t.name] > 0 {
			types = append(types, t.name)
		}
	}

	// Too many columns for the terminal (peers on i2p or cjdns, which
	// peerd does not dial, and every type at once): the types go on a
	// line of their own under the table.
	var typeLine []string
	if 5+7*(len(nets)+1+len(types)) > termWidth {
		for _, t := range types {
			typeLine = append(typeLine, fmt.Sprintf("%d %s", byType[t], shortType(t)))
		}
		types = nil
	}

	var b strings.Builder
	b.WriteString("     ")
	for _, n := range nets {
		fmt.Fprintf(&b, "%7s", shortNetwork(n))
	}
	b.WriteString("  total")
	for _, t := range types {
		fmt.Fprintf(&b, "%7s", shortType(t))
	}
	b.WriteString("\n")
	for row, label := range []string{"in", "out", "total"} {
		fmt.Fprintf(&b, "%-5s", label)
		total := 0
		for _, n := range nets {
			fmt.Fprintf(&b, "%7d", byNet[n][row])
			total += byNet[n][row]
		}
		fmt.Fprintf(&b, "%7d", total)
		if label == "out" {
			for _, t := range types {
				fmt.Fprintf(&b, "%7d", byType[t])
			}
		}
		b.WriteString("\n")
	}
	if typeLine != nil {
		fmt.Fprintf(&b, "out by type: %s\n", strings.Join(typeLine, ", "))
	}
	return b.String()
}

// column is one column of the peer table: its header, unit (the line
// under the rows), and whether it is left-aligned.
type column struct {
	head, unit string
	left       bool
}

// peerTable is the table of peers at level (1 to 4).
func peerTable(d netInfoData, level int) string {
	withAddr := level == 2 || level == 4
	withVersion := level >= 3
	wide := level == 4

	peers := slices.Clone(d.peers)
	slices.SortStableFunc(peers, func(a, b netPeer) int {
		if a.Inbound != b.Inbound {
			if a.Inbound {
				return -1
			}
			return 1
		}
		// The lowest ping first; unmeasured last.
		am, bm := a.MinPing, b.MinPing
		if am <= 0 {
			am = math.Inf(1)
		}
		if bm <= 0 {
			bm = math.Inf(1)
		}
		return cmp.Or(cmp.Compare(am, bm), cmp.Compare(a.ID, b.ID))
	})

	cols := []column{{head: "<->", left: true}, {head: "type", left: true}}
	if wide {
		cols = append(cols, column{head: "net", left: true})
	}
	cols = append(cols, column{head: "v"}, column{head: "state", left: true})
	if wide {
		cols = append(cols, column{head: "mping", unit: "ms"})
	}
	cols = append(cols, column{head: "ping", unit: "ms"}, column{head: "send", unit: "s"}, column{head: "recv", unit: "s"},
		column{head: "age", unit: "min"}, column{head: "id"})
	if withAddr {
		cols = append(cols, column{head: "address", left: true})
	}
	if withVersion {
		cols = append(cols, column{head: "version", left: true})
	}

	now := d.now.Unix()
	ago := func(t int64, unit int64) string {
		if t == 0 {
			return ""
		}
		return strconv.FormatInt(max(now-t, 0)/unit, 10)
	}
	rows := make([][]string, len(peers))
	for i, p := range peers {
		dir := "out"
		if p.Inbound {
			dir = "in"
		}
		row := []string{dir, shortType(p.ConnectionType)}
		if wide {
			row = append(row, shortNetwork(p.Network))
		}
		row = append(row, transportDigit(p.Transport), cmp.Or(p.State, "-"))
		if wide {
			row = append(row, millis(p.MinPing))
		}
		row = append(row, millis(p.PingTime), ago(p.LastSend, 1), ago(p.LastRecv, 1), ago(p.ConnTime, 60),
			strconv.FormatInt(p.ID, 10))
		if withAddr {
			row = append(row, p.Addr)
		}
		if withVersion {
			v := ""
			if p.Version != 0 {
				v = strconv.FormatInt(p.Version, 10)
			}
			if wide {
				v += p.SubVer
			}
			row = append(row, v)
		}
		rows[i] = row
	}

	widths := make([]int, len(cols))
	for j, c := range cols {
		widths[j] = max(len(c.head), len(c.unit))
		for _, r := range rows {
			widths[j] = max(widths[j], len(r[j]))
		}
	}
	if withAddr && !wide {
		// Level 2 fits the terminal: the address column gets what the
		// others leave, and longer addresses lose their middle.
		a := len(cols) - 1
		used := 0
		for j := range a {
			used += widths[j] + 1
		}
		room := max(termWidth-used, len("address"))
		if widths[a] > room {
			widths[a] = room
			for _, r := range rows {
				r[a] = shorten(r[a], room)
			}
		}
	}

	var b strings.Builder
	line := func(cells []string) {
		var l strings.Builder
		for j, c := range cells {
			if j > 0 {
				l.WriteByte(' ')
			}
			if cols[j].left {
				fmt.Fprintf(&l, "%-*s", widths[j], c)
			} else {
				fmt.Fprintf(&l, "%*s", widths[j], c)
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteByte('\n')
	}
	heads, units := make([]string, len(cols)), make([]string, len(cols))
	for j, c := range cols {
		heads[j], units[j] = c.head, c.unit
	}
	line(heads)
	for _, r := range rows {
		line(r)
	}
	line(units)
	return b.String()
}

// transportDigit is the peer table's "v": 1, 2, or ? while an inbound
// connection's transport is not known yet.
func transportDigit(t string) string {
	switch t {
	case "", "v1":
		return "1"
	case "v2":
		return "2"
	case "detecting":
		return "?"
	}
	return t
}

// millis writes a ping time in seconds as milliseconds: whole ones, with
// a decimal under 10 ms (loopback and LAN peers); blank for none.
func millis(s float64) string {
	ms := s * 1000
	switch {
	case s <= 0:
		return ""
	case ms < 10:
		return strconv.FormatFloat(ms, 'f', 1, 64)
	case ms > 999999:
		return "-"
	}
	return strconv.FormatFloat(math.Round(ms), 'f', 0, 64)
}

// shorten fits an address in n bytes by replacing the middle of its host
// with "..", keeping the port whole.
func shorten(addr string, n int) string {
	if len(addr) <= n {
		return addr
	}
	host, port := addr, ""
	if i := strings.LastIndexByte(addr, ':'); i > 0 && !strings.HasSuffix(addr, "]") {
		host, port = addr[:i], addr[i:]
	}
	room := n - len(port) - 2 // the host's bytes left around ".."
	if room < 2 {
		return addr[:n]
	}
	tail := room / 2
	return host[:room-tail] + ".." + host[len(host)-tail:] + port
}

// localAddresses is Core's list of the addresses the node advertises.
func localAddresses(d netInfoData) string {
	if len(d.info.LocalAddresses) == 0 {
		return "Local addresses: n/a\n"
	}
	width := 0
	for _, a := range d.info.LocalAddresses {
		width = max(width, len(a.Address))
	}
	var b strings.Builder
	b.WriteString("Local addresses:\n")
	for _, a := range d.info.LocalAddresses {
		fmt.Fprintf(&b, "%-*s  port %5d  score %5d\n", width, a.Address, a.Port, a.Score)
	}
	return b.String()
}
