package btcdtest

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// btcdPackage is the import path of btcd's main package. Its version comes
// from the enclosing module's go.mod (the "tool github.com/btcsuite/btcd"
// directive), so the binary is always the pinned btcd.
const btcdPackage = "github.com/btcsuite/btcd"

// Build compiles the pinned btcd into dir and returns the path of the binary.
//
// The module root is located with "go env GOMOD" run in the current working
// directory (for a test binary: the package directory), so Build works from
// any package of the module. The build itself runs in the module root, so
// btcd's version is the one go.mod pins. The first build takes ~50 s; later
// builds hit the Go build cache.
func Build(dir string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("btcdtest: go command not found: %w", err)
	}
	root, err := moduleRoot(goBin)
	if err != nil {
		return "", err
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("btcdtest: %w", err)
	}
	if err := os.MkdirAll(absDir, 0o755); err != nil {
		return "", fmt.Errorf("btcdtest: %w", err)
	}
	bin := filepath.Join(absDir, "btcd")
	cmd := exec.Command(goBin, "build", "-o", bin, btcdPackage)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("btcdtest: go build %s (in %s): %w\n%s",
			btcdPackage, root, err, out)
	}
	return bin, nil
}

// moduleRoot returns the directory holding the go.mod of the module that
// contains the current working directory.
func moduleRoot(goBin string) (string, error) {
	cmd := exec.Command(goBin, "env", "GOMOD")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("btcdtest: go env GOMOD: %w\n%s", err, stderr.Bytes())
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("btcdtest: current directory is not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// Package state filled in by Main and read by Binary.
var (
	mainMu     sync.Mutex
	mainCalled bool
	mainBin    string
	mainErr    error
)

// Main is a ready-made TestMain body:
//
//	func TestMain(m *testing.M) { btcdtest.Main(m) }
//
// It parses the test flags and, unless -short is set, builds btcd once into
// a temporary directory, runs the tests, removes the directory and exits
// with the tests' status. A build failure does not abort the binary: tests
// that call [Binary] fail with the build error, other tests still run.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main without the exit: it returns m.Run's code, so that a
// TestMain can clean up after its tests before it exits.
func Run(m *testing.M) int {
	if !flag.Parsed() {
		flag.Parse()
	}
	mainMu.Lock()
	mainCalled = true
	mainMu.Unlock()
	if testing.Short() {
		return m.Run()
	}

	dir, err := os.MkdirTemp("", "btcdtest-bin-")
	if err != nil {
		setMainResult("", fmt.Errorf("btcdtest: %w", err))
		return m.Run()
	}
	defer os.RemoveAll(dir)
	bin, err := Build(dir)
	setMainResult(bin, err)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return m.Run()
}

func setMainResult(bin string, err error) {
	mainMu.Lock()
	defer mainMu.Unlock()
	mainBin, mainErr = bin, err
}

// Binary returns the btcd binary built by [Main]. It skips the test under
// -short and fails it if Main was not used as TestMain or the build failed.
func Binary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("btcdtest: skipping btcd integration test in -short mode")
	}
	mainMu.Lock()
	defer mainMu.Unlock()
	switch {
	case !mainCalled:
		t.Fatal("btcdtest: Binary needs TestMain to call btcdtest.Main(m)")
	case mainErr != nil:
		t.Fatalf("btcdtest: btcd build failed: %v", mainErr)
	}
	return mainBin
}
