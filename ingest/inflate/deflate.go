package inflate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrCorrupt is wrapped by the errors of data that is not valid DEFLATE.
var ErrCorrupt = errors.New("corrupt deflate data")

const (
	windowSize = 32 << 10  // the farthest a match reaches back
	outChunk   = 256 << 10 // decoded between two hand-overs to the reader
	outSize    = windowSize + outChunk
	// outSlack is the room the fast loop keeps at the end of the output
	// buffer: the longest match, written 8 bytes at a time, or three
	// pairs of literals.
	outSlack = 258 + 16
	inSize   = 64 << 10
	// inKeep bytes before the read position survive compaction of the
	// input buffer: the bit buffer may hold that many bytes read ahead,
	// which are handed back when the stream switches to whole bytes.
	inKeep = 8
)

type blockState uint8

const (
	stateHeader  blockState = iota // next: a block header
	stateStored                    // inside a stored block
	stateHuffman                   // inside a Huffman-coded block
	stateEnd                       // the final block has ended
)

// decoder inflates one DEFLATE stream (RFC 1951) from src into out.
//
// Bits are read least significant first into bitbuf, which holds nbits
// valid bits. The fast loop loads 8 bytes at a time and may leave the low
// bits of the next byte above nbits; they equal the bytes at inPos, so
// loading those bytes again changes nothing.
type decoder struct {
	src    io.Reader
	srcErr error // the error that ended src; io.EOF at its end
	in     []byte
	inPos  int
	inEnd  int
	inBase int64 // stream offset of in[0], for error messages

	bitbuf uint64
	nbits  uint

	out    []byte
	outPos int // end of the decoded bytes; the window is out[:outPos]
	r      int // start of the decoded bytes not yet read
	err    error
	next   func() error // at the end of the stream: io.EOF, or a next stream

	state  blockState
	final  bool // the block being decoded is the last one
	stored int  // bytes left in a stored block

	lit     *[litlenTableSize]uint32 // tables of the current block
	dist    *[distTableSize]uint32
	litArr  [litlenTableSize]uint32
	distArr [distTableSize]uint32
	precode [1 << precodeBits]uint32
	lengths [286 + 30]uint8
}

func (d *decoder) init(src io.Reader, next func() error) {
	d.src, d.next = src, next
	if d.in == nil {
		d.in = make([]byte, inSize)
		d.out = make([]byte, outSize)
	}
	d.srcErr, d.err = nil, nil
	d.inPos, d.inEnd, d.inBase = 0, 0, 0
	d.resetStream()
}

// resetStream prepares for a new DEFLATE stream that starts at the next
// byte of the input.
func (d *decoder) resetStream() {
	d.bitbuf, d.nbits = 0, 0
	d.outPos, d.r = 0, 0
	d.state = stateHeader
	d.final = false
}

func (d *decoder) corrupt(what string) error {
	return fmt.Errorf("%w: %s near input byte %d", ErrCorrupt, what, d.inBase+int64(d.inPos))
}

