package handshake

import (
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/peerd/peerd/internal/fsm"
)

var t0 = time.Unix(1_700_000_000, 0)

func testConfig() *Config {
	return &Config{
		Services:         wire.SFNodeWitness,
		RequiredServices: wire.SFNodeWitness,
		UserAgent:        "/peerd:test/",
		Timeout:          60 * time.Second,
	}
}

func version(pver int32, services wire.ServiceFlag, nonce uint64) *wire.MsgVersion {
	v := wire.NewMsgVersion(&wire.NetAddress{}, &wire.NetAddress{}, nonce, 7)
	v.ProtocolVersion = pver
	v.Services = services
	v.UserAgent = "/them:1.0/"
	return v
}

func recv(msg wire.Message) Event { return Event{Kind: Recv, Now: t0.Add(time.Second), Msg: msg} }

// sent lists the commands of the Send actions and any failure, in order.
func sent(actions []Action) string {
	var parts []string
	for _, a := range actions {
		switch {
		case a.Send != nil:
			parts = append(parts, a.Send.Command())
		case a.Fail != "":
			parts = append(parts, "fail:"+string(a.Fail))
		}
	}
	return strings.Join(parts, " ")
}

// TestTransitions checks each single transition: from a state reached by
// the setup events, one event, the state after it and what was sent.
func TestTransitions(t *testing.T) {
	const own = 42
	modern := version(70016, wire.SFNodeWitness|wire.SFNodeNetwork, 9)
	cases := []struct {
		name    string
		inbound bool
		setup   []Event
		ev      Event
		state   fsm.State
		sends   string
		result  fsm.Result
	}{
		{name: "outbound start sends version", ev: Event{Kind: Start, Now: t0},
			state: SentVersion, sends: "version"},
		{name: "inbound start sends nothing", inbound: true, ev: Event{Kind: Start, Now: t0},
			state: AwaitVersion, sends: ""},
		{name: "outbound: version answered wtxidrelay, sendaddrv2, verack",
			setup: []Event{{Kind: Start, Now: t0}}, ev: recv(modern),
			state: AwaitVerack, sends: "wtxidrelay sendaddrv2 verack"},
		{name: "inbound: version answered version, wtxidrelay, sendaddrv2, verack", inbound: true,
			setup: []Event{{Kind: Start, Now: t0}}, ev: recv(modern),
			state: AwaitVerack, sends: "version wtxidrelay sendaddrv2 verack"},
		{name: "pre-70016 peer gets no wtxidrelay or sendaddrv2", inbound: true,
			setup: []Event{{Kind: Start, Now: t0}}, ev: recv(version(70015, wire.SFNodeWitness, 9)),
			state: AwaitVerack, sends: "version verack"},
		{name: "verack before version ignored",
			setup: []Event{{Kind: Start, Now: t0}}, ev: recv(wire.NewMsgVerAck()),
			state: SentVersion, sends: ""},
		{name: "ping before version ignored, not answered", inbound: true,
			setup: []Event{{Kind: Start, Now: t0}}, ev: recv(wire.NewMsgPing(5)),
			state: AwaitVersion, sends: ""},
		{name: "ping before verack ignored, not answered",
			setup: []Event{{Kind: Start, Now: t0}, recv(modern)}, ev: recv(wire.NewMsgPing(5)),
			state: AwaitVerack, sends: ""},
		{name: "second version ignored",
			setup: []Event{{Kind: Start, Now: t0}, recv(modern)}, ev: recv(modern),
			state: AwaitVerack, sends: ""},
		{name: "verack ends the handshake",
			setup: []Event{{Kind: Start, Now: t0}, recv(modern)}, ev: recv(wire.NewMsgVerAck()),
			state: Done, sends: "", result: fsm.Ended},
		{name: "obsolete version refused",
			setup: []Event{{Kind: Start, Now: t0}}, ev: recv(version(31799, wire.SFNodeWitness, 9)),
			state: Failed, sends: "fail:" + string(FailObsoleteVersion), result: fsm.Ended},
		{name: "oldest accepted version", inbound: true,
			setup: []Event{{Kind: Start, Now: t0}}, ev: recv(version(31800, 0, 9)),
			state: AwaitVerack, sends: "version verack"},
		{name: "inbound with our own nonce: connected to self", inbound: true,
			setup: []Event{{Kind: Start, Now: t0}}, ev: recv(version(70016, 0, own)),
			state: Failed, sends: "fail:" + string(FailSelfConnection), result: fsm.Ended},
		{name: "outbound nonce is not checked for self",
			setup: []Event{{Kind: Start, Now: t0}}, ev: recv(version(70016, wire.SFNodeWitness, own)),
			state: AwaitVerack, sends: "wtxidrelay sendaddrv2 verack"},
		{name: "outbound peer without required services refused",
			setup: []Event{{Kind: Start, Now: t0}}, ev: recv(version(70016, wire.SFNodeNetwork, 9)),
			state: Failed, sends: "fail:" + string(FailMissingServices), result: fsm.Ended},
		{name: "inbound peer needs no services", inbound: true,
			setup: []Event{{Kind: Start, Now: t0}}, ev: recv(version(70016, 0, 9)),
			state: AwaitVerack, sends: "version wtxidrelay sendaddrv2 verack"},
		{name: "tick before the deadline does nothing",
			setup: []Event{{Kind: Start, Now: t0}}, ev: Event{Kind: Tick, Now: t0.Add(59 * time.Second)},
			state: SentVersion, sends: ""},
		{name: "timeout waiting for version",
			setup: []Event{{Kind: Start, Now: t0}}, ev: Event{Kind: Tick, Now: t0.Add(60 * time.Second)},
			state: Failed, sends: "fail:" + string(FailTimeout), result: fsm.Ended},
		{name: "timeout waiting for verack", inbound: true,
			setup: []Event{{Kind: Start, Now: t0}, recv(modern)}, ev: Event{Kind: Tick, Now: t0.Add(61 * time.Second)},
			state: Failed, sends: "fail:" + string(FailTimeout), result: fsm.Ended},
		{name: "second start ignored",
			setup: []Event{{Kind: Start, Now: t0}}, ev: Event{Kind: Start, Now: t0},
			state: SentVersion, sends: ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := New(testConfig(), Params{Inbound: c.inbound, Nonce: 1, IsOwnNonce: func(n uint64) bool { return n == own }}, "", nil)
			var out []Action
			for _, ev := range c.setup {
				m.Step(ev, &out)
			}
			out = out[:0]
			res := m.Step(c.ev, &out)
			if m.State() != c.state {
				t.Errorf("state %s, want %s", m.State(), c.state)
			}
			if got := sent(out); got != c.sends {
				t.Errorf("sent %q, want %q", got, c.sends)
			}
			if res != c.result {
				t.Errorf("result %v, want %v", res, c.result)
			}
		})
	}
}

