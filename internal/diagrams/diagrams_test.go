package diagrams

import (
	"flag"
	"os"
	"testing"
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

func TestSpecsValid(t *testing.T) {
	for _, d := range All() {
		if err := d.Spec.Validate(); err != nil {
			t.Errorf("%s: %v", d.Title, err)
		}
	}
}
