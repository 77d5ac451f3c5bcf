package wireio

import (
	"bytes"
	"errors"
	"testing"
)

// TestTxCountsDoNotAllocateWhatThePayloadClaims is a regression test: a
// tx of a few bytes whose input, output or witness-item count was huge made
// btcd's decoder allocate 85-150 MB before failing.
func TestTxCountsDoNotAllocateWhatThePayloadClaims(t *testing.T) {
	NewReader(bytes.NewReader(encode(t, sampleWitnessTx())), testNet).Next() // warm btcd's script pool
	in, out := make([]byte, 41), make([]byte, 9)
	cat := func(p ...[]byte) []byte { return bytes.Join(p, nil) }
	cases := []struct {
		name    string
		payload []byte
	}{
		{"txin count", cat([]byte{1, 0, 0, 0}, []byte{0xfe, 0xe1, 0x7c, 0x0c, 0x00})},
		{"txout count", cat([]byte{1, 0, 0, 0, 1}, in, []byte{0xfe, 0x8f, 0xe3, 0x38, 0x00})},
		{"witness item count", cat([]byte{1, 0, 0, 0, 0, 1, 1}, in, []byte{1}, out, []byte{0xfe, 0x00, 0x09, 0x3d, 0x00})},
		{"script length", cat([]byte{1, 0, 0, 0, 1}, make([]byte, 36), []byte{0xfe, 0x00, 0x09, 0x3d, 0x00})},
		{"found by fuzzing", []byte("0000\xfd00")},
		{"addrv2 count", []byte{0xfd, 0xe8, 0x03}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := "tx"
			if tc.name == "addrv2 count" {
				cmd = "addrv2"
			}
			r := NewReader(bytes.NewReader(frame(cmd, tc.payload)), testNet)
			var err error
			alloc := allocated(func() { _, err = r.Next() })
			var se *SoftError
			if !errors.As(err, &se) {
				t.Fatalf("error %v, want *SoftError", err)
			}
			if alloc >= 64<<10 {
				t.Errorf("%d-byte payload: allocated %d bytes, want < 64 KiB", len(tc.payload), alloc)
			}
		})
	}
}
