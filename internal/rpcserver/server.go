package rpcserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of [Config]'s limits.
const (
	DefaultMaxBodyBytes      = 8 << 20 // holds a 4 MB transaction in hex, with room
	DefaultMaxBatch          = 1000
	DefaultMaxConcurrent     = 64 // as Core's -rpcworkqueue: requests beyond get 503
	DefaultAuthFailureDelay  = 250 * time.Millisecond
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second // Core's -rpcservertimeout
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultShutdownTimeout   = 5 * time.Second
	maxHeaderBytes           = 8192 // Core's MAX_HEADERS_SIZE
)

// Cookie authentication, as bitcoind: the file's name in Config.CookieDir
// and the user name in it.
const (
	CookieFile = ".cookie"
	CookieUser = "__cookie__"
)

// wwwAuthenticate is Core's WWW-Authenticate header for a 401.
const wwwAuthenticate = `Basic realm="jsonrpc"`

// Config configures a [Server]. Zero limits take the defaults above.
type Config struct {
	// Listen are the addresses to listen on, host:port each.
	Listen []string

	// User and Pass are the credentials clients must present. When both
	// are empty, New writes a random cookie to CookieDir/.cookie instead
	// ("__cookie__:" and 64 hex digits, mode 0600), as bitcoind does, and
	// Close removes it. Setting only one of them is an error.
	User, Pass string
	CookieDir  string

	// MaxBodyBytes bounds a request body; a larger one is answered 413.
	MaxBodyBytes int64
	// MaxBatch bounds the requests in a batch; a larger batch is -32600.
	MaxBatch int
	// MaxConcurrent bounds the requests being handled at once; more are
	// answered 503 "Work queue depth exceeded", as Core.
	MaxConcurrent int
	// AuthFailureDelay is how long a request with wrong credentials waits
	// for its 401, to slow down guessing (Core: 250 ms). Negative: none.
	AuthFailureDelay time.Duration
	// AuthFailureLimit is how many failed authentications one client
	// address (IPv4 address, IPv6 /64) may make within AuthFailureWindow:
	// the failure that reaches it locks the address out for AuthLockout,
	// during which every request from it that carries credentials, right
	// or wrong, is answered 429 Too Many Requests at once, with
	// Retry-After. At most MaxAuthTracked addresses are tracked. Zero
	// limits take the defaults (5 failures, 1 minute, 1 minute); a
	// negative AuthFailureLimit turns the limit off.
	AuthFailureLimit               int
	AuthFailureWindow, AuthLockout time.Duration

	// HTTP server timeouts, and how long Close waits for requests being
	// handled before it cuts them off.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout, ShutdownTimeout time.Duration
}

func (c *Config) setDefaults() {
	setDefault := func(p *time.Duration, d time.Duration) {
		if *p <= 0 {
			*p = d
		}
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = DefaultMaxConcurrent
	}
	if c.AuthFailureLimit == 0 {
		c.AuthFailureLimit = DefaultAuthFailureLimit
	}
	setDefault(&c.AuthFailureWindow, DefaultAuthFailureWindow)
	setDefault(&c.AuthLockout, DefaultAuthLockout)
	switch {
	case c.AuthFailureDelay == 0:
		c.AuthFailureDelay = DefaultAuthFailureDelay
	case c.AuthFailureDelay < 0:
		c.AuthFailureDelay = 0
	}
	setDefault(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&c.ReadTimeout, DefaultReadTimeout)
	setDefault(&c.WriteTimeout, DefaultWriteTimeout)
	setDefault(&c.IdleTimeout, DefaultIdleTimeout)
	setDefault(&c.ShutdownTimeout, DefaultShutdownTimeout)
}

