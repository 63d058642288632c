package analyze

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dataset"
	"github.com/cflens/cflens/ingest/dirsource"
	"github.com/cflens/cflens/ingest/loggen"
	"github.com/cflens/cflens/ingest/schema"
	"github.com/cflens/cflens/queries"
)

// tallyView is tallies in a canonical, comparable form.
type tallyView struct {
	Fine, ErrFine                         []fineEntry
	Status                                map[string]int64
	ResultTypes                           map[string]int64
	Stems, ErrStems, Requests, Status500  int64
	Top, TopGood500                       []PathCount
	Rows, OutOfRange, Settling, Unknown   int64
	MinTs, MaxTs, Objects, AbortedObjects int64
}

type fineEntry struct {
	Window            int32
	Role              uint8
	Hour, Bucket      int64
	Req, S4, S500, S5 int64
}

func fineEntries(s *fineSet) []fineEntry {
	m := map[fineKey]counts{}
	for i, k := range s.keys {
		c := m[k]
		c.merge(s.vals[i])
		m[k] = c
	}
	var out []fineEntry
	for k, c := range m {
		if c != (counts{}) {
			out = append(out, fineEntry{k.window, k.role, k.hour, k.bucket, c.req, c.s4xx, c.s500, c.s5xx})
		}
	}
	slices.SortFunc(out, func(a, b fineEntry) int {
		return cmp.Or(cmp.Compare(a.Window, b.Window), cmp.Compare(a.Role, b.Role), cmp.Compare(a.Hour, b.Hour), cmp.Compare(a.Bucket, b.Bucket))
	})
	return out
}

func (t *Tallies) view() tallyView {
	v := tallyView{
		Fine: fineEntries(&t.fine), ErrFine: fineEntries(&t.errFine),
		Status: map[string]int64{}, ResultTypes: map[string]int64{},
		Stems: t.paths.stems, ErrStems: t.paths.errStems, Requests: t.paths.requests, Status500: t.paths.status500,
		Top: t.paths.top, TopGood500: t.paths.topGood500,
		Rows: t.rows, OutOfRange: t.outOfRange, Settling: t.settling, Unknown: t.unknownRole,
		MinTs: t.minTs, MaxTs: t.maxTs, Objects: t.objects, AbortedObjects: t.aborted,
	}
	for k, c := range t.cells {
		for s, n := range c.status {
			if n != 0 {
				v.Status[fmt.Sprintf("%d/%d/%d", k.window, k.role, s)] = n
			}
		}
		for i, m := range c.rt {
			for s, n := range m {
				v.ResultTypes[fmt.Sprintf("%d/%d/%d/%s", k.window, k.role, i, s)] = n
			}
		}
	}
	return v
}

