package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"

	"github.com/cflens/cflens/ingest/dataset/datasettest"
	"github.com/cflens/cflens/ingest/loggen"
)

// The test binary stands in for cflensbench when the runner starts
// itself (spawn, ceiling-worker).
const asMainEnv = "CFLENSBENCH_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		os.Exit(run(context.Background(), os.Args[1:]))
	}
	os.Exit(m.Run())
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name    string
		scales  []int
		workers []int
		want    []config
	}{
		{"one of each", []int{1}, []int{2}, []config{{1, 2}}},
		{"workers at the first scale only", []int{1, 4, 16}, []int{1, 2},
			[]config{{1, 1}, {1, 2}, {4, 2}, {16, 2}}},
		{"most workers even when listed first", []int{1, 4}, []int{2, 1},
			[]config{{1, 2}, {1, 1}, {4, 2}}},
		{"repeated values once", []int{1, 1}, []int{2, 2}, []config{{1, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.scales, tt.workers)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("plan(%v, %v) (-want +got):\n%s", tt.scales, tt.workers, diff)
			}
		})
	}
}

func TestParseTools(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []string
		wantErr bool
	}{
		{"all", []string{"all"}, allTools, false},
		{"duckdb is the three queries, in run order", []string{"duckdb", "ceiling"}, []string{toolCeiling, toolDuckGroupBy, toolDuckParquet, toolDuckCopy}, false},
		{"duplicates once", []string{"ingest", "ingest"}, []string{toolIngest}, false},
		{"unknown", []string{"spark"}, nil, true},
		{"empty", []string{}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTools(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseTools(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseTools(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"one", []float64{3}, 3},
		{"odd, unsorted", []float64{5, 1, 3}, 3},
		{"even: mean of the middle two", []float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.in); got != tt.want {
				t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func secs(v ...float64) []sample {
	out := make([]sample, len(v))
	for i, s := range v {
		out[i] = sample{Rep: i + 1, WallSeconds: s, CPUSeconds: s, MaxRSS: 100 << 20, Rows: 1_000_000}
	}
	return out
}

// TestFinish checks the rates, the ratios and the verdict on each target
// from hand-made samples.
func TestFinish(t *testing.T) {
	c := &corpus{Corpus: &loggen.Corpus{Lines: 1_000_000, Files: 10, Bytes: 50_000_000}}
	big := secs(2)
	big[0].MaxRSS = 500 << 20
	// The ceiling keeps two cores busy: twice the CPU time of its wall time.
	ceil2 := secs(1, 0.5, 2)
	for i := range ceil2 {
		ceil2[i].CPUSeconds *= 2
	}
	cr := configResult{Scale: 1, Workers: 2, Lines: c.Lines, Files: c.Files, Bytes: c.Bytes, Tools: []toolResult{
		summarize(toolCeiling, ceil2, "", c),              // median 1 s, 2 s of CPU
		summarize(toolAnalyzeGz, secs(1.25, 1.25), "", c), // 0.8× the ceiling
		summarize(toolIngest, big, "", c),
		summarize(toolParquetCeiling, secs(0.125), "", c), // 10× analyze-gz
		summarize(toolAnalyzeParquet, secs(0.25), "", c),  // 5× analyze-gz, half the read ceiling
		summarize(toolDuckGroupBy, secs(2.5), "", c),      // analyze-gz is 2×
		summarize(toolDuckParquet, secs(1), "", c),        // analyze-parquet is 4×; 2.5× the GROUP BY from .gz
		summarize(toolDuckCopy, secs(3), "", c),           // ingest is 1.5×
		summarize(toolGoAccess, nil, "goaccess: exit status 1", c),
	}}
	r := newReport(&benchOptions{lines: c.Lines, files: c.Files, reps: 3, scales: []int{1}, workers: []int{2}}, allTools)
	r.Configs = []configResult{cr}
	r.finish()

	gz := r.Configs[0].Tools[1]
	if gz.MedianSeconds != 1.25 || gz.LinesPerSecond != 800_000 || gz.MBPerSecond != 40 {
		t.Errorf("analyze-gz: median %v s, %v lines/s, %v MB/s; want 1.25, 800000, 40", gz.MedianSeconds, gz.LinesPerSecond, gz.MBPerSecond)
	}
	if gz.VsCeiling == nil || *gz.VsCeiling != 0.8 {
		t.Errorf("analyze-gz vs ceiling = %v, want 0.8", fmtRatio(gz.VsCeiling))
	}
	if gz.VsCeilingCPU == nil || *gz.VsCeilingCPU != 1.6 {
		t.Errorf("analyze-gz vs ceiling by CPU = %v, want 1.6", fmtRatio(gz.VsCeilingCPU))
	}
	if gz.VsDuckDB == nil || *gz.VsDuckDB != 2 {
		t.Errorf("analyze-gz vs duckdb = %v, want 2", fmtRatio(gz.VsDuckDB))
	}
	// analyze-parquet is compared with DuckDB from the same dataset.
	if pq := r.Configs[0].Tools[4]; pq.VsDuckDB == nil || *pq.VsDuckDB != 4 {
		t.Errorf("analyze-parquet vs duckdb = %v, want 4", fmtRatio(pq.VsDuckDB))
	}
	ceil := r.Configs[0].Tools[0]
	if ceil.MinSeconds != 0.5 || ceil.MaxSeconds != 2 || ceil.VsCeiling != nil {
		t.Errorf("ceiling: min %v max %v vs-ceiling %v; want 0.5, 2, none", ceil.MinSeconds, ceil.MaxSeconds, fmtRatio(ceil.VsCeiling))
	}
	type verdict struct {
		Name string
		Got  float64
		Met  bool
	}
	var got []verdict
	for _, tg := range r.Targets {
		got = append(got, verdict{tg.Name, tg.Got, tg.Met})
	}
	want := []verdict{
		{"analysis from .gz vs the gzip ceiling", 0.8, true},
		{"analysis from .gz vs DuckDB GROUP BY", 2, true},
		{"ingest to Parquet vs DuckDB COPY", 1.5, true}, // at the target: met
		{"analysis from Parquet vs from .gz", 5, false},
		// No GoAccess target: it failed.
		{"for reference: DuckDB GROUP BY from Parquet vs from .gz", 2.5, false},
		{"for reference: the Parquet read ceiling vs analysis from .gz", 10, false},
		{"for reference: analysis from Parquet vs the Parquet read ceiling", 0.5, false},
		{"peak RSS of analyze-gz", 100, true},
		{"peak RSS of ingest", 500, false},
		{"peak RSS of analyze-parquet", 100, true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}

	md := r.markdown()
	for _, line := range []string{
		"| analyze-gz | 1.250 | 1.250–1.250 | 0.800 | 40.0 | 0.80 | 2.00 | 100 | 1.25 | 1.60 | 2.00 |",
		// The fastest ceiling run took 0.5 s: 0.4× by fastest runs. By
		// repetition, 2 s and 1 s of the ceiling's CPU against 1.25 s:
		// 1.6× and 0.8× (the third repetition has no analyze-gz run).
		"| analysis from .gz vs the gzip ceiling | 1× | 2 | ≥ 0.8× | 0.80× | 0.40× | 1.60× | 0.80–1.60× | yes |",
		"| goaccess | failed: goaccess: exit status 1 | | | | | | | | | |",
		"| ingest to Parquet vs DuckDB COPY | 1× | 2 | ≥ 1.5× | 1.50× | 1.50× | 1.50× | 1.50× | yes |",
		"| peak RSS of ingest | 1× | 2 | ≤ 400 MiB | 500 MiB | – | – | – | no |",
		"| for reference: DuckDB GROUP BY from Parquet vs from .gz | 1× | 2 | – | 2.50× | 2.50× | 2.50× | 2.50× | – |",
		"| for reference: the Parquet read ceiling vs analysis from .gz | 1× | 2 | – | 10.00× | 10.00× | 10.00× | 10.00× | – |",
	} {
		if !strings.Contains(md, line+"\n") {
			t.Errorf("markdown lacks the line\n%s\nin:\n%s", line, md)
		}
	}
}

// TestMarkdownScaling checks the scaling and worker tables.
func TestMarkdownScaling(t *testing.T) {
	mk := func(scale, workers int, s float64) configResult {
		c := &corpus{Corpus: &loggen.Corpus{Lines: int64(scale) * 1_000_000, Files: scale, Bytes: int64(scale) * 1e6}}
		return configResult{Scale: scale, Workers: workers, Lines: c.Lines, Files: c.Files, Bytes: c.Bytes,
			Tools: []toolResult{summarize(toolCeiling, secs(s), "", c)}}
	}
	r := newReport(&benchOptions{lines: 1_000_000, files: 1, reps: 1, scales: []int{1, 4}, workers: []int{1, 2}}, []string{toolCeiling})
	r.Configs = []configResult{mk(1, 1, 2), mk(1, 2, 1), mk(4, 2, 6)}
	r.finish()
	md := r.markdown()
	if strings.Contains(md, " less ") {
		t.Errorf("a row of analysis less its read without either tool:\n%s", md)
	}
	for _, line := range []string{
		// 4× took 6 s: 1.5 s per million lines.
		"| ceiling | 1.000 / 1.000 (100) | 1.500 / 1.500 (100) | 1.50 | 1.50 |",
		"| ceiling | 2.000 (100) | 1.000 (100) | 2.00× |",
	} {
		if !strings.Contains(md, line+"\n") {
			t.Errorf("markdown lacks the line\n%s\nin:\n%s", line, md)
		}
	}

	// The analysis from Parquet less the Parquet read: 1× 0.5 − 0.3 s,
	// 4× (2.2 − 1.0) / 4 = 0.3 s per million lines.
	pq := func(scale int, analysis, read float64) configResult {
		c := &corpus{Corpus: &loggen.Corpus{Lines: int64(scale) * 1_000_000, Files: scale, Bytes: int64(scale) * 1e6}}
		return configResult{Scale: scale, Workers: 2, Lines: c.Lines, Files: c.Files, Bytes: c.Bytes,
			Tools: []toolResult{summarize(toolParquetCeiling, secs(read), "", c), summarize(toolAnalyzeParquet, secs(analysis), "", c)}}
	}
	r = newReport(&benchOptions{lines: 1_000_000, files: 1, reps: 1, scales: []int{1, 4}, workers: []int{2}}, []string{toolParquetCeiling, toolAnalyzeParquet})
	r.Configs = []configResult{pq(1, 0.5, 0.3), pq(4, 2.2, 1.0)}
	r.finish()
	md = r.markdown()
	for _, line := range []string{
		"| parquet-ceiling | 0.300 / 0.300 (100) | 0.250 / 0.250 (100) | 0.83 | 0.83 |",
		"| analyze-parquet | 0.500 / 0.500 (100) | 0.550 / 0.550 (100) | 1.10 | 1.10 |",
		"| analyze-parquet less parquet-ceiling | 0.200 / 0.200 | 0.300 / 0.300 | 1.50 | 1.50 |",
	} {
		if !strings.Contains(md, line+"\n") {
			t.Errorf("markdown lacks the line\n%s\nin:\n%s", line, md)
		}
	}
}

// TestWarmCorpus reads a corpus's files once, fails on a missing one,
// and the report says the runs read a warmed corpus.
func TestWarmCorpus(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.gz", "b.gz"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := warmCorpus(context.Background(), dir, []string{"a.gz", "b.gz"}); err != nil {
		t.Fatal(err)
	}
	if _, err := warmCorpus(context.Background(), dir, []string{"a.gz", "none.gz"}); err == nil {
		t.Error("a missing corpus file read without error")
	}
	r := newReport(&benchOptions{lines: 1_000_000, files: 1, reps: 1, scales: []int{1}, workers: []int{1}}, []string{toolCeiling})
	r.Configs = []configResult{{Scale: 1, Workers: 1, Lines: 1_000_000, Files: 1, WarmSeconds: 2.5}}
	r.finish()
	if md := r.markdown(); !strings.Contains(md, "read once before the runs (2.5 s)") {
		t.Errorf("report does not say the corpus was read first:\n%s", md)
	}
}

func TestGroup3(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 5_000_000: "5,000,000", -12345: "-12,345"} {
		if got := group3(in); got != want {
			t.Errorf("group3(%d) = %q, want %q", in, got, want)
		}
	}
}

// selfCmd returns a command that runs this test binary as cflensbench.
func asMain(args ...string) *exec.Cmd {
	c := exec.Command(os.Args[0], args...)
	c.Env = append(os.Environ(), asMainEnv+"=1")
	return c
}

func TestMeasurePipeline(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	self := os.Args[0]
	withEnv := func(c *exec.Cmd) *exec.Cmd {
		c.Env = append(os.Environ(), asMainEnv+"=1")
		return c
	}
	ctx := context.Background()

	t.Run("pipeline", func(t *testing.T) {
		// The writer allocates about 64 MiB, so its peak RSS must show.
		s, out, err := measure(ctx, self, dir,
			withEnv(exec.Command("sh", "-c", `printf 'a\nb\nc\n'; head -c 67108864 /dev/zero | tr '\0' x | sort >/dev/null`)),
			withEnv(exec.Command("wc", "-l")))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)); got != "3" {
			t.Errorf("stdout %q, want 3", got)
		}
		if s.Wall <= 0 || s.WallSeconds != s.Wall.Seconds() {
			t.Errorf("wall %v (%v s), want positive and equal", s.Wall, s.WallSeconds)
		}
		if s.MaxRSS < 32<<20 {
			t.Errorf("peak RSS %d MiB, want at least the 32 MiB sort buffers", s.MaxRSS>>20)
		}
	})
	t.Run("small child shows a small peak", func(t *testing.T) {
		s, _, err := measure(ctx, self, dir, withEnv(exec.Command("true")))
		if err != nil {
			t.Fatal(err)
		}
		if s.MaxRSS <= 0 || s.MaxRSS > 30<<20 {
			t.Errorf("peak RSS of true: %d KiB, want above 0 and under 30 MiB", s.MaxRSS>>10)
		}
	})
	t.Run("failure names the command and its stderr", func(t *testing.T) {
		_, _, err := measure(ctx, self, dir, withEnv(exec.Command("sh", "-c", "echo broken-input >&2; exit 3")))
		if err == nil || !strings.Contains(err.Error(), "broken-input") || !strings.Contains(err.Error(), "sh -c") {
			t.Errorf("error %v, want the command and its stderr", err)
		}
	})
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("measure left %d files behind", len(entries))
	}
}

func writeGz(t *testing.T, path string, members ...string) {
	t.Helper()
	var buf bytes.Buffer
	for _, m := range members {
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCeilingWorker(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.gz"), filepath.Join(dir, "b.gz")
	writeGz(t, a, "#Version: 1.0\n#Fields: date\n2025-09-10\n")
	// Concatenated members count as one file, as gzip reads them.
	writeGz(t, b, "x\ny\n", "z\n")
	tests := []struct {
		name    string
		workers int
		decoder string
		files   []string
		want    workerCounts
		wantErr bool
	}{
		{"one worker", 1, "", []string{a, b}, workerCounts{Lines: 6, Bytes: 45}, false},
		{"two workers", 2, "", []string{a, b}, workerCounts{Lines: 6, Bytes: 45}, false},
		{"cflens's decoder reads the same", 2, decoderCflens, []string{a, b}, workerCounts{Lines: 6, Bytes: 45}, false},
		{"unknown decoder", 2, "zlib", []string{a, b}, workerCounts{}, true},
		{"missing file", 2, "", []string{a, filepath.Join(dir, "none.gz")}, workerCounts{}, true},
		{"missing file, cflens's decoder", 2, decoderCflens, []string{a, filepath.Join(dir, "none.gz")}, workerCounts{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runCeiling(context.Background(), &ceilingOptions{workers: tt.workers, decoder: tt.decoder, files: tt.files})
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
		})
	}
	// And as a child, printing JSON.
	out, err := asMain("ceiling-worker", "--workers", "2", a, b).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(out)), `{"lines":6,"bytes":45}`; got != want {
		t.Errorf("ceiling-worker printed %s, want %s", got, want)
	}
	out, err = asMain("ceiling-worker", "--decoder", "cflens", a, b).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(out)), `{"lines":6,"bytes":45}`; got != want {
		t.Errorf("ceiling-worker --decoder cflens printed %s, want %s", got, want)
	}
}

// TestParquetCeilingWorker reads a dataset ingested from a realistic
// corpus and requires every row of the corpus, in process and as a child
// printing JSON; a folder without rows is an error, as it is to
// cflens analyze.
func TestParquetCeilingWorker(t *testing.T) {
	ctx := context.Background()
	logs, ds := t.TempDir(), t.TempDir()
	c, err := loggen.WriteCorpus(ctx, logs, loggen.CorpusOptions{Lines: 5_000, Files: 3, Seed: 7, Realistic: true, ProbeShare: loggen.DefaultProbeShare})
	if err != nil {
		t.Fatal(err)
	}
	datasettest.Ingest(t, ds, filepath.Join(logs, "*.gz"))
	for _, workers := range []int{1, 2} {
		got, err := runParquetCeiling(ctx, ds, workers)
		if err != nil {
			t.Fatal(err)
		}
		if got.Lines != c.Lines {
			t.Errorf("%d workers read %d rows, want %d", workers, got.Lines, c.Lines)
		}
	}
	out, err := asMain("parquet-ceiling-worker", "--workers", "2", ds).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(out)), `{"lines":5000}`; got != want {
		t.Errorf("parquet-ceiling-worker printed %s, want %s", got, want)
	}
	if _, err := runParquetCeiling(ctx, filepath.Join(ds, "none"), 2); err == nil {
		t.Error("a folder without rows read without error")
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"unknown tool", []string{"--tools", "spark"}},
		{"zero reps", []string{"--reps", "0"}},
		{"zero workers", []string{"--workers", "0"}},
		{"unknown flag", []string{"--nope"}},
		{"spawn without --rusage", []string{"spawn", "--", "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if got := run(ctx, tt.args); got != exitUsage {
				t.Errorf("run(%q) = %d, want %d", tt.args, got, exitUsage)
			}
		})
	}
}

