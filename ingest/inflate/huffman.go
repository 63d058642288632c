package inflate

import (
	"errors"
	"math/bits"
	"sync"
)

// A decoding table maps the next tableBits bits of the stream (least
// significant bit first, as DEFLATE packs them) to an entry that says what
// the code there means and how many bits it takes. Codes longer than
// tableBits continue in a subtable that the entry points to.
//
// An entry is a uint32:
//
//	bits 0–4    bits to consume: the codeword, plus the extra bits of a
//	            length or distance (a subtable pointer: the table's bits;
//	            a pair of literals: both codewords)
//	bit  5      a pair of literals (see pairLiterals)
//	bits 8–11   bits of the codeword alone (a subtable pointer: the
//	            subtable's bits; a pair: the first codeword's)
//	bits 12–15  kind: literal, end of block, subtable, or invalid; none
//	            for a length or a distance
//	bits 16–31  the value: a literal byte (a pair: the first in bits
//	            16–23, the second in bits 24–31), the base of a length or
//	            a distance, or the index of a subtable
const (
	kindPair     = 1 << 5
	kindLiteral  = 1 << 12
	kindEnd      = 1 << 13
	kindSubtable = 1 << 14
	kindInvalid  = 1 << 15
	kindMask     = kindLiteral | kindEnd | kindSubtable | kindInvalid
)

const (
	litlenBits  = 11 // bits of the first level of a literal/length table
	distBits    = 8  // bits of the first level of a distance table
	precodeBits = 7  // code-length codes are at most 7 bits: one level

	// Worst-case sizes of the two-level tables for every complete code
	// of at most 15 bits over the alphabet (computed as zlib's enough.c
	// does): 288 literal/length symbols with 11 first-level bits, and 32
	// distance symbols with 8.
	litlenTableSize = 2342
	distTableSize   = 402

	maxCodeLen = 15
)

var errCode = errors.New("invalid Huffman code")

// Bases and extra bits of the length symbols 257–285 and the distance
// symbols 0–29 (RFC 1951, section 3.2.5).
var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// litlenEntry is the entry of literal/length symbol sym whose codeword
// takes n bits at its level of the table.
func litlenEntry(sym int, n uint32) uint32 {
	switch {
	case sym < 256:
		return kindLiteral | uint32(sym)<<16 | n<<8 | n
	case sym == 256:
		return kindEnd | n<<8 | n
	case sym <= 285:
		i := sym - 257
		return uint32(lengthBase[i])<<16 | n<<8 | (n + uint32(lengthExtra[i]))
	}
	return kindInvalid // 286 and 287 belong to the fixed code but never occur
}

// distEntry is the entry of distance symbol sym.
func distEntry(sym int, n uint32) uint32 {
	if sym < 30 {
		return uint32(distBase[sym])<<16 | n<<8 | (n + uint32(distExtra[sym]))
	}
	return kindInvalid // 30 and 31 belong to the fixed code but never occur
}

// precodeEntry is the entry of code-length symbol sym.
func precodeEntry(sym int, n uint32) uint32 {
	return uint32(sym)<<16 | n<<8 | n
}

