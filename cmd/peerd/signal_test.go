//go:build unix

package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// TestProcessStopsOnSignal runs the real program, waits until it listens,
// sends the child (never the test process) SIGINT or SIGTERM, and expects
// a clean shutdown with exit code 0.
func TestProcessStopsOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			empty := writeFile(t, dir, "peerd.conf", "")
			ctx, cancel := context.WithTimeout(context.Background(), guard)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-C", empty, "--datadir="+dir,
				"--regtest", "--listen=127.0.0.1:0", "--nologfile")
			cmd.Env = append(os.Environ(), runMainEnv+"=1",
				"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
			var stderr strings.Builder
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			lines := bufio.NewScanner(stdout)
			signalled := false
			for lines.Scan() {
				out.WriteString(lines.Text() + "\n")
				if !signalled && strings.Contains(lines.Text(), "NODE: Listening on 127.0.0.1:") {
					if err := cmd.Process.Signal(sig); err != nil {
						t.Fatal(err)
					}
					signalled = true
				}
			}
			err = cmd.Wait()
			if err != nil || !signalled {
				t.Fatalf("peerd: %v (signalled: %v)\nstdout:\n%s\nstderr:\n%s", err, signalled, &out, &stderr)
			}
			for _, want := range []string{"Shutting down: " + sig.String() + " signal received", "Shutdown complete"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("stdout does not contain %q:\n%s", want, &out)
				}
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr: %q", &stderr)
			}
		})
	}
}
