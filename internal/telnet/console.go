package telnet

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/peerd/peerd/internal/rpcserver"
)

// Console is what the debug console needs from the node: a subset of
// node.Admin, the operator interface behind the JSON-RPC server too, so
// that both faces do the same thing. *node.Admin satisfies it.
type Console interface {
	// Peers lists the wire peers with their state paths and recent
	// transitions.
	Peers() []rpcserver.PeerInfo
	// MempoolEntries maps txids to entries, with their propagation.
	MempoolEntries() map[string]rpcserver.MempoolEntry
	// SendRawTransaction is sendrawtransaction: errors are *rpcserver.Error.
	SendRawTransaction(hexTx string) (txid string, err error)
	// DisconnectNode is disconnectnode, by address or by id.
	DisconnectNode(addr string, id int64, byID bool) error
	// DisconnectAll disconnects every wire peer and says how many.
	DisconnectAll() int
}

// Offline is the Console of a process without a wire node (peerd
// --nowire): every wire command answers with the string itself, e.g.
// "no wire node (--nowire)".
type Offline string

func (Offline) Peers() []rpcserver.PeerInfo                       { return nil }
func (Offline) MempoolEntries() map[string]rpcserver.MempoolEntry { return nil }
func (o Offline) SendRawTransaction(string) (string, error)       { return "", errors.New(string(o)) }
func (o Offline) DisconnectNode(string, int64, bool) error        { return errors.New(string(o)) }
func (Offline) DisconnectAll() int                                { return 0 }

// helpText is /help's answer.
var helpText = []string{
	"console commands (lines that start with /; every other line goes to the state machine):",
	"  /help            this list",
	"  /peers           the wire peers: id, address, direction, state path, user agent",
	"  /peer ID         one peer's recent state transitions, with times",
	"  /mempool         the mempool: txid, virtual size, who fetched it",
	"  /tx HEX          send a raw transaction, as sendrawtransaction does",
	"  /disconnect ID   disconnect one peer (by id, or by address)",
	"  /killall         disconnect every wire peer",
	"  /quit            close this session",
	"the state machine: PING? (standby -> waiting), then A (into A/innerA), optionally B,",
	"then PING -> PONG and back to standby; any other word -> waiting; BYE in waiting closes",
}

// command runs one console line (it starts with "/") and returns the lines
// to send back; quit reports /quit. A panic in the Console becomes one line.
func command(c Console, line string) (out []string, quit bool) {
	name, arg, _ := strings.Cut(strings.TrimSpace(line[1:]), " ")
	name, arg = strings.ToLower(name), strings.TrimSpace(arg)
	if name == "help" {
		return helpText, false
	}
	if name == "quit" || name == "exit" {
		return nil, true
	}
	if c == nil {
		c = Offline("no wire node")
	}
	switch name {
	case "peers", "peer", "mempool", "tx", "disconnect", "killall":
		if o, ok := c.(Offline); ok {
			return []string{string(o)}, false
		}
	}
	defer func() {
		if r := recover(); r != nil {
			log.Errorf("Console command %q: panic: %v", name, r)
			out = []string{fmt.Sprintf("internal error in /%s: %v", name, r)}
		}
	}()
	switch name {
	case "peers":
		return peers(c.Peers()), false
	case "peer":
		return peerHistory(c.Peers(), arg), false
	case "mempool":
		return mempool(c.MempoolEntries()), false
	case "tx":
		if arg == "" {
			return []string{"usage: /tx HEX (a serialized transaction in hex)"}, false
		}
		txid, err := c.SendRawTransaction(arg)
		if err != nil {
			return []string{errorLine(err)}, false
		}
		return []string{"txid " + txid}, false
	case "disconnect":
		return disconnect(c, arg), false
	case "killall":
		n := c.DisconnectAll()
		return []string{fmt.Sprintf("disconnected %d %s", n, plural(n, "peer", "peers"))}, false
	}
	return []string{fmt.Sprintf("unknown command %q: try /help", "/"+name)}, false
}

