package web

import (
	"slices"
	"strings"
	"time"

	"github.com/peerd/peerd/mempool"
	"github.com/peerd/peerd/node"
)

type mempoolEvent = mempool.PeerEvent

// State is what /api/state answers and /events streams.
type State struct {
	Time   time.Time `json:"time"`
	Uptime int64     `json:"uptime_s"`
	// States counts the peers in each state path and in each of its
	// prefixes: a peer in "standby/validating" counts for "standby" too.
	States map[string]int `json:"states"`
	// Edges counts the transitions of the last minute per diagram edge
	// id ("e3"); Transitions is how many there were in all.
	Edges       map[string]int `json:"edges"`
	Transitions int            `json:"transitions_1m"`
	Peers       []PeerJSON     `json:"peers"`
	// Mempool lists the newest MaxTxs transactions of MempoolCount,
	// newest first, then those in private broadcast.
	Mempool      []TxJSON `json:"mempool"`
	MempoolCount int      `json:"mempool_count"`
}

// MaxTxs bounds the mempool list, which the page sends every second.
const MaxTxs = 100

// PeerJSON is one row of the peer list.
type PeerJSON struct {
	ID        uint64  `json:"id"`
	Direction string  `json:"direction"` // "in" or "out"
	Conn      string  `json:"conn"`      // Core's connection_type
	Transport string  `json:"transport"`
	State     string  `json:"state"`
	PingMS    float64 `json:"ping_ms"` // last round trip; -1 before one
	AgeS      int64   `json:"age_s"`
	Addr      string  `json:"addr"`
	UserAgent string  `json:"user_agent"`
}

// TxJSON is one row of the mempool list.
type TxJSON struct {
	TxID    string    `json:"txid"`
	Added   time.Time `json:"added"`
	VSize   int       `json:"vsize"`
	Sent    int       `json:"sent"`
	Fetched int       `json:"fetched"`
	Echoed  int       `json:"echoed"`
	Private bool      `json:"private"`
}

func peerJSON(p node.PeerInfo, now time.Time) PeerJSON {
	dir := "out"
	if p.Inbound {
		dir = "in"
	}
	ping := -1.0
	if p.LastPing > 0 {
		ping = float64(p.LastPing.Microseconds()) / 1000
	}
	var age int64
	if !p.ConnectedAt.IsZero() {
		age = int64(now.Sub(p.ConnectedAt) / time.Second)
	}
	return PeerJSON{
		ID: p.ID, Direction: dir, Conn: p.Conn.String(), Transport: p.Transport, State: p.State,
		PingMS: ping, AgeS: age, Addr: p.Addr, UserAgent: p.UserAgent,
	}
}

// state gathers the page's live data.
func (s *Server) state() State {
	now := time.Now()
	src := s.cfg.Source
	st := State{Time: now, Uptime: int64(src.Uptime() / time.Second), States: map[string]int{}, Edges: map[string]int{},
		Peers: []PeerJSON{}, Mempool: []TxJSON{}}
	for _, p := range src.Peers() {
		st.Peers = append(st.Peers, peerJSON(p, now))
		path := p.State
		for path != "" {
			st.States[path]++
			i := strings.LastIndexByte(path, '/')
			if i < 0 {
				break
			}
			path = path[:i]
		}
	}
	for _, t := range src.RecentTransitions() {
		st.Transitions++
		if id, ok := s.diagram.edgeOf(t.From, t.To, t.On); ok {
			st.Edges[id]++
		}
	}
	ids := src.MempoolTxIDs()
	st.MempoolCount = len(ids)
	for i := len(ids) - 1; i >= 0 && i >= len(ids)-MaxTxs; i-- {
		e, err := src.MempoolEntry(ids[i])
		if err != nil {
			continue // gone meanwhile
		}
		st.Mempool = append(st.Mempool, TxJSON{TxID: e.TxID.String(), Added: e.Added, VSize: e.VSize,
			Sent: len(e.Propagation.InvSent), Fetched: len(e.Propagation.Fetched), Echoed: len(e.Propagation.SeenFrom)})
	}
	if ps, err := src.PrivateBroadcastInfo(); err == nil {
		for _, p := range ps {
			if p.State == "confirmed" {
				continue // public now: listed above
			}
			st.Mempool = append(st.Mempool, TxJSON{TxID: p.TxID.String(), Added: p.Added, Private: true,
				Echoed: len(p.Echoes)})
		}
	}
	return st
}

// edgeOf finds the diagram's edge for a transition; an inner machine's
// entry matches its start arrow whatever the event.
func (d diagram) edgeOf(from, to, on string) (string, bool) {
	if id, ok := d.edges[from+"|"+to+"|"+on]; ok {
		return id, true
	}
	if strings.HasPrefix(to, from+"/") || from == "" {
		id, ok := d.edges[from+"|"+to+"|"]
		return id, ok
	}
	return "", false
}

func sortEvents(evs []timelineEvent) {
	slices.SortStableFunc(evs, func(a, b timelineEvent) int { return a.At.Compare(b.At) })
}
