package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"github.com/btcsuite/btclog"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/internal/netflags"
	"github.com/peerd/peerd/internal/telnet"
	"github.com/peerd/peerd/node"
	"github.com/peerd/peerd/peer"
	"github.com/peerd/peerd/peer/driver"
)

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfigDefaults(t *testing.T) {
	appDir := t.TempDir() // no peerd.conf: a missing default file is fine
	cfg, err := loadConfig(nil, appDir)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", what, got, want)
		}
	}
	check("params", cfg.params, &chaincfg.TestNet4Params)
	check("ConfigFile", cfg.ConfigFile, filePath(filepath.Join(appDir, "peerd.conf")))
	check("DataDir", cfg.DataDir, filePath(filepath.Join(appDir, "data")))
	check("netDir", cfg.netDir(), filepath.Join(appDir, "data", "testnet4"))
	check("Network", cfg.Network, netflags.Options{})
	check("Listen", cfg.Conn.Listen, []listenAddr(nil))
	check("Connect", cfg.Conn.Connect, []peerAddr(nil))
	check("AddPeer", cfg.Conn.AddPeer, []peerAddr(nil))
	check("NoListen", cfg.Conn.NoListen, false)
	check("NoDNSSeed", cfg.Conn.NoDNSSeed, false)
	check("MaxPeers", cfg.Conn.MaxPeers, positiveInt(125))
	check("TargetOutbound", cfg.Conn.TargetOutbound, nonNegativeInt(8))
	check("MaxInboundPerIP", cfg.Conn.MaxInboundPerIP, nonNegativeInt(0))
	check("Services", cfg.Protocol.Services, serviceFlags(wire.SFNodeWitness))
	check("RequiredServices", cfg.Protocol.RequiredServices, serviceFlags(wire.SFNodeWitness))
	check("UAComments", cfg.Protocol.UAComments, []uaComment(nil))
	check("userAgent", cfg.userAgent, "/peerd:0.1.0/")
	check("Timeouts", cfg.Timeouts, timeoutOptions{
		PeerTimeout:  positiveDuration(60 * time.Second),
		PingInterval: positiveDuration(2 * time.Minute),
		PingTimeout:  positiveDuration(20 * time.Minute),
		IdleTimeout:  positiveDuration(20 * time.Minute),
		WriteTimeout: positiveDuration(2 * time.Minute),
	})
	check("Debug", cfg.Debug, debugOptions{TelnetIdle: positiveDuration(10 * time.Minute)})
	check("Log", cfg.Log, logOptions{DebugLevel: "info", MaxLogFileSize: 10, MaxLogFiles: 3})
	check("warnings", cfg.warnings, []string(nil))

	// peerd's defaults are the packages' own.
	check("maxpeers vs node", int(cfg.Conn.MaxPeers), node.DefaultMaxPeers)
	check("targetoutbound vs node", int(cfg.Conn.TargetOutbound), node.DefaultTargetOutbound)
	check("peertimeout vs handshake", time.Duration(cfg.Timeouts.PeerTimeout), handshake.DefaultTimeout)
	check("pinginterval vs peer", time.Duration(cfg.Timeouts.PingInterval), peer.DefaultPingInterval)
	check("pingtimeout vs peer", time.Duration(cfg.Timeouts.PingTimeout), peer.DefaultPingTimeout)
	check("idletimeout vs peer", time.Duration(cfg.Timeouts.IdleTimeout), peer.DefaultIdleTimeout)
	check("writetimeout vs peer", time.Duration(cfg.Timeouts.WriteTimeout), driver.DefaultWriteTimeout)
	check("telnetidle vs telnet", time.Duration(cfg.Debug.TelnetIdle), telnet.DefaultIdle)
}

