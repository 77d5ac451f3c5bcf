package node

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/v2"

	"github.com/peerd/peerd/node/connmgr"
)

// Offline, every seed's lookup fails: the manager's info line ("DNS seeds
// returned no addresses (...)") carries each seed's error, the DNS server
// and what to do about it.
func TestSeedsFailureNamesTheCause(t *testing.T) {
	params := chaincfg.RegressionNetParams
	params.DNSSeeds = []chaincfg.DNSSeed{{Host: "seed.example"}, {Host: "other.example"}}
	cfg := testConfig()
	cfg.Params = &params
	cfg.NoListen = true
	cfg.TargetOutbound = 1
	cfg.LookupHost = func(_ context.Context, host string) ([]string, error) {
		return nil, &net.DNSError{Err: "no such host", Name: host, Server: "10.0.0.53:53", IsNotFound: true}
	}
	rec := &stepRecorder{}
	startNodeWith(t, cfg, rec)
	s := rec.wait(t, "the seeds' answer", func(s recordedStep) bool { return s.ev.Kind == connmgr.EvSeeds })
	var note string
	for _, a := range s.acts {
		if a.Kind == connmgr.ActNote && a.Info {
			note = a.Note
		}
	}
	for _, want := range []string{
		"DNS seeds returned no addresses (",
		"seed.example: no such host; other.example: no such host; DNS server 10.0.0.53:53",
		"offline", "--connect=HOST:PORT",
	} {
		if !strings.Contains(note, want) {
			t.Errorf("info note %q lacks %q", note, want)
		}
	}
}

func TestSeedsError(t *testing.T) {
	for _, c := range []struct {
		fs   []seedFailure
		want string
	}{
		{nil, "the network has no DNS seeds"},
		{[]seedFailure{{"a.example", nil}}, "a.example: no addresses"},
		{[]seedFailure{{"a.example", nil}, {"b.example", errors.New("boom")}}, "a.example: no addresses; b.example: boom"},
		{[]seedFailure{{"a.example", &net.DNSError{Err: "i/o timeout", Server: "[::1]:53", IsTimeout: true}}},
			"a.example: timed out (i/o timeout); DNS server [::1]:53; every lookup failed: is this machine offline, or without DNS? --connect=HOST:PORT names a peer without DNS"},
	} {
		if got := seedsError(c.fs).Error(); got != c.want {
			t.Errorf("seedsError(%v) = %q, want %q", c.fs, got, c.want)
		}
	}
}