// Server is the JSON-RPC server. Make one with [New], run it with
// [Server.Serve], stop it with [Server.Close].
type Server struct {
	cfg     Config
	backend Backend

	listeners []net.Listener
	http      *http.Server
	// Digests of the expected credentials, compared in constant time.
	userHash, passHash [sha256.Size]byte
	cookiePath         string // "" without cookie authentication
	cookie             string // the cookie file's content
	slots              chan struct{}
	exampleURL         string       // for help's examples
	limiter            *authLimiter // nil without a limit on failed authentications
	now                func() time.Time

	serving   atomic.Bool
	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// New checks cfg, listens on its addresses and, without configured
// credentials, writes the cookie file. The server answers once
// [Server.Serve] runs.
func New(cfg Config, b Backend) (*Server, error) {
	if b == nil {
		return nil, errors.New("rpcserver: no backend")
	}
	if len(cfg.Listen) == 0 {
		return nil, errors.New("rpcserver: no address to listen on")
	}
	if (cfg.User == "") != (cfg.Pass == "") {
		return nil, errors.New("rpcserver: set both the RPC user and password, or neither for cookie authentication")
	}
	if cfg.User == "" && cfg.CookieDir == "" {
		return nil, errors.New("rpcserver: no RPC credentials and no directory for the cookie file")
	}
	cfg.setDefaults()
	s := &Server{
		cfg:     cfg,
		backend: b,
		slots:   make(chan struct{}, cfg.MaxConcurrent),
		closed:  make(chan struct{}),
		now:     time.Now,
	}
	if cfg.AuthFailureLimit > 0 {
		s.limiter = newAuthLimiter(cfg.AuthFailureLimit, cfg.AuthFailureWindow, cfg.AuthLockout, MaxAuthTracked)
	}
	for _, addr := range cfg.Listen {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			s.closeListeners()
			return nil, fmt.Errorf("rpcserver: listen on %s: %w", addr, err)
		}
		s.listeners = append(s.listeners, l)
	}
	s.exampleURL = exampleURL(s.listeners[0].Addr())

	user, pass := cfg.User, cfg.Pass
	if user == "" {
		var err error
		if user, pass, err = s.writeCookie(cfg.CookieDir); err != nil {
			s.closeListeners()
			return nil, err
		}
	}
	s.userHash, s.passHash = sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))

	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          stdlog.New(logWriter{}, "", 0),
	}
	return s, nil
}

// logWriter sends the HTTP server's own messages to the debug log.
type logWriter struct{}

func (logWriter) Write(p []byte) (int, error) {
	log.Debugf("RPC HTTP server: %s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

// exampleURL is the URL that help's curl examples use.
func exampleURL(a net.Addr) string {
	host, port := "127.0.0.1", ""
	if ta, ok := a.(*net.TCPAddr); ok {
		port = fmt.Sprint(ta.Port)
		switch {
		case ta.IP.IsUnspecified() && ta.IP.To4() == nil:
			host = "::1"
		case !ta.IP.IsUnspecified():
			host = ta.IP.String()
		}
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// Addrs are the addresses the server listens on.
func (s *Server) Addrs() []net.Addr {
	addrs := make([]net.Addr, len(s.listeners))
	for i, l := range s.listeners {
		addrs[i] = l.Addr()
	}
	return addrs
}

// CookiePath is the cookie file's path, "" when the server uses
// configured credentials.
func (s *Server) CookiePath() string { return s.cookiePath }

// Serve answers requests until ctx ends or Close is called, then closes
// the server (as Close) and returns. It returns an error only if a
// listener fails; it may be called once.
func (s *Server) Serve(ctx context.Context) error {
	if !s.serving.CompareAndSwap(false, true) {
		return errors.New("rpcserver: Serve called twice")
	}
	errc := make(chan error, len(s.listeners))
	for _, l := range s.listeners {
		go func() { errc <- s.http.Serve(l) }()
	}
	var first error
	pending := len(s.listeners)
	record := func(err error) {
		pending--
		if first == nil && err != nil && !errors.Is(err, http.ErrServerClosed) {
			first = fmt.Errorf("rpcserver: %w", err)
		}
	}
	select {
	case <-ctx.Done():
	case <-s.closed:
	case err := <-errc:
		record(err)
	}
	closeErr := s.Close()
	for pending > 0 {
		record(<-errc)
	}
	if first == nil {
		first = closeErr
	}
	return first
}

// Close stops the server: it stops listening, waits up to the shutdown
// timeout for requests being handled (so that the reply to "stop" goes
// out), and removes the cookie file. It may be called more than once, but
// not from a Backend method, which would wait for itself.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		defer cancel()
		if err := s.http.Shutdown(ctx); err != nil {
			log.Warnf("RPC: requests still running after %v; closing their connections", s.cfg.ShutdownTimeout)
			_ = s.http.Close()
		}
		s.closeListeners()
		s.closeErr = s.removeCookie()
	})
	return s.closeErr
}

func (s *Server) closeListeners() {
	for _, l := range s.listeners {
		_ = l.Close()
	}
}

// writeCookie writes a new random cookie file in dir, as bitcoind's
// GenerateAuthCookie: to a temporary file first, then renamed, so that a
// reader never sees half a cookie. It returns the credentials.
func (s *Server) writeCookie(dir string) (user, pass string, err error) {
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", "", fmt.Errorf("rpcserver: cookie: %w", err)
	}
	user, pass = CookieUser, hex.EncodeToString(secret[:])
	content := user + ":" + pass
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("rpcserver: cookie directory: %w", err)
	}
	path := filepath.Join(dir, CookieFile)
	tmp := path + ".tmp"
	_ = os.Remove(tmp) // an old one may have other permissions
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", "", fmt.Errorf("rpcserver: cookie file: %w", err)
	}
	_, werr := io.WriteString(f, content)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, 0o600)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return "", "", fmt.Errorf("rpcserver: cookie file: %w", werr)
	}
	s.cookiePath, s.cookie = path, content
	log.Infof("RPC: generated the authentication cookie %s", path)
	return user, pass, nil
}

