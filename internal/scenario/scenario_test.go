package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const script = `# a comment
say a
say b
----
a
b

# only a comment

say
----`

func TestParse(t *testing.T) {
	blocks, err := Parse(script)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 3 || len(blocks[0].Cmds) != 2 || blocks[0].Want != "a\nb" || len(blocks[1].Cmds) != 0 || blocks[2].Want != "" {
		t.Fatalf("%+v", blocks)
	}
	if _, err := Parse("x\n----\n\n\n\ny"); err == nil {
		t.Error("an empty block was accepted")
	}
}

// TestRunUpdate: with update, the script is written back with what the
// commands printed; played again, it passes.
func TestRunUpdate(t *testing.T) {
	file := filepath.Join(t.TempDir(), "s.txt")
	if err := os.WriteFile(file, []byte(strings.Replace(script, "a\nb", "stale", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	say := func(cmd string) []string { return strings.Fields(strings.TrimPrefix(cmd, "say")) }
	Run(t, file, true, say)
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != script+"\n" {
		t.Fatalf("rewritten:\n%s", got)
	}
	Run(t, file, false, say)
}
