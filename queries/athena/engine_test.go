package athena_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdkathena "github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dataset"
	"github.com/cflens/cflens/ingest/dirsource"
	"github.com/cflens/cflens/ingest/loggen"
	"github.com/cflens/cflens/ingest/s3test"
	"github.com/cflens/cflens/ingest/schema"
	"github.com/cflens/cflens/queries"
	"github.com/cflens/cflens/queries/athena"
	"github.com/cflens/cflens/queries/athena/athenatest"
)

const bucket = "cflens-athena"

// fixture is versitygw with a dataset of a generated scenario under
// dataset/, and the Athena endpoint over it.
type fixture struct {
	s3       *s3.Client
	srv      *athenatest.Server
	api      *sdkathena.Client
	local    string // the dataset's local folder
	windows  []queries.Window
	timeline *analyze.Timeline
	dists    []string
}

func newFixture(t *testing.T) *fixture { return newScenarioFixture(t, "default") }

// scenarios are the generated scenarios of the tests, by name.
var scenarios = map[string]func() *loggen.Scenario{
	"default": func() *loggen.Scenario { return loggen.DefaultScenario(0.02) },
	// Thousands of good paths and a share of scanner probes with paths
	// seen once or twice, as real traffic has.
	"high-cardinality": func() *loggen.Scenario {
		sc := loggen.DefaultScenario(0.05)
		sc.GoodPaths = numberedPaths("/catalog/item-", 2000)
		sc.ErrorPaths = numberedPaths("/probe/x", 10000)
		sc.ErrorShare = 0.4
		return sc
	},
}

func numberedPaths(prefix string, n int) []loggen.Path {
	out := make([]loggen.Path, n)
	for i := range out {
		out[i] = loggen.Path{Path: prefix + strconv.Itoa(i), Weight: 1, ContentType: "text/html", Bytes: 1000}
	}
	return out
}

func newScenarioFixture(t *testing.T, scenario string) *fixture {
	t.Helper()
	gw := s3test.Start(t)
	f := &fixture{s3: s3test.Client(gw.URL)}
	s3test.CreateBucket(t, f.s3, bucket)
	f.srv = athenatest.Start(t, f.s3)
	// The real SDK client. Its retries are kept for broken connections
	// only, as the SDK retries them in production (a keep-alive
	// connection can be reset under the client), and left out for
	// throttling, so that the tests see the engine's own.
	f.api = sdkathena.New(sdkathena.Options{
		Region:       s3test.Region,
		BaseEndpoint: aws.String(f.srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(s3test.AccessKey, s3test.SecretKey, ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.Retryables = []retry.IsErrorRetryable{retry.NoRetryCanceledError{}, retry.RetryableConnectionError{}}
			o.RateLimiter = ratelimit.None
			o.MaxBackoff = 50 * time.Millisecond
		}),
	})
	f.writeDataset(t, scenario)
	return f
}

// generated is the dataset of a generated scenario, written once for
// the package's tests.
type generated struct {
	local    string
	objs     []s3test.Object
	windows  []queries.Window
	timeline *analyze.Timeline
	dists    []string
	err      error
}

var (
	genMu sync.Mutex
	gens  = map[string]generated{}
)

func generate(sc *loggen.Scenario) generated {
	ctx := context.Background()
	logs, err := os.MkdirTemp("", "cflens-athena-logs")
	if err != nil {
		return generated{err: err}
	}
	defer os.RemoveAll(logs)
	g := generated{}
	if _, err := loggen.WriteDir(ctx, sc, logs); err != nil {
		return generated{err: err}
	}
	if g.local, err = os.MkdirTemp("", "cflens-athena-dataset"); err != nil {
		return generated{err: err}
	}
	st, err := dataset.NewDirStore(g.local)
	if err != nil {
		return generated{err: err}
	}
	w, err := dataset.NewWriter(ctx, st, dataset.Options{})
	if err != nil {
		return generated{err: err}
	}
	src, err := dirsource.New(logs, "")
	if err != nil {
		return generated{err: err}
	}
	prod, stg := sc.Distributions.Of(schema.RoleProduction).ID, sc.Distributions.Of(schema.RoleStaging).ID
	g.dists = []string{prod, stg}
	roles := map[string]string{prod: schema.RoleProduction, stg: schema.RoleStaging}
	if _, err := ingest.Run(ctx, ingest.Options{Roles: roles}, []ingest.Source{src}, w); err != nil {
		return generated{err: err}
	}
	err = filepath.WalkDir(g.local, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(g.local, path)
		b, err := os.ReadFile(path)
		g.objs = append(g.objs, s3test.Object{Key: "dataset/" + filepath.ToSlash(rel), Body: b})
		return err
	})
	if err != nil {
		return generated{err: err}
	}
	if g.timeline, err = analyze.ParseTimeline(sc.TimelineYAML(), "scenario"); err != nil {
		return generated{err: err}
	}
	agg, err := analyze.NewAggregator(analyze.Options{Timeline: g.timeline, Production: prod, Staging: stg})
	if err != nil {
		return generated{err: err}
	}
	if _, err := dataset.Read(ctx, st, dataset.ReadOptions{Columns: agg.Columns()}, agg); err != nil {
		return generated{err: err}
	}
	for _, w := range agg.Result().Windows {
		g.windows = append(g.windows, queries.Window{Name: strconv.Itoa(w.ID), Start: w.From, End: w.To})
	}
	if len(g.windows) < 2 {
		return generated{err: fmt.Errorf("the scenario has %d windows, want several", len(g.windows))}
	}
	return g
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, g := range gens {
		if g.local != "" {
			os.RemoveAll(g.local)
		}
	}
	os.Exit(code)
}

