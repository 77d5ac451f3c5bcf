package debugproto

import (
	"strings"
	"testing"
)

// FuzzSession feeds arbitrary lines (split on newlines) to a session: no
// panic, and a closed session stays closed and says nothing more.
func FuzzSession(f *testing.F) {
	f.Add("PING?\nA\nB\nPING\nPING?\nBYE")
	f.Add("PING?\nA\nX\nA\nPING\nhello")
	f.Add("\xff\xfe\nPING?\n\nA\n\n")
	f.Fuzz(func(t *testing.T, text string) {
		m := New(nil)
		var out []Action
		m.Step(Event{Kind: Start}, &out)
		closed := false
		for _, line := range strings.Split(text, "\n") {
			out = out[:0]
			m.Step(Event{Kind: Line, Line: line}, &out)
			if closed && len(out) > 0 {
				t.Fatalf("closed session answered %q with %+v", line, out)
			}
			for _, a := range out {
				closed = closed || a.Close
			}
			if closed != (m.Path() == "closed") {
				t.Fatalf("closed=%v but path %q", closed, m.Path())
			}
		}
	})
}
