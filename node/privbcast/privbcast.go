// Package privbcast is the scheduler of private broadcast (Core 31's
// -privatebroadcast) as a pure machine: per transaction the operator
// broadcasts privately, when to open short-lived broadcast connections,
// when a round of them is stale, when the tx is confirmed, when to give
// up. It does no I/O, reads no clock, draws no random number and starts
// no goroutine; the node feeds it Events (each carrying Now) through Step
// and carries out the Actions it returns: it opens a connection for an
// ActOpen (a random address from the book, through the proxy; handshake,
// inv, getdata, tx, ping; the pong is the receipt) and reports how it
// ended. Deadline says when the node must send EvTick next. It is a
// Step/Deadline machine like node/connmgr: tables that every event
// updates, and per tx a State (Pending, Confirmed, GaveUp).
//
// The policy, rule by rule (each has a script in testdata/scenarios):
//
//  1. EvAdd starts a round for the tx: PeersPerTx attempts are opened
//     (ActOpen each), within the cap of rule 2. EvAdd of a tx already
//     Pending is a no-op (ActNote). A tx Confirmed or GaveUp that is added
//     again starts anew, counts reset, as Core broadcasts a mempool tx
//     again; its attempts still in flight count for the new round.
//     (add.txt)
//  2. At most MaxConns attempts are in flight at once over all txs. Opens
//     that do not fit wait and are issued as attempts end, to the txs in
//     Core's priority order: fewest receipts since added first, then the
//     oldest last receipt, then the oldest addition. (cap.txt)
//  3. An attempt ending OutcomeReceipt counts as a send: receipts of the
//     round and overall, last receipt time; it ends the tx's back-off.
//     One ending OutcomeFailed or OutcomeRejected is replaced by a new
//     attempt of the same round after a back-off: RetryMin, doubled per
//     consecutive failure of that tx, at most RetryMax; no attempt of the
//     tx is opened before it ends, so a dead proxy makes no dial storm.
//     A round wants PeersPerTx receipts: while in flight + receipts of
//     the round < PeersPerTx, more are opened (after the back-off, within
//     the cap). (receipt.txt, backoff.txt)
//  4. Stale: a round with no receipt SendWithin after it began, or with
//     no echo EchoWithin after its last receipt, is followed by a new
//     round (its receipts start at 0, so PeersPerTx more are wanted).
//     Attempts still in flight from an older round count for the new one.
//     (stale.txt)
//  5. EvEcho (an ordinary long-lived peer announced the tx; the node
//     leaves out the broadcast connections) confirms a Pending or GaveUp
//     tx: ActConfirmed once, no more opens, and ActClose for each attempt
//     in flight (they have nothing left to prove, and their addresses
//     are freed for the other transactions; their ids are forgotten, as
//     on EvAbort). An echo before any receipt confirms too (someone else
//     relayed it). An echo of a Confirmed or unknown tx does nothing.
//     (echo.txt)
//  6. When a Pending tx needs an attempt (its round is short, or stale)
//     but MaxAttempts were opened and none is in flight, it gives up:
//     ActGaveUp once; it stays known as GaveUp (no more opens) until
//     EvAbort or a new EvAdd. While attempts are in flight it waits for
//     them. (gaveup.txt)
//  7. EvAbort forgets the tx: ActClose for each of its attempts in flight,
//     which leave the cap at once; their ids are forgotten too, so a late
//     EvAttemptEnded for one is noted and ignored. Aborting an unknown tx
//     is only noted. (abort.txt)
//  8. Deadline is the earliest of the back-off ends of txs that want
//     attempts (while the cap has room) and of the times Pending rounds go
//     stale (rule 4; for a tx out of attempts only while none is in
//     flight, as rule 6 then decides); zero when nothing is timed. EvTick
//     at or after it acts; so does any other event, as every Step first
//     applies its event and then the timed rules at Now. (deadline.txt)
//
// Attempt ids are never reused, not even across EvAbort and a new EvAdd.
// EvAttemptEnded for an unknown attempt is noted and ignored; no input
// makes Step panic.
//
// A Machine is not safe for concurrent use: the node steps it under a
// mutex.
package privbcast

import (
	"fmt"
	"slices"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
)

