// Command peerd is a small Bitcoin P2P node: it keeps connections to peers
// and answers the protocol's housekeeping (handshake, pings), and serves no
// blocks.
//
// This package only reads the configuration (see config.go and
// sample-node.conf), sets up logging, runs the node until SIGINT or
// SIGTERM, and reports errors as one line on stderr:
//
//	exit 0: stopped by a signal, or --help, --version
//	exit 1: could not start (data directory, log file, listening)
//	exit 2: bad configuration (command line or configuration file)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
	"github.com/btcsuite/btclog"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/internal/appdir"
	"github.com/peerd/peerd/internal/metrics"
	"github.com/peerd/peerd/internal/rpcserver"
	"github.com/peerd/peerd/internal/telnet"
	"github.com/peerd/peerd/mempool"
	"github.com/peerd/peerd/node"
	"github.com/peerd/peerd/peer"
	"github.com/peerd/peerd/peer/driver"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitConfig  = 2
)

func main() {
	restrictUmask()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs peerd with the command line args until SIGINT or SIGTERM and
// returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // from now on, a second signal ends the process at once
	}()
	d := daemon{stdout: stdout, stderr: stderr, appDir: appdir.Dir()}
	return d.run(ctx, args)
}

// daemon is what run takes from the process, so that tests can run peerd
// in-process.
type daemon struct {
	stdout, stderr io.Writer
	// appDir is the application data directory, where the default
	// configuration file and data directory are.
	appDir string
	// started, if set, is called once the node is listening, before it
	// serves.
	started func(*node.Node)
	// telnetStarted, if set, is called with the debug telnet listener's
	// address once it is bound.
	telnetStarted func(net.Addr)
}

