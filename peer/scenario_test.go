package peer

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/handshake"
	"github.com/peerd/peerd/internal/fsm"
	script "github.com/peerd/peerd/internal/scenario"
)

var update = flag.Bool("update", false, "rewrite the expected output of scenario scripts")

// Scenario scripts (testdata/scenarios/*.txt) drive one peer machine through
// a whole conversation on a fake clock. A script is a series of blocks
// separated by blank lines; each block is one or more commands, a line
// "----", then the expected output: the transitions and actions the
// commands produced. `go test ./peer -run Scenarios -update` rewrites the
// expected output; review the diff before committing it.
//
// Commands:
//
//	start outbound|inbound [key=value...]   new machine; keys: nonce, ownnonce, broadcast
//	                                        (a private broadcast of the named tx),
//	                                        pinginterval, pingtimeout, idle, hstimeout,
//	                                        required, services (ours) (services: witness,
//	                                        network, bloom, none)
//	recv COMMAND [key=value...]             a message from the peer (see message());
//	                                        recv pong nonce=last answers our last ping
//	bad TEXT                                a message the reader dropped
//	advance DURATION                        move the clock and tick the machine
//	cmd disconnect|ping                     an operator command
//	relay NAME...                           transactions to announce (named, built on demand;
//	                                        a name starting with "bad" fails CheckTx)
//	done                                    the oldest outstanding executor job answers
//	closed                                  the connection broke
//	answer n=N [tor=K]                      the node's addresses for the peer's getaddr
//	                                        (EvAddrs): N IPv4, K Tor v3
//	addrrelay n=N [tor=K] [first=F]         addresses the node relays to the peer
//	                                        (EvAddrRelay), numbered from F (default 1)
//	state                                   print the state path, deadline and RTTs
//	addrstats                               print the address relay counters
//
// Address messages: recv addr|addrv2 n=N [tor=K] [services=...] [age=DUR]
// [future=DUR] [ts=UNIX] carries N IPv4 entries 1.2.0.1, 1.2.0.2, ... (and,
// in addrv2, K Tor v3 entries), seen age ago (or future ahead, or at ts).
// start's getaddr=true marks an outbound full-relay connection;
// addrtrickle=DUR sets Config.AddrTrickle.
func TestScenarios(t *testing.T) {
	taken := map[string]bool{}
	script.Each(t, func(t *testing.T, file string) { runScenario(t, file, taken) })
	// Every declared edge, of the peer machine and of the handshake inside
	// it, is taken by some script: the diagrams hold no dead transition.
	for _, e := range Spec.Edges {
		if !taken[fmt.Sprintf("%s -> %s on %s", e.From, e.To, e.On)] {
			t.Errorf("no scenario takes %s -> %s on %q", e.From, e.To, e.On)
		}
	}
	for _, e := range ValidatingSpec.Edges {
		if !taken[fmt.Sprintf("%s/%s -> %s/%s on %s", Standby, e.From, Standby, e.To, e.On)] {
			t.Errorf("no scenario takes validating %s -> %s on %q", e.From, e.To, e.On)
		}
	}
	for _, e := range BroadcastSpec.Edges {
		if !taken[fmt.Sprintf("%s/%s -> %s/%s on %s", Broadcast, e.From, Broadcast, e.To, e.On)] {
			t.Errorf("no scenario takes broadcast %s -> %s on %q", e.From, e.To, e.On)
		}
	}
	for _, e := range handshake.Spec.Edges {
		if !taken[fmt.Sprintf("%s/%s -> %s/%s on %s", Handshake, e.From, Handshake, e.To, e.On)] {
			t.Errorf("no scenario takes handshake %s -> %s on %q", e.From, e.To, e.On)
		}
	}
}

type scenario struct {
	t     *testing.T
	now   time.Time
	start time.Time
	m     *Machine
	out   []string
	taken map[string]bool
	txs   map[string]*Tx
	names map[chainhash.Hash]string
	jobs  []func() JobResult
	rng   *rand.Rand
	ping  uint64 // nonce of the last ping we sent
}

