package dataset

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"runtime"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"golang.org/x/sync/errgroup"
)

// columnFile writes Arrow batches of a flat schema as a Parquet file whose
// row groups have their columns encoded in parallel, one goroutine per
// column at a time up to GOMAXPROCS. pqarrow.FileWriter encodes one column
// after the other; a checkpoint is mostly one large file, so that left the
// parsers waiting on one core while the other idled.
//
// The file is what pqarrow.FileWriter writes for the same batches: the
// Parquet schema from pqarrow.ToParquet, the Arrow schema stored under
// ARROW:schema, and every column written by pqarrow.WriteArrowToColumn.
type columnFile struct {
	wr         *file.Writer
	arrowProps pqarrow.ArrowWriterProperties
	ncols      int
	levels     []levelScratch              // definition levels, one scratch per column
	rg         file.BufferedRowGroupWriter // the last row group, open until the next
}

func newColumnFile(w io.Writer, sc *arrow.Schema, props *parquet.WriterProperties, arrowProps pqarrow.ArrowWriterProperties) (*columnFile, error) {
	for _, f := range sc.Fields() {
		if !f.Nullable || arrow.IsNested(f.Type.ID()) {
			return nil, fmt.Errorf("column %s: only flat nullable columns are supported", f.Name)
		}
	}
	pqs, err := pqarrow.ToParquet(sc, props, arrowProps)
	if err != nil {
		return nil, err
	}
	meta := make(metadata.KeyValueMetadata, 0, 1)
	meta.Append("ARROW:schema", base64.StdEncoding.EncodeToString(flight.SerializeSchema(sc, props.Allocator())))
	wr, err := file.NewParquetWriterWithError(w, pqs.Root(), file.WithWriterProps(props), file.WithWriteMetadata(meta))
	if err != nil {
		return nil, err
	}
	n := sc.NumFields()
	return &columnFile{wr: wr, arrowProps: arrowProps, ncols: n, levels: make([]levelScratch, n)}, nil
}

// writeRowGroup writes parts, batches of the file's schema, as one row
// group.
func (f *columnFile) writeRowGroup(parts []arrow.RecordBatch) error {
	rgw, err := f.wr.AppendBufferedRowGroupChecked()
	if err != nil {
		return err
	}
	f.rg = rgw
	cws := make([]file.ColumnChunkWriter, f.ncols)
	for i := range cws {
		if cws[i], err = rgw.Column(i); err != nil {
			return err
		}
	}
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, cw := range cws {
		g.Go(func() error {
			ctx := pqarrow.NewArrowWriteContext(context.Background(), &f.arrowProps)
			for _, b := range parts {
				col := b.Column(i)
				defs := f.levels[i].defLevels(col)
				if err := pqarrow.WriteArrowToColumn(ctx, cw, col, defs, nil, true); err != nil {
					return fmt.Errorf("column %s: %w", b.ColumnName(i), err)
				}
			}
			if err := flushLastPage(cw); err != nil {
				return fmt.Errorf("column %s: %w", parts[0].ColumnName(i), err)
			}
			return nil
		})
	}
	return g.Wait()
}

// flushLastPage encodes and compresses the last page of a column, here
// in the column's goroutine instead of when the row group is closed,
// which goes through the columns one after the other. For most columns
// of a row group that last page is the only one. The file is the same
// byte for byte: the page holds the same values either way, and the
// close finds nothing left to flush.
//
// A page must not be flushed empty (arrow-go would write a page of no
// values), so it is flushed only when values are known to be buffered:
//
//   - A column written PLAIN (or fallen back to PLAIN) goes through
//     FlushBufferedDataPages, which flushes only a page that has values.
//     arrow-go has written every earlier page of such a column, and its
//     dictionary page if it had one.
//   - A dictionary-encoded column keeps its pages until the close, which
//     writes the dictionary page first; FlushCurrentPage only adds the
//     last page to them. It is flushed when no page of the row group has
//     been cut yet (TotalCompressedBytes counts the pages kept as well)
//     and rows were written: then every row is buffered. A column whose
//     pages were cut as it was written is left to the close.
func flushLastPage(cw file.ColumnChunkWriter) error {
	if cw.CurrentEncoder().Encoding() != parquet.Encodings.PlainDict {
		if f, ok := cw.(interface{ FlushBufferedDataPages() error }); ok {
			return f.FlushBufferedDataPages()
		}
		return nil
	}
	if cw.TotalCompressedBytes() != 0 || cw.RowsWritten() == 0 {
		return nil
	}
	if f, ok := cw.(interface{ FlushCurrentPage() error }); ok {
		return f.FlushCurrentPage()
	}
	return nil
}

// levelScratch holds the definition levels of one column's batches, one
// batch at a time. Most columns have no null in most batches, and their
// levels are all 1: those stay from one batch to the next, and only the
// levels past them (or after a batch with nulls) are written again.
type levelScratch struct {
	defs []int16
	ones int // defs[:ones] are all 1
}

// defLevels returns the definition levels of a flat nullable column: 1
// for a value, 0 for a null. They are valid until the next call.
func (s *levelScratch) defLevels(a arrow.Array) []int16 {
	n := a.Len()
	if cap(s.defs) < n {
		s.defs, s.ones = make([]int16, n), 0
	}
	defs := s.defs[:n]
	if a.NullN() == 0 {
		if s.ones < n {
			for i := s.ones; i < n; i++ {
				defs[i] = 1
			}
			s.ones = n
		}
		return defs
	}
	bits, off := a.NullBitmapBytes(), a.Data().Offset()
	s.ones = 0
	if len(bits) == 0 { // nulls without a bitmap: not made by Arrow's builders
		for i := range defs {
			defs[i] = 0
			if a.IsValid(i) {
				defs[i] = 1
			}
		}
		return defs
	}
	for i := range defs {
		j := off + i
		defs[i] = int16(bits[j>>3] >> (j & 7) & 1)
	}
	return defs
}

// defLevels returns the definition levels of a flat nullable column in
// new memory.
func defLevels(a arrow.Array) []int16 {
	var s levelScratch
	return s.defLevels(a)
}

// Close writes the last row group and the footer.
func (f *columnFile) Close() error { return f.wr.Close() }
