package dataset_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dataset"
	"github.com/cflens/cflens/ingest/dirsource"
	"github.com/cflens/cflens/ingest/logparse"
	"github.com/cflens/cflens/ingest/schema"
	"github.com/cflens/cflens/queries"
)

// row is what the Go side keeps of each parsed log line.
type row struct {
	dist, role, resultType, detailed string
	ts                               time.Time
	status                           int32
	scBytes                          int64
}

// corpus writes generated gzip logs of two distributions into a folder
// (records straddling hour boundaries) and returns the folder and the
// rows the parser makes of them, parsed here independently of the dataset.
func corpus(t testing.TB) (string, []row) {
	t.Helper()
	dir := t.TempDir()
	var rows []row
	for i, g := range []struct {
		dist, role string
		off, span  time.Duration
		n          int
	}{
		{"E2PROD", schema.RoleProduction, 0, time.Hour, 3000},
		{"E2PROD", schema.RoleProduction, 50 * time.Minute, 2 * time.Hour, 2500},
		{"E3STAGE", schema.RoleStaging, 0, 3 * time.Hour, 4000},
		{"E3STAGE", schema.RoleStaging, 2 * time.Hour, time.Hour, 1500},
	} {
		start := dataset.TestHour0.Add(g.off)
		data := dataset.GenLog(start, g.span, g.n, uint64(i+1))
		name := fmt.Sprintf("%s/%s.%s.%04d.gz", g.role, g.dist, start.Format("2006-01-02-15"), i)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(data)
		zw.Close()
		if err := os.MkdirAll(filepath.Join(dir, g.role), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		rd := logparse.NewReader(bytes.NewReader(data), logparse.WithDistribution(g.dist, g.role))
		for rd.Next() {
			b := rd.Batch()
			for i := 0; i < int(b.NumRows()); i++ {
				rows = append(rows, row{
					dist: g.dist, role: g.role,
					resultType: b.Column(schema.EdgeResultType).ValueStr(i),
					detailed:   b.Column(schema.EdgeDetailedResultType).ValueStr(i),
					ts:         b.Column(schema.Timestamp_).(*array.Timestamp).Value(i).ToTime(arrow.Millisecond),
					status:     b.Column(schema.ScStatus).(*array.Int32).Value(i),
					scBytes:    b.Column(schema.ScBytes).(*array.Int64).Value(i),
				})
			}
		}
		if err := rd.Err(); err != nil {
			t.Fatal(err)
		}
		rd.Release()
	}
	return dir, rows
}

// ingestDir runs the ingest pipeline over the log folder into a dataset.
func ingestDir(t testing.TB, logs, root string, o dataset.Options) {
	t.Helper()
	ctx := context.Background()
	st, err := dataset.NewDirStore(root)
	if err != nil {
		t.Fatal(err)
	}
	w, err := dataset.NewWriter(ctx, st, o)
	if err != nil {
		t.Fatal(err)
	}
	var sources []ingest.Source
	for _, role := range []string{schema.RoleProduction, schema.RoleStaging} {
		src, err := dirsource.New(filepath.Join(logs, role), role)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, src)
	}
	if _, err := ingest.Run(ctx, ingest.Options{}, sources, w); err != nil {
		t.Fatal(err)
	}
}

func openDuckDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec("SET TimeZone = 'UTC'"); err != nil {
		t.Fatal(err)
	}
	return db
}

func relation(root string) string {
	return fmt.Sprintf("read_parquet('%s/**/*.parquet', hive_partitioning = true)", filepath.ToSlash(root))
}