// tx returns the named transaction, building it on first use. It has a
// witness, so its txid and wtxid differ.
func (s *scenario) tx(name string) *Tx {
	if tx, ok := s.txs[name]; ok {
		return tx
	}
	msg := wire.NewMsgTx(2)
	in := wire.NewTxIn(&wire.OutPoint{Hash: chainhash.HashH([]byte(name)), Index: 0}, nil, wire.TxWitness{[]byte(name)})
	msg.AddTxIn(in)
	msg.AddTxOut(wire.NewTxOut(1000, []byte{0x51}))
	tx := &Tx{TxID: msg.TxHash(), WTxID: msg.WitnessHash(), Msg: msg}
	s.txs[name] = tx
	s.names[tx.TxID] = name
	s.names[tx.WTxID] = name + "/w"
	return tx
}

func (s *scenario) name(h chainhash.Hash) string {
	if n, ok := s.names[h]; ok {
		return n
	}
	return h.String()[:8]
}

func runScenario(t *testing.T, file string, taken map[string]bool) {
	s := &scenario{t: t, start: time.Unix(1_700_000_000, 0), taken: taken,
		txs: map[string]*Tx{}, names: map[chainhash.Hash]string{},
		rng: rand.New(rand.NewPCG(1, 2))}
	s.now = s.start
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

func (s *scenario) run(line string) {
	f := strings.Fields(line)
	switch f[0] {
	case "start":
		s.startMachine(f[1:])
		s.step(Event{Kind: EvStart})
	case "recv":
		args := kv(s, f[2:])
		if msg := s.message(f[1], args); msg != nil {
			s.step(Event{Kind: EvMsg, Msg: msg})
		} else {
			// Commands the driver does not decode arrive as
			// EvUnknown: sendcmpct, headers, block, anything new.
			s.step(Event{Kind: EvUnknown, Unknown: UnknownMsg{Command: f[1], Size: uint32(s.num(args, "size", 0))}})
		}
	case "bad":
		s.step(Event{Kind: EvBadMsg, Err: fmt.Errorf("%s", strings.Join(f[1:], " "))})
	case "advance":
		d, err := time.ParseDuration(f[1])
		if err != nil {
			s.fail("advance: %v", err)
		}
		s.now = s.now.Add(d)
		s.step(Event{Kind: EvTick})
	case "cmd":
		switch f[1] {
		case "disconnect":
			s.step(Event{Kind: EvCmd, Cmd: CmdDisconnect, Reason: ReasonOperator})
		case "ping":
			s.step(Event{Kind: EvCmd, Cmd: CmdPing})
		default:
			s.fail("unknown cmd %q", f[1])
		}
	case "closed":
		reason := ReasonEOF
		if len(f) > 1 && f[1] == "v2refused" {
			reason = ReasonV2Refused
		}
		s.step(Event{Kind: EvClosed, Reason: reason})
	case "transport":
		if len(f) != 2 || f[1] != "ready" {
			s.fail("transport ready")
		}
		s.step(Event{Kind: EvTransport})
	case "relay":
		var txs []*Tx
		for _, n := range f[1:] {
			txs = append(txs, s.tx(n))
		}
		s.step(Event{Kind: EvRelay, Txs: txs})
	case "done":
		if len(s.jobs) == 0 {
			s.fail("done: no executor job outstanding")
		}
		job := s.jobs[0]
		s.jobs = s.jobs[1:]
		s.step(Event{Kind: EvDone, Done: job()})
	case "answer":
		s.step(Event{Kind: EvAddrs, Addrs: s.addrsV2(kv(s, f[1:]))})
	case "addrrelay":
		s.step(Event{Kind: EvAddrRelay, Addrs: s.addrsV2(kv(s, f[1:]))})
	case "state":
		minRTT, last := s.m.RTT()
		dl := "none"
		if d := s.m.Deadline(); !d.IsZero() {
			dl = "+" + d.Sub(s.start).String()
		}
		info := s.m.Info()
		s.out = append(s.out, fmt.Sprintf("state %s deadline %s rtt min %v last %v wait %v",
			s.m.Path(), dl, minRTT, last, s.m.PingWait(s.now)))
		if s.m.State() != Handshake {
			s.out = append(s.out, fmt.Sprintf("peer pver=%d wtxidrelay=%v addrv2=%v relay=%v reason=%q",
				info.ProtocolVersion, info.WTxIDRelay, info.AddrV2, info.Relay, s.m.Reason()))
		}
	case "addrstats":
		st := s.m.AddrStats()
		s.out = append(s.out, fmt.Sprintf("addr relay=%v processed=%d ratelimited=%d",
			st.RelayEnabled, st.Processed, st.RateLimited))
	default:
		s.fail("unknown command %q", line)
	}
}

func kv(s *scenario, args []string) map[string]string {
	m := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			s.fail("argument %q is not key=value", a)
		}
		m[k] = v
	}
	return m
}

