package logparse

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// splitRef is splitLine done the plain way: one bytes.IndexByte per field.
func splitRef(line []byte, delim byte) ([]int, bool) {
	var pos []int
	for i, off := 0, 0; ; {
		j := bytes.IndexByte(line[off:], delim)
		if j < 0 {
			break
		}
		i = off + j
		pos = append(pos, i)
		off = i + 1
	}
	return pos, bytes.IndexByte(line, 0) < 0 && utf8.Valid(line)
}

// splitters are the implementations of splitLine built on this platform:
// the one it uses, and splitLineSWAR, which others use.
var splitters = []struct {
	name  string
	split func([]byte, byte, []int) ([]int, bool)
}{{"splitLine", splitLine}, {"splitLineSWAR", splitLineSWAR}}

func TestSplitLine(t *testing.T) {
	long := strings.Repeat("ab\tcdefghij\t", 40)
	// Longer than splitLine masks at once (2 KiB), with a field
	// across that edge.
	longer := strings.Repeat("Mozilla/5.0%20(X11)\t-\t", 200)
	for _, tc := range []struct {
		name  string
		line  string
		delim byte
	}{
		{"empty", "", '\t'},
		{"one field", "abc", '\t'},
		{"only delimiters", "\t\t\t\t\t\t\t\t\t\t\t", '\t'},
		{"trailing delimiter", "a\tb\tc\t", '\t'},
		{"delimiter in every byte of a word", "01234567\t01234567\t\t", '\t'},
		{"byte after a delimiter one above it", "a\t\nb\t\nc\t\n\t\n", '\t'},
		{"space delimiter before a bang", "a !b !c !d ! !", ' '},
		{"backspace next to tab", "a\t\bb\b\tc", '\t'},
		{"NUL in the first word", "ab\x00cd\tef\tgh", '\t'},
		{"NUL in the tail", "abcdefgh\tijk\x00", '\t'},
		{"NUL next to a tab", "abcdefg\t\x00\tx", '\t'},
		{"valid UTF-8", "caf\u00e9\t\u65e5\u672c\t\U0001F600\tz", '\t'},
		{"invalid UTF-8 in a word", "abc\xffdefgh\tij", '\t'},
		{"invalid UTF-8 in the tail", "abcdefgh\tij\xc3", '\t'},
		{"truncated rune across words", "abcdef\xe6\x97\tx", '\t'},
		{"long line", long, '\t'},
		{"long line with NUL at the end", long + "\x00", '\t'},
		{"line over 2 KiB", longer, '\t'},
		{"line over 2 KiB, NUL past the first 2 KiB", longer[:2100] + "\x00" + longer[2101:], '\t'},
		{"line over 2 KiB, invalid UTF-8 in the last block", longer[:len(longer)-40] + "\xff" + longer[len(longer)-39:], '\t'},
		{"line over 2 KiB, valid UTF-8 across blocks", longer[:2046] + "\u65e5\u672c" + longer[2046:], '\t'},
		{"non-ASCII in the first block only", "\u00e9" + long, '\t'},
		{"delimiters in every byte of two blocks", strings.Repeat("\t", 64), '\t'},
	} {
		for _, sp := range splitters {
			t.Run(tc.name+"/"+sp.name, func(t *testing.T) {
				wantPos, wantOK := splitRef([]byte(tc.line), tc.delim)
				gotPos, gotOK := sp.split([]byte(tc.line), tc.delim, nil)
				if gotOK != wantOK {
					t.Errorf("ok = %v, want %v", gotOK, wantOK)
				}
				if diff := cmp.Diff(wantPos, gotPos, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("delimiter offsets (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// FuzzSplitLine checks splitLine and splitLineSWAR against the plain
// split on any bytes.
func FuzzSplitLine(f *testing.F) {
	f.Add([]byte(hdr33[len(hdr33)-40:]), byte('\t'))
	f.Add([]byte(line33(nil)), byte('\t'))
	f.Add([]byte("a !b\x00 c"), byte(' '))
	f.Add([]byte("caf\xc3\xa9\t\xff"), byte('\t'))
	f.Fuzz(func(t *testing.T, line []byte, delim byte) {
		wantPos, wantOK := splitRef(line, delim)
		for _, sp := range splitters {
			gotPos, gotOK := sp.split(line, delim, make([]int, 0, 3))
			if gotOK != wantOK {
				t.Fatalf("%s: ok = %v, want %v", sp.name, gotOK, wantOK)
			}
			if diff := cmp.Diff(wantPos, gotPos, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("%s: delimiter offsets (-want +got):\n%s", sp.name, diff)
			}
		}
	})
}
