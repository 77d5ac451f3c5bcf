// Package telnet is peerd's debug mode: a TCP server for people with a
// telnet client. Each session runs the seed's textual protocol (package
// internal/debugproto) and echoes every transition of its state machine;
// lines that start with "/" go to a small console over the node's operator
// interface instead (see [Console]).
//
// The server speaks just enough telnet for a real client: it strips telnet
// commands and refuses every option by silence (see lineReader), so the
// client stays in its default line-at-a-time mode with local echo; it
// answers DO TIMING-MARK (which a client sends with Ctrl-C and waits for)
// and handles interrupt (IP), abort output (AO) and are-you-there (AYT)
// (see session.command); it accepts CR LF, LF, CR NUL and bare CR as line
// endings. Every resource is bounded: lines
// (MaxLineBytes), sessions (MaxSessions), idle time (Idle), and the time a
// write may take.
package telnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/peerd/peerd/internal/debugproto"
	"github.com/peerd/peerd/internal/fsm"
)

// Defaults for the zero values of Config.
const (
	DefaultIdle         = 10 * time.Minute
	DefaultMaxLineBytes = 512
	DefaultMaxSessions  = 16
)

const (
	// writeTimeout bounds one write to a session: a client that stops
	// reading is dropped rather than holding its goroutine.
	writeTimeout = 10 * time.Second
	// lingerTime is how long a closing session waits for the client to
	// close its side, reading and discarding at most lingerBytes, so that
	// unread input does not turn our close into a reset that could lose
	// the goodbye line.
	lingerTime  = 250 * time.Millisecond
	lingerBytes = 64 << 10
	// shutdownGrace is how long Serve lets sessions say goodbye when its
	// context ends before it closes their connections.
	shutdownGrace = 2 * time.Second
	// readBuf is the size of a session's read buffer.
	readBuf = 512
)

// Config configures a Server.
type Config struct {
	// Listen is the TCP address to listen on, e.g. "127.0.0.1:8080".
	Listen string
	// Idle closes a session that sends no complete line this long
	// (default 10 minutes).
	Idle time.Duration
	// MaxLineBytes is the longest line accepted (default 512 bytes,
	// without the line ending); a longer one is refused and discarded.
	MaxLineBytes int
	// MaxSessions is how many sessions may be open at once (default 16);
	// one more is told the server is busy and closed.
	MaxSessions int
	// Console serves the console commands; nil or an [Offline] value
	// answers wire commands with a one-line refusal.
	Console Console
	// Version and Network are shown in the greeting, e.g. "0.1.0" and
	// "regtest".
	Version, Network string
}

// Server is a debug telnet server. Create it with New, run it with Serve.
type Server struct {
	cfg Config
	ln  net.Listener

	closing atomic.Bool // set when Serve is shutting down
	wg      sync.WaitGroup

	mu       sync.Mutex
	sessions map[*session]struct{}
	nextID   uint64
}

