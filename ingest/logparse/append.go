package logparse

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/cflens/cflens/ingest/schema"
)

// appender appends the values of one column. There is one per output
// column, chosen once by the column's kind, so the line loop makes no type
// switch per value. check validates a value before any column of the row
// is appended, so a bad row leaves no partial trace; append always follows
// check of the same value.
//
// The appenders of field values count nulls and append a run of them at
// once (before the next value, or in newArray): columns that a header does
// not name are null on every row, and AppendNulls(n) costs about as much as
// one AppendNull.
type appender interface {
	check(v []byte) error
	append(v []byte)
	appendNull()
	reserve(n int)
	newArray() arrow.Array
	release()
}

func newAppender(mem memory.Allocator, col int) appender {
	dt := schema.ArrowType(schema.Col(col).Kind)
	switch schema.Col(col).Kind {
	case schema.DictString:
		return &dictAppender{b: array.NewDictionaryBuilder(mem, dt.(*arrow.DictionaryType)).(*array.BinaryDictionaryBuilder)}
	case schema.Int32:
		return &numAppender[int32]{b: array.NewInt32Builder(mem), parse: parseInt32}
	case schema.Int64:
		return &numAppender[int64]{b: array.NewInt64Builder(mem), parse: parseInt}
	case schema.Float64:
		return &numAppender[float64]{b: array.NewFloat64Builder(mem), parse: parseFloat}
	case schema.Date:
		return &dateAppender{b: array.NewDate32Builder(mem)}
	case schema.Timestamp:
		return &tsAppender{b: array.NewTimestampBuilder(mem, dt.(*arrow.TimestampType))}
	default:
		return &stringAppender{b: array.NewStringBuilder(mem)}
	}
}

// stringAppender reserves, with the rows of a batch, as much text as the
// previous batch held.
type stringAppender struct {
	b        *array.StringBuilder
	lastData int
	nulls    int // nulls not yet appended
}

func (a *stringAppender) check([]byte) error { return nil }
func (a *stringAppender) append(v []byte) {
	if a.nulls > 0 {
		a.b.AppendNulls(a.nulls)
		a.nulls = 0
	}
	a.b.BinaryBuilder.Append(v)
}
func (a *stringAppender) appendNull() { a.nulls++ }
func (a *stringAppender) reserve(n int) {
	a.b.Reserve(n)
	a.b.ReserveData(a.lastData)
}
func (a *stringAppender) newArray() arrow.Array {
	a.b.AppendNulls(a.nulls)
	a.nulls = 0
	a.lastData = a.b.DataLen()
	return a.b.NewArray()
}
func (a *stringAppender) release() { a.b.Release() }

// dictAppender remembers the dictionary index of recent values in a small
// direct-mapped cache, so that the low-cardinality values of a log, which
// repeat on almost every line, skip the builder's hash table. Indices of
// cached values are gathered and appended in bulk; the builder's
// dictionary is never reset, so a cached index stays right across
// batches. The array is the same as with one Append per value.
type dictAppender struct {
	b       *array.BinaryDictionaryBuilder
	cache   [dictCacheSize]dictEntry
	pending []int  // indices not yet appended to b
	valid   []bool // validity of pending, once it holds a null
	nulls   bool   // pending holds a null
	nullRun int    // nulls not yet appended, while pending is empty
}

type dictEntry struct {
	key []byte
	idx int
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
	if len(v) > 0 {
		e := &a.cache[dictSlot(v)]
		if e.key != nil && string(e.key) == string(v) {
			if a.nullRun > 0 {
				a.flush()
			}
			a.pending = append(a.pending, e.idx)
			if a.nulls {
				a.valid = append(a.valid, true)
			}
			return
		}
		a.flush()
		a.appendValue(v)
		e.key = append(e.key[:0], v...)
		e.idx = a.b.GetValueIndex(a.b.Len() - 1)
		return
	}
	a.flush()
	a.appendValue(v)
}

