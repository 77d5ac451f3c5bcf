package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	flags "github.com/jessevdk/go-flags"

	"github.com/peerd/peerd/internal/netflags"
)

// version is peerload's version, peerd's.
const version = "0.1.0"

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the run could not be completed
	exitUsage = 2 // bad command line
)

// onOff is a boolean option that can be turned off as well as on:
// --wtxid, --wtxid=true, --wtxid=false. (go-flags' bool options can only be
// turned on, so it may not have bool as its underlying type.)
type onOff uint8

// on reports whether the option is on.
func (b onOff) on() bool { return b != 0 }

// UnmarshalFlag implements flags.Unmarshaler.
func (b *onOff) UnmarshalFlag(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false, not %q", s)
	}
	*b = 0
	if v {
		*b = 1
	}
	return nil
}

// MarshalFlag implements flags.Marshaler.
func (b onOff) MarshalFlag() (string, error) { return strconv.FormatBool(b.on()), nil }

// options are the options shared by every mode: they come before the
// mode's name (go-flags also accepts them after it).
type options struct {
	ShowVersion bool `short:"V" long:"version" description:"Display version information and exit"`

	Conn struct {
		Target           string        `long:"target" value-name:"HOST:PORT" description:"The node's P2P address: peerd's, or any node's for handshake and hold (default: 127.0.0.1 on the network's P2P port: regtest 18444, testnet4 48333, ...)"`
		Peers            int           `long:"peers" default:"100" description:"Inbound connections to open to the target (relay, hold)"`
		WTxID            onOff         `long:"wtxid" default:"true" optional:"yes" optional-value:"true" value-name:"BOOL" description:"Negotiate wtxidrelay (BIP 339), so that peerd announces by wtxid (MSG_WTX); --wtxid=false: by txid (MSG_TX)"`
		V2               bool          `long:"v2" description:"Speak BIP 324 (the v2 encrypted transport) on every connection, as its initiator, before the version handshake; the target must accept v2 (peerd does by default, btcd with --v2transport)"`
		Rate             float64       `long:"rate" value-name:"PER_SECOND" description:"Start at most this many connections a second (handshake, hold, relay; 0: as fast as --workers or --dialers allow): for a target that refuses connections beyond a rate, such as btcd's v2 handshakes"`
		Dialers          int           `long:"dialers" default:"32" description:"Connections being opened and handshaken at once (relay, hold; handshake has --workers)"`
		HandshakeTimeout time.Duration `long:"handshaketimeout" default:"20s" description:"Time one connection has to complete its handshake"`
		StandbyTimeout   time.Duration `long:"standbytimeout" default:"60s" description:"Time the target has to report every connection ready (relay): peerd in standby, a node that reports no states (btcd) in getpeerinfo at all"`
	} `group:"Connection Options"`

	RPC struct {
		RPCServer  string        `long:"rpcserver" value-name:"HOST[:PORT]" description:"The node's RPC server, peerd's or btcd's (btcd: started with --notls) (default: 127.0.0.1 on the network's RPC port: regtest 18443, testnet4 48332, ...)"`
		RPCUser    string        `long:"rpcuser" description:"RPC user name, with --rpcpass (default: the cookie file's credentials)"`
		RPCPass    string        `long:"rpcpass" default-mask:"-" description:"RPC password, with --rpcuser"`
		DataDir    string        `long:"datadir" value-name:"DIR" description:"Read the credentials from DIR/.cookie or DIR/<network>/.cookie, as peerctl does"`
		RPCTimeout time.Duration `long:"rpctimeout" default:"30s" description:"How long to wait for one RPC reply"`
	} `group:"RPC Options (relay and fund only)"`

	Network netflags.Options `group:"Network Options"`

	Output struct {
		JSON  bool `long:"json" description:"Print the results as JSON instead of a table"`
		Quiet bool `short:"q" long:"quiet" description:"Print no progress on stderr"`
	} `group:"Output Options"`
}

