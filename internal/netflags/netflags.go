// Package netflags is the network choice that peerd, peerctl and peerload
// share: the same flags, the same default (testnet4) and the same default
// RPC ports (bitcoind's), so the three cannot drift apart.
package netflags

import "github.com/btcsuite/btcd/chaincfg/v2"

// Options is a go-flags group: at most one may be set.
type Options struct {
	TestNet4 bool `long:"testnet4" description:"Use testnet4 (the default)"`
	TestNet3 bool `long:"testnet" description:"Use testnet3"`
	SigNet   bool `long:"signet" description:"Use the default signet"`
	RegTest  bool `long:"regtest" description:"Use the regression test network"`
	SimNet   bool `long:"simnet" description:"Use the simulation test network (btcd's simnet)"`
	MainNet  bool `long:"mainnet" description:"Use the main Bitcoin network"`
}

// Network is a network's parameters and the default port of peerd's RPC
// server on it (bitcoind's RPC port).
type Network struct {
	Params  *chaincfg.Params
	RPCPort string
}

// Choose returns the network the options select (testnet4 when none is
// set, the last one when several are) and the flags that were set, so that
// each command can refuse more than one in its own words.
func (o *Options) Choose() (Network, []string) {
	n := Network{&chaincfg.TestNet4Params, "48332"}
	var chosen []string
	for _, c := range []struct {
		set  bool
		flag string
		net  Network
	}{
		{o.TestNet4, "--testnet4", Network{&chaincfg.TestNet4Params, "48332"}},
		{o.TestNet3, "--testnet", Network{&chaincfg.TestNet3Params, "18332"}},
		{o.SigNet, "--signet", Network{&chaincfg.SigNetParams, "38332"}},
		{o.RegTest, "--regtest", Network{&chaincfg.RegressionNetParams, "18443"}},
		{o.SimNet, "--simnet", Network{&chaincfg.SimNetParams, "18556"}},
		{o.MainNet, "--mainnet", Network{&chaincfg.MainNetParams, "8332"}},
	} {
		if c.set {
			chosen = append(chosen, c.flag)
			n = c.net
		}
	}
	return n, chosen
}
