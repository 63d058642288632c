package dataset

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/schema"
)

var (
	hour0 = time.Date(2025, 9, 10, 7, 0, 0, 0, time.UTC)
)

// testObjects returns the sample files of testdata (distribution
// E1SAMPLE, production) and generated objects of two distributions whose
// records straddle hour boundaries.
func testObjects(t testing.TB) []object {
	t.Helper()
	var objs []object
	names, err := filepath.Glob("testdata/*.log")
	if err != nil || len(names) == 0 {
		t.Fatalf("testdata: %v %v", names, err)
	}
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, object{ref: ingest.ObjectRef{Key: "samples/" + filepath.Base(n), ETag: "s1", Size: int64(len(data)), DistributionID: "E1SAMPLE", Role: schema.RoleProduction}, data: data})
	}
	for i, g := range []struct {
		dist, role string
		start      time.Time
		span       time.Duration
		n          int
	}{
		{"E2PROD", schema.RoleProduction, hour0.Add(30 * time.Minute), time.Hour, 3000},
		{"E2PROD", schema.RoleProduction, hour0.Add(50 * time.Minute), 2 * time.Hour, 2500},
		{"E3STAGE", schema.RoleStaging, hour0, 3 * time.Hour, 4000},
		{"E3STAGE", schema.RoleStaging, hour0.Add(time.Hour), 10 * time.Minute, 10},
	} {
		data := genLog(g.start, g.span, g.n, uint64(i+1))
		key := fmt.Sprintf("logs/%s.%s.%04d.gz", g.dist, g.start.Format("2006-01-02-15"), i)
		objs = append(objs, object{ref: ingest.ObjectRef{Key: key, ETag: "g1", Size: int64(len(data)), DistributionID: g.dist, Role: g.role}, data: data})
	}
	return objs
}

// expectedRows parses the objects and returns their rows.
func expectedRows(t testing.TB, objs []object) [][]any {
	t.Helper()
	mem := memory.NewGoAllocator()
	var all []arrow.RecordBatch
	for _, o := range objs {
		all = append(all, parseLog(t, mem, o.ref, o.data)...)
	}
	rows := rowsOf(t, schema.Arrow(), all)
	for _, b := range all {
		b.Release()
	}
	return rows
}

func readAll(t testing.TB, st Store, o ReadOptions, sc *arrow.Schema) ([][]any, ingest.Counts) {
	t.Helper()
	sink := newCollectSink()
	c, err := Read(context.Background(), st, o, sink)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.release()
	if !sink.closed {
		t.Error("Read did not close the sink")
	}
	return rowsOf(t, sc, sink.all()), c
}

func TestRoundTrip(t *testing.T) {
	objs := testObjects(t)
	want := expectedRows(t, objs)
	if len(want) < 9000 {
		t.Fatalf("only %d rows parsed", len(want))
	}
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"zstd, small buffer, many checkpoints", Options{Compression: CompressionZstd, BufferBytes: 256 << 10, RowGroupRows: 1000}},
		{"snappy, one checkpoint", Options{Compression: CompressionSnappy}},
		{"zstd, no compaction", Options{BufferBytes: 256 << 10, CompactRows: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			root := t.TempDir()
			st, err := NewDirStore(root)
			if err != nil {
				t.Fatal(err)
			}
			tc.o.Allocator = mem
			w, err := NewWriter(context.Background(), st, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			ingestObjects(t, mem, w, objs, false)
			got, c := readAll(t, st, ReadOptions{Allocator: mem}, schema.Arrow())
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("read back differs (-parsed +read):\n%s", diff)
			}
			if c.Rows != int64(len(want)) || c.Lines != c.Rows || c.OutOfRange != 0 {
				t.Errorf("counts %+v, want %d rows", c, len(want))
			}
			// Every file sits in the partition of its rows.
			checkPartitions(t, st, mem)
		})
	}
}

// checkPartitions reads each data file and checks that its rows belong to
// its partition folder.
func checkPartitions(t *testing.T, st Store, mem memory.Allocator) {
	t.Helper()
	files, err := Files(context.Background(), st, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		rd, closeFile, err := openParquet(context.Background(), st, f.Key, "", mem)
		if err != nil {
			t.Fatal(err)
		}
		var rows int64
		err = fileBatches(context.Background(), rd, []int{schema.Timestamp_, schema.DistributionID}, 4096, mem, func(b arrow.RecordBatch) error {
			ts := b.Column(0)
			for i := 0; i < int(b.NumRows()); i++ {
				h := timeOfHour(hourOfMillis(cell(ts, i).(int64)))
				d := cell(b.Column(1), i)
				if !h.Equal(f.Partition.Hour) || d != f.Partition.DistributionID {
					return fmt.Errorf("row %d (%v, %v) in partition %s", i, h, d, f.Partition)
				}
			}
			rows += b.NumRows()
			return nil
		})
		closeFile()
		if err != nil {
			t.Errorf("%s: %v", f.Key, err)
		}
		if rows != f.Rows {
			t.Errorf("%s: %d rows, journal says %d", f.Key, rows, f.Rows)
		}
	}
}

