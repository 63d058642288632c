package dataset

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
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
	fallbacks  *dictFallbacks              // nil: every row group tries its dictionaries
}

// dictFallbacks remembers, for the files of one run, the string columns
// whose dictionary outgrew its page size limit in some row group: later
// row groups write them PLAIN from the start. Before the limit, arrow-go
// hashes every value into the dictionary, then re-encodes them PLAIN; for
// a column whose values are nearly all distinct (user agents with their
// version numbers, when bots vary them) that is time spent for a
// dictionary that is thrown away. Compressed, such a column is about as
// small PLAIN as dictionary-encoded. Only columns that arrive as plain
// strings are tracked; Arrow dictionaries from the parser are written by
// their indices (writeDictIndices). Columns marked keep always try their
// dictionary: the analysis maps cs-uri-stem by its dictionary entries,
// and a flood of scanner probes in one hour must not take that from the
// rest of the run.
type dictFallbacks struct {
	plain []atomic.Bool // by column
	keep  []bool
}

func newDictFallbacks(ncols int, keep ...int) *dictFallbacks {
	d := &dictFallbacks{plain: make([]atomic.Bool, ncols), keep: make([]bool, ncols)}
	for _, i := range keep {
		d.keep[i] = true
	}
	return d
}

// fellBack reports whether column i fell back in an earlier row group.
func (d *dictFallbacks) fellBack(i int) bool { return d != nil && d.plain[i].Load() }

// plainFromStart switches a column chunk to PLAIN before its first value
// when column i fell back before.
func (d *dictFallbacks) plainFromStart(cw file.ColumnChunkWriter, i int) {
	if !d.fellBack(i) {
		return
	}
	if p, ok := cw.(interface{ FallbackToPlain() }); ok {
		p.FallbackToPlain()
	}
}

// note records that column i, written from plain strings, fell back to
// PLAIN in this row group.
func (d *dictFallbacks) note(cw file.ColumnChunkWriter, i int, col arrow.Array) {
	if d == nil || d.keep[i] || d.plain[i].Load() || col.DataType().ID() == arrow.DICTIONARY {
		return
	}
	if cw.Properties().DictionaryEnabledFor(cw.Descr().Path()) && cw.CurrentEncoder().Encoding() != parquet.Encodings.PlainDict {
		d.plain[i].Store(true)
	}
}

func newColumnFile(w io.Writer, sc *arrow.Schema, props *parquet.WriterProperties, arrowProps pqarrow.ArrowWriterProperties, fallbacks *dictFallbacks) (*columnFile, error) {
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
	if fallbacks != nil && len(fallbacks.plain) != n {
		return nil, fmt.Errorf("dictionary fallbacks of %d columns for a schema of %d", len(fallbacks.plain), n)
	}
	return &columnFile{wr: wr, arrowProps: arrowProps, ncols: n, levels: make([]levelScratch, n), fallbacks: fallbacks}, nil
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
			f.fallbacks.plainFromStart(cw, i)
			for _, b := range parts {
				col := b.Column(i)
				defs := f.levels[i].defLevels(col)
				if ok, err := writeDictIndices(cw, col, defs, &f.levels[i]); ok || err != nil {
					if err != nil {
						return fmt.Errorf("column %s: %w", b.ColumnName(i), err)
					}
					continue
				}
				if err := pqarrow.WriteArrowToColumn(ctx, cw, col, defs, nil, true); err != nil {
					return fmt.Errorf("column %s: %w", b.ColumnName(i), err)
				}
			}
			if len(parts) > 0 {
				f.fallbacks.note(cw, i, parts[0].Column(i))
			}
			if err := flushLastPage(cw); err != nil {
				return fmt.Errorf("column %s: %w", parts[0].ColumnName(i), err)
			}
			return nil
		})
	}
	return g.Wait()
}

// dictEncoder is the part of arrow-go's dictionary encoder (an internal
// type) that writeDictIndices uses.
type dictEncoder interface {
	NormalizeDict(arrow.Array) (arrow.Array, error)
	PutDictionary(arrow.Array) error
	PreservedDictionary() arrow.Array
	NumEntries() int
}

