package logparse

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/cflens/cflens/ingest/schema"
)

// appender appends the values of one column. There is one per output
// column, chosen once by the column's kind. check validates a value before
// any column of the row is appended, so a bad row leaves no partial trace;
// append always follows check of the same value. reserve starts a batch,
// which newArray ends.
//
// Arrow's builders take a value in several calls (capacity checks, a
// validity bit, for strings an offset append through a function value),
// which add up to much of the cost of a row. So the appenders of text
// write values and offsets straight into the buffers of the batch's array,
// those of numbers gather values and append them in bulk, and all note
// nulls in runs, turned into a validity bitmap or appended at once:
// columns that a header does not name are null on every row.
type appender interface {
	check(v []byte) error
	append(v []byte)
	appendNull()
	reserve(n int)
	newArray() arrow.Array
	release()
}

// fillers holds the appenders of a reader's output columns by how a row
// fills them, each list in column order, so that the row loop calls them
// without a switch on the column and, but for the numbers (of three
// types), without the appender interface. The constant columns, filled
// once per batch, are in none of the lists.
type fillers struct {
	ts    []*tsAppender         // the computed timestamp
	dates []*dateAppender       // the computed date
	lines []*numAppender[int64] // the line number
	nums  []filler[appender]    // numbers from a field, parsed by check
	dicts []filler[*dictAppender]
	strs  []filler[*stringAppender]
}

// filler is the appender of a column filled from a field value.
type filler[A appender] struct {
	c int // schema column
	a A
}

func (f *fillers) add(c int, a appender) {
	switch c {
	case schema.Timestamp_:
		f.ts = append(f.ts, a.(*tsAppender))
	case schema.Date_:
		f.dates = append(f.dates, a.(*dateAppender))
	case schema.Line:
		f.lines = append(f.lines, a.(*numAppender[int64]))
	case schema.DistributionID, schema.Role, schema.Source:
	default:
		switch a := a.(type) {
		case *dictAppender:
			f.dicts = append(f.dicts, filler[*dictAppender]{c, a})
		case *stringAppender:
			f.strs = append(f.strs, filler[*stringAppender]{c, a})
		default:
			f.nums = append(f.nums, filler[appender]{c, a})
		}
	}
}

func newAppender(mem memory.Allocator, col int) appender {
	dt := schema.ArrowType(schema.Col(col).Kind)
	switch schema.Col(col).Kind {
	case schema.DictString:
		ddt := dt.(*arrow.DictionaryType)
		return &dictAppender{mem: mem, dt: ddt, b: array.NewDictionaryBuilder(mem, ddt).(*array.BinaryDictionaryBuilder)}
	case schema.Int32:
		return newNumAppender(array.NewInt32Builder(mem), parseInt32)
	case schema.Int64:
		return newNumAppender(array.NewInt64Builder(mem), parseInt)
	case schema.Float64:
		return newNumAppender(array.NewFloat64Builder(mem), parseFloat)
	case schema.Date:
		return &dateAppender{newFixed[arrow.Date32](array.NewDate32Builder(mem))}
	case schema.Timestamp:
		return &tsAppender{newFixed[arrow.Timestamp](array.NewTimestampBuilder(mem, dt.(*arrow.TimestampType)))}
	default:
		return &stringAppender{mem: mem, dt: dt}
	}
}

// nullRuns notes the null rows of a batch as runs of consecutive rows,
// cleared in the validity bitmap once per batch: columns that a header
// does not name are null on every row, a single run.
type nullRuns struct {
	runs  []nullRun
	count int
}

type nullRun struct{ start, n int }

func (r *nullRuns) add(row int) {
	if k := len(r.runs) - 1; k >= 0 && r.runs[k].start+r.runs[k].n == row {
		r.runs[k].n++
	} else {
		r.runs = append(r.runs, nullRun{row, 1})
	}
	r.count++
}

// bitmap returns the validity bitmap of a batch of n rows.
func (r *nullRuns) bitmap(mem memory.Allocator, n int) *memory.Buffer {
	valid := memory.NewResizableBuffer(mem)
	valid.Resize(int(bitutil.BytesForBits(int64(n))))
	bits := valid.Bytes()
	memory.Set(bits, 0)
	bitutil.SetBitsTo(bits, 0, int64(n), true)
	for _, run := range r.runs {
		bitutil.SetBitsTo(bits, int64(run.start), int64(run.n), false)
	}
	return valid
}

func (r *nullRuns) reset() { r.runs, r.count = r.runs[:0], 0 }

// growInt32 returns buf, made if nil, with room for n int32 values (at
// least doubled if it grows), and its content as int32.
func growInt32(mem memory.Allocator, buf *memory.Buffer, n int) (*memory.Buffer, []int32) {
	if buf == nil {
		buf = memory.NewResizableBuffer(mem)
	}
	if need := n * arrow.Int32SizeBytes; need > buf.Cap() {
		buf.Reserve(max(need, 2*buf.Cap()))
	}
	return buf, arrow.Int32Traits.CastFromBytes(buf.Buf())
}