// writeDataset uploads the generated dataset under dataset/.
func (f *fixture) writeDataset(t *testing.T, scenario string) {
	t.Helper()
	genMu.Lock()
	gen, ok := gens[scenario]
	if !ok {
		gen = generate(scenarios[scenario]())
		gens[scenario] = gen
	}
	genMu.Unlock()
	if gen.err != nil {
		t.Fatal(gen.err)
	}
	s3test.PutObjects(t, f.s3, bucket, gen.objs)
	f.local, f.windows, f.timeline, f.dists = gen.local, gen.windows, gen.timeline, gen.dists
}

func (f *fixture) engine(t *testing.T, mod func(*athena.Options)) *athena.Engine {
	t.Helper()
	o := athena.DefaultOptions()
	o.Database = "cflens"
	o.OutputLocation = "s3://" + bucket + "/results/"
	o.PollMin, o.PollMax = 2*time.Millisecond, 20*time.Millisecond
	o.ThrottleBackoff = 2 * time.Millisecond
	if mod != nil {
		mod(&o)
	}
	e, err := athena.New(f.api, o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// createTable runs the DDL of cflens's dataset table.
func (f *fixture) createTable(t *testing.T) {
	t.Helper()
	ddl, err := queries.Render("ddl", queries.Params{Database: "cflens", Table: "logs", Location: "s3://" + bucket + "/dataset/",
		Distributions: f.dists, YearFrom: 2020})
	if err != nil {
		t.Fatal(err)
	}
	xs, err := f.engine(t, nil).Run(context.Background(), []athena.Statement{{Name: "ddl", SQL: ddl}})
	if err != nil {
		t.Fatal(err)
	}
	if xs[0].StatementType != "DDL" || len(xs[0].Result.Rows) != 0 || xs[0].Cost() != 0 {
		t.Errorf("DDL execution %+v, want a free DDL statement without rows", xs[0])
	}
}

// analysisStatements renders the analysis queries over the table.
func (f *fixture) analysisStatements(t *testing.T, relation string) []athena.Statement {
	t.Helper()
	var out []athena.Statement
	for _, q := range queries.List() {
		if q.Name == "ddl" || strings.HasPrefix(q.Name, "raw_") || strings.HasPrefix(q.Name, "convert") || strings.HasPrefix(q.Name, "tally_") {
			continue
		}
		sql, err := queries.Render(q.Name, queries.Params{Database: "cflens", Table: "logs", Relation: relation,
			Windows: f.windows, Distributions: f.dists})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, athena.Statement{Name: q.Name, SQL: sql})
	}
	return out
}

// duckRows runs sql on DuckDB directly and renders the cells as the
// endpoint's engine package reads them back (NULL as "").
func duckRows(t *testing.T, sqlText string) (cols []string, rows [][]string) {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("SET TimeZone = 'UTC'"); err != nil {
		t.Fatal(err)
	}
	rs, err := db.Query(sqlText)
	if err != nil {
		t.Fatalf("%v\n%s", err, sqlText)
	}
	defer rs.Close()
	cols, _ = rs.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			switch x := v.(type) {
			case nil:
			case time.Time:
				row[i] = x.UTC().Format("2006-01-02 15:04:05.000")
			case float64:
				row[i] = fmt.Sprintf("%.12g", x)
			default:
				row[i] = fmt.Sprint(x)
			}
		}
		rows = append(rows, row)
	}
	return cols, rows
}

