package main

// Option value types. Each checks its value as it is parsed, so that a bad
// value is reported with where it came from: the option on the command
// line, or the file and line in the configuration file.

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/node"
)

// positiveDuration is a Go duration ("60s", "2m", "1h30m") greater than 0.
type positiveDuration time.Duration

func (d *positiveDuration) UnmarshalFlag(s string) error {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a duration (write a number and a unit, e.g. 60s, 2m or 1h30m)", s)
	}
	if v <= 0 {
		return fmt.Errorf("%q is not positive", s)
	}
	*d = positiveDuration(v)
	return nil
}

func (d positiveDuration) MarshalFlag() (string, error) { return time.Duration(d).String(), nil }

// nonNegativeDuration is a Go duration of 0 or more.
type nonNegativeDuration time.Duration

func (d *nonNegativeDuration) UnmarshalFlag(s string) error {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a duration (write a number and a unit, e.g. 0s, 5s or 100ms)", s)
	}
	if v < 0 {
		return fmt.Errorf("%q is negative", s)
	}
	*d = nonNegativeDuration(v)
	return nil
}

func (d nonNegativeDuration) MarshalFlag() (string, error) { return time.Duration(d).String(), nil }

// positiveInt is a decimal integer of at least 1.
type positiveInt int

func (n *positiveInt) UnmarshalFlag(s string) error {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	if v < 1 {
		return fmt.Errorf("%d is less than 1", v)
	}
	*n = positiveInt(v)
	return nil
}

func (n positiveInt) MarshalFlag() (string, error) { return strconv.Itoa(int(n)), nil }

// serviceNames are the service bits known by name, in bit order.
var serviceNames = []struct {
	name string
	flag wire.ServiceFlag
}{
	{"network", wire.SFNodeNetwork},
	{"bloom", wire.SFNodeBloom},
	{"witness", wire.SFNodeWitness},
	{"cf", wire.SFNodeCF},
	{"network_limited", wire.SFNodeNetworkLimited},
	{"p2p_v2", wire.SFNodeP2PV2},
}

// serviceFlags is a set of service bits, written as "none" or a
// comma-separated list of names (case insensitive, with or without Core's
// "NODE_" prefix) and numbers (decimal, or 0x hexadecimal).
type serviceFlags wire.ServiceFlag

func (f *serviceFlags) UnmarshalFlag(s string) error {
	var v wire.ServiceFlag
	if t := strings.TrimSpace(s); t != "" && !strings.EqualFold(t, "none") {
		for item := range strings.SplitSeq(t, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				return fmt.Errorf("empty item in %q", s)
			}
			flag, err := parseService(item)
			if err != nil {
				return err
			}
			v |= flag
		}
	}
	*f = serviceFlags(v)
	return nil
}

func parseService(s string) (wire.ServiceFlag, error) {
	name := strings.TrimPrefix(strings.ToLower(s), "node_")
	for _, sn := range serviceNames {
		if name == sn.name {
			return sn.flag, nil
		}
	}
	if n, err := strconv.ParseUint(s, 0, 64); err == nil {
		return wire.ServiceFlag(n), nil
	}
	names := make([]string, len(serviceNames))
	for i, sn := range serviceNames {
		names[i] = sn.name
	}
	return 0, fmt.Errorf("unknown service %q (use none, or names among %s, or a number)", s, strings.Join(names, ", "))
}

// String writes f as UnmarshalFlag reads it: "none", or known names, then
// any other bits as one hexadecimal number.
func (f serviceFlags) String() string {
	if f == 0 {
		return "none"
	}
	rest := wire.ServiceFlag(f)
	var parts []string
	for _, sn := range serviceNames {
		if rest&sn.flag != 0 {
			parts = append(parts, sn.name)
			rest &^= sn.flag
		}
	}
	if rest != 0 {
		parts = append(parts, fmt.Sprintf("%#x", uint64(rest)))
	}
	return strings.Join(parts, ",")
}

func (f serviceFlags) MarshalFlag() (string, error) { return f.String(), nil }

// uaCommentChars are the characters Bitcoin Core allows in a user agent
// comment (SAFE_CHARS_UA_COMMENT). It leaves out in particular "/", ":",
// "(" and ")", which delimit the user agent's parts in BIP 14.
const uaCommentChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;-_?@"

// uaComment is one BIP 14 user agent comment. The length of the whole user
// agent is checked once all comments are known.
type uaComment string

func (c *uaComment) UnmarshalFlag(s string) error {
	if s == "" {
		return fmt.Errorf("empty comment")
	}
	for _, r := range s {
		if !strings.ContainsRune(uaCommentChars, r) {
			why := "not allowed"
			if strings.ContainsRune("/:()", r) {
				why = "reserved by BIP 14"
			}
			return fmt.Errorf("comment %q contains %q, which is %s; comments may use letters, digits, spaces and . , ; - _ ? @ (as in Bitcoin Core)", s, r, why)
		}
	}
	*c = uaComment(s)
	return nil
}

// listenAddr is an address to listen on: "host:port", "host", ":port" or
// "[ipv6]:port"; an empty host means every interface, a missing port the
// network's default, port 0 any free port.
type listenAddr string

