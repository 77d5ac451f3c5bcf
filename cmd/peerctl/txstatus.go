package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// txStatusCommand is peerctl's own command (no method of peerd's): a
// short human summary of one transaction, from getmempoolentry and, when
// peerd runs with --privatebroadcast, getprivatebroadcastinfo.
const txStatusCommand = "txstatus"

// codeMethodNotFound is Core's -32601, which getprivatebroadcastinfo
// answers when private broadcast is off.
const codeMethodNotFound = -32601

// The parts of peerd's replies that the summary reads.
type (
	peerEvent struct {
		ID   int64   `json:"id"`
		Addr string  `json:"addr"`
		Time float64 `json:"time"`
	}
	attempt struct {
		Address  string  `json:"address"`
		Received float64 `json:"received"`
		Reject   string  `json:"reject"`
		Ended    float64 `json:"ended"`
		Outcome  string  `json:"outcome"`
	}
	mempoolEntry struct {
		Propagation struct {
			InvSent   []peerEvent `json:"invsent"`
			Fetched   []peerEvent `json:"fetched"`
			SeenFrom  []peerEvent `json:"seenfrom"`
			Attempts  []attempt   `json:"attempts"`
			Confirmed float64     `json:"confirmed"`
			FirstEcho *float64    `json:"first_echo"`
		} `json:"propagation"`
	}
	privateTx struct {
		TxID              string      `json:"txid"`
		State             string      `json:"state"`
		Added             float64     `json:"added"`
		Confirmed         float64     `json:"confirmed"`
		AttemptsRemaining int         `json:"attempts_remaining"`
		Attempts          []attempt   `json:"attempts"`
		Echoes            []peerEvent `json:"echoes"`
		FirstEcho         *float64    `json:"first_echo"`
	}
)

// txStatus prints the summary of txid. A transaction peerd does not have
// is peerd's error (-5), printed as any.
func txStatus(w io.Writer, p *peerd, txid string) error {
	param, _ := json.Marshal([]string{txid})
	var e mempoolEntry
	if _, err := p.callInto("getmempoolentry", param, &e, false); err != nil {
		return err
	}
	var priv *privateTx
	var info struct {
		Transactions []privateTx `json:"transactions"`
	}
	// Not found: private broadcast is off (or peerd predates it).
	if _, err := p.callInto("getprivatebroadcastinfo", nil, &info, true); err != nil {
		return err
	}
	for i, t := range info.Transactions {
		if strings.EqualFold(t.TxID, txid) {
			priv = &info.Transactions[i]
		}
	}
	_, err := io.WriteString(w, summary(e, priv))
	return err
}

// summary is the text txstatus prints: a line on the private broadcast,
// if the transaction had one, a line on ordinary relay, and a line per
// peer that rejected it.
func summary(e mempoolEntry, priv *privateTx) string {
	pr := e.Propagation
	var lines []string
	attempts := pr.Attempts
	if priv != nil {
		attempts = priv.Attempts
	}
	private := priv != nil || len(attempts) > 0
	if private {
		state := "pending"
		switch {
		case priv != nil:
			state = priv.State
		case pr.Confirmed != 0:
			state = "confirmed"
		}
		conns := connections(attempts)
		switch state {
		case "confirmed":
			echoes := len(pr.SeenFrom)
			if priv != nil {
				echoes = len(priv.Echoes)
			}
			took := ""
			switch {
			case priv != nil && priv.Confirmed != 0:
				took = " in " + seconds(priv.Confirmed-priv.Added)
			case pr.FirstEcho != nil:
				took = " in " + seconds(*pr.FirstEcho)
			}
			lines = append(lines, fmt.Sprintf("confirmed by %s%s; %s", count(echoes, "peer", "peers"), took, conns))
		case "gave up":
			lines = append(lines, fmt.Sprintf("private broadcast gave up: %s, and no peer announced it back; "+
				"abortprivatebroadcast removes it, sendrawtransaction starts again", conns))
		default:
			line := fmt.Sprintf("private broadcast pending: %s; no peer has announced it back yet", conns)
			if priv != nil {
				line += fmt.Sprintf(" (%s left)", count(priv.AttemptsRemaining, "attempt", "attempts"))
			}
			lines = append(lines, line)
		}
	}
	if !private || len(pr.InvSent) > 0 {
		relay := ordinary(pr.InvSent, pr.Fetched, pr.SeenFrom, pr.FirstEcho, private)
		if private {
			relay = "since then in ordinary relay: " + relay
		}
		lines = append(lines, relay)
	}
	for _, a := range attempts {
		if a.Reject != "" {
			lines = append(lines, fmt.Sprintf("rejected by %s: %s", a.Address, a.Reject))
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// ordinary describes ordinary relay: announcements, fetches and echoes.
// private: the echoes were counted already, as the confirmation.
func ordinary(inv, fetched, seen []peerEvent, firstEcho *float64, private bool) string {
	if len(inv) == 0 {
		if len(seen) > 0 && !private {
			return fmt.Sprintf("not announced to any peer yet, but announced to peerd by %s%s", count(len(seen), "peer", "peers"), after(firstEcho))
		}
		return "not announced to any peer yet"
	}
	s := "announced to " + count(len(inv), "peer", "peers")
	switch {
	case len(fetched) == 0 && len(seen) == 0 && !private:
		// Nobody has it from peerd, nor from anyone else as far as
		// peerd can tell.
		return s + ", fetched by none: no peer took it from peerd (a peer that refuses it never asks for it)"
	case len(fetched) == 0:
		s += ", fetched by none"
	default:
		s += fmt.Sprintf(", fetched by %d", len(fetched))
	}
	if !private {
		if len(seen) == 0 {
			// Fetched is not accepted: a made-up transaction that
			// every real node drops reads exactly so.
			s += ", announced back by none yet: " + notAccepted
		} else {
			s += fmt.Sprintf(", announced back by %d%s: accepted, other nodes relay it", len(seen), after(firstEcho))
		}
	}
	return s
}

// notAccepted ends the summary of a transaction that peers fetched but
// none announced back, which is all peerd sees of one that every peer
// rejected.
const notAccepted = "NOT shown accepted by any peer (peers fetch a transaction before they check it, " +
	"and drop an invalid one without a word; only a peer announcing it back shows it accepted it)"

// connections counts broadcast connections by how they ended.
func connections(as []attempt) string {
	var receipts, rejected, open, failed int
	for _, a := range as {
		switch {
		case a.Received != 0:
			receipts++
		case a.Reject != "":
			rejected++
		case a.Ended == 0 && a.Outcome == "":
			open++
		default:
			failed++
		}
	}
	var parts []string
	for _, p := range []struct {
		n    int
		word string
	}{{receipts, "receipt"}, {rejected, "rejected"}, {failed, "failed"}, {open, "open"}} {
		switch {
		case p.n == 0:
		case p.word == "receipt":
			parts = append(parts, count(p.n, "receipt", "receipts"))
		default:
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.word))
		}
	}
	s := count(len(as), "broadcast connection", "broadcast connections") + " via the proxy"
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

func after(firstEcho *float64) string {
	if firstEcho == nil {
		return ""
	}
	return " (first after " + seconds(*firstEcho) + ")"
}

// seconds writes a duration in seconds for a person: 1.8 s, 42 s, 3m5s.
func seconds(s float64) string {
	switch {
	case s < 10:
		return fmt.Sprintf("%.1f s", s)
	case s < 60:
		return fmt.Sprintf("%.0f s", s)
	}
	return (time.Duration(s * float64(time.Second))).Round(time.Second).String()
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