func peers(ps []rpcserver.PeerInfo) []string {
	if len(ps) == 0 {
		return []string{"no wire peers"}
	}
	slices.SortFunc(ps, func(a, b rpcserver.PeerInfo) int { return cmp.Compare(a.ID, b.ID) })
	out := []string{fmt.Sprintf("%d wire %s:", len(ps), plural(len(ps), "peer", "peers"))}
	for _, p := range ps {
		ua := p.SubVer
		if ua == "" {
			ua = "-"
		}
		out = append(out, fmt.Sprintf("  %-4d %-22s %-8s %-24s %s", p.ID, p.Addr, direction(p), p.State, ua))
	}
	return out
}

func peerHistory(ps []rpcserver.PeerInfo, arg string) []string {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return []string{"usage: /peer ID (an id from /peers)"}
	}
	i := slices.IndexFunc(ps, func(p rpcserver.PeerInfo) bool { return p.ID == id })
	if i < 0 {
		return []string{fmt.Sprintf("no peer with id %d (see /peers)", id)}
	}
	p := ps[i]
	out := []string{fmt.Sprintf("peer %d %s %s, state %s, user agent %s, ping %s",
		p.ID, p.Addr, direction(p), p.State, orDash(p.SubVer), seconds(p.PingTime))}
	if len(p.Transitions) == 0 {
		return append(out, "  no transitions recorded")
	}
	for _, t := range p.Transitions {
		out = append(out, fmt.Sprintf("  %s  %s -> %s on %s", clock(t.Time), t.From, t.To, t.On))
	}
	return out
}

func mempool(es map[string]rpcserver.MempoolEntry) []string {
	if len(es) == 0 {
		return []string{"the mempool is empty"}
	}
	ids := make([]string, 0, len(es))
	for id := range es {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		return cmp.Or(cmp.Compare(es[a].Time, es[b].Time), strings.Compare(a, b))
	})
	out := []string{fmt.Sprintf("%d %s:", len(ids), plural(len(ids), "transaction", "transactions"))}
	for _, id := range ids {
		e := es[id]
		who := "nobody yet"
		if f := e.Propagation.Fetched; len(f) > 0 {
			s := make([]string, len(f))
			for i, ev := range f {
				s[i] = fmt.Sprintf("%d (%s)", ev.ID, ev.Addr)
			}
			who = strings.Join(s, ", ")
		}
		out = append(out, fmt.Sprintf("  %s  %d vB  announced to %d, fetched by %s",
			id, e.VSize, len(e.Propagation.InvSent), who))
	}
	return out
}

func disconnect(c Console, arg string) []string {
	if arg == "" {
		return []string{"usage: /disconnect ID (an id from /peers, or an address)"}
	}
	var err error
	if id, perr := strconv.ParseInt(arg, 10, 64); perr == nil {
		err = c.DisconnectNode("", id, true)
	} else {
		err = c.DisconnectNode(arg, 0, false)
	}
	if err != nil {
		return []string{errorLine(err)}
	}
	return []string{"disconnecting " + arg}
}

// errorLine writes err as bitcoin-cli does, on one line.
func errorLine(err error) string {
	var re *rpcserver.Error
	if errors.As(err, &re) {
		return fmt.Sprintf("error code: %d, error message: %s", re.Code, re.Message)
	}
	return "error: " + err.Error()
}

func direction(p rpcserver.PeerInfo) string {
	if p.Inbound {
		return "inbound"
	}
	return "outbound"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// seconds writes a duration in seconds (getpeerinfo's form) as a duration.
func seconds(s float64) string {
	if s <= 0 {
		return "-"
	}
	return time.Duration(s * float64(time.Second)).Round(time.Microsecond).String()
}

// clock writes seconds since the epoch as local time of day.
func clock(s float64) string {
	if s == 0 {
		return "--:--:--.---"
	}
	return time.UnixMilli(int64(math.Round(s * 1000))).Format("15:04:05.000")
}
