package logparse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/cflens/cflens/ingest/inflate"
)

// Format is the format of a log object.
type Format int

const (
	// FormatAuto tells the format from the content (and the name).
	FormatAuto Format = iota
	// FormatW3C is the W3C extended format: legacy files, and v2 W3C or
	// plain output with any field subset, order and delimiter.
	FormatW3C
	// FormatJSON is standard logging v2 JSON lines.
	FormatJSON
	// FormatParquet is standard logging v2 Parquet.
	FormatParquet
)

// String returns the name ParseFormat reads.
func (f Format) String() string {
	switch f {
	case FormatAuto:
		return "auto"
	case FormatW3C:
		return "w3c"
	case FormatJSON:
		return "json"
	case FormatParquet:
		return "parquet"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat reads a format name: auto, w3c, json or parquet (case
// ignored; "" is auto).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return FormatAuto, nil
	case "w3c", "plain", "legacy":
		return FormatW3C, nil
	case "json", "jsonl":
		return FormatJSON, nil
	case "parquet":
		return FormatParquet, nil
	}
	return FormatAuto, fmt.Errorf("unknown log format %q (want auto, w3c, json or parquet)", s)
}

// parquetMagic starts (and ends) every Parquet file.
var parquetMagic = []byte("PAR1")

// Detect tells the format of an object from the first bytes of its
// content (inflated, if it was gzip) and, when they do not tell, its
// name: Parquet's PAR1 magic, a '{' (after blanks and a byte order mark)
// for JSON lines, a '#' header or other text for W3C. The name decides
// only for empty content: *.parquet, *.json, *.jsonl, *.ndjson (with an
// optional .gz).
func Detect(peek []byte, name string) Format {
	if bytes.HasPrefix(peek, parquetMagic) {
		return FormatParquet
	}
	text := bytes.TrimPrefix(peek, []byte("\xef\xbb\xbf"))
	text = bytes.TrimLeft(text, " \t\r\n")
	if len(text) > 0 {
		if text[0] == '{' {
			return FormatJSON
		}
		return FormatW3C
	}
	base := strings.ToLower(path.Base(name))
	base = strings.TrimSuffix(base, ".gz")
	switch path.Ext(base) {
	case ".parquet":
		return FormatParquet
	case ".json", ".jsonl", ".ndjson":
		return FormatJSON
	}
	return FormatW3C
}

// BatchReader is what every log reader provides: the batches of one
// object in the cflens schema (or its projection), and what was read.
type BatchReader interface {
	// Schema returns the schema of the batches.
	Schema() *arrow.Schema
	// Next reads the next batch; false at the end or on an error.
	Next() bool
	// Batch returns the current batch, valid until Next or Release.
	Batch() arrow.RecordBatch
	// Err returns the error that stopped the reader, if any.
	Err() error
	// Stats returns the counts so far.
	Stats() Stats
	// Release frees the reader's memory and any temporary file.
	Release()
}

var (
	_ BatchReader = (*Reader)(nil)
	_ BatchReader = (*ParquetReader)(nil)
)

// Open returns the reader for one raw object (as stored: gzip or not,
// any format) of the given format; FormatAuto detects it (see Detect)
// from the content and the name given by WithSource. Parquet, which needs
// random access, is read in place when r is an io.ReaderAt and
// io.Seeker (an *os.File), and otherwise copied to a temporary file first
// (see WithTempDir). Release the reader when done; it does not close r.
func Open(r io.Reader, format Format, opts ...Option) (BatchReader, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	limit := o.maxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	br := getBuf(&rawBufs, r)
	if format == FormatAuto || format == FormatParquet {
		magic, err := br.Peek(len(parquetMagic))
		if err != nil && err != io.EOF {
			putBuf(&rawBufs, br)
			return nil, fmt.Errorf("read start: %w", err)
		}
		if format == FormatParquet || bytes.Equal(magic, parquetMagic) {
			if ra, ok := r.(readerAtSeeker); ok {
				// A file: read it in place (ReadAt ignores what the
				// peek consumed).
				if size, err := ra.Seek(0, io.SeekEnd); err == nil {
					putBuf(&rawBufs, br)
					if size > limit {
						return nil, fmt.Errorf("%d bytes of parquet: %w", size, ErrTooLarge)
					}
					return NewParquetReader(ra, size, opts...)
				}
			}
			defer putBuf(&rawBufs, br)
			return openParquetCopy(br, limit, opts...)
		}
	}
	text, err := inflate.Decompress(br, limit)
	if err != nil {
		putBuf(&rawBufs, br)
		return nil, err
	}
	// The reader takes tb as its own buffer (bufio.NewReaderSize returns
	// a large enough *bufio.Reader as is), so the text is not copied from
	// one buffer to another.
	cr := &closingReader{c: text, bufs: [2]*bufio.Reader{br, getBuf(&textBufs, text)}}
	tb := cr.bufs[1]
	if format == FormatAuto {
		peek, err := tb.Peek(512)
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			cr.Release()
			return nil, err
		}
		format = Detect(peek, o.source)
		if format == FormatParquet {
			// A gzip-wrapped Parquet file: not something CloudFront writes.
			cr.Release()
			return nil, fmt.Errorf("parquet inside gzip is not supported")
		}
	}
	if format == FormatJSON {
		cr.Reader = NewJSONReader(tb, opts...)
	} else {
		cr.Reader = NewReader(tb, opts...)
	}
	return cr, nil
}

// rawBufs and textBufs keep the buffers of objects read through Open, as
// they stream from their source and as text, from one object to the
// next (as inflate.Decompress keeps its decoders).
var (
	rawBufs  = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, rawBufSize) }}
	textBufs = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readerBufSize) }}
)

// rawBufSize is the buffer of an object as it comes from its source;
// inflate.Decompress reads through it as it is.
const rawBufSize = inflate.DecompressBufSize

func getBuf(pool *sync.Pool, r io.Reader) *bufio.Reader {
	b := pool.Get().(*bufio.Reader)
	b.Reset(r)
	return b
}

func putBuf(pool *sync.Pool, b *bufio.Reader) {
	b.Reset(nil)
	pool.Put(b)
}

// errReleased is returned by a reader used after it was released.
var errReleased = errors.New("read after release")

type readerAtSeeker interface {
	io.ReaderAt
	io.Seeker
}

// closingReader closes the decompressor and gives the buffers back to
// their pools when released; the reader then reads nothing more.
type closingReader struct {
	*Reader
	c    io.Closer
	bufs [2]*bufio.Reader // from rawBufs and textBufs
}

func (r *closingReader) Release() {
	if r.Reader != nil {
		r.Reader.Release()
		r.Reader.br = nil
		if r.Reader.err == nil {
			r.Reader.err = errReleased
		}
	}
	if r.c != nil {
		r.c.Close()
		r.c = nil
	}
	if r.bufs[0] != nil {
		putBuf(&rawBufs, r.bufs[0])
		putBuf(&textBufs, r.bufs[1])
		r.bufs = [2]*bufio.Reader{}
	}
}