// TestNegotiatedFeatures checks what the handshake records between version
// and verack.
func TestNegotiatedFeatures(t *testing.T) {
	cases := []struct {
		name       string
		pver       int32
		extra      []wire.Message
		wtx, addr2 bool
	}{
		{"none", 70016, nil, false, false},
		{"wtxidrelay", 70016, []wire.Message{wire.NewMsgWTxIdRelay()}, true, false},
		{"duplicate wtxidrelay is harmless", 70016, []wire.Message{wire.NewMsgWTxIdRelay(), wire.NewMsgWTxIdRelay()}, true, false},
		{"sendaddrv2", 70016, []wire.Message{wire.NewMsgSendAddrV2()}, false, true},
		{"both", 70016, []wire.Message{wire.NewMsgSendAddrV2(), wire.NewMsgWTxIdRelay()}, true, true},
		{"wtxidrelay from a pre-70016 peer ignored", 70015, []wire.Message{wire.NewMsgWTxIdRelay()}, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := New(testConfig(), Params{Inbound: true}, "", nil)
			var out []Action
			m.Step(Event{Kind: Start, Now: t0}, &out)
			v := version(c.pver, 0, 3)
			v.DisableRelayTx = true
			m.Step(recv(v), &out)
			for _, msg := range c.extra {
				m.Step(recv(msg), &out)
			}
			if res := m.Step(recv(wire.NewMsgVerAck()), &out); res != fsm.Ended {
				t.Fatalf("verack result %v", res)
			}
			info := m.Info()
			if info.WTxIDRelay != c.wtx || info.AddrV2 != c.addr2 {
				t.Fatalf("wtxidrelay=%v addrv2=%v, want %v %v", info.WTxIDRelay, info.AddrV2, c.wtx, c.addr2)
			}
			if info.Relay || info.UserAgent != "/them:1.0/" || info.StartHeight != 7 || info.ProtocolVersion != uint32(c.pver) {
				t.Fatalf("info %+v does not reflect the version message", info)
			}
			if !m.Deadline().IsZero() {
				t.Fatalf("an ended handshake still asks for a tick at %v", m.Deadline())
			}
		})
	}
}

