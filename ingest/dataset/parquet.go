package dataset

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/cflens/cflens/ingest/schema"
)

// Compression names accepted in Options.Compression.
const (
	CompressionZstd   = "zstd"
	CompressionSnappy = "snappy"
)

func codecOf(name string) (compress.Compression, error) {
	switch name {
	case "", CompressionZstd:
		return compress.Codecs.Zstd, nil
	case CompressionSnappy:
		return compress.Codecs.Snappy, nil
	}
	return compress.Codecs.Uncompressed, fmt.Errorf("unknown compression %q (want %s or %s)", name, CompressionZstd, CompressionSnappy)
}

// plainColumns are string columns whose values are nearly all distinct, so a
// dictionary only costs time before the writer falls back to plain.
var plainColumns = [...]int{schema.EdgeRequestID, schema.ConnectionID, schema.CsCookie}

// newRunFallbacks returns the dictionary fallbacks a run's files share:
// every string column may give up a dictionary that overflows, except
// cs-uri-stem, which the analysis reads by its dictionary entries.
func newRunFallbacks() *dictFallbacks {
	return newDictFallbacks(schema.NumColumns, schema.CsURIStem)
}

// writerProperties returns the Parquet properties of the dataset: the
// named codec, dictionary encoding for strings, statistics, row groups of
// rowGroupRows, and Athena-safe types (timestamps as INT64 milliseconds,
// adjusted to UTC; no unsigned integers exist in the schema).
func writerProperties(o Options, mem memory.Allocator) (*parquet.WriterProperties, pqarrow.ArrowWriterProperties, error) {
	codec, err := codecOf(o.Compression)
	if err != nil {
		return nil, pqarrow.ArrowWriterProperties{}, err
	}
	opts := []parquet.WriterProperty{
		parquet.WithAllocator(mem),
		parquet.WithCompression(codec),
		parquet.WithStats(true),
		parquet.WithMaxRowGroupLength(o.RowGroupRows),
		parquet.WithDictionaryDefault(false),
		parquet.WithCreatedBy("cflens"),
	}
	if o.PageBytes > 0 {
		opts = append(opts, parquet.WithDataPageSize(o.PageBytes))
	}
	if o.CompressionLevel != 0 && codec == compress.Codecs.Zstd {
		opts = append(opts, parquet.WithCompressionLevel(o.CompressionLevel))
	}
	plain := map[int]bool{}
	for _, c := range plainColumns {
		plain[c] = true
	}
	for i, c := range schema.Columns() {
		if (c.Kind == schema.String || c.Kind == schema.DictString) && !plain[i] {
			opts = append(opts, parquet.WithDictionaryFor(c.Name, true))
		}
	}
	arrowProps := pqarrow.NewArrowWriterProperties(
		pqarrow.WithAllocator(mem),
		pqarrow.WithStoreSchema(),
		pqarrow.WithCoerceTimestamps(arrow.Millisecond),
	)
	return parquet.NewWriterProperties(opts...), arrowProps, nil
}

// openParquet opens a data file of the store for reading. Local files are
// read in place; other stores' objects are spooled to a temporary file.
func openParquet(ctx context.Context, st Store, key, spoolDir string, mem memory.Allocator) (*file.Reader, func(), error) {
	f, cleanup, err := openLocal(ctx, st, key, spoolDir)
	if err != nil {
		return nil, nil, err
	}
	rd, err := file.NewParquetReader(f, file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("open parquet %s: %w", key, err)
	}
	return rd, func() { rd.Close(); cleanup() }, nil
}

// openLocal opens a data file of the store as a local file: in place when
// the store has local files, else spooled to a temporary file that
// cleanup removes.
func openLocal(ctx context.Context, st Store, key, spoolDir string) (f *os.File, cleanup func(), err error) {
	if o, ok := st.(ReaderAtOpener); ok {
		if f, err = o.OpenFile(ctx, key); err != nil {
			return nil, nil, err
		}
		return f, func() { f.Close() }, nil
	}
	rc, err := st.Get(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	if f, err = os.CreateTemp(spoolDir, ".cflens-read-*"); err != nil {
		return nil, nil, fmt.Errorf("spool %s: %w", key, err)
	}
	cleanup = func() { f.Close(); os.Remove(f.Name()) }
	if _, err := io.Copy(f, rc); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("spool %s: %w", key, err)
	}
	return f, cleanup, nil
}

