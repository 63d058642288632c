package logparse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/cflens/cflens/ingest/schema"
)

// parquetReadRows is how many rows are decoded from the file at a time;
// output batches still hold up to the batch row target. Smaller reads keep
// less decoded text in memory at once.
const parquetReadRows = 16 * 1024

// ErrCorrupt marks a Parquet object that was read whole but cannot be
// decoded: reading it again will not help.
var ErrCorrupt = errors.New("corrupt parquet")

// ParquetReader reads a standard logging v2 Parquet object into batches
// of the cflens schema. Columns are mapped by name ignoring case, whether
// CloudFront or another tool wrote them: "cs(Host)", "cs_host",
// "cs_Host", "timestamp(ms)" and "timestamp_ms" all work. Values may be
// strings as logged ("-" is NULL) or typed (integers, floats, dates,
// timestamps); each goes through the same conversion as a W3C field, so
// a value that the W3C reader would reject is rejected here too, with
// the row number (from 1) as its line. Only the columns the output needs
// are read.
type ParquetReader struct {
	b    *Reader // builds the rows and batches, and keeps the stats
	pf   *file.Reader
	rr   pqarrow.RecordReader
	cur  arrow.RecordBatch // owned by rr
	row  int               // next row of cur
	cols []parquetColumn   // per column of cur
	done bool
	err  error
	tmp  *os.File // the temporary copy, removed on Release
	line []byte   // the current row's values joined by TAB
	ends []int    // end of each column's value in line; -1 for NULL
}

// parquetColumn is one column read from the file.
type parquetColumn struct {
	pos int // schema column or pos*
	arr arrow.Array
}

// NewParquetReader returns a reader of the Parquet file in ra, of the
// given size. The options are those of NewReader; WithDelimiter and
// WithMaxLineBytes do not apply.
func NewParquetReader(ra io.ReaderAt, size int64, opts ...Option) (*ParquetReader, error) {
	b := NewReader(bytes.NewReader(nil), opts...)
	p := &ParquetReader{b: b}
	b.stats.Bytes = size
	if err := p.open(ra, size); err != nil {
		p.Release()
		return nil, err
	}
	return p, nil
}

// recoverCorrupt turns a panic of the Parquet library on a damaged file
// (seen: "invalid logical type", nil dereferences) into an error wrapping
// ErrCorrupt, so that one bad object cannot stop a run.
func recoverCorrupt(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %v", ErrCorrupt, r)
	}
}

// open reads the footer and prepares the record reader.
func (p *ParquetReader) open(ra io.ReaderAt, size int64) (err error) {
	defer recoverCorrupt(&err)
	b := p.b
	props := parquet.NewReaderProperties(b.o.mem)
	pf, err := file.NewParquetReader(io.NewSectionReader(ra, 0, size), file.WithReadProps(props))
	if err != nil {
		return fmt.Errorf("open parquet: %w: %w", ErrCorrupt, err)
	}
	p.pf = pf
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(min(b.o.batchRows, parquetReadRows))}, b.o.mem)
	if err != nil {
		return fmt.Errorf("open parquet: %w: %w", ErrCorrupt, err)
	}
	var leaves []int
	for _, f := range fr.Manifest.Fields {
		name := f.Field.Name
		pos := fieldPos(name)
		if pos == posUnknown || !f.IsLeaf() {
			b.stats.addUnknownField(name)
			continue
		}
		if pos >= 0 && !b.capture[pos] {
			continue
		}
		leaves = append(leaves, f.ColIndex)
	}
	if len(leaves) == 0 {
		// Nothing that gives a time: every row is rejected.
		n := pf.NumRows()
		if n > 0 {
			b.stats.Lines += n
			b.stats.Rejected += n
			b.stats.RejectedBy[ReasonNoTimestamp] += n
			b.lineNo = 1
			b.stats.Samples = append(b.stats.Samples, Sample{Source: b.o.source, Line: 1, Reason: ReasonNoTimestamp,
				Detail: "no column gives the time"})
		}
		p.done = true
		return nil
	}
	rr, err := fr.GetRecordReader(context.Background(), leaves, nil)
	if err != nil {
		return fmt.Errorf("read parquet: %w: %w", ErrCorrupt, err)
	}
	p.rr = rr
	return nil
}

// fieldPos maps a field or column name to its schema column, a pos*
// marker for the timestamps, or posUnknown.
func fieldPos(name string) int {
	if c := schema.Lookup(name); c >= 0 {
		return c
	}
	if ok, ms := schema.IsTimestampField(name); ok {
		if ms {
			return posTsMilli
		}
		return posTsSec
	}
	return posUnknown
}

// openParquetCopy copies r to a temporary file and reads it from there.
func openParquetCopy(r io.Reader, limit int64, opts ...Option) (BatchReader, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	tmp, err := os.CreateTemp(o.tempDir, "cflens-*.parquet") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("buffer parquet: %w", err)
	}
	drop := func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}
	n, err := io.Copy(tmp, io.LimitReader(r, limit+1))
	if err != nil {
		drop()
		return nil, fmt.Errorf("buffer parquet: %w", err)
	}
	if n > limit {
		drop()
		return nil, fmt.Errorf("parquet over %d bytes: %w", limit, ErrTooLarge)
	}
	p, err := NewParquetReader(tmp, n, opts...)
	if err != nil {
		drop()
		return nil, err
	}
	p.tmp = tmp
	return p, nil
}

// Schema returns the schema of the batches.
func (p *ParquetReader) Schema() *arrow.Schema { return p.b.schema }

// Batch returns the current batch, valid until the next call to Next or
// Release.
func (p *ParquetReader) Batch() arrow.RecordBatch { return p.b.batch }

// Err returns the error that stopped the reader, if any.
func (p *ParquetReader) Err() error { return p.err }

