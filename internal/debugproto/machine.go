// Package debugproto is the textual protocol peerd began as (the seed post,
// ../shared/seed-post.txt), kept as the node's debug mode: a person with
// telnet drives a state machine built on the same engine as the wire peers
// and watches it move.
//
// The rules:
//
//  1. A session starts in welcome and moves at once to standby.
//  2. In standby, "PING?" moves to waiting.
//  3. In waiting, "BYE" closes the session; "A" enters the composed state A,
//     an inner machine that starts in innerA.
//  4. innerA: "B" moves to innerB; any other line ends the inner machine
//     (innerEnd) and hands that line to the outer machine.
//  5. innerB: any line ends the inner machine and hands that line up.
//  6. The outer machine evaluates a handed-up line: "PING" replies "PONG"
//     and moves to standby; anything else moves to waiting.
//
// Words match exactly (case and spaces count). Any other line in standby or
// waiting gets a one-line hint and changes nothing: a debug session is never
// dropped for a typo. Lines starting with "/" are console commands and
// never reach this machine (see the session server).
package debugproto

import (
	"time"

	"github.com/peerd/peerd/internal/fsm"
)

// Outer states.
const (
	Welcome fsm.State = "welcome"
	Standby fsm.State = "standby"
	Waiting fsm.State = "waiting"
	// Composed is the composed state "A": the inner machine runs inside.
	Composed fsm.State = "A"
	Closed   fsm.State = "closed"
)

// Inner states.
const (
	InnerA   fsm.State = "innerA"
	InnerB   fsm.State = "innerB"
	InnerEnd fsm.State = "innerEnd"
)

// The seed's words.
const (
	WordPingQ = "PING?"
	WordBye   = "BYE"
	WordA     = "A"
	WordB     = "B"
	WordPing  = "PING"
	WordPong  = "PONG"
)

// Edge labels that are not words.
const (
	onAtOnce     = "at once"
	onHandedPing = "PING handed up"
	onHandedElse = "other line handed up"
	onOther      = "other line"
	onAny        = "any line"
	onHangUp     = "hang up"
)

// InnerSpec is the composed state's machine.
var InnerSpec = fsm.MustIndex(&fsm.Spec{
	Name:    "A",
	Initial: InnerA,
	States:  []fsm.State{InnerA, InnerB, InnerEnd},
	Final:   []fsm.State{InnerEnd},
	Edges: []fsm.Edge{
		{From: InnerA, To: InnerB, On: WordB},
		{From: InnerA, To: InnerEnd, On: onOther},
		{From: InnerB, To: InnerEnd, On: onAny},
	},
	Notes: map[fsm.State]string{InnerEnd: "the line it ended on goes to the outer machine"},
})

// Spec is the session machine's definition.
var Spec = fsm.MustIndex(&fsm.Spec{
	Name:    "debug session",
	Initial: Welcome,
	States:  []fsm.State{Welcome, Standby, Waiting, Composed, Closed},
	Final:   []fsm.State{Closed},
	Edges: []fsm.Edge{
		{From: Welcome, To: Standby, On: onAtOnce},
		{From: Standby, To: Waiting, On: WordPingQ},
		{From: Waiting, To: Closed, On: WordBye},
		{From: Waiting, To: Composed, On: WordA},
		{From: Composed, To: Standby, On: onHandedPing},
		{From: Composed, To: Waiting, On: onHandedElse},
		{From: Standby, To: Closed, On: onHangUp},
		{From: Waiting, To: Closed, On: onHangUp},
		{From: Composed, To: Closed, On: onHangUp},
	},
	Inner: map[fsm.State]*fsm.Spec{Composed: InnerSpec},
	Notes: map[fsm.State]string{Composed: "on PING replies PONG"},
})

// Kind says what an Event is.
type Kind uint8

// Event kinds.
const (
	// Start: the session is open.
	Start Kind = iota
	// Line: the person sent Line (without its line ending).
	Line
	// HangUp: the session ends from outside (idle timeout, quit, shutdown).
	HangUp
)

// Event is one input.
type Event struct {
	Kind Kind
	Now  time.Time
	Line string
}

// Action is one output: a line to send, or the order to close.
type Action struct {
	Reply string
	Close bool
}

// Machine is one session's machine. It is not safe for concurrent use.
type Machine struct {
	fsm.Core
	inner *innerMachine
	level level
}

// New returns a machine in welcome; obs sees every transition.
func New(obs fsm.Observer) *Machine {
	m := &Machine{Core: fsm.NewCore(Spec, "", obs)}
	m.level.m = m
	return m
}

// Step feeds ev through the machine and its inner machine.
func (m *Machine) Step(ev Event, out *[]Action) {
	fsm.Dispatch[Event, Action](&m.level, ev, out)
}

// Path is the state path, e.g. "A/innerB".
func (m *Machine) Path() string { return fsm.Path[Event, Action](&m.level) }

// Hint is what a line that moves nothing gets in each state.
func Hint(st fsm.State) string {
	switch st {
	case Standby:
		return "(in standby: say " + WordPingQ + ", or /help)"
	case Waiting:
		return "(in waiting: say " + WordA + " or " + WordBye + ", or /help)"
	}
	return ""
}

type level struct{ m *Machine }

func (l *level) Path() string { return l.m.Core.Path() }

func (l *level) Inner() fsm.Stepper[Event, Action] {
	if l.m.inner == nil {
		return nil
	}
	return l.m.inner
}

// InnerEnded evaluates the line the inner machine ended on (rule 6).
func (l *level) InnerEnded(ev Event, out *[]Action) fsm.Result {
	m := l.m
	m.inner = nil
	if ev.Line == WordPing {
		*out = append(*out, Action{Reply: WordPong})
		m.Become(ev.Now, Standby, onHandedPing)
	} else {
		m.Become(ev.Now, Waiting, onHandedElse)
	}
	return fsm.Handled
}

func (l *level) Step(ev Event, out *[]Action) fsm.Result {
	m := l.m
	switch {
	case m.State() == Closed:
		return fsm.Handled
	case ev.Kind == Start && m.State() == Welcome:
		m.Become(ev.Now, Standby, onAtOnce)
	case ev.Kind == HangUp && m.State() != Welcome:
		m.inner = nil
		m.Become(ev.Now, Closed, onHangUp)
		*out = append(*out, Action{Close: true})
	case ev.Kind != Line:
	case m.State() == Standby && ev.Line == WordPingQ:
		m.Become(ev.Now, Waiting, WordPingQ)
	case m.State() == Waiting && ev.Line == WordBye:
		m.Become(ev.Now, Closed, WordBye)
		*out = append(*out, Action{Reply: "bye", Close: true})
	case m.State() == Waiting && ev.Line == WordA:
		m.Become(ev.Now, Composed, WordA)
		m.inner = &innerMachine{Core: fsm.NewCore(InnerSpec, string(Composed), m.Observer())}
		m.inner.Enter(ev.Now, WordA)
	default:
		if h := Hint(m.State()); h != "" {
			*out = append(*out, Action{Reply: h})
		}
	}
	return fsm.Handled
}

type innerMachine struct{ fsm.Core }

// Step runs rules 4 and 5; it passes HangUp up.
func (im *innerMachine) Step(ev Event, out *[]Action) fsm.Result {
	if ev.Kind != Line {
		return fsm.Unhandled
	}
	if im.State() == InnerA && ev.Line == WordB {
		im.Become(ev.Now, InnerB, WordB)
		return fsm.Handled
	}
	on := onAny
	if im.State() == InnerA {
		on = onOther
	}
	im.Become(ev.Now, InnerEnd, on)
	return fsm.Ended
}
