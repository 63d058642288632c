package logparse

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/cflens/cflens/ingest/inflate"
)

// ErrTooLarge is returned when an object inflates past the size limit
// (a gzip bomb, or a limit set too low).
var ErrTooLarge = errors.New("decompressed size over the limit")

// DefaultMaxBytes is the default limit on the decompressed size of one
// object. CloudFront's hourly files stay far below it.
const DefaultMaxBytes = 16 << 30

// Decompress returns the text of r: r itself for plain text, or its
// inflated content when it starts with the gzip magic number. Every gzip
// member is read, as concatenated files hold several. Reading more than
// limit bytes of text (0: DefaultMaxBytes) fails with ErrTooLarge.
func Decompress(r io.Reader, limit int64) (io.ReadCloser, error) {
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	br := bufio.NewReaderSize(r, 64*1024)
	magic, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read start: %w", err)
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := inflate.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip header: %w", err)
		}
		return &limited{r: zr, left: limit, close: zr.Close}, nil
	}
	return &limited{r: br, left: limit, close: func() error { return nil }}, nil
}

type limited struct {
	r     io.Reader
	left  int64
	close func() error
}

func (l *limited) Read(p []byte) (int, error) {
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

func (l *limited) Close() error { return l.close() }