// writeDictIndices writes a batch of an Arrow dictionary column into a
// dictionary-encoded string column chunk as pqarrow.WriteArrowToColumn
// does (writeDictionaryArrow): the first batch's dictionary becomes the
// chunk's, later batches with the same dictionary add their indices, and
// the page statistics take the minimum and maximum of the dictionary
// values the batch references. pqarrow finds those values with a hash
// kernel over every index of the batch (compute.UniqueArray), about 4%
// of an ingest's CPU time; here a flag per dictionary entry finds them.
// (For a batch that brings the chunk's dictionary object itself, pqarrow
// takes the whole dictionary instead: a looser bound where some values
// go unreferenced, as in a slice of a batch read back for a merge; the
// bytes are the same otherwise, TestColumnFileMatchesPqarrow.)
// It reports false, having written nothing, for whatever it leaves to
// pqarrow: other columns, a chunk no longer dictionary-encoded, and a
// dictionary that differs from the chunk's (where pqarrow falls back to
// plain pages).
func writeDictIndices(cw file.ColumnChunkWriter, col arrow.Array, defs []int16, s *levelScratch) (bool, error) {
	d, ok := col.(*array.Dictionary)
	if !ok || cw.CurrentEncoder().Encoding() != parquet.Encodings.PlainDict {
		return false, nil
	}
	bw, ok := cw.(*file.ByteArrayColumnChunkWriter)
	enc, ok2 := cw.CurrentEncoder().(dictEncoder)
	if !ok || !ok2 || d.Indices().DataType().ID() != arrow.INT32 || !arrow.IsBaseBinary(d.Dictionary().DataType().ID()) {
		return false, nil
	}
	normalized, err := enc.NormalizeDict(d.Dictionary())
	if err != nil {
		return false, err
	}
	defer normalized.Release()
	switch normalized.(type) {
	case *array.String, *array.Binary:
	default:
		return false, nil
	}
	preserved := enc.PreservedDictionary()
	if preserved == nil {
		if err := enc.PutDictionary(normalized); err != nil {
			return false, err
		}
		if enc.NumEntries() != normalized.Len() {
			// Repeated dictionary values: pqarrow falls back to plain.
			cw.FallbackToPlain()
			return false, nil
		}
	} else if !array.Equal(normalized, preserved) {
		return false, nil
	}
	if stats := cw.PageStatistics(); stats != nil {
		ref, err := referenced(normalized, d.Indices().(*array.Int32), s)
		if err != nil {
			return false, err
		}
		nonNull := d.Len() - d.NullN()
		stats.IncNulls(int64(max(len(defs)-nonNull, 0)))
		stats.IncNumValues(int64(nonNull))
		err = stats.UpdateFromArrow(ref, false)
		ref.Release()
		if err != nil {
			return false, err
		}
	}
	return true, bw.WriteDictIndices(d.Indices(), defs, nil)
}

// referenced returns the values of dict that the valid indices of idx
// reference, in dictionary order.
func referenced(dict arrow.Array, idx *array.Int32, s *levelScratch) (arrow.Array, error) {
	n := dict.Len()
	if cap(s.seen) < n {
		s.seen = make([]bool, n)
	}
	seen := s.seen[:n]
	clear(seen)
	vals := idx.Int32Values()
	count := 0
	for i, v := range vals {
		if idx.NullN() > 0 && idx.IsNull(i) {
			continue
		}
		if uint(v) >= uint(n) {
			return nil, fmt.Errorf("dictionary index %d of %d entries", v, n)
		}
		if !seen[v] {
			seen[v] = true
			count++
		}
	}
	if count == n {
		dict.Retain()
		return dict, nil
	}
	take := make([]int, 0, count)
	for k, ok := range seen {
		if ok {
			take = append(take, k)
		}
	}
	return takeValues(dict, take), nil
}

// takeValues returns the entries at idx of a string or binary array.
func takeValues(a arrow.Array, idx []int) arrow.Array {
	b := array.NewBuilder(memory.DefaultAllocator, a.DataType())
	defer b.Release()
	switch a := a.(type) {
	case *array.String:
		sb := b.(*array.StringBuilder)
		for _, k := range idx {
			sb.Append(a.Value(k))
		}
	case *array.Binary:
		bb := b.(*array.BinaryBuilder)
		for _, k := range idx {
			bb.Append(a.Value(k))
		}
	}
	return b.NewArray()
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
	// seen marks the dictionary entries a batch references
	// (writeDictIndices).
	seen []bool
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
