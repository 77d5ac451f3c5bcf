package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/btcsuite/btcd/chaincfg/v2"
	flags "github.com/jessevdk/go-flags"

	"github.com/peerd/peerd/internal/appdir"
	"github.com/peerd/peerd/internal/netflags"
	"github.com/peerd/peerd/node"
)

const (
	defaultConfigFilename = "peerd.conf"
	defaultDataDirname    = "data"
	logFilename           = "peerd.log"
)

// config is peerd's configuration: the command line, over the configuration
// file, over the defaults. Options are grouped as in sample-node.conf.
//
// Values that are checked as they are parsed have their own types (see
// optypes.go); what depends on several options is checked by finish.
type config struct {
	ShowVersion bool     `short:"V" long:"version" no-ini:"true" description:"Display version information and exit"`
	ConfigFile  filePath `short:"C" long:"configfile" no-ini:"true" description:"Path to the configuration file; a missing file is fine unless this option names it"`
	DataDir     filePath `short:"b" long:"datadir" description:"Directory for peerd's files, which go in a subdirectory per network (created, mode 0700)"`

	Network  netflags.Options `group:"Network Options"`
	Conn     connOptions      `group:"Connection Options"`
	Protocol protocolOptions  `group:"Protocol Options"`
	Timeouts timeoutOptions   `group:"Timeout Options"`
	Relay    relayOptions     `group:"Relay Options"`
	RPC      rpcOptions       `group:"RPC Options"`
	Debug    debugOptions     `group:"Debug Options"`
	Log      logOptions       `group:"Logging Options"`

	// Set while loading.
	fileRead  bool // the configuration file existed and was read
	params    *chaincfg.Params
	rpcPort   string // the network's default RPC port
	userAgent string
	warnings  []string // for the log, once it is set up
}

type connOptions struct {
	Listen           []listenAddr   `long:"listen" description:"Interface/port to listen on, e.g. 127.0.0.1:18444 or :48333 (repeatable; default: all interfaces on the network's default port)"`
	NoListen         bool           `long:"nolisten" description:"Accept no inbound connections (overrides --listen)"`
	ExternalIP       []externalIP   `long:"externalip" description:"Advertise this address to peers as ours, e.g. 203.0.113.5 or [2001:db8::5]:8333 (repeatable; a missing port means the first --listen port; default: the --listen addresses that are routable, loopback counting on regtest and simnet)"`
	Connect          []peerAddr     `long:"connect" description:"Connect only to this peer, and reconnect when it drops (repeatable; no automatic outbound peers, feelers or DNS seeding)"`
	AddPeer          []peerAddr     `long:"addpeer" description:"Keep a connection to this peer, and reconnect when it drops (repeatable; besides the automatic outbound peers)"`
	MaxPeers         positiveInt    `long:"maxpeers" default:"125" description:"Maximum number of inbound and outbound peers"`
	TargetOutbound   nonNegativeInt `long:"targetoutbound" default:"8" description:"Number of automatic outbound full-relay peers to keep, from the address book, at most one per network group (besides --addpeer peers; none with --connect; 0: none)"`
	NoDNSSeed        bool           `long:"nodnsseed" description:"Do not look up peers in the network's DNS seeds"`
	NoV2Transport    bool           `long:"nov2transport" description:"Speak only the unencrypted v1 transport: no BIP 324, and NODE_P2P_V2 is not advertised (default: v2 with peers that offer it and with --connect/--addpeer peers, v1 fallback)"`
	MaxInboundPerIP  nonNegativeInt `long:"maxinboundperip" default:"0" description:"Maximum number of inbound connections from one IP address; more are closed as soon as they are accepted (0: no limit). Separately, at most 8 inbound connections from one /24 (IPv4) or /64 (IPv6) may be in their handshake at once"`
	Proxy            proxyAddr      `long:"proxy" description:"Connect to every outbound peer through this SOCKS5 proxy, HOST:PORT (a missing port means 9050, Tor's); host names, DNS seeds included, are resolved by the proxy, never here"`
	Onion            proxyAddr      `long:"onion" description:"SOCKS5 proxy for .onion peers (Tor v3), HOST:PORT (default: --proxy; without either, .onion addresses are never dialled)"`
	NoProxyRandomize bool           `long:"noproxyrandomize" description:"Send the proxies no credentials (default: random ones per connection, so that Tor gives each peer its own circuit)"`
	OnlyNet          []onlyNet      `long:"onlynet" description:"Make automatic outbound connections only to this network: ipv4, ipv6 or onion (repeatable; default: every network peerd can reach, onion only with --onion or --proxy). Peers named by --connect, --addpeer and addnode are not limited"`
}

