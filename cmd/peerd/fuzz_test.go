package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzConfigFile reads arbitrary bytes as the configuration file. loadConfig
// must not panic (nor end the process): it returns a configuration that
// the daemon can use, or an error of one line that the daemon prints as
// it is.
//
// Seeds are sample-node.conf, the cases below and testdata/fuzz/FuzzConfigFile;
// run it with scripts/fuzz.sh or go test -fuzz=FuzzConfigFile ./cmd/peerd.
func FuzzConfigFile(f *testing.F) {
	if sample, err := os.ReadFile(samplePath); err == nil {
		f.Add(sample)
	}
	for _, seed := range []string{
		"",
		"regtest=1\nlisten=127.0.0.1:0\nconnect=192.0.2.1\nmaxpeers=8\n",
		"[Application Options]\nsignet=1\nservices=network,witness\nuacomment=a b\ndebuglevel=warn,PEER=debug\n",
		"rpclisten=0.0.0.0:8332\n",
		"rpclisten=[::]\nrpcuser=op\nrpcpass=pw\n",
		"rpcuser=op\n",
		"telnet=127.0.0.1\nnowire=1\ntelnetidle=30s\n",
		"regtest=1\nmainnet=1\n",
		"peertimeout=soon\n",
		"configfile=/x\n",
		"[Nope]\nx=1\n",
		"junk\r\n",
		"datadir=~/$HOME/x\n",
		"; comment\n# comment\n\n  pinginterval = 30s  \n",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	appDir := filepath.Join(dir, "app") // not created: nothing is read or written there
	path := filepath.Join(dir, "fuzz.conf")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig([]string{"-C", path}, appDir)
		if err != nil {
			msg := err.Error()
			var he *helpError
			switch {
			case errors.As(err, &he):
				t.Fatalf("a configuration file gave the usage:\n%s", data)
			case msg == "":
				t.Fatalf("an empty error for %q", data)
			case strings.ContainsAny(msg, "\n\r"):
				t.Fatalf("error %q is more than one line (file %q)", msg, data)
			}
			return
		}
		if cfg.params == nil || cfg.userAgent == "" || cfg.ShowVersion {
			t.Fatalf("an incomplete configuration from %q: %+v", data, cfg)
		}
		// What the daemon does with it next does not fail either.
		_ = nodeConfig(cfg)
		if addrs := rpcListen(cfg); len(addrs) == 0 {
			t.Fatalf("no RPC address from %q", data)
		}
		_ = cfg.netDir()
		_ = outboundSummary(cfg)
	})
}