// New checks cfg, fills in defaults and binds the listener.
func New(cfg Config) (*Server, error) {
	if cfg.Listen == "" {
		return nil, errors.New("telnet: no listen address")
	}
	if cfg.Idle <= 0 {
		cfg.Idle = DefaultIdle
	}
	if cfg.MaxLineBytes <= 0 {
		cfg.MaxLineBytes = DefaultMaxLineBytes
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, ln: ln, sessions: map[*session]struct{}{}}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close closes the listener, for a server whose Serve will not run; a
// running Serve returns as if its context had ended.
func (s *Server) Close() error { return s.ln.Close() }

// Serve accepts sessions until ctx ends (or Close is called). Then it
// stops accepting, tells every session that peerd is shutting down (the
// session's machine steps HangUp, so the move to closed shows), closes
// them, and returns only after every goroutine it started has exited. It
// returns nil, or the error that stopped accepting. Call it once.
func (s *Server) Serve(ctx context.Context) error {
	stopped := make(chan struct{})
	var closer sync.WaitGroup
	closer.Go(func() {
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		s.ln.Close()
	})
	err := s.acceptLoop(ctx)
	close(stopped)
	closer.Wait()
	s.shutdown()
	return err
}

func (s *Server) acceptLoop(ctx context.Context) error {
	backoff := 5 * time.Millisecond
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like: wait and go on, as
			// net/http does.
			log.Warnf("Debug listener: accept: %v; retrying in %v", err, backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		s.admit(c)
	}
}

// admit starts a session on c, or tells it the server is busy.
func (s *Server) admit(c net.Conn) {
	s.mu.Lock()
	if len(s.sessions) >= s.cfg.MaxSessions {
		s.mu.Unlock()
		log.Warnf("Debug session from %s refused: %d sessions open, the most allowed", c.RemoteAddr(), s.cfg.MaxSessions)
		s.wg.Go(func() {
			c.SetWriteDeadline(time.Now().Add(time.Second))
			fmt.Fprintf(c, "peerd is busy: all %d debug sessions are taken; try again later\r\n", s.cfg.MaxSessions)
			lingerClose(c)
		})
		return
	}
	s.nextID++
	ss := &session{srv: s, id: s.nextID, conn: c, remote: c.RemoteAddr().String()}
	s.sessions[ss] = struct{}{}
	s.mu.Unlock()
	s.wg.Go(ss.run)
}

// shutdown ends every session: first by waking its read so that it says
// goodbye, then, after shutdownGrace, by closing its connection.
func (s *Server) shutdown() {
	s.closing.Store(true)
	s.mu.Lock()
	for ss := range s.sessions {
		ss.conn.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	all := make(chan struct{})
	go func() { s.wg.Wait(); close(all) }()
	select {
	case <-all:
		return
	case <-time.After(shutdownGrace):
	}
	s.mu.Lock()
	for ss := range s.sessions {
		ss.conn.Close()
	}
	s.mu.Unlock()
	<-all
}

func (s *Server) remove(ss *session) {
	s.mu.Lock()
	delete(s.sessions, ss)
	s.mu.Unlock()
}

// lingerClose half-closes c, reads what the client still sends for a
// moment, and closes it.
func lingerClose(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		if tc.CloseWrite() == nil {
			tc.SetReadDeadline(time.Now().Add(lingerTime))
			io.Copy(io.Discard, io.LimitReader(tc, lingerBytes))
		}
	}
	c.Close()
}

// session is one telnet session. Its goroutine (run) owns everything here.
type session struct {
	srv    *Server
	id     uint64
	conn   net.Conn
	remote string
	m      *debugproto.Machine

	out      bytes.Buffer // lines to send at the next flush
	finished bool         // the session ends after this flush
	dead     bool         // the connection is gone: write nothing more
}

func (ss *session) run() {
	defer ss.srv.remove(ss)
	defer func() {
		if r := recover(); r != nil {
			log.Errorf("Debug session %d (%s): internal error: %v\n%s", ss.id, ss.remote, r, debug.Stack())
			ss.conn.Close()
		}
	}()
	cfg := &ss.srv.cfg
	log.Infof("Debug session %d from %s", ss.id, ss.remote)
	ss.m = debugproto.New(fsm.ObserverFunc(ss.transitioned))

	ss.say(fmt.Sprintf("peerd %s on %s: debug session %d (telnet debug mode)", cfg.Version, cfg.Network, ss.id))
	if o, ok := cfg.Console.(Offline); ok {
		ss.say(fmt.Sprintf("(%s: the console's wire commands are off)", string(o)))
	}
	ss.step(debugproto.Event{Kind: debugproto.Start, Now: time.Now()})
	ss.say("you are in " + ss.m.Path() + ": say " + debugproto.WordPingQ + " to start; /help for console commands")
	ss.flush()
	ss.resetIdle()

	lr := newLineReader(cfg.MaxLineBytes)
	lr.onCmd = ss.command
	buf := make([]byte, readBuf)
	for !ss.finished {
		n, err := ss.conn.Read(buf)
		if n > 0 {
			more := lr.feed(buf[:n], ss.line)
			ss.flush() // what the commands without a line said
			if !more {
				break
			}
		}
		if err != nil {
			ss.readFailed(err)
		}
	}
	log.Infof("Debug session %d (%s) closed in state %s", ss.id, ss.remote, ss.m.Path())
	if ss.dead {
		ss.conn.Close()
	} else {
		lingerClose(ss.conn)
	}
}

// transitioned echoes a transition to the session and logs it.
func (ss *session) transitioned(t fsm.Transition) {
	ss.say(fmt.Sprintf("[%s -> %s on %s]", t.From, t.To, t.On))
	log.Debugf("Debug session %d (%s): %v", ss.id, ss.remote, t)
}

// line handles one line from the client; it returns false once the
// session is over.
func (ss *session) line(b []byte, tooLong bool) bool {
	ss.resetIdle()
	switch {
	case tooLong:
		ss.say(fmt.Sprintf("(line too long: more than %d bytes; discarded; you are in %s)", ss.srv.cfg.MaxLineBytes, ss.m.Path()))
	case len(b) > 0 && b[0] == '/':
		out, quit := command(ss.srv.cfg.Console, string(b))
		ss.say(out...)
		if quit {
			ss.hangUp("bye")
		}
	default:
		ss.step(debugproto.Event{Kind: debugproto.Line, Now: time.Now(), Line: string(b)})
	}
	ss.flush()
	return !ss.finished
}

// command answers the telnet commands a client waits on or a person
// means (see lineReader): Debian's telnet sends IAC IP IAC DO TIMING-MARK
// for Ctrl-C and discards everything it receives until the answer to DO
// TIMING-MARK arrives, so that answer (WILL TIMING-MARK, as most servers
// give) goes out before anything else queued. IP drops the line typed so
// far and says where the session is, AO drops the output not sent yet,
// AYT answers with one line. Other options are left unanswered: they stay
// off, as RFC 854 lets a server do.
func (ss *session) command(cmd, opt byte) {
	switch {
	case cmd == cmdDO && opt == optTimingMark:
		pending := slices.Clone(ss.out.Bytes())
		ss.out.Reset()
		ss.out.Write([]byte{cmdIAC, cmdWILL, optTimingMark})
		ss.out.Write(pending)
	case cmd == cmdIP:
		// The client's terminal has echoed ^C after what was typed:
		// start a line of our own.
		ss.say("", "(interrupted: the line was dropped; you are in "+ss.m.Path()+")")
	case cmd == cmdAO:
		ss.out.Reset()
		ss.say("", "(output aborted; you are in "+ss.m.Path()+")")
	case cmd == cmdAYT:
		ss.say(fmt.Sprintf("[yes: peerd debug session %d, in %s]", ss.id, ss.m.Path()))
	}
}

// readFailed ends the session after a read error: a deadline (idle, or
// the server shutting down) gets a goodbye; anything else means the
// client is gone.
func (ss *session) readFailed(err error) {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout() && ss.srv.closing.Load():
		ss.hangUp("peerd is shutting down: bye")
	case errors.As(err, &ne) && ne.Timeout():
		ss.hangUp(fmt.Sprintf("idle for %v: bye", ss.srv.cfg.Idle))
	default:
		if !errors.Is(err, io.EOF) {
			log.Debugf("Debug session %d (%s): %v", ss.id, ss.remote, err)
		}
		ss.dead = true
		ss.hangUp("")
	}
	ss.flush()
}