// nonNegativeInt is a decimal integer of 0 or more, for limits where 0
// means none.
type nonNegativeInt int

func (n *nonNegativeInt) UnmarshalFlag(s string) error {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	if v < 0 {
		return fmt.Errorf("%d is negative", v)
	}
	*n = nonNegativeInt(v)
	return nil
}

func (n nonNegativeInt) MarshalFlag() (string, error) { return strconv.Itoa(int(n)), nil }

type protocolOptions struct {
	Services         serviceFlags `long:"services" default:"witness" description:"Services to advertise: none, or a comma-separated list of network, witness, network_limited, bloom, cf, or a number. peerd serves transactions with witnesses (btcd asks for them only from witness peers) but keeps no chain, so it advertises witness and not network. btcd keeps only OUTBOUND peers that advertise network: for a btcd to dial peerd, run peerd with --services=network,witness"`
	RequiredServices serviceFlags `long:"requiredservices" default:"witness" description:"Services an outbound peer must advertise, written as for --services (inbound peers are not checked)"`
	UAComments       []uaComment  `long:"uacomment" description:"Comment for the user agent, which becomes /peerd:VERSION(c1; c2)/ (BIP 14; repeatable). Letters, digits, spaces and . , ; - _ ? @ only; the whole user agent may have at most 256 bytes"`
}

// timeoutOptions are Go durations: 90s, 2m, 1h30m. They must be positive.
type timeoutOptions struct {
	PeerTimeout  positiveDuration `long:"peertimeout" default:"60s" description:"Time a peer has to complete the version handshake"`
	PingInterval positiveDuration `long:"pinginterval" default:"2m" description:"Time between pings to a peer"`
	PingTimeout  positiveDuration `long:"pingtimeout" default:"20m" description:"Disconnect a peer that leaves a ping unanswered this long"`
	IdleTimeout  positiveDuration `long:"idletimeout" default:"20m" description:"Disconnect a peer that sends nothing this long"`
	WriteTimeout positiveDuration `long:"writetimeout" default:"2m" description:"Disconnect a peer that takes longer than this to accept one message"`
}

type relayOptions struct {
	TrickleInterval       nonNegativeDuration `long:"trickleinterval" default:"5s" description:"Mean delay before announcing transactions to an inbound peer (Poisson; one timer shared by the inbound peers of each network); outbound peers each wait 2/5 of it, as in Bitcoin Core; 0 announces at once"`
	AddrTrickle           nonNegativeDuration `long:"addrtrickle" default:"30s" description:"Mean delay before sending a peer the addresses relayed to it, our own included (Poisson, as Bitcoin Core's 30 s); 0 sends them at once, for tests of a local network"`
	MaxMempool            positiveInt         `long:"maxmempool" default:"300" description:"Maximum size of the mempool in megabytes of serialized transactions"`
	MaxMempoolTxs         positiveInt         `long:"maxmempooltxs" default:"50000" description:"Maximum number of transactions in the mempool"`
	MempoolExpiry         positiveDuration    `long:"mempoolexpiry" default:"336h" description:"Drop transactions that have been in the mempool this long (336h = 14 days)"`
	Reannounce            positiveDuration    `long:"reannounce" default:"10m" description:"Re-announce transactions no peer has fetched yet every 1 to 1.5 times this"`
	PrivateBroadcast      bool                `long:"privatebroadcast" description:"Send the operator's transactions (sendrawtransaction) only over short-lived connections through the proxy, one transaction per connection, to random peers from the address book, until an ordinary peer announces them back (Bitcoin Core's -privatebroadcast); needs --proxy or --onion, and not --connect"`
	PrivateBroadcastPeers positiveInt         `long:"privatebroadcastpeers" default:"3" description:"Broadcast connections per transaction and round, with --privatebroadcast (Bitcoin Core: 3)"`
}