// TestRenderAgain checks that a bench.json renders to the same report.
func TestRenderAgain(t *testing.T) {
	c := &corpus{Corpus: &loggen.Corpus{Lines: 1_000_000, Files: 10, Bytes: 50_000_000}}
	r := newReport(&benchOptions{lines: c.Lines, files: c.Files, reps: 2, scales: []int{1}, workers: []int{2}}, []string{toolCeiling, toolAnalyzeGz})
	r.Configs = []configResult{{Scale: 1, Workers: 2, Lines: c.Lines, Files: c.Files, Bytes: c.Bytes, Tools: []toolResult{
		summarize(toolCeiling, secs(1, 2), "", c),
		summarize(toolAnalyzeGz, secs(2, 3), "", c),
	}}}
	r.finish()
	dir := t.TempDir()
	var first bytes.Buffer
	if err := writeReport(r, dir, &first); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := renderAgain(&benchOptions{render: filepath.Join(dir, "bench.json")}, &again); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first.String(), again.String()); diff != "" {
		t.Errorf("rendered again (-first +again):\n%s", diff)
	}
	md, err := os.ReadFile(filepath.Join(dir, "bench.md"))
	if err != nil {
		t.Fatal(err)
	}
	if string(md) != first.String() {
		t.Errorf("bench.md differs from stdout")
	}
}
