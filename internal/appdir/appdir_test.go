package appdir

import (
	"path/filepath"
	"runtime"
	"testing"
)

// The directory follows $HOME, whatever the password file says (as root,
// the password file says /root).
func TestDirFollowsHOME(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("$HOME is the home directory on Unix")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	want := filepath.Join(home, ".peerd")
	if runtime.GOOS == "darwin" {
		want = filepath.Join(home, "Library", "Application Support", "Peerd")
	}
	if got := Dir(); got != want {
		t.Fatalf("Dir() = %q with HOME=%s, want %q", got, home, want)
	}
	if got := Home(); got != home {
		t.Fatalf("Home() = %q, want %q", got, home)
	}
}

func TestDirLayout(t *testing.T) {
	for _, c := range []struct{ goos, home, want string }{
		{"linux", "/h", "/h/.peerd"},
		{"freebsd", "/h", "/h/.peerd"},
		{"darwin", "/h", "/h/Library/Application Support/Peerd"},
		{"plan9", "/h", "/h/peerd"},
		{"linux", "", "."},
	} {
		if got := dir(c.goos, c.home); got != filepath.FromSlash(c.want) {
			t.Errorf("dir(%s, %q) = %q, want %q", c.goos, c.home, got, c.want)
		}
	}
}
