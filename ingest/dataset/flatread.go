package dataset

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pqschema "github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/cflens/cflens/ingest/schema"
)

// flatBatches reads the given schema columns of a Parquet file with the
// column chunk readers, without pqarrow's record readers, when every
// requested column that the file holds is a flat INT32, INT64, timestamp
// (milliseconds) or string column of the expected type; otherwise it
// returns false before reading anything. It is the analysis's fast path:
// pqarrow rebuilds a dictionary column value by value through a hash
// table (always for pages that the writer stored plain), and allocates
// fresh scratch space for every column chunk. Batches hold at most
// batchRows rows of one row group. With dictStrings, String columns come
// back as dictionaries too. sc keeps scratch space and builders from one
// file to the next.
func flatBatches(ctx context.Context, rd *file.Reader, cols []int, batchRows int64, mem memory.Allocator, dictStrings bool, sc *flatScratch, fn func(arrow.RecordBatch) error) (bool, error) {
	md := rd.MetaData()
	fileSchema, err := pqarrow.FromParquet(md.Schema, &pqarrow.ArrowReadProperties{}, md.KeyValueMetadata())
	if err != nil {
		return false, nil
	}
	for len(sc.cols) < len(cols) {
		sc.cols = append(sc.cols, &flatColumn{})
	}
	crs := sc.cols[:len(cols)]
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		col := schema.Col(c)
		want := schema.ArrowType(col.Kind)
		fc := crs[i]
		fc.reset(col.Kind, mem)
		fc.pool = &sc.pool
		if col.Kind == schema.String && dictStrings {
			want = schema.ArrowType(schema.DictString)
			fc.kind = schema.DictString
		}
		fields[i] = arrow.Field{Name: col.Name, Type: want, Nullable: true}
		idx := fileSchema.FieldIndices(col.Name)
		if len(idx) == 0 {
			continue
		}
		leaf := md.Schema.ColumnIndexByName(col.Name)
		if len(idx) != 1 || leaf < 0 || !flatCompatible(md.Schema.Column(leaf), col.Kind, fileSchema.Field(idx[0]).Type) {
			return false, nil
		}
		fc.leaf = leaf
	}
	out := arrow.NewSchema(fields, nil)
	defer func() {
		for _, fc := range crs {
			fc.closeChunk()
		}
	}()
	arrs := make([]arrow.Array, len(cols))
	for g := 0; g < rd.NumRowGroups(); g++ {
		rg := rd.RowGroup(g)
		rows := rg.NumRows()
		for _, fc := range crs {
			if fc.leaf < 0 {
				continue
			}
			if fc.kind == schema.DictString && onlyDictPages(rg, fc.leaf) {
				err = fc.startDictChunk(rg, md.Schema.Column(fc.leaf))
				sc.indexChunks++
			} else {
				fc.cr, err = rg.Column(fc.leaf)
			}
			if err != nil {
				return true, err
			}
		}
		for done := int64(0); done < rows; {
			if err := ctx.Err(); err != nil {
				return true, err
			}
			n := min(batchRows, rows-done)
			for i, fc := range crs {
				if arrs[i], err = fc.read(n, fields[i].Type); err != nil {
					for _, a := range arrs[:i] {
						a.Release()
					}
					return true, fmt.Errorf("column %s: %w", fields[i].Name, err)
				}
			}
			b := newBatch(out, arrs, n)
			for _, a := range arrs {
				a.Release()
			}
			err := fn(b)
			b.Release()
			if err != nil {
				return true, err
			}
			done += n
		}
		for _, fc := range crs {
			if err := fc.closeChunk(); err != nil {
				return true, err
			}
		}
	}
	return true, nil
}

