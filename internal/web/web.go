// Package web serves the live page (peerd --web): the wire peer's state
// machine drawn from its own Spec with how many peers are in each state
// now and how often each edge was taken in the last minute, the peer
// list with each peer's transition history, and the propagation timeline
// of each mempool transaction.
//
// The HTML is rendered on the server (html/template, so that what peers
// control, such as user agents, is escaped); a small script keeps the
// page current from a Server-Sent Events stream (/events) of the same
// JSON that /api/state answers. Every asset is embedded: the page fetches
// nothing from elsewhere. Every request needs the RPC server's
// credentials (HTTP basic authentication, checked by the Auth function
// the caller hands in: cmd/peerd passes the RPC server's own check).
package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	stdlog "log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"

	"github.com/peerd/peerd/node"
	"github.com/peerd/peerd/peer"
)

// Source is what the page shows: node.Admin's methods.
type Source interface {
	Peers() []node.PeerInfo
	RecentTransitions() []node.PeerTransition
	MempoolTxIDs() []chainhash.Hash
	MempoolEntry(txid chainhash.Hash) (node.MempoolEntry, error)
	PrivateBroadcastInfo() ([]node.PrivateBroadcastTx, error)
	Uptime() time.Duration
}

var _ Source = (*node.Admin)(nil)

// DefaultInterval is how often /events sends the state.
const DefaultInterval = time.Second

// Config configures a Server.
type Config struct {
	// Listen is the address to listen on, host:port.
	Listen string
	Source Source
	// Auth checks a request's credentials; when it returns false it has
	// answered the request (401 or 429). Required.
	Auth func(w http.ResponseWriter, r *http.Request) bool
	// Network names the chain, for the title.
	Network string
	// Interval between two /events messages; 0 means DefaultInterval.
	Interval time.Duration
}

//go:embed assets
var assets embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"since": func(base, t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return "+" + fmtDur(t.Sub(base))
	},
	"clock": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Local().Format("15:04:05.000")
	},
}).ParseFS(assets, "assets/*.html"))

// Server is the live page's HTTP server.
type Server struct {
	cfg     Config
	l       net.Listener
	http    *http.Server
	mux     *http.ServeMux
	diagram diagram
	closed  chan struct{}
	once    sync.Once
}

// New checks cfg and listens; Serve answers.
func New(cfg Config) (*Server, error) {
	if cfg.Source == nil || cfg.Auth == nil {
		return nil, errors.New("web: no source or no authentication")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("web: listen on %s: %w", cfg.Listen, err)
	}
	s := newServer(cfg)
	s.l = l
	return s, nil
}

// newServer makes the server without a listener (the handler's tests).
func newServer(cfg Config) *Server {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	s := &Server{cfg: cfg, diagram: drawDiagram(peer.Spec), closed: make(chan struct{}), mux: http.NewServeMux()}
	static, _ := fs.Sub(assets, "assets")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /{$}", s.index)
	s.mux.HandleFunc("GET /peer/{id}", s.peerPage)
	s.mux.HandleFunc("GET /tx/{txid}", s.txPage)
	s.mux.HandleFunc("GET /api/state", s.stateJSON)
	s.mux.HandleFunc("GET /events", s.events)
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    8192,
		ErrorLog:          stdlog.New(discard{}, "", 0),
	}
	return s
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.l.Addr() }

// Serve answers until ctx ends or Close is called; then it closes the
// server, ends the event streams, and returns once every handler has.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.l) }()
	var err error
	select {
	case <-ctx.Done():
	case <-s.closed:
	case err = <-errc:
	}
	s.Close()
	if err == nil {
		err = <-errc
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Close stops the server: the event streams end, and requests being
// answered get a few seconds. It may be called more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closed)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if s.http.Shutdown(ctx) != nil {
			s.http.Close()
		}
		if s.l != nil {
			s.l.Close()
		}
	})
}

// ServeHTTP authenticates every request, then answers it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Auth(w, r) {
		return
	}
	h := w.Header()
	// The page fetches nothing from elsewhere, and runs only its own
	// script.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := templates.ExecuteTemplate(w, name, data); err != nil {
		http.Error(w, "template: "+err.Error(), http.StatusInternalServerError)
	}
}