// Defaults of Config's zero fields.
const (
	DefaultPeersPerTx  = 3    // Core's NUM_PRIVATE_BROADCAST_PER_TX
	DefaultMaxConns    = 64   // Core's cap on private broadcast connections
	DefaultMaxAttempts = 1000 // Core's cap on attempts per tx
	DefaultSendWithin  = 5 * time.Minute
	DefaultEchoWithin  = time.Minute // Core's STALE_DURATION
	DefaultRetryMin    = time.Second
	DefaultRetryMax    = time.Minute
)

// Config is the policy's configuration; a zero (or negative) field takes
// its default.
type Config struct {
	PeersPerTx  int           // attempts wanted per round; 0: DefaultPeersPerTx
	MaxConns    int           // attempts in flight at once over all txs; 0: DefaultMaxConns
	MaxAttempts int           // attempts per tx before giving up; 0: DefaultMaxAttempts
	SendWithin  time.Duration // a round with no receipt by then is stale; 0: DefaultSendWithin
	EchoWithin  time.Duration // no echo this long after the round's last receipt: stale; 0: DefaultEchoWithin
	// RetryMin, RetryMax: the back-off after consecutive failed attempts
	// of a tx; 0: DefaultRetryMin, DefaultRetryMax. RetryMax below
	// RetryMin is raised to it.
	RetryMin, RetryMax time.Duration
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.PeersPerTx, DefaultPeersPerTx)
	def(&c.MaxConns, DefaultMaxConns)
	def(&c.MaxAttempts, DefaultMaxAttempts)
	defD(&c.SendWithin, DefaultSendWithin)
	defD(&c.EchoWithin, DefaultEchoWithin)
	defD(&c.RetryMin, DefaultRetryMin)
	defD(&c.RetryMax, DefaultRetryMax)
	if c.RetryMax < c.RetryMin {
		c.RetryMax = c.RetryMin
	}
	return c
}

// tx is one known transaction.
type tx struct {
	id    chainhash.Hash
	seq   uint64 // order of addition
	state State

	addedAt  time.Time
	attempts int      // attempts opened
	open     []uint64 // attempts in flight, increasing
	receipts int
	failed   int
	rejected int

	rounds        int
	roundStart    time.Time
	roundReceipts int
	roundLast     time.Time // last receipt of the round
	lastReceipt   time.Time
	confirmedAt   time.Time

	streak  int       // consecutive failures
	retryAt time.Time // no open before it
}

// Machine is the scheduler.
type Machine struct {
	cfg         Config
	txs         map[chainhash.Hash]*tx
	order       []*tx // known txs in order of addition
	attempts    map[uint64]*tx
	inFlight    int
	lastAttempt uint64
	lastSeq     uint64
	now         time.Time
	deadline    time.Time
}

// New returns a machine with no tx.
func New(cfg Config) *Machine {
	return &Machine{
		cfg:      cfg.withDefaults(),
		txs:      make(map[chainhash.Hash]*tx),
		attempts: make(map[uint64]*tx),
	}
}

// Config returns the configuration in force, defaults filled in.
func (m *Machine) Config() Config { return m.cfg }

// InFlight returns the number of attempts in flight over all txs.
func (m *Machine) InFlight() int { return m.inFlight }

// Deadline returns when the node must send EvTick next; zero when nothing
// is timed (rule 8).
func (m *Machine) Deadline() time.Time { return m.deadline }

// Status returns what the machine knows of txid, and whether it knows it.
func (m *Machine) Status(txid chainhash.Hash) (Status, bool) {
	t, ok := m.txs[txid]
	if !ok {
		return Status{}, false
	}
	return Status{
		State:         t.state,
		Attempts:      t.attempts,
		InFlight:      len(t.open),
		Receipts:      t.receipts,
		Failed:        t.failed,
		Rejected:      t.rejected,
		Rounds:        t.rounds,
		RoundReceipts: t.roundReceipts,
		AddedAt:       t.addedAt,
		RoundStart:    t.roundStart,
		LastReceipt:   t.lastReceipt,
		ConfirmedAt:   t.confirmedAt,
		RetryAt:       t.retryAt,
	}, true
}

