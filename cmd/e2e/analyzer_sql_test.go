package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dataset"
	"github.com/cflens/cflens/ingest/dirsource"
	"github.com/cflens/cflens/ingest/loggen"
	"github.com/cflens/cflens/ingest/schema"
	"github.com/cflens/cflens/queries"
)

// TestAnalysisSQLMatchesAnalyzer runs the embedded window_role_status query
// on DuckDB over a dataset of the generated scenario, with the windows the
// Go analyzer found, and compares every (window, role, status) count with
// the analyzer's cells: the SQL users take to Athena and cflens agree.
func TestAnalysisSQLMatchesAnalyzer(t *testing.T) {
	ctx := context.Background()
	sc := loggen.DefaultScenario(0.05)
	logs := t.TempDir()
	if _, err := loggen.WriteDir(ctx, sc, logs); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	st, err := dataset.NewDirStore(root)
	if err != nil {
		t.Fatal(err)
	}
	w, err := dataset.NewWriter(ctx, st, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := dirsource.New(logs, "")
	if err != nil {
		t.Fatal(err)
	}
	prod, stg := sc.Distributions.Of(schema.RoleProduction).ID, sc.Distributions.Of(schema.RoleStaging).ID
	roles := map[string]string{prod: schema.RoleProduction, stg: schema.RoleStaging}
	if _, err := ingest.Run(ctx, ingest.Options{Roles: roles}, []ingest.Source{src}, w); err != nil {
		t.Fatal(err)
	}

	tl, err := analyze.ParseTimeline(sc.TimelineYAML(), "scenario")
	if err != nil {
		t.Fatal(err)
	}
	agg, err := analyze.NewAggregator(analyze.Options{Timeline: tl, Production: prod, Staging: stg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Read(ctx, st, dataset.ReadOptions{Columns: agg.Columns()}, agg); err != nil {
		t.Fatal(err)
	}
	res := agg.Result()
	if len(res.Windows) < 2 {
		t.Fatalf("%d windows", len(res.Windows))
	}
	want := map[string]int64{}
	var windows []queries.Window
	for _, win := range res.Windows {
		windows = append(windows, queries.Window{Name: strconv.Itoa(win.ID), Start: win.From, End: win.To})
	}
	for _, c := range res.Cells {
		for status, n := range c.Status {
			if n == 0 {
				continue
			}
			code, err := strconv.Atoi(status)
			if err != nil {
				t.Fatalf("status %q in the analysis of a scenario that logs every status", status)
			}
			want[fmt.Sprintf("%d/%s/%d", c.Window, c.Role, code)] = n
		}
	}

	q, err := queries.Render("window_role_status", queries.Params{Relation: fmt.Sprintf("read_parquet('%s/**/*.parquet', hive_partitioning = true)", filepath.ToSlash(root)), Windows: windows})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("SET TimeZone = 'UTC'"); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(fmt.Sprintf("SELECT window_name, role, sc_status, requests FROM (%s)", q))
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rows.Close()
	for rows.Next() {
		var window, role string
		var status, n int64
		if err := rows.Scan(&window, &role, &status, &n); err != nil {
			t.Fatal(err)
		}
		got[fmt.Sprintf("%s/%s/%d", window, role, status)] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("the query returned nothing")
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: DuckDB %d, analyzer %d", k, got[k], n)
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: DuckDB %d, the analyzer has none", k, n)
		}
	}
}
