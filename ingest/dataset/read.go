package dataset

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/schema"
)

// ReadOptions select the rows and columns that Read delivers.
type ReadOptions struct {
	// From and To bound the request time: From ≤ timestamp < To. Zero
	// means unbounded. Partitions outside are not opened; rows of the
	// boundary hours are filtered.
	From, To time.Time
	// Distributions limits the read to these IDs; empty reads all.
	Distributions []string
	// Columns are the schema columns to deliver, in order; nil means all.
	Columns []int
	// BatchRows is the target number of rows per batch.
	BatchRows int64
	// DictStrings lets String columns come back dictionary-encoded
	// (dictionary<int32, utf8>) too, which is cheaper to read and to
	// aggregate when the files store them with a dictionary.
	DictStrings bool
	// SpoolDir holds copies of remote files while they are read.
	SpoolDir  string
	Allocator memory.Allocator
}

// DataFile is a data file of the dataset with its partition.
type DataFile struct {
	Key       string
	Size      int64
	Rows      int64 // -1 when not known (no journal)
	Partition Partition
}

// Files lists the data files that a read with o opens, in key order. When
// the dataset has a journal, only committed files are listed, so a read
// running beside a writer sees a consistent dataset; otherwise (a copied
// or foreign dataset) every *.parquet file under a partition folder.
func Files(ctx context.Context, st Store, o ReadOptions) ([]DataFile, error) {
	s, _, err := loadState(ctx, st)
	if err != nil {
		return nil, err
	}
	var files []DataFile
	if s.seq > 0 {
		for _, f := range s.sortedFiles() {
			p, ok := ParsePartition(f.Key)
			if ok && o.wants(p) {
				files = append(files, DataFile{Key: f.Key, Size: f.Bytes, Rows: f.Rows, Partition: p})
			}
		}
		return files, nil
	}
	prefixes := []string{""}
	if len(o.Distributions) > 0 {
		prefixes = prefixes[:0]
		for _, id := range o.Distributions {
			prefixes = append(prefixes, "distributionid="+id+"/")
		}
		slices.Sort(prefixes)
	}
	for _, prefix := range prefixes {
		for ref, err := range st.List(ctx, prefix) {
			if err != nil {
				return nil, err
			}
			if !strings.HasSuffix(ref.Key, dataSuffix) || strings.HasPrefix(ref.Key, metaDir+"/") {
				continue
			}
			p, ok := ParsePartition(ref.Key)
			if ok && o.wants(p) {
				files = append(files, DataFile{Key: ref.Key, Size: ref.Size, Rows: -1, Partition: p})
			}
		}
	}
	return files, nil
}

// wants reports whether a partition may hold rows that o selects.
func (o ReadOptions) wants(p Partition) bool {
	if len(o.Distributions) > 0 && !slices.Contains(o.Distributions, p.DistributionID) {
		return false
	}
	end := p.Hour.Add(time.Hour)
	if !o.From.IsZero() && !end.After(o.From) {
		return false
	}
	if !o.To.IsZero() && !p.Hour.Before(o.To) {
		return false
	}
	return true
}

// needsFilter reports whether some rows of the partition may fall outside
// the time range.
func (o ReadOptions) needsFilter(p Partition) bool {
	return (!o.From.IsZero() && p.Hour.Before(o.From)) || (!o.To.IsZero() && p.Hour.Add(time.Hour).After(o.To))
}

// Read delivers the selected rows of the dataset to sink, one file as one
// object (Begin, Write…, Commit), then closes the sink. Batches have the
// schema's types (dictionary columns as dictionaries; String columns too
// with o.DictStrings), restricted to o.Columns. Files whose requested
// columns are all flat integers, timestamps or strings are read with
// the column chunk readers (flatBatches), others through pqarrow. Rows dropped by the time filter count as OutOfRange, so
// Lines = Rows + OutOfRange.
func Read(ctx context.Context, st Store, o ReadOptions, sink ingest.Sink) (ingest.Counts, error) {
	var c ingest.Counts
	files, err := Files(ctx, st, o)
	if err != nil {
		return c, err
	}
	o.fill()
	cols := o.columns()
	var sc flatScratch
	defer sc.release()
	for _, f := range files {
		if err := readFile(ctx, st, o, cols, f, &sc, sink, &c); err != nil {
			sink.Close(ctx)
			return c, err
		}
	}
	if err := sink.Close(ctx); err != nil {
		return c, err
	}
	return c, nil
}