// fill compacts the input buffer and reads more of src into it. It
// reports whether the buffer holds more bytes than before.
func (d *decoder) fill() bool {
	if d.srcErr != nil {
		return false
	}
	if keep := d.inPos - inKeep; keep > 0 {
		copy(d.in, d.in[keep:d.inEnd])
		d.inPos -= keep
		d.inEnd -= keep
		d.inBase += int64(keep)
	}
	for range 100 {
		n, err := d.src.Read(d.in[d.inEnd:])
		d.inEnd += n
		if err != nil {
			d.srcErr = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	d.srcErr = io.ErrNoProgress
	return false
}

// endErr is the error of input that ended too soon.
func (d *decoder) endErr() error {
	if d.srcErr == io.EOF || d.srcErr == nil {
		return io.ErrUnexpectedEOF
	}
	return d.srcErr
}

// need loads bytes one at a time until nbits ≥ n.
func (d *decoder) need(n uint) error {
	for d.nbits < n {
		if d.inPos == d.inEnd && !d.fill() {
			return d.endErr()
		}
		d.bitbuf |= uint64(d.in[d.inPos]) << d.nbits
		d.inPos++
		d.nbits += 8
	}
	return nil
}

// bits reads an n-bit number.
func (d *decoder) bits(n uint) (uint32, error) {
	if err := d.need(n); err != nil {
		return 0, err
	}
	v := uint32(d.bitbuf & (1<<n - 1))
	d.bitbuf >>= n
	d.nbits -= n
	return v, nil
}

// toBytes drops the bits up to the next byte boundary and hands the whole
// bytes still in the bit buffer back to the input.
func (d *decoder) toBytes() {
	d.inPos -= int(d.nbits / 8)
	d.bitbuf, d.nbits = 0, 0
}

// readByte reads one byte of input; the bit buffer must be empty.
func (d *decoder) readByte() (byte, error) {
	if d.inPos == d.inEnd && !d.fill() {
		return 0, d.endErr()
	}
	b := d.in[d.inPos]
	d.inPos++
	return b, nil
}

// atEOF reports whether the input has no byte left.
func (d *decoder) atEOF() bool {
	return d.inPos == d.inEnd && !d.fill()
}

// read copies decoded bytes into p, decoding more when all were read.
// At the end of the stream it calls next; an error from it (io.EOF at the
// very end) or from decoding is returned once the bytes before it are.
func (d *decoder) read(p []byte) (int, error) {
	for d.r == d.outPos {
		if d.err != nil {
			return 0, d.err
		}
		if d.state == stateEnd {
			d.err = d.next()
			continue
		}
		if d.outPos > windowSize {
			d.outPos = copy(d.out, d.out[d.outPos-windowSize:d.outPos])
			d.r = d.outPos
		}
		d.err = d.decode()
	}
	n := copy(p, d.out[d.r:d.outPos])
	d.r += n
	return n, nil
}

// decode inflates into out until fewer than outSlack bytes are free or
// the stream ends.
func (d *decoder) decode() error {
	for d.outPos <= len(d.out)-outSlack {
		var err error
		switch d.state {
		case stateHeader:
			err = d.blockHeader()
		case stateStored:
			err = d.copyStored()
		case stateHuffman:
			err = d.huffman()
		case stateEnd:
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) endBlock() {
	if d.final {
		d.state = stateEnd
	} else {
		d.state = stateHeader
	}
}

func (d *decoder) blockHeader() error {
	h, err := d.bits(3)
	if err != nil {
		return err
	}
	d.final = h&1 == 1
	switch h >> 1 {
	case 0:
		d.toBytes()
		var b [4]byte
		for i := range b {
			if b[i], err = d.readByte(); err != nil {
				return err
			}
		}
		n, nn := binary.LittleEndian.Uint16(b[:]), binary.LittleEndian.Uint16(b[2:])
		if n != ^nn {
			return d.corrupt("stored block length")
		}
		d.stored = int(n)
		d.state = stateStored
	case 1:
		fixedOnce.Do(buildFixed)
		d.lit, d.dist = &fixedLit, &fixedDist
		d.state = stateHuffman
	case 2:
		if err := d.dynamicTables(); err != nil {
			return err
		}
		d.state = stateHuffman
	default:
		return d.corrupt("block type 3")
	}
	return nil
}

func (d *decoder) copyStored() error {
	for d.stored > 0 {
		if d.inPos == d.inEnd && !d.fill() {
			return d.endErr()
		}
		room := len(d.out) - d.outPos
		if room == 0 {
			return nil
		}
		n := copy(d.out[d.outPos:d.outPos+min(d.stored, room)], d.in[d.inPos:d.inEnd])
		d.outPos += n
		d.inPos += n
		d.stored -= n
	}
	d.endBlock()
	return nil
}

// codeLengthOrder is the order of the code-length code's lengths.
var codeLengthOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// dynamicTables reads the code lengths of a dynamic block and builds its
// tables.
func (d *decoder) dynamicTables() error {
	h, err := d.bits(14)
	if err != nil {
		return err
	}
	nlit, ndist, nclen := int(h&31)+257, int(h>>5&31)+1, int(h>>10)+4
	if nlit > 286 || ndist > 30 {
		return d.corrupt("too many codes")
	}
	var clen [19]uint8
	for _, sym := range codeLengthOrder[:nclen] {
		v, err := d.bits(3)
		if err != nil {
			return err
		}
		clen[sym] = uint8(v)
	}
	pre, err := buildTable(d.precode[:], clen[:], precodeBits, precodeEntry)
	if err != nil {
		return d.corrupt("code-length code")
	}
	lengths := d.lengths[:nlit+ndist]
	for i := 0; i < len(lengths); {
		e, err := d.slowEntry(pre, precodeBits)
		if err != nil {
			return err
		}
		d.consume(uint(e & 31))
		sym := int(e >> 16)
		if sym < 16 {
			lengths[i] = uint8(sym)
			i++
			continue
		}
		var rep int
		var fill uint8
		switch sym {
		case 16:
			if i == 0 {
				return d.corrupt("repeated code length with none before")
			}
			v, err := d.bits(2)
			if err != nil {
				return err
			}
			rep, fill = 3+int(v), lengths[i-1]
		case 17:
			v, err := d.bits(3)
			if err != nil {
				return err
			}
			rep = 3 + int(v)
		default:
			v, err := d.bits(7)
			if err != nil {
				return err
			}
			rep = 11 + int(v)
		}
		if i+rep > len(lengths) {
			return d.corrupt("code lengths overrun")
		}
		for range rep {
			lengths[i] = fill
			i++
		}
	}
	if _, err = buildTable(d.litArr[:], lengths[:nlit], litlenBits, litlenEntry); err != nil {
		return d.corrupt("literal/length code")
	}
	pairLiterals(d.litArr[:1<<litlenBits])
	if _, err = buildTable(d.distArr[:], lengths[nlit:], distBits, distEntry); err != nil {
		return d.corrupt("distance code")
	}
	d.lit, d.dist = &d.litArr, &d.distArr
	return nil
}

func (d *decoder) consume(n uint) {
	d.bitbuf >>= n
	d.nbits -= n
}

// slowEntry looks the next code up in table, loading bytes one at a time,
// and returns its entry once the bits it takes are loaded. The bits of a
// subtable's first level are consumed; the entry's own are not.
func (d *decoder) slowEntry(table []uint32, bits uint) (uint32, error) {
	// Near the end of the input fewer bits than a full lookup may hold the
	// code; the bits above nbits are then zero, and the entry says how
	// many it really takes.
	_ = d.need(bits)
	e := table[d.bitbuf&(1<<bits-1)]
	if e&kindSubtable != 0 {
		if err := d.need(bits); err != nil {
			return 0, err
		}
		d.consume(bits)
		sb := uint(e >> 8 & 15)
		_ = d.need(sb)
		e = table[int(e>>16)+int(d.bitbuf&(1<<sb-1))]
	}
	if e&kindInvalid != 0 {
		return 0, d.corrupt("invalid code")
	}
	// One symbol at a time: the bits of a pair's second literal may not
	// be loaded yet.
	e = single(e)
	if err := d.need(uint(e & 31)); err != nil {
		return 0, err
	}
	return e, nil
}

// huffman decodes the symbols of a Huffman-coded block until the block
// ends or the output buffer is full. The loop keeps its state in locals;
// the last few bytes of the input go through slowSymbol.
//
// The loop reads and writes the buffers through loadIn64, loadOut64,
// storeOut16 and storeOut64, which skip the bounds checks of slices
// (unchecked.go): those cost the loop about a tenth of its time
// (BenchmarkInflate on the benchmark corpus, six interleaved runs each:
// median 371 MB/s with them, 422 without). What keeps every access inside
// its buffer, whatever the input:
//   - 8 bytes of input are loaded only at inPos ≤ inLimit = inEnd-8, and
//     inEnd ≤ inSize;
//   - an iteration starts with outPos ≤ len(out)-outSlack, and writes at
//     most three pairs of literals (6 bytes) or one match: at most 258
//     bytes written 8 at a time (264), fewer than outSlack;
//   - a match reads from distance bytes back, and distance ≤ outPos is
//     checked before it is copied.
//
// Built with the tag inflatecheck, the same functions check their bounds
// (checked.go): the package's tests and fuzz targets run that way in CI
// too, so that an access out of bounds panics there instead of reading
// or writing memory next to the buffer.
func (d *decoder) huffman() error {
	// The buffers as arrays: their lengths are constants, which leaves
	// registers free in the loop.
	var (
		in            = (*[inSize]byte)(d.in)
		inPos         = d.inPos
		inLimit       = d.inEnd - 8 // the last position 8 bytes can be loaded from
		bitbuf, nbits = d.bitbuf, d.nbits
		out           = (*[outSize]byte)(d.out)
		outPos        = d.outPos
		lit, dist     = d.lit, d.dist
		err           error
	)
	for outPos <= len(out)-outSlack {
		if inPos > inLimit {
			d.inPos, d.bitbuf, d.nbits, d.outPos = inPos, bitbuf, nbits, outPos
			if d.fill() {
				inPos, inLimit = d.inPos, d.inEnd-8
				if inPos <= inLimit {
					continue
				}
			}
			// The end of the input: one symbol at a time, checking every bit.
			done, err := d.slowSymbol()
			if err != nil || done {
				return err
			}
			inPos, inLimit, bitbuf, nbits, outPos = d.inPos, d.inEnd-8, d.bitbuf, d.nbits, d.outPos
			continue
		}
		bitbuf |= loadIn64(in, inPos) << nbits
		inPos += int(63-nbits) >> 3
		nbits |= 56

		e := lit[bitbuf&(1<<litlenBits-1)]
		if e&kindSubtable != 0 {
			bitbuf >>= litlenBits
			nbits -= litlenBits
			e = lit[int(e>>16)+int(bitbuf&(1<<(e>>8&15)-1))]
		}
		if e&kindLiteral != 0 {
			// One literal or a pair: both bytes are written, and the
			// second counts only for a pair (the slack holds it).
			bitbuf >>= e & 31
			nbits -= uint(e & 31)
			storeOut16(out, outPos, uint16(e>>16))
			outPos += 1 + int(e>>5&1)
			// At least 41 bits are left: room for two more entries of
			// literals of the first level.
			for range 2 {
				e = lit[bitbuf&(1<<litlenBits-1)]
				if e&kindLiteral == 0 {
					break
				}
				bitbuf >>= e & 31
				nbits -= uint(e & 31)
				storeOut16(out, outPos, uint16(e>>16))
				outPos += 1 + int(e>>5&1)
			}
			continue
		}
		if e&kindMask != 0 {
			if e&kindEnd != 0 {
				bitbuf >>= e & 31
				nbits -= uint(e & 31)
				d.endBlock()
				break
			}
			err = d.corrupt("invalid literal/length code")
			break
		}
		// A length (at most 20 bits) and its distance (at most 28): the
		// 56 bits loaded hold both.
		n, cw := e&31, e>>8&15
		length := int(e>>16) + int(bitbuf&(1<<n-1)>>cw)
		bitbuf >>= n
		nbits -= uint(n)

		e = dist[bitbuf&(1<<distBits-1)]
		if e&kindSubtable != 0 {
			bitbuf >>= distBits
			nbits -= distBits
			e = dist[int(e>>16)+int(bitbuf&(1<<(e>>8&15)-1))]
		}
		if e&kindInvalid != 0 {
			err = d.corrupt("invalid distance code")
			break
		}
		n, cw = e&31, e>>8&15
		distance := int(e>>16) + int(bitbuf&(1<<n-1)>>cw)
		bitbuf >>= n
		nbits -= uint(n)
		if distance > outPos {
			err = d.corrupt("distance before the start of the output")
			break
		}
		if distance >= 8 {
			// The common case, inline: each 8-byte word is read before
			// the bytes it overlaps are written.
			for i := 0; i < length; i += 8 {
				storeOut64(out, outPos+i, loadOut64(out, outPos-distance+i))
			}
		} else {
			copyMatch(out[:], outPos, distance, length)
		}
		outPos += length
	}
	d.inPos, d.bitbuf, d.nbits, d.outPos = inPos, bitbuf, nbits, outPos
	return err
}

// copyMatch copies length bytes from distance bytes back to out[pos:]. It
// may write up to 7 bytes past the match, which the caller's slack holds.
func copyMatch(out []byte, pos, distance, length int) {
	src := pos - distance
	switch {
	case distance >= 8:
		for i := 0; i < length; i += 8 {
			binary.LittleEndian.PutUint64(out[pos+i:], binary.LittleEndian.Uint64(out[src+i:]))
		}
	case distance == 1:
		v := uint64(out[src]) * 0x0101010101010101
		for i := 0; i < length; i += 8 {
			binary.LittleEndian.PutUint64(out[pos+i:], v)
		}
	default:
		for i := range length {
			out[pos+i] = out[src+i]
		}
	}
}

// slowSymbol decodes one symbol (and a match's distance) loading bytes
// one at a time. It reports whether the block ended.
func (d *decoder) slowSymbol() (bool, error) {
	e, err := d.slowEntry(d.lit[:], litlenBits)
	if err != nil {
		return false, err
	}
	switch {
	case e&kindLiteral != 0:
		d.consume(uint(e & 31))
		d.out[d.outPos] = byte(e >> 16)
		d.outPos++
		return false, nil
	case e&kindEnd != 0:
		d.consume(uint(e & 31))
		d.endBlock()
		return true, nil
	}
	n, cw := uint(e&31), uint(e>>8&15)
	length := int(e>>16) + int(d.bitbuf&(1<<n-1)>>cw)
	d.consume(n)
	if e, err = d.slowEntry(d.dist[:], distBits); err != nil {
		return false, err
	}
	n, cw = uint(e&31), uint(e>>8&15)
	distance := int(e>>16) + int(d.bitbuf&(1<<n-1)>>cw)
	d.consume(n)
	if distance > d.outPos {
		return false, d.corrupt("distance before the start of the output")
	}
	copyMatch(d.out, d.outPos, distance, length)
	d.outPos += length
	return false, nil
}