func (a *dictAppender) appendValue(v []byte) {
	if err := a.b.Append(v); err != nil {
		// Only an index overflow past 2^31 distinct values can fail; a
		// batch holds at most maxBatchBytes of text.
		panic(err)
	}
}

func (a *dictAppender) appendNull() {
	if !a.nulls {
		if len(a.pending) == 0 {
			a.nullRun++
			return
		}
		a.nulls = true
		a.valid = a.valid[:0]
		for range a.pending {
			a.valid = append(a.valid, true)
		}
	}
	a.pending = append(a.pending, 0)
	a.valid = append(a.valid, false)
}

// flush appends the pending nulls and indices to the builder.
func (a *dictAppender) flush() {
	if a.nullRun > 0 {
		a.b.AppendNulls(a.nullRun)
		a.nullRun = 0
	}
	if len(a.pending) == 0 {
		return
	}
	var valid []bool
	if a.nulls {
		valid = a.valid
	}
	a.b.AppendIndices(a.pending, valid)
	a.pending, a.valid, a.nulls = a.pending[:0], a.valid[:0], false
}

func (a *dictAppender) reserve(n int) { a.b.Reserve(n) }
func (a *dictAppender) newArray() arrow.Array {
	a.flush()
	return a.b.NewArray()
}
func (a *dictAppender) release() { a.b.Release() }

// numBuilder is what numAppender needs of an Arrow builder.
type numBuilder[T any] interface {
	Append(T)
	AppendNulls(int)
	Reserve(int)
	NewArray() arrow.Array
	Release()
}

// numAppender appends a numeric column. check parses the value with
// parse and keeps it; append appends the kept value, so a value is parsed
// once.
type numAppender[T any] struct {
	b     numBuilder[T]
	parse func([]byte) (T, bool)
	v     T
	nulls int // nulls not yet appended
}

func (a *numAppender[T]) check(v []byte) error {
	x, ok := a.parse(v)
	if !ok {
		return errBadNumber
	}
	a.v = x
	return nil
}
func (a *numAppender[T]) append([]byte) {
	if a.nulls > 0 {
		a.b.AppendNulls(a.nulls)
		a.nulls = 0
	}
	a.b.Append(a.v)
}
func (a *numAppender[T]) appendNull()   { a.nulls++ }
func (a *numAppender[T]) reserve(n int) { a.b.Reserve(n) }
func (a *numAppender[T]) newArray() arrow.Array {
	a.b.AppendNulls(a.nulls)
	a.nulls = 0
	return a.b.NewArray()
}
func (a *numAppender[T]) release() { a.b.Release() }

func parseInt32(b []byte) (int32, bool) {
	n, ok := parseInt(b)
	if !ok || n < -1<<31 || n > 1<<31-1 {
		return 0, false
	}
	return int32(n), true
}

// dateAppender and tsAppender are filled from the parsed timestamp, not
// from a field value.
type dateAppender struct{ b *array.Date32Builder }

func (a *dateAppender) check([]byte) error    { return nil }
func (a *dateAppender) append([]byte)         {}
func (a *dateAppender) appendNull()           { a.b.AppendNull() }
func (a *dateAppender) reserve(n int)         { a.b.Reserve(n) }
func (a *dateAppender) newArray() arrow.Array { return a.b.NewArray() }
func (a *dateAppender) release()              { a.b.Release() }

type tsAppender struct{ b *array.TimestampBuilder }

func (a *tsAppender) check([]byte) error    { return nil }
func (a *tsAppender) append([]byte)         {}
func (a *tsAppender) appendNull()           { a.b.AppendNull() }
func (a *tsAppender) reserve(n int)         { a.b.Reserve(n) }
func (a *tsAppender) newArray() arrow.Array { return a.b.NewArray() }
func (a *tsAppender) release()              { a.b.Release() }