// flatCompatible reports whether a Parquet leaf column holds values of
// kind k that flatColumn can read: flat, at most optional, of the
// physical type and Arrow type that the dataset writer gives k.
func flatCompatible(d *pqschema.Column, k schema.Kind, got arrow.DataType) bool {
	if d.MaxRepetitionLevel() != 0 || d.MaxDefinitionLevel() > 1 {
		return false
	}
	want := schema.ArrowType(k)
	switch k {
	case schema.Int32:
		return d.PhysicalType() == parquet.Types.Int32 && arrow.TypeEqual(got, want)
	case schema.Int64:
		return d.PhysicalType() == parquet.Types.Int64 && arrow.TypeEqual(got, want)
	case schema.Timestamp:
		ts, ok := d.LogicalType().(pqschema.TimestampLogicalType)
		return ok && ts.TimeUnit() == pqschema.TimeUnitMillis && d.PhysicalType() == parquet.Types.Int64 && arrow.TypeEqual(got, want)
	case schema.String, schema.DictString:
		if d.PhysicalType() != parquet.Types.ByteArray {
			return false
		}
		if dt, ok := got.(*arrow.DictionaryType); ok {
			got = dt.ValueType
		}
		return arrow.TypeEqual(got, arrow.BinaryTypes.String)
	}
	return false
}

// flatColumn reads one column of a file batch by batch, keeping its
// scratch space and builders across row groups and batches.
type flatColumn struct {
	kind schema.Kind
	leaf int // -1: not in the file
	mem  memory.Allocator
	cr   file.ColumnChunkReader

	// dc reads the chunks of dictionary-output string columns whose
	// data pages are all dictionary-encoded (indexPages), taking their
	// indices as they are. Other chunks go the column chunk reader's way,
	// which looks every value up, into dict, which numbers them again.
	dc         dictChunk
	indexPages bool

	defs  []int16
	i32   []int32
	valid []bool
	bas   []parquet.ByteArray
	dict  stringMemo

	i32b *array.Int32Builder
	strb *array.StringBuilder

	pool *recycler // index and fixed-width value buffers
}

// startDictChunk reads the column's chunk of row group rg with dc.
func (c *flatColumn) startDictChunk(rg *file.RowGroupReader, d *pqschema.Column) error {
	pr, err := rg.GetColumnPageReader(c.leaf)
	if err != nil {
		return err
	}
	c.dc.open(pr, d.MaxDefinitionLevel())
	c.indexPages = true
	return nil
}

// onlyDictPages reports whether the metadata of a column chunk says that
// all its data pages are dictionary-encoded.
func onlyDictPages(rg *file.RowGroupReader, leaf int) bool {
	cc, err := rg.MetaData().ColumnChunk(leaf)
	if err != nil {
		return false
	}
	stats := cc.EncodingStats()
	data := 0
	for _, st := range stats {
		switch st.PageType {
		case file.PageTypeDataPage, file.PageTypeDataPageV2:
			if st.Encoding != parquet.Encodings.RLEDict && st.Encoding != parquet.Encodings.PlainDict {
				return false
			}
			data++
		case file.PageTypeDictionaryPage:
		default:
			return false
		}
	}
	return data > 0
}

// closeChunk releases the column chunk reader of the row group read.
func (c *flatColumn) closeChunk() error {
	if c.indexPages {
		c.indexPages = false
		return c.dc.close()
	}
	cl, ok := c.cr.(interface{ Close() error })
	c.cr = nil
	if !ok {
		return nil
	}
	return cl.Close()
}

// flatScratch keeps the flatColumns of a read from one file to the next.
type flatScratch struct {
	cols        []*flatColumn
	pool        recycler
	indexChunks int // chunks read with dictChunk, for tests
}

func (sc *flatScratch) release() {
	for _, c := range sc.cols {
		c.release()
	}
	sc.cols = nil
}

// reset prepares c for a column of kind k of a new file. Builders made
// with another allocator are dropped.
func (c *flatColumn) reset(k schema.Kind, mem memory.Allocator) {
	if c.mem != mem {
		c.release()
		c.mem = mem
	}
	c.closeChunk()
	c.kind, c.leaf, c.cr = k, -1, nil
}

func (c *flatColumn) release() {
	c.closeChunk()
	if c.i32b != nil {
		c.i32b.Release()
	}
	if c.strb != nil {
		c.strb.Release()
	}
	c.i32b, c.strb = nil, nil
}

