package privbcast

import (
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
)

var t0 = time.Unix(1_700_000_000, 0)

func txid(n byte) chainhash.Hash { return chainhash.Hash{n, 0xbc} }

func kinds(acts []Action) []ActionKind {
	var out []ActionKind
	for _, a := range acts {
		out = append(out, a.Kind)
	}
	return out
}

func TestConfigDefaults(t *testing.T) {
	got := New(Config{}).Config()
	want := Config{PeersPerTx: 3, MaxConns: 64, MaxAttempts: 1000, SendWithin: 5 * time.Minute,
		EchoWithin: time.Minute, RetryMin: time.Second, RetryMax: time.Minute}
	if got != want {
		t.Errorf("defaults %+v, want %+v", got, want)
	}
	got = New(Config{PeersPerTx: -1, RetryMin: time.Hour, RetryMax: time.Second}).Config()
	if got.PeersPerTx != 3 || got.RetryMax != time.Hour {
		t.Errorf("negative peers, max below min: %+v", got)
	}
}

func TestBackoff(t *testing.T) {
	m := New(Config{RetryMin: time.Second, RetryMax: 10 * time.Second})
	for streak, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second,
		4: 8 * time.Second, 5: 10 * time.Second, 1000: 10 * time.Second} {
		if got := m.backoff(streak); got != want {
			t.Errorf("streak %d: %s, want %s", streak, got, want)
		}
	}
}

// Single transitions from one known state: a machine with tx 1 added at
// t0 (attempts 1, 2, 3 in flight), then the event; what comes out.
func TestTransitions(t *testing.T) {
	cases := []struct {
		name  string
		setup []Event // after the EvAdd of tx 1
		ev    Event
		want  []ActionKind
		state State // of tx 1 after, if still known
		known bool
	}{
		{"duplicate add", nil, Event{Kind: EvAdd, TxID: txid(1)}, []ActionKind{ActNote}, Pending, true},
		{"other add", nil, Event{Kind: EvAdd, TxID: txid(2)}, []ActionKind{ActOpen, ActOpen, ActOpen}, Pending, true},
		{"receipt", nil, Event{Kind: EvAttemptEnded, Attempt: 1, Outcome: OutcomeReceipt}, []ActionKind{ActNote}, Pending, true},
		{"failure waits for the back-off", nil, Event{Kind: EvAttemptEnded, Attempt: 2, Outcome: OutcomeFailed}, []ActionKind{ActNote}, Pending, true},
		{"reject waits for the back-off", nil, Event{Kind: EvAttemptEnded, Attempt: 3, Outcome: OutcomeRejected}, []ActionKind{ActNote}, Pending, true},
		{"unknown outcome is a failure", nil, Event{Kind: EvAttemptEnded, Attempt: 3, Outcome: 9}, []ActionKind{ActNote}, Pending, true},
		{"back-off over", []Event{{Kind: EvAttemptEnded, Attempt: 2, Outcome: OutcomeFailed}},
			Event{Kind: EvTick, Now: t0.Add(time.Second)}, []ActionKind{ActOpen}, Pending, true},
		{"unknown attempt", nil, Event{Kind: EvAttemptEnded, Attempt: 99, Outcome: OutcomeReceipt}, []ActionKind{ActNote}, Pending, true},
		{"attempt 0", nil, Event{Kind: EvAttemptEnded, Attempt: 0}, []ActionKind{ActNote}, Pending, true},
		{"attempt ended twice", []Event{{Kind: EvAttemptEnded, Attempt: 1, Outcome: OutcomeReceipt}},
			Event{Kind: EvAttemptEnded, Attempt: 1, Outcome: OutcomeReceipt}, []ActionKind{ActNote}, Pending, true},
		{"echo", nil, Event{Kind: EvEcho, TxID: txid(1)}, []ActionKind{ActNote, ActConfirmed, ActClose, ActClose, ActClose}, Confirmed, true},
		{"echo after a receipt", []Event{{Kind: EvAttemptEnded, Attempt: 1, Outcome: OutcomeReceipt}},
			Event{Kind: EvEcho, TxID: txid(1)}, []ActionKind{ActConfirmed, ActClose, ActClose}, Confirmed, true},
		{"second echo", []Event{{Kind: EvEcho, TxID: txid(1)}}, Event{Kind: EvEcho, TxID: txid(1)}, nil, Confirmed, true},
		{"echo of an unknown tx", nil, Event{Kind: EvEcho, TxID: txid(7)}, nil, Pending, true},
		{"end after confirmation", []Event{{Kind: EvEcho, TxID: txid(1)}}, // its ids were forgotten at the close
			Event{Kind: EvAttemptEnded, Attempt: 1, Outcome: OutcomeFailed}, []ActionKind{ActNote}, Confirmed, true},
		{"add after confirmation", []Event{{Kind: EvEcho, TxID: txid(1)}},
			Event{Kind: EvAdd, TxID: txid(1)}, []ActionKind{ActNote, ActOpen, ActOpen, ActOpen}, Pending, true}, // the confirmation closed the 3 in flight
		{"abort", nil, Event{Kind: EvAbort, TxID: txid(1)}, []ActionKind{ActClose, ActClose, ActClose, ActNote}, 0, false},
		{"abort confirmed", []Event{{Kind: EvEcho, TxID: txid(1)}, {Kind: EvAttemptEnded, Attempt: 1}},
			Event{Kind: EvAbort, TxID: txid(1)}, []ActionKind{ActNote}, 0, false},
		{"abort unknown", nil, Event{Kind: EvAbort, TxID: txid(7)}, []ActionKind{ActNote}, Pending, true},
		{"early tick", nil, Event{Kind: EvTick, Now: t0.Add(time.Minute)}, nil, Pending, true},
		{"stale", nil, Event{Kind: EvTick, Now: t0.Add(5 * time.Minute)}, []ActionKind{ActNote}, Pending, true},
		{"unknown event", nil, Event{Kind: 42}, []ActionKind{ActNote}, Pending, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := New(Config{})
			if got := kinds(m.Step(Event{Kind: EvAdd, Now: t0, TxID: txid(1)})); !slices.Equal(got, []ActionKind{ActOpen, ActOpen, ActOpen}) {
				t.Fatalf("add: %v", got)
			}
			for _, ev := range c.setup {
				if ev.Now.IsZero() {
					ev.Now = t0
				}
				m.Step(ev)
			}
			if c.ev.Now.IsZero() {
				c.ev.Now = t0
			}
			if got := kinds(m.Step(c.ev)); !slices.Equal(got, c.want) {
				t.Errorf("actions %v, want %v", got, c.want)
			}
			st, ok := m.Status(txid(1))
			if ok != c.known || ok && st.State != c.state {
				t.Errorf("status %+v known %v, want %s known %v", st, ok, c.state, c.known)
			}
		})
	}
}

