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
// is appended, so a bad row leaves no partial trace.
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
		return &int32Appender{b: array.NewInt32Builder(mem)}
	case schema.Int64:
		return &int64Appender{b: array.NewInt64Builder(mem)}
	case schema.Float64:
		return &float64Appender{b: array.NewFloat64Builder(mem)}
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
}

func (a *stringAppender) check([]byte) error { return nil }
func (a *stringAppender) append(v []byte)    { a.b.BinaryBuilder.Append(v) }
func (a *stringAppender) appendNull()        { a.b.AppendNull() }
func (a *stringAppender) reserve(n int) {
	a.b.Reserve(n)
	a.b.ReserveData(a.lastData)
}
func (a *stringAppender) newArray() arrow.Array {
	a.lastData = a.b.DataLen()
	return a.b.NewArray()
}
func (a *stringAppender) release() { a.b.Release() }

type dictAppender struct {
	b *array.BinaryDictionaryBuilder
}

func (a *dictAppender) check([]byte) error { return nil }
func (a *dictAppender) append(v []byte) {
	if err := a.b.Append(v); err != nil {
		// Only an index overflow past 2^31 distinct values can fail; a
		// batch holds at most maxBatchBytes of text.
		panic(err)
	}
}
func (a *dictAppender) appendNull()           { a.b.AppendNull() }
func (a *dictAppender) reserve(n int)         { a.b.Reserve(n) }
func (a *dictAppender) newArray() arrow.Array { return a.b.NewArray() }
func (a *dictAppender) release()              { a.b.Release() }

type int32Appender struct{ b *array.Int32Builder }

func (a *int32Appender) check(v []byte) error {
	n, ok := parseInt(v)
	if !ok || n < -1<<31 || n > 1<<31-1 {
		return errBadNumber
	}
	return nil
}
func (a *int32Appender) append(v []byte) {
	n, _ := parseInt(v)
	a.b.Append(int32(n))
}
func (a *int32Appender) appendNull()           { a.b.AppendNull() }
func (a *int32Appender) reserve(n int)         { a.b.Reserve(n) }
func (a *int32Appender) newArray() arrow.Array { return a.b.NewArray() }
func (a *int32Appender) release()              { a.b.Release() }

type int64Appender struct{ b *array.Int64Builder }

func (a *int64Appender) check(v []byte) error {
	if _, ok := parseInt(v); !ok {
		return errBadNumber
	}
	return nil
}
func (a *int64Appender) append(v []byte) {
	n, _ := parseInt(v)
	a.b.Append(n)
}
func (a *int64Appender) appendNull()           { a.b.AppendNull() }
func (a *int64Appender) reserve(n int)         { a.b.Reserve(n) }
func (a *int64Appender) newArray() arrow.Array { return a.b.NewArray() }
func (a *int64Appender) release()              { a.b.Release() }

type float64Appender struct{ b *array.Float64Builder }

func (a *float64Appender) check(v []byte) error {
	if _, ok := parseFloat(v); !ok {
		return errBadNumber
	}
	return nil
}
func (a *float64Appender) append(v []byte) {
	f, _ := parseFloat(v)
	a.b.Append(f)
}
func (a *float64Appender) appendNull()           { a.b.AppendNull() }
func (a *float64Appender) reserve(n int)         { a.b.Reserve(n) }
func (a *float64Appender) newArray() arrow.Array { return a.b.NewArray() }
func (a *float64Appender) release()              { a.b.Release() }

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