// stringAppender writes the values of a batch straight into the buffers
// of its array, with one copy and one offset store per value, where the
// builder's Append makes several calls (capacity checks, an offset append
// through a function value, a validity bit). The array is the same as the
// builder's. A batch starts with room for an eighth more text than the
// previous one held: batches of the same rows hold a little more or less
// text, and one that outgrew its buffer by a few bytes would double it
// and copy it.
type stringAppender struct {
	mem      memory.Allocator
	dt       arrow.DataType
	offsets  *memory.Buffer // nil between batches
	text     *memory.Buffer // nil between batches
	ends     []int32        // offsets.Buf(): ends[i+1] is the end of value i
	data     []byte         // text.Buf()
	n        int            // values in the batch
	size     int            // bytes of text in the batch
	nulls    nullRuns
	lastData int
	total    int64 // bytes of text in the batches made so far
}

// minText is the least text a stringAppender makes room for, so that the
// array of a batch of empty values has a text buffer.
const minText = 64

func (a *stringAppender) check([]byte) error { return nil }
func (a *stringAppender) append(v []byte) {
	if a.n+2 > len(a.ends) || a.size+len(v) > len(a.data) {
		a.grow(1, len(v))
	}
	a.size += copy(a.data[a.size:], v)
	a.n++
	a.ends[a.n] = int32(a.size)
}
func (a *stringAppender) appendNull() {
	a.nulls.add(a.n)
	a.append(nil)
}

// grow makes room for rows more values and bytes more text, at least
// doubling a buffer that grows.
func (a *stringAppender) grow(rows, bytes int) {
	a.offsets, a.ends = growInt32(a.mem, a.offsets, a.n+1+rows)
	if a.text == nil {
		a.text = memory.NewResizableBuffer(a.mem)
	}
	if need := a.size + bytes; need > a.text.Cap() || a.text.Cap() == 0 {
		a.text.Reserve(max(need, 2*a.text.Cap(), minText))
	}
	a.data = a.text.Buf()
	if a.n == 0 {
		a.ends[0] = 0
	}
}
func (a *stringAppender) reserve(n int) { a.grow(n, a.lastData+a.lastData/8) }
func (a *stringAppender) newArray() arrow.Array {
	a.grow(0, 0) // a batch without values still has buffers
	a.offsets.ResizeNoShrink((a.n + 1) * arrow.Int32SizeBytes)
	a.text.ResizeNoShrink(a.size)
	valid := a.nulls.bitmap(a.mem, a.n)
	defer valid.Release()
	data := array.NewData(a.dt, a.n, []*memory.Buffer{valid, a.offsets, a.text}, nil, a.nulls.count, 0)
	defer data.Release()
	a.lastData = a.size
	a.total += int64(a.size)
	a.release()
	a.n, a.size = 0, 0
	a.nulls.reset()
	return array.MakeFromData(data)
}
func (a *stringAppender) release() {
	if a.offsets != nil {
		a.offsets.Release()
	}
	if a.text != nil {
		a.text.Release()
	}
	a.offsets, a.text, a.ends, a.data = nil, nil, nil, nil
}

// dictAppender writes the dictionary index of each value straight into
// the index buffer of its array, and remembers the index of recent values
// in a small direct-mapped cache, so that the low-cardinality values of a
// log, which repeat on almost every line, skip the dictionary's hash
// table. The dictionary is kept by a builder, which a value missing from
// the cache is appended to; it is never reset, so a cached index stays
// right across batches, and each batch's array takes the whole dictionary
// from it. The array is the same as with one Append per value.
type dictAppender struct {
	mem   memory.Allocator
	dt    *arrow.DictionaryType
	b     *array.BinaryDictionaryBuilder
	cache [dictCacheSize]dictEntry
	idx   *memory.Buffer // indices of the batch, nil between batches
	ids   []int32        // idx.Buf()
	n     int            // indices in the batch
	nulls nullRuns
}

type dictEntry struct {
	key []byte
	idx int32
}

// dictCacheSize is a power of two.
const dictCacheSize = 64

// dictSlot picks a cache slot from the length and two bytes of v.
func dictSlot(v []byte) int {
	n := len(v)
	return (n*7 + int(v[0])*3 + int(v[n/2])*5 + int(v[n-1])) & (dictCacheSize - 1)
}

func (a *dictAppender) check([]byte) error { return nil }
func (a *dictAppender) append(v []byte) {
	if a.n == len(a.ids) {
		a.grow(1)
	}
	a.ids[a.n] = a.index(v)
	a.n++
}
func (a *dictAppender) appendNull() {
	if a.n == len(a.ids) {
		a.grow(1)
	}
	a.nulls.add(a.n)
	a.ids[a.n] = 0
	a.n++
}

// index returns the dictionary index of v, adding v to the dictionary
// if it is new. The empty value is not cached: the slot needs a byte.
func (a *dictAppender) index(v []byte) int32 {
	if len(v) == 0 {
		return a.insert(v)
	}
	e := &a.cache[dictSlot(v)]
	if string(e.key) == string(v) {
		return e.idx
	}
	i := a.insert(v)
	e.key = append(e.key[:0], v...)
	e.idx = i
	return i
}