// A new round counts the attempts in flight: a stale round whose three
// attempts are all still open opens nothing; a receipt does not reopen.
func TestStaleRoundCountsInFlight(t *testing.T) {
	m := New(Config{})
	m.Step(Event{Kind: EvAdd, Now: t0, TxID: txid(1)})
	if acts := m.Step(Event{Kind: EvTick, Now: m.Deadline()}); slices.Contains(kinds(acts), ActOpen) {
		t.Fatalf("stale round with 3 in flight opened: %v", acts)
	}
	st, _ := m.Status(txid(1))
	if st.Rounds != 2 || st.InFlight != 3 || !st.RoundStart.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("after staleness: %+v", st)
	}
}

func TestStrings(t *testing.T) {
	for _, s := range []string{EventKind(99).String(), Outcome(99).String(), ActionKind(99).String(),
		State(99).String(), Action{Kind: 99}.String()} {
		if !strings.Contains(s, "99") {
			t.Errorf("unknown value printed as %q", s)
		}
	}
	a := Action{Kind: ActOpen, TxID: txid(1), Attempt: 5}
	if s := a.String(); !strings.HasPrefix(s, "open ") || !strings.HasSuffix(s, " #5") {
		t.Errorf("open printed as %q", s)
	}
}

// A long random run keeps the invariants: never more than MaxConns in
// flight; the machine's count agrees with the node's; attempt ids unique,
// increasing, never 0; no open for a tx that is not Pending after the
// step (confirmed, given up or aborted); ActConfirmed and ActGaveUp at
// most once per addition; the deadline never in the past; a Pending tx
// always has an attempt in flight or a deadline (it cannot be stuck);
// Pending lists txs in order of addition.
func TestRandomRunKeepsInvariants(t *testing.T) {
	for _, seed := range []int64{1, 2, 3, 4, 5} {
		runRandom(t, seed)
	}
}

