package telnet

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// decode feeds chunks to a lineReader and returns its lines, with "!" for
// a line that was too long.
func decode(max int, chunks ...string) []string {
	r := newLineReader(max)
	var out []string
	for _, c := range chunks {
		r.feed([]byte(c), func(l []byte, tooLong bool) bool {
			if tooLong {
				out = append(out, "!")
			} else {
				out = append(out, string(l))
			}
			return true
		})
	}
	return out
}

func TestLineReader(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"a\r\nb\nc\rd\r\x00e\r\n", []string{"a", "b", "c", "d", "e"}},
		{"\r\n\n\r\r\n", []string{"", "", "", ""}},
		{"a\r\r\nb\n\r\n", []string{"a", "", "b", ""}},
		{"no end", nil},
		{"x\xff\xff\r\n", []string{"x\xff"}},
		{"\xff\xfd\x01\xff\xfb\x03\xff\xfc\x18\xff\xfe\x1fok\n", []string{"ok"}},
		{"\xff\xfa\x18\x00xterm\r\n\xff\xff\xff\xf0ok\n", []string{"ok"}},
		{"\xff\xfa\x1f\xff\xf1\x00\xff\xf0ok\n", []string{"ok"}},
		{"o\xff\xf1\xff\xf6\xff\xf5\xff\xf0k\n", []string{"ok"}},
		{"typo\xff\xf4ok\n", []string{"ok"}},     // IP drops the line so far
		{"typo\xff\xf8ok\n", []string{"ok"}},     // so does EL
		{"okk\xff\xf7\n", []string{"ok"}},        // EC drops a byte
		{"\xff\xf7\xff\xf7ok\n", []string{"ok"}}, // of nothing: nothing
		{"ab\r\xff\xf1\ncd\n", []string{"ab", "cd"}},
		{"12345678\n123456789\nshort\n", []string{"12345678", "!", "short"}},
		{strings.Repeat("z", 100000) + "\r\nafter\r\n", []string{"!", "after"}},
		{"\xc3\x28\x00\x07\n", []string{"\xc3\x28\x00\x07"}},
	} {
		want := tc.want
		if got := decode(8, tc.in); !slices.Equal(got, want) {
			t.Errorf("%q: %q, want %q", tc.in, got, want)
		}
		// Every split into two chunks decodes the same.
		for i := 1; i < len(tc.in) && i < 64; i++ {
			if got := decode(8, tc.in[:i], tc.in[i:]); !slices.Equal(got, want) {
				t.Errorf("%q split at %d: %q, want %q", tc.in, i, got, want)
			}
		}
		// So does one byte at a time.
		if len(tc.in) < 200 {
			if got := decode(8, strings.Split(tc.in, "")...); !slices.Equal(got, want) {
				t.Errorf("%q byte by byte: %q, want %q", tc.in, got, want)
			}
		}
	}
}

func TestLineReaderBounded(t *testing.T) {
	r := newLineReader(16)
	junk := []byte(strings.Repeat("q", 1<<20))
	r.feed(junk, func([]byte, bool) bool { t.Fatal("a line without an end"); return true })
	if cap(r.line) != 16 {
		t.Fatalf("buffer grew to %d bytes", cap(r.line))
	}
}

func TestLineReaderStops(t *testing.T) {
	r := newLineReader(16)
	var got []string
	ok := r.feed([]byte("a\nb\nc\n"), func(l []byte, _ bool) bool {
		got = append(got, string(l))
		return len(got) < 2
	})
	if ok || fmt.Sprint(got) != "[a b]" {
		t.Fatalf("feed = %v, lines %q; want it to stop after b", ok, got)
	}
}
