// Package fsm is the state machine engine that every machine in peerd is
// built on: the wire peer, its handshake, and the debug text protocol.
//
// A machine is declared as data (a Spec: its states, the edges between them
// and, for composed states, the inner machine's Spec) and driven by code (a
// Stepper whose Step method reads one event and emits actions). The two meet
// in Core.Become, which refuses any transition the Spec does not declare, so
// the diagrams drawn from the Specs (see Mermaid) are the machines' real
// transitions and not a drawing beside them.
//
// Composition follows the seed design: while an outer machine sits in a
// composed state, an inner machine runs; Dispatch hands each event to the
// innermost machine first. The inner machine either handles it, passes it up
// (Unhandled: the outer machine handles it as if no inner machine were
// there, which is how a ping is answered in the middle of any inner state),
// or ends on it (Ended: the outer machine evaluates the event the inner
// machine ended on).
//
// Nothing here does I/O, reads the clock or starts goroutines.
package fsm

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// State names one state of one machine. States are plain strings so they
// print, compare and serialise without help.
type State string

func (s State) String() string { return string(s) }

// Edge is one declared transition: From moves to To when On happens. On is a
// short human label ("version", "timeout", "PING?") used in logs, the
// transition history and diagrams.
type Edge struct {
	From, To State
	On       string
}

// Spec is the static definition of a machine.
type Spec struct {
	// Name identifies the machine in diagrams and errors.
	Name string
	// Initial is the state a new machine starts in.
	Initial State
	// States lists every state in the order diagrams show them.
	States []State
	// Final lists the states in which the machine has ended. An inner
	// machine that reaches a final state hands control back to its parent.
	Final []State
	// Edges lists every legal transition.
	Edges []Edge
	// Inner maps a composed state to the Spec of the machine that runs
	// while the outer machine is in it.
	Inner map[State]*Spec
	// Notes optionally explains a state in diagrams.
	Notes map[State]string

	edges map[Edge]bool
	final map[State]bool
}