func runRandom(t *testing.T, seed int64) {
	rng := rand.New(rand.NewSource(seed))
	cfg := Config{PeersPerTx: 3, MaxConns: 5, MaxAttempts: 12, SendWithin: 5 * time.Minute,
		EchoWithin: time.Minute, RetryMin: time.Second, RetryMax: 20 * time.Second}
	m := New(cfg)
	now := t0
	open := map[uint64]chainhash.Hash{} // the node's view: attempts opened, not ended or closed
	var lastID uint64
	var order []chainhash.Hash // known txs, in order of (last) addition
	confirmed, gaveUp := map[chainhash.Hash]bool{}, map[chainhash.Hash]bool{}
	counts := map[ActionKind]int{}
	const txs = 8
	for i := range 20000 {
		var ev Event
		switch r := rng.Intn(100); {
		case r < 12:
			ev = Event{Kind: EvAdd, TxID: txid(byte(rng.Intn(txs)))}
		case r < 55 && len(open) > 0:
			ids := make([]uint64, 0, len(open))
			for id := range open {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			ev = Event{Kind: EvAttemptEnded, Attempt: ids[rng.Intn(len(ids))], Outcome: Outcome(rng.Intn(3))}
		case r < 58:
			ev = Event{Kind: EvAttemptEnded, Attempt: uint64(rng.Intn(int(lastID) + 2)), Outcome: Outcome(rng.Intn(4))}
		case r < 66:
			ev = Event{Kind: EvEcho, TxID: txid(byte(rng.Intn(txs)))}
		case r < 70:
			ev = Event{Kind: EvAbort, TxID: txid(byte(rng.Intn(txs)))}
		case r < 85 && !m.Deadline().IsZero():
			now = m.Deadline()
			ev = Event{Kind: EvTick}
		default:
			now = now.Add(time.Duration(rng.Intn(90_000)) * time.Millisecond)
			ev = Event{Kind: EvTick}
		}
		ev.Now = now
		if ev.Kind == EvAttemptEnded {
			delete(open, ev.Attempt)
		}
		_, wasKnown := m.Status(ev.TxID)
		before, _ := m.Status(ev.TxID)
		acts := m.Step(ev)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d step %d (%s %+v): "+format, append([]any{seed, i, ev.Kind, ev}, args...)...)
		}
		switch {
		case ev.Kind == EvAdd && (!wasKnown || before.State != Pending):
			order = slices.DeleteFunc(order, func(h chainhash.Hash) bool { return h == ev.TxID })
			order = append(order, ev.TxID)
			delete(confirmed, ev.TxID)
			delete(gaveUp, ev.TxID)
		case ev.Kind == EvAbort && wasKnown:
			order = slices.DeleteFunc(order, func(h chainhash.Hash) bool { return h == ev.TxID })
			delete(confirmed, ev.TxID)
			delete(gaveUp, ev.TxID)
		}
		for _, a := range acts {
			counts[a.Kind]++
			switch a.Kind {
			case ActOpen:
				if a.Attempt == 0 || a.Attempt <= lastID {
					fail("attempt id %d after %d", a.Attempt, lastID)
				}
				lastID = a.Attempt
				open[a.Attempt] = a.TxID
				if st, ok := m.Status(a.TxID); !ok || st.State != Pending {
					fail("open for a tx that is %+v (known %v)", st, ok)
				}
			case ActClose:
				if _, ok := open[a.Attempt]; !ok {
					fail("close of attempt %d, not open", a.Attempt)
				}
				delete(open, a.Attempt)
			case ActConfirmed:
				if confirmed[a.TxID] {
					fail("confirmed twice")
				}
				confirmed[a.TxID] = true
			case ActGaveUp:
				if gaveUp[a.TxID] || confirmed[a.TxID] {
					fail("gave up twice, or after confirmation")
				}
				gaveUp[a.TxID] = true
			}
		}
		if m.InFlight() > cfg.MaxConns {
			fail("%d in flight, cap %d", m.InFlight(), cfg.MaxConns)
		}
		if m.InFlight() != len(open) {
			fail("machine counts %d in flight, node %d", m.InFlight(), len(open))
		}
		if d := m.Deadline(); !d.IsZero() && !d.After(now) {
			fail("deadline %s not after now %s", d, now)
		}
		var sum int
		var pending []chainhash.Hash
		for _, h := range order {
			st, ok := m.Status(h)
			if !ok {
				fail("tx %x unknown", h[:1])
			}
			sum += st.InFlight
			if st.State == Pending {
				pending = append(pending, h)
				if st.InFlight == 0 && m.Deadline().IsZero() {
					fail("pending tx %x with nothing in flight and no deadline: stuck", h[:1])
				}
				if st.Attempts > cfg.MaxAttempts {
					fail("tx %x: %d attempts, cap %d", h[:1], st.Attempts, cfg.MaxAttempts)
				}
			}
		}
		if sum != m.InFlight() {
			fail("txs' in flight sum to %d, machine %d", sum, m.InFlight())
		}
		if got := m.Pending(); !slices.Equal(got, pending) {
			fail("Pending %x, want %x", got, pending)
		}
	}
	t.Logf("seed %d: %v opens, %v confirmed, %v gave up, %v closed", seed, counts[ActOpen], counts[ActConfirmed], counts[ActGaveUp], counts[ActClose])
	for _, k := range []ActionKind{ActOpen, ActConfirmed, ActGaveUp, ActClose} {
		if counts[k] < 10 {
			t.Errorf("seed %d: the run exercised little: %d %s", seed, counts[k], k)
		}
	}
}
