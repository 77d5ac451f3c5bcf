package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/rpcserver"
)

// relayResult is what relay mode measured; --json prints it.
type relayResult struct {
	Target     string `json:"target"`
	Peers      int    `json:"peers"`
	WTxIDRelay bool   `json:"wtxidrelay"`
	// Transport is what the listeners spoke: "v1" or "v2" (--v2).
	Transport string `json:"transport"`
	Txs       int    `json:"txs"`
	// Seed made the transactions up; with --txfile they came from TxFile
	// instead (and Seed is 0).
	Seed   uint64 `json:"seed"`
	TxFile string `json:"txfile,omitempty"`
	// TargetAgent is the user agent of the target's version message.
	TargetAgent string `json:"target_user_agent"`
	// ReadyBy is what the run waited for before the first transaction:
	// "standby", peerd's state, or "listed", a node that reports no
	// states (btcd) listing every connection in getpeerinfo.
	ReadyBy      string `json:"ready_by"`
	FileLimit    uint64 `json:"nofile_limit"`
	FileLimitOK  bool   `json:"nofile_limit_ok"`
	FileLimitErr string `json:"nofile_limit_error,omitempty"`
	// OpenTime: dialing and handshaking every connection; StandbyTime:
	// from then until the target reported them all ready (ReadyBy).
	OpenTime    millis `json:"open_ms"`
	StandbyTime millis `json:"standby_ms"`

	// Over all (transaction, listener) pairs that were delivered: from
	// the moment sendrawtransaction was issued, and from the moment it
	// returned (negative when the inv arrived before the RPC reply), to
	// the moment the listener read the inv.
	IssueToInv  summary `json:"issue_to_inv"`
	ReturnToInv summary `json:"return_to_inv"`
	// RPC is sendrawtransaction's round trip (peerd's check, its fsync of
	// the mempool log, the reply).
	RPC summary `json:"rpc"`
	// Per transaction: from issue to the first and to the last listener's
	// inv, and the spread between them.
	FirstInv summary `json:"first_inv"`
	LastInv  summary `json:"last_inv"`
	Spread   summary `json:"spread"`
	// PeerdInv is peerd's own record of when it sent each inv
	// (getmempoolentry's propagation.invsent, millisecond resolution),
	// from the RPC issue: how much of IssueToInv is peerd's. Absent when
	// the target keeps no such record (btcd) or --propagation=false.
	PeerdInv *summary `json:"peerd_invsent,omitempty"`

	Pairs         int `json:"pairs"`
	Delivered     int `json:"delivered_pairs"`
	ListenersAll  int `json:"listeners_got_all"`
	TxsAll        int `json:"txs_reached_all"`
	Duplicates    int `json:"duplicate_invs"`
	Unexpected    int `json:"unexpected_invs"`
	WrongType     int `json:"wrong_type_invs"`
	InvMessages   int `json:"inv_messages"`
	PingsAnswered int `json:"pings_answered"`
	Dropped       int `json:"dropped_connections"`
	// CPU is peerload's own CPU time over the whole run (it shares the
	// machine with peerd), and Wall the run's duration.
	CPU        millis     `json:"peerload_cpu_ms"`
	Wall       millis     `json:"wall_ms"`
	DropErrors []string   `json:"drop_errors,omitempty"`
	PerTx      []txResult `json:"per_tx"`
}

// txResult is one transaction's relay.
type txResult struct {
	// IssuedAt is when sendrawtransaction was issued (wall clock), to
	// line the transaction up with peerd's log.
	IssuedAt time.Time `json:"issued_at"`
	TxID     string    `json:"txid"`
	WTxID    string    `json:"wtxid"`
	RPC      millis    `json:"rpc_ms"`
	Received int       `json:"received"`
	First    millis    `json:"first_ms"`
	P50      millis    `json:"p50_ms"`
	Last     millis    `json:"last_ms"`
	TimedOut bool      `json:"timed_out,omitempty"`
}

// injection is when one transaction was sent.
type injection struct {
	issued, returned time.Time
	timedOut         bool
}

