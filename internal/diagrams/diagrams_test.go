package diagrams

import (
	"flag"
	"os"
	"testing"

	"github.com/peerd/peerd/internal/fsm"
)

var update = flag.Bool("update", false, "rewrite docs/state-machines.md from the code")

const page = "../../docs/state-machines.md"

func TestDiagramsMatchCode(t *testing.T) {
	want := Page()
	if *update {
		if err := os.WriteFile(page, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(page)
	if err != nil {
		t.Fatalf("%v (run: go test ./internal/diagrams -update)", err)
	}
	if string(got) != want {
		t.Fatalf("%s is stale: the machines' Specs changed; run: go test ./internal/diagrams -update", page)
	}
}

// TestGraphvizMatchesCode: docs/diagrams/*.dot are the Specs' Graphviz
// text; scripts/render-diagrams.sh turns them into the SVGs beside them.
func TestGraphvizMatchesCode(t *testing.T) {
	for _, d := range All() {
		path := "../../docs/diagrams/" + d.File + ".dot"
		want := fsm.Graphviz(d.Spec)
		if *update {
			if err := os.MkdirAll("../../docs/diagrams", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Errorf("%s is stale or missing (%v): run go test ./internal/diagrams -update, then scripts/render-diagrams.sh", path, err)
		}
	}
}

func TestSpecsValid(t *testing.T) {
	for _, d := range All() {
		if err := d.Spec.Validate(); err != nil {
			t.Errorf("%s: %v", d.Title, err)
		}
	}
}