// buildTable fills table with the decoding table of the canonical Huffman
// code whose codeword lengths are lengths, and returns the part used.
//
// As Go's compress/flate and zlib do, it takes complete codes, a code of
// one codeword of one bit (its other half decodes as invalid), and an
// empty code (every entry invalid, so the first use fails). Over-subscribed
// and other incomplete codes are errors.
func buildTable(table []uint32, lengths []uint8, bits uint, entry func(sym int, n uint32) uint32) ([]uint32, error) {
	var count [maxCodeLen + 1]int
	maxLen := 0
	for _, n := range lengths {
		count[n]++
		maxLen = max(maxLen, int(n))
	}
	count[0] = 0
	var next [maxCodeLen + 1]int
	code := 0
	for n := 1; n <= maxCodeLen; n++ {
		code = (code + count[n-1]) << 1
		next[n] = code
	}
	// Kraft sum, in units of the longest codeword.
	left := 1
	for n := 1; n <= maxCodeLen; n++ {
		left = left<<1 - count[n]
		if left < 0 {
			return nil, errCode // over-subscribed
		}
	}
	root := 1 << bits
	table = table[:root]
	if left > 0 {
		codes := 0
		for _, c := range count {
			codes += c
		}
		if codes > 1 || (codes == 1 && count[1] != 1) {
			return nil, errCode // incomplete
		}
		for i := range table {
			table[i] = kindInvalid
		}
		if codes == 0 {
			return table, nil
		}
	}

	// The symbols by codeword length, in symbol order within a length:
	// the order of their canonical codewords.
	var sorted [288]uint16
	var end [maxCodeLen + 1]int
	for n := 1; n <= maxCodeLen; n++ {
		end[n] = end[n-1] + count[n]
	}
	pos := end
	for sym := len(lengths) - 1; sym >= 0; sym-- {
		if n := lengths[sym]; n > 0 {
			pos[n]--
			sorted[pos[n]] = uint16(sym)
		}
	}

	// First level: the entries of the codewords of n bits go into the
	// first 1<<n entries, which are doubled before the next length, so
	// that a codeword fills every entry whose low n bits are its bits
	// reversed. Entries no codeword fills hold a subtable pointer when
	// done, or stay invalid (an incomplete code).
	for n := 1; n <= int(bits); n++ {
		if n > 1 {
			copy(table[1<<(n-1):1<<n], table[:1<<(n-1)])
		}
		for _, sym := range sorted[end[n-1]:end[n]] {
			table[reverse(uint32(next[n]), uint(n))] = entry(int(sym), uint32(n))
			next[n]++
		}
	}
	if maxLen <= int(bits) {
		return table, nil
	}

	// Codewords longer than the first level share a subtable per first
	// bits bits; a subtable is as large as its longest codeword needs.
	var subBits [1 << litlenBits]uint8
	long := sorted[end[bits]:end[maxCodeLen]]
	c := next
	for _, sym := range long {
		n := lengths[sym]
		prefix := reverse(uint32(c[n]), uint(n)) & uint32(root-1)
		c[n]++
		subBits[prefix] = max(subBits[prefix], n-uint8(bits))
	}
	for prefix := range root {
		if sb := subBits[prefix]; sb > 0 {
			if len(table)+1<<sb > cap(table) {
				return nil, errCode
			}
			table[prefix] = kindSubtable | uint32(len(table))<<16 | uint32(sb)<<8 | uint32(bits)
			table = table[:len(table)+1<<sb]
		}
	}
	for _, sym := range long {
		n := lengths[sym]
		rev := reverse(uint32(next[n]), uint(n))
		next[n]++
		ptr := table[rev&uint32(root-1)]
		start, sb := int(ptr>>16), uint((ptr>>8)&0xf)
		rest := uint(n) - bits
		e := entry(int(sym), uint32(rest))
		for i := int(rev >> bits); i < 1<<sb; i += 1 << rest {
			table[start+i] = e
		}
	}
	return table, nil
}

// pairLiterals makes each first-level entry of a literal/length table
// whose literal leaves room in the entry's bits for a second whole
// literal codeword decode both: a pair. Log text compresses to mostly
// literals of 5 to 9 bits, and each lookup waits on the bits the one
// before consumed, so decoding two literals per lookup shortens that
// chain. The second codeword starts at the first's end: its entry is the
// one at the index shifted by the first's bits, whose upper bits are
// then zero, and it is right when its codeword takes no more bits than
// are left. Entries are paired from the last down, so that the entry
// read for the second literal, at a lower index, is still a single one.
func pairLiterals(table []uint32) {
	for i := len(table) - 1; i >= 0; i-- {
		e := table[i]
		n1 := e & 31
		if e&kindLiteral == 0 || n1 >= litlenBits {
			continue
		}
		e2 := table[i>>n1]
		n2 := e2 & 31
		if e2&kindLiteral == 0 || n1+n2 > litlenBits {
			continue
		}
		table[i] = kindLiteral | kindPair | (e2>>16&0xff)<<24 | (e>>16&0xff)<<16 | n1<<8 | (n1 + n2)
	}
}

// single returns the entry of the first literal of a pair, or e itself
// when it is not a pair.
func single(e uint32) uint32 {
	if e&kindPair == 0 {
		return e
	}
	n := e >> 8 & 15
	return kindLiteral | (e>>16&0xff)<<16 | n<<8 | n
}

// reverse returns the n low bits of v in reverse order.
func reverse(v uint32, n uint) uint32 {
	return bits.Reverse32(v) >> (32 - n)
}

// The tables of the fixed code (RFC 1951, section 3.2.6), built on first
// use.
var (
	fixedOnce sync.Once
	fixedLit  [litlenTableSize]uint32
	fixedDist [distTableSize]uint32
)

func buildFixed() {
	var lengths [288 + 32]uint8
	for i := range 288 {
		switch {
		case i < 144:
			lengths[i] = 8
		case i < 256:
			lengths[i] = 9
		case i < 280:
			lengths[i] = 7
		default:
			lengths[i] = 8
		}
	}
	for i := 288; i < len(lengths); i++ {
		lengths[i] = 5
	}
	if _, err := buildTable(fixedLit[:], lengths[:288], litlenBits, litlenEntry); err != nil {
		panic(err)
	}
	pairLiterals(fixedLit[:1<<litlenBits])
	if _, err := buildTable(fixedDist[:], lengths[288:], distBits, distEntry); err != nil {
		panic(err)
	}
}