// duckRows runs q and returns its rows as strings, NULL as "", as
// Athena's results give them.
func duckRows(t testing.TB, db *sql.DB, q string) [][]string {
	t.Helper()
	rs, err := db.Query(q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		t.Fatal(err)
	}
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
		row := make([]string, len(cols))
		for i, v := range vals {
			if v != nil {
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type tallyCase struct {
	name     string
	scenario func() *loggen.Scenario
	opts     func(*Options, *loggen.Scenario)
	// rowGroupRows, when set, cuts the dataset's files into row groups
	// of this many rows, each with its own dictionary of stems.
	rowGroupRows int64
}

// highCardinality is the default scenario with 3,000 good paths and
// 20,000 error paths taking 40% of the requests.
func highCardinality() *loggen.Scenario {
	sc := loggen.DefaultScenario(0.3)
	sc.GoodPaths = manyPaths("/catalog/item-", 3000)
	sc.ErrorPaths = manyPaths("/probe/x", 20000)
	sc.ErrorShare = 0.4
	return sc
}

// manyPaths returns n paths named after prefix, of equal weight.
func manyPaths(prefix string, n int) []loggen.Path {
	ps := make([]loggen.Path, n)
	for i := range ps {
		ps[i] = loggen.Path{Path: fmt.Sprintf("%s%d", prefix, i), Weight: 1, ContentType: "text/html", Bytes: 1000}
	}
	return ps
}

// shifted moves a scenario to start at start.
func shifted(sc *loggen.Scenario, start time.Time) *loggen.Scenario {
	d := start.Sub(sc.Start)
	sc.Start = start
	for i := range sc.Windows {
		sc.Windows[i].Start = sc.Windows[i].Start.Add(d)
	}
	for i := range sc.Peaks {
		sc.Peaks[i].Start, sc.Peaks[i].End = sc.Peaks[i].Start.Add(d), sc.Peaks[i].End.Add(d)
	}
	return sc
}

// TestTallySQLMatchesAggregator runs the tally queries on DuckDB over a
// dataset and the streaming Aggregator over the same dataset, and
// requires identical tallies and identical analysis JSON.
func TestTallySQLMatchesAggregator(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	cases := []tallyCase{
		{name: "default", scenario: func() *loggen.Scenario { return loggen.DefaultScenario(0.02) }},
		{name: "range-settle-regex", scenario: func() *loggen.Scenario { return loggen.DefaultScenario(0.02) },
			opts: func(o *Options, sc *loggen.Scenario) {
				o.From = sc.Start.Add(26*time.Hour + 30*time.Minute)
				o.To = sc.Start.Add(100*time.Hour + 10*time.Minute)
				o.Settle = 7 * time.Minute
				o.Bucket = 10 * time.Minute
				o.ErrorPath = regexp.MustCompile(`^/(old|wp-|\.env)`)
				o.TopPaths = 3
			}},
		{name: "high-cardinality", scenario: highCardinality, opts: func(o *Options, sc *loggen.Scenario) {
			// The local engine spills its path counts many times over.
			o.MemoryBudget = 64 << 10
		}},
		{name: "high-cardinality-row-groups", scenario: highCardinality, rowGroupRows: 700},
		{name: "hidden-errors", scenario: func() *loggen.Scenario { return loggen.HiddenErrorsScenario(0.02) }},
		{name: "new-york-dst", scenario: func() *loggen.Scenario {
			return shifted(loggen.DefaultScenario(0.02), time.Date(2025, 10, 31, 0, 0, 0, 0, time.UTC))
		}, opts: func(o *Options, sc *loggen.Scenario) { o.Location = ny; o.Settle = 5 * time.Minute }},
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := tc.scenario()
			root := writeDataset(t, ctx, sc, dataset.Options{RowGroupRows: tc.rowGroupRows})
			st, err := dataset.NewDirStore(root)
			if err != nil {
				t.Fatal(err)
			}
			tl, err := ParseTimeline(sc.TimelineYAML(), "scenario")
			if err != nil {
				t.Fatal(err)
			}
			o := Options{Timeline: tl, SpillDir: t.TempDir()}
			if tc.opts != nil {
				tc.opts(&o, sc)
			}
			plan, err := NewPlan(o)
			if err != nil {
				t.Fatal(err)
			}
			agg, err := NewAggregator(o)
			if err != nil {
				t.Fatal(err)
			}
			c, err := dataset.Read(ctx, st, dataset.ReadOptions{From: o.From, To: o.To, Columns: agg.Columns(), DictStrings: true}, agg)
			if err != nil {
				t.Fatal(err)
			}
			local, err := agg.Tallies()
			if err != nil {
				t.Fatal(err)
			}
			spills := 0
			if agg.spill != nil {
				spills = agg.spill.runs
			}
			defer agg.Release()
			// Rows of the partitions read that fall outside the range are
			// left out by the reader; the SQL counts them as out of range.
			local.outOfRange += c.OutOfRange

			results := map[string][][]string{}
			for name := range TallyQueries() {
				q, err := queries.Render(name, queries.Params{
					Relation: fmt.Sprintf("read_parquet('%s/**/*.parquet', hive_partitioning = true)", filepath.ToSlash(root)),
					TimeZone: plan.Options.Location.String(), Tally: plan.TallyParams(),
				})
				if err != nil {
					t.Fatal(err)
				}
				results[name] = duckRows(t, db, q)
			}
			remote, err := TalliesFromRows(plan, results)
			if err != nil {
				t.Fatal(err)
			}
			remote.SetObjects(c.Objects)

			lv, rv := local.view(), remote.view()
			if lv.Rows == 0 || lv.ErrStems == 0 || len(lv.ErrFine) == 0 {
				t.Fatalf("nothing to compare: %d rows, %d error paths", lv.Rows, lv.ErrStems)
			}
			if diff := gocmp.Diff(lv, rv, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("tallies differ (-local +sql):\n%s", diff)
			}
			lj, rj := resultJSON(t, Build(local, plan)), resultJSON(t, Build(remote, plan))
			if !bytes.Equal(lj, rj) {
				t.Errorf("analysis JSON differs:\nlocal %s\nsql   %s", lj, rj)
			}
			t.Logf("%d rows, %d stems, %d error paths, %d fine keys, %d spill runs", lv.Rows, lv.Stems, lv.ErrStems, len(lv.Fine), spills)
			if o.MemoryBudget > 0 && o.MemoryBudget < 1<<20 && spills < 2 {
				t.Errorf("%d spill runs with a budget of %d bytes", spills, o.MemoryBudget)
			}
		})
	}
}

func resultJSON(t testing.TB, r *Result) []byte {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeDataset generates the scenario's logs and ingests them into a
// dataset folder.
func writeDataset(t testing.TB, ctx context.Context, sc *loggen.Scenario, opts dataset.Options) string {
	t.Helper()
	logs := t.TempDir()
	if _, err := loggen.WriteDir(ctx, sc, logs); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	st, err := dataset.NewDirStore(root)
	if err != nil {
		t.Fatal(err)
	}
	w, err := dataset.NewWriter(ctx, st, opts)
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
	return root
}
