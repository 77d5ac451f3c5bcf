package privbcast

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	script "github.com/peerd/peerd/internal/scenario"
)

var update = flag.Bool("update", false, "rewrite the expected output of scenario scripts")

// Scenario scripts (testdata/scenarios/*.txt) drive one machine on a fake
// clock, one script (at least) per rule of the policy. A script is a
// series of blocks separated by blank lines; each block is comment lines
// (#), commands, a line "----", then the expected output: the actions the
// commands produced, one per line, and "timer +D" (since the start) or
// "timer none" whenever the machine's deadline changed. Txs are named by
// one word (a, b, ...), which stands for their txid in the output too.
// `go test ./node/privbcast -run Scenarios -update` rewrites the expected
// output; review the diff.
//
// Commands:
//
//	new [key=value...]     a new machine; keys: peers, maxconns, maxattempts,
//	                       send, echo, retrymin, retrymax (as Config; unset: default)
//	add TX                 EvAdd
//	receipt|failed|rejected ATTEMPT...   EvAttemptEnded of each attempt with that outcome
//	echo TX                EvEcho
//	abort TX               EvAbort
//	advance DURATION       move the clock and tick
//	status TX              print the tx's Status
//	pending                print Pending() and the attempts in flight
func TestScenarios(t *testing.T) {
	script.Each(t, func(t *testing.T, file string) {
		runScenario(t, file)
	})
}

type scenario struct {
	t        *testing.T
	start    time.Time
	now      time.Time
	m        *Machine
	names    map[chainhash.Hash]string
	ids      map[string]chainhash.Hash
	deadline time.Time
	out      []string
}

func runScenario(t *testing.T, file string) {
	s := &scenario{t: t, start: time.Unix(1_700_000_000, 0)}
	s.now = s.start
	s.names, s.ids = map[chainhash.Hash]string{}, map[string]chainhash.Hash{}
	s.m = New(Config{})
	script.Run(t, file, *update, func(cmd string) []string {
		s.out = s.out[:0]
		s.run(cmd)
		return s.out
	})
}

func (s *scenario) fail(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf(format, args...)
}

// tx returns the txid named name: a hash made from the name, so that the
// txids differ and print as themselves nowhere in the scripts.
func (s *scenario) tx(name string) chainhash.Hash {
	if h, ok := s.ids[name]; ok {
		return h
	}
	h := chainhash.DoubleHashH([]byte(name))
	s.ids[name], s.names[h] = h, name
	return h
}

// named replaces the txids in line by their names.
func (s *scenario) named(line string) string {
	for h, n := range s.names {
		line = strings.ReplaceAll(line, h.String(), n)
	}
	return line
}

func (s *scenario) at(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return "+" + t.Sub(s.start).String()
}

func (s *scenario) step(ev Event) {
	ev.Now = s.now
	for _, a := range s.m.Step(ev) {
		s.out = append(s.out, s.named(a.String()))
	}
	if d := s.m.Deadline(); !d.Equal(s.deadline) {
		s.deadline = d
		if d.IsZero() {
			s.out = append(s.out, "timer none")
		} else {
			s.out = append(s.out, "timer "+s.at(d))
		}
	}
}

func (s *scenario) run(line string) {
	f := strings.Fields(line)
	arg := func(i int) string {
		if i >= len(f) {
			s.fail("%q: argument %d missing", line, i)
		}
		return f[i]
	}
	switch f[0] {
	case "new":
		s.newMachine(f[1:])
	case "add":
		s.step(Event{Kind: EvAdd, TxID: s.tx(arg(1))})
	case "receipt", "failed", "rejected":
		o := map[string]Outcome{"receipt": OutcomeReceipt, "failed": OutcomeFailed, "rejected": OutcomeRejected}[f[0]]
		arg(1)
		for _, a := range f[1:] {
			s.step(Event{Kind: EvAttemptEnded, Attempt: s.num(a), Outcome: o})
		}
	case "echo":
		s.step(Event{Kind: EvEcho, TxID: s.tx(arg(1))})
	case "abort":
		s.step(Event{Kind: EvAbort, TxID: s.tx(arg(1))})
	case "advance":
		s.now = s.now.Add(s.dur(arg(1)))
		s.step(Event{Kind: EvTick})
	case "status":
		st, ok := s.m.Status(s.tx(arg(1)))
		if !ok {
			s.out = append(s.out, arg(1)+": unknown")
			break
		}
		s.out = append(s.out, fmt.Sprintf("%s: %s attempts %d inflight %d receipts %d failed %d rejected %d round %d (%d receipts, from %s) last receipt %s confirmed %s",
			arg(1), st.State, st.Attempts, st.InFlight, st.Receipts, st.Failed, st.Rejected, st.Rounds, st.RoundReceipts,
			s.at(st.RoundStart), s.at(st.LastReceipt), s.at(st.ConfirmedAt)))
	case "pending":
		var ns []string
		for _, h := range s.m.Pending() {
			ns = append(ns, s.names[h])
		}
		s.out = append(s.out, fmt.Sprintf("pending [%s] inflight %d", strings.Join(ns, " "), s.m.InFlight()))
	default:
		s.fail("unknown command %q", line)
	}
}

func (s *scenario) newMachine(args []string) {
	var cfg Config
	for _, kv := range args {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			s.fail("new: %q is not key=value", kv)
		}
		switch k {
		case "peers":
			cfg.PeersPerTx = int(s.num(v))
		case "maxconns":
			cfg.MaxConns = int(s.num(v))
		case "maxattempts":
			cfg.MaxAttempts = int(s.num(v))
		case "send":
			cfg.SendWithin = s.dur(v)
		case "echo":
			cfg.EchoWithin = s.dur(v)
		case "retrymin":
			cfg.RetryMin = s.dur(v)
		case "retrymax":
			cfg.RetryMax = s.dur(v)
		default:
			s.fail("new: unknown key %q", k)
		}
	}
	s.m, s.deadline = New(cfg), time.Time{}
}

func (s *scenario) num(v string) uint64 {
	n, err := strconv.ParseUint(v, 0, 64)
	if err != nil {
		s.fail("%q: %v", v, err)
	}
	return n
}

func (s *scenario) dur(v string) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil {
		s.fail("%q: %v", v, err)
	}
	return d
}
