// Package inflate reads gzip files (RFC 1952) and raw DEFLATE streams
// (RFC 1951) faster than compress/flate and klauspost/compress.
//
// Log analysis from .gz files spends most of its time inflating. The
// decoder here follows libdeflate's design, in pure Go: a 64-bit bit
// buffer refilled 8 bytes at a time, two-level decoding tables whose
// entries carry the base and extra-bit count of lengths and distances, so
// that a match takes one refill and two lookups, and matches copied 8
// bytes at a time into a buffer that keeps the 32 KiB window in place.
// Two literals whose codewords fit in the first level together are
// decoded by one lookup (pairLiterals).
//
// Input and output stream through fixed buffers (64 KiB in, 288 KiB out),
// so memory does not grow with the data. Its results are checked against
// compress/flate and compress/gzip by tests and fuzzing.
//
// Decompress gives the text of an object whether it is gzip or plain,
// with a limit on its size against gzip bombs; the log parser and the
// CloudTrail reader read objects through it.
package inflate

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
)

var (
	// ErrHeader is returned for input that is not a gzip member.
	ErrHeader = errors.New("gzip: invalid header")
	// ErrChecksum is returned when a member's CRC-32 or length does not
	// match its data.
	ErrChecksum = errors.New("gzip: invalid checksum")
)

// Reader inflates every member of a gzip stream, checking each member's
// CRC-32 and length.
type Reader struct {
	d    decoder
	crc  uint32 // of the member's bytes read so far
	size uint32 // the member's bytes read so far, modulo 2³²
}

// NewReader reads the header of the first member of r. Like
// compress/gzip, it returns io.EOF for empty input.
func NewReader(r io.Reader) (*Reader, error) {
	z := new(Reader)
	if err := z.Reset(r); err != nil {
		return nil, err
	}
	return z, nil
}

// Reset makes z read the gzip stream r from its start, as NewReader does,
// keeping its buffers: a pool of Readers saves allocating and clearing
// them for each of many small files.
func (z *Reader) Reset(r io.Reader) error {
	z.crc, z.size = 0, 0
	z.d.init(r, z.nextMember)
	return z.header()
}

const (
	flagHCRC    = 1 << 1
	flagExtra   = 1 << 2
	flagName    = 1 << 3
	flagComment = 1 << 4

	maxHeaderString = 512
)

// header reads a member header. It returns io.EOF when the input has no
// byte left.
func (z *Reader) header() error {
	d := &z.d
	if d.atEOF() {
		if d.srcErr != io.EOF {
			return d.srcErr
		}
		return io.EOF
	}
	var (
		crc uint32
		buf [10]byte
	)
	read := func(p []byte) error {
		for i := range p {
			b, err := d.readByte()
			if err != nil {
				return err
			}
			p[i] = b
		}
		crc = crc32.Update(crc, crc32.IEEETable, p)
		return nil
	}
	// A file name or comment ends with a zero byte. Like compress/gzip,
	// longer than maxHeaderString bytes with it is not a header.
	skipString := func() error {
		for range maxHeaderString {
			var b [1]byte
			if err := read(b[:]); err != nil {
				return err
			}
			if b[0] == 0 {
				return nil
			}
		}
		return ErrHeader
	}
	if err := read(buf[:]); err != nil {
		return err
	}
	if buf[0] != 0x1f || buf[1] != 0x8b || buf[2] != 8 {
		return ErrHeader
	}
	flags := buf[3]
	if flags&flagExtra != 0 {
		if err := read(buf[:2]); err != nil {
			return err
		}
		for range binary.LittleEndian.Uint16(buf[:2]) {
			if err := read(buf[:1]); err != nil {
				return err
			}
		}
	}
	if flags&flagName != 0 {
		if err := skipString(); err != nil {
			return err
		}
	}
	if flags&flagComment != 0 {
		if err := skipString(); err != nil {
			return err
		}
	}
	if flags&flagHCRC != 0 {
		want := uint16(crc)
		var b [2]byte
		if err := read(b[:]); err != nil {
			return err
		}
		if binary.LittleEndian.Uint16(b[:]) != want {
			return ErrHeader
		}
	}
	d.resetStream()
	z.crc, z.size = 0, 0
	return nil
}

// Read reads inflated bytes.
func (z *Reader) Read(p []byte) (int, error) {
	n, err := z.d.read(p)
	z.crc = crc32.Update(z.crc, crc32.IEEETable, p[:n])
	z.size += uint32(n)
	return n, err
}

// nextMember checks the trailer of the member that ended and reads the
// header of the next, if any.
func (z *Reader) nextMember() error {
	d := &z.d
	d.toBytes()
	var b [8]byte
	for i := range b {
		var err error
		if b[i], err = d.readByte(); err != nil {
			return err
		}
	}
	if binary.LittleEndian.Uint32(b[:4]) != z.crc || binary.LittleEndian.Uint32(b[4:]) != z.size {
		return ErrChecksum
	}
	return z.header()
}

// ErrClosed is returned by Read after Close.
var ErrClosed = errors.New("inflate: read after close")

// Close lets go of the source; Read then fails with ErrClosed until Reset.
// It does not close the source.
func (z *Reader) Close() error {
	z.d.src, z.d.err, z.d.r = nil, ErrClosed, z.d.outPos
	return nil
}

// DeflateReader inflates one raw DEFLATE stream.
type DeflateReader struct {
	d decoder
}

// NewDeflateReader returns a reader of the DEFLATE stream in r.
func NewDeflateReader(r io.Reader) *DeflateReader {
	f := new(DeflateReader)
	f.d.init(r, func() error { return io.EOF })
	return f
}

// Read reads inflated bytes. It returns io.EOF after the final block.
func (f *DeflateReader) Read(p []byte) (int, error) { return f.d.read(p) }