type rpcOptions struct {
	RPCListen []listenAddr `long:"rpclisten" description:"Interface/port for the JSON-RPC admin server (repeatable; default 127.0.0.1 on the network's RPC port: testnet4 48332, testnet 18332, signet 38332, regtest 18443, simnet 18556, mainnet 8332). An address that is not loopback needs --rpcuser and --rpcpass"`
	RPCUser   string       `long:"rpcuser" description:"Username for the RPC server (no ':'), with --rpcpass; without both, a random cookie is written to <datadir>/<network>/.cookie (mode 0600), as bitcoind does"`
	RPCPass   string       `long:"rpcpass" default-mask:"-" description:"Password for the RPC server, with --rpcuser"`
	NoRPC     bool         `long:"norpc" description:"Do not start the RPC server"`
	Web       webAddr      `long:"web" description:"Serve the live page (state machines, peers, transaction propagation) on this address, e.g. 127.0.0.1:8334 or a bare port (host 127.0.0.1; default: off), with the RPC server's credentials: --rpcuser/--rpcpass or the cookie. Not loopback needs --rpcuser and --rpcpass"`
	Metrics   metricsAddr  `long:"metrics" description:"Serve Prometheus metrics on http://ADDR/metrics, e.g. 127.0.0.1:9332 (a bare port number gets host 127.0.0.1, a bare host port 9332; default: off). No password: keep it on loopback"`
}

// debugOptions are the debug telnet mode's (package internal/telnet).
type debugOptions struct {
	Telnet     telnetAddr       `long:"telnet" description:"Listen for debug telnet sessions on this address, e.g. 127.0.0.1:8080 (a bare host gets port 8080, a bare port number host 127.0.0.1; default: off). The sessions have no password: keep it on loopback"`
	NoWire     bool             `long:"nowire" description:"Run only the debug telnet listener: no wire node, no mempool, no RPC server (needs --telnet)"`
	TelnetIdle positiveDuration `long:"telnetidle" default:"10m" description:"Close a debug telnet session that sends no line this long"`
}

type logOptions struct {
	DebugLevel     debugLevel     `short:"d" long:"debuglevel" default:"info" description:"Logging level: one of trace, debug, info, warn, error, critical, off for all subsystems, or SUBSYSTEM=level pairs separated by commas (subsystems: NODE, PEER, PRDD, RPCS, TLNT); a bare level in the list sets every subsystem, e.g. warn,PEER=debug"`
	NoLogFile      bool           `long:"nologfile" description:"Log to stdout only, not also to <datadir>/<network>/peerd.log"`
	MaxLogFileSize positiveInt    `long:"maxlogfilesize" default:"10" description:"Rotate the log file when it reaches this many megabytes: peerd.log becomes peerd.log.N.gz (gzipped) and a new peerd.log starts"`
	MaxLogFiles    nonNegativeInt `long:"maxlogfiles" default:"3" description:"Keep this many rotated log files (peerd.log.N.gz), the oldest removed first (0: keep them all)"`
	Profile        string         `long:"profile" description:"Serve Go's pprof profiles over HTTP on this loopback address, e.g. 127.0.0.1:6060 (off when empty; only loopback addresses are accepted)"`
}

