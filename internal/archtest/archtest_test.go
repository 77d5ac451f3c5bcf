package archtest

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/architecture.md's package diagram from the code")

const module = "github.com/peerd/peerd/"

// pkg is what go list says of one of the module's packages.
type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
}

// name is the package's path inside the module.
func (p *pkg) name() string { return strings.TrimPrefix(p.ImportPath, module) }

// listPackages runs go list on the whole module.
func listPackages(t *testing.T) map[string]*pkg {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	cmd := exec.Command(gobin, "list", "-json", "./...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := make(map[string]*pkg)
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		p := new(pkg)
		if err := dec.Decode(p); err != nil {
			t.Fatal(err)
		}
		pkgs[p.name()] = p
	}
	return pkgs
}

// own returns p's imports of the module's packages, by name.
func own(p *pkg) []string {
	var out []string
	for _, imp := range p.Imports {
		if name, ok := strings.CutPrefix(imp, module); ok {
			out = append(out, name)
		}
	}
	return out
}

// pure are the packages that only compute: events in, actions out. Time
// and randomness arrive as values.
var pure = []string{"internal/fsm", "handshake", "peer", "internal/debugproto", "node/connmgr", "node/addrbook", "node/privbcast"}

// impureImports are the standard packages a pure package must not import.
var impureImports = []string{"net", "syscall", "os", "os/exec", "os/signal", "io/fs", "math/rand", "math/rand/v2", "crypto/rand", "unsafe", "runtime"}

// clockCalls are the time package's functions that read or wait on the
// clock.
var clockCalls = []string{"Now", "Since", "Until", "Sleep", "After", "AfterFunc", "NewTimer", "NewTicker", "Tick"}

// TestPurePackagesArePure: a pure package imports nothing that reaches the
// network, files, the clock or randomness (directly, or through another of
// the module's packages that is not pure), calls none of time's clock
// functions, and starts no goroutine.
func TestPurePackagesArePure(t *testing.T) {
	pkgs := listPackages(t)
	for _, name := range pure {
		p, ok := pkgs[name]
		if !ok {
			continue // not there (yet)
		}
		for _, imp := range p.Imports {
			if slices.Contains(impureImports, imp) || strings.HasPrefix(imp, "net/") && imp != "net/netip" {
				t.Errorf("%s imports %s", name, imp)
			}
		}
		for _, dep := range own(p) {
			if !slices.Contains(pure, dep) {
				t.Errorf("%s imports %s, which is not pure", name, dep)
			}
		}
		for _, f := range p.GoFiles {
			for _, why := range impureCode(t, filepath.Join(p.Dir, f)) {
				t.Errorf("%s: %s", name, why)
			}
		}
	}
}

// impureCode returns what in the file reads the clock or starts a goroutine.
func impureCode(t *testing.T, path string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	timeName := ""
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == "time" {
			timeName = "time"
			if imp.Name != nil {
				timeName = imp.Name.Name
			}
		}
	}
	var found []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			found = append(found, fmt.Sprintf("%s: go statement", fset.Position(n.Pos())))
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok && timeName != "" && x.Name == timeName && slices.Contains(clockCalls, n.Sel.Name) {
				found = append(found, fmt.Sprintf("%s: time.%s", fset.Position(n.Pos()), n.Sel.Name))
			}
		}
		return true
	})
	return found
}

// TestImpureCodeIsFound: the checks above find what they look for.
func TestImpureCodeIsFound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.go")
	src := "package x\nimport clock \"time\"\nfunc f() { go f(); _ = clock.Now() }\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := impureCode(t, path); len(got) != 2 {
		t.Errorf("found %q, want the go statement and time.Now", got)
	}
}

// layer places each of the module's packages; a package may import only
// packages of lower layers. A new package needs a place here, which is
// the moment to decide where it belongs.
var layer = map[string]int{
	// Counters and histograms of atomics, which the mempool, the driver
	// and the node add to (internal/metrics reads them).
	"internal/stats": -1,
	// Leaves: the engine, framing, the mempool, test and flag helpers.
	"internal/fsm":         0,
	"internal/wireio":      0,
	"mempool":              0,
	"internal/netflags":    0,
	"internal/appdir":      0,
	"internal/regtestfund": 0,
	"internal/txgen":       0,
	"internal/memwatch":    0,
	"internal/scenario":    0,
	"internal/socks5test":  0,
	"internal/cdp":         0,
	// The pure machines and the transports.
	"handshake":           1,
	"internal/debugproto": 1,
	"internal/transport":  1,
	"internal/proxydial":  1,
	"internal/btcdtest":   1,
	"peer":                2,
	// What carries the machines out.
	"peer/driver":    3,
	"node/connmgr":   3,
	"node/addrbook":  3,
	"node/privbcast": 3,
	"node":           4,
	// The operator's faces adapt node's types.
	"internal/rpcserver/coreerr": 5,
	"internal/rpcserver":         6,
	"internal/telnet":            6,
	"internal/web":               6,
	"internal/metrics":           6,
	// Programs, and the tests and tools that see everything.
	"cmd/peerd":         7,
	"cmd/peerctl":       7,
	"cmd/peerload":      7,
	"cmd/peerfloor":     7,
	"internal/diagrams": 7,
	"internal/e2e":      7,
	"internal/archtest": 7,
}