func TestNodeConfig(t *testing.T) {
	cfg, err := loadConfig([]string{
		"--regtest", "--listen=127.0.0.1:0", "--listen=[::1]", "--connect=192.0.2.1",
		"--addpeer=192.0.2.2:1234", "--maxpeers=9", "--targetoutbound=3", "--nodnsseed", "--maxinboundperip=3",
		"--services=network,witness", "--requiredservices=network", "--uacomment=a b",
		"--peertimeout=1s", "--pinginterval=2s", "--pingtimeout=3s", "--idletimeout=4s", "--writetimeout=5s",
	}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	got := nodeConfig(cfg)
	want := node.Config{
		Params:                &chaincfg.RegressionNetParams,
		Listen:                []string{"127.0.0.1:0", "[::1]"},
		Connect:               []string{"192.0.2.1"},
		AddPeer:               []string{"192.0.2.2:1234"},
		MaxPeers:              9,
		TargetOutbound:        3,
		MaxPerAddress:         3,
		PrivateBroadcastPeers: 3,
		NoDNSSeed:             true,
		V2Transport:           true,
		Peer: driver.Config{
			Machine: peer.Config{
				Handshake: handshake.Config{
					UserAgent:        "/peerd:0.1.0(a b)/",
					Services:         wire.SFNodeNetwork | wire.SFNodeWitness,
					RequiredServices: wire.SFNodeNetwork,
					Timeout:          time.Second,
				},
				PingInterval: 2 * time.Second,
				PingTimeout:  3 * time.Second,
				IdleTimeout:  4 * time.Second,
				Trickle:      5 * time.Second,
				AddrTrickle:  peer.DefaultAddrTrickle,
			},
			WriteTimeout: 5 * time.Second,
		},
		Reannounce: 10 * time.Minute,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("nodeConfig =\n%+v\nwant\n%+v", got, want)
	}
	// node.New normalizes the lists in place; the configuration keeps its own.
	got.Connect[0] = "changed"
	if cfg.Conn.Connect[0] != "192.0.2.1" {
		t.Fatal("nodeConfig shares its lists with the configuration")
	}
}

func TestLoadConfigNetworks(t *testing.T) {
	for _, tc := range []struct {
		flag   string
		params *chaincfg.Params
		magic  wire.BitcoinNet
	}{
		{"--testnet4", &chaincfg.TestNet4Params, wire.TestNet4},
		{"--testnet", &chaincfg.TestNet3Params, wire.TestNet3},
		{"--signet", &chaincfg.SigNetParams, chaincfg.SigNetParams.Net},
		{"--regtest", &chaincfg.RegressionNetParams, wire.TestNet}, // regtest's magic is wire.TestNet
		{"--simnet", &chaincfg.SimNetParams, wire.SimNet},
		{"--mainnet", &chaincfg.MainNetParams, wire.MainNet},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			appDir := t.TempDir()
			cfg, err := loadConfig([]string{tc.flag}, appDir)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.params != tc.params || cfg.params.Net != tc.magic {
				t.Fatalf("%s: params %s (magic %v), want %s (magic %v)",
					tc.flag, cfg.params.Name, cfg.params.Net, tc.params.Name, tc.magic)
			}
			if want := filepath.Join(appDir, "data", tc.params.Name); cfg.netDir() != want {
				t.Fatalf("netDir %s, want %s", cfg.netDir(), want)
			}
		})
	}
}

