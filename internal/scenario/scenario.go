// Package scenario plays the text scripts that the machines' scenario
// tests are written in (package peer's, node/connmgr's): blocks separated
// by blank lines, each made of comment lines (#), command lines, a line
// "----", and the output the commands must produce, one line each. The
// test gives the commands their meaning; this package reads the script,
// compares, and with -update writes the script back with what the commands
// printed, for review.
package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Block is one block of a script.
type Block struct {
	Comments []string
	Cmds     []string
	Want     string
}

// Parse splits a script into its blocks.
func Parse(text string) ([]Block, error) {
	var blocks []Block
	for _, raw := range strings.Split(strings.TrimSpace(text), "\n\n") {
		var b Block
		lines := strings.Split(raw, "\n")
		i := 0
		for ; i < len(lines) && lines[i] != "----"; i++ {
			switch {
			case strings.HasPrefix(lines[i], "#"):
				b.Comments = append(b.Comments, lines[i])
			case strings.TrimSpace(lines[i]) != "":
				b.Cmds = append(b.Cmds, lines[i])
			}
		}
		if i < len(lines) {
			b.Want = strings.Join(lines[i+1:], "\n")
		}
		if len(b.Cmds) == 0 && len(b.Comments) == 0 {
			return nil, errEmpty
		}
		blocks = append(blocks, b)
	}
	return blocks, nil
}

type parseError string

func (e parseError) Error() string { return string(e) }

const errEmpty = parseError("scenario: an empty block")

// Run plays the script in file: step runs one command and returns the
// lines it printed. Each block's output must be its expected output; with
// update, the file is rewritten with the output instead.
func Run(t testing.TB, file string, update bool, step func(cmd string) []string) {
	t.Helper()
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := Parse(string(text))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var parts []string
	for _, b := range blocks {
		var out []string
		for _, c := range b.Cmds {
			out = append(out, step(c)...)
		}
		got := strings.Join(out, "\n")
		part := b.Comments
		if len(b.Cmds) > 0 {
			part = append(append(part, b.Cmds...), "----")
			if got != "" {
				part = append(part, got)
			}
			if !update && got != b.Want {
				t.Errorf("%s: after\n  %s\ngot:\n%s\nwant:\n%s", file, strings.Join(b.Cmds, "\n  "), Indent(got), Indent(b.Want))
			}
		}
		parts = append(parts, strings.Join(part, "\n"))
	}
	if update {
		if err := os.WriteFile(file, []byte(strings.Join(parts, "\n\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Indent indents every line of s by four spaces, for failure messages.
func Indent(s string) string {
	if s == "" {
		return "    (nothing)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// Each runs play, as a subtest named after the file, on every script in
// testdata/scenarios; having none is a failure.
func Each(t *testing.T, play func(t *testing.T, file string)) {
	t.Helper()
	files, err := filepath.Glob("testdata/scenarios/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario scripts: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) { play(t, file) })
	}
}