// TestOurVersion checks the fields of the version we send.
func TestOurVersion(t *testing.T) {
	remote := wire.NetAddress{IP: []byte{203, 0, 113, 7}, Port: 18444}
	m := New(testConfig(), Params{Nonce: 0xfeed, Remote: remote}, "", nil)
	var out []Action
	m.Step(Event{Kind: Start, Now: t0.Add(500 * time.Millisecond)}, &out)
	if len(out) != 1 {
		t.Fatalf("got %d actions, want 1", len(out))
	}
	v := out[0].Send.(*wire.MsgVersion)
	switch {
	case v.ProtocolVersion != 70016:
		t.Errorf("protocol %d", v.ProtocolVersion)
	case v.Nonce != 0xfeed:
		t.Errorf("nonce %x", v.Nonce)
	case v.UserAgent != "/peerd:test/":
		t.Errorf("user agent %q", v.UserAgent)
	case v.Services != wire.SFNodeWitness || v.AddrMe.Services != wire.SFNodeWitness:
		t.Errorf("services %v / addr_from %v", v.Services, v.AddrMe.Services)
	case !v.AddrYou.IP.Equal(remote.IP) || v.AddrYou.Port != 18444:
		t.Errorf("addr_recv %v:%d", v.AddrYou.IP, v.AddrYou.Port)
	case v.DisableRelayTx:
		t.Errorf("relay = false")
	case !v.Timestamp.Equal(t0):
		t.Errorf("timestamp %v, want %v (whole seconds)", v.Timestamp, t0)
	}
}

func TestSpecIsValid(t *testing.T) {
	if err := Spec.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestPrivateVersion: on a private-broadcast connection our version tells
// nothing about us (the fields Core's p2p_private_broadcast.py asserts),
// and only verack answers the peer's version: no wtxidrelay, no
// sendaddrv2.
func TestPrivateVersion(t *testing.T) {
	remote := wire.NetAddress{IP: []byte{203, 0, 113, 7}, Port: 18444}
	cfg := testConfig()
	cfg.StartHeight = 800_000
	m := New(cfg, Params{Nonce: 0xfeed, Remote: remote, Private: true}, "", nil)
	var out []Action
	m.Step(Event{Kind: Start, Now: t0}, &out)
	v := out[0].Send.(*wire.MsgVersion)
	var zero [16]byte
	switch {
	case v.ProtocolVersion != 70016:
		t.Errorf("protocol %d", v.ProtocolVersion)
	case v.Services != 0 || v.AddrMe.Services != 0 || v.AddrYou.Services != 0:
		t.Errorf("services %v, addr_from %v, addr_recv %v", v.Services, v.AddrMe.Services, v.AddrYou.Services)
	case v.Timestamp.Unix() != 0:
		t.Errorf("timestamp %v", v.Timestamp)
	case len(v.AddrYou.IP) != 0 && [16]byte(v.AddrYou.IP.To16()) != zero || v.AddrYou.Port != 0:
		t.Errorf("addr_recv %v:%d", v.AddrYou.IP, v.AddrYou.Port)
	case len(v.AddrMe.IP) != 0 && [16]byte(v.AddrMe.IP.To16()) != zero || v.AddrMe.Port != 0:
		t.Errorf("addr_from %v:%d", v.AddrMe.IP, v.AddrMe.Port)
	case v.UserAgent != "/pynode:0.0.1/":
		t.Errorf("user agent %q", v.UserAgent)
	case v.LastBlock != 0:
		t.Errorf("start height %d", v.LastBlock)
	case !v.DisableRelayTx:
		t.Errorf("relay = true")
	}
	out = out[:0]
	m.Step(recv(version(70016, wire.SFNodeWitness, 3)), &out)
	if got := sent(out); got != "verack" {
		t.Fatalf("answer to their version: %q, want only verack", got)
	}
}