// relayOptions are the relay mode's own.
type relayOptions struct {
	Txs       int           `long:"txs" default:"20" description:"Transactions to inject, one at a time"`
	TxTimeout time.Duration `long:"txtimeout" default:"10s" description:"How long to wait for every listener to announce a transaction before injecting the next"`
	Gap       time.Duration `long:"gap" default:"100ms" description:"Pause after a transaction has reached every listener, before the next"`
	Linger    time.Duration `long:"linger" default:"1s" description:"How long to keep listening after the last transaction, for late and duplicate invs"`
	Seed      uint64        `long:"seed" description:"Seed for the transactions' made-up inputs (default: random, so every run injects new transactions)"`
	TxFile    string        `long:"txfile" value-name:"FILE" description:"Inject the first --txs transactions of FILE (hex, one a line, as peerload fund writes them) instead of made-up ones: for a node that checks their inputs, such as btcd"`
	// Propagation: also read peerd's own record of when it sent each inv.
	Propagation onOff `long:"propagation" default:"true" optional:"yes" optional-value:"true" value-name:"BOOL" description:"After the run, read peerd's record of when it sent each inv (getmempoolentry), to tell peerd's share of the latency from the reading side's; skipped when the node keeps no such record (btcd)"`
}

// fundOptions are the fund mode's own.
type fundOptions struct {
	Txs     int    `long:"txs" default:"20" description:"Transactions to make"`
	Out     string `long:"out" value-name:"FILE" description:"Write them to FILE, hex, one a line (default: stdout)"`
	Fee     int64  `long:"fee" default:"10000" description:"Fee of each transaction, in satoshis"`
	Address bool   `long:"address" description:"Print the address the node must mine to (btcd's --miningaddr) and exit; needs no RPC"`
}

// network is what peerload needs to know of a network: its parameters
// (magic, P2P port), its RPC port, and the name of peerd's data
// subdirectory for it.
type network struct {
	params  *chaincfg.Params
	rpcPort string
}

func (o *options) chooseNetwork() (network, error) {
	n, chosen := o.Network.Choose()
	if len(chosen) > 1 {
		return network{}, fmt.Errorf("choose one network, not %s", strings.Join(chosen, " and "))
	}
	return network{n.Params, n.RPCPort}, nil
}

// hostPort is s (HOST, HOST:PORT, [IPv6]:PORT) with defPort when it has no
// port, 127.0.0.1:defPort when empty.
func hostPort(flag, s, defPort string) (string, error) {
	if s == "" {
		return net.JoinHostPort("127.0.0.1", defPort), nil
	}
	if strings.Contains(s, "/") {
		return "", fmt.Errorf("--%s=%s: want HOST or HOST:PORT, not a URL", flag, s)
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), defPort
		if strings.Contains(host, ":") && net.ParseIP(host) == nil {
			return "", fmt.Errorf("--%s=%s: want HOST or HOST:PORT", flag, s)
		}
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", fmt.Errorf("--%s=%s: bad port %q", flag, s, port)
	}
	return net.JoinHostPort(host, port), nil
}

// usageError is a bad command line: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// env is what a mode gets: the checked options and where to write.
type env struct {
	o              *options
	net            network
	target         string     // P2P host:port
	rpc            *rpcClient // nil unless the mode talks to the node's RPC server (relay, fund)
	stdout, stderr io.Writer
}

// progress writes a progress line on stderr unless --quiet.
func (e *env) progress(format string, args ...any) {
	if !e.o.Output.Quiet {
		fmt.Fprintf(e.stderr, "peerload: "+format+"\n", args...)
	}
}