func (a *listenAddr) UnmarshalFlag(s string) error {
	if err := checkAddr(s, true); err != nil {
		return err
	}
	*a = listenAddr(s)
	return nil
}

// defaultTelnetPort is the debug telnet listener's port when --telnet
// names only a host: the seed's "telnet localhost 8080".
const defaultTelnetPort = "8080"

// telnetAddr is --telnet's address: "host:port", "host" (port 8080), a
// bare port number (host 127.0.0.1), ":port" (every interface), or empty
// for no listener. It is stored normalized, as host:port.
type telnetAddr string

func (a *telnetAddr) UnmarshalFlag(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		*a = ""
		return nil
	}
	if strings.Trim(s, "0123456789") == "" {
		s = net.JoinHostPort("127.0.0.1", s)
	}
	if err := checkAddr(s, true); err != nil {
		return err
	}
	na, _ := node.NormalizeAddr(s, defaultTelnetPort)
	*a = telnetAddr(na)
	return nil
}

// defaultMetricsPort is --metrics's port for a bare host (the port
// Bitcoin exporters for Prometheus commonly use).
const defaultMetricsPort = "9332"

// metricsAddr is --metrics's address: "host:port", "host" (port 9332), a
// bare port number (host 127.0.0.1), ":port" (every interface), or empty
// for none. It is stored normalized, as host:port.
type metricsAddr string

func (a *metricsAddr) UnmarshalFlag(s string) error {
	var t telnetAddr
	s = strings.TrimSpace(s)
	if s != "" && strings.Trim(s, "0123456789") != "" {
		na, err := node.NormalizeAddr(s, defaultMetricsPort)
		if err != nil {
			return err
		}
		s = na
	}
	if err := t.UnmarshalFlag(s); err != nil {
		return err
	}
	*a = metricsAddr(t)
	return nil
}

// peerAddr is a peer to connect to: "host:port", "host" or "[ipv6]:port";
// a missing port means the network's default.
type peerAddr string

func (a *peerAddr) UnmarshalFlag(s string) error {
	if err := checkAddr(s, false); err != nil {
		return err
	}
	*a = peerAddr(s)
	return nil
}

// proxyAddr is a SOCKS5 proxy: "host:port", "host" or "[ipv6]:port"; a
// missing port means 9050 (Tor's SOCKS port, as Core's default); "" means
// none.
type proxyAddr string

// defaultProxyPort is Tor's SOCKS port.
const defaultProxyPort = "9050"

func (a *proxyAddr) UnmarshalFlag(s string) error {
	if s == "" {
		*a = ""
		return nil
	}
	if err := checkAddr(s, false); err != nil {
		return err
	}
	na, _ := node.NormalizeAddr(s, defaultProxyPort)
	*a = proxyAddr(na)
	return nil
}

// onlyNet is one of the networks --onlynet names.
type onlyNet string

func (n *onlyNet) UnmarshalFlag(s string) error {
	s = strings.ToLower(strings.TrimSpace(s))
	if !slices.Contains(node.OnlyNets, s) {
		return fmt.Errorf("%q is not a network peerd reaches: want one of %s", s, strings.Join(node.OnlyNets, ", "))
	}
	*n = onlyNet(s)
	return nil
}

// externalIP is an address we advertise as ours: "ip", "ip:port" or
// "[ipv6]:port"; a missing port means our first listener's. Names are
// refused: the address goes on the wire as it is written.
type externalIP string

func (a *externalIP) UnmarshalFlag(s string) error {
	if err := checkAddr(s, false); err != nil {
		return err
	}
	na, _ := node.NormalizeAddr(s, "1")
	if _, err := netip.ParseAddrPort(na); err != nil {
		return fmt.Errorf("%q is not an IP address (with an optional port)", s)
	}
	*a = externalIP(s)
	return nil
}

// checkAddr checks what can be checked before the network (and so the
// default port) is known; node.New normalizes the address later the same
// way.
func checkAddr(s string, listen bool) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("empty address")
	}
	na, err := node.NormalizeAddr(s, "1")
	if err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(na)
	if err != nil {
		return fmt.Errorf("bad address %q: %v", s, err)
	}
	if host == "" && !listen {
		return fmt.Errorf("address %q has no host", s)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return fmt.Errorf("address %q: port %q is not a number from 0 to 65535", s, port)
	}
	if p == 0 && !listen {
		return fmt.Errorf("address %q: port 0", s)
	}
	return nil
}

// filePath is a file or directory path, not empty. It may start with "~" and
// use $VARIABLES, which expand expands.
type filePath string

func (p *filePath) UnmarshalFlag(s string) error {
	if s == "" {
		return fmt.Errorf("empty path")
	}
	*p = filePath(s)
	return nil
}

func (p filePath) expand() filePath { return filePath(expandPath(string(p))) }

// debugLevel is a --debuglevel value; see parseDebugLevels.
type debugLevel string

func (d *debugLevel) UnmarshalFlag(s string) error {
	if _, err := parseDebugLevels(s); err != nil {
		return err
	}
	*d = debugLevel(s)
	return nil
}

// strs converts a slice of a string type to []string.
func strs[S ~string](in []S) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}
