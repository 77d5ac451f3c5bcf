package connmgr

import (
	"fmt"
	"strings"
)

// ActionKind says what an Action is.
type ActionKind uint8

// Action kinds. The node carries them out in the order given.
const (
	// ActAccept: take connection ID (the answer to EvInbound and
	// EvConnected); the manager counts it as a peer from now on.
	ActAccept ActionKind = iota
	// ActRefuse: close connection ID without making a peer of it, or, with
	// ID 0, the operator command is refused; Err says why.
	ActRefuse
	// ActDial: open a connection to Target; report EvConnected or
	// EvDialFailed with Dial.
	ActDial
	// ActDisconnect: close peer ID for Why. The peer still counts until
	// its EvClosed, but no longer as a live slot.
	ActDisconnect
	// ActQuerySeeds: resolve the network's DNS seeds and report EvSeeds.
	ActQuerySeeds
	// ActPersistBans: the ban list changed; Bans is the list in force.
	ActPersistBans
	// ActNote: something worth logging; Info says at info level (else
	// debug).
	ActNote
)

// Kind is the kind of an outbound connection, and KindInbound the one
// kind of inbound connection.
type Kind uint8

// Connection kinds.
const (
	KindInbound Kind = iota
	// KindManual: from --connect; kept, reconnected with back-off.
	KindManual
	// KindPersistent: from --addpeer or addnode add; kept likewise.
	KindPersistent
	// KindSeed: an automatic outbound full-relay connection (Core's
	// outbound-full-relay) to an address from the Book, which the DNS
	// seeds' answers feed among others; TargetOutbound of them are kept.
	KindSeed
	// KindOneTry: addnode onetry; dialled once.
	KindOneTry
	// KindFeeler: a short-lived connection to an address from the book's
	// new table, closed once its handshake is done (Core's feeler).
	KindFeeler
	// KindPrivate: a short-lived private-broadcast connection the node
	// asked for (CmdPrivate, rule 11); dialled once, never kept.
	KindPrivate
	// KindAddrFetch: a short-lived connection to a DNS seed's name
	// through the proxy, which resolves it (Core's addr-fetch): it asks
	// for addresses and is closed once they come (WhyAddrFetch), or after
	// AddrFetchTimeout.
	KindAddrFetch
)

var kindNames = [...]string{"inbound", "manual", "persistent", "seed", "onetry", "feeler", "private", "addr-fetch"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind?"
}

// Why is the manager's reason for a disconnect.
type Why uint8

// Disconnect reasons.
const (
	WhyEvicted Why = iota + 1
	WhyBanned
	WhyOperator
	// WhyFeeler: a feeler's handshake is done; it has served its purpose.
	WhyFeeler
	// WhyAddrFetch: an addr-fetch connection has its answer, or waited
	// AddrFetchTimeout for it.
	WhyAddrFetch
)

func (w Why) String() string {
	switch w {
	case WhyEvicted:
		return "evicted"
	case WhyBanned:
		return "banned"
	case WhyOperator:
		return "operator"
	case WhyFeeler:
		return "feeler done"
	case WhyAddrFetch:
		return "addr-fetch done"
	}
	return "why?"
}

// Action is one thing the node must do. Which fields are set depends on
// Kind.
type Action struct {
	Kind   ActionKind
	ID     uint64 // ActAccept, ActRefuse, ActDisconnect
	Dial   uint64 // ActDial
	Target string // ActDial
	Conn   Kind   // ActDial
	V2     bool   // ActDial: open it with BIP 324's transport
	Why    Why    // ActDisconnect
	Err    error  // ActRefuse
	Bans   []Ban  // ActPersistBans
	Note   string // ActNote
	Info   bool   // ActNote
}

func (a Action) String() string {
	switch a.Kind {
	case ActAccept:
		return fmt.Sprintf("accept %d", a.ID)
	case ActRefuse:
		if a.ID == 0 {
			return fmt.Sprintf("refuse: %v", a.Err)
		}
		return fmt.Sprintf("refuse %d: %v", a.ID, a.Err)
	case ActDial:
		if a.V2 {
			return fmt.Sprintf("dial %d %s %s v2", a.Dial, a.Target, a.Conn)
		}
		return fmt.Sprintf("dial %d %s %s", a.Dial, a.Target, a.Conn)
	case ActDisconnect:
		return fmt.Sprintf("disconnect %d %s", a.ID, a.Why)
	case ActQuerySeeds:
		return "query seeds"
	case ActPersistBans:
		var b strings.Builder
		b.WriteString("persist bans")
		for _, ban := range a.Bans {
			b.WriteString(" " + ban.Subnet.String())
		}
		return b.String()
	case ActNote:
		if a.Info {
			return "note (info): " + a.Note
		}
		return "note: " + a.Note
	}
	return "action?"
}
