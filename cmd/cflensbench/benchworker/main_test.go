package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest/loggen"
)

// testCorpus writes a corpus of 300 lines in 3 files into dir and returns
// it with the files' paths.
func testCorpus(t *testing.T, dir string) (*corpusResult, []string) {
	t.Helper()
	c, err := runCorpus(context.Background(), []string{"--dir", dir, "--lines", "300", "--files", "3", "--seed", "7"})
	if err != nil {
		t.Fatal(err)
	}
	files := make([]string, len(c.Names))
	for i, n := range c.Names {
		files[i] = filepath.Join(dir, n)
	}
	return c, files
}

func TestDuckDB(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c, files := testCorpus(t, dir)
	if c.Lines != 300 || len(c.Names) != 3 || c.Weight != loggen.DefaultWeight || c.Reused {
		t.Fatalf("corpus: %d lines, %d files, weight %v, reused %v", c.Lines, len(c.Names), c.Weight, c.Reused)
	}
	out := filepath.Join(t.TempDir(), "copy.parquet")
	tests := []struct {
		name string
		o    duckdbOptions
		want int64
	}{
		{"group by counts every line", duckdbOptions{query: "groupby", threads: 1, files: files}, 300},
		{"group by on two threads", duckdbOptions{query: "groupby", threads: 2, files: files}, 300},
		{"copy writes every line", duckdbOptions{query: "copy", threads: 2, out: out, files: files}, 300},
		{"one file", duckdbOptions{query: "groupby", threads: 1, files: files[:1]}, 100},
		{"lines counts every line but the headers", duckdbOptions{query: "lines", threads: 2, files: files}, 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runDuckDB(ctx, &tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if got.Lines != tt.want {
				t.Errorf("%s read %d rows, want %d", tt.o.query, got.Lines, tt.want)
			}
		})
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		t.Errorf("copy left no Parquet file: %v", err)
	}
	// COPY types the fields as the cflens schema does: it writes what
	// cflens ingest writes, not text.
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := map[string]string{}
	rows, err := db.QueryContext(ctx, "SELECT name, type FROM parquet_schema("+sqlString(out)+")")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		var typ sql.NullString
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		got[name] = typ.String
	}
	rows.Close()
	for col, want := range map[string]string{"sc_status": "INT32", "sc_bytes": "INT64", "time_taken": "DOUBLE", "date": "INT32", "cs_uri_stem": "BYTE_ARRAY"} {
		if got[col] != want {
			t.Errorf("column %s is %q in the COPY output, want %s", col, got[col], want)
		}
	}
	// The second call reuses the corpus.
	again, err := runCorpus(ctx, []string{"--dir", dir, "--lines", "300", "--files", "3", "--seed", "7"})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Reused {
		t.Errorf("second corpus call did not reuse the files")
	}
}

// TestDuckDBGroupByParquet runs the group-by on a dataset-shaped folder
// of Parquet files written from the corpus, and requires the groups that
// it finds from the .gz files; a Parquet file outside the partitions (a
// dataset's _cflens folder holds its journal) is not read.
func TestDuckDBGroupByParquet(t *testing.T) {
	ctx := context.Background()
	_, files := testCorpus(t, t.TempDir())
	gzSQL, err := duckdbQuery("groupby", files, "")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ds := t.TempDir()
	for _, d := range []string{"distributionid=ALL/year=2025", "_cflens"} {
		if err := os.MkdirAll(filepath.Join(ds, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The rows as cflens ingest keeps them: the distribution a column.
	from := gzSQL[strings.Index(gzSQL, "read_csv("):strings.Index(gzSQL, "\n), stems AS")]
	for _, f := range []string{"distributionid=ALL/year=2025/part.parquet", "_cflens/decoy.parquet"} {
		q := fmt.Sprintf(`COPY (SELECT regexp_extract(filename, '([A-Z0-9]+)\.[0-9]{4}-', 1) AS distribution_id, * EXCLUDE (filename)
FROM %s) TO %s (FORMAT parquet, COMPRESSION zstd)`, from, sqlString(filepath.Join(ds, f)))
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	pqSQL, err := duckdbQuery("groupby-parquet", []string{ds}, "")
	if err != nil {
		t.Fatal(err)
	}
	groups := func(q string) []string {
		rows, err := db.QueryContext(ctx, "SELECT * FROM ("+q+") ORDER BY ALL")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var dist, day, hour, status, result, good sql.NullString
			var n int64
			if err := rows.Scan(&dist, &day, &hour, &status, &result, &good, &n); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(dist, day, hour, status, result, good, n))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	want, got := groups(gzSQL), groups(pqSQL)
	if len(want) < 10 {
		t.Fatalf("the .gz group-by found %d groups; the corpus should give more", len(want))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("groups from Parquet differ from those from .gz (-gz +parquet):\n%s", diff)
	}
	counts, err := runDuckDB(ctx, &duckdbOptions{query: "groupby-parquet", threads: 2, files: []string{ds}})
	if err != nil {
		t.Fatal(err)
	}
	if counts.Lines != 300 {
		t.Errorf("groupby-parquet read %d rows, want 300", counts.Lines)
	}
}

func TestDuckDBVersion(t *testing.T) {
	got, err := runDuckDB(context.Background(), &duckdbOptions{query: "version"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.Version, "v") {
		t.Errorf("version %q, want v…", got.Version)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no command", nil},
		{"unknown command", []string{"spark"}},
		{"unknown query", []string{"duckdb", "--query", "drop", "x.gz"}},
		{"no file", []string{"duckdb", "--query", "groupby"}},
		{"copy without --out", []string{"duckdb", "--query", "copy", "x.gz"}},
		{"groupby-parquet of two folders", []string{"duckdb", "--query", "groupby-parquet", "a", "b"}},
		{"corpus without --dir", []string{"corpus", "--lines", "10", "--files", "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, err := run(context.Background(), tt.args)
			if code != 2 || err == nil {
				t.Errorf("run(%q) = %d, %v; want 2 and an error", tt.args, code, err)
			}
		})
	}
	var uerr usageError
	if _, err := runDuckDB(context.Background(), &duckdbOptions{query: "groupby"}); !errors.As(err, &uerr) {
		t.Errorf("no files: error %v, want a usage error", err)
	}
}