func (s *scenario) num(args map[string]string, key string, def uint64) uint64 {
	v, ok := args[key]
	if !ok {
		return def
	}
	n, err := strconv.ParseUint(v, 0, 64)
	if err != nil {
		s.fail("%s=%q: %v", key, v, err)
	}
	return n
}

func (s *scenario) dur(args map[string]string, key string) time.Duration {
	v, ok := args[key]
	if !ok {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		s.fail("%s=%q: %v", key, v, err)
	}
	return d
}

func services(s *scenario, v string) wire.ServiceFlag {
	var f wire.ServiceFlag
	for _, name := range strings.Split(v, ",") {
		switch name {
		case "witness":
			f |= wire.SFNodeWitness
		case "network":
			f |= wire.SFNodeNetwork
		case "bloom":
			f |= wire.SFNodeBloom
		case "none", "":
		default:
			s.fail("unknown service %q", name)
		}
	}
	return f
}

func (s *scenario) startMachine(f []string) {
	if len(f) == 0 || (f[0] != "inbound" && f[0] != "outbound") {
		s.fail("start inbound|outbound")
	}
	args := kv(s, f[1:])
	required := wire.SFNodeWitness
	if v, ok := args["required"]; ok {
		required = services(s, v)
	}
	cfg := &Config{
		Handshake: handshake.Config{
			Services:         services(s, args["services"]),
			RequiredServices: required,
			UserAgent:        "/peerd:test/",
			Timeout:          s.dur(args, "hstimeout"),
		},
		PingInterval: s.dur(args, "pinginterval"),
		Trickle:      s.dur(args, "trickle"),
		CheckTx: func(tx *wire.MsgTx) error {
			if strings.HasPrefix(string(tx.TxIn[0].Witness[0]), "bad") {
				return fmt.Errorf("bad-txns-test")
			}
			return nil
		},
		PingTimeout: s.dur(args, "pingtimeout"),
		AddrTrickle: s.dur(args, "addrtrickle"),
		IdleTimeout: s.dur(args, "idle"),
		// The scenario's transactions stand for the mempool.
		LookupTx: func(h chainhash.Hash, byWTxID bool) *Tx {
			for _, tx := range s.txs {
				if (byWTxID && tx.WTxID == h) || (!byWTxID && tx.TxID == h) {
					return tx
				}
			}
			return nil
		},
	}
	own := s.num(args, "ownnonce", 0)
	p := Params{
		Params: handshake.Params{
			Inbound:     f[0] == "inbound",
			Nonce:       s.num(args, "nonce", 1),
			IsOwnNonce:  func(n uint64) bool { return own != 0 && n == own },
			KeyExchange: args["keyexchange"] == "true",
		},
		Rand:    s.rng.Uint64,
		GetAddr: args["getaddr"] == "true",
	}
	if name, ok := args["broadcast"]; ok {
		p.Broadcast = s.tx(name)
	}
	s.rng = rand.New(rand.NewPCG(1, 2)) // the same numbers for every machine
	s.m = NewMachine(cfg, p, fsm.ObserverFunc(func(tr fsm.Transition) {
		line := fmt.Sprintf("%s -> %s on %s", tr.From, tr.To, tr.On)
		s.taken[line] = true
		s.out = append(s.out, line)
	}))
}