// removeCookie removes the cookie file, if it is still the one this
// server wrote.
func (s *Server) removeCookie() error {
	if s.cookiePath == "" {
		return nil
	}
	b, err := os.ReadFile(s.cookiePath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rpcserver: cookie file: %w", err)
	}
	if string(b) != s.cookie {
		log.Warnf("RPC: %s was replaced by someone else; leaving it", s.cookiePath)
		return nil
	}
	if err := os.Remove(s.cookiePath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rpcserver: cookie file: %w", err)
	}
	return nil
}

// authorized checks the request's basic authentication in constant time:
// the digests of user and password, both always compared, so that
// neither which part is wrong nor their lengths show in the timing.
func (s *Server) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	uh, ph := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	match := subtle.ConstantTimeCompare(uh[:], s.userHash[:]) &
		subtle.ConstantTimeCompare(ph[:], s.passHash[:])
	return ok && match == 1
}

// Authenticate checks r's HTTP basic credentials exactly as the RPC
// server checks its own requests, for another face that shares its
// credentials (the live page, internal/web): the configured user and
// password or the cookie, compared in constant time; failures count
// against the same per-address limit, wait the same delay, and are
// answered here (401 with a WWW-Authenticate challenge for realm, or 429
// while the address is locked out). It reports whether r may go on.
func (s *Server) Authenticate(w http.ResponseWriter, r *http.Request, realm string) bool {
	return s.authenticate(w, r, `Basic realm="`+realm+`"`, func() {})
}

// authenticate is Authenticate with the challenge header's value;
// release frees the request's work slot before a failure waits.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, challenge string, release func()) bool {
	if r.Header.Get("Authorization") == "" {
		w.Header().Set("WWW-Authenticate", challenge)
		w.WriteHeader(http.StatusUnauthorized)
		return false
	}
	ok := s.authorized(r)
	if s.limiter != nil {
		key := clientKey(r.RemoteAddr)
		allowed, retry, lockedNow := s.limiter.attempt(key, ok, s.now())
		if !allowed {
			release()
			log.Debugf("RPC: refused a request from %s: locked out after failed authentications", r.RemoteAddr)
			secs := strconv.FormatInt(int64((retry+time.Second-1)/time.Second), 10)
			w.Header().Set("Retry-After", secs)
			http.Error(w, "Too many failed authentication attempts from this address: try again in "+secs+" s", http.StatusTooManyRequests)
			return false
		}
		if lockedNow {
			log.Warnf("RPC: %d failed authentication attempts from %s within %v: refusing its requests for %v",
				s.cfg.AuthFailureLimit, key, s.cfg.AuthFailureWindow, s.cfg.AuthLockout)
		}
	}
	if !ok {
		log.Warnf("RPC: incorrect password attempt from %s", r.RemoteAddr)
		// Free the slot first: guesses that wait must not keep the
		// operator's requests out.
		release()
		if d := s.cfg.AuthFailureDelay; d > 0 {
			select { // deter guessing, as Core
			case <-time.After(d):
			case <-r.Context().Done():
			}
		}
		w.Header().Set("WWW-Authenticate", challenge)
		w.WriteHeader(http.StatusUnauthorized)
		return false
	}
	return true
}

