package logparse

import (
	"encoding/binary"
	"math/bits"
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

// splitLine appends to pos the offset of each delim byte in line, eight
// bytes at a time, and tells whether line is valid UTF-8 without NUL
// bytes. It replaces one bytes.IndexByte call per field, whose fixed cost
// dominates on fields of a few bytes, and the separate NUL and UTF-8
// passes (utf8.Valid runs only when a byte is not ASCII).
func splitLine(line []byte, delim byte, pos []int) ([]int, bool) {
	pat := ones * uint64(delim)
	var high, nul uint64
	i := 0
	for ; i+8 <= len(line); i += 8 {
		v := binary.LittleEndian.Uint64(line[i:])
		high |= v
		nul |= zeroBytes(v)
		for m := zeroBytes(v ^ pat); m != 0; m &= m - 1 {
			pos = append(pos, i+bits.TrailingZeros64(m)>>3)
		}
	}
	for ; i < len(line); i++ {
		c := line[i]
		high |= uint64(c)
		if c == 0 {
			nul = 1
		}
		if c == delim {
			pos = append(pos, i)
		}
	}
	if nul != 0 {
		return pos, false
	}
	if high&hi1 != 0 && !utf8.Valid(line) {
		return pos, false
	}
	return pos, true
}