// read returns the next n rows of the column as an array of type dt.
func (c *flatColumn) read(n int64, dt arrow.DataType) (arrow.Array, error) {
	if c.leaf < 0 {
		return nullArray(c.mem, dt, int(n)), nil
	}
	c.defs = flatGrow(c.defs, n)
	c.valid = flatGrow(c.valid, n)
	// levels reads the pages' levels and values batch by batch with
	// page, which returns the levels and values it read into defs[lv:]
	// and at value position nv. It returns the count of values and
	// whether there are nulls, whose rows it marks in c.valid.
	levels := func(page func(want int64, lv int64, nv int) (int64, int, error)) (nv int, nulls bool, err error) {
		var lv int64
		for lv < n {
			l, v, err := page(n-lv, lv, nv)
			if err != nil {
				return 0, false, err
			}
			if l == 0 {
				if err := c.cr.Err(); err != nil {
					return 0, false, err
				}
				return 0, false, fmt.Errorf("%d rows, want %d", lv, n)
			}
			lv, nv = lv+l, nv+v
		}
		if c.cr.Descriptor().MaxDefinitionLevel() > 0 && int64(nv) < n {
			nulls = true
			for i, d := range c.defs[:n] {
				c.valid[i] = d > 0
			}
		}
		return nv, nulls, nil
	}
	switch c.kind {
	case schema.Int32:
		cr := c.cr.(*file.Int32ColumnChunkReader)
		return readFixed(c, n, dt, levels, func(vals []int32, want, lv int64) (int64, int, error) {
			return cr.ReadBatch(want, vals, c.defs[lv:], nil)
		})
	case schema.Int64, schema.Timestamp:
		cr := c.cr.(*file.Int64ColumnChunkReader)
		return readFixed(c, n, dt, levels, func(vals []int64, want, lv int64) (int64, int, error) {
			return cr.ReadBatch(want, vals, c.defs[lv:], nil)
		})
	}
	if c.indexPages {
		return c.dc.read(int(n), dt, c.mem, c.pool)
	}
	// Strings: values alias the page's buffers, so each page's values
	// are taken in (copied or looked up) before the next page is read.
	cr := c.cr.(*file.ByteArrayColumnChunkReader)
	c.bas = flatGrow(c.bas, n)
	dictOut := c.kind == schema.DictString
	if dictOut {
		c.i32 = flatGrow(c.i32, n)
		c.dict.reset()
	} else {
		if c.strb == nil {
			c.strb = array.NewStringBuilder(c.mem)
		}
		c.strb.Reserve(int(n))
	}
	nv, nulls, err := levels(func(want, lv int64, nv int) (int64, int, error) {
		l, v, err := cr.ReadBatchInPage(want, c.bas[:want], c.defs[lv:], nil)
		if err != nil {
			return 0, 0, err
		}
		if dictOut {
			for i, b := range c.bas[:v] {
				c.i32[nv+i] = c.dict.index(b)
			}
			return l, v, nil
		}
		// Plain output appends in row order, so nulls go in now.
		defs := c.defs[lv : lv+l]
		maxDef := cr.Descriptor().MaxDefinitionLevel()
		j := 0
		for _, d := range defs {
			if maxDef > 0 && d == 0 {
				c.strb.AppendNull()
				continue
			}
			c.strb.BinaryBuilder.Append(c.bas[j])
			j++
		}
		return l, v, nil
	})
	if err != nil {
		return nil, err
	}
	if !dictOut {
		return c.strb.NewArray(), nil
	}
	if c.i32b == nil {
		c.i32b = array.NewInt32Builder(c.mem)
	}
	flatSpread(c.i32b.AppendValues, c.i32[:n], nv, nulls, c.valid[:n])
	idx := c.i32b.NewArray()
	defer idx.Release()
	if c.strb == nil {
		c.strb = array.NewStringBuilder(c.mem)
	}
	c.strb.AppendValues(c.dict.vals, nil)
	d := c.strb.NewArray()
	defer d.Release()
	return array.NewDictionaryArray(dt, idx, d), nil
}