// ServeHTTP answers an HTTP request, in Core's order (httpserver.cpp,
// httprpc.cpp): path, work queue, method, credentials, body.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		// Core serves "/" and, with a wallet, "/wallet/": peerd has none.
		w.WriteHeader(http.StatusNotFound)
		return
	}
	select {
	case s.slots <- struct{}{}:
	default:
		http.Error(w, "Work queue depth exceeded", http.StatusServiceUnavailable)
		return
	}
	held := true
	release := func() {
		if held {
			held = false
			<-s.slots
		}
	}
	defer release()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "JSONRPC server handles only POST requests", http.StatusMethodNotAllowed)
		return
	}
	if !s.authenticate(w, r, wwwAuthenticate, release) {
		return
	}
	if r.ContentLength > s.cfg.MaxBodyBytes {
		s.tooLarge(w)
		return
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		// At most MaxBodyBytes, checked above; MinRead more, so that
		// ReadFrom finds room for the EOF and does not grow the buffer
		// (to twice the body) at the end.
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	body := buf.Bytes()
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.tooLarge(w)
			return
		}
		log.Debugf("RPC: reading a request from %s: %v", r.RemoteAddr, err)
		http.Error(w, "Error reading the request body", http.StatusBadRequest)
		return
	}
	defer func() {
		// The methods' panics are caught in exec; this is for the rest.
		if v := recover(); v != nil {
			log.Errorf("RPC: panic answering %s: %v\n%s", r.RemoteAddr, v, debug.Stack())
			writeJSON(w, http.StatusInternalServerError,
				appendReply(nil, v1, nil, nil, NewError(CodeInternal, "Internal error")))
		}
	}()
	s.handleBody(w, body)
}

func (s *Server) tooLarge(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	http.Error(w, fmt.Sprintf("Request body too large: more than %d bytes", s.cfg.MaxBodyBytes), http.StatusRequestEntityTooLarge)
}

// exec runs a parsed request and returns its result as JSON, or its
// error. A panic in the method (or the backend) is -32603 "Internal
// error", and the server goes on.
func (s *Server) exec(req *request) (result json.RawMessage, rerr *Error) {
	m, ok := methods[req.method]
	if !ok || m.testOnly && !s.backend.TestNetwork() {
		return nil, NewError(CodeMethodNotFound, "Method not found")
	}
	log.Debugf("RPC: %s", m.name)
	defer func() {
		if v := recover(); v != nil {
			log.Errorf("RPC: panic in %s: %v\n%s", m.name, v, debug.Stack())
			result, rerr = nil, NewError(CodeInternal, "Internal error while running %s (see peerd's log)", m.name)
		}
	}()
	args, aerr := m.bind(s, req.params)
	if aerr != nil {
		return nil, aerr
	}
	v, err := m.run(s, args)
	if e, ok := err.(*Error); ok && e == nil {
		err = nil // a nil *Error returned as an error is no error
	}
	if err != nil {
		return nil, asRPCError(err)
	}
	b, err := marshalJSON(v)
	if err != nil {
		log.Errorf("RPC: encoding the result of %s: %v", m.name, err)
		return nil, NewError(CodeInternal, "Internal error: cannot encode the result of %s", m.name)
	}
	return b, nil
}

// String describes the server for logs: its addresses.
func (s *Server) String() string {
	addrs := make([]string, len(s.listeners))
	for i, l := range s.listeners {
		addrs[i] = l.Addr().String()
	}
	return "RPC server on " + strings.Join(addrs, ", ")
}