// fill sets the defaults of the options Read leaves unset.
func (o *ReadOptions) fill() {
	if o.Allocator == nil {
		o.Allocator = memory.DefaultAllocator
	}
	if o.BatchRows <= 0 {
		o.BatchRows = 16 * 1024
	}
}

// columns returns the columns to read: Columns, or all of them.
func (o *ReadOptions) columns() []int {
	if o.Columns != nil {
		return o.Columns
	}
	cols := make([]int, schema.NumColumns)
	for i := range cols {
		cols[i] = i
	}
	return cols
}

func readFile(ctx context.Context, st Store, o ReadOptions, cols []int, f DataFile, sc *flatScratch, sink ingest.Sink, c *ingest.Counts) error {
	filter := o.needsFilter(f.Partition)
	read := cols
	tsPos := slices.Index(cols, schema.Timestamp_)
	if filter && tsPos < 0 {
		read = append(slices.Clone(cols), schema.Timestamp_)
		tsPos = len(read) - 1
	}
	rd, closeFile, err := openParquet(ctx, st, f.Key, o.SpoolDir, o.Allocator)
	if err != nil {
		return err
	}
	defer closeFile()
	ref := ingest.ObjectRef{Key: f.Key, Size: f.Size, DistributionID: f.Partition.DistributionID, Hour: f.Partition.Hour, Source: fmt.Sprint(st)}
	obj, err := sink.Begin(ctx, ref)
	if err != nil {
		return err
	}
	var fc ingest.Counts
	each := func(b arrow.RecordBatch) error {
		fc.Lines += b.NumRows()
		if !filter {
			fc.Rows += b.NumRows()
			return obj.Write(b)
		}
		return writeInRange(obj, b, tsPos, len(cols), o.From, o.To, &fc)
	}
	ok, err := flatBatches(ctx, rd, read, o.BatchRows, o.Allocator, o.DictStrings, sc, each)
	if !ok && err == nil {
		err = fileBatches(ctx, rd, read, o.BatchRows, o.Allocator, each)
	}
	if err != nil {
		obj.Abort()
		return fmt.Errorf("read %s: %w", f.Key, err)
	}
	if err := obj.Commit(); err != nil {
		return fmt.Errorf("read %s: %w", f.Key, err)
	}
	fc.Objects = 1
	fc.Bytes = f.Size
	c.Objects += fc.Objects
	c.Bytes += fc.Bytes
	c.Lines += fc.Lines
	c.Rows += fc.Rows
	c.OutOfRange += fc.OutOfRange
	return nil
}

// writeInRange writes the runs of rows of b whose timestamp (column tsPos)
// lies in [from, to) to obj, restricted to the first ncols columns, and
// counts them as Rows, the others as OutOfRange. A zero bound is open.
func writeInRange(obj ingest.ObjectSink, b arrow.RecordBatch, tsPos, ncols int, from, to time.Time, fc *ingest.Counts) error {
	fromMS, toMS := from.UnixMilli(), to.UnixMilli()
	ts := b.Column(tsPos).(*array.Timestamp)
	n := int(b.NumRows())
	in := func(i int) bool {
		if ts.IsNull(i) {
			return false
		}
		v := int64(ts.Value(i))
		return (from.IsZero() || v >= fromMS) && (to.IsZero() || v < toMS)
	}
	for i := 0; i < n; {
		j := i
		for j < n && in(j) == in(i) {
			j++
		}
		if !in(i) {
			fc.OutOfRange += int64(j - i)
			i = j
			continue
		}
		piece := b.NewSlice(int64(i), int64(j))
		arrs := piece.Columns()[:ncols]
		out := arrow.NewSchema(piece.Schema().Fields()[:ncols], nil)
		pb := array.NewRecordBatch(out, arrs, piece.NumRows())
		piece.Release()
		fc.Rows += pb.NumRows()
		err := obj.Write(pb)
		pb.Release()
		if err != nil {
			return err
		}
		i = j
	}
	return nil
}