// readFixed reads the next n rows of a fixed-width column straight into
// a buffer of the recycler, spreading the values over the valid rows when
// there are nulls. levels is flatColumn.read's; page reads values into
// vals.
func readFixed[T int32 | int64](c *flatColumn, n int64, dt arrow.DataType, levels func(func(want, lv int64, nv int) (int64, int, error)) (int, bool, error), page func(vals []T, want, lv int64) (int64, int, error)) (arrow.Array, error) {
	var zero T
	buf := memory.NewResizableBuffer(c.pool)
	defer buf.Release()
	buf.Resize(int(n) * int(unsafe.Sizeof(zero)))
	vals := arrow.GetData[T](buf.Bytes())
	nv, nulls, err := levels(func(want, lv int64, nv int) (int64, int, error) {
		return page(vals[nv:], want, lv)
	})
	if err != nil {
		return nil, err
	}
	buffers := []*memory.Buffer{nil, buf}
	if nulls {
		spreadValues(vals, nv, c.valid[:n])
		valid := memory.NewResizableBuffer(c.pool)
		defer valid.Release()
		valid.Resize(int(bitutil.BytesForBits(n)))
		vb := valid.Bytes()
		clear(vb)
		for i, ok := range c.valid[:n] {
			if ok {
				bitutil.SetBit(vb, i)
			}
		}
		buffers[0] = valid
	}
	data := array.NewData(dt, int(n), buffers, nil, int(n)-nv, 0)
	defer data.Release()
	return array.MakeFromData(data), nil
}

// flatSpread appends n values, of which the first nv are the non-null
// ones in order, to a builder: spread over the valid rows when there are
// nulls. vals has room for n values.
func flatSpread[T int32 | int64](add func([]T, []bool), vals []T, nv int, nulls bool, valid []bool) {
	if !nulls {
		add(vals, nil)
		return
	}
	spreadValues(vals, nv, valid)
	add(vals, valid)
}

// spreadValues moves the first nv values of vals, the non-null ones in
// order, to the rows valid marks, and zeroes the others.
func spreadValues[T int32 | int64](vals []T, nv int, valid []bool) {
	j := nv - 1
	for i := len(vals) - 1; i >= 0; i-- {
		if valid[i] {
			vals[i] = vals[j]
			j--
		} else {
			vals[i] = 0
		}
	}
}

// flatGrow returns s with length n, reusing its storage when large enough.
func flatGrow[T any](s []T, n int64) []T {
	if int64(cap(s)) < n {
		return make([]T, n)
	}
	return s[:n]
}

// stringMemo numbers the distinct strings of a batch. A value is looked
// up first among the last value of its length (most columns' values
// differ in length), then by a scan of the few first values, then in a
// map.
type stringMemo struct {
	vals  []string
	m     map[string]int32
	byLen [64]int32 // 1 + index of the last value of each length (mod 64)
}

const stringMemoScan = 8

func (m *stringMemo) reset() {
	m.vals = m.vals[:0]
	m.m = nil
	m.byLen = [64]int32{}
}

func (m *stringMemo) index(b []byte) int32 {
	slot := &m.byLen[len(b)%len(m.byLen)]
	if i := *slot - 1; i >= 0 && m.vals[i] == string(b) {
		return i
	}
	i, ok := m.find(b)
	if !ok {
		i = int32(len(m.vals))
		s := string(b)
		m.vals = append(m.vals, s)
		if m.m != nil {
			m.m[s] = i
		} else if len(m.vals) > stringMemoScan {
			m.m = make(map[string]int32, 2*len(m.vals))
			for j, v := range m.vals {
				m.m[v] = int32(j)
			}
		}
	}
	*slot = i + 1
	return i
}

func (m *stringMemo) find(b []byte) (int32, bool) {
	if m.m != nil {
		i, ok := m.m[string(b)]
		return i, ok
	}
	for i, v := range m.vals {
		if v == string(b) {
			return int32(i), true
		}
	}
	return 0, false
}