// TestImportsPointDown: every import of one of the module's packages goes
// to a lower layer, so cmd → node → (connection manager, peer driver) →
// peer machine → handshake → internal/fsm, and the operator's faces
// depend on node, never the reverse.
func TestImportsPointDown(t *testing.T) {
	pkgs := listPackages(t)
	for name, p := range pkgs {
		l, ok := layer[name]
		if !ok {
			t.Errorf("%s has no layer: add it to archtest's table", name)
			continue
		}
		for _, dep := range own(p) {
			if dl, ok := layer[dep]; ok && dl >= l {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports must point down", name, l, dep, dl)
			}
		}
	}
}

const archPage = "../../docs/architecture.md"

const (
	beginDiagram = "<!-- BEGIN package diagram: generated by internal/archtest, do not edit -->"
	endDiagram   = "<!-- END package diagram -->"
)

// diagramPackages are the packages the diagram shows: the node and what it
// is made of, without the tools and test helpers.
func diagramPackages(pkgs map[string]*pkg) []string {
	var out []string
	for name := range pkgs {
		if layer[name] < 7 && !slices.Contains([]string{"internal/netflags", "internal/regtestfund", "internal/txgen", "internal/memwatch", "internal/btcdtest", "internal/scenario", "internal/socks5test", "internal/cdp"}, name) {
			out = append(out, name)
		}
	}
	out = append(out, "cmd/peerd")
	sort.Strings(out)
	return out
}

// packageDiagram draws the imports among the shown packages as a Mermaid
// graph, without the arrows another path already implies (a transitive
// reduction), so that the layers read top to bottom.
func packageDiagram(pkgs map[string]*pkg) string {
	shown := diagramPackages(pkgs)
	edges := make(map[string][]string)
	for _, name := range shown {
		for _, dep := range own(pkgs[name]) {
			if slices.Contains(shown, dep) {
				edges[name] = append(edges[name], dep)
			}
		}
	}
	// reaches reports whether to is reachable from from in at least one
	// step, not using the direct edge skip.
	var reaches func(from, to string, skip [2]string, seen map[string]bool) bool
	reaches = func(from, to string, skip [2]string, seen map[string]bool) bool {
		for _, d := range edges[from] {
			if [2]string{from, d} == skip || seen[d] {
				continue
			}
			if d == to {
				return true
			}
			seen[d] = true
			if reaches(d, to, skip, seen) {
				return true
			}
		}
		return false
	}
	id := func(name string) string { return strings.NewReplacer("/", "_").Replace(name) }
	var b strings.Builder
	b.WriteString("```mermaid\nflowchart TD\n")
	for _, name := range shown {
		fmt.Fprintf(&b, "    %s[%s]\n", id(name), name)
	}
	for _, name := range shown {
		deps := slices.Clone(edges[name])
		sort.Strings(deps)
		for _, d := range deps {
			if !reaches(name, d, [2]string{name, d}, map[string]bool{}) {
				fmt.Fprintf(&b, "    %s --> %s\n", id(name), id(d))
			}
		}
	}
	b.WriteString("```\n")
	return b.String()
}

// TestPackageDiagramMatchesCode: docs/architecture.md's package diagram is
// the imports the code has; -update rewrites it.
func TestPackageDiagramMatchesCode(t *testing.T) {
	pkgs := listPackages(t)
	want := packageDiagram(pkgs)
	page, err := os.ReadFile(archPage)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(page), beginDiagram+"\n")
	got, after, ok2 := strings.Cut(rest, endDiagram)
	if !ok1 || !ok2 {
		t.Fatalf("%s lacks the markers %q and %q", archPage, beginDiagram, endDiagram)
	}
	if *update {
		out := before + beginDiagram + "\n" + want + endDiagram + after
		if err := os.WriteFile(archPage, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != want {
		t.Errorf("%s's package diagram is stale: run go test ./internal/archtest -update\nwant:\n%s", archPage, want)
	}
}
