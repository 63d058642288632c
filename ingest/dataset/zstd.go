package dataset

import (
	"io"
	"runtime"
	"sync"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// zstdCodec compresses Parquet pages with encoders that live as long as
// the process, replacing arrow-go's codec for writing (reading is left
// to it). arrow-go keeps its encoders in a sync.Pool, which drops them at
// every garbage collection: an ingest collects 80 to 90 times under the
// memory limit, and each time the next pages paid for new encoders, whose
// match tables and history are megabytes of memory to clear and fault
// in. A klauspost Encoder serves that many EncodeAll calls at once from
// encoders it keeps. Frames keep their content checksum, as arrow-go's
// do: readers check it, so a damaged page fails to read instead of
// decoding to other values, and a merge that copies row groups
// (rowcopy.go) carries the checksum along. It costs about a sixteenth of
// the compression time.
type zstdCodec struct {
	compress.Codec // arrow-go's, for decoding and the bound
	mu             sync.Mutex
	enc            map[zstd.EncoderLevel]*zstd.Encoder
}

func init() {
	prev, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		panic(err)
	}
	if _, ok := prev.(compress.StreamingCodec); !ok {
		panic("arrow-go's zstd codec does not stream")
	}
	compress.RegisterCodec(compress.Codecs.Zstd, &zstdCodec{Codec: prev, enc: map[zstd.EncoderLevel]*zstd.Encoder{}})
}

// DecodeWithError keeps arrow-go's error-returning decoding.
func (c *zstdCodec) DecodeWithError(dst, src []byte) ([]byte, error) {
	if ec, ok := c.Codec.(compress.ErrorCodec); ok {
		return ec.DecodeWithError(dst, src)
	}
	return compress.Decode(c.Codec, dst, src)
}

func (c *zstdCodec) encoder(level zstd.EncoderLevel) *zstd.Encoder {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.enc[level]
	if e == nil {
		// Column goroutines of the files written at once: twice the
		// processors covers the writer's default of one file per
		// processor, one column goroutine each; more calls wait.
		var err error
		e, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(2*runtime.GOMAXPROCS(0)),
			zstd.WithZeroFrames(true), zstd.WithAllLitEntropyCompression(true))
		if err != nil {
			panic(err) // only for invalid options
		}
		c.enc[level] = e
	}
	return e
}

func (c *zstdCodec) Encode(dst, src []byte) []byte {
	return c.encoder(zstd.SpeedDefault).EncodeAll(src, dst[:0])
}

func (c *zstdCodec) EncodeLevel(dst, src []byte, level int) []byte {
	l := zstd.SpeedDefault
	if level != compress.DefaultCompressionLevel {
		l = zstd.EncoderLevelFromZstd(level)
	}
	return c.encoder(l).EncodeAll(src, dst[:0])
}

// NewReader, NewWriter and NewWriterLevel keep arrow-go's streaming
// (compress.StreamingCodec), which readers use when a codec has it.
func (c *zstdCodec) NewReader(r io.Reader) io.ReadCloser {
	return c.Codec.(compress.StreamingCodec).NewReader(r)
}

func (c *zstdCodec) NewWriter(w io.Writer) io.WriteCloser {
	return c.Codec.(compress.StreamingCodec).NewWriter(w)
}

func (c *zstdCodec) NewWriterLevel(w io.Writer, level int) (io.WriteCloser, error) {
	return c.Codec.(compress.StreamingCodec).NewWriterLevel(w, level)
}
