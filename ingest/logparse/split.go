package logparse

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
	"unicode/utf8"
)

// SWAR constants: one byte value repeated in every byte of a word.
const (
	ones = 0x0101010101010101
	lo7  = 0x7f7f7f7f7f7f7f7f
	hi1  = 0x8080808080808080
)

// zeroBytes sets the high bit of each byte of x that is zero, and no
// other bit. Unlike the shorter (x-ones)&^x test it has no borrow between
// bytes, so every flag is exact.
func zeroBytes(x uint64) uint64 {
	return ^((x & lo7) + lo7 | x | lo7)
}

// oddBytes sets the high bit of each byte of x that is zero or not ASCII.
// A zero byte borrows from the bytes above it and may flag them too; that
// only adds flags to a word that has one already, so the test "no flag"
// is exact, which is all splitLine asks of it.
func oddBytes(x uint64) uint64 {
	return x | (x - ones)
}

// splitLineSWAR appends to pos the offset of each delim byte in line,
// eight bytes at a time, and tells whether line is valid UTF-8 without
// NUL bytes. It replaces one bytes.IndexByte call per field, whose fixed
// cost dominates on fields of a few bytes, and the separate NUL and UTF-8
// passes: a line of ASCII without NUL (nearly every line) is checked by
// oddBytes alone, and only a line with a flagged byte is searched for NUL
// and passed to utf8.Valid. It is splitLine where the processor has no
// vector version (split_amd64.go).
//
// Four words per iteration, and room for a delimiter at every byte made
// before the loop, keep the loop free of append's capacity checks and
// calls; the bytes after the last full word are read as the line's last
// eight bytes, with the flags of the bytes already seen cleared.
func splitLineSWAR(line []byte, delim byte, pos []int) ([]int, bool) {
	pat := ones * uint64(delim)
	n := len(pos)
	out := slices.Grow(pos, len(line))
	out = out[:cap(out)]
	var odd uint64
	i := 0
	for ; i+32 <= len(line); i += 32 {
		w := line[i : i+32]
		v0 := binary.LittleEndian.Uint64(w)
		v1 := binary.LittleEndian.Uint64(w[8:])
		v2 := binary.LittleEndian.Uint64(w[16:])
		v3 := binary.LittleEndian.Uint64(w[24:])
		odd |= oddBytes(v0) | oddBytes(v1) | oddBytes(v2) | oddBytes(v3)
		n = putOffsets(out, n, i, zeroBytes(v0^pat))
		n = putOffsets(out, n, i+8, zeroBytes(v1^pat))
		n = putOffsets(out, n, i+16, zeroBytes(v2^pat))
		n = putOffsets(out, n, i+24, zeroBytes(v3^pat))
	}
	n, tail := splitTail(line, i, pat, out, n)
	return checked(line, out[:n], odd|tail)
}

// splitTail stores the offsets of the delimiters of line[i:], fewer than
// 32 bytes after whole blocks, at out[n:] and returns the new count and
// the oddBytes flags of those bytes.
func splitTail(line []byte, i int, pat uint64, out []int, n int) (int, uint64) {
	var odd uint64
	for ; i+8 <= len(line); i += 8 {
		v := binary.LittleEndian.Uint64(line[i:])
		odd |= oddBytes(v)
		n = putOffsets(out, n, i, zeroBytes(v^pat))
	}
	switch {
	case i == len(line):
	case len(line) >= 8:
		j := len(line) - 8
		v := binary.LittleEndian.Uint64(line[j:])
		odd |= oddBytes(v)
		seen := uint64(1)<<(8*(i-j)) - 1
		n = putOffsets(out, n, j, zeroBytes(v^pat)&^seen)
	default: // a line shorter than a word
		delim := byte(pat)
		for ; i < len(line); i++ {
			c := line[i]
			if c == 0 || c >= utf8.RuneSelf {
				odd = hi1
			}
			if c == delim {
				out[n] = i
				n++
			}
		}
	}
	return n, odd
}

// checked returns pos and whether line is valid UTF-8 without NUL bytes,
// given the oddBytes flags of all its words: only a line with a flag is
// searched.
func checked(line []byte, pos []int, odd uint64) ([]int, bool) {
	if odd&hi1 != 0 {
		return pos, bytes.IndexByte(line, 0) < 0 && utf8.Valid(line)
	}
	return pos, true
}

// putOffsets stores at out[n:] the offset of each byte flagged in m, a
// word of line read at offset base, and returns the new count.
func putOffsets(out []int, n, base int, m uint64) int {
	for ; m != 0; m &= m - 1 {
		out[n] = base + bits.TrailingZeros64(m)>>3
		n++
	}
	return n
}
