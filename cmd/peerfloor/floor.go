package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
	flags "github.com/jessevdk/go-flags"

	"github.com/peerd/peerd/internal/netflags"
)

// version is peerfloor's version, peerd's.
const version = "0.1.0"

// userAgent is what the floor calls itself in its version message.
const userAgent = "/peerfloor:" + version + "/"

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

const (
	headerSize = wire.MessageHeaderSize        // 24
	maxPayload = wire.MaxProtocolMessageLength // 4,000,000
	// bufSize is each connection's read buffer: a version (about 110
	// bytes with its header) arrives in one read.
	bufSize = 512
)

type options struct {
	ShowVersion bool             `short:"V" long:"version" description:"Display version information and exit"`
	Listen      []string         `long:"listen" value-name:"HOST:PORT" description:"Address to listen on (repeatable; default: 127.0.0.1 on the network's P2P port, e.g. regtest 18444)"`
	RPCListen   string           `long:"rpclisten" value-name:"HOST:PORT" description:"Answer sendrawtransaction (announce the transaction to every connection at once), getconnectioncount and getpeerinfo over JSON-RPC on this loopback address: the floor of relay fan-out (off when empty)"`
	Network     netflags.Options `group:"Network Options"`
}

// run runs peerfloor with the command line args until ctx ends, and
// returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	p := flags.NewParser(&o, flags.HelpFlag|flags.PassDoubleDash)
	p.Name = "peerfloor"
	rest, err := p.ParseArgs(args)
	if err != nil {
		var fe *flags.Error
		if errors.As(err, &fe) && fe.Type == flags.ErrHelp {
			fmt.Fprintln(stdout, strings.TrimRight(fe.Message, "\n"))
			return exitOK
		}
		fmt.Fprintf(stderr, "peerfloor: %v\n", err)
		return exitUsage
	}
	if o.ShowVersion {
		fmt.Fprintf(stdout, "peerfloor version %s\n", version)
		return exitOK
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "peerfloor: unexpected argument %q\n", rest[0])
		return exitUsage
	}
	n, chosen := o.Network.Choose()
	if len(chosen) > 1 {
		fmt.Fprintf(stderr, "peerfloor: choose one network, not %s\n", strings.Join(chosen, " and "))
		return exitUsage
	}
	addrs := o.Listen
	if len(addrs) == 0 {
		addrs = []string{net.JoinHostPort("127.0.0.1", n.Params.DefaultPort)}
	}
	f, err := newFloor(n.Params.Net)
	if err != nil {
		fmt.Fprintf(stderr, "peerfloor: %v\n", err)
		return exitError
	}
	// No TCP keep-alive on accepted connections: Go turns it on by
	// default, at four setsockopt calls per connection, and a Bitcoin
	// connection has pings for that.
	lc := net.ListenConfig{KeepAlive: -1}
	var ls []net.Listener
	for _, a := range addrs {
		l, err := lc.Listen(ctx, "tcp", a)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			fmt.Fprintf(stderr, "peerfloor: %v\n", err)
			return exitError
		}
		ls = append(ls, l)
		fmt.Fprintf(stdout, "peerfloor: listening on %s (%s)\n", l.Addr(), n.Params.Name)
	}
	var wg sync.WaitGroup
	var rpc *http.Server
	if o.RPCListen != "" {
		rl, err := listenLoopback(ctx, o.RPCListen)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			fmt.Fprintf(stderr, "peerfloor: --rpclisten: %v\n", err)
			return exitError
		}
		rpc = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
		fmt.Fprintf(stdout, "peerfloor: relay RPC on %s\n", rl.Addr())
		wg.Go(func() { rpc.Serve(rl) })
	}
	for _, l := range ls {
		wg.Go(func() { f.serve(l) })
	}
	<-ctx.Done()
	if rpc != nil {
		rpc.Close()
	}
	for _, l := range ls {
		l.Close()
	}
	wg.Wait()
	return exitOK
}

// floor answers handshakes on a network (its magic) with pre-encoded
// bytes.
type floor struct {
	magic uint32
	hello []byte   // version, wtxidrelay, sendaddrv2, verack
	reg   registry // connections whose handshake is done, for the relay
}

