package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dataset/datasettest"
	"github.com/cflens/cflens/ingest/loggen"
	"github.com/cflens/cflens/ingest/s3test"
	"github.com/cflens/cflens/queries"
	cfathena "github.com/cflens/cflens/queries/athena"
	"github.com/cflens/cflens/queries/athena/athenatest"
)

const athenaBucket = "cflens-athena"

// athenaCLI is versitygw holding a dataset of the small scenario under
// dataset/ and its logs under raw/, and the Athena endpoint over it with
// the dataset's table declared as cflens.logs.
type athenaCLI struct {
	gw       *s3test.Server
	s3       *s3.Client
	srv      *athenatest.Server
	logs     string
	timeline string
	sc       *loggen.Scenario
}

func newAthenaCLI(t *testing.T) *athenaCLI {
	t.Helper()
	isolateAWS(t)
	t.Setenv("AWS_REGION", s3test.Region)
	f := &athenaCLI{}
	f.logs, f.timeline, f.sc = smallScenario(t)
	ds := filepath.Join(t.TempDir(), "dataset")
	if err := os.Mkdir(ds, 0o755); err != nil {
		t.Fatal(err)
	}
	datasettest.Ingest(t, ds, f.logs)
	f.gw = s3test.Start(t)
	f.s3 = s3test.Client(f.gw.URL)
	s3test.CreateBucket(t, f.s3, athenaBucket)
	s3test.PutObjects(t, f.s3, athenaBucket, append(treeObjects(t, ds, "dataset/"), treeObjects(t, f.logs, "raw/")...))
	f.srv = athenatest.Start(t, f.s3)
	ddl, err := queries.Render("ddl", queries.Params{Database: "cflens", Table: "logs", Location: "s3://" + athenaBucket + "/dataset/",
		Distributions: []string{f.sc.Distributions.Production.ID, f.sc.Distributions.Staging.ID}, YearFrom: 2024})
	if err != nil {
		t.Fatal(err)
	}
	f.runSQL(t, ddl)
	return f
}

// runSQL runs statements on the endpoint with the engine package.
func (f *athenaCLI) runSQL(t *testing.T, stmts ...string) {
	t.Helper()
	cfg := aws.Config{Region: s3test.Region, Credentials: credentials.NewStaticCredentialsProvider(s3test.AccessKey, s3test.SecretKey, "")}
	o := cfathena.DefaultOptions()
	o.OutputLocation = "s3://" + athenaBucket + "/results/"
	e, err := cfathena.New(cfathena.NewClient(cfg, f.srv.URL), o)
	if err != nil {
		t.Fatal(err)
	}
	var ss []cfathena.Statement
	for _, s := range stmts {
		ss = append(ss, cfathena.Statement{Name: "setup", SQL: s})
	}
	if _, err := e.Run(context.Background(), ss); err != nil {
		t.Fatal(err)
	}
}

