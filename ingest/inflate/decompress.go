package inflate

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
)

// ErrTooLarge is returned when an object inflates past the size limit
// (a gzip bomb, or a limit set too low).
var ErrTooLarge = errors.New("decompressed size over the limit")

// errClosed is returned by text read after Close.
var errClosed = errors.New("read after close")

// DefaultMaxBytes is the default limit on the decompressed size of one
// object. CloudFront's hourly files stay far below it.
const DefaultMaxBytes = 16 << 30

// DecompressBufSize is the buffer Decompress reads r through. A
// *bufio.Reader at least this large is used as it is, so that a caller
// that peeked at the start of an object through its own buffer loses
// nothing and copies nothing.
const DecompressBufSize = 64 * 1024

// Decompress returns the text of r: r itself for plain text, or its
// inflated content when it starts with the gzip magic number. Every gzip
// member is read, as concatenated files hold several. Reading more than
// limit bytes of text (0: DefaultMaxBytes) fails with ErrTooLarge.
// Close gives the decoder back for the next object; the text cannot be
// read after it. Close does not close r.
func Decompress(r io.Reader, limit int64) (io.ReadCloser, error) {
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	br := bufio.NewReaderSize(r, DecompressBufSize)
	magic, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read start: %w", err)
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr := readers.Get().(*Reader)
		release := func() {
			zr.Close()
			readers.Put(zr)
		}
		if err := zr.Reset(br); err != nil {
			release()
			return nil, fmt.Errorf("gzip header: %w", err)
		}
		return &limited{r: zr, left: limit, release: release}, nil
	}
	return &limited{r: br, left: limit}, nil
}

// readers keeps gzip decoders, with their 350 KiB of buffers, from one
// object to the next: a log bucket holds many small objects, and
// allocating and clearing the buffers for each cost more than inflating
// it.
var readers = sync.Pool{New: func() any { return new(Reader) }}

// limited reads at most left bytes of r. Closing it gives its decoder
// back to the pool; reading after that fails.
type limited struct {
	r       io.Reader
	left    int64
	release func()
}

func (l *limited) Read(p []byte) (int, error) {
	if l.r == nil {
		return 0, errClosed
	}
	if l.left <= 0 {
		// Tell a bomb from an object that ends exactly at the limit.
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			return 0, ErrTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("read text: %w", err)
	}
	return n, err
}

func (l *limited) Close() error {
	if l.release != nil {
		l.release()
		l.release = nil
	}
	l.r = nil
	return nil
}