// netDir is where the node's files go: <datadir>/<network name>.
func (c *config) netDir() string { return filepath.Join(string(c.DataDir), c.params.Name) }

// helpError is what loadConfig returns for --help: not a failure; the usage
// goes to stdout.
type helpError struct{ usage string }

func (e *helpError) Error() string { return e.usage }

// newParser returns the parser for cfg. Defaults come from the struct tags,
// but the paths', which depend on appDir (the platform's application data
// directory), are set here, so that --help shows them.
func newParser(cfg *config, appDir string) (*flags.Parser, error) {
	p := flags.NewNamedParser(appName, flags.HelpFlag|flags.PassDoubleDash)
	if _, err := p.AddGroup("Application Options", "", cfg); err != nil {
		return nil, fmt.Errorf("internal error: %v", err)
	}
	for name, def := range map[string]string{
		"configfile": filepath.Join(appDir, defaultConfigFilename),
		"datadir":    filepath.Join(appDir, defaultDataDirname),
	} {
		opt := p.FindOptionByLongName(name)
		if opt == nil {
			return nil, fmt.Errorf("internal error: no option %q", name)
		}
		opt.Default = []string{def}
	}
	return p, nil
}

// loadConfig reads the configuration as btcd does:
//
//  1. Parse the command line alone, for --help, --version and --configfile.
//  2. Parse the configuration file over the defaults. The default file may
//     be missing; one named with --configfile may not.
//  3. Parse the command line again, so that it takes precedence. A list
//     option given on the command line replaces the file's list.
//
// Errors are one line, naming the option and, for the file, its path and
// line; control characters in them (from the file's text, say) are
// escaped. appDir is the application data directory the default paths are
// in.
func loadConfig(args []string, appDir string) (*config, error) {
	cfg, err := readConfig(args, appDir)
	var he *helpError
	if err != nil && !errors.As(err, &he) {
		return nil, oneLine(err)
	}
	return cfg, err
}

// oneLine returns err, or when its message holds control characters
// (line breaks, terminal escapes) or invalid UTF-8, an error with them
// escaped as Go escapes them: a\rb for "a", CR, "b".
func oneLine(err error) error {
	msg := err.Error()
	clean := true
	for _, r := range msg {
		if r == utf8.RuneError || unicode.IsControl(r) && r != '\t' {
			clean = false
			break
		}
	}
	if clean {
		return err
	}
	var b strings.Builder
	for i := 0; i < len(msg); {
		r, size := utf8.DecodeRuneInString(msg[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, "\\x%02x", msg[i])
		case unicode.IsControl(r) && r != '\t':
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(msg[i : i+size])
		}
		i += size
	}
	return errors.New(b.String())
}