// run runs peerload with the command line args and returns the exit code.
// appDir is peerd's application directory (its default data directory is
// appDir/data/<network>).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, appDir string) int {
	var o options
	var relay relayOptions
	var hs handshakeOptions
	var hold holdOptions
	var fund fundOptions
	p := flags.NewNamedParser("peerload", flags.HelpFlag|flags.PassDoubleDash)
	p.Usage = "[OPTIONS]"
	if _, err := p.AddGroup("Application Options", "", &o); err != nil {
		fmt.Fprintf(stderr, "peerload: internal error: %v\n", err)
		return exitError
	}
	for _, c := range []struct {
		name, short, long string
		data              any
	}{
		{"relay", "Measure how fast an injected transaction's inv reaches every connection",
			"Wait until the target reports every connection ready (peerd: in standby), inject --txs transactions " +
				"one at a time with sendrawtransaction, and measure, for each transaction and connection, the time " +
				"from the RPC call to the inv that announces it. Against btcd: --wtxid=false and --txfile (see fund).", &relay},
		{"handshake", "Measure the handshake rate: connect, handshake, close, again",
			"--workers connections at a time: each connects, completes the handshake (version, wtxidrelay, " +
				"sendaddrv2, verack), closes at once and starts again, until --count handshakes or --duration. " +
				"Reports handshakes per second, their latency, and with --pid the target's CPU time per handshake. " +
				"Needs no RPC: works against any node.", &hs},
		{"hold", "Open --peers connections, keep them, and measure the target's memory per peer",
			"Open --peers connections (--dialers at once), complete the handshake on each, keep them open for " +
				"--hold answering pings, and with --pid read the target's resident memory before, once all are open, " +
				"and at the end: its growth per held connection. Needs no RPC: works against any node.", &hold},
		{"fund", "Mine a regtest chain to a well-known key and write signed spends of its coinbases",
			"For relay against a node that checks inputs (btcd): over the node's RPC, mine (generate) until " +
				"the coinbases of blocks 1 to --txs are mature (--txs + 100 blocks on regtest), and write one signed " +
				"spend of each, hex, one a line, for relay --txfile. The node must mine to the address --address prints " +
				"(btcd --miningaddr), on a fresh chain.", &fund},
	} {
		if _, err := p.AddCommand(c.name, c.short, c.long, c.data); err != nil {
			fmt.Fprintf(stderr, "peerload: internal error: %v\n", err)
			return exitError
		}
	}
	if opt := p.FindOptionByLongName("datadir"); opt != nil {
		opt.Description += " (default: " + filepath.Join(appDir, "data", "<network>") + ")"
	}
	// --version needs no mode.
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-V" || a == "--version" {
			fmt.Fprintf(stdout, "peerload version %s\n", version)
			return exitOK
		}
	}
	rest, err := p.ParseArgs(args)
	if err != nil {
		var fe *flags.Error
		if errors.As(err, &fe) && fe.Type == flags.ErrHelp {
			fmt.Fprintln(stdout, strings.TrimRight(fe.Message, "\n"))
			return exitOK
		}
		fmt.Fprintf(stderr, "peerload: %v (see peerload --help)\n", err)
		return exitUsage
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "peerload: unexpected argument %q (see peerload --help)\n", rest[0])
		return exitUsage
	}
	// Only relay and fund talk to the node's RPC server: handshake and
	// hold work against any node (btcd, the floor), so they need no
	// credentials.
	needRPC := p.Active.Name == "relay" || (p.Active.Name == "fund" && !fund.Address)
	e, err := newEnv(&o, stdout, stderr, appDir, needRPC)
	if err == nil {
		switch p.Active.Name {
		case "relay":
			err = runRelay(ctx, e, &relay)
		case "fund":
			err = runFund(ctx, e, &fund)
		case "handshake":
			err = runHandshake(ctx, e, &hs)
		case "hold":
			err = runHold(ctx, e, &hold)
		default:
			err = fmt.Errorf("internal error: no mode %q", p.Active.Name)
		}
	}
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "peerload: %v (see peerload --help)\n", err)
			return exitUsage
		}
		fmt.Fprintf(stderr, "peerload: %v\n", err)
		return exitError
	}
	return exitOK
}

// newEnv checks the shared options. The RPC options are checked, and the
// credentials looked up, only when needRPC.
func newEnv(o *options, stdout, stderr io.Writer, appDir string, needRPC bool) (*env, error) {
	netw, err := o.chooseNetwork()
	if err != nil {
		return nil, &usageError{err.Error()}
	}
	c := &o.Conn
	switch {
	case c.Peers < 1:
		return nil, &usageError{"--peers must be at least 1"}
	case !(c.Rate >= 0):
		return nil, &usageError{"--rate must be 0 (no limit) or more"}
	case c.Dialers < 1:
		return nil, &usageError{"--dialers must be at least 1"}
	case c.HandshakeTimeout <= 0 || c.StandbyTimeout <= 0 || o.RPC.RPCTimeout <= 0:
		return nil, &usageError{"timeouts must be positive"}
	}
	target, err := hostPort("target", c.Target, netw.params.DefaultPort)
	if err != nil {
		return nil, &usageError{err.Error()}
	}
	e := &env{o: o, net: netw, target: target, stdout: stdout, stderr: stderr}
	if !needRPC {
		return e, nil
	}
	rpcAddr, err := hostPort("rpcserver", o.RPC.RPCServer, netw.rpcPort)
	if err != nil {
		return nil, &usageError{err.Error()}
	}
	user, pass, err := credentials(o, netw, appDir)
	if err != nil {
		return nil, err
	}
	e.rpc = newRPCClient(rpcAddr, user, pass, o.RPC.RPCTimeout)
	return e, nil
}