// Pending returns the txs still being broadcast (not confirmed, given up
// or aborted), in order of addition.
func (m *Machine) Pending() []chainhash.Hash {
	var out []chainhash.Hash
	for _, t := range m.order {
		if t.state == Pending {
			out = append(out, t.id)
		}
	}
	return out
}

// Step applies ev, then the timed rules at ev.Now, and returns what the
// node must do.
func (m *Machine) Step(ev Event) []Action {
	m.now = ev.Now
	var out []Action
	note := func(id chainhash.Hash, format string, args ...any) {
		out = append(out, Action{Kind: ActNote, TxID: id, Note: fmt.Sprintf(format, args...)})
	}
	switch ev.Kind {
	case EvAdd:
		m.add(ev, note)
	case EvAttemptEnded:
		m.ended(ev, note)
	case EvEcho:
		t, ok := m.txs[ev.TxID]
		if !ok || t.state == Confirmed {
			break
		}
		if t.receipts == 0 {
			note(t.id, "%s came back before any receipt: someone else relayed it", t.id)
		}
		t.state, t.confirmedAt, t.retryAt = Confirmed, ev.Now, time.Time{}
		out = append(out, Action{Kind: ActConfirmed, TxID: t.id})
		// Its connections still open have nothing left to prove: they
		// are closed, freeing their addresses for the others.
		for _, a := range t.open {
			out = append(out, Action{Kind: ActClose, TxID: t.id, Attempt: a})
			delete(m.attempts, a)
			m.inFlight--
		}
		t.open = nil
	case EvAbort:
		t, ok := m.txs[ev.TxID]
		if !ok {
			note(ev.TxID, "abort %s: not known", ev.TxID)
			break
		}
		for _, a := range t.open {
			out = append(out, Action{Kind: ActClose, TxID: t.id, Attempt: a})
			delete(m.attempts, a)
			m.inFlight--
		}
		delete(m.txs, t.id)
		m.order = slices.DeleteFunc(m.order, func(o *tx) bool { return o == t })
		note(t.id, "%s aborted (%s, %d attempts)", t.id, t.state, t.attempts)
	case EvTick:
	default:
		note(chainhash.Hash{}, "unknown event %s ignored", ev.Kind)
	}
	return m.settle(out)
}

func (m *Machine) add(ev Event, note func(chainhash.Hash, string, ...any)) {
	t, ok := m.txs[ev.TxID]
	if ok && t.state == Pending {
		note(t.id, "%s is already being broadcast", t.id)
		return
	}
	if ok {
		// Rule 1: starts anew; attempts still in flight stay its own.
		note(t.id, "%s added again (was %s): starting anew", t.id, t.state)
		m.order = slices.DeleteFunc(m.order, func(o *tx) bool { return o == t })
		*t = tx{id: t.id, open: t.open}
	} else {
		t = &tx{id: ev.TxID}
		m.txs[t.id] = t
	}
	m.lastSeq++
	t.seq, t.addedAt = m.lastSeq, ev.Now
	m.order = append(m.order, t)
	m.newRound(t)
}

func (m *Machine) newRound(t *tx) {
	t.rounds++
	t.roundStart, t.roundReceipts, t.roundLast = m.now, 0, time.Time{}
}

func (m *Machine) ended(ev Event, note func(chainhash.Hash, string, ...any)) {
	t, ok := m.attempts[ev.Attempt]
	if !ok {
		note(chainhash.Hash{}, "attempt %d ended (%s) but is not known: ignored", ev.Attempt, ev.Outcome)
		return
	}
	delete(m.attempts, ev.Attempt)
	m.inFlight--
	t.open = slices.DeleteFunc(t.open, func(a uint64) bool { return a == ev.Attempt })
	if ev.Outcome == OutcomeReceipt {
		t.receipts++
		t.lastReceipt = ev.Now
		t.streak, t.retryAt = 0, time.Time{}
		if t.state != Pending {
			note(t.id, "%s: receipt from attempt %d (%s)", t.id, ev.Attempt, t.state)
			return
		}
		t.roundReceipts++
		t.roundLast = ev.Now
		note(t.id, "%s: receipt from attempt %d (%d this round)", t.id, ev.Attempt, t.roundReceipts)
		return
	}
	what := ev.Outcome.String()
	switch ev.Outcome {
	case OutcomeRejected:
		t.rejected++
	case OutcomeFailed:
		t.failed++
	default:
		t.failed++
		what = fmt.Sprintf("%s, taken as failed", ev.Outcome)
	}
	switch {
	case t.state != Pending:
		note(t.id, "%s: attempt %d %s (%s)", t.id, ev.Attempt, what, t.state)
		return
	case m.exhausted(t):
		note(t.id, "%s: attempt %d %s; no attempt left", t.id, ev.Attempt, what)
		return
	}
	t.streak++
	d := m.backoff(t.streak)
	t.retryAt = ev.Now.Add(d)
	note(t.id, "%s: attempt %d %s; next attempt in %s", t.id, ev.Attempt, what, d)
}

