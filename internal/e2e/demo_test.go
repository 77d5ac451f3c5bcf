package e2e

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runScript runs one of scripts/ from the repository's root with extra
// environment variables and returns its exit code and output (stdout and
// stderr together).
func runScript(t *testing.T, script string, env ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join("..", "..", "scripts", script))
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish:\n%s", script, &out)
	}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), out.String()
		}
		t.Fatalf("%s: %v", script, err)
	}
	return 0, out.String()
}

func wantIn(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s's output lacks %q:\n%s", what, w, out)
		}
	}
}

// TestRegtestDemo runs README's demo as a user would, with a node already
// on regtest's default RPC port (18443) when the port is free to take: the
// demo uses free ports of its own and must succeed anyway.
func TestRegtestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs btcd and peerd")
	}
	if l, err := net.Listen("tcp", "127.0.0.1:18443"); err == nil {
		defer l.Close()
	}
	code, out := runScript(t, "regtest-demo.sh", "DEMO_SECONDS=2")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	wantIn(t, "regtest-demo.sh", out, "PRDD: RPC server on 127.0.0.1:", `"subver":"/peerd:`, "Shutdown complete")
	if strings.Contains(out, "18443") {
		t.Errorf("the demo used regtest's default RPC port:\n%s", out)
	}
}

// TestRegtestTxDemo: a real transaction reaches btcd's mempool through
// peerd, a made-up one does not, and txstatus says neither was shown
// accepted.
func TestRegtestTxDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs btcd and peerd")
	}
	code, out := runScript(t, "regtest-tx-demo.sh")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	wantIn(t, "regtest-tx-demo.sh", out,
		"btcd's getrawmempool: \"result\":[\"",
		`"fetched": [`,
		"announced to 1 peer, fetched by 1, announced back by none yet: NOT shown accepted by any peer",
		"btcd fetched it and dropped it: it is not in btcd's mempool",
		"== done: the real transaction is in btcd's mempool, the made-up one is not.")
}

// TestRegtestDemoFailsLoudly: when a part fails (here btcd's RPC, through a
// curl that cannot connect), the demo exits 1, says what failed and shows
// the end of the failing part's log.
func TestRegtestDemoFailsLoudly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds btcd and peerd")
	}
	bin := t.TempDir()
	fake := "#!/bin/sh\necho 'curl: (7) Failed to connect' >&2\nexit 7\n"
	if err := os.WriteFile(filepath.Join(bin, "curl"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out := runScript(t, "regtest-demo.sh", "PATH="+bin+":"+os.Getenv("PATH"), "DEMO_SECONDS=2", "DEMO_WAIT=3")
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	wantIn(t, "regtest-demo.sh", out, "!! FAILED: btcd's RPC server answering on 127.0.0.1:", "not within 3s",
		"!! the last lines of btcd's output")
}
