package rpcserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/peerd/peerd/internal/rpcserver/coreerr"
)

func TestAmountJSON(t *testing.T) {
	for _, c := range []struct {
		a    Amount
		want string
	}{
		{0, "0.00000000"},
		{1, "0.00000001"},
		{1000, "0.00001000"},
		{100_000_000, "1.00000000"},
		{2_100_000_000_000_000, "21000000.00000000"},
		{-1000, "-0.00001000"},
		{math.MinInt64, "-92233720368.54775808"},
	} {
		b, err := json.Marshal(c.a)
		if err != nil || string(b) != c.want {
			t.Errorf("Marshal(%d) = %s, %v; want %s", int64(c.a), b, err, c.want)
		}
		if c.a == math.MinInt64 {
			continue
		}
		var back Amount
		if err := json.Unmarshal(b, &back); err != nil || back != c.a {
			t.Errorf("Unmarshal(%s) = %d, %v", b, back, err)
		}
	}
	var a Amount
	if err := json.Unmarshal([]byte(`"0.1"`), &a); err != nil || a != 10_000_000 {
		t.Errorf(`Unmarshal("0.1") = %d, %v`, a, err)
	}
	for _, bad := range []string{`"x"`, `true`, `1e300`} {
		if err := json.Unmarshal([]byte(bad), &a); err == nil {
			t.Errorf("Unmarshal(%s): no error", bad)
		}
	}
}

func TestServiceFlags(t *testing.T) {
	for _, c := range []struct {
		flags uint64
		hex   string
		names string
	}{
		{0, "0000000000000000", ""},
		{0x409, "0000000000000409", "NETWORK WITNESS NETWORK_LIMITED"},
		{1<<0 | 1<<1 | 1<<2 | 1<<3 | 1<<6 | 1<<10 | 1<<11 | 1<<24 | 1<<63, "8000000001000c4f",
			"NETWORK UNKNOWN[2^1] BLOOM WITNESS COMPACT_FILTERS NETWORK_LIMITED P2P_V2 UNKNOWN[2^24] UNKNOWN[2^63]"},
	} {
		hex, names := ServiceFlags(c.flags)
		if hex != c.hex || strings.Join(names, " ") != c.names || names == nil {
			t.Errorf("ServiceFlags(%#x) = %s %q, want %s %q", c.flags, hex, names, c.hex, c.names)
		}
	}
}

func TestUnixSeconds(t *testing.T) {
	if got := UnixSeconds(time.Time{}); got != 0 {
		t.Errorf("zero time: %v", got)
	}
	tm := time.Unix(1700000000, 123_456_789)
	if got := UnixSeconds(tm); got != 1700000000.123 {
		t.Errorf("UnixSeconds = %v", got)
	}
	b, _ := json.Marshal(Transition{Time: UnixSeconds(tm)})
	if !strings.Contains(string(b), `"time":1700000000.123`) {
		t.Errorf("transition JSON %s", b)
	}
}

func TestErrorValue(t *testing.T) {
	err := fmt.Errorf("adding: %w", coreerr.NotInMempool())
	if got := asRPCError(err); got.Code != CodeInvalidAddressOrKey || got.Message != "Transaction not in mempool" {
		t.Errorf("asRPCError of a wrapped *Error = %+v", got)
	}
	if got := asRPCError(errors.New("disk full")); got.Code != CodeMisc || got.Message != "disk full" {
		t.Errorf("asRPCError of a plain error = %+v", got)
	}
	if e := NewError(CodeInvalidParameter, "bad %s", "x"); e.Message != "bad x" {
		t.Errorf("NewError = %+v", e)
	}
}

func TestExampleURL(t *testing.T) {
	for _, c := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 48332}, "http://127.0.0.1:48332/"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8332}, "http://127.0.0.1:8332/"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8332}, "http://[::1]:8332/"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 18443}, "http://[::1]:18443/"},
	} {
		if got := exampleURL(c.addr); got != c.want {
			t.Errorf("exampleURL(%v) = %s, want %s", c.addr, got, c.want)
		}
	}
}
