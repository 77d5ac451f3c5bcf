package telnet

import (
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"

	"github.com/peerd/peerd/internal/rpcserver/coreerr"
	"github.com/peerd/peerd/node"
)

// Console is what the debug console needs from the node: a subset of
// node.Admin, the operator interface behind the JSON-RPC server too, so
// that both faces do the same thing. The console adapts node's values to
// its lines, and words node's refusals as bitcoin-cli writes Core's
// errors (package coreerr). *node.Admin satisfies it.
type Console interface {
	// Peers lists the wire peers with their state paths and recent
	// transitions.
	Peers() []node.PeerInfo
	// MempoolEntries lists the mempool's entries, with their propagation.
	MempoolEntries() []node.MempoolEntry
	// SendRawTransaction adds a serialized transaction, as
	// sendrawtransaction does, and returns its txid.
	SendRawTransaction(raw []byte) (chainhash.Hash, error)
	// DisconnectNode disconnects a peer by address or by id.
	DisconnectNode(addr string, id int64, byID bool) error
	// DisconnectAll disconnects every wire peer and says how many.
	DisconnectAll() int
}

// Offline is the Console of a process without a wire node (peerd
// --nowire): every wire command answers with the string itself, e.g.
// "no wire node (--nowire)".
type Offline string

func (Offline) Peers() []node.PeerInfo                     { return nil }
func (Offline) MempoolEntries() []node.MempoolEntry        { return nil }
func (o Offline) DisconnectNode(string, int64, bool) error { return errors.New(string(o)) }
func (Offline) DisconnectAll() int                         { return 0 }

func (o Offline) SendRawTransaction([]byte) (chainhash.Hash, error) {
	return chainhash.Hash{}, errors.New(string(o))
}

// helpText is /help's answer.
var helpText = []string{
	"console commands (lines that start with /; every other line goes to the state machine):",
	"  /help            this list",
	"  /peers           the wire peers: id, address, direction, state path, user agent",
	"  /peer ID         one peer: transport (v2: session id), recent state transitions with times",
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
		return mempoolLines(c.MempoolEntries()), false
	case "tx":
		if arg == "" {
			return []string{"usage: /tx HEX (a serialized transaction in hex)"}, false
		}
		raw, err := hex.DecodeString(arg)
		if err != nil { // as sendrawtransaction words it
			return []string{errorLine(coreerr.TxDecodeFailed())}, false
		}
		txid, err := c.SendRawTransaction(raw)
		if err != nil {
			return []string{errorLine(coreerr.SendRawTransaction(err))}, false
		}
		return []string{"txid " + txid.String()}, false
	case "disconnect":
		return disconnect(c, arg), false
	case "killall":
		n := c.DisconnectAll()
		return []string{fmt.Sprintf("disconnected %d %s", n, plural(n, "peer", "peers"))}, false
	}
	return []string{fmt.Sprintf("unknown command %q: try /help", "/"+name)}, false
}

func peers(ps []node.PeerInfo) []string {
	if len(ps) == 0 {
		return []string{"no wire peers"}
	}
	slices.SortFunc(ps, func(a, b node.PeerInfo) int { return cmp.Compare(a.ID, b.ID) })
	out := []string{fmt.Sprintf("%d wire %s:", len(ps), plural(len(ps), "peer", "peers"))}
	for _, p := range ps {
		out = append(out, fmt.Sprintf("  %-4d %-22s %-8s %-24s %s", p.ID, p.Addr, direction(p), p.State, orDash(p.UserAgent)))
	}
	return out
}

func peerHistory(ps []node.PeerInfo, arg string) []string {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return []string{"usage: /peer ID (an id from /peers)"}
	}
	i := slices.IndexFunc(ps, func(p node.PeerInfo) bool { return id >= 0 && p.ID == uint64(id) })
	if i < 0 {
		return []string{fmt.Sprintf("no peer with id %d (see /peers)", id)}
	}
	p := ps[i]
	out := []string{fmt.Sprintf("peer %d %s %s, state %s, user agent %s, ping %s, transport %s",
		p.ID, p.Addr, direction(p), p.State, orDash(p.UserAgent), duration(p.LastPing), orDash(p.Transport))}
	if len(p.SessionID) > 0 {
		out = append(out, "  session id "+hex.EncodeToString(p.SessionID))
	}
	if len(p.Transitions) == 0 {
		return append(out, "  no transitions recorded")
	}
	for _, t := range p.Transitions {
		out = append(out, fmt.Sprintf("  %s  %s -> %s on %s", clock(t.At), t.From, t.To, t.On))
	}
	return out
}

func mempoolLines(es []node.MempoolEntry) []string {
	if len(es) == 0 {
		return []string{"the mempool is empty"}
	}
	es = slices.Clone(es)
	slices.SortFunc(es, func(a, b node.MempoolEntry) int {
		return cmp.Or(a.Added.Compare(b.Added), strings.Compare(a.TxID.String(), b.TxID.String()))
	})
	out := []string{fmt.Sprintf("%d %s:", len(es), plural(len(es), "transaction", "transactions"))}
	for _, e := range es {
		who := "nobody yet"
		if f := e.Propagation.Fetched; len(f) > 0 {
			s := make([]string, len(f))
			for i, ev := range f {
				s[i] = fmt.Sprintf("%d (%s)", ev.Peer.ID, ev.Peer.Addr)
			}
			who = strings.Join(s, ", ")
		}
		out = append(out, fmt.Sprintf("  %s  %d vB  announced to %d, fetched by %s",
			e.TxID, e.VSize, len(e.Propagation.InvSent), who))
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
		return []string{errorLine(coreerr.DisconnectNode(err))}
	}
	return []string{"disconnecting " + arg}
}

// errorLine writes err as bitcoin-cli does, on one line: a Core error
// with its code, any other with its text.
func errorLine(err error) string {
	var re *coreerr.Error
	if errors.As(err, &re) {
		return fmt.Sprintf("error code: %d, error message: %s", re.Code, re.Message)
	}
	return "error: " + err.Error()
}

func direction(p node.PeerInfo) string {
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

// duration writes a measured duration to the microsecond; "-" when not
// measured.
func duration(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return d.Round(time.Microsecond).String()
}

// clock writes a time as local time of day, to the millisecond.
func clock(t time.Time) string {
	if t.IsZero() {
		return "--:--:--.---"
	}
	return t.Local().Format("15:04:05.000")
}