// index is the main page.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	st := s.state()
	s.render(w, "index.html", struct {
		Network string
		Diagram template.HTML
		State   State
		MaxTxs  int
	}{s.cfg.Network, s.diagram.SVG, st, MaxTxs})
}

// peerPage is one peer's transition history.
func (s *Server) peerPage(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		http.Error(w, "no such peer", http.StatusNotFound)
		return
	}
	var found *node.PeerInfo
	ps := s.cfg.Source.Peers()
	for i := range ps {
		if ps[i].ID == id {
			found = &ps[i]
		}
	}
	var gone []node.PeerTransition
	if found == nil {
		for _, t := range s.cfg.Source.RecentTransitions() {
			if t.Peer == id {
				gone = append(gone, t)
			}
		}
		if len(gone) == 0 {
			http.Error(w, "no such peer: not connected, and no transition in the last minute", http.StatusNotFound)
			return
		}
	}
	var p PeerJSON
	if found != nil {
		p = peerJSON(*found, time.Now())
	}
	s.render(w, "peer.html", struct {
		Network string
		ID      uint64
		Peer    *node.PeerInfo
		View    PeerJSON
		Gone    []node.PeerTransition
	}{s.cfg.Network, id, found, p, gone})
}

// timelineEvent is one row of a transaction's timeline.
type timelineEvent struct {
	At   time.Time
	What string // "sent", "fetched", "echoed"
	Peer uint64
	Addr string
}

// txPage is one transaction's propagation timeline.
func (s *Server) txPage(w http.ResponseWriter, r *http.Request) {
	txid, err := chainhash.NewHashFromStr(r.PathValue("txid"))
	if err != nil {
		http.Error(w, "not a transaction id", http.StatusNotFound)
		return
	}
	e, err := s.cfg.Source.MempoolEntry(*txid)
	if err != nil {
		http.Error(w, "transaction not in the mempool", http.StatusNotFound)
		return
	}
	var priv *node.PrivateBroadcastTx
	if ps, err := s.cfg.Source.PrivateBroadcastInfo(); err == nil {
		for i := range ps {
			if ps[i].TxID == e.TxID {
				priv = &ps[i]
			}
		}
	}
	var evs []timelineEvent
	type row struct {
		Peer                  uint64
		Addr                  string
		Sent, Fetched, Echoed time.Time
	}
	rows := make(map[uint64]*row)
	var order []uint64
	add := func(what string, list []mempoolEvent) {
		for _, pe := range list {
			evs = append(evs, timelineEvent{At: pe.At, What: what, Peer: pe.Peer.ID, Addr: pe.Peer.Addr})
			rw, ok := rows[pe.Peer.ID]
			if !ok {
				rw = &row{Peer: pe.Peer.ID, Addr: pe.Peer.Addr}
				rows[pe.Peer.ID] = rw
				order = append(order, pe.Peer.ID)
			}
			switch what {
			case "sent":
				rw.Sent = pe.At
			case "fetched":
				rw.Fetched = pe.At
			case "echoed":
				rw.Echoed = pe.At
			}
		}
	}
	add("sent", e.Propagation.InvSent)
	add("fetched", e.Propagation.Fetched)
	add("echoed", e.Propagation.SeenFrom)
	sortEvents(evs)
	perPeer := make([]row, len(order))
	for i, id := range order {
		perPeer[i] = *rows[id]
	}
	s.render(w, "tx.html", struct {
		Network string
		Entry   node.MempoolEntry
		Events  []timelineEvent
		PerPeer []row
		Private *node.PrivateBroadcastTx
	}{s.cfg.Network, e, evs, perPeer, priv})
}

// stateJSON answers the state as JSON.
func (s *Server) stateJSON(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(s.state())
}

// events streams the state as Server-Sent Events, one "state" event at
// once and then every Interval, until the client goes or the server
// closes.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		b, err := json.Marshal(s.state())
		if err != nil {
			return
		}
		rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintf(w, "event: state\ndata: %s\n\n", b); err != nil {
			return
		}
		fl.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-s.closed:
			return
		case <-t.C:
		}
	}
}

func fmtDur(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + fmtDur(-d)
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}