// fileBatches reads the given schema columns of a Parquet file as record
// batches of our schema's types (dictionary columns come back as
// dictionaries). Columns missing from the file come back as nulls.
func fileBatches(ctx context.Context, rd *file.Reader, cols []int, batchRows int64, mem memory.Allocator, fn func(arrow.RecordBatch) error) error {
	props := pqarrow.ArrowReadProperties{BatchSize: batchRows}
	// Dictionary columns are read as dictionaries also from files
	// without our Arrow schema (other writers'): the reader takes the
	// setting when it is made.
	for _, c := range cols {
		if schema.Col(c).Kind == schema.DictString {
			if i := rd.MetaData().Schema.ColumnIndexByName(schema.Col(c).Name); i >= 0 {
				props.SetReadDict(i, true)
			}
		}
	}
	fr, err := pqarrow.NewFileReader(rd, props, mem)
	if err != nil {
		return err
	}
	fileSchema, err := fr.Schema()
	if err != nil {
		return err
	}
	var leaves []int
	pos := make([]int, len(cols)) // output column → index among read columns, or -1
	for i, c := range cols {
		idx := fileSchema.FieldIndices(schema.Col(c).Name)
		if len(idx) == 0 {
			pos[i] = -1
			continue
		}
		if schema.Col(c).Kind == schema.DictString {
			fr.Props.SetReadDict(idx[0], true)
		}
		pos[i] = len(leaves)
		leaves = append(leaves, idx[0])
	}
	rr, err := fr.GetRecordReader(ctx, leaves, nil)
	if err != nil {
		return err
	}
	defer rr.Release()
	full := schema.Arrow()
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = full.Field(c)
	}
	out := arrow.NewSchema(fields, nil)
	for rr.Next() {
		rec := rr.RecordBatch()
		arrs := make([]arrow.Array, len(cols))
		var made []arrow.Array
		for i, p := range pos {
			if p < 0 {
				a := nullArray(mem, fields[i].Type, int(rec.NumRows()))
				made = append(made, a)
				arrs[i] = a
				continue
			}
			arrs[i] = rec.Column(p)
			if ts, ok := arrs[i].(*array.Timestamp); ok && !arrow.TypeEqual(ts.DataType(), fields[i].Type) {
				// Other writers' timestamps (Athena's INSERT INTO writes
				// INT96, read as nanoseconds; DuckDB microseconds).
				if a := timestampMillis(mem, ts, fields[i].Type); a != nil {
					made = append(made, a)
					arrs[i] = a
				}
			}
			if !arrow.TypeEqual(arrs[i].DataType(), fields[i].Type) {
				for _, a := range made {
					a.Release()
				}
				return fmt.Errorf("column %s has type %s, want %s", fields[i].Name, arrs[i].DataType(), fields[i].Type)
			}
		}
		b := newBatch(out, arrs, rec.NumRows())
		for _, a := range made {
			a.Release()
		}
		err := fn(b)
		b.Release()
		if err != nil {
			return err
		}
	}
	return rr.Err()
}

// timestampMillis converts a timestamp array of another unit to the
// schema's timestamp type (milliseconds, UTC), rounding down; nil when
// want is not a millisecond timestamp.
func timestampMillis(mem memory.Allocator, ts *array.Timestamp, want arrow.DataType) arrow.Array {
	wt, ok := want.(*arrow.TimestampType)
	if !ok || wt.Unit != arrow.Millisecond {
		return nil
	}
	per := int64(arrow.Millisecond.Multiplier() / ts.DataType().(*arrow.TimestampType).Unit.Multiplier())
	b := array.NewTimestampBuilder(mem, wt)
	defer b.Release()
	b.Reserve(ts.Len())
	for i := range ts.Len() {
		if ts.IsNull(i) {
			b.AppendNull()
			continue
		}
		v := int64(ts.Value(i))
		switch {
		case per > 1:
			q := v / per
			if v%per < 0 {
				q--
			}
			v = q
		case per == 0: // seconds
			v *= 1000
		}
		b.Append(arrow.Timestamp(v))
	}
	return b.NewArray()
}