// Validate checks that the Spec is self-consistent: every edge and the
// initial state name a declared state, and every inner Spec is valid.
// Machines call it from a test; NewCore calls it once per Spec.
func (s *Spec) Validate() error {
	known := make(map[State]bool, len(s.States))
	for _, st := range s.States {
		if known[st] {
			return fmt.Errorf("fsm %s: state %q declared twice", s.Name, st)
		}
		known[st] = true
	}
	if !known[s.Initial] {
		return fmt.Errorf("fsm %s: initial state %q not declared", s.Name, s.Initial)
	}
	for _, st := range s.Final {
		if !known[st] {
			return fmt.Errorf("fsm %s: final state %q not declared", s.Name, st)
		}
	}
	seen := make(map[Edge]bool, len(s.Edges))
	for _, e := range s.Edges {
		if !known[e.From] || !known[e.To] {
			return fmt.Errorf("fsm %s: edge %s -> %s names an undeclared state", s.Name, e.From, e.To)
		}
		if e.On == "" {
			return fmt.Errorf("fsm %s: edge %s -> %s has no label", s.Name, e.From, e.To)
		}
		if seen[e] {
			return fmt.Errorf("fsm %s: edge %s -> %s on %q declared twice", s.Name, e.From, e.To, e.On)
		}
		seen[e] = true
	}
	for st, in := range s.Inner {
		if !known[st] {
			return fmt.Errorf("fsm %s: composed state %q not declared", s.Name, st)
		}
		if err := in.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// index builds the lookup tables. Specs are package-level values that are
// never mutated once MustIndex has run, so machines may share them across
// goroutines.
func (s *Spec) index() {
	s.edges = make(map[Edge]bool, len(s.Edges))
	for _, e := range s.Edges {
		s.edges[e] = true
	}
	s.final = make(map[State]bool, len(s.Final))
	for _, st := range s.Final {
		s.final[st] = true
	}
	for _, in := range s.Inner {
		in.index()
	}
}

// MustIndex validates s and builds its lookup tables. It panics on an
// invalid Spec: that is a programming error found by the first test that
// touches the package. Call it when declaring a Spec:
//
//	var spec = fsm.MustIndex(&fsm.Spec{...})
func MustIndex(s *Spec) *Spec {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	s.index()
	return s
}

// Allows reports whether the Spec declares the edge.
func (s *Spec) Allows(e Edge) bool { return s.edges[e] }

// IsFinal reports whether st is one of the Spec's final states.
func (s *Spec) IsFinal(st State) bool { return s.final[st] }

// Transition is one recorded change of state.
type Transition struct {
	At       time.Time
	From, To string // full paths, e.g. "handshake/awaitVerack"
	On       string
}

func (t Transition) String() string {
	return fmt.Sprintf("%s -> %s on %s", t.From, t.To, t.On)
}

// Observer receives every transition of a machine and of its inner machines.
// The peer driver uses one to log at debug level and keep a short history.
// It is called synchronously from Step, so it must not block.
type Observer interface {
	Transitioned(Transition)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Transition)

// Transitioned calls f(t).
func (f ObserverFunc) Transitioned(t Transition) { f(t) }

// Core holds the current state of one machine level and enforces its Spec.
// Machines embed a Core and move only through Become.
type Core struct {
	spec   *Spec
	state  State
	prefix string // path of the enclosing states, "" at the top
	obs    Observer
}

// NewCore returns a Core in spec's initial state. prefix is the path of the
// composed state this machine runs inside ("" for a top-level machine), and
// obs, which may be nil, receives its transitions.
func NewCore(spec *Spec, prefix string, obs Observer) Core {
	if spec.edges == nil {
		panic("fsm: Spec " + spec.Name + " not indexed: declare it with MustIndex")
	}
	return Core{spec: spec, state: spec.Initial, prefix: prefix, obs: obs}
}

// State returns the current state.
func (c *Core) State() State { return c.state }

// Spec returns the machine's definition.
func (c *Core) Spec() *Spec { return c.spec }

// Ended reports whether the machine is in a final state.
func (c *Core) Ended() bool { return c.spec.IsFinal(c.state) }

// Path returns the state's full path, e.g. "standby" or "handshake/awaitVerack".
func (c *Core) Path() string { return join(c.prefix, string(c.state)) }

// Observer returns the observer given to NewCore, for inner machines.
func (c *Core) Observer() Observer { return c.obs }

// Become moves the machine to state to because of on. It panics if the Spec
// does not declare the edge: an undeclared transition is a bug in the
// machine, never a reaction to input, and the driver turns the panic into a
// disconnect of that one peer. Self-transitions must be declared like any
// other edge; most machines simply stay put instead.
func (c *Core) Become(at time.Time, to State, on string) {
	e := Edge{From: c.state, To: to, On: on}
	if !c.spec.Allows(e) {
		panic(fmt.Sprintf("fsm %s: undeclared transition %s -> %s on %q", c.spec.Name, c.state, to, on))
	}
	from := c.Path()
	c.state = to
	if c.obs != nil {
		c.obs.Transitioned(Transition{At: at, From: from, To: c.Path(), On: on})
	}
}

// Enter tells the observer that this machine has just started, in its
// initial state, inside its enclosing composed state: the transition reads
// from the enclosing path into this machine's path, e.g.
// "standby -> standby/validating". Call it when an outer machine enters a
// composed state, right after creating the inner machine.
func (c *Core) Enter(at time.Time, on string) {
	if c.obs != nil {
		c.obs.Transitioned(Transition{At: at, From: c.prefix, To: c.Path(), On: on})
	}
}

func join(prefix, s string) string {
	if prefix == "" {
		return s
	}
	k := pathKey{prefix, s}
	if v, ok := paths.Load(k); ok {
		return v.(string)
	}
	v, _ := paths.LoadOrStore(k, prefix+"/"+s)
	return v.(string)
}

// paths interns the joined state paths, so that every peer in
// "handshake/awaitVerack" shares one string instead of building its own at
// each transition and snapshot. Prefixes and states come from Specs, so
// the map is bounded by the states declared.
var paths sync.Map // pathKey -> string

type pathKey struct{ prefix, state string }

// Result says what a machine did with an event.
type Result uint8

const (
	// Handled: the machine consumed the event.
	Handled Result = iota
	// Unhandled: the machine does not react to this event in its current
	// state; its parent handles it.
	Unhandled
	// Ended: the machine reached a final state on this event; its parent
	// evaluates the same event.
	Ended
)

var resultNames = [...]string{Handled: "handled", Unhandled: "unhandled", Ended: "ended"}

func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return fmt.Sprintf("Result(%d)", r)
}

// Stepper is one machine level: it reads an event and appends actions to
// out. E and A are the event and action types shared by a hierarchy.
type Stepper[E, A any] interface {
	Step(ev E, out *[]A) Result
}

// Composite is a Stepper that may be running an inner machine.
type Composite[E, A any] interface {
	Stepper[E, A]
	// Inner returns the running inner machine, or nil.
	Inner() Stepper[E, A]
	// InnerEnded is called when the inner machine ended on ev. The
	// composite leaves its composed state (or starts another inner
	// machine) and evaluates ev itself.
	InnerEnded(ev E, out *[]A) Result
}

// Dispatch delivers ev to the innermost running machine under m and works
// outwards: an inner machine's Unhandled lets its parent Step the same event,
// and its Ended makes the parent evaluate the event through InnerEnded.
func Dispatch[E, A any](m Stepper[E, A], ev E, out *[]A) Result {
	if c, ok := m.(Composite[E, A]); ok {
		if in := c.Inner(); in != nil {
			switch Dispatch(in, ev, out) {
			case Handled:
				return Handled
			case Ended:
				return c.InnerEnded(ev, out)
			}
		}
	}
	return m.Step(ev, out)
}

// Pather is a machine that can report its own state path.
type Pather interface{ Path() string }

// Path returns the full state path of m, descending into running inner
// machines: "standby/validating".
func Path[E, A any](m Stepper[E, A]) string {
	p := ""
	if pm, ok := m.(Pather); ok {
		p = pm.Path()
	}
	if c, ok := m.(Composite[E, A]); ok {
		if in := c.Inner(); in != nil {
			if ip := Path(in); ip != "" {
				p = ip // inner paths already carry the outer prefix
			}
		}
	}
	return p
}

// History is a bounded ring of the latest transitions. It grows as
// transitions come, up to its limit, so a machine that made five moves
// holds five entries, not the limit's worth. The zero value keeps nothing;
// use NewHistory. It is not safe for concurrent use: the owner of the
// machine owns its history.
type History struct {
	buf   []entry
	limit int
	next  int // where the next entry goes once buf is full
}

// entry is a Transition as History keeps it: the time as Unix
// nanoseconds, which takes 16 bytes less than a time.Time (a peer keeps
// up to 32 of them).
type entry struct {
	at           int64
	from, to, on string
}

// NewHistory returns a History keeping the last n transitions.
func NewHistory(n int) *History { return &History{limit: n} }

// Transitioned records t, dropping the oldest entry when full.
func (h *History) Transitioned(t Transition) {
	e := entry{at: t.At.UnixNano(), from: t.From, to: t.To, on: t.On}
	switch {
	case h.limit <= 0:
	case len(h.buf) < h.limit:
		if len(h.buf) == cap(h.buf) {
			// 4 entries hold a v1 handshake's transitions, 6 one over
			// BIP 324 (its key exchange is one more); then doubling,
			// never past the limit.
			grow := 2 * cap(h.buf)
			switch cap(h.buf) {
			case 0:
				grow = 4
			case 4:
				grow = 6
			}
			grown := make([]entry, len(h.buf), min(grow, h.limit))
			copy(grown, h.buf)
			h.buf = grown
		}
		h.buf = append(h.buf, e)
	default:
		h.buf[h.next] = e
		h.next = (h.next + 1) % len(h.buf)
	}
}

// Snapshot returns the recorded transitions, oldest first.
func (h *History) Snapshot() []Transition {
	out := make([]Transition, 0, len(h.buf))
	for _, part := range [][]entry{h.buf[h.next:], h.buf[:h.next]} {
		for _, e := range part {
			out = append(out, Transition{At: time.Unix(0, e.at), From: e.from, To: e.to, On: e.on})
		}
	}
	return out
}

// Mermaid renders spec as a Mermaid stateDiagram-v2, drawing composed states
// as nested machines. The output is deterministic: states and edges appear
// in declaration order.
func Mermaid(spec *Spec) string {
	var b strings.Builder
	b.WriteString("stateDiagram-v2\n")
	writeMermaid(&b, spec, "    ", "")
	return b.String()
}

func writeMermaid(b *strings.Builder, s *Spec, indent, scope string) {
	id := func(st State) string {
		if scope == "" {
			return string(st)
		}
		return scope + "_" + string(st)
	}
	for _, st := range s.States {
		if id(st) != string(st) {
			fmt.Fprintf(b, "%sstate \"%s\" as %s\n", indent, st, id(st))
		}
	}
	fmt.Fprintf(b, "%s[*] --> %s\n", indent, id(s.Initial))
	for _, e := range s.Edges {
		fmt.Fprintf(b, "%s%s --> %s: %s\n", indent, id(e.From), id(e.To), mermaidLabel(e.On))
	}
	for _, st := range s.Final {
		fmt.Fprintf(b, "%s%s --> [*]\n", indent, id(st))
	}
	for _, st := range s.States {
		if note, ok := s.Notes[st]; ok {
			fmt.Fprintf(b, "%snote right of %s: %s\n", indent, id(st), mermaidLabel(note))
		}
	}
	for _, st := range s.States {
		in, ok := s.Inner[st]
		if !ok {
			continue
		}
		fmt.Fprintf(b, "%sstate %s {\n", indent, id(st))
		writeMermaid(b, in, indent+"    ", id(st))
		fmt.Fprintf(b, "%s}\n", indent)
	}
}

// mermaidLabel keeps labels on one line and away from Mermaid's syntax.
func mermaidLabel(s string) string {
	r := strings.NewReplacer("\n", " ", ":", " ", ";", ",", "#", "No.", "{", "(", "}", ")")
	return r.Replace(s)
}

// Graphviz renders spec as a Graphviz digraph, drawing composed states as
// clusters that hold their inner machine. Edges into a composed state end
// at its inner machine's initial state; edges out of it leave its final
// states' cluster. The output is deterministic.
func Graphviz(spec *Spec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n", spec.Name)
	b.WriteString("    rankdir=LR;\n    compound=true;\n    node [shape=box, style=rounded, fontname=\"Helvetica\"];\n    edge [fontname=\"Helvetica\", fontsize=10];\n")
	writeDot(&b, spec, "    ", "")
	b.WriteString("}\n")
	return b.String()
}

func writeDot(b *strings.Builder, s *Spec, indent, scope string) {
	id := func(st State) string { return fmt.Sprintf("%q", scope+string(st)) }
	start := fmt.Sprintf("%q", scope+"__start")
	fmt.Fprintf(b, "%s%s [shape=point, width=0.15];\n", indent, start)
	for _, st := range s.States {
		in, composed := s.Inner[st]
		if !composed {
			shape := ""
			if s.IsFinal(st) {
				shape = ", peripheries=2"
			}
			fmt.Fprintf(b, "%s%s [label=%q%s];\n", indent, id(st), string(st), shape)
			continue
		}
		label := string(st)
		if note, ok := s.Notes[st]; ok {
			label += "\n(" + note + ")"
		}
		fmt.Fprintf(b, "%ssubgraph %q {\n%s    label=%q;\n%s    style=rounded;\n", indent, "cluster_"+scope+string(st), indent, label, indent)
		writeDot(b, in, indent+"    ", scope+string(st)+"/")
		fmt.Fprintf(b, "%s}\n", indent)
	}
	// A composed state is reached at its inner start point and left from
	// its cluster.
	target := func(st State) (string, string) {
		if _, ok := s.Inner[st]; ok {
			return fmt.Sprintf("%q", scope+string(st)+"/__start"), fmt.Sprintf("lhead=%q", "cluster_"+scope+string(st))
		}
		return id(st), ""
	}
	source := func(st State) (string, string) {
		if in, ok := s.Inner[st]; ok {
			return fmt.Sprintf("%q", scope+string(st)+"/"+string(in.Initial)), fmt.Sprintf("ltail=%q", "cluster_"+scope+string(st))
		}
		return id(st), ""
	}
	to, attr := target(s.Initial)
	fmt.Fprintf(b, "%s%s -> %s [%s];\n", indent, start, to, attr)
	for _, e := range s.Edges {
		from, a1 := source(e.From)
		to, a2 := target(e.To)
		attrs := []string{fmt.Sprintf("label=%q", e.On)}
		for _, a := range []string{a1, a2} {
			if a != "" {
				attrs = append(attrs, a)
			}
		}
		fmt.Fprintf(b, "%s%s -> %s [%s];\n", indent, from, to, strings.Join(attrs, ", "))
	}
}