// TestAthenaRunsAnalysisQueries runs the analysis queries through the
// SDK client against the endpoint, in small result pages, and checks
// each result table against the same query run on DuckDB directly over
// the local copy of the dataset; and that Athena's result files are in
// the output location.
func TestAthenaRunsAnalysisQueries(t *testing.T) {
	f := newFixture(t)
	f.createTable(t)
	e := f.engine(t, func(o *athena.Options) { o.PageRows = 7; o.Concurrency = 3 })
	stmts := f.analysisStatements(t, "")
	release := f.srv.Hold()
	type result struct {
		xs  []athena.Execution
		err error
	}
	done := make(chan result, 1)
	go func() {
		xs, err := e.Run(context.Background(), stmts)
		done <- result{xs, err}
	}()
	// Independent queries run at once: all are submitted before any ends.
	waitFor(t, func() bool { return f.srv.Running() == len(stmts) }, "every query running at once")
	release()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	local := f.analysisStatements(t, fmt.Sprintf("read_parquet('%s/**/*.parquet', hive_partitioning = true)", filepath.ToSlash(f.local)))
	for i, x := range r.xs {
		if x.Name != stmts[i].Name || x.ID == "" || x.StatementType != "DML" {
			t.Errorf("execution %d: %+v", i, x)
		}
		if x.ScannedBytes <= 0 || x.Cost() < athena.Cost(0) {
			t.Errorf("%s: scanned %d bytes costing %v", x.Name, x.ScannedBytes, x.Cost())
		}
		wantCols, wantRows := duckRows(t, local[i].SQL)
		if len(wantRows) <= 7 {
			t.Errorf("%s: %d rows do not span several pages of 7", x.Name, len(wantRows))
		}
		if diff := cmp.Diff(wantCols, x.Result.Columns); diff != "" {
			t.Errorf("%s columns (-duckdb +athena):\n%s", x.Name, diff)
		}
		got := normalizeFloats(x.Result.Rows)
		if diff := cmp.Diff(wantRows, got); diff != "" {
			t.Errorf("%s rows (-duckdb +athena):\n%s", x.Name, diff)
		}
		obj, err := f.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("results/" + x.ID + ".csv")})
		if err != nil {
			t.Errorf("%s: result file: %v", x.Name, err)
			continue
		}
		b, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		if lines := strings.Count(string(b), "\n"); lines != len(wantRows)+1 {
			t.Errorf("%s: result file has %d lines, want %d rows and a header", x.Name, lines, len(wantRows))
		}
	}
}

// normalizeFloats renders float cells with 12 significant digits, as
// duckRows does, leaving the other cells alone.
func normalizeFloats(rows [][]string) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = make([]string, len(r))
		for j, c := range r {
			out[i][j] = c
			if strings.ContainsAny(c, ".eE") && !strings.ContainsAny(c, " -:") {
				var v float64
				if _, err := fmt.Sscan(c, &v); err == nil && !math.IsNaN(v) {
					out[i][j] = fmt.Sprintf("%.12g", v)
				}
			}
		}
	}
	return out
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestAthenaFailedQuery: a query Athena fails ends the run with Athena's
// reason, and no query is left running.
func TestAthenaFailedQuery(t *testing.T) {
	f := newFixture(t)
	f.createTable(t)
	f.srv.Fail("hour_of_day", "COLUMN_NOT_FOUND: line 5:3: Column 'hour_of_day' cannot be resolved")
	_, err := f.engine(t, nil).Run(context.Background(), f.analysisStatements(t, ""))
	var qe *athena.QueryError
	if !errors.As(err, &qe) || qe.State != "FAILED" || qe.Name != "hour_profile" ||
		!strings.Contains(err.Error(), "Column 'hour_of_day' cannot be resolved") {
		t.Fatalf("error %v, want hour_profile FAILED with Athena's reason", err)
	}
	waitFor(t, func() bool { return f.srv.Running() == 0 }, "no query running")
}