func TestReadPruning(t *testing.T) {
	objs := testObjects(t)
	want := expectedRows(t, objs)
	root := t.TempDir()
	st, err := NewDirStore(root)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(context.Background(), st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ingestObjects(t, memory.NewGoAllocator(), w, objs, false)

	sc := schema.Arrow()
	from, to := hour0.Add(75*time.Minute), hour0.Add(150*time.Minute)
	// Bounds equal to rows' timestamps: From is inclusive, To exclusive.
	rowFrom, rowTo := want[len(want)/3][schema.Timestamp_].(int64), want[2*len(want)/3][schema.Timestamp_].(int64)
	if rowFrom > rowTo {
		rowFrom, rowTo = rowTo, rowFrom
	}
	for _, tc := range []struct {
		name  string
		o     ReadOptions
		keep  func(row []any) bool
		files int // files opened
	}{
		{"all", ReadOptions{}, func([]any) bool { return true }, -1},
		{"one distribution", ReadOptions{Distributions: []string{"E3STAGE"}},
			func(r []any) bool { return r[schema.DistributionID] == "E3STAGE" }, 3},
		{"time range inside hours", ReadOptions{From: from, To: to},
			func(r []any) bool {
				v := r[schema.Timestamp_].(int64)
				return v >= from.UnixMilli() && v < to.UnixMilli()
			}, 4},
		{"bounds on rows' timestamps", ReadOptions{From: time.UnixMilli(rowFrom), To: time.UnixMilli(rowTo)},
			func(r []any) bool { v := r[schema.Timestamp_].(int64); return v >= rowFrom && v < rowTo }, -1},
		{"time range and distribution", ReadOptions{From: from, To: to, Distributions: []string{"E2PROD"}},
			func(r []any) bool {
				v := r[schema.Timestamp_].(int64)
				return r[schema.DistributionID] == "E2PROD" && v >= from.UnixMilli() && v < to.UnixMilli()
			}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var exp [][]any
			for _, r := range want {
				if tc.keep(r) {
					exp = append(exp, r)
				}
			}
			got, c := readAll(t, st, tc.o, sc)
			if diff := cmp.Diff(exp, got); diff != "" {
				t.Errorf("rows differ (-want +got):\n%s", diff)
			}
			if tc.files >= 0 && c.Objects != int64(tc.files) {
				t.Errorf("opened %d files, want %d", c.Objects, tc.files)
			}
			if !c.Balanced() || c.Rows != int64(len(exp)) {
				t.Errorf("counts %+v, want %d rows", c, len(exp))
			}
		})
	}

	t.Run("projection", func(t *testing.T) {
		cols := []int{schema.ScStatus, schema.EdgeResultType, schema.Source, schema.Line}
		fields := make([]arrow.Field, len(cols))
		for i, c := range cols {
			fields[i] = sc.Field(c)
		}
		got, _ := readAll(t, st, ReadOptions{Columns: cols, From: from}, arrow.NewSchema(fields, nil))
		var exp [][]any
		for _, r := range want {
			if r[schema.Timestamp_].(int64) >= from.UnixMilli() {
				exp = append(exp, []any{r[schema.ScStatus], r[schema.EdgeResultType], r[schema.Source], r[schema.Line]})
			}
		}
		if diff := cmp.Diff(exp, got); diff != "" {
			t.Errorf("rows differ (-want +got):\n%s", diff)
		}
	})
}

func TestDirStoreRejectsKeysOutsideRoot(t *testing.T) {
	st, err := NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name, key string
		ok        bool
	}{
		{"plain", "a/b.parquet", true},
		{"dot dot", "a/../../b", false},
		{"leading dot dot", "../b", false},
		{"absolute", "/etc/passwd", false},
		{"backslash", `a\..\b`, false},
		{"empty segment", "a//b", false},
		{"dot segment", "a/./b", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := st.Create(ctx, tc.key)
			if (err == nil) != tc.ok {
				t.Errorf("Create(%q) error %v, want ok=%v", tc.key, err, tc.ok)
			}
			_, err = st.Get(ctx, tc.key)
			if tc.ok == false && err == nil {
				t.Errorf("Get(%q) accepted", tc.key)
			}
		})
	}
}

func TestPartitionPath(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Partition
		dir  string
	}{
		{"ordinary", Partition{"E123", time.Date(2025, 9, 10, 8, 0, 0, 0, time.UTC)}, "distributionid=E123/year=2025/month=09/day=10/hour=08"},
		{"midnight new year", Partition{"E1", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, "distributionid=E1/year=2026/month=01/day=01/hour=00"},
		{"unknown distribution", Partition{"", time.Date(2024, 2, 29, 23, 0, 0, 0, time.UTC)}, "distributionid=unknown/year=2024/month=02/day=29/hour=23"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Dir(); got != tc.dir {
				t.Fatalf("Dir() = %q, want %q", got, tc.dir)
			}
			back, ok := ParsePartition(tc.dir + "/x.parquet")
			want := tc.p
			if want.DistributionID == "" {
				want.DistributionID = UnknownDistribution
			}
			if !ok || back.DistributionID != want.DistributionID || !back.Hour.Equal(want.Hour) {
				t.Errorf("ParsePartition = %+v %v, want %+v", back, ok, want)
			}
		})
	}
	for _, bad := range []string{"x.parquet", "distributionid=E1/year=2025/month=13/day=01/hour=00/x.parquet", "year=2025/month=01/day=01/hour=00/x.parquet"} {
		if p, ok := ParsePartition(bad); ok {
			t.Errorf("ParsePartition(%q) = %+v, want not ok", bad, p)
		}
	}
}

func TestHourOfMillis(t *testing.T) {
	for _, tc := range []struct {
		ms, h int64
	}{{0, 0}, {3599999, 0}, {3600000, 1}, {-1, -1}, {-3600000, -1}, {-3600001, -2}} {
		if got := hourOfMillis(tc.ms); got != tc.h {
			t.Errorf("hourOfMillis(%d) = %d, want %d", tc.ms, got, tc.h)
		}
	}
	_ = slices.Contains[[]int]
}