// newFloor encodes the reply to a version once.
func newFloor(net wire.BitcoinNet) (*floor, error) {
	zero := &wire.NetAddress{Timestamp: time.Unix(0, 0)}
	v := wire.NewMsgVersion(zero, zero, rand.Uint64()|1, 0)
	v.UserAgent = userAgent
	v.Services = wire.SFNodeWitness
	var buf bytes.Buffer
	for _, m := range []wire.Message{v, wire.NewMsgWTxIdRelay(), wire.NewMsgSendAddrV2(), wire.NewMsgVerAck()} {
		if _, err := wire.WriteMessageN(&buf, m, wire.ProtocolVersion, net); err != nil {
			return nil, fmt.Errorf("encoding %s: %v", m.Command(), err)
		}
	}
	return &floor{magic: uint32(net), hello: buf.Bytes()}, nil
}

// serve accepts connections on l until it is closed, one goroutine each.
// The goroutines are not waited for: closing the listener does not close
// the connections (the process ends instead).
func (f *floor) serve(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors, or a connection reset before
			// accept: wait a little, as net/http does.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		go f.conn(c)
	}
}

// conn runs one connection: wait for a version, send hello, then discard
// everything but pings. buf[r:w] holds the bytes read and not yet parsed;
// skip counts payload bytes still to discard (they need not fit in buf).
func (f *floor) conn(c net.Conn) {
	defer c.Close()
	fc := &fconn{c: c, addr: c.RemoteAddr().String()}
	listed := false
	defer func() {
		if listed {
			f.reg.remove(fc)
		}
	}()
	buf := make([]byte, bufSize)
	r, w, skip := 0, 0, 0
	greeted, greetAfterSkip := false, false
	for {
		// Keep room for at least a header and a ping's nonce.
		if len(buf)-w < headerSize+8 {
			w = copy(buf, buf[r:w])
			r = 0
		}
		n, err := c.Read(buf[w:])
		if err != nil {
			return
		}
		w += n
		for {
			if skip > 0 {
				d := min(skip, w-r)
				r += d
				skip -= d
				if skip > 0 {
					break
				}
			}
			if greetAfterSkip {
				if err := fc.write(f.hello); err != nil {
					return
				}
				greeted, greetAfterSkip = true, false
			}
			if w-r < headerSize {
				break
			}
			h := buf[r : r+headerSize]
			if binary.LittleEndian.Uint32(h[0:4]) != f.magic {
				return
			}
			size := binary.LittleEndian.Uint32(h[16:20])
			if size > maxPayload {
				return
			}
			cmd := h[4:16]
			if greeted && size == 8 && isCommand(cmd, "ping") {
				if w-r < headerSize+8 {
					break // the nonce is still to come
				}
				if err := f.pong(fc, buf[r+headerSize:r+headerSize+8]); err != nil {
					return
				}
				r += headerSize + 8
				continue
			}
			switch {
			case !greeted && !greetAfterSkip && isCommand(cmd, "version"):
				greetAfterSkip = true
			case !listed && isCommand(cmd, "wtxidrelay"):
				fc.wtxid.Store(true)
			case !listed && greeted && isCommand(cmd, "verack"):
				// The handshake is done: the relay (--rpclisten)
				// may announce to this connection.
				f.reg.add(fc)
				listed = true
			}
			r += headerSize
			skip = int(size)
		}
		if r == w {
			r, w = 0, 0
		}
	}
}

// isCommand reports whether a header's 12-byte command field is name,
// NUL-padded.
func isCommand(field []byte, name string) bool {
	if string(field[:len(name)]) != name {
		return false
	}
	for _, b := range field[len(name):] {
		if b != 0 {
			return false
		}
	}
	return true
}

// pong writes a pong with nonce.
func (f *floor) pong(c *fconn, nonce []byte) error {
	var m [headerSize + 8]byte
	binary.LittleEndian.PutUint32(m[0:4], f.magic)
	copy(m[4:16], "pong")
	binary.LittleEndian.PutUint32(m[16:20], 8)
	first := sha256.Sum256(nonce)
	sum := sha256.Sum256(first[:])
	copy(m[20:24], sum[:4])
	copy(m[24:], nonce)
	return c.write(m[:])
}

// listenLoopback listens on addr, which must be a loopback address.
func listenLoopback(ctx context.Context, addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%s is not a loopback address", addr)
	}
	var lc net.ListenConfig
	return lc.Listen(ctx, "tcp", addr)
}