// TestLoadConfig covers the command line and the configuration file. A
// case's file, when set, is written to a temporary file given with -C
// before the case's args; "FILE" in want and wantErr stands for its path.
func TestLoadConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    string
		args    []string
		check   func(*config) string // returns what is wrong, or ""
		wantErr []string             // substrings of the error
	}{
		// Networks.
		{name: "two networks", args: []string{"--regtest", "--signet"},
			wantErr: []string{"--signet and --regtest cannot be used together"}},
		{name: "network in file and on command line", file: "regtest=1\n", args: []string{"--simnet"},
			wantErr: []string{"--regtest (", "test.conf:1) and --simnet (on the command line) cannot be used together: choose one network: remove line 1 of "}},

		// Durations.
		{name: "bad duration", args: []string{"--pingtimeout=soon"},
			wantErr: []string{"invalid value for --pingtimeout", `"soon" is not a duration`}},
		{name: "duration without unit", args: []string{"--peertimeout", "60"},
			wantErr: []string{"invalid value for --peertimeout", `"60" is not a duration`}},
		{name: "negative duration", args: []string{"--idletimeout=-5s"},
			wantErr: []string{"invalid value for --idletimeout", `"-5s" is not positive`}},
		{name: "zero duration", args: []string{"--writetimeout=0s"},
			wantErr: []string{"invalid value for --writetimeout", `"0s" is not positive`}},
		{name: "durations", args: []string{"--peertimeout=1m30s", "--pinginterval=500ms"},
			check: func(c *config) string {
				if c.Timeouts.PeerTimeout != positiveDuration(90*time.Second) ||
					c.Timeouts.PingInterval != positiveDuration(500*time.Millisecond) {
					return "durations not applied"
				}
				return ""
			}},

		// Unknown options and arguments.
		{name: "unknown long option", args: []string{"--bogus"},
			wantErr: []string{"unknown option --bogus"}},
		{name: "unknown short option", args: []string{"-x"},
			wantErr: []string{"unknown option -x"}},
		{name: "positional argument", args: []string{"--regtest", "extra"},
			wantErr: []string{`unexpected argument "extra"`}},
		{name: "missing value", args: []string{"--listen"},
			wantErr: []string{"expected argument", "--listen"}},

		// The debug telnet mode.
		{name: "telnet host and port", args: []string{"--telnet=127.0.0.1:9000"},
			check: telnetIs("127.0.0.1:9000", false, 10*time.Minute)},
		{name: "telnet bare host gets port 8080", args: []string{"--telnet=localhost"},
			check: telnetIs("localhost:8080", false, 10*time.Minute)},
		{name: "telnet bare IPv6 host gets port 8080", args: []string{"--telnet=[::1]"},
			check: telnetIs("[::1]:8080", false, 10*time.Minute)},
		{name: "telnet bare port gets loopback", args: []string{"--telnet=9001"},
			check: telnetIs("127.0.0.1:9001", false, 10*time.Minute)},
		{name: "telnet every interface", args: []string{"--telnet=:9002"},
			check: telnetIs(":9002", false, 10*time.Minute)},
		{name: "telnet empty is off", file: "telnet=\n",
			check: telnetIs("", false, 10*time.Minute)},
		{name: "telnet from file, nowire, idle", file: "telnet=127.0.0.1\nnowire=1\ntelnetidle=30s\n",
			check: telnetIs("127.0.0.1:8080", true, 30*time.Second)},
		{name: "telnet bad port", args: []string{"--telnet=127.0.0.1:99999"},
			wantErr: []string{"invalid value for --telnet", "port"}},
		{name: "telnet bare port too large", args: []string{"--telnet=70000"},
			wantErr: []string{"invalid value for --telnet", "port"}},
		{name: "nowire without telnet", args: []string{"--nowire"},
			wantErr: []string{"--nowire needs --telnet"}},
		{name: "telnetidle zero", args: []string{"--telnetidle=0s"},
			wantErr: []string{"invalid value for --telnetidle", "not positive"}},
		{name: "nowire ignores wire and RPC options",
			args: []string{"--nowire", "--telnet=127.0.0.1:0", "--connect=192.0.2.1", "--listen=127.0.0.1:0", "--rpclisten=127.0.0.1:0"},
			check: func(c *config) string {
				if want := []string{"--nowire is set: ignoring --listen, --connect, --rpclisten"}; !reflect.DeepEqual(c.warnings, want) {
					return fmt.Sprintf("warnings %q, want %q", c.warnings, want)
				}
				return ""
			}},

		// The RPC server: a non-loopback address needs a user and password.
		{name: "rpclisten every interface without credentials", args: []string{"--rpclisten=:18443"},
			wantErr: []string{"--rpclisten=:18443 is not loopback: set --rpcuser and --rpcpass to expose the RPC server"}},
		{name: "rpclisten 0.0.0.0 without credentials", args: []string{"--rpclisten=0.0.0.0"},
			wantErr: []string{"--rpclisten=0.0.0.0 is not loopback"}},
		{name: "rpclisten [::] without credentials", args: []string{"--rpclisten=[::]:1"},
			wantErr: []string{"--rpclisten=[::]:1 is not loopback"}},
		{name: "rpclisten public address without credentials", args: []string{"--rpclisten=192.0.2.1:8332"},
			wantErr: []string{"--rpclisten=192.0.2.1:8332 is not loopback"}},
		{name: "rpclisten host name without credentials", args: []string{"--rpclisten=example.com:8332"},
			wantErr: []string{"--rpclisten=example.com:8332 is not loopback"}},
		{name: "rpclisten second address not loopback", args: []string{"--rpclisten=127.0.0.1:1", "--rpclisten=10.1.2.3:2"},
			wantErr: []string{"--rpclisten=10.1.2.3:2 is not loopback"}},
		{name: "rpclisten from file without credentials", file: "rpclisten=0.0.0.0:8332\n",
			wantErr: []string{"--rpclisten=0.0.0.0:8332 is not loopback: set --rpcuser and --rpcpass"}},
		{name: "rpclisten loopback addresses",
			args: []string{"--rpclisten=127.0.0.1", "--rpclisten=127.0.0.2:1", "--rpclisten=[::1]:2", "--rpclisten=[::1]",
				"--rpclisten=localhost", "--rpclisten=LocalHost:3", "--rpclisten=[::ffff:127.0.0.1]:4", "--rpclisten=127.0.0.1:0"},
			check: func(c *config) string {
				if len(c.RPC.RPCListen) != 8 || c.warnings != nil {
					return fmt.Sprintf("rpclisten %q, warnings %q", c.RPC.RPCListen, c.warnings)
				}
				return ""
			}},
		{name: "rpclisten everywhere with credentials", args: []string{"--rpclisten=0.0.0.0:8332", "--rpcuser=op", "--rpcpass=secret"},
			check: func(c *config) string {
				if len(c.warnings) != 1 || !strings.Contains(c.warnings[0], "--rpclisten=0.0.0.0:8332 is not loopback: the RPC server is reachable from the network") {
					return fmt.Sprintf("warnings %q", c.warnings)
				}
				return ""
			}},
		{name: "rpclisten everywhere with norpc", args: []string{"--rpclisten=0.0.0.0:8332", "--norpc"}},
		{name: "rpclisten everywhere with nowire", args: []string{"--rpclisten=0.0.0.0:8332", "--nowire", "--telnet=127.0.0.1:0"}},
		{name: "rpcuser without rpcpass", args: []string{"--rpcuser=op"},
			wantErr: []string{"--rpcuser and --rpcpass go together: set both, or neither for cookie authentication"}},
		{name: "rpcpass without rpcuser", args: []string{"--rpcpass=secret"},
			wantErr: []string{"--rpcuser and --rpcpass go together"}},
		{name: "rpcuser in file, empty rpcpass on command line", file: "rpcuser=op\nrpcpass=secret\n", args: []string{"--rpcpass="},
			wantErr: []string{"--rpcuser and --rpcpass go together"}},
		{name: "rpcuser and rpcpass from file", file: "rpcuser=op\nrpcpass=secret\nrpclisten=[::]:1\n",
			check: func(c *config) string {
				if c.RPC.RPCUser != "op" || c.RPC.RPCPass != "secret" {
					return "credentials not applied"
				}
				return ""
			}},
		{name: "rpcuser with a colon", args: []string{"--rpcuser=a:b", "--rpcpass=secret"},
			wantErr: []string{"invalid value for --rpcuser", "':'"}},

		// --debuglevel.
		{name: "unknown subsystem", args: []string{"--debuglevel=PEER=debug,FOO=trace"},
			wantErr: []string{"invalid value for --debuglevel", `unknown subsystem "FOO"`, "NODE, PEER, PRDD"}},
		{name: "unknown level", args: []string{"-d", "loud"},
			wantErr: []string{"invalid value for --debuglevel", `unknown level "loud"`}},
		{name: "unknown level in pair", args: []string{"-d", "NODE=loud"},
			wantErr: []string{`unknown level "loud" in "NODE=loud"`}},
		{name: "debuglevel pairs", args: []string{"-d", "warn,PEER=trace"},
			check: func(c *config) string {
				if c.Log.DebugLevel != "warn,PEER=trace" {
					return "debuglevel not kept"
				}
				return ""
			}},

		// --services.
		{name: "bad service name", args: []string{"--services=network,blocks"},
			wantErr: []string{"invalid value for --services", `unknown service "blocks"`}},
		{name: "bad required service", args: []string{"--requiredservices=nope"},
			wantErr: []string{"invalid value for --requiredservices", `unknown service "nope"`}},
		{name: "services", args: []string{"--services=network, WITNESS", "--requiredservices=none"},
			check: func(c *config) string {
				if c.Protocol.Services != serviceFlags(wire.SFNodeNetwork|wire.SFNodeWitness) || c.Protocol.RequiredServices != 0 {
					return "services not applied"
				}
				return ""
			}},

		// --uacomment.
		{name: "uacomment slash", args: []string{"--uacomment=a/b"},
			wantErr: []string{"invalid value for --uacomment", `'/'`, "reserved by BIP 14"}},
		{name: "uacomment colon", args: []string{"--uacomment=x:y"}, wantErr: []string{`':'`}},
		{name: "uacomment parenthesis", args: []string{"--uacomment=(x"}, wantErr: []string{`'('`}},
		{name: "uacomment closing parenthesis", args: []string{"--uacomment=x)"}, wantErr: []string{`')'`}},
		{name: "uacomment outside Core's set", args: []string{"--uacomment=café"}, wantErr: []string{`'é'`, "not allowed"}},
		{name: "uacomment empty", args: []string{"--uacomment="}, wantErr: []string{"empty comment"}},
		{name: "uacomment too long",
			args:    []string{"--uacomment=" + strings.Repeat("a", 200), "--uacomment=" + strings.Repeat("b", 40)},
			wantErr: []string{"invalid value for --uacomment", "257 bytes, more than 256"}},
		{name: "uacomment longest", args: []string{"--uacomment=" + strings.Repeat("a", 241)},
			check: func(c *config) string {
				if len(c.userAgent) != 256 {
					return "user agent is not 256 bytes"
				}
				return ""
			}},
		{name: "uacomments", args: []string{"--uacomment=a b", "--uacomment=x.y-z_1?@,;"},
			check: func(c *config) string {
				if c.userAgent != "/peerd:0.1.0(a b; x.y-z_1?@,;)/" {
					return "user agent " + c.userAgent
				}
				return ""
			}},

		// Other values.
		{name: "maxpeers zero", args: []string{"--maxpeers=0"},
			wantErr: []string{"invalid value for --maxpeers", "0 is less than 1"}},
		{name: "maxinboundperip negative", args: []string{"--maxinboundperip=-1"},
			wantErr: []string{"invalid value for --maxinboundperip", "-1 is negative"}},
		{name: "maxinboundperip not a number", file: "maxinboundperip=few\n",
			wantErr: []string{"FILE:1: invalid value for maxinboundperip", `"few" is not a whole number`}},
		{name: "maxinboundperip from file", file: "maxinboundperip=2\n",
			check: func(c *config) string {
				if got := nodeConfig(c).MaxPerAddress; got != 2 {
					return fmt.Sprintf("node.Config.MaxPerAddress = %d, want 2", got)
				}
				return ""
			}},
		{name: "listen port too big", args: []string{"--listen=127.0.0.1:65536"},
			wantErr: []string{"invalid value for --listen", `port "65536"`}},
		{name: "externalip a name", args: []string{"--externalip=example.org"},
			wantErr: []string{"invalid value for --externalip", "not an IP address"}},
		{name: "externalip repeated", args: []string{"--externalip=203.0.113.5", "--externalip=[2001:db8::5]:8333"},
			check: func(c *config) string {
				if got := nodeConfig(c).ExternalIPs; fmt.Sprint(got) != "[203.0.113.5 [2001:db8::5]:8333]" {
					return fmt.Sprintf("node.Config.ExternalIPs = %q", got)
				}
				return ""
			}},
		{name: "proxy and onion", args: []string{"--proxy=127.0.0.1", "--onion=[::1]:9150", "--noproxyrandomize", "--onlynet=ipv4", "--onlynet=ONION"},
			check: func(c *config) string {
				n := nodeConfig(c)
				if n.Proxy != "127.0.0.1:9050" || n.Onion != "[::1]:9150" || !n.NoProxyRandomize || fmt.Sprint(n.OnlyNet) != "[ipv4 onion]" {
					return fmt.Sprintf("node.Config proxy %q onion %q norandomize %v onlynet %q", n.Proxy, n.Onion, n.NoProxyRandomize, n.OnlyNet)
				}
				if s := proxySummary(c); !strings.Contains(s, "127.0.0.1:9050") || !strings.Contains(s, ".onion through [::1]:9150") || !strings.Contains(s, "no credentials") {
					return "summary: " + s
				}
				return ""
			}},
		{name: "proxy without host", args: []string{"--proxy=:9050"},
			wantErr: []string{"invalid value for --proxy", "has no host"}},
		{name: "onlynet unknown", args: []string{"--onlynet=i2p"},
			wantErr: []string{"invalid value for --onlynet", `"i2p" is not a network`}},
		{name: "onlynet onion without a proxy", args: []string{"--onlynet=onion"},
			wantErr: []string{"--onlynet=onion needs a proxy"}},
		{name: "privatebroadcast without a proxy", args: []string{"--privatebroadcast"},
			wantErr: []string{"--privatebroadcast needs --proxy or --onion"}},
		{name: "privatebroadcast with connect", args: []string{"--privatebroadcast", "--proxy=127.0.0.1:9050", "--connect=192.0.2.1"},
			wantErr: []string{"--privatebroadcast cannot be used with --connect"}},
		{name: "privatebroadcast through a proxy", args: []string{"--privatebroadcast", "--onion=127.0.0.1:9050", "--privatebroadcastpeers=5", "--targetoutbound=0"},
			check: func(c *config) string {
				n := nodeConfig(c)
				if !n.PrivateBroadcast || n.PrivateBroadcastPeers != 5 || n.TargetOutbound >= 0 {
					return fmt.Sprintf("node.Config private %v peers %d target %d", n.PrivateBroadcast, n.PrivateBroadcastPeers, n.TargetOutbound)
				}
				return ""
			}},
		{name: "connect without host", args: []string{"--connect=:8333"},
			wantErr: []string{"invalid value for --connect", "has no host"}},
		{name: "nolisten overrides listen", args: []string{"--nolisten", "--listen=127.0.0.1"},
			check: func(c *config) string {
				if len(c.warnings) != 1 || !strings.Contains(c.warnings[0], "ignoring --listen 127.0.0.1") {
					return "no warning"
				}
				return ""
			}},
		{name: "empty datadir in file", file: "regtest=1\ndatadir=\n",
			wantErr: []string{"FILE:2: invalid value for datadir: empty path"}},
		{name: "empty configfile", args: []string{"--configfile="},
			wantErr: []string{"invalid value for --configfile: empty path"}},
		{name: "datadir with ~ and $VAR", args: []string{"--datadir=~/x/$PEERD_TEST_UNSET/y"},
			check: func(c *config) string {
				if want := filepath.Join(homeDir(""), "x", "y"); string(c.DataDir) != want {
					return "datadir " + string(c.DataDir)
				}
				return ""
			}},

		// The configuration file.
		{name: "file applied and overridden",
			file: "[Application Options]\n; a comment\nregtest=1\nlisten=127.0.0.1:1\nlisten=127.0.0.1:2\n" +
				"connect=192.0.2.1\nmaxpeers=10\npinginterval=30s\nuacomment=from file\ndebuglevel=PEER=debug\n",
			args: []string{"--listen=127.0.0.1:3", "--maxpeers=20"},
			check: func(c *config) string {
				switch {
				case c.params != &chaincfg.RegressionNetParams:
					return "file's regtest not applied"
				case !reflect.DeepEqual(c.Conn.Listen, []listenAddr{"127.0.0.1:3"}):
					return "command line --listen did not replace the file's list"
				case !reflect.DeepEqual(c.Conn.Connect, []peerAddr{"192.0.2.1"}):
					return "file's connect not applied"
				case c.Conn.MaxPeers != 20:
					return "command line --maxpeers did not override the file"
				case c.Timeouts.PingInterval != positiveDuration(30*time.Second):
					return "file's pinginterval not applied"
				case c.userAgent != "/peerd:0.1.0(from file)/":
					return "file's uacomment not applied"
				case c.Log.DebugLevel != "PEER=debug":
					return "file's debuglevel not applied"
				}
				return ""
			}},
		{name: "file without section header", file: "signet=1\nservices=network\n",
			check: func(c *config) string {
				if c.params != &chaincfg.SigNetParams || c.Protocol.Services != serviceFlags(wire.SFNodeNetwork) {
					return "file not applied"
				}
				return ""
			}},
		{name: "file with bad value", file: "regtest=1\n\npeertimeout=soon\n",
			wantErr: []string{"FILE:3: invalid value for peertimeout", `"soon" is not a duration`}},
		{name: "file with bad debuglevel", file: "debuglevel=FOO=info\n",
			wantErr: []string{"FILE:1: invalid value for debuglevel", `unknown subsystem "FOO"`}},
		{name: "file with bad service", file: "# comment\nservices=network,bogus\n",
			wantErr: []string{"FILE:2: invalid value for services", `unknown service "bogus"`}},
		{name: "file with bad uacomment", file: "uacomment=a(b)\n",
			wantErr: []string{"FILE:1: invalid value for uacomment", `'('`}},
		{name: "file with bad bool", file: "nolisten=maybe\n",
			wantErr: []string{"FILE:1: invalid value for nolisten"}},
		{name: "file with unknown option", file: "regtest=1\nbogus=1\n",
			wantErr: []string{"FILE:2: unknown option: bogus"}},
		{name: "file with malformed line", file: "regtest=1\njunk\n",
			wantErr: []string{"FILE:2: malformed key=value (junk)"}},
		{name: "file with command line only option", file: "configfile=/x\n",
			wantErr: []string{"FILE:1: configfile can only be given on the command line"}},
		{name: "file with unknown section", file: "[Nope]\nregtest=1\n",
			wantErr: []string{"FILE: ", "Nope"}},
		{name: "file with a carriage return in a line", file: "regtest=1\nju\rnk\x1b[2J\xff\n",
			wantErr: []string{`FILE:2: malformed key=value (ju\rnk\x1b[2J\xff)`}},
		{name: "bad command line reported before the file", file: "junk\n", args: []string{"--bogus"},
			wantErr: []string{"unknown option --bogus"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := tc.args
			file := ""
			if tc.file != "" {
				file = writeFile(t, dir, "test.conf", tc.file)
				args = append([]string{"-C", file}, args...)
			}
			cfg, err := loadConfig(args, dir)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("no error, want one with %q", tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if w = strings.ReplaceAll(w, "FILE", file); !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if strings.ContainsAny(err.Error(), "\n\r\x1b") {
					t.Errorf("error %q has more than one line", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				if msg := tc.check(cfg); msg != "" {
					t.Fatal(msg)
				}
			}
		})
	}
}

func TestLoadConfigFiles(t *testing.T) {
	t.Run("explicit missing file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "missing.conf")
		_, err := loadConfig([]string{"--configfile", missing}, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "cannot read config file") || !strings.Contains(err.Error(), missing) {
			t.Fatalf("error %v, want one naming %s", err, missing)
		}
	})
	t.Run("explicit missing file at the default path", func(t *testing.T) {
		appDir := t.TempDir()
		_, err := loadConfig([]string{"-C", filepath.Join(appDir, "peerd.conf")}, appDir)
		if err == nil {
			t.Fatal("no error for an explicitly given missing file")
		}
	})
	t.Run("default file is read", func(t *testing.T) {
		appDir := t.TempDir()
		writeFile(t, appDir, "peerd.conf", "regtest=1\n")
		cfg, err := loadConfig(nil, appDir)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.params != &chaincfg.RegressionNetParams {
			t.Fatalf("network %s, want regtest from the default file", cfg.params.Name)
		}
	})
	t.Run("default file that is a directory", func(t *testing.T) {
		appDir := t.TempDir()
		if err := os.Mkdir(filepath.Join(appDir, "peerd.conf"), 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := loadConfig(nil, appDir); err == nil || !strings.Contains(err.Error(), "cannot read config file") {
			t.Fatalf("error %v, want one about reading the file", err)
		}
	})
	t.Run("configfile path is expanded", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "x.conf", "simnet=1\n")
		t.Setenv("PEERD_TEST_DIR", dir)
		cfg, err := loadConfig([]string{"-C", "$PEERD_TEST_DIR/x.conf"}, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if cfg.params != &chaincfg.SimNetParams || string(cfg.ConfigFile) != filepath.Join(dir, "x.conf") {
			t.Fatalf("network %s, config file %s", cfg.params.Name, cfg.ConfigFile)
		}
	})
	t.Run("version skips the file", func(t *testing.T) {
		appDir := t.TempDir()
		writeFile(t, appDir, "peerd.conf", "junk\n")
		cfg, err := loadConfig([]string{"-V"}, appDir)
		if err != nil || !cfg.ShowVersion {
			t.Fatalf("cfg %+v, err %v; want --version honoured without reading the file", cfg, err)
		}
	})
	t.Run("network in the file and on the command line", func(t *testing.T) {
		appDir := t.TempDir()
		path := writeFile(t, appDir, "peerd.conf", "; my node\nlisten=:1\nregtest=1\n")
		_, err := loadConfig([]string{"--testnet"}, appDir)
		want := "--testnet (on the command line) and --regtest (" + path + ":3) cannot be used together: choose one network: remove line 3 of " + path + ", or the flag"
		if err == nil || err.Error() != want {
			t.Fatalf("error %v, want %q", err, want)
		}
		// The same network twice is no conflict.
		if _, err := loadConfig([]string{"--regtest"}, appDir); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("two networks in the file", func(t *testing.T) {
		appDir := t.TempDir()
		path := writeFile(t, appDir, "peerd.conf", "signet=1\nsimnet=1\n")
		_, err := loadConfig(nil, appDir)
		if err == nil || !strings.Contains(err.Error(), "--signet ("+path+":1) and --simnet ("+path+":2)") ||
			!strings.Contains(err.Error(), "remove line 1 and line 2 of "+path) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("help", func(t *testing.T) {
		_, err := loadConfig([]string{"--regtest", "-h"}, t.TempDir())
		var he *helpError
		if !errors.As(err, &he) || !strings.Contains(he.usage, "Usage:") || !strings.Contains(he.usage, "--peertimeout") {
			t.Fatalf("error %v, want the usage", err)
		}
	})
}

// telnetIs checks the debug telnet options.
func telnetIs(addr string, nowire bool, idle time.Duration) func(*config) string {
	return func(c *config) string {
		want := debugOptions{Telnet: telnetAddr(addr), NoWire: nowire, TelnetIdle: positiveDuration(idle)}
		if c.Debug != want {
			return fmt.Sprintf("debug options %+v, want %+v", c.Debug, want)
		}
		return ""
	}
}

func TestParseDebugLevels(t *testing.T) {
	all := func(l btclog.Level) map[string]btclog.Level {
		return map[string]btclog.Level{"PEER": l, "NODE": l, "PRDD": l, "RPCS": l, "TLNT": l}
	}
	for _, tc := range []struct {
		spec    string
		want    map[string]btclog.Level
		wantErr string
	}{
		{spec: "info", want: all(btclog.LevelInfo)},
		{spec: "trace", want: all(btclog.LevelTrace)},
		{spec: "OFF", want: all(btclog.LevelOff)},
		{spec: "critical", want: all(btclog.LevelCritical)},
		{spec: "PEER=debug", want: map[string]btclog.Level{"PEER": btclog.LevelDebug, "NODE": btclog.LevelInfo, "PRDD": btclog.LevelInfo, "RPCS": btclog.LevelInfo, "TLNT": btclog.LevelInfo}},
		{spec: "peer=Debug, NODE=error", want: map[string]btclog.Level{"PEER": btclog.LevelDebug, "NODE": btclog.LevelError, "PRDD": btclog.LevelInfo, "RPCS": btclog.LevelInfo, "TLNT": btclog.LevelInfo}},
		{spec: "warn,PRDD=trace", want: map[string]btclog.Level{"PEER": btclog.LevelWarn, "NODE": btclog.LevelWarn, "PRDD": btclog.LevelTrace, "RPCS": btclog.LevelWarn, "TLNT": btclog.LevelWarn}},
		{spec: "PRDD=trace,warn", want: all(btclog.LevelWarn)},
		{spec: "", wantErr: "empty item"},
		{spec: "PEER=debug,", wantErr: "empty item"},
		{spec: "loud", wantErr: `unknown level "loud"`},
		{spec: "dbg", wantErr: `unknown level "dbg"`},
		{spec: "PEER=", wantErr: `unknown level "" in "PEER="`},
		{spec: "PEER=debug=x", wantErr: `unknown level "debug=x"`},
		{spec: "=debug", wantErr: `unknown subsystem ""`},
		{spec: "BTCD=debug", wantErr: `unknown subsystem "BTCD" in "BTCD=debug" (subsystems: NODE, PEER, PRDD, RPCS, TLNT)`},
	} {
		got, err := parseDebugLevels(tc.spec)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.spec, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %v, %v; want %v", tc.spec, got, err, tc.want)
		}
	}
}

func TestServiceFlags(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    wire.ServiceFlag
		str     string
		wantErr string
	}{
		{in: "none", want: 0, str: "none"},
		{in: "", want: 0, str: "none"},
		{in: "witness", want: wire.SFNodeWitness, str: "witness"},
		{in: "network,witness", want: wire.SFNodeNetwork | wire.SFNodeWitness, str: "network,witness"},
		{in: "NODE_NETWORK_LIMITED, bloom ,cf", want: wire.SFNodeNetworkLimited | wire.SFNodeBloom | wire.SFNodeCF, str: "bloom,cf,network_limited"},
		{in: "0x409", want: wire.SFNodeNetwork | wire.SFNodeWitness | wire.SFNodeNetworkLimited, str: "network,witness,network_limited"},
		{in: "9", want: wire.SFNodeNetwork | wire.SFNodeWitness, str: "network,witness"},
		{in: "witness,0x10000", want: wire.SFNodeWitness | 0x10000, str: "witness,0x10000"},
		{in: "network,,witness", wantErr: "empty item"},
		{in: "blocks", wantErr: `unknown service "blocks"`},
		{in: "-1", wantErr: `unknown service "-1"`},
	} {
		var f serviceFlags
		err := f.UnmarshalFlag(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || wire.ServiceFlag(f) != tc.want || f.String() != tc.str {
			t.Errorf("%q: %v (%s), %v; want %v (%s)", tc.in, wire.ServiceFlag(f), f, err, tc.want, tc.str)
		}
		var back serviceFlags
		if err := back.UnmarshalFlag(f.String()); err != nil || back != f {
			t.Errorf("%q: %s does not read back: %v, %v", tc.in, f, back, err)
		}
	}
}

func TestUserAgent(t *testing.T) {
	if got := userAgent(); got != "/peerd:"+version+"/" {
		t.Errorf("userAgent() = %q", got)
	}
	if got := userAgent("a", "b c"); got != "/peerd:"+version+"(a; b c)/" {
		t.Errorf("userAgent(a, b c) = %q", got)
	}
}

func TestProfileOption(t *testing.T) {
	for _, c := range []struct {
		arg string
		ok  bool
	}{
		{"--profile=127.0.0.1:6060", true},
		{"--profile=localhost:6060", true},
		{"--profile=[::1]:6060", true},
		{"--profile=0.0.0.0:6060", false},
		{"--profile=:6060", false},
		{"--profile=127.0.0.1", false},
	} {
		_, err := loadConfig([]string{"--regtest", c.arg}, t.TempDir())
		if (err == nil) != c.ok {
			t.Errorf("%s: err = %v, want ok=%v", c.arg, err, c.ok)
		}
	}
}

func TestServeProfile(t *testing.T) {
	addr, stop, err := serveProfile("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile") {
		t.Fatalf("GET goroutine profile: %s\n%s", resp.Status, body)
	}
}

func TestMetricsAddr(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"9332", "127.0.0.1:9332"},
		{"127.0.0.1:9400", "127.0.0.1:9400"},
		{"localhost", "localhost:9332"},
		{":9332", ":9332"},
		{"", ""},
	} {
		var a metricsAddr
		if err := a.UnmarshalFlag(c.in); err != nil || string(a) != c.want {
			t.Errorf("--metrics=%s: %q, %v; want %q", c.in, a, err, c.want)
		}
	}
	var a metricsAddr
	if err := a.UnmarshalFlag("127.0.0.1:99999"); err == nil {
		t.Errorf("--metrics=127.0.0.1:99999 accepted as %q", a)
	}
}
