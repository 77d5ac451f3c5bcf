package fsm

import (
	"strings"
	"testing"
	"time"
)

// A two-level test machine: outer idles in "a", enters composed state "in"
// on "go"; the inner machine moves x -> y on "step" and ends on "end". It
// does not handle "ping", which the outer answers in every state.

var innerSpec = MustIndex(&Spec{
	Name: "inner", Initial: "x",
	States: []State{"x", "y", "end"},
	Final:  []State{"end"},
	Edges: []Edge{
		{From: "x", To: "y", On: "step"},
		{From: "y", To: "end", On: "other"},
	},
})

var outerSpec = MustIndex(&Spec{
	Name: "outer", Initial: "a",
	States: []State{"a", "in"},
	Edges: []Edge{
		{From: "a", To: "in", On: "go"},
		{From: "in", To: "a", On: "inner ended"},
	},
	Inner: map[State]*Spec{"in": innerSpec},
})

type innerM struct{ Core }

func (m *innerM) Step(ev string, out *[]string) Result {
	switch {
	case ev == "ping":
		return Unhandled
	case m.State() == "x" && ev == "step":
		m.Become(time.Time{}, "y", "step")
		return Handled
	case m.State() == "y":
		m.Become(time.Time{}, "end", "other")
		return Ended
	}
	return Handled
}

type outerM struct {
	Core
	in *innerM
}

func (m *outerM) Inner() Stepper[string, string] {
	if m.in == nil {
		return nil
	}
	return m.in
}

func (m *outerM) InnerEnded(ev string, out *[]string) Result {
	m.in = nil
	m.Become(time.Time{}, "a", "inner ended")
	*out = append(*out, "outer evaluates "+ev)
	return Handled
}

func (m *outerM) Step(ev string, out *[]string) Result {
	switch {
	case ev == "ping":
		*out = append(*out, "pong")
	case m.State() == "a" && ev == "go":
		m.Become(time.Time{}, "in", "go")
		m.in = &innerM{NewCore(innerSpec, m.Path(), m.Observer())}
	}
	return Handled
}

func TestDispatchComposition(t *testing.T) {
	h := NewHistory(10)
	m := &outerM{Core: NewCore(outerSpec, "", h)}
	var out []string
	steps := []struct {
		ev, path, out string
	}{
		{"go", "in/x", ""},
		{"ping", "in/x", "pong"},                      // unhandled by inner: outer answers
		{"step", "in/y", ""},                          // inner moves
		{"ping", "in/y", "pong"},                      // still bubbles
		{"whatever", "a", "outer evaluates whatever"}, // inner ends; outer evaluates the same event
	}
	for _, s := range steps {
		out = out[:0]
		Dispatch[string, string](m, s.ev, &out)
		if got := Path[string, string](m); got != s.path {
			t.Fatalf("after %q: path %q, want %q", s.ev, got, s.path)
		}
		if got := strings.Join(out, ","); got != s.out {
			t.Fatalf("after %q: out %q, want %q", s.ev, got, s.out)
		}
	}
	var got []string
	for _, tr := range h.Snapshot() {
		got = append(got, tr.String())
	}
	want := []string{"a -> in on go", "in/x -> in/y on step", "in/y -> in/end on other", "in -> a on inner ended"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("history %q, want %q", got, want)
	}
}

func TestBecomeRefusesUndeclaredEdge(t *testing.T) {
	m := &outerM{Core: NewCore(outerSpec, "", nil)}
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "undeclared transition a -> a") {
			t.Fatalf("recover() = %v, want an undeclared-transition panic", r)
		}
		if m.State() != "a" {
			t.Fatalf("state changed to %q on a refused transition", m.State())
		}
	}()
	m.Become(time.Time{}, "a", "go")
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
		want string
	}{
		{"undeclared initial", Spec{Name: "s", Initial: "x"}, "initial state"},
		{"duplicate state", Spec{Name: "s", Initial: "x", States: []State{"x", "x"}}, "declared twice"},
		{"edge to nowhere", Spec{Name: "s", Initial: "x", States: []State{"x"}, Edges: []Edge{{From: "x", To: "y", On: "e"}}}, "undeclared state"},
		{"unlabelled edge", Spec{Name: "s", Initial: "x", States: []State{"x"}, Edges: []Edge{{From: "x", To: "x"}}}, "no label"},
		{"bad final", Spec{Name: "s", Initial: "x", States: []State{"x"}, Final: []State{"z"}}, "final state"},
		{"bad inner", Spec{Name: "s", Initial: "x", States: []State{"x"}, Inner: map[State]*Spec{"x": {Name: "i", Initial: "q"}}}, "fsm i"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.spec.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate() = %v, want error containing %q", err, c.want)
			}
		})
	}
	if err := outerSpec.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestHistoryRing(t *testing.T) {
	for _, tc := range []struct {
		limit, moves int
		want         string
		maxCap       int
	}{
		{3, 5, "cde", 3},
		{10, 3, "abc", 4}, // grows as moves come, not to the limit
		{10, 12, "cdefghijkl", 10},
		{6, 6, "abcdef", 6}, // exactly full
		{0, 4, "", 0},
	} {
		h := NewHistory(tc.limit)
		for i := range tc.moves {
			h.Transitioned(Transition{On: string(rune('a' + i))})
		}
		var got string
		for _, tr := range h.Snapshot() {
			got += tr.On
		}
		if got != tc.want {
			t.Errorf("limit %d, %d moves: snapshot %q, want %q (oldest first)", tc.limit, tc.moves, got, tc.want)
		}
		if cap(h.buf) > tc.maxCap {
			t.Errorf("limit %d, %d moves: holds room for %d entries, want at most %d", tc.limit, tc.moves, cap(h.buf), tc.maxCap)
		}
	}
}

func TestMermaidNestsComposedStates(t *testing.T) {
	got := Mermaid(outerSpec)
	want := `stateDiagram-v2
    [*] --> a
    a --> in: go
    in --> a: inner ended
    state in {
        state "x" as in_x
        state "y" as in_y
        state "end" as in_end
        [*] --> in_x
        in_x --> in_y: step
        in_y --> in_end: other
        in_end --> [*]
    }
`
	if got != want {
		t.Fatalf("Mermaid:\n%s\nwant:\n%s", got, want)
	}
}
