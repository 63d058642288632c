package dataset

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/klauspost/compress/zstd"

	"github.com/cflens/cflens/ingest/schema"
)

// TestZstdCodec checks the codec the dataset registers: frames that any
// zstd decoder reads back, written from many goroutines at once, with
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
				if !h.HasCheckSum {
					errs <- fmt.Errorf("goroutine %d page %d: frame without a checksum", g, i)
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

// TestDamagedPageFailsToRead: a byte changed anywhere in the compressed
// data of a column chunk makes the chunk fail to read, through the
// frames' checksums, instead of reading back other values.
func TestDamagedPageFailsToRead(t *testing.T) {
	mem := memory.NewGoAllocator()
	root := t.TempDir()
	w, _ := openWriter(t, root, Options{Allocator: mem})
	data := genLog(hour0, time.Hour, 2000, 77)
	ingestObjects(t, mem, w, []object{{ref: ingestRef("logs/E2PROD.2025-09-10-07.0001.gz", "E2PROD", data), data: data}}, false)
	var name, orig string
	for k, v := range visibleFiles(t, root) {
		name, orig = k, v
	}
	rd, err := file.NewParquetReader(bytes.NewReader([]byte(orig)))
	if err != nil {
		t.Fatal(err)
	}
	col := schema.CsUserAgent
	cc, err := rd.MetaData().RowGroup(0).ColumnChunk(col)
	if err != nil {
		t.Fatal(err)
	}
	start, size := cc.DataPageOffset(), cc.TotalCompressedSize()
	if cc.HasDictionaryPage() {
		start = cc.DictionaryPageOffset()
	}
	read := func(b []byte) error {
		rd, err := file.NewParquetReader(bytes.NewReader(b))
		if err != nil {
			return err
		}
		fr, err := pqarrow.NewFileReader(rd, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, mem)
		if err != nil {
			return err
		}
		tbl, err := fr.ReadTable(context.Background())
		if err == nil {
			tbl.Release()
		}
		return err
	}
	if err := read([]byte(orig)); err != nil {
		t.Fatalf("%s reads with an error before any damage: %v", name, err)
	}
	// Bytes past the page headers: the second half of the chunk.
	for k := int64(0); k < 16; k++ {
		b := []byte(orig)
		at := start + size/2 + k*(size/2)/16
		b[at] ^= 0x5a
		if err := read(b); err == nil {
			t.Errorf("byte %d of %d changed in the chunk, which still reads", at-start, size)
		}
	}
}