// insert looks v up in the builder's dictionary, adding it if new.
func (a *dictAppender) insert(v []byte) int32 {
	if err := a.b.Append(v); err != nil {
		// Only an index overflow past 2^31 distinct values can fail; a
		// batch holds at most maxBatchBytes of text.
		panic(err)
	}
	return int32(a.b.GetValueIndex(a.b.Len() - 1))
}

// grow makes room for rows more indices.
func (a *dictAppender) grow(rows int) { a.idx, a.ids = growInt32(a.mem, a.idx, a.n+rows) }

func (a *dictAppender) reserve(n int) { a.grow(n) }
func (a *dictAppender) newArray() arrow.Array {
	// The builder's array holds the dictionary so far, and the indices
	// of the values appended to it, which are not needed.
	all := a.b.NewArray().(*array.Dictionary)
	defer all.Release()
	a.grow(0) // a batch without values still has a buffer
	a.idx.ResizeNoShrink(a.n * arrow.Int32SizeBytes)
	arr := newDictArray(a.mem, a.dt, a.n, a.idx, &a.nulls, all.Dictionary())
	a.idx.Release()
	a.idx, a.ids, a.n = nil, nil, 0
	a.nulls.reset()
	return arr
}
func (a *dictAppender) release() {
	if a.idx != nil {
		a.idx.Release()
		a.idx, a.ids = nil, nil
	}
	a.b.Release()
}

// newDictArray returns the dictionary array of the n int32 indices in idx
// into dict, null at the rows of nulls.
func newDictArray(mem memory.Allocator, dt *arrow.DictionaryType, n int, idx *memory.Buffer, nulls *nullRuns, dict arrow.Array) arrow.Array {
	valid := nulls.bitmap(mem, n)
	defer valid.Release()
	data := array.NewData(dt.IndexType, n, []*memory.Buffer{valid, idx}, nil, nulls.count, 0)
	defer data.Release()
	indices := array.MakeFromData(data)
	defer indices.Release()
	return array.NewDictionaryArray(dt, indices, dict)
}

// fixedBuilder is what fixed needs of an Arrow builder.
type fixedBuilder[T any] interface {
	AppendValues([]T, []bool)
	AppendNulls(int)
	Reserve(int)
	NewArray() arrow.Array
	Release()
}

// fixed gathers the values of a fixed-width column, then the run of nulls
// after them, and appends them in bulk: one AppendValues of a few hundred
// values costs about as much as one Append, which reserves room and sets a
// validity bit per value. The array is the same as with one Append per
// value.
type fixed[T any] struct {
	b     fixedBuilder[T]
	vals  []T // values not yet appended
	nulls int // nulls not yet appended, after vals
}

// fixedBatch is how many values a fixed holds before appending them.
const fixedBatch = 256

func newFixed[T any](b fixedBuilder[T]) fixed[T] {
	return fixed[T]{b: b, vals: make([]T, 0, fixedBatch)}
}

func (f *fixed[T]) put(v T) {
	if f.nulls > 0 || len(f.vals) == cap(f.vals) {
		f.flush()
	}
	f.vals = append(f.vals, v)
}

func (f *fixed[T]) putNull() { f.nulls++ }

// flush appends the values and nulls held.
func (f *fixed[T]) flush() {
	f.b.AppendValues(f.vals, nil)
	f.b.AppendNulls(f.nulls)
	f.vals, f.nulls = f.vals[:0], 0
}

func (f *fixed[T]) reserve(n int) { f.b.Reserve(n) }
func (f *fixed[T]) newArray() arrow.Array {
	f.flush()
	return f.b.NewArray()
}
func (f *fixed[T]) release() { f.b.Release() }

// numAppender appends a numeric column. check parses the value with
// parse and keeps it; append appends the kept value, so a value is parsed
// once.
type numAppender[T any] struct {
	fixed[T]
	parse func([]byte) (T, bool)
	v     T
}

func newNumAppender[T any](b fixedBuilder[T], parse func([]byte) (T, bool)) *numAppender[T] {
	return &numAppender[T]{fixed: newFixed(b), parse: parse}
}

func (a *numAppender[T]) check(v []byte) error {
	x, ok := a.parse(v)
	if !ok {
		return errBadNumber
	}
	a.v = x
	return nil
}
func (a *numAppender[T]) append([]byte) { a.put(a.v) }
func (a *numAppender[T]) appendNull()   { a.putNull() }

func parseInt32(b []byte) (int32, bool) {
	n, ok := parseInt(b)
	if !ok || n < -1<<31 || n > 1<<31-1 {
		return 0, false
	}
	return int32(n), true
}

// dateAppender and tsAppender are filled from the parsed timestamp (with
// put), not from a field value.
type dateAppender struct{ fixed[arrow.Date32] }

func (a *dateAppender) check([]byte) error { return nil }
func (a *dateAppender) append([]byte)      {}
func (a *dateAppender) appendNull()        { a.putNull() }

type tsAppender struct{ fixed[arrow.Timestamp] }

func (a *tsAppender) check([]byte) error { return nil }
func (a *tsAppender) append([]byte)      {}
func (a *tsAppender) appendNull()        { a.putNull() }