// Stats returns the counts so far. Lines counts rows of the file, Bytes
// the size of the file.
func (p *ParquetReader) Stats() Stats { return p.b.stats }

// Next reads the next batch.
func (p *ParquetReader) Next() bool {
	b := p.b
	if b.batch != nil {
		b.batch.Release()
		b.batch = nil
	}
	if p.err != nil || b.apps == nil {
		return false
	}
	if err := p.fill(); err != nil {
		p.err = err
		return false
	}
	if b.rows == 0 {
		return false
	}
	b.flush()
	return true
}

// fill converts rows until the batch is full or the file ends.
func (p *ParquetReader) fill() (err error) {
	defer recoverCorrupt(&err)
	b := p.b
	for b.rows < b.o.batchRows && b.rowBytes < maxBatchBytes {
		if p.cur == nil || p.row >= int(p.cur.NumRows()) {
			if p.done || !p.nextRecord() {
				break
			}
			continue
		}
		p.addRow(p.row)
		p.row++
	}
	return p.err
}

// nextRecord moves to the next record of the file.
func (p *ParquetReader) nextRecord() bool {
	p.cur = nil
	if !p.rr.Next() {
		p.done = true
		if err := p.rr.Err(); err != nil && !errors.Is(err, io.EOF) {
			p.err = fmt.Errorf("read parquet: %w: %w", ErrCorrupt, err)
		}
		return false
	}
	p.cur = p.rr.RecordBatch()
	p.row = 0
	p.cols = p.cols[:0]
	for i, f := range p.cur.Schema().Fields() {
		pos := fieldPos(f.Name)
		if arrow.TypeEqual(f.Type, arrow.FixedWidthTypes.Date32) && pos == schema.Date_ {
			// Typed dates go through the date text.
		} else if _, ok := f.Type.(*arrow.TimestampType); ok && (pos == posTsSec || pos == schema.Timestamp_) {
			pos = posTsMilli // a typed timestamp is absolute, whatever its name
		}
		p.cols = append(p.cols, parquetColumn{pos: pos, arr: p.cur.Column(i)})
	}
	return true
}

// addRow converts row i of the current record through the row builder.
func (p *ParquetReader) addRow(i int) {
	b := p.b
	line := p.line[:0]
	ends := p.ends[:0]
	for k, c := range p.cols {
		if k > 0 {
			line = append(line, '\t')
		}
		var ok bool
		line, ok = appendValue(line, c.arr, i)
		if !ok {
			line = append(line, '-')
			ends = append(ends, -1)
			continue
		}
		ends = append(ends, len(line))
	}
	p.line, p.ends = line, ends
	b.lineNo++
	b.stats.Lines++
	b.tsMilli, b.tsSec = nil, nil
	start := 0
	for k, c := range p.cols {
		end := ends[k]
		var v []byte
		if end >= 0 {
			v = line[start:end]
			start = end + 1
		} else {
			start += 2 // "-" and the TAB
		}
		switch {
		case c.pos >= 0:
			if isNull(v) {
				v = nil
			}
			b.vals[c.pos] = v
		case c.pos == posTsMilli:
			b.tsMilli = v
		case c.pos == posTsSec:
			b.tsSec = v
		}
	}
	b.row(line)
}

// appendValue appends the text of a[i] as a W3C field would hold it; ok
// is false for NULL.
func appendValue(dst []byte, a arrow.Array, i int) ([]byte, bool) {
	if a.IsNull(i) {
		return dst, false
	}
	switch a := a.(type) {
	case *array.String:
		return append(dst, a.Value(i)...), true
	case *array.LargeString:
		return append(dst, a.Value(i)...), true
	case *array.Binary:
		return append(dst, a.Value(i)...), true
	case *array.LargeBinary:
		return append(dst, a.Value(i)...), true
	case *array.Dictionary:
		return appendValue(dst, a.Dictionary(), a.GetValueIndex(i))
	case *array.Int64:
		return strconv.AppendInt(dst, a.Value(i), 10), true
	case *array.Int32:
		return strconv.AppendInt(dst, int64(a.Value(i)), 10), true
	case *array.Int16:
		return strconv.AppendInt(dst, int64(a.Value(i)), 10), true
	case *array.Int8:
		return strconv.AppendInt(dst, int64(a.Value(i)), 10), true
	case *array.Uint64:
		return strconv.AppendUint(dst, a.Value(i), 10), true
	case *array.Uint32:
		return strconv.AppendUint(dst, uint64(a.Value(i)), 10), true
	case *array.Uint16:
		return strconv.AppendUint(dst, uint64(a.Value(i)), 10), true
	case *array.Uint8:
		return strconv.AppendUint(dst, uint64(a.Value(i)), 10), true
	case *array.Float64:
		return strconv.AppendFloat(dst, a.Value(i), 'f', -1, 64), true
	case *array.Float32:
		return strconv.AppendFloat(dst, float64(a.Value(i)), 'f', -1, 32), true
	case *array.Date32:
		return append(dst, a.Value(i).FormattedString()...), true
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return strconv.AppendInt(dst, a.Value(i).ToTime(unit).UnixMilli(), 10), true
	}
	return append(dst, a.ValueStr(i)...), true
}

// Release frees the reader's memory and removes its temporary file.
func (p *ParquetReader) Release() {
	p.b.Release()
	if p.rr != nil {
		func() {
			defer func() { recover() }() // after a panic inside, its state may be broken
			p.rr.Release()
		}()
		p.rr = nil
	}
	p.cur = nil
	if p.pf != nil {
		p.pf.Close()
		p.pf = nil
	}
	if p.tmp != nil {
		p.tmp.Close()
		os.Remove(p.tmp.Name())
		p.tmp = nil
	}
}