func runRelay(ctx context.Context, e *env, o *relayOptions) error {
	switch {
	case o.Txs < 1:
		return &usageError{"--txs must be at least 1"}
	case o.TxTimeout <= 0:
		return &usageError{"--txtimeout must be positive"}
	case o.Gap < 0 || o.Linger < 0:
		return &usageError{"--gap and --linger cannot be negative"}
	}
	defer e.rpc.close()
	start, cpu0 := time.Now(), cpuTime()
	var seed uint64
	var txs []*wire.MsgTx
	if o.TxFile != "" {
		var err error
		if txs, err = readTxFile(o.TxFile, o.Txs); err != nil {
			return err
		}
	} else {
		seed = seedFrom(o.Seed)
		txs = makeTxs(o.Txs, seed)
	}
	base, err := e.rpc.connectionCount(ctx)
	if err != nil {
		return fmt.Errorf("cannot reach the node's RPC server: %v", err)
	}
	wtxid := e.o.Conn.WTxID.on()
	w := newWatchList(txs, wtxid, e.o.Conn.Peers)

	f, err := openFleet(ctx, e, w, 0)
	if err != nil {
		return err
	}
	defer f.close()
	if err := checkWTxID(f, wtxid); err != nil {
		return err
	}
	standby, readyBy, err := f.waitStandby(ctx, e, base)
	if err != nil {
		return err
	}
	e.progress("the target reports all %d ready (%s) after %v more", len(f.ls), readyBy, standby.Round(time.Millisecond))

	inj := make([]injection, len(txs))
	var dead int64
	for i, tx := range txs {
		if d := f.dead.Load(); d > dead {
			dead = d
			e.progress("warning: the target dropped %d connections: %v", d, f.firstReadErr())
		}
		hexTx := txHex(tx)
		inj[i].issued = time.Now()
		txid, err := e.rpc.sendRawTransaction(ctx, hexTx)
		inj[i].returned = time.Now()
		if err != nil {
			return fmt.Errorf("transaction %d: %v", i+1, err)
		}
		if txid != tx.TxHash().String() {
			return fmt.Errorf("transaction %d: sendrawtransaction returned %s, want %v", i+1, txid, tx.TxHash())
		}
		timer := time.NewTimer(o.TxTimeout)
		select {
		case <-w.done[i]:
		case <-timer.C:
			inj[i].timedOut = true
			e.progress("transaction %d: %d of %d connections still without an inv after %v",
				i+1, w.remaining[i].Load(), len(f.ls), o.TxTimeout)
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		}
		timer.Stop()
		if !inj[i].timedOut {
			e.progress("transaction %d/%d: rpc %v, every connection had its inv %v after the call", i+1, len(txs),
				inj[i].returned.Sub(inj[i].issued).Round(time.Microsecond), time.Since(inj[i].issued).Round(time.Microsecond))
		}
		if err := sleep(ctx, o.Gap); err != nil {
			return err
		}
	}
	if err := sleep(ctx, o.Linger); err != nil {
		return err
	}
	f.close()

	res := relayStats(f, txs, inj, wtxid)
	res.Target, res.Seed, res.TxFile, res.ReadyBy = e.target, seed, o.TxFile, readyBy
	res.Transport = e.transportName()
	if len(f.ls) > 0 {
		res.TargetAgent = f.ls[0].theirAgent
	}
	res.FileLimit, res.FileLimitOK = f.fileLimit, f.limitErr == nil
	if f.limitErr != nil {
		res.FileLimitErr = f.limitErr.Error()
	}
	res.OpenTime, res.StandbyTime = millis(f.openTime), millis(standby)
	res.CPU, res.Wall = millis(cpuTime()-cpu0), millis(time.Since(start))
	if o.Propagation.on() {
		s, err := peerdInvTimes(ctx, e, txs, inj)
		switch {
		case errors.Is(err, errNoRecords):
			e.progress("the target keeps no propagation records (getmempoolentry): only the listeners' times")
		case err != nil:
			e.progress("warning: cannot read peerd's propagation records: %v", err)
		default:
			res.PeerdInv = &s
		}
	}
	if e.o.Output.JSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printRelay(e.stdout, res)
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// relayStats computes the results from the listeners' timestamps, once
// their readers have ended.
func relayStats(f *fleet, txs []*wire.MsgTx, inj []injection, wtxid bool) relayResult {
	res := relayResult{Peers: len(f.ls), WTxIDRelay: wtxid, Txs: len(txs), Pairs: len(txs) * len(f.ls)}
	var fromIssue, fromReturn, rpc, first, last, spread []time.Duration
	perTx := make([][]time.Duration, len(txs))
	for _, l := range f.ls {
		all := true
		for i, at := range l.got {
			if at.IsZero() {
				all = false
				continue
			}
			d := at.Sub(inj[i].issued)
			fromIssue = append(fromIssue, d)
			fromReturn = append(fromReturn, at.Sub(inj[i].returned))
			perTx[i] = append(perTx[i], d)
		}
		if all {
			res.ListenersAll++
		}
		res.Duplicates += l.dups
		res.Unexpected += l.unexpected
		res.WrongType += l.wrongType
		res.InvMessages += l.invMsgs
		res.PingsAnswered += l.pings
		if l.readErr != nil {
			res.Dropped++
			if len(res.DropErrors) < 5 {
				res.DropErrors = append(res.DropErrors, fmt.Sprintf("connection %d: %v", l.id, l.readErr))
			}
		}
	}
	res.Delivered = len(fromIssue)
	for i, tx := range txs {
		r := txResult{IssuedAt: inj[i].issued.Round(0), TxID: tx.TxHash().String(), WTxID: tx.WitnessHash().String(),
			RPC: millis(inj[i].returned.Sub(inj[i].issued)), Received: len(perTx[i]), TimedOut: inj[i].timedOut}
		rpc = append(rpc, inj[i].returned.Sub(inj[i].issued))
		if s := summarize(perTx[i]); s.N > 0 {
			r.First, r.P50, r.Last = s.Min, s.P50, s.Max
			first = append(first, time.Duration(s.Min))
			last = append(last, time.Duration(s.Max))
			spread = append(spread, time.Duration(s.Max-s.Min))
		}
		if len(perTx[i]) == len(f.ls) {
			res.TxsAll++
		}
		res.PerTx = append(res.PerTx, r)
	}
	res.IssueToInv = summarize(fromIssue)
	res.ReturnToInv = summarize(fromReturn)
	res.RPC = summarize(rpc)
	res.FirstInv, res.LastInv, res.Spread = summarize(first), summarize(last), summarize(spread)
	return res
}

// errNoRecords: the target's getmempoolentry has no propagation record
// (a node other than peerd), or the target has no getmempoolentry (btcd
// v0.26 answers "Command unimplemented").
var errNoRecords = errors.New("no propagation records")

// rpcMethodNotFound is JSON-RPC's error code for an unknown method.
const rpcMethodNotFound = -32601

// checkWTxID fails the run when wtxidrelay was asked for (--wtxid) and the
// target did not send it in the handshake: such a node (btcd v0.26, which
// does not implement BIP 339) announces by txid (MSG_TX), so no inv would
// be of the type the listeners wait for.
func checkWTxID(f *fleet, wtxid bool) error {
	if !wtxid {
		return nil
	}
	without := 0
	for _, l := range f.ls {
		if !l.theirWTxID {
			without++
		}
	}
	if without == 0 {
		return nil
	}
	return fmt.Errorf("the target (%s) did not send wtxidrelay on %d of %d connections: it announces by txid; run with --wtxid=false",
		f.ls[0].theirAgent, without, len(f.ls))
}

// peerdInvTimes reads peerd's propagation record of every transaction and
// returns, over every inv peerd says it sent, the time from the RPC issue
// to the record. peerd's times have millisecond resolution (truncated),
// so each value may be up to 1 ms early. A node whose getmempoolentry has
// no such record (or, like btcd v0.26, does not implement the method)
// gives errNoRecords or the RPC error.
func peerdInvTimes(ctx context.Context, e *env, txs []*wire.MsgTx, inj []injection) (summary, error) {
	var ds []time.Duration
	for i, tx := range txs {
		ent, err := e.rpc.mempoolEntry(ctx, tx.TxHash().String())
		var rerr *rpcserver.Error
		if errors.As(err, &rerr) && (rerr.Code == rpcMethodNotFound || strings.Contains(strings.ToLower(rerr.Message), "unimplemented")) {
			return summary{}, errNoRecords
		}
		if err != nil {
			return summary{}, err
		}
		if ent.Propagation == nil {
			return summary{}, errNoRecords
		}
		for _, ev := range ent.Propagation.InvSent {
			at := time.UnixMilli(int64(math.Round(ev.Time * 1000)))
			ds = append(ds, at.Sub(inj[i].issued.Round(0)))
		}
	}
	return summarize(ds), nil
}

// printRelay prints the results as a table.
func printRelay(w io.Writer, r relayResult) {
	mode := "wtxidrelay, invs by wtxid"
	if !r.WTxIDRelay {
		mode = "no wtxidrelay, invs by txid"
	}
	from := fmt.Sprintf("seed %d", r.Seed)
	if r.TxFile != "" {
		from = "from " + r.TxFile
	}
	fmt.Fprintf(w, "peerload relay: %d %s connections to %s %s (%s), %d transactions (%s)\n",
		r.Peers, r.Transport, r.Target, r.TargetAgent, mode, r.Txs, from)
	fmt.Fprintf(w, "connections handshaken in %v; the target reported all ready (%s) %v later\n",
		time.Duration(r.OpenTime).Round(time.Millisecond), r.ReadyBy, time.Duration(r.StandbyTime).Round(time.Millisecond))
	if !r.FileLimitOK {
		fmt.Fprintf(w, "warning: open file limit %d: %s\n", r.FileLimit, r.FileLimitErr)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-36s %6s %8s %8s %8s %8s %8s\n", "latency, ms", "n", "min", "p50", "p90", "p99", "max")
	row := func(name string, s summary) {
		fmt.Fprintf(w, "%-36s %6d %8s %8s %8s %8s %8s\n", name, s.N, ms(s.Min), ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max))
	}
	row("RPC issued -> inv read", r.IssueToInv)
	row("RPC returned -> inv read", r.ReturnToInv)
	row("sendrawtransaction call", r.RPC)
	row("per tx: issued -> first inv", r.FirstInv)
	row("per tx: issued -> last inv", r.LastInv)
	row("per tx: last - first inv", r.Spread)
	if r.PeerdInv != nil {
		row("peerd's invsent record, from issue", *r.PeerdInv)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "delivered: %d of %d (transaction, listener) pairs; %d of %d listeners got every transaction; %d of %d transactions reached every listener\n",
		r.Delivered, r.Pairs, r.ListenersAll, r.Peers, r.TxsAll, r.Txs)
	fmt.Fprintf(w, "invs: %d messages; %d duplicate, %d unexpected, %d of the wrong type; %d pings answered\n",
		r.InvMessages, r.Duplicates, r.Unexpected, r.WrongType, r.PingsAnswered)
	fmt.Fprintf(w, "connections dropped: %d\n", r.Dropped)
	fmt.Fprintf(w, "peerload used %v of CPU in %v\n", time.Duration(r.CPU).Round(time.Millisecond), time.Duration(r.Wall).Round(time.Millisecond))
	for _, s := range r.DropErrors {
		fmt.Fprintf(w, "  %s\n", s)
	}
	var slow []string
	for i, t := range r.PerTx {
		if t.TimedOut {
			slow = append(slow, fmt.Sprintf("%d (%d received)", i+1, t.Received))
		}
	}
	if len(slow) > 0 {
		fmt.Fprintf(w, "timed out: transactions %s\n", strings.Join(slow, ", "))
	}
}

// ms formats a duration in milliseconds with two decimals.
func ms(d millis) string { return fmt.Sprintf("%.2f", float64(d)/1e6) }
