package wireio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"
)

// addrV2Entry is one raw addrv2 entry: time, services (NODE_NETWORK),
// network id, address length, address, port 8333.
func addrV2Entry(netID byte, addr []byte) []byte {
	e := []byte{0, 0, 0, 0x60, 1, netID}
	var l bytes.Buffer
	wire.WriteVarInt(&l, 0, uint64(len(addr)))
	e = append(e, l.Bytes()...)
	e = append(e, addr...)
	return binary.BigEndian.AppendUint16(e, 8333)
}

// addrV2Payload is a count and the entries.
func addrV2Payload(entries ...[]byte) []byte {
	var b bytes.Buffer
	wire.WriteVarInt(&b, 0, uint64(len(entries)))
	for _, e := range entries {
		b.Write(e)
	}
	return b.Bytes()
}

// Core's p2p_invalid_messages.py (test_addrv2_unrecognized_network,
// test_addrv2_too_long_address): an addrv2 entry with an unknown network
// id, or with an address over 512 bytes, is dropped and the message's
// other entries kept. btcd's decoder skips the first itself; the reader
// trims the second before btcd (which would refuse the whole message)
// sees it.
func TestAddrV2DropsBadEntries(t *testing.T) {
	good := func(i int) []byte { return addrV2Entry(1, []byte{1, 2, 3, byte(i)}) }
	unknown := addrV2Entry(0x42, []byte{9, 9, 9, 9})
	long := addrV2Entry(2, make([]byte, 513))           // an IPv6 id with 513 bytes
	longUnknown := addrV2Entry(0x42, make([]byte, 600)) // unknown and over-long
	exact := addrV2Entry(0x42, make([]byte, 512))       // unknown, at the limit: btcd skips it
	many := [][]byte{long}
	for i := range 253 {
		many = append(many, good(i))
	}
	cases := []struct {
		name    string
		payload []byte
		want    []string
	}{
		{"unknown network", addrV2Payload(good(1), unknown, good(2)), []string{"1.2.3.1", "1.2.3.2"}},
		{"over-long address", addrV2Payload(good(1), long, good(2)), []string{"1.2.3.1", "1.2.3.2"}},
		{"over-long first and last", addrV2Payload(long, good(1), longUnknown), []string{"1.2.3.1"}},
		{"only over-long", addrV2Payload(long, long), nil},
		{"unknown at 512 bytes", addrV2Payload(exact, good(3)), []string{"1.2.3.3"}},
		{"count shrinks to one byte", addrV2Payload(many...), nil}, // 253 kept, checked below
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(frame("addrv2", tc.payload)), testNet)
			msg, err := r.Next()
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			m, ok := msg.(*wire.MsgAddrV2)
			if !ok {
				t.Fatalf("got %T", msg)
			}
			if tc.name == "count shrinks to one byte" {
				if len(m.AddrList) != 253 || m.AddrList[252].Addr.String() != "1.2.3.252" {
					t.Fatalf("got %d entries", len(m.AddrList))
				}
				return
			}
			var got []string
			for _, na := range m.AddrList {
				got = append(got, na.Addr.String())
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("entries %v, want %v", got, tc.want)
			}
		})
	}
}

// A payload trimAddrV2 cannot walk is left whole, for the decoder to call
// malformed.
func TestTrimAddrV2LeavesBrokenPayloads(t *testing.T) {
	long := addrV2Entry(2, make([]byte, 513))
	for _, p := range [][]byte{
		{},
		{2},
		addrV2Payload(long)[:100],
		append(addrV2Payload(long, long)[:len(addrV2Payload(long))], 0xfd),
	} {
		if n := trimAddrV2(bytes.Clone(p)); n != len(p) {
			t.Errorf("trimAddrV2(% x...) = %d, want %d", p[:min(len(p), 8)], n, len(p))
		}
	}
}

// trimAddrV2 never grows the payload, trims nothing more the second time
// (no entry over 512 bytes is left), and trims nothing from a payload
// btcd decodes (an over-long entry always fails btcd's decoder).
func FuzzTrimAddrV2(f *testing.F) {
	long := addrV2Entry(2, make([]byte, 513))
	good := addrV2Entry(1, []byte{1, 2, 3, 4})
	f.Add(addrV2Payload(good, long, good))
	f.Add(addrV2Payload(long))
	f.Add(addrV2Payload(good, addrV2Entry(0x42, []byte{1}), long))
	f.Fuzz(func(t *testing.T, p []byte) {
		q := bytes.Clone(p)
		n := trimAddrV2(q)
		if n > len(p) {
			t.Fatalf("trimmed %d bytes to %d", len(p), n)
		}
		if again := trimAddrV2(bytes.Clone(q[:n])); again != n {
			t.Fatalf("a second trim took %d bytes to %d", n, again)
		}
		var m wire.MsgAddrV2
		if m.BtcDecode(bytes.NewReader(p), wire.ProtocolVersion, wire.BaseEncoding) == nil && n != len(p) {
			t.Fatalf("trimmed a payload btcd decodes, %d bytes to %d", len(p), n)
		}
	})
}
