package dataset

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// TestZstdCodec checks the codec the dataset registers: frames that any
// zstd decoder reads back, written from many goroutines at once, without
// content checksums, and decoded by arrow-go's codec behind it.
func TestZstdCodec(t *testing.T) {
	codec, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := codec.(*zstdCodec); !ok {
		t.Fatalf("registered zstd codec is %T", codec)
	}
	if _, ok := codec.(compress.StreamingCodec); !ok {
		t.Error("the codec lost arrow-go's streaming")
	}
	ref, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 16) // one per goroutine at most
	for g := range 16 {
		wg.Go(func() {
			for i := range 20 {
				src := bytes.Repeat(fmt.Appendf(nil, "page %d of goroutine %d; ", i, g), 200+i*50)
				level := []int{1, 3, compress.DefaultCompressionLevel}[i%3]
				frame := codec.EncodeLevel(nil, src, level)
				var h zstd.Header
				if err := h.Decode(frame); err != nil {
					errs <- err
					return
				}
				if h.HasCheckSum {
					errs <- fmt.Errorf("goroutine %d page %d: frame has a checksum", g, i)
					return
				}
				got, err := ref.DecodeAll(frame, nil)
				if err != nil || !bytes.Equal(got, src) {
					errs <- fmt.Errorf("goroutine %d page %d: decoded %d bytes of %d, %v", g, i, len(got), len(src), err)
					return
				}
				back, err := compress.Decode(codec, make([]byte, len(src)), frame)
				if err != nil || !bytes.Equal(back, src) {
					errs <- fmt.Errorf("goroutine %d page %d: the codec decoded %d bytes of %d, %v", g, i, len(back), len(src), err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
