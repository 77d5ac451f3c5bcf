package peer

import (
	"errors"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/fsm"
)

// The validating machine runs inside Standby while transactions a peer sent
// us are being checked on the executor. peerd has no UTXO set, so it checks
// only what needs no context (the same checks as its mempool) and never
// relays a peer's transaction; a transaction that passes is reported to the
// node, which counts it as evidence that one of ours spread.
//
// It is the seed design's inner machine with an executor: the work runs off
// the peer's loop, its one-shot answer arrives as EvDone, and meanwhile
// every event it does not handle (a ping, a relay, a tick) goes up to
// Standby, so the peer keeps answering.
const (
	// Validating: at least one check is outstanding.
	Validating fsm.State = "validating"
	// Validated: every check has answered. Final.
	Validated fsm.State = "validated"

	onChecked = "all checks answered"

	// MaxChecks bounds the checks one peer may have outstanding; a
	// transaction beyond that is dropped (it was unsolicited anyway).
	MaxChecks = 16
)

// ValidatingSpec is the validating machine's definition.
var ValidatingSpec = fsm.MustIndex(&fsm.Spec{
	Name:    "validating",
	Initial: Validating,
	States:  []fsm.State{Validating, Validated},
	Final:   []fsm.State{Validated},
	Edges:   []fsm.Edge{{From: Validating, To: Validated, On: onChecked}},
	Notes: map[fsm.State]string{
		Validating: "more txs start more checks; pings and relays go up to standby",
	},
})

// ErrExecutorBusy is the result of a check the executor had no room for.
var ErrExecutorBusy = errors.New("executor busy")

type validating struct {
	fsm.Core
	m           *Machine
	outstanding int
}

// startValidating enters the validating machine on tx.
func (m *Machine) startValidating(now time.Time, tx *wire.MsgTx, out *[]Action) {
	m.val = &validating{Core: fsm.NewCore(ValidatingSpec, string(Standby), m.Observer()), m: m}
	m.val.Enter(now, "tx")
	m.val.check(tx, out)
}

func (v *validating) check(tx *wire.MsgTx, out *[]Action) {
	if v.outstanding >= MaxChecks {
		note(out, "dropped tx %s: %d checks outstanding", tx.TxHash(), MaxChecks)
		return
	}
	v.outstanding++
	check := v.m.cfg.CheckTx
	*out = append(*out, Action{Kind: ActExec, Job: func() JobResult {
		r := JobResult{TxID: tx.TxHash(), WTxID: tx.WitnessHash()}
		if check != nil {
			r.Err = check(tx)
		}
		return r
	}})
}

// Step takes further transactions and the checks' answers; everything else
// is for Standby.
func (v *validating) Step(ev Event, out *[]Action) fsm.Result {
	switch ev.Kind {
	case EvMsg:
		tx, ok := ev.Msg.(*wire.MsgTx)
		if !ok {
			return fsm.Unhandled
		}
		v.m.lastRecv = ev.Now
		v.check(tx, out)
		return fsm.Handled
	case EvDone:
		v.outstanding--
		if ev.Done.Err != nil {
			note(out, "tx %s failed its checks: %v", ev.Done.TxID, ev.Done.Err)
		} else {
			*out = append(*out, Action{Kind: ActReport, Report: Report{Kind: ReportSeenTx, TxID: ev.Done.TxID, WTxID: ev.Done.WTxID}})
		}
		if v.outstanding > 0 {
			return fsm.Handled
		}
		v.Become(ev.Now, Validated, onChecked)
		return fsm.Ended
	}
	return fsm.Unhandled
}
