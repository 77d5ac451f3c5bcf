package peer

import (
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/internal/wireio"
)

// FuzzMachine drives one peer machine with an arbitrary sequence of events
// decoded from the input and checks what must always hold:
//   - no panic (an undeclared transition panics in fsm.Core.Become);
//   - after a tick at now, the next deadline is zero or later than now (no
//     timer that fires in a loop);
//   - nothing but handshake messages is sent before the handshake is done;
//   - a disconnected machine emits nothing;
//   - at most MaxChecks executor jobs are outstanding.
func FuzzMachine(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3})
	f.Add([]byte{0, 2, 1, 4, 5, 6, 200, 7, 8, 9, 10, 11, 12, 6, 255, 6, 255})
	f.Add([]byte{0, 70, 1, 10, 10, 10, 4, 11, 11, 11, 13})
	f.Add([]byte{6, 100, 6, 100, 0, 1, 16})
	f.Fuzz(func(t *testing.T, ops []byte) {
		inbound := len(ops) > 0 && ops[0]&0x80 != 0
		cfg := &Config{Handshake: handshake.Config{UserAgent: "/fuzz/"}, Trickle: time.Second}
		seq := uint64(0)
		m := NewMachine(cfg, Params{
			Params: handshake.Params{Inbound: inbound, Nonce: 1, IsOwnNonce: func(n uint64) bool { return n == 1 }},
			Rand:   func() uint64 { seq++; return seq * 0x9e3779b97f4a7c15 },
		}, nil)
		now := time.Unix(1_700_000_000, 0)
		tx := wire.NewMsgTx(2)
		tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: 1}, nil, wire.TxWitness{{1}}))
		tx.AddTxOut(wire.NewTxOut(1, []byte{0x51}))
		ptx := &Tx{TxID: tx.TxHash(), WTxID: tx.WitnessHash(), Msg: tx}
		var jobs []func() JobResult
		var out []Action
		step := func(ev Event) {
			ev.Now = now
			before := m.State()
			out = out[:0]
			m.Step(ev, &out)
			for _, a := range out {
				if before == Disconnected {
					t.Fatalf("disconnected machine emitted %v", a)
				}
				if a.Kind == ActSend && m.Info().VerackAt.IsZero() {
					switch a.Msg.(type) {
					case *wire.MsgVersion, *wire.MsgVerAck, *wire.MsgWTxIdRelay, *wire.MsgSendAddrV2:
					default:
						t.Fatalf("sent %s before the handshake was done", a.Msg.Command())
					}
				}
				if a.Kind == ActExec {
					jobs = append(jobs, a.Job)
				}
			}
			if len(jobs) > MaxChecks {
				t.Fatalf("%d executor jobs outstanding", len(jobs))
			}
			if ev.Kind == EvTick {
				if d := m.Deadline(); !d.IsZero() && !d.After(now) {
					t.Fatalf("after a tick at %v the deadline is %v (state %s)", now, d, m.Path())
				}
			}
		}
		step(Event{Kind: EvStart})
		for i := 0; i < len(ops); i++ {
			arg := byte(0)
			if i+1 < len(ops) {
				arg = ops[i+1]
			}
			switch ops[i] % 17 {
			case 0:
				v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, uint64(arg), 0)
				v.ProtocolVersion = int32(69000 + int(arg)*10)
				v.Services = wire.ServiceFlag(arg)
				v.DisableRelayTx = arg&1 == 1
				step(Event{Kind: EvMsg, Msg: v})
				i++
			case 1:
				step(Event{Kind: EvMsg, Msg: wire.NewMsgVerAck()})
			case 2:
				step(Event{Kind: EvMsg, Msg: wire.NewMsgWTxIdRelay()})
			case 3:
				step(Event{Kind: EvMsg, Msg: wire.NewMsgSendAddrV2()})
			case 4:
				step(Event{Kind: EvMsg, Msg: wire.NewMsgPing(uint64(arg))})
			case 5:
				step(Event{Kind: EvMsg, Msg: wire.NewMsgPong(uint64(arg) * 0x9e3779b97f4a7c15)})
			case 6:
				now = now.Add(time.Duration(arg) * 10 * time.Second)
				step(Event{Kind: EvTick})
				i++
			case 7:
				step(Event{Kind: EvRelay, Txs: []*Tx{ptx}})
			case 8:
				gd := wire.NewMsgGetData()
				h := ptx.WTxID
				if arg&1 == 0 {
					h = ptx.TxID
				}
				gd.AddInvVect(wire.NewInvVect(wire.InvType(arg%6), &h))
				step(Event{Kind: EvMsg, Msg: gd})
			case 9:
				inv := wire.NewMsgInv()
				inv.AddInvVect(wire.NewInvVect(wire.InvType(arg%6), &chainhash.Hash{arg}))
				step(Event{Kind: EvMsg, Msg: inv})
			case 10:
				step(Event{Kind: EvMsg, Msg: tx})
			case 11:
				if len(jobs) > 0 {
					j := jobs[0]
					jobs = jobs[1:]
					step(Event{Kind: EvDone, Done: j()})
				}
			case 12:
				step(Event{Kind: EvCmd, Cmd: CmdPing})
			case 13:
				step(Event{Kind: EvCmd, Cmd: CmdDisconnect, Reason: ReasonOperator})
			case 14:
				step(Event{Kind: EvClosed, Reason: ReasonEOF})
			case 15:
				step(Event{Kind: EvBadMsg, Err: &wireio.SoftError{Command: "x", Reason: "bad checksum"}})
			case 16:
				step(Event{Kind: EvMsg, Msg: wire.NewMsgMemPool()})
			}
		}
	})
}