// readConfig is loadConfig, without the escaping.
func readConfig(args []string, appDir string) (*config, error) {
	var pre config
	preParser, err := newParser(&pre, appDir)
	if err != nil {
		return nil, err
	}
	// Any error here is a command line error, which the last pass would
	// meet again; report it now rather than after reading the file.
	if _, err := preParser.ParseArgs(args); err != nil {
		return nil, commandLineError(err)
	}
	if pre.ShowVersion {
		return &pre, nil
	}
	cfgOpt := preParser.FindOptionByLongName("configfile")
	explicit := cfgOpt.IsSet() && !cfgOpt.IsSetDefault()
	configFile := pre.ConfigFile.expand()

	var cfg config
	parser, err := newParser(&cfg, appDir)
	if err != nil {
		return nil, err
	}
	var data []byte
	if cfg.fileRead, data, err = parseConfigFile(parser, string(configFile), explicit); err != nil {
		return nil, err
	}
	rest, err := parser.ParseArgs(args)
	if err != nil {
		return nil, commandLineError(err)
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("unexpected argument %q: peerd takes only options (see peerd --help)", rest[0])
	}
	cfg.ConfigFile = configFile
	if err := networkConflict(&cfg, &pre, string(configFile), data); err != nil {
		return nil, err
	}
	if err := cfg.finish(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// parseConfigFile applies the configuration file at path and reports
// whether there was one, and its text.
func parseConfigFile(p *flags.Parser, path string, explicit bool) (bool, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !explicit {
			return false, nil, nil
		}
		return false, nil, fmt.Errorf("cannot read config file: %v", err)
	}
	if err := flags.NewIniParser(p).Parse(bytes.NewReader(data)); err != nil {
		return true, data, iniError(p, path, data, err)
	}
	return true, data, nil
}

// networkConflict reports two networks chosen at once, saying where each
// was chosen: on the command line (as in cmdLine, the command line parsed
// alone) or at a line of the configuration file at path, whose text is
// data. nil when at most one network is chosen.
func networkConflict(cfg, cmdLine *config, path string, data []byte) error {
	_, chosen := cfg.Network.Choose()
	if len(chosen) < 2 {
		return nil
	}
	_, onCmdLine := cmdLine.Network.Choose()
	var where []string
	var fileLines []string
	for _, flag := range chosen {
		if slices.Contains(onCmdLine, flag) {
			where = append(where, flag+" (on the command line)")
			continue
		}
		line := iniLine(data, strings.TrimPrefix(flag, "--"))
		where = append(where, fmt.Sprintf("%s (%s:%d)", flag, path, line))
		fileLines = append(fileLines, fmt.Sprintf("line %d", line))
	}
	cure := "choose one network"
	if len(fileLines) == 0 {
		return fmt.Errorf("%s cannot be used together: %s", strings.Join(chosen, " and "), cure)
	}
	cure += fmt.Sprintf(": remove %s of %s, or the flag", strings.Join(fileLines, " and "), path)
	return fmt.Errorf("%s cannot be used together: %s", strings.Join(where, " and "), cure)
}

// iniLine is the number (from 1) of the last line of the configuration
// file's text data that sets key, the last being the one that counts; 0
// when none does.
func iniLine(data []byte, key string) int {
	found := 0
	for i, l := range strings.Split(string(data), "\n") {
		k, _, _ := strings.Cut(l, "=")
		if strings.EqualFold(strings.TrimSpace(k), key) {
			found = i + 1
		}
	}
	return found
}

// iniError makes err, from parsing the configuration file at path, one line
// with the file, the line number and the option.
func iniError(p *flags.Parser, path string, data []byte, err error) error {
	var ie *flags.IniError
	if !errors.As(err, &ie) {
		return fmt.Errorf("%s: %v", path, err)
	}
	msg := ie.Message
	if key := iniKey(data, ie.LineNumber); key != "" {
		if opt := findOption(p, key); opt != nil {
			if opt.Field().Tag.Get("no-ini") != "" {
				msg = fmt.Sprintf("%s can only be given on the command line", key)
			} else {
				msg = fmt.Sprintf("invalid value for %s: %s", key, msg)
			}
		}
	}
	return fmt.Errorf("%s:%d: %s", path, ie.LineNumber, msg)
}

// iniKey returns the key of the key=value line at lineno (from 1) in data,
// or "".
func iniKey(data []byte, lineno uint) string {
	lines := strings.Split(string(data), "\n")
	if lineno < 1 || int(lineno) > len(lines) {
		return ""
	}
	key, _, ok := strings.Cut(lines[lineno-1], "=")
	if !ok {
		return ""
	}
	return strings.TrimSpace(key)
}

// findOption finds the option a configuration file key names, as go-flags
// matches them: long name, field name or short name.
func findOption(p *flags.Parser, key string) *flags.Option {
	var found *flags.Option
	eachOption(p, func(o *flags.Option) {
		short := o.ShortName != 0 && string(o.ShortName) == key
		if found == nil && (o.LongName == key || o.Field().Name == key || short) {
			found = o
		}
	})
	return found
}

// eachOption calls f on every option of p, group by group.
func eachOption(p *flags.Parser, f func(*flags.Option)) {
	var walk func(g *flags.Group)
	walk = func(g *flags.Group) {
		for _, o := range g.Options() {
			f(o)
		}
		for _, sub := range g.Groups() {
			walk(sub)
		}
	}
	walk(p.Command.Group)
}

// commandLineError turns a go-flags error into a one-line message; --help
// becomes a helpError.
func commandLineError(err error) error {
	var fe *flags.Error
	if !errors.As(err, &fe) {
		return err
	}
	switch fe.Type {
	case flags.ErrHelp:
		return &helpError{usage: fe.Message}
	case flags.ErrUnknownFlag:
		// "unknown flag `x'" becomes "unknown option -x".
		if name, ok := strings.CutPrefix(fe.Message, "unknown flag `"); ok {
			name = strings.TrimSuffix(name, "'")
			dash := "--"
			if utf8.RuneCountInString(name) == 1 {
				dash = "-"
			}
			return fmt.Errorf("unknown option %s%s (see peerd --help)", dash, name)
		}
		return fmt.Errorf("%s (see peerd --help)", fe.Message)
	case flags.ErrMarshal:
		// go-flags says "invalid argument for flag `-d, --debuglevel'
		// (expected main.debugLevel): <why>"; say "invalid value for
		// --debuglevel: <why>".
		const prefix = "invalid argument for flag `"
		msg, ok := strings.CutPrefix(fe.Message, prefix)
		if !ok {
			break
		}
		name, rest, ok := strings.Cut(msg, "'")
		if !ok {
			break
		}
		if _, after, ok := strings.Cut(rest, "): "); ok && strings.HasPrefix(rest, " (expected ") {
			rest = after
		} else {
			rest = strings.TrimPrefix(rest, ": ")
		}
		if i := strings.LastIndex(name, ", "); i >= 0 {
			name = name[i+2:]
		}
		return fmt.Errorf("invalid value for %s: %s", name, rest)
	}
	return errors.New(fe.Message)
}

// finish checks what depends on several options and derives the network
// parameters and the user agent.
func (c *config) finish() error {
	n, chosen := c.Network.Choose()
	c.params, c.rpcPort = n.Params, n.RPCPort
	if len(chosen) > 1 {
		return fmt.Errorf("%s cannot be used together: choose one network", strings.Join(chosen, " and "))
	}

	c.userAgent = userAgent(strs(c.Protocol.UAComments)...)
	if len(c.userAgent) > maxUserAgentLen {
		return fmt.Errorf("invalid value for --uacomment: the user agent would have %d bytes, more than %d; use fewer or shorter comments",
			len(c.userAgent), maxUserAgentLen)
	}

	c.DataDir = c.DataDir.expand()

	if c.Conn.NoListen && len(c.Conn.Listen) > 0 {
		c.warnings = append(c.warnings, "--nolisten is set: ignoring --listen "+strings.Join(strs(c.Conn.Listen), ", "))
	}
	if c.Debug.NoWire {
		if c.Debug.Telnet == "" {
			return errors.New("--nowire needs --telnet=ADDR: without the wire node, the debug telnet listener is all peerd runs")
		}
		var ignored []string
		for _, o := range []struct {
			name string
			set  bool
		}{
			{"--listen", len(c.Conn.Listen) > 0}, {"--connect", len(c.Conn.Connect) > 0},
			{"--addpeer", len(c.Conn.AddPeer) > 0}, {"--rpclisten", len(c.RPC.RPCListen) > 0},
		} {
			if o.set {
				ignored = append(ignored, o.name)
			}
		}
		if len(ignored) > 0 {
			c.warnings = append(c.warnings, "--nowire is set: ignoring "+strings.Join(ignored, ", "))
		}
	}
	if c.Relay.PrivateBroadcast {
		switch {
		case c.Conn.Proxy == "" && c.Conn.Onion == "":
			return errors.New("--privatebroadcast needs --proxy or --onion: its connections must not reveal this node's address (Bitcoin Core refuses it too without Tor or I2P)")
		case len(c.Conn.Connect) > 0:
			return errors.New("--privatebroadcast cannot be used with --connect: it must reach random peers from the address book")
		}
	}
	if slices.Contains(c.Conn.OnlyNet, "onion") && c.Conn.Proxy == "" && c.Conn.Onion == "" {
		return errors.New("--onlynet=onion needs a proxy to reach the Tor network: set --onion or --proxy")
	}
	if !c.RPC.NoRPC && !c.Debug.NoWire {
		if err := c.checkRPC(); err != nil {
			return err
		}
	}
	if err := c.checkWeb(); err != nil {
		return err
	}
	return c.checkProfile()
}

// checkProfile checks --profile: a loopback host and port, never more.
func (c *config) checkProfile() error {
	p := c.Log.Profile
	if p == "" {
		return nil
	}
	if _, port, err := net.SplitHostPort(p); err != nil || port == "" || !isLoopbackHost(listenHost(p)) {
		return fmt.Errorf("invalid value for --profile: %q is not a loopback host:port such as 127.0.0.1:6060", p)
	}
	return nil
}

// checkRPC checks the RPC server's options. The cookie file is for clients
// on the same machine: a server on another interface must have a user and
// a password.
func (c *config) checkRPC() error {
	r := c.RPC
	if (r.RPCUser == "") != (r.RPCPass == "") {
		return errors.New("--rpcuser and --rpcpass go together: set both, or neither for cookie authentication")
	}
	if strings.Contains(r.RPCUser, ":") {
		return errors.New("invalid value for --rpcuser: it may not contain ':', which ends the user name in HTTP basic authentication")
	}
	for _, a := range r.RPCListen {
		if isLoopbackHost(listenHost(string(a))) {
			continue
		}
		if r.RPCUser == "" {
			return fmt.Errorf("--rpclisten=%s is not loopback: set --rpcuser and --rpcpass to expose the RPC server", a)
		}
		c.warnings = append(c.warnings, fmt.Sprintf("--rpclisten=%s is not loopback: the RPC server is reachable from the network, "+
			"over plain HTTP (its password and requests are not encrypted)", a))
	}
	return nil
}

// listenHost is the host of a listen address ("" for every interface).
func listenHost(addr string) string {
	na, err := node.NormalizeAddr(addr, "1")
	if err != nil {
		return addr
	}
	host, _, err := net.SplitHostPort(na)
	if err != nil {
		return addr
	}
	return host
}

// isLoopbackHost reports whether host is a loopback IP address or
// "localhost". An empty host is every interface: not loopback.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// expandPath expands a leading "~" and environment variables ($VAR or
// ${VAR}) in path and cleans it. "~" is the home directory that the
// default paths are in (see package appdir); "~user" is another user's.
func expandPath(path string) string {
	rest, ok := strings.CutPrefix(path, "~")
	if !ok {
		return filepath.Clean(os.ExpandEnv(path))
	}
	name, tail := rest, ""
	if i := strings.IndexFunc(rest, func(r rune) bool { return r == '/' || r == filepath.Separator }); i >= 0 {
		name, tail = rest[:i], rest[i+1:]
	}
	home := homeDir(name)
	if home == "" {
		return filepath.Clean(os.ExpandEnv(path))
	}
	return filepath.Join(home, os.ExpandEnv(tail))
}

// homeDir returns the named user's home directory, or the current user's
// for "", as package appdir finds it ($HOME first); "" when unknown.
func homeDir(name string) string {
	if name != "" {
		if u, err := user.Lookup(name); err == nil {
			return u.HomeDir
		}
		return ""
	}
	return appdir.Home()
}