// message builds a message from a command name and key=value arguments.
func (s *scenario) message(cmd string, args map[string]string) wire.Message {
	switch cmd {
	case "version":
		v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, s.num(args, "nonce", 99), 0)
		v.ProtocolVersion = int32(s.num(args, "pver", 70016))
		v.Services = services(s, "witness")
		if sv, ok := args["services"]; ok {
			v.Services = services(s, sv)
		}
		v.UserAgent = "/them:1.0/"
		if args["relay"] == "false" {
			v.DisableRelayTx = true
		}
		return v
	case "verack":
		return wire.NewMsgVerAck()
	case "wtxidrelay":
		return wire.NewMsgWTxIdRelay()
	case "sendaddrv2":
		return wire.NewMsgSendAddrV2()
	case "ping":
		return wire.NewMsgPing(s.num(args, "nonce", 7))
	case "pong":
		if args["nonce"] == "last" {
			return wire.NewMsgPong(s.ping)
		}
		return wire.NewMsgPong(s.num(args, "nonce", 0))
	case "getdata", "inv":
		// tx=N wtx=N witnesstx=N block=N: N entries with made-up hashes;
		// txid=a,b (MSG_TX), wtxid=a,b (MSG_WTX), witnesstxid=a,b
		// (MSG_WITNESS_TX): the named transactions.
		var list []*wire.InvVect
		for _, k := range []string{"tx", "wtx", "witnesstx", "block"} {
			typ := map[string]wire.InvType{"tx": wire.InvTypeTx, "wtx": InvTypeWTx, "witnesstx": wire.InvTypeWitnessTx, "block": wire.InvTypeBlock}[k]
			for i := range s.num(args, k, 0) {
				list = append(list, wire.NewInvVect(typ, &chainhash.Hash{byte(i + 1)}))
			}
		}
		for _, k := range []string{"txid", "wtxid", "witnesstxid"} {
			v, ok := args[k]
			if !ok {
				continue
			}
			for _, n := range strings.Split(v, ",") {
				tx := s.tx(n)
				switch k {
				case "txid":
					list = append(list, wire.NewInvVect(wire.InvTypeTx, &tx.TxID))
				case "wtxid":
					list = append(list, wire.NewInvVect(InvTypeWTx, &tx.WTxID))
				case "witnesstxid":
					list = append(list, wire.NewInvVect(wire.InvTypeWitnessTx, &tx.TxID))
				}
			}
		}
		if cmd == "inv" {
			m := wire.NewMsgInv()
			m.InvList = list
			return m
		}
		m := wire.NewMsgGetData()
		m.InvList = list
		return m
	case "feefilter":
		return wire.NewMsgFeeFilter(1000)
	case "sendheaders":
		return wire.NewMsgSendHeaders()
	case "getaddr":
		return wire.NewMsgGetAddr()
	case "addr":
		m := wire.NewMsgAddr()
		for _, na := range s.addrsV2(args) {
			m.AddrList = append(m.AddrList, na.ToLegacy())
		}
		return m
	case "addrv2":
		m := wire.NewMsgAddrV2()
		m.AddrList = s.addrsV2(args)
		return m
	case "notfound":
		return wire.NewMsgNotFound()
	case "reject":
		// reject txid=NAME [reason=TEXT]: BIP 61, as btcd sends it.
		m := wire.NewMsgReject(wire.CmdTx, wire.RejectInvalid, args["reason"])
		m.Hash = s.tx(args["txid"]).TxID
		return m
	case "mempool":
		return wire.NewMsgMemPool()
	case "filterload":
		return wire.NewMsgFilterLoad([]byte{1}, 1, 0, wire.BloomUpdateNone)
	case "filteradd":
		return wire.NewMsgFilterAdd([]byte{1})
	case "filterclear":
		return wire.NewMsgFilterClear()
	case "tx":
		if n, ok := args["name"]; ok {
			return s.tx(n).Msg
		}
		return wire.NewMsgTx(2)
	default:
		return nil
	}
}

// addrsV2 builds the entries of an address message or answer (see the
// comment of TestScenarios).
func (s *scenario) addrsV2(args map[string]string) []*wire.NetAddressV2 {
	ts := s.now.Add(-s.dur(args, "age"))
	if _, ok := args["future"]; ok {
		ts = s.now.Add(s.dur(args, "future"))
	}
	if _, ok := args["ts"]; ok {
		ts = time.Unix(int64(s.num(args, "ts", 0)), 0)
	}
	svc := wire.SFNodeNetwork | wire.SFNodeWitness
	if v, ok := args["services"]; ok {
		svc = services(s, v)
	}
	var list []*wire.NetAddressV2
	first := s.num(args, "first", 1)
	for i := range s.num(args, "n", 0) {
		ip := []byte{1, 2, byte((i + first) >> 8), byte(i + first)}
		list = append(list, wire.NetAddressV2FromBytes(ts, svc, ip, 8333))
	}
	for i := range s.num(args, "tor", 0) {
		key := make([]byte, 32)
		key[0] = byte(i + 1)
		list = append(list, wire.NetAddressV2FromBytes(ts, svc, key, 8333))
	}
	return list
}