// backoff is RetryMin doubled streak-1 times, at most RetryMax.
func (m *Machine) backoff(streak int) time.Duration {
	d := m.cfg.RetryMin
	for i := 1; i < streak && d < m.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, m.cfg.RetryMax)
}

// wanted is how many more attempts t's round wants (rule 3).
func (m *Machine) wanted(t *tx) int {
	if t.state != Pending {
		return 0
	}
	return m.cfg.PeersPerTx - len(t.open) - t.roundReceipts
}

// staleAt is when t's round goes stale (rule 4).
func (m *Machine) staleAt(t *tx) time.Time {
	if t.roundReceipts == 0 {
		return t.roundStart.Add(m.cfg.SendWithin)
	}
	return t.roundLast.Add(m.cfg.EchoWithin)
}

func (m *Machine) exhausted(t *tx) bool { return t.attempts >= m.cfg.MaxAttempts }

// settle applies the timed rules at m.now: stale rounds (4), opens within
// the cap by priority (2, 3), giving up (6); then sets the deadline (8).
func (m *Machine) settle(out []Action) []Action {
	now := m.now
	for _, t := range m.order {
		if t.state == Pending && !m.exhausted(t) && !now.Before(m.staleAt(t)) {
			why := "no receipt within " + m.cfg.SendWithin.String()
			if t.roundReceipts > 0 {
				why = "no echo within " + m.cfg.EchoWithin.String() + " of the last receipt"
			}
			m.newRound(t)
			out = append(out, Action{Kind: ActNote, TxID: t.id,
				Note: fmt.Sprintf("%s: stale (%s); round %d", t.id, why, t.rounds)})
		}
	}
	for m.inFlight < m.cfg.MaxConns {
		t := m.next()
		if t == nil {
			break
		}
		m.lastAttempt++
		t.attempts++
		t.open = append(t.open, m.lastAttempt)
		m.attempts[m.lastAttempt] = t
		m.inFlight++
		out = append(out, Action{Kind: ActOpen, TxID: t.id, Attempt: m.lastAttempt})
	}
	for _, t := range m.order {
		if t.state == Pending && m.exhausted(t) && len(t.open) == 0 &&
			(m.wanted(t) > 0 || !now.Before(m.staleAt(t))) {
			t.state, t.retryAt = GaveUp, time.Time{}
			out = append(out, Action{Kind: ActGaveUp, TxID: t.id})
		}
	}
	m.deadline = time.Time{}
	earlier := func(d time.Time) {
		if m.deadline.IsZero() || d.Before(m.deadline) {
			m.deadline = d
		}
	}
	for _, t := range m.order {
		if t.state != Pending {
			continue
		}
		if !m.exhausted(t) || len(t.open) == 0 {
			earlier(m.staleAt(t))
		}
		if m.inFlight < m.cfg.MaxConns && m.wanted(t) > 0 && !m.exhausted(t) && t.retryAt.After(now) {
			earlier(t.retryAt)
		}
	}
	return out
}

// next returns the tx that gets the next attempt: of those that want one,
// are out of back-off and have attempts left, the one with fewest
// receipts, then the oldest last receipt, then the oldest addition
// (rule 2, Core's priority).
func (m *Machine) next() *tx {
	var best *tx
	for _, t := range m.order {
		if m.wanted(t) <= 0 || m.exhausted(t) || t.retryAt.After(m.now) {
			continue
		}
		if best == nil || t.receipts < best.receipts ||
			t.receipts == best.receipts && t.lastReceipt.Before(best.lastReceipt) {
			best = t
		}
	}
	return best
}