// queryRows runs q and returns every row as strings (floats with 6
// decimals), skipping the columns named in skip.
func queryRows(t testing.TB, db *sql.DB, q string, skip ...string) [][]string {
	t.Helper()
	rs, err := db.Query(q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var out [][]string
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var r []string
		for i, v := range vals {
			if contains(skip, cols[i]) {
				continue
			}
			switch v := v.(type) {
			case float64:
				r = append(r, fmt.Sprintf("%.6f", v))
			case time.Time:
				r = append(r, v.UTC().Format(time.RFC3339Nano))
			default:
				r = append(r, fmt.Sprint(v))
			}
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// TestDuckDBReadsDataset: an independent reader takes the dataset with
// Hive partitioning, and its counts and sums per partition match the rows
// that the parser made of the logs.
func TestDuckDBReadsDataset(t *testing.T) {
	logs, rows := corpus(t)
	for _, tc := range []struct {
		name string
		o    dataset.Options
	}{
		{"objects held", dataset.Options{BufferBytes: 1 << 20, StageBytes: -1, RowGroupRows: 2000}},
		{"objects staged", dataset.Options{BufferBytes: 1 << 20, StageBytes: 64 << 10, RowGroupRows: 2000}},
		// Every file is small: the run ends by merging them, copying
		// their row groups.
		{"files merged, row groups copied", dataset.Options{BufferBytes: 256 << 10, RowGroupRows: 2000, CompactRows: 1 << 30, CopyRows: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			ingestDir(t, logs, root, tc.o)
			checkDuckDBReads(t, root, rows)
		})
	}
}

// checkDuckDBReads compares what DuckDB reads from the dataset at root
// with the parsed rows.
func checkDuckDBReads(t *testing.T, root string, rows []row) {
	type agg struct {
		n, bytes, s500 int64
	}
	want := map[string]*agg{}
	for _, r := range rows {
		h := r.ts.UTC()
		k := fmt.Sprintf("%s %d %d %d %d", r.dist, h.Year(), int(h.Month()), h.Day(), h.Hour())
		a := want[k]
		if a == nil {
			a = &agg{}
			want[k] = a
		}
		a.n++
		a.bytes += r.scBytes
		if r.status == 500 {
			a.s500++
		}
	}
	var wantRows [][]string
	for k, a := range want {
		wantRows = append(wantRows, []string{k, fmt.Sprint(a.n), fmt.Sprint(a.bytes), fmt.Sprint(a.s500)})
	}
	sort.Slice(wantRows, func(i, j int) bool { return wantRows[i][0] < wantRows[j][0] })

	db := openDuckDB(t)
	got := queryRows(t, db, fmt.Sprintf(`
		SELECT distributionid || ' ' || CAST(year AS integer) || ' ' || CAST(month AS integer) || ' ' || CAST(day AS integer) || ' ' || CAST(hour AS integer) AS k,
		       count(*), sum(sc_bytes), sum(CASE WHEN sc_status = 500 THEN 1 ELSE 0 END)
		FROM %s GROUP BY 1 ORDER BY 1`, relation(root)))
	if diff := cmp.Diff(wantRows, got); diff != "" {
		t.Errorf("per-partition counts (-parsed +duckdb):\n%s", diff)
	}
	if len(want) < 6 {
		t.Errorf("only %d partitions; the corpus should span more", len(want))
	}

	// The Parquet types are the ones Athena expects.
	types := queryRows(t, db, fmt.Sprintf(`SELECT column_name, column_type FROM (DESCRIBE SELECT "timestamp", "date", sc_status, sc_bytes, time_taken, x_edge_result_type FROM %s)`, relation(root)))
	wantTypes := [][]string{{"timestamp", "TIMESTAMP WITH TIME ZONE"}, {"date", "DATE"}, {"sc_status", "INTEGER"}, {"sc_bytes", "BIGINT"}, {"time_taken", "DOUBLE"}, {"x_edge_result_type", "VARCHAR"}}
	if diff := cmp.Diff(wantTypes, types); diff != "" {
		t.Errorf("column types (-want +duckdb):\n%s", diff)
	}
	codecs := queryRows(t, db, fmt.Sprintf(`SELECT DISTINCT compression FROM parquet_metadata('%s/**/*.parquet')`, filepath.ToSlash(root)))
	if diff := cmp.Diff([][]string{{"ZSTD"}}, codecs); diff != "" {
		t.Errorf("codecs (-want +duckdb):\n%s", diff)
	}
	stats := queryRows(t, db, fmt.Sprintf(`SELECT count(*) FROM parquet_metadata('%s/**/*.parquet') WHERE path_in_schema = 'sc_status' AND stats_min IS NULL`, filepath.ToSlash(root)))
	if diff := cmp.Diff([][]string{{"0"}}, stats); diff != "" {
		t.Errorf("row groups without sc_status statistics (-want +duckdb):\n%s", diff)
	}
}

// TestAnalysisSQLOnDuckDB runs the embedded analysis queries, unchanged,
// on DuckDB over the dataset and compares them with the same numbers
// computed in Go from the parsed rows.
func TestAnalysisSQLOnDuckDB(t *testing.T) {
	logs, rows := corpus(t)
	root := t.TempDir()
	ingestDir(t, logs, root, dataset.Options{})
	h0 := dataset.TestHour0
	windows := []queries.Window{
		{Name: "both on", Start: h0.Add(10 * time.Minute), End: h0.Add(70 * time.Minute)},
		{Name: "prod only", Start: h0.Add(70 * time.Minute), End: h0.Add(150 * time.Minute)},
		{Name: "off", Start: h0.Add(150 * time.Minute), End: h0.Add(175 * time.Minute)},
	}
	db := openDuckDB(t)
	for _, tc := range []struct {
		name  string
		p     queries.Params
		skip  []string
		goAgg func(r row, w queries.Window) (key []string, ok bool)
		// values: count, and optional extra sums
		extra func(r row) []int64
	}{
		{
			name: "window_role_status", skip: []string{"window_start", "share"},
			goAgg: func(r row, w queries.Window) ([]string, bool) {
				return []string{w.Name, r.role, fmt.Sprint(r.status)}, true
			},
		},
		{
			name: "hour_profile", skip: []string{"window_start"},
			goAgg: func(r row, w queries.Window) ([]string, bool) {
				return []string{w.Name, r.role, fmt.Sprint(r.ts.UTC().Hour())}, true
			},
			extra: func(r row) []int64 {
				var s5, s500 int64
				if r.status >= 500 && r.status <= 599 {
					s5 = 1
				}
				if r.status == 500 {
					s500 = 1
				}
				return []int64{s5, s500}
			},
		},
		{
			name: "result_types_5xx", skip: []string{"window_start"},
			goAgg: func(r row, w queries.Window) ([]string, bool) {
				return []string{w.Name, r.role, fmt.Sprint(r.status), r.resultType, r.detailed}, r.status >= 500 && r.status <= 599
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := queries.Render(tc.name, queries.Params{Relation: relation(root), Windows: windows})
			if err != nil {
				t.Fatal(err)
			}
			got := queryRows(t, db, q, tc.skip...)
			type acc struct{ vals []int64 }
			m := map[string]*acc{}
			var order []string
			for _, r := range rows {
				for _, w := range windows {
					if r.ts.Before(w.Start) || !r.ts.Before(w.End) {
						continue
					}
					key, ok := tc.goAgg(r, w)
					if !ok {
						continue
					}
					k := strings.Join(key, "\x00")
					a := m[k]
					if a == nil {
						a = &acc{vals: make([]int64, 1)}
						m[k] = a
						order = append(order, k)
					}
					a.vals[0]++
					if tc.extra != nil {
						ex := tc.extra(r)
						for len(a.vals) < 1+len(ex) {
							a.vals = append(a.vals, 0)
						}
						for i, v := range ex {
							a.vals[1+i] += v
						}
					}
				}
			}
			var want [][]string
			for _, k := range order {
				r := strings.Split(k, "\x00")
				for _, v := range m[k].vals {
					r = append(r, fmt.Sprint(v))
				}
				want = append(want, r)
			}
			// Compare as sets: the SQL's ORDER BY is checked separately.
			sortRows(want)
			gotSorted := append([][]string(nil), got...)
			sortRows(gotSorted)
			if diff := cmp.Diff(want, gotSorted); diff != "" {
				t.Errorf("(-go +duckdb):\n%s", diff)
			}
			if len(want) == 0 {
				t.Error("no rows to compare")
			}
		})
	}

	t.Run("shares sum to one per window and role", func(t *testing.T) {
		q, err := queries.Render("window_role_status", queries.Params{Relation: relation(root), Windows: windows})
		if err != nil {
			t.Fatal(err)
		}
		got := queryRows(t, db, fmt.Sprintf("SELECT window_name, role, sum(share) FROM (%s) GROUP BY 1, 2", q))
		for _, r := range got {
			var s float64
			fmt.Sscan(r[2], &s)
			if math.Abs(s-1) > 1e-9 {
				t.Errorf("shares of %v sum to %v", r[:2], s)
			}
		}
	})
}

func sortRows(rs [][]string) {
	sort.Slice(rs, func(i, j int) bool { return strings.Join(rs[i], "\x00") < strings.Join(rs[j], "\x00") })
}

// BenchmarkGzToParquet compares cflens (ingest.Run into the dataset) with
// DuckDB's COPY … TO parquet on the same gzip log files in the same run:
// both read every field, write zstd Parquet, and report lines/s and
// Parquet bytes per line. The corpus (1 Mi lines, or
// $CFLENS_BENCH_LINES) is generated into
// $CFLENS_BENCH_CORPUS when set, and kept there, so that a run measured
// with /usr/bin/time excludes the generation. Run with GOMEMLIMIT (as a
// command would set its limit) to measure peak memory.
func BenchmarkGzToParquet(b *testing.B) {
	dir := os.Getenv("CFLENS_BENCH_CORPUS")
	if dir == "" {
		dir = b.TempDir()
	}
	lines := 1 << 20
	if testing.Short() {
		lines = 32 * 1024
	}
	if n, err := strconv.Atoi(os.Getenv("CFLENS_BENCH_LINES")); err == nil && n > 0 {
		lines = n
	}
	lines, err := dataset.WriteBench(dir, lines)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("cflens", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			src, err := dirsource.New(dir, "")
			if err != nil {
				b.Fatal(err)
			}
			out := b.TempDir()
			st, err := dataset.NewDirStore(out)
			if err != nil {
				b.Fatal(err)
			}
			w, err := dataset.NewWriter(ctx, st, dataset.DefaultOptions())
			if err != nil {
				b.Fatal(err)
			}
			sum, err := ingest.Run(ctx, ingest.Options{Workers: 4, BatchRows: 16 * 1024}, []ingest.Source{src}, w)
			if err != nil {
				b.Fatal(err)
			}
			if sum.Rows != int64(lines) {
				b.Fatalf("%d rows, want %d", sum.Rows, lines)
			}
			b.ReportMetric(float64(dirBytes(b, out))/float64(lines), "bytes/line")
		}
		b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	})
	b.Run("duckdb_copy", func(b *testing.B) {
		db := openDuckDB(b)
		var cols []string
		for _, f := range strings.Fields(strings.TrimPrefix(strings.TrimSpace(dataset.Fields33), "#Fields:")) {
			// Athena's type names, which DuckDB takes as its own.
			i := schema.Lookup(f)
			cols = append(cols, fmt.Sprintf("'%s': '%s'", schema.Col(i).Name, schema.AthenaType(schema.Col(i).Kind)))
		}
		for i := 0; i < b.N; i++ {
			out := filepath.Join(b.TempDir(), "out.parquet")
			q := fmt.Sprintf(`COPY (SELECT * FROM read_csv('%s/*.gz', delim = '%s', header = false, skip = 2, auto_detect = false, quote = '', escape = '', nullstr = '-', columns = {%s}))
				TO '%s' (FORMAT parquet, COMPRESSION zstd)`, filepath.ToSlash(dir), "\t", strings.Join(cols, ", "), filepath.ToSlash(out))
			res, err := db.Exec(q)
			if err != nil {
				b.Fatal(err)
			}
			if n, _ := res.RowsAffected(); n != int64(lines) {
				b.Fatalf("duckdb copied %d rows, want %d", n, lines)
			}
			b.ReportMetric(float64(dirBytes(b, filepath.Dir(out)))/float64(lines), "bytes/line")
		}
		b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	})
}

// dirBytes is the size of the *.parquet files under dir.
func dirBytes(b *testing.B, dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(p, ".parquet") {
			if fi, err := e.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
