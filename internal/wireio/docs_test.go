package wireio

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the command table in docs/protocol.md from the code")

const (
	docsPage  = "../../docs/protocol.md"
	docsBegin = "<!-- command table: generated from internal/wireio's commands by `go test ./internal/wireio -update`; do not edit -->"
	docsEnd   = "<!-- end of command table -->"
)

// commandTableMarkdown renders the command table for docs/protocol.md.
func commandTableMarkdown() string {
	var b strings.Builder
	b.WriteString("| command | read as | payload limit (bytes) | count and other limits | over the limit |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for i := range commands {
		c := &commands[i]
		read := "decoded"
		if c.new == nil {
			read = "skipped, not decoded"
		}
		count, over := "", ""
		if c.count != nil {
			count = fmt.Sprintf("%s %s", thousands(c.count.max), c.count.what)
			over = c.count.over.String()
		}
		if c.also != "" {
			count = strings.TrimPrefix(count+"; "+c.also, "; ")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", c.name, read, thousands(uint64(c.limit)), count, over)
	}
	b.WriteString("| anything else | skipped, not decoded | 4,000,000 | | |\n")
	return b.String()
}

func thousands(n uint64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// The command table in docs/protocol.md is the code's: change the table,
// then run `go test ./internal/wireio -update` and review the diff.
func TestDocsCommandTable(t *testing.T) {
	page, err := os.ReadFile(docsPage)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(page, []byte(docsBegin))
	j := bytes.Index(page, []byte(docsEnd))
	if i < 0 || j < i {
		t.Fatalf("%s has no command table between %q and %q", docsPage, docsBegin, docsEnd)
	}
	want := docsBegin + "\n" + commandTableMarkdown() + docsEnd
	got := string(page[i : j+len(docsEnd)])
	if got == want {
		return
	}
	if *update {
		out := append(bytes.Clone(page[:i]), want...)
		out = append(out, page[j+len(docsEnd):]...)
		if err := os.WriteFile(docsPage, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s's command table differs from the code's; run: go test ./internal/wireio -update\ngot:\n%s\nwant:\n%s", docsPage, got, want)
}

func TestThousands(t *testing.T) {
	for n, want := range map[uint64]string{0: "0", 999: "999", 1000: "1,000", 4_000_000: "4,000,000", 36012: "36,012"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