// hangUp steps HangUp, which moves the machine to closed and orders the
// close, and then says why (if anything): the transition and then the
// goodbye, in the order BYE's come.
func (ss *session) hangUp(why string) {
	ss.step(debugproto.Event{Kind: debugproto.HangUp, Now: time.Now()})
	if why != "" {
		ss.say(why)
	}
	ss.finished = true
}

func (ss *session) step(ev debugproto.Event) {
	var acts []debugproto.Action
	ss.m.Step(ev, &acts)
	for _, a := range acts {
		if a.Reply != "" {
			ss.say(a.Reply)
		}
		if a.Close {
			ss.finished = true
		}
	}
}

// resetIdle restarts the idle deadline; during shutdown it keeps the read
// woken instead.
func (ss *session) resetIdle() {
	ss.conn.SetReadDeadline(time.Now().Add(ss.srv.cfg.Idle))
	if ss.srv.closing.Load() {
		ss.conn.SetReadDeadline(time.Now())
	}
}

// say queues lines for the next flush, made safe for a terminal.
func (ss *session) say(lines ...string) {
	for _, l := range lines {
		ss.out.WriteString(printable(l))
		ss.out.WriteString("\r\n")
	}
}

func (ss *session) flush() {
	defer ss.out.Reset()
	if ss.dead || ss.out.Len() == 0 {
		return
	}
	ss.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := ss.conn.Write(ss.out.Bytes()); err != nil {
		log.Debugf("Debug session %d (%s): %v", ss.id, ss.remote, err)
		ss.dead, ss.finished = true, true
	}
}

// printable replaces what a terminal could take for a command (control
// characters, bytes that are not UTF-8, among them telnet's 0xFF) with "?".
func printable(s string) string {
	ok := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	b := make([]rune, 0, len(s))
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			r = '?'
		}
		b = append(b, r)
	}
	return string(b)
}