// run runs peerd with the command line args until ctx ends and returns the
// exit code.
func (d daemon) run(ctx context.Context, args []string) int {
	cfg, err := loadConfig(args, d.appDir)
	if err != nil {
		var he *helpError
		if errors.As(err, &he) {
			fmt.Fprintln(d.stdout, strings.TrimRight(he.usage, "\n"))
			return exitOK
		}
		d.fail(err)
		return exitConfig
	}
	if cfg.ShowVersion {
		fmt.Fprintf(d.stdout, "%s version %s\n", appName, version)
		return exitOK
	}

	netDir := cfg.netDir()
	if err := os.MkdirAll(netDir, 0o700); err != nil {
		d.fail(fmt.Errorf("cannot create the data directory: %v", err))
		return exitFailure
	}
	logOut, logFile := d.stdout, "none (--nologfile)"
	if !cfg.Log.NoLogFile {
		logFile = filepath.Join(netDir, logFilename)
		f, err := openLogFile(logFile, int64(cfg.Log.MaxLogFileSize)*1000, int(cfg.Log.MaxLogFiles))
		if err != nil {
			d.fail(fmt.Errorf("cannot open the log file: %v", err))
			return exitFailure
		}
		// After the loggers are disabled (deferred below, so run first).
		defer f.Close()
		logOut = teeWriter{d.stdout, f}
	}
	lg, err := newLogging(logOut, string(cfg.Log.DebugLevel))
	if err != nil { // checked while parsing; cannot happen
		d.fail(err)
		return exitConfig
	}
	log := lg.logger(subsysMain)
	useLoggers(lg.logger(subsysPeer), lg.logger(subsysNode), lg.logger(subsysRPC), lg.logger(subsysTlnt))
	// Run and Serve return only after every goroutine they started has
	// ended, so no one uses these loggers any more.
	defer useLoggers(btclog.Disabled, btclog.Disabled, btclog.Disabled, btclog.Disabled)

	log.Infof("peerd version %s starting on %s", version, cfg.params.Name)
	if cfg.Log.Profile != "" {
		_, stopProfile, err := serveProfile(cfg.Log.Profile)
		if err != nil {
			log.Criticalf("Cannot serve profiles: %v", err)
			d.fail(err)
			return exitFailure
		}
		defer stopProfile()
		log.Infof("Serving pprof profiles on http://%s/debug/pprof/", cfg.Log.Profile)
	}
	conf := cfg.ConfigFile
	if !cfg.fileRead {
		conf += " (none there)"
	}
	log.Infof("Configuration file %s, data directory %s, log file %s", conf, netDir, logFile)
	for _, w := range cfg.warnings {
		log.Warn(w)
	}
	if cfg.Debug.NoWire {
		return d.runNoWire(ctx, cfg, log)
	}

	pool, err := mempool.Open(mempool.Config{
		Dir:      filepath.Join(netDir, "mempool"),
		MaxCount: int(cfg.Relay.MaxMempoolTxs),
		MaxBytes: int64(cfg.Relay.MaxMempool) << 20,
		Expiry:   time.Duration(cfg.Relay.MempoolExpiry),
	})
	if err != nil {
		if errors.Is(err, mempool.ErrLocked) {
			err = fmt.Errorf("another peerd is running with data directory %s (its mempool is locked): stop it, or give this one its own --datadir", cfg.DataDir)
		}
		log.Criticalf("Cannot open the mempool: %v", err)
		d.fail(err)
		return exitFailure
	}
	defer pool.Close()
	st := pool.LoadStats()
	log.Infof("Mempool: %d transactions loaded (%d expired, %d skipped)", st.Loaded, st.Expired, st.Skipped)

	ncfg := nodeConfig(cfg)
	ncfg.Mempool = pool
	ncfg.BanFile = filepath.Join(netDir, "banlist.json")
	ncfg.AddrBookFile = filepath.Join(netDir, "addrbook.dat")
	n, err := node.New(ncfg)
	if err != nil {
		err = portInUse(err, "--listen", cfg.params.Name, "--listen=:PORT with a free port, or --nolisten")
		log.Criticalf("Cannot start: %v", err)
		d.fail(err)
		return exitFailure
	}
	// The node sets NODE_P2P_V2 as BIP 324 is on or off.
	log.Infof("User agent %s, advertising services %s, requiring %s from outbound peers",
		cfg.userAgent, serviceFlags(n.Config().Peer.Machine.Handshake.Services), cfg.Protocol.RequiredServices)
	// The node says "Listening on ..." for each listener as it starts.
	if len(n.ListenAddrs()) == 0 {
		log.Info("Not listening for inbound peers (--nolisten)")
	}
	log.Info(outboundSummary(cfg))
	if s := proxySummary(cfg); s != "" {
		log.Info(s)
	}
	if cfg.Relay.PrivateBroadcast {
		log.Infof("Private broadcast: transactions from sendrawtransaction leave over %d new connections each, through the proxy, and join ordinary relay once an ordinary peer announces them back", cfg.Relay.PrivateBroadcastPeers)
	}

	// The node has its own context, so that the reason for the shutdown
	// is logged before the node's own shutdown messages.
	nodeCtx, stopNode := context.WithCancel(context.WithoutCancel(ctx))
	defer stopNode()
	runCtx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	ctx = runCtx
	admin := node.NewAdmin(n, versionNumber(), func() { stopRun(errors.New("stop requested over RPC")) })

	// The debug listener binds now and serves beside the node, on the
	// node's context.
	var tsrv *telnet.Server
	if cfg.Debug.Telnet != "" {
		if tsrv, err = d.startTelnet(cfg, admin, log); err != nil {
			return exitFailure
		}
		defer tsrv.Close() // in case it never serves
	}
	if !cfg.RPC.NoRPC {
		srv, err := rpcserver.New(rpcserver.Config{
			Listen:    rpcListen(cfg),
			User:      cfg.RPC.RPCUser,
			Pass:      cfg.RPC.RPCPass,
			CookieDir: netDir,
		}, admin)
		if err != nil {
			err = portInUse(err, "--rpclisten", cfg.params.Name, "--rpclisten=127.0.0.1:PORT with a free port (and peerctl --rpcserver=127.0.0.1:PORT), or --norpc")
			log.Criticalf("Cannot start the RPC server: %v", err)
			d.fail(err)
			return exitFailure
		}
		defer srv.Close()
		go srv.Serve(nodeCtx)
		log.Infof("RPC server on %s", strings.Join(addrStrings(srv.Addrs()), ", "))
		if cfg.RPC.Web != "" {
			ws, err := d.startWeb(cfg, admin, srv, log)
			if err != nil {
				return exitFailure
			}
			webDone := make(chan struct{})
			go func() { ws.Serve(nodeCtx); close(webDone) }()
			defer func() { ws.Close(); <-webDone }()
		}
	}
	if cfg.RPC.Metrics != "" {
		msrv, err := metrics.Listen(string(cfg.RPC.Metrics), n)
		if err != nil {
			log.Criticalf("Cannot start the metrics server (--metrics): %v", err)
			d.fail(fmt.Errorf("metrics server: %v", err))
			return exitFailure
		}
		go msrv.Serve(nodeCtx)
		log.Infof("Metrics on http://%s/metrics", msrv.Addr())
		if !isLoopback(msrv.Addr()) {
			log.Warnf("SECURITY: the metrics server on %s is NOT on a loopback address and has no password", msrv.Addr())
		}
	}
	if d.started != nil {
		d.started(n)
	}
	var telnetDone chan error
	if tsrv != nil {
		telnetDone = make(chan error, 1)
		go func() { telnetDone <- tsrv.Serve(nodeCtx) }()
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(nodeCtx) }()
	select {
	case <-ctx.Done():
		log.Infof("Shutting down: %v", context.Cause(ctx))
		stopNode()
		err = <-done
	case err = <-done:
		stopNode()
	}
	if telnetDone != nil {
		if terr := <-telnetDone; terr != nil {
			log.Errorf("Debug telnet listener: %v", terr)
		}
	}
	if err != nil {
		log.Criticalf("Node stopped: %v", err)
		d.fail(err)
		return exitFailure
	}
	log.Info("Shutdown complete")
	return exitOK
}

