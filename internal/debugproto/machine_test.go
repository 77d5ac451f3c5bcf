package debugproto

import (
	"strings"
	"testing"

	"github.com/peerd/peerd/internal/fsm"
)

// run starts a machine, feeds it lines, and returns it with the replies to
// the last line and every transition.
func run(lines ...string) (*Machine, []string, []string) {
	var trs []string
	m := New(fsm.ObserverFunc(func(t fsm.Transition) { trs = append(trs, t.From+" -> "+t.To+" on "+t.On) }))
	var out []Action
	m.Step(Event{Kind: Start}, &out)
	var replies []string
	for _, l := range lines {
		out = out[:0]
		m.Step(Event{Kind: Line, Line: l}, &out)
		replies = replies[:0]
		for _, a := range out {
			if a.Reply != "" {
				replies = append(replies, a.Reply)
			}
			if a.Close {
				replies = append(replies, "<close>")
			}
		}
	}
	return m, replies, trs
}

func TestRules(t *testing.T) {
	cases := []struct {
		name    string
		lines   []string
		path    string
		replies string
	}{
		{"welcome moves at once to standby", nil, "standby", ""},
		{"PING? moves to waiting", []string{"PING?"}, "waiting", ""},
		{"other line in standby: a hint", []string{"hello"}, "standby", Hint(Standby)},
		{"words are exact: ping? is not PING?", []string{"ping?"}, "standby", Hint(Standby)},
		{"words are exact: trailing space", []string{"PING? "}, "standby", Hint(Standby)},
		{"BYE closes", []string{"PING?", "BYE"}, "closed", "bye <close>"},
		{"other line in waiting: a hint", []string{"PING?", "C"}, "waiting", Hint(Waiting)},
		{"A enters the inner machine", []string{"PING?", "A"}, "A/innerA", ""},
		{"B moves to innerB", []string{"PING?", "A", "B"}, "A/innerB", ""},
		{"innerA hands PING up: PONG, standby", []string{"PING?", "A", "PING"}, "standby", "PONG"},
		{"innerA hands another word up: waiting", []string{"PING?", "A", "X"}, "waiting", ""},
		{"innerB hands PING up: PONG, standby", []string{"PING?", "A", "B", "PING"}, "standby", "PONG"},
		{"innerB hands another word up: waiting", []string{"PING?", "A", "B", "B"}, "waiting", ""},
		{"innerA hands BYE up: waiting, not closed", []string{"PING?", "A", "BYE"}, "waiting", ""},
		{"after waiting again, BYE closes", []string{"PING?", "A", "X", "BYE"}, "closed", "bye <close>"},
		{"a closed session ignores lines", []string{"PING?", "BYE", "PING?"}, "closed", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, replies, _ := run(c.lines...)
			if m.Path() != c.path {
				t.Errorf("path %q, want %q", m.Path(), c.path)
			}
			if got := strings.Join(replies, " "); got != c.replies {
				t.Errorf("replies %q, want %q", got, c.replies)
			}
		})
	}
}

func TestTransitionsAreObservable(t *testing.T) {
	_, _, trs := run("PING?", "A", "B", "PING")
	want := []string{
		"welcome -> standby on at once",
		"standby -> waiting on PING?",
		"waiting -> A on A",
		"A -> A/innerA on A",
		"A/innerA -> A/innerB on B",
		"A/innerB -> A/innerEnd on any line",
		"A -> standby on PING handed up",
	}
	if got := strings.Join(trs, "|"); got != strings.Join(want, "|") {
		t.Fatalf("transitions\n%s\nwant\n%s", strings.Join(trs, "\n"), strings.Join(want, "\n"))
	}
}

func TestHangUp(t *testing.T) {
	for _, lines := range [][]string{nil, {"PING?"}, {"PING?", "A"}, {"PING?", "A", "B"}} {
		m, _, _ := run(lines...)
		var out []Action
		m.Step(Event{Kind: HangUp}, &out)
		if m.Path() != "closed" || len(out) != 1 || !out[0].Close {
			t.Errorf("after %v, hang up: path %q, actions %+v", lines, m.Path(), out)
		}
	}
}

// TestEveryEdgeTaken: the rules above exercise every declared edge.
func TestEveryEdgeTaken(t *testing.T) {
	taken := map[string]bool{}
	for _, lines := range [][]string{
		{"PING?", "BYE"}, {"PING?", "A", "PING"}, {"PING?", "A", "X"}, {"PING?", "A", "B", "PING"}, {"PING?", "A", "B", "X"},
	} {
		_, _, trs := run(lines...)
		for _, tr := range trs {
			taken[tr] = true
		}
	}
	for _, lines := range [][]string{nil, {"PING?"}, {"PING?", "A"}} {
		var trs []string
		m := New(fsm.ObserverFunc(func(t fsm.Transition) { trs = append(trs, t.From+" -> "+t.To+" on "+t.On) }))
		var out []Action
		m.Step(Event{Kind: Start}, &out)
		for _, l := range lines {
			m.Step(Event{Kind: Line, Line: l}, &out)
		}
		m.Step(Event{Kind: HangUp}, &out)
		for _, tr := range trs {
			taken[tr] = true
		}
	}
	for _, e := range Spec.Edges {
		if !taken[string(e.From)+" -> "+string(e.To)+" on "+e.On] {
			t.Errorf("edge %s -> %s on %q never taken", e.From, e.To, e.On)
		}
	}
	for _, e := range InnerSpec.Edges {
		if !taken["A/"+string(e.From)+" -> A/"+string(e.To)+" on "+e.On] {
			t.Errorf("inner edge %s -> %s on %q never taken", e.From, e.To, e.On)
		}
	}
}
