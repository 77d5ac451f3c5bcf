package telnet

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRealTelnetClient drives Debian's telnet client through a detached
// tmux session, as a person would: type PING?, press Ctrl-C halfway
// through a line, type A, PING and read PONG on the screen, then /quit.
// Without telnet or tmux it skips, or fails when the CI variable is set
// (CI installs both: see .ci/run).
func TestRealTelnetClient(t *testing.T) {
	telnet, err1 := exec.LookPath("telnet")
	tmux, err2 := exec.LookPath("tmux")
	if err1 != nil || err2 != nil {
		msg := "the real client test needs telnet and tmux: apt-get install telnet tmux " +
			"(go test caches this skip: run it again with -count=1, as README's command does)"
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v %v", msg, err1, err2)
		}
		t.Skip(msg)
	}
	srv, _ := startServer(t, Config{Console: &fakeConsole{}})
	host, port, _ := net.SplitHostPort(srv.Addr().String())

	// A private tmux server, on a socket with a short path (sockets have
	// a length limit that t.TempDir can pass).
	dir, err := os.MkdirTemp("", "tmux-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	run := func(args ...string) (string, error) {
		cmd := exec.Command(tmux, append([]string{"-S", sock, "-f", os.DevNull}, args...)...)
		cmd.Env = append(os.Environ(), "TERM=xterm")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("new-session", "-d", "-s", "peerd", "-x", "150", "-y", "50", telnet+" "+host+" "+port); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() { run("kill-server") })
	// Keep the screen when telnet exits, to read its last words.
	if out, err := run("set-option", "-w", "-t", "peerd", "remain-on-exit", "on"); err != nil {
		t.Fatalf("tmux set-option: %v: %s", err, out)
	}

	screen := func() string {
		out, _ := run("capture-pane", "-p", "-J", "-t", "peerd", "-S", "-100")
		return out
	}
	waitScreen := func(want string) {
		t.Helper()
		deadline := time.Now().Add(guard)
		for {
			if strings.Contains(screen(), want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the screen never showed %q:\n%s", want, screen())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	typeLine := func(line string) {
		t.Helper()
		if out, err := run("send-keys", "-t", "peerd", "-l", line); err != nil {
			t.Fatalf("tmux send-keys: %v: %s", err, out)
		}
		if out, err := run("send-keys", "-t", "peerd", "Enter"); err != nil {
			t.Fatalf("tmux send-keys: %v: %s", err, out)
		}
	}

	waitScreen("you are in standby: say PING? to start")
	typeLine("PING?")
	waitScreen(toWaiting)
	// Ctrl-C halfway through a line: the client sends IAC IP IAC DO
	// TIMING-MARK and shows nothing more until the server answers the
	// TIMING-MARK. The answer, and the line after it, must show, and so
	// must everything after.
	if out, err := run("send-keys", "-t", "peerd", "-l", "half a li"); err != nil {
		t.Fatalf("tmux send-keys: %v: %s", err, out)
	}
	if out, err := run("send-keys", "-t", "peerd", "C-c"); err != nil {
		t.Fatalf("tmux send-keys: %v: %s", err, out)
	}
	waitScreen("half a li^C\n(interrupted: the line was dropped; you are in waiting)")
	typeLine("A")
	waitScreen(enterInnerA)
	typeLine("PING")
	waitScreen(pingHandedUp)
	waitScreen("\nPONG\n")
	typeLine("/quit")
	waitScreen("[standby -> closed on hang up]\nbye\n")
	waitScreen("Connection closed by foreign host.")
	t.Logf("the screen:\n%s", strings.TrimSpace(screen()))
}