// The debug console runs on the operator interface, as the RPC server does.
var _ telnet.Console = (*node.Admin)(nil)

// runNoWire runs the debug telnet listener alone (--nowire): no wire
// node, no mempool, no RPC server.
func (d daemon) runNoWire(ctx context.Context, cfg *config, log btclog.Logger) int {
	log.Info("No wire node (--nowire): no peers, no mempool, no RPC server; only the debug telnet listener")
	srv, err := d.startTelnet(cfg, telnet.Offline("no wire node (--nowire)"), log)
	if err != nil {
		return exitFailure
	}
	serveCtx, stopServe := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServe()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(serveCtx) }()
	select {
	case <-ctx.Done():
		log.Infof("Shutting down: %v", context.Cause(ctx))
		stopServe()
		err = <-done
	case err = <-done:
	}
	if err != nil {
		log.Criticalf("Debug telnet listener stopped: %v", err)
		d.fail(err)
		return exitFailure
	}
	log.Info("Shutdown complete")
	return exitOK
}

// startTelnet binds the debug telnet listener; it reports its own errors.
func (d daemon) startTelnet(cfg *config, console telnet.Console, log btclog.Logger) (*telnet.Server, error) {
	srv, err := telnet.New(telnet.Config{
		Listen:  string(cfg.Debug.Telnet),
		Idle:    time.Duration(cfg.Debug.TelnetIdle),
		Console: console,
		Version: version,
		Network: cfg.params.Name,
	})
	if err != nil {
		err = portInUse(fmt.Errorf("debug telnet listener: %w", err), "--telnet", cfg.params.Name, "--telnet=127.0.0.1:PORT with a free port")
		log.Criticalf("Cannot start the debug telnet listener: %v", err)
		d.fail(err)
		return nil, err
	}
	log.Infof("Debug telnet listener on %s (telnet %s; sessions close after %v idle)",
		srv.Addr(), strings.Replace(srv.Addr().String(), ":", " ", 1), time.Duration(cfg.Debug.TelnetIdle))
	if !isLoopback(srv.Addr()) {
		log.Warnf("SECURITY: the debug telnet listener on %s is NOT on a loopback address. "+
			"Its sessions have no password: anyone who reaches this port can disconnect every peer and inject transactions. "+
			"Use --telnet=127.0.0.1:PORT unless you mean it", srv.Addr())
	}
	if d.telnetStarted != nil {
		d.telnetStarted(srv.Addr())
	}
	return srv, nil
}

// portInUse names the option and the cure when err is a listen address
// already in use; other errors are returned as they are.
func portInUse(err error, option, network, fix string) error {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return err
	}
	return fmt.Errorf("%s: %w: another program (another peerd, or a bitcoind or btcd on %s?) has that port; use %s", option, err, network, fix)
}

// isLoopback reports whether a is a loopback address (not a wildcard).
func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// fail reports err as one line on stderr.
func (d daemon) fail(err error) {
	msg := strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(err.Error())
	fmt.Fprintf(d.stderr, "%s: %s\n", appName, msg)
}

// outboundSummary says how the node finds outbound peers.
func outboundSummary(cfg *config) string {
	switch c := cfg.Conn; {
	case len(c.Connect) > 0 && len(c.AddPeer) > 0:
		return fmt.Sprintf("Outbound peers: %s (--connect), %s (--addpeer)",
			strings.Join(strs(c.Connect), ", "), strings.Join(strs(c.AddPeer), ", "))
	case len(c.Connect) > 0:
		return "Outbound peers: only " + strings.Join(strs(c.Connect), ", ") + " (--connect)"
	case len(c.AddPeer) > 0:
		return fmt.Sprintf("Outbound peers: %s (--addpeer), and %d from the address book", strings.Join(strs(c.AddPeer), ", "), c.TargetOutbound)
	case c.NoDNSSeed || len(cfg.params.DNSSeeds) == 0:
		return fmt.Sprintf("Outbound peers: %d from the address book (no DNS seeds)", c.TargetOutbound)
	default:
		return fmt.Sprintf("Outbound peers: %d from the address book, which the DNS seeds of %s fill when needed", c.TargetOutbound, cfg.params.Name)
	}
}

