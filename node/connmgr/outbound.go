package connmgr

import (
	"net/netip"
	"time"
)

// target is a kept address (rule 1 of the package doc).
type target struct {
	addr    string
	kind    Kind
	state   targetState
	dial    uint64    // dialing: the dial's number
	peer    uint64    // connected: the peer's id
	retryAt time.Time // waiting: when to dial again
	backoff time.Duration
	v1      bool // the operator asked for v1 (addnode ... false)

	// Failed dials since the address was last reached, for the
	// rate-limited info line (see keptDialFailed).
	failed    int       // in all
	unlogged  int       // since the last info line
	loggedAt  time.Time // the last info line; zero: none yet
	firstFail time.Time
}

type targetState uint8

const (
	// waiting: no dial and no peer; dial at retryAt (zero: at once).
	waiting targetState = iota
	// dialing: dial is under way.
	dialing
	// connected: peer is the address's peer.
	connected
)

func (m *Manager) keep(addr string, kind Kind, v1 bool) *target {
	t := &target{addr: addr, kind: kind, backoff: m.cfg.RetryMin, v1: v1}
	m.kept = append(m.kept, t)
	m.keptIndex[addr] = t
	return t
}

func (m *Manager) unkeep(addr string) bool {
	t := m.keptIndex[addr]
	if t == nil {
		return false
	}
	delete(m.keptIndex, addr)
	for i, k := range m.kept {
		if k == t {
			m.kept = append(m.kept[:i], m.kept[i+1:]...)
			break
		}
	}
	return true
}

// dialKept dials a waiting kept address, unless it is a banned IP, which
// counts as a failed dial.
func (m *Manager) dialKept(t *target, now time.Time, out *[]Action) {
	if ap, err := netip.ParseAddrPort(t.addr); err == nil && m.isBanned(ap.Addr(), now) {
		note(out, false, "not dialing %s: banned", t.addr)
		m.wait(t, now, out)
		return
	}
	t.state = dialing
	t.dial = m.dial(t.addr, t.kind, t.v1, out)
}

// keptFailed notes that dial id to addr failed or was refused: a kept
// address waits for its back-off.
func (m *Manager) keptFailed(addr string, id uint64, now time.Time, out *[]Action) {
	if t := m.keptIndex[addr]; t != nil && t.state == dialing && t.dial == id {
		m.wait(t, now, out)
	}
}

// FailureLogInterval is the least time between two info lines about the
// failed dials of one kept address (--connect, --addpeer, addnode add):
// the first failure is logged at once, the next ones at most once per
// interval, with how many failed meanwhile.
const FailureLogInterval = time.Minute

// keptDialFailed reports a failed dial of kept address t at info level,
// rate-limited (FailureLogInterval), with the back-off it now waits; at
// debug level otherwise. It then makes t wait.
func (m *Manager) keptDialFailed(t *target, err error, now time.Time, out *[]Action) {
	t.failed++
	t.unlogged++
	if t.failed == 1 {
		t.firstFail = now
	}
	switch {
	case t.loggedAt.IsZero():
		note(out, true, "Outbound %s: %v; next try in %v (%s peer: retries back off up to %v; reported at most once a minute)",
			t.addr, err, t.backoff, keptOrigin(t.kind), m.cfg.RetryMax)
	case now.Sub(t.loggedAt) >= FailureLogInterval:
		note(out, true, "Outbound %s: %v; %d failed attempts since the last report, %d since %s; next try in %v",
			t.addr, err, t.unlogged, t.failed, t.firstFail.Format(time.TimeOnly), t.backoff)
	default:
		note(out, false, "dial %s (%s): %v", t.addr, t.kind, err)
		m.wait(t, now, out)
		return
	}
	t.loggedAt, t.unlogged = now, 0
	m.wait(t, now, out)
}

// keptOrigin names the option that keeps an address of kind.
func keptOrigin(k Kind) string {
	if k == KindManual {
		return "--connect"
	}
	return "--addpeer or addnode"
}

// keptReached notes that kept address t finished a handshake: the failure
// count starts again, and an address that failed before says it is back.
func (m *Manager) keptReached(t *target, out *[]Action) {
	if t.failed > 0 {
		note(out, true, "Outbound %s: reached after %d failed attempts", t.addr, t.failed)
	}
	t.failed, t.unlogged, t.loggedAt = 0, 0, time.Time{}
}

// wait makes t wait its back-off from now, and doubles the back-off.
func (m *Manager) wait(t *target, now time.Time, out *[]Action) {
	t.state = waiting
	t.retryAt = now.Add(t.backoff)
	note(out, false, "reconnecting to %s in %v", t.addr, t.backoff)
	t.backoff = min(2*t.backoff, m.cfg.RetryMax)
}