// treeObjects reads the files under dir as objects under prefix.
func treeObjects(t *testing.T, dir, prefix string) []s3test.Object {
	t.Helper()
	var objs []s3test.Object
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		b, err := os.ReadFile(path)
		objs = append(objs, s3test.Object{Key: prefix + filepath.ToSlash(rel), Body: b})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// analyzeArgs are the flags of an analysis of the dataset in S3.
func (f *athenaCLI) analyzeArgs(extra ...string) []string {
	return append([]string{"--dataset", "s3://" + athenaBucket + "/dataset/", "--endpoint", f.gw.URL,
		"--production", f.sc.Distributions.Production.ID, "--staging", f.sc.Distributions.Staging.ID,
		"--timeline", f.timeline, "--format", "json", "--from", "2025-09-10T06", "--to", "2025-09-11T20"}, extra...)
}

func (f *athenaCLI) athenaArgs(extra ...string) []string {
	return f.analyzeArgs(append([]string{"--engine", "athena", "--athena-endpoint", f.srv.URL,
		"--athena-output", "s3://" + athenaBucket + "/results/", "--athena-database", "cflens", "--athena-table", "logs"}, extra...)...)
}

// runAnalyzeCtx runs analyze with a context of the caller's.
func runAnalyzeCtx(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	var out, errw bytes.Buffer
	root := newRootCmd()
	root.SetArgs(append([]string{"analyze"}, args...))
	root.SetOut(&out)
	root.SetErr(&errw)
	err = root.ExecuteContext(ctx)
	return out.String(), errw.String(), err
}

// TestAthenaEngineMatchesLocal: `analyze --engine athena` gives the
// local engine's analysis JSON plus the engine block, prints what it
// scans and costs, and never prints the credentials.
func TestAthenaEngineMatchesLocal(t *testing.T) {
	f := newAthenaCLI(t)
	local, lerr, err := runAnalyzeCmd(t, f.analyzeArgs()...)
	if err != nil {
		t.Fatalf("local: %v\n%s", err, lerr)
	}
	remote, rerr, err := runAnalyzeCmd(t, f.athenaArgs()...)
	if err != nil {
		t.Fatalf("athena: %v\n%s", err, rerr)
	}
	var lm, rm map[string]json.RawMessage
	if err := json.Unmarshal([]byte(local), &lm); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(remote), &rm); err != nil {
		t.Fatal(err)
	}
	var eng analyze.Engine
	if err := json.Unmarshal(rm["engine"], &eng); err != nil || eng.Name != "athena" || len(eng.Queries) != 4 || eng.CostUSD <= 0 {
		t.Errorf("engine block %s (%v)", rm["engine"], err)
	}
	for _, q := range eng.Queries {
		if q.ExecutionID == "" || q.ScannedBytes <= 0 {
			t.Errorf("engine query %+v", q)
		}
	}
	delete(rm, "engine")
	if _, ok := lm["engine"]; ok {
		t.Error("the local engine's analysis has an engine block")
	}
	if diff := cmp.Diff(lm, rm, cmp.Transformer("text", func(m json.RawMessage) string { return string(m) })); diff != "" {
		t.Errorf("analysis JSON (-local +athena):\n%s", diff)
	}
	for _, w := range []string{"athena: 4 queries over ", " in the pruned partitions: at most ", "athena: 4 queries scanned "} {
		if !strings.Contains(rerr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, rerr)
		}
	}
	for _, secret := range []string{s3test.SecretKey, s3test.AccessKey} {
		if strings.Contains(remote+rerr, secret) {
			t.Errorf("the output holds a credential")
		}
	}
}

// TestAthenaEngineFaults: a scan over --max-scan is refused before any
// query runs; a FAILED query ends the run with Athena's reason (exit 1);
// a query over --query-timeout is stopped and reported; Ctrl-C stops
// every running query and ends the run incomplete (exit 3).
func TestAthenaEngineFaults(t *testing.T) {
	f := newAthenaCLI(t)
	t.Run("over max scan", func(t *testing.T) {
		before := f.srv.Calls("StartQueryExecution")
		_, _, err := runAnalyzeCmd(t, f.athenaArgs("--max-scan", "1KB")...)
		var ue *usage.Error
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "over --max-scan 1KB") {
			t.Errorf("error %v, want a refusal", err)
		}
		if n := f.srv.Calls("StartQueryExecution") - before; n != 0 {
			t.Errorf("%d queries started", n)
		}
	})
	t.Run("failed query", func(t *testing.T) {
		f.srv.Fail("AS clock_hour", "HIVE_CURSOR_ERROR: Failed to read Parquet file")
		_, _, err := runAnalyzeCmd(t, f.athenaArgs()...)
		var qe *cfathena.QueryError
		if !errors.As(err, &qe) || qe.State != "FAILED" || !strings.Contains(err.Error(), "HIVE_CURSOR_ERROR: Failed to read Parquet file") ||
			errors.Is(err, ingest.ErrIncomplete) {
			t.Errorf("error %v, want Athena's failure (exit 1)", err)
		}
	})
	t.Run("query timeout", func(t *testing.T) {
		release := f.srv.Hold()
		defer release()
		before := len(f.srv.Stopped())
		_, _, err := runAnalyzeCmd(t, f.athenaArgs("--query-timeout", "300ms")...)
		if !errors.Is(err, cfathena.ErrQueryTimeout) || errors.Is(err, ingest.ErrIncomplete) {
			t.Errorf("error %v, want a timeout", err)
		}
		if n := len(f.srv.Stopped()) - before; n == 0 {
			t.Error("no query stopped")
		}
	})
	t.Run("interrupt", func(t *testing.T) {
		release := f.srv.Hold()
		defer release()
		before := len(f.srv.Stopped())
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, _, err := runAnalyzeCtx(ctx, f.athenaArgs()...)
			done <- err
		}()
		waitUntil(t, func() bool { return f.srv.Running() == 4 }, "four queries running")
		cancel()
		err := <-done
		if !errors.Is(err, ingest.ErrIncomplete) || !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want an incomplete run (exit 3)", err)
		}
		if n := len(f.srv.Stopped()) - before; n != 4 || f.srv.Running() != 0 {
			t.Errorf("%d queries stopped, %d running; want 4 and 0", n, f.srv.Running())
		}
	})
}