// TestAthenaThrottled: throttled calls are tried again with backoff and
// the run succeeds; past the retries, the run fails with ErrThrottled.
func TestAthenaThrottled(t *testing.T) {
	f := newFixture(t)
	f.createTable(t)
	stmts := f.analysisStatements(t, "")
	f.srv.Throttle("StartQueryExecution", 3)
	f.srv.Throttle("GetQueryExecution", 2)
	f.srv.Throttle("GetQueryResults", 1)
	xs, err := f.engine(t, nil).Run(context.Background(), stmts)
	if err != nil {
		t.Fatal(err)
	}
	var retried int
	for _, x := range xs {
		retried += x.Throttled
	}
	served := f.srv.Throttled("StartQueryExecution") + f.srv.Throttled("GetQueryExecution") + f.srv.Throttled("GetQueryResults")
	if served != 6 || retried != served {
		t.Errorf("endpoint throttled %d calls, engine retried %d; want 6 and 6", served, retried)
	}

	f.srv.Throttle("StartQueryExecution", 10)
	_, err = f.engine(t, func(o *athena.Options) { o.ThrottleRetries = 2 }).Run(context.Background(), stmts[:1])
	if !errors.Is(err, athena.ErrThrottled) || !strings.Contains(err.Error(), "TooManyRequestsException") {
		t.Errorf("error %v, want ErrThrottled naming TooManyRequestsException", err)
	}
}

// TestAthenaQueryTimeout: a query running past the timeout is stopped on
// Athena and reported.
func TestAthenaQueryTimeout(t *testing.T) {
	f := newFixture(t)
	f.createTable(t)
	release := f.srv.Hold()
	defer release()
	stmts := f.analysisStatements(t, "")[:1]
	_, err := f.engine(t, func(o *athena.Options) { o.QueryTimeout = 50 * time.Millisecond }).Run(context.Background(), stmts)
	var qe *athena.QueryError
	if !errors.As(err, &qe) || !errors.Is(err, athena.ErrQueryTimeout) || !strings.Contains(err.Error(), "still running after 50ms") {
		t.Fatalf("error %v, want a timeout", err)
	}
	if got := f.srv.Stopped(); !slices.Equal(got, []string{qe.ID}) || f.srv.State(qe.ID) != "CANCELLED" {
		t.Errorf("stopped %v (state %s), want [%s] cancelled", got, f.srv.State(qe.ID), qe.ID)
	}
}

// TestAthenaInterrupt: when the caller's context ends (Ctrl-C), every
// running query is stopped on Athena before Run returns.
func TestAthenaInterrupt(t *testing.T) {
	f := newFixture(t)
	f.createTable(t)
	release := f.srv.Hold()
	defer release()
	stmts := f.analysisStatements(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := f.engine(t, nil).Run(ctx, stmts)
		done <- err
	}()
	waitFor(t, func() bool { return f.srv.Running() == len(stmts) }, "every query running")
	cancel()
	err := <-done
	var ie *athena.InterruptedError
	if !errors.As(err, &ie) || !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want an interruption", err)
	}
	stopped := f.srv.Stopped()
	slices.Sort(stopped)
	if len(stopped) != len(stmts) || !slices.Equal(stopped, ie.Stopped) {
		t.Errorf("endpoint stopped %v, engine reports %v; want all %d queries", stopped, ie.Stopped, len(stmts))
	}
	if n := f.srv.Running(); n != 0 {
		t.Errorf("%d queries still running", n)
	}
}

// lateStart is an API whose StartQueryExecution answers only once the
// test lets it, as a client whose answer is still on the wire: the query
// runs on the endpoint from the call on, and, as the SDK does, the
// answer is dropped when the call's context has ended by then.
type lateStart struct {
	athena.API
	started chan string // the ID of each query started
	answer  chan struct{}
}

