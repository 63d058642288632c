package logparse

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/cflens/cflens/ingest/schema"
)

// refAppend appends v (nil: NULL) to b the plain way, one call per value.
func refAppend(t *testing.T, b array.Builder, v []byte) {
	t.Helper()
	if v == nil {
		b.AppendNull()
		return
	}
	switch b := b.(type) {
	case *array.BinaryDictionaryBuilder:
		if err := b.Append(v); err != nil {
			t.Fatal(err)
		}
	case *array.StringBuilder:
		b.BinaryBuilder.Append(v)
	case *array.Int32Builder:
		n, _ := parseInt(v)
		b.Append(int32(n))
	case *array.Int64Builder:
		n, _ := parseInt(v)
		b.Append(n)
	case *array.Float64Builder:
		f, _ := parseFloat(v)
		b.Append(f)
	default:
		t.Fatalf("no reference for %T", b)
	}
}

// TestAppendersMatchBuilders checks that the appenders, with their value
// cache and their runs of nulls, build the same arrays as one builder call
// per value, batch after batch: same values, same validity, and for
// dictionary columns the same indices and the same dictionary.
func TestAppendersMatchBuilders(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	// pick draws from n distinct values, with nulls at the given rate.
	pick := func(n int, nullRate float64, format string) func() []byte {
		return func() []byte {
			if rng.Float64() < nullRate {
				return nil
			}
			return fmt.Appendf(nil, format, rng.IntN(n))
		}
	}
	for _, tc := range []struct {
		name string
		col  int
		gen  func() []byte
	}{
		{"dict few values", schema.EdgeResultType, pick(4, 0, "Result%d")},
		{"dict few values and nulls", schema.FLEStatus, pick(3, 0.3, "S%d")},
		{"dict all null", schema.CCountry, pick(1, 1, "%d")},
		{"dict more values than cache slots", schema.CsHost, pick(500, 0.05, "host%d.example.com")},
		{"dict empty strings", schema.ScContentType, pick(2, 0.2, "%.0d")},
		{"string", schema.CsURIStem, pick(1000, 0.1, "/path/%d")},
		{"string mostly null", schema.CsReferer, pick(10, 0.9, "https://ref/%d")},
		{"int32", schema.ScStatus, pick(600, 0.2, "%d")},
		{"int64 all null", schema.ScRangeStart, pick(1, 1, "%d")},
		{"int64", schema.ScBytes, pick(1e6, 0.4, "%d")},
		{"float64", schema.TimeTaken, pick(1e4, 0.3, "0.%03d")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			a := newAppender(mem, tc.col)
			defer a.release()
			ref := array.NewBuilder(mem, schema.ArrowType(schema.Col(tc.col).Kind))
			defer ref.Release()
			for batch, rows := range []int{0, 1, 700, 3, 2000} {
				a.reserve(rows)
				for range rows {
					v := tc.gen()
					refAppend(t, ref, v)
					if v == nil {
						a.appendNull()
						continue
					}
					if err := a.check(v); err != nil {
						t.Fatalf("check(%q): %v", v, err)
					}
					a.append(v)
				}
				got, want := a.newArray(), ref.NewArray()
				if !array.Equal(got, want) {
					t.Errorf("batch %d: arrays differ\ngot  %v\nwant %v", batch, got, want)
				}
				if got.NullN() != want.NullN() {
					t.Errorf("batch %d: %d nulls, want %d", batch, got.NullN(), want.NullN())
				}
				if gd, ok := got.(*array.Dictionary); ok {
					wd := want.(*array.Dictionary)
					if !array.Equal(gd.Indices(), wd.Indices()) {
						t.Errorf("batch %d: indices differ\ngot  %v\nwant %v", batch, gd.Indices(), wd.Indices())
					}
					if !array.Equal(gd.Dictionary(), wd.Dictionary()) {
						t.Errorf("batch %d: dictionaries differ\ngot  %v\nwant %v", batch, gd.Dictionary(), wd.Dictionary())
					}
				}
				got.Release()
				want.Release()
			}
		})
	}
}

// TestConstDict checks the constant columns against a dictionary builder
// given the same value n times.
func TestConstDict(t *testing.T) {
	for _, s := range []string{"", "E1EXAMPLE"} {
		for _, n := range []int{1, 7, 8, 9, 1000} {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			got := constDict(mem, s, n)
			ref := array.NewDictionaryBuilder(mem, schema.ArrowType(schema.DictString).(*arrow.DictionaryType)).(*array.BinaryDictionaryBuilder)
			for range n {
				if s == "" {
					ref.AppendNull()
				} else if err := ref.AppendString(s); err != nil {
					t.Fatal(err)
				}
			}
			want := ref.NewArray()
			if !array.Equal(got, want) || got.NullN() != want.NullN() {
				t.Errorf("%q × %d: got %v, want %v", s, n, got, want)
			}
			gd, wd := got.(*array.Dictionary), want.(*array.Dictionary)
			if !array.Equal(gd.Indices(), wd.Indices()) || !array.Equal(gd.Dictionary(), wd.Dictionary()) {
				t.Errorf("%q × %d: indices %v dictionary %v, want %v %v", s, n, gd.Indices(), gd.Dictionary(), wd.Indices(), wd.Dictionary())
			}
			got.Release()
			want.Release()
			ref.Release()
			mem.AssertSize(t, 0)
		}
	}
}