func waitUntil(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for range 2000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestAthenaConvertMatchesIngest declares the raw log table over the
// logs, runs `athena convert --run` (INSERT INTO the dataset table, one
// statement per day), and analyzes what it wrote with the local engine:
// the analysis equals that of the logs themselves, as `cflens ingest`
// reads them.
func TestAthenaConvertMatchesIngest(t *testing.T) {
	f := newAthenaCLI(t)
	rawDDL, err := queries.Render("raw_ddl", queries.Params{Database: "cflens", Convert: queries.ConvertParams{RawTable: "raw", RawLocation: "s3://" + athenaBucket + "/raw/"}})
	if err != nil {
		t.Fatal(err)
	}
	convDDL, err := queries.Render("ddl", queries.Params{Database: "cflens", Table: "converted", Location: "s3://" + athenaBucket + "/converted/",
		Distributions: []string{f.sc.Distributions.Production.ID, f.sc.Distributions.Staging.ID}, YearFrom: 2024})
	if err != nil {
		t.Fatal(err)
	}
	f.runSQL(t, rawDDL, convDDL)

	var out, errw bytes.Buffer
	root := newRootCmd()
	root.SetArgs([]string{"athena", "convert", "--run", "--from", "2025-09-10", "--to", "2025-09-12",
		"--production", f.sc.Distributions.Production.ID, "--staging", f.sc.Distributions.Staging.ID,
		"--database", "cflens", "--table", "converted", "--raw-table", "raw",
		"--athena-endpoint", f.srv.URL, "--athena-output", "s3://" + athenaBucket + "/results/",
		"--raw-location", "s3://" + athenaBucket + "/raw/", "--endpoint", f.gw.URL})
	root.SetOut(&out)
	root.SetErr(&errw)
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("convert: %v\n%s", err, errw.String())
	}
	if !strings.Contains(out.String(), "convert 2025-09-10\t") || !strings.Contains(out.String(), "convert 2025-09-11\t") {
		t.Errorf("convert output:\n%s", out.String())
	}
	if !strings.Contains(errw.String(), "athena: 2 queries over ") {
		t.Errorf("no scan estimate:\n%s", errw.String())
	}

	run := func(args ...string) analyze.Result {
		t.Helper()
		stdout, stderr, err := runAnalyzeCmd(t, append(args, "--timeline", f.timeline, "--format", "json", "--from", "2025-09-10T06", "--to", "2025-09-11T20")...)
		if err != nil {
			t.Fatalf("err = %v\nstderr:\n%s", err, stderr)
		}
		var res analyze.Result
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	fromLogs := run(f.logs)
	converted := run("--dataset", "s3://"+athenaBucket+"/converted/", "--endpoint", f.gw.URL,
		"--production", f.sc.Distributions.Production.ID, "--staging", f.sc.Distributions.Staging.ID)
	if fromLogs.Input.Analyzed == 0 || fromLogs.Input.Analyzed != converted.Input.Analyzed {
		t.Errorf("analysed %d rows from logs, %d from the converted dataset", fromLogs.Input.Analyzed, converted.Input.Analyzed)
	}
	// The inputs differ in what they count as objects (log objects, data
	// files); everything computed from the rows must be equal.
	fromLogs.Input, converted.Input = analyze.Input{}, analyze.Input{}
	if d := cmp.Diff(fromLogs, converted); d != "" {
		t.Errorf("analysis (-logs +converted):\n%s", d)
	}
}