func (l lateStart) StartQueryExecution(ctx context.Context, in *sdkathena.StartQueryExecutionInput, opts ...func(*sdkathena.Options)) (*sdkathena.StartQueryExecutionOutput, error) {
	out, err := l.API.StartQueryExecution(context.WithoutCancel(ctx), in, opts...)
	if err != nil {
		return nil, err
	}
	l.started <- aws.ToString(out.QueryExecutionId)
	<-l.answer
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// TestAthenaInterruptDuringStart: Ctrl-C while a query's start call is
// under way still stops that query, whose ID the engine learns only
// once the call has ended.
func TestAthenaInterruptDuringStart(t *testing.T) {
	f := newFixture(t)
	f.createTable(t)
	release := f.srv.Hold()
	defer release()
	api := lateStart{API: f.api, started: make(chan string, 1), answer: make(chan struct{})}
	o := athena.DefaultOptions()
	o.Database = "cflens"
	o.OutputLocation = "s3://" + bucket + "/results/"
	o.PollMin, o.PollMax = 2*time.Millisecond, 20*time.Millisecond
	e, err := athena.New(api, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := e.Run(ctx, f.analysisStatements(t, "")[:1])
		done <- err
	}()
	id := <-api.started
	cancel()
	close(api.answer)
	err = <-done
	var ie *athena.InterruptedError
	if !errors.As(err, &ie) || !errors.Is(err, context.Canceled) || !slices.Equal(ie.Stopped, []string{id}) {
		t.Fatalf("error %v, want an interruption that stopped %s", err, id)
	}
	if got := f.srv.Stopped(); !slices.Equal(got, []string{id}) || f.srv.Running() != 0 {
		t.Errorf("endpoint stopped %v with %d running, want [%s] and none", got, f.srv.Running(), id)
	}
}

func TestCost(t *testing.T) {
	const mb = 1 << 20
	for _, tc := range []struct {
		name    string
		scanned int64
		want    float64
	}{
		{"nothing is billed as 10 MB", 0, 5 * 10.0 / (1 << 20)},
		{"under the minimum", 3 * mb, 5 * 10.0 / (1 << 20)},
		{"rounded up to the megabyte", 20*mb + 1, 5 * 21.0 / (1 << 20)},
		{"a terabyte", 1 << 40, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := athena.Cost(tc.scanned); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("Cost(%d) = %v, want %v", tc.scanned, got, tc.want)
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	o := athena.DefaultOptions()
	o.OutputLocation = "/tmp/results"
	if _, err := athena.New(nil, o); err == nil || !strings.Contains(err.Error(), "s3://") {
		t.Errorf("error %v, want one about the output location", err)
	}
}

// TestAthenaAnalysisMatchesLocal runs the tally queries through the
// endpoint and builds the analysis from them: its JSON equals the local
// engine's on the same dataset, apart from the added engine block.
func TestAthenaAnalysisMatchesLocal(t *testing.T) {
	for _, name := range []string{"default", "high-cardinality"} {
		t.Run(name, func(t *testing.T) { testAnalysisMatchesLocal(t, name) })
	}
}

func testAnalysisMatchesLocal(t *testing.T, scenario string) {
	f := newScenarioFixture(t, scenario)
	f.createTable(t)
	ctx := context.Background()
	st, err := dataset.NewDirStore(f.local)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		range_ func(o *analyze.Options)
	}{
		{"whole dataset", func(o *analyze.Options) {}},
		{"twelve whole hours of the middle", func(o *analyze.Options) {
			o.From = f.windows[0].End.Truncate(time.Hour)
			o.To = o.From.Add(12 * time.Hour)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := analyze.Options{Timeline: f.timeline, Production: f.dists[0], Staging: f.dists[1]}
			tc.range_(&o)
			agg, err := analyze.NewAggregator(o)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := dataset.Read(ctx, st, dataset.ReadOptions{From: o.From, To: o.To, Columns: agg.Columns()}, agg); err != nil {
				t.Fatal(err)
			}
			want := agg.Result()
			plan, err := analyze.NewPlan(o)
			if err != nil {
				t.Fatal(err)
			}
			stmts, err := athena.TallyStatements(plan, athena.TableRef{Database: "cflens", Table: "logs"}, f.dists)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range stmts {
				if !strings.Contains(s.SQL, "l.distributionid IN (") || !o.From.IsZero() && !strings.Contains(s.SQL, "CAST(l.year AS integer)") {
					t.Errorf("%s does not prune by partition:\n%s", s.Name, s.SQL)
				}
			}
			scan, err := athena.EstimateScan(ctx, st, o.From, o.To, f.dists, len(stmts))
			if err != nil {
				t.Fatal(err)
			}
			got, xs, err := athena.Analyze(ctx, f.engine(t, nil), plan, stmts, scan.Objects)
			if err != nil {
				t.Fatal(err)
			}
			if got.Engine == nil || len(got.Engine.Queries) != len(stmts) || got.Engine.Queries[0].ExecutionID != xs[0].ID || got.Engine.CostUSD <= 0 {
				t.Errorf("engine block %+v", got.Engine)
			}
			got.Engine = nil
			wj, _ := json.Marshal(want)
			gj, _ := json.Marshal(got)
			if want.Input.Analyzed == 0 || want.ErrorPaths.Error == 0 {
				t.Fatal("nothing analyzed")
			}
			t.Logf("%d rows, %d stems, %d error paths", want.Input.Analyzed, want.ErrorPaths.Stems, want.ErrorPaths.Error)
			if string(wj) != string(gj) {
				t.Errorf("analysis JSON differs:\nlocal  %s\nathena %s", wj, gj)
			}
		})
	}
}