// proxySummary says which proxies outbound connections go through; "" for
// none.
func proxySummary(cfg *config) string {
	c := cfg.Conn
	creds := "random credentials per connection"
	if c.NoProxyRandomize {
		creds = "no credentials"
	}
	var parts []string
	if c.Proxy != "" {
		parts = append(parts, fmt.Sprintf("every outbound connection through SOCKS5 proxy %s (DNS seeds asked by name through it)", c.Proxy))
	}
	switch {
	case c.Onion != "":
		parts = append(parts, fmt.Sprintf(".onion through %s", c.Onion))
	case c.Proxy == "":
		return ""
	}
	s := "Proxy: " + strings.Join(parts, ", ") + "; " + creds
	if len(c.OnlyNet) > 0 {
		s += "; automatic connections only to " + strings.Join(strs(c.OnlyNet), ", ")
	}
	return s
}

// targetOutbound is --targetoutbound for the node, where 0 means the
// default and a negative number none.
func targetOutbound(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// nodeConfig is the node's configuration for cfg. The lists are copies:
// node.New normalizes them in place.
func nodeConfig(cfg *config) node.Config {
	t := cfg.Timeouts
	return node.Config{
		Params:                cfg.params,
		Listen:                strs(cfg.Conn.Listen),
		NoListen:              cfg.Conn.NoListen,
		Connect:               strs(cfg.Conn.Connect),
		AddPeer:               strs(cfg.Conn.AddPeer),
		ExternalIPs:           strs(cfg.Conn.ExternalIP),
		MaxPeers:              int(cfg.Conn.MaxPeers),
		TargetOutbound:        targetOutbound(int(cfg.Conn.TargetOutbound)),
		MaxPerAddress:         int(cfg.Conn.MaxInboundPerIP),
		NoDNSSeed:             cfg.Conn.NoDNSSeed,
		Proxy:                 string(cfg.Conn.Proxy),
		Onion:                 string(cfg.Conn.Onion),
		NoProxyRandomize:      cfg.Conn.NoProxyRandomize,
		OnlyNet:               strs(cfg.Conn.OnlyNet),
		V2Transport:           !cfg.Conn.NoV2Transport,
		Reannounce:            time.Duration(cfg.Relay.Reannounce),
		PrivateBroadcast:      cfg.Relay.PrivateBroadcast,
		PrivateBroadcastPeers: int(cfg.Relay.PrivateBroadcastPeers),
		Peer: driver.Config{
			Machine: peer.Config{
				Handshake: handshake.Config{
					UserAgent:        cfg.userAgent,
					Services:         wire.ServiceFlag(cfg.Protocol.Services),
					RequiredServices: wire.ServiceFlag(cfg.Protocol.RequiredServices),
					Timeout:          time.Duration(t.PeerTimeout),
				},
				PingInterval: time.Duration(t.PingInterval),
				Trickle:      time.Duration(cfg.Relay.TrickleInterval),
				AddrTrickle:  time.Duration(cfg.Relay.AddrTrickle),
				PingTimeout:  time.Duration(t.PingTimeout),
				IdleTimeout:  time.Duration(t.IdleTimeout),
			},
			WriteTimeout: time.Duration(t.WriteTimeout),
		},
	}
}

// rpcListen is --rpclisten, or 127.0.0.1 on the network's RPC port.
func rpcListen(cfg *config) []string {
	port := cfg.rpcPort
	if len(cfg.RPC.RPCListen) == 0 {
		return []string{net.JoinHostPort("127.0.0.1", port)}
	}
	out := make([]string, len(cfg.RPC.RPCListen))
	for i, a := range cfg.RPC.RPCListen {
		out[i], _ = node.NormalizeAddr(string(a), port)
	}
	return out
}

// versionNumber is the version as Bitcoin Core writes its own: 0.1.0 is 100.
func versionNumber() int {
	var major, minor, patch int
	fmt.Sscanf(version, "%d.%d.%d", &major, &minor, &patch)
	return major*10_000 + minor*100 + patch
}

func addrStrings(as []net.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}
