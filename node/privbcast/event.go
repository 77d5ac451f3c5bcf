package privbcast

import (
	"fmt"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
)

// EventKind says what an Event is.
type EventKind uint8

// Event kinds.
const (
	// EvAdd: privately broadcast TxID (rules 1 and 6).
	EvAdd EventKind = iota
	// EvAttemptEnded: the broadcast connection of Attempt ended with
	// Outcome (rules 3 and 5). The node reports one for every ActOpen it
	// carried out, except those of a tx it was told to close (rule 7),
	// which are noted and ignored if it does.
	EvAttemptEnded
	// EvEcho: an ordinary long-lived peer, not one of the broadcast
	// connections, announced TxID (rule 5). The node need not filter the
	// txids: an echo of a tx the machine does not know is ignored silently.
	EvEcho
	// EvAbort: forget TxID (rule 7): the operator's abortprivatebroadcast,
	// or the node is done with the record (the tx left the pool).
	EvAbort
	// EvTick: Deadline was reached (rule 8).
	EvTick
)

var eventNames = [...]string{"add", "attempt ended", "echo", "abort", "tick"}

func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// Outcome is how a broadcast connection ended.
type Outcome uint8

// Outcomes of an attempt.
const (
	// OutcomeReceipt: inv, getdata, tx, ping were done and the pong came
	// back: the peer has the tx. It counts as a send.
	OutcomeReceipt Outcome = iota
	// OutcomeFailed: the dial or the handshake failed, the connection
	// closed or timed out, or the peer never asked for the tx.
	OutcomeFailed
	// OutcomeRejected: the peer sent a BIP 61 reject for the tx.
	OutcomeRejected
)

var outcomeNames = [...]string{"receipt", "failed", "rejected"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Event is one thing that happened. Now is the time it happened at, and
// the machine's only clock. Which other fields matter depends on Kind.
type Event struct {
	Kind    EventKind
	Now     time.Time
	TxID    chainhash.Hash // EvAdd, EvEcho, EvAbort
	Attempt uint64         // EvAttemptEnded: the id ActOpen gave
	Outcome Outcome        // EvAttemptEnded
}

// ActionKind says what an Action is.
type ActionKind uint8

// Action kinds. The node carries them out in the order given.
const (
	// ActOpen: open a new broadcast connection for TxID (a random address
	// from the book, through the proxy, one tx per connection) and report
	// its end as EvAttemptEnded with Attempt.
	ActOpen ActionKind = iota
	// ActConfirmed: TxID came back from the network (rule 5); it may now
	// join ordinary relay. Given once per addition.
	ActConfirmed
	// ActGaveUp: TxID used MaxAttempts without being confirmed (rule 6).
	// Given once per addition.
	ActGaveUp
	// ActClose: close the broadcast connection of Attempt (TxID was
	// aborted); its EvAttemptEnded is not needed.
	ActClose
	// ActNote: something worth logging.
	ActNote
)

var actionNames = [...]string{"open", "confirmed", "gave up", "close", "note"}

func (k ActionKind) String() string {
	if int(k) < len(actionNames) {
		return actionNames[k]
	}
	return fmt.Sprintf("action(%d)", uint8(k))
}

// Action is one thing the node must do. Which fields are set depends on
// Kind.
type Action struct {
	Kind    ActionKind
	TxID    chainhash.Hash // all but ActNote (set there too when the note is about one tx)
	Attempt uint64         // ActOpen: the new attempt's id (unique, increasing, never 0); ActClose: the attempt to close
	Note    string         // ActNote
}

func (a Action) String() string {
	switch a.Kind {
	case ActOpen:
		return fmt.Sprintf("open %s #%d", a.TxID, a.Attempt)
	case ActConfirmed:
		return fmt.Sprintf("confirmed %s", a.TxID)
	case ActGaveUp:
		return fmt.Sprintf("gave up %s", a.TxID)
	case ActClose:
		return fmt.Sprintf("close %s #%d", a.TxID, a.Attempt)
	case ActNote:
		return "note: " + a.Note
	}
	return a.Kind.String()
}

// State is where a known tx stands.
type State uint8

// States of a tx.
const (
	// Pending: being broadcast; rounds of attempts are opened for it.
	Pending State = iota
	// Confirmed: an echo came (rule 5); no more attempts.
	Confirmed
	// GaveUp: MaxAttempts were used without an echo (rule 6).
	GaveUp
)

var stateNames = [...]string{"pending", "confirmed", "gave up"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Status is what the machine knows of one tx, for the RPCs. Counts are
// since the tx was (last) added.
type Status struct {
	State         State
	Attempts      int // attempts opened
	InFlight      int // attempts in flight, those opened before a new EvAdd included
	Receipts      int // attempts ended with a receipt, over all rounds
	Failed        int // attempts ended OutcomeFailed
	Rejected      int // attempts ended OutcomeRejected
	Rounds        int // rounds begun (1 at addition, one more per stale round)
	RoundReceipts int // receipts of the current round
	AddedAt       time.Time
	RoundStart    time.Time
	LastReceipt   time.Time // zero before the first receipt
	ConfirmedAt   time.Time // zero unless Confirmed
	RetryAt       time.Time // end of the back-off after failures; zero or past when none
}
