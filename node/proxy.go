package node

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/peerd/peerd/internal/proxydial"
	"github.com/peerd/peerd/node/addrbook"
	"github.com/peerd/peerd/node/connmgr"
)

// This file holds what the node does with proxies (package proxydial
// opens the connections): which networks automatic connections may go to,
// and how the DNS seeds are asked when no DNS query may leave directly.

// OnlyNets are the names --onlynet takes, as Core spells them.
var OnlyNets = []string{"ipv4", "ipv6", "onion"}

// reachable returns the networks automatic outbound connections may go
// to: IPv4 and IPv6, and Tor v3 with a proxy that reaches it, limited to
// cfg.OnlyNet when it is given. It refuses an unknown network, a proxy
// address without a port, and --onlynet=onion without a proxy for Tor (as
// Core refuses to start).
func reachable(cfg Config) ([]addrbook.Network, error) {
	for _, p := range []struct{ flag, addr string }{{"proxy", cfg.Proxy}, {"onion", cfg.Onion}} {
		if p.addr == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(p.addr); err != nil || port == "" {
			return nil, fmt.Errorf("--%s=%s: want HOST:PORT", p.flag, p.addr)
		}
	}
	onion := cfg.Onion != "" || cfg.Proxy != ""
	all := []addrbook.Network{addrbook.NetIPv4, addrbook.NetIPv6}
	if onion {
		all = append(all, addrbook.NetTorV3)
	}
	if len(cfg.OnlyNet) == 0 {
		return all, nil
	}
	var nets []addrbook.Network
	for _, name := range cfg.OnlyNet {
		var n addrbook.Network
		switch name {
		case "ipv4":
			n = addrbook.NetIPv4
		case "ipv6":
			n = addrbook.NetIPv6
		case "onion":
			if !onion {
				return nil, fmt.Errorf("--onlynet=onion: no proxy to reach the Tor network (set --onion or --proxy)")
			}
			n = addrbook.NetTorV3
		default:
			return nil, fmt.Errorf("--onlynet=%s: unknown network (want one of %v)", name, OnlyNets)
		}
		if !slices.Contains(nets, n) {
			nets = append(nets, n)
		}
	}
	return nets, nil
}

// networks describes the networks the node knows, for getnetworkinfo.
func (n *Node) networks() []Network {
	var out []Network
	for _, name := range AddrNetworks {
		nw := Network{Name: name}
		var net addrbook.Network
		switch name {
		case "ipv4":
			net, nw.Proxy = addrbook.NetIPv4, n.cfg.Proxy
		case "ipv6":
			net, nw.Proxy = addrbook.NetIPv6, n.cfg.Proxy
		case "onion":
			net, nw.Proxy = addrbook.NetTorV3, cmp.Or(n.cfg.Onion, n.cfg.Proxy)
		}
		nw.Reachable = net != 0 && slices.Contains(n.nets, net)
		nw.ProxyRandomize = nw.Proxy != "" && !n.cfg.NoProxyRandomize
		out = append(out, nw)
	}
	return out
}

// ipNets are the IP networks of n.nets (--onlynet may leave none): the
// ones whose addresses are a netip.AddrPort.
func (n *Node) ipNets() []addrbook.Network {
	var out []addrbook.Network
	for _, nw := range n.nets {
		if nw == addrbook.NetIPv4 || nw == addrbook.NetIPv6 {
			out = append(out, nw)
		}
	}
	return out
}

// seedNames are the DNS seeds as "name:port" for addr-fetch connections
// through the proxy, which resolves them; nil without a proxy, where the
// seeds are resolved by DNS.
func seedNames(cfg Config) []string {
	if cfg.Proxy == "" {
		return nil
	}
	var out []string
	for _, s := range cfg.Params.DNSSeeds {
		out = append(out, net.JoinHostPort(s.Host, cfg.Params.DefaultPort))
	}
	return out
}

// proxyDown reports whether err is a failure to reach the proxy itself.
func proxyDown(err error) bool {
	var pe *proxydial.Error
	return errors.As(err, &pe) && pe.Stage == proxydial.StageConnect
}

// dialFailure is the log line of a failed dial: at info level when a
// proxy failed, so that an operator who set one sees which proxy and
// which target (the error says both), at debug level otherwise. A kept
// address's (--connect, --addpeer, addnode) failures are the connection
// manager's to report at info level, rate-limited, in the same words
// ("Outbound TARGET: error; next try in ...").
func dialFailure(target string, kind connmgr.Kind, err error) {
	var pe *proxydial.Error
	if errors.As(err, &pe) && kind != connmgr.KindManual && kind != connmgr.KindPersistent {
		log.Infof("Outbound %s: %v", target, pe)
		return
	}
	log.Debugf("Outbound %s: %v", target, err)
}
