package node

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"testing"
)

// TestNoAdminFaceImports: the admin faces depend on node, never the
// reverse (docs/architecture.md). It fails if node, or anything node
// imports, imports one of them.
func TestNoAdminFaceImports(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-json=ImportPath", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var deps []string
	for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
		var p struct{ ImportPath string }
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("go list output: %v", err)
		}
		deps = append(deps, p.ImportPath)
	}
	if !slices.Contains(deps, "github.com/peerd/peerd/mempool") {
		t.Fatalf("go list -deps lacks node's own imports: %q", deps)
	}
	for _, face := range []string{
		"github.com/peerd/peerd/internal/rpcserver",
		"github.com/peerd/peerd/internal/rpcserver/coreerr",
		"github.com/peerd/peerd/internal/telnet",
	} {
		if slices.Contains(deps, face) {
			t.Errorf("node depends on %s: the admin faces adapt node's types, not the reverse", face)
		}
	}
}