// addrList prints received entries: how many, and the first three with
// their times relative to now.
func (s *scenario) addrList(n int, at func(int) (string, time.Time)) string {
	parts := []string{strconv.Itoa(n)}
	for i := range min(n, 3) {
		addr, ts := at(i)
		parts = append(parts, fmt.Sprintf("%s@%v", addr, ts.Sub(s.now)))
	}
	return strings.Join(parts, " ")
}

func (s *scenario) step(ev Event) {
	ev.Now = s.now
	var out []Action
	s.m.Step(ev, &out)
	for _, a := range out {
		if a.Kind == ActExec {
			s.jobs = append(s.jobs, a.Job)
		}
		s.out = append(s.out, s.describe(a))
	}
}

func (s *scenario) invList(list []*wire.InvVect) string {
	var parts []string
	for _, iv := range list {
		typ := iv.Type.String()
		if iv.Type == InvTypeWTx {
			typ = "MSG_WTX"
		}
		parts = append(parts, typ+":"+s.name(iv.Hash))
	}
	return strings.Join(parts, ",")
}

// describe prints an action with the fields that matter to a reader.
func (s *scenario) describe(a Action) string {
	switch a.Kind {
	case ActExec:
		return "exec check"
	case ActAddrs:
		gossip := ""
		if a.AddrGossip {
			gossip = " (gossip)"
		}
		if a.AddrsV2 != nil {
			return "addrs v2 " + s.addrList(len(a.AddrsV2), func(i int) (string, time.Time) {
				return a.AddrsV2[i].Addr.String(), a.AddrsV2[i].Timestamp
			}) + gossip
		}
		return "addrs v1 " + s.addrList(len(a.Addrs), func(i int) (string, time.Time) {
			return a.Addrs[i].IP.String(), a.Addrs[i].Timestamp
		}) + gossip
	case ActReport:
		h := a.Report.TxID
		if a.Report.WTx {
			h = a.Report.WTxID
		}
		if a.Report.Reject != "" {
			return fmt.Sprintf("report %s %s %q", a.Report.Kind, s.name(h), a.Report.Reject)
		}
		return fmt.Sprintf("report %s %s", a.Report.Kind, s.name(h))
	case ActSend:
		switch m := a.Msg.(type) {
		case *wire.MsgInv:
			return "send inv " + s.invList(m.InvList)
		case *wire.MsgTx:
			enc := "witness"
			if a.Enc == wire.BaseEncoding {
				enc = "base"
			}
			return fmt.Sprintf("send tx %s (%s)", s.name(m.TxHash()), enc)
		case *wire.MsgVersion:
			return fmt.Sprintf("send version pver=%d services=%v nonce=%d ua=%s relay=%v",
				m.ProtocolVersion, m.Services, m.Nonce, m.UserAgent, !m.DisableRelayTx)
		case *wire.MsgPing:
			s.ping = m.Nonce
			return fmt.Sprintf("send ping nonce=%d", m.Nonce)
		case *wire.MsgPong:
			return fmt.Sprintf("send pong nonce=%d", m.Nonce)
		case *wire.MsgNotFound:
			return "send notfound " + s.invList(m.InvList)
		case *wire.MsgAddr:
			return "send addr " + s.addrList(len(m.AddrList), func(i int) (string, time.Time) {
				return m.AddrList[i].IP.String(), m.AddrList[i].Timestamp
			})
		case *wire.MsgAddrV2:
			return "send addrv2 " + s.addrList(len(m.AddrList), func(i int) (string, time.Time) {
				return m.AddrList[i].Addr.String(), m.AddrList[i].Timestamp
			})
		}
	}
	return a.String()
}
