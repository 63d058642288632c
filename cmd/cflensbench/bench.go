package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cflens/cflens/cmd/internal/atomicfile"
	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/ingest/loggen"
)

// Tools, in the order they run within a repetition.
const (
	toolCeiling        = "ceiling"
	toolAnalyzeGz      = "analyze-gz"
	toolIngest         = "ingest"
	toolParquetCeiling = "parquet-ceiling"
	toolAnalyzeParquet = "analyze-parquet"
	toolDuckGroupBy    = "duckdb-groupby"
	toolDuckParquet    = "duckdb-parquet"
	toolDuckCopy       = "duckdb-copy"
	toolGoAccess       = "goaccess"
)

var allTools = []string{toolCeiling, toolAnalyzeGz, toolIngest, toolParquetCeiling, toolAnalyzeParquet, toolDuckGroupBy, toolDuckParquet, toolDuckCopy, toolGoAccess}

// isDuckDB tells the tools that run DuckDB.
func isDuckDB(tool string) bool {
	return tool == toolDuckGroupBy || tool == toolDuckParquet || tool == toolDuckCopy
}

// isCflens tells the tools that run the cflens binary.
func isCflens(tool string) bool {
	return tool == toolAnalyzeGz || tool == toolIngest || tool == toolAnalyzeParquet
}

type benchOptions struct {
	lines   int64
	files   int
	reps    int
	scales  []int
	workers []int
	corpus  string
	tools   []string
	out     string
	cflens  string
	worker  string
	seed    uint64
	simple  bool
	probes  float64
	verbose bool
	render  string
}

func newBenchCmd() *cobra.Command {
	o := &benchOptions{}
	cmd := &cobra.Command{
		Use:   "cflensbench [--lines N] [--files N] [--reps N] [--scales 1,4,16] [--workers 1,2] [--tools …] [--out DIR]",
		Short: "Measure cflens against the gzip ceiling, DuckDB and GoAccess on one corpus",
		Long: `Generate (or reuse) a corpus of CloudFront-like legacy .gz logs for two
distributions, then time each tool as a child process over the same files,
interleaved: for each repetition, every tool once. The corpus has the
cardinality of real traffic (thousands of paths with a long tail, scanner
probes for unique paths, query strings, long user agents and cookies)
unless --simple-corpus asks for the old one (a dozen paths). Tools:

  ceiling          inflate the files with klauspost/compress, one file per core, nothing parsed
  analyze-gz       cflens analyze straight from the .gz files (projected columns)
  ingest           cflens ingest to a zstd Parquet dataset (all columns)
  parquet-ceiling  read the columns analyze reads from that dataset with cflens's reader, nothing aggregated
  analyze-parquet  cflens analyze --dataset over that dataset
  duckdb-groupby   DuckDB read_csv + GROUP BY distribution, hour, status, result type and path class
  duckdb-parquet   the same GROUP BY with DuckDB's read_parquet over the dataset ingest wrote
  duckdb-copy      DuckDB read_csv + COPY … TO parquet (zstd)
  goaccess         zcat | goaccess --log-format=CLOUDFRONT -o report.json
  (duckdb means the three DuckDB tools; all means every tool)

Each scale multiplies lines and files (so files keep their size); every
scale runs with the largest --workers value, and the first scale also with
each other value. Workers are cores: the child gets GOMAXPROCS, --workers,
DuckDB threads or ceiling goroutines equal to it (GoAccess has one thread).

Reports median and min–max wall time, lines/s, MB/s of compressed input,
ratios to the ceiling and to DuckDB doing the same work from the same input
(analyze-gz to duckdb-groupby, analyze-parquet to duckdb-parquet, ingest
to duckdb-copy), peak RSS (from the child's rusage) and
the project's targets, as Markdown on stdout and, with --out DIR, in
DIR/bench.md and DIR/bench.json. Targets are reported, never asserted: the
exit status is 0 unless a tool failed or read the wrong number of rows.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBench(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	fs.Int64Var(&o.lines, "lines", 5_000_000, "log lines of the 1× corpus")
	fs.IntVar(&o.files, "files", 300, ".gz files of the 1× corpus")
	fs.IntVar(&o.reps, "reps", 3, "repetitions of each measurement")
	fs.IntSliceVar(&o.scales, "scales", []int{1, 4, 16}, "corpus multiples to measure")
	fs.IntSliceVar(&o.workers, "workers", []int{1, 2}, "cores given to each tool")
	fs.StringVar(&o.corpus, "corpus", "", "folder keeping the corpora between runs (default: $CFLENS_BENCH_DIR, else the user cache folder's cflens-bench)")
	fs.StringSliceVar(&o.tools, "tools", []string{"all"}, "tools to measure: "+strings.Join(allTools, ",")+", duckdb or all")
	fs.StringVar(&o.out, "out", "", "folder to write bench.md and bench.json into")
	fs.StringVar(&o.cflens, "cflens", "", "cflens binary (default: cflens beside this program, then on PATH)")
	fs.StringVar(&o.worker, "benchworker", "", "benchworker binary, built from ./cmd/cflensbench/benchworker (default: beside this program, then on PATH)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generated corpus")
	fs.BoolVar(&o.simple, "simple-corpus", false, "generate the simple corpus (a dozen paths, short fields) instead of the realistic one")
	fs.Float64Var(&o.probes, "probe-share", loggen.DefaultProbeShare, "share of the realistic corpus's requests that are scanner probes for unique paths")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "log each run")
	fs.StringVar(&o.render, "render", "", "measure nothing: render this bench.json again (with --out, into DIR)")
	return cmd
}

// config is one set of measurements: a corpus scale and a worker count.
type config struct {
	Scale   int
	Workers int
}

// plan lists the configurations: every scale with the most workers, and
// the first scale with each worker count, in a stable order.
func plan(scales, workers []int) []config {
	most := slices.Max(workers)
	var out []config
	for i, s := range scales {
		if i == 0 {
			for _, w := range workers {
				out = append(out, config{s, w})
			}
			continue
		}
		out = append(out, config{s, most})
	}
	return slices.CompactFunc(out, func(a, b config) bool { return a == b })
}

// parseTools expands and orders the --tools list.
func parseTools(names []string) ([]string, error) {
	want := map[string]bool{}
	for _, n := range names {
		switch n = strings.TrimSpace(n); n {
		case "all":
			for _, t := range allTools {
				want[t] = true
			}
		case "duckdb":
			want[toolDuckGroupBy], want[toolDuckParquet], want[toolDuckCopy] = true, true, true
		default:
			if !slices.Contains(allTools, n) {
				return nil, usage.Errorf("tools are "+strings.Join(allTools, ", ")+", duckdb and all", "unknown tool %q", n)
			}
			want[n] = true
		}
	}
	var out []string
	for _, t := range allTools {
		if want[t] {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, usage.Errorf("", "no tool to measure")
	}
	return out, nil
}

// bench is the state of one run of the suite.
type bench struct {
	o        *benchOptions
	logger   *slog.Logger
	self     string // this program, for the workers
	cflens   string
	worker   string // benchworker: corpus and DuckDB
	goaccess string
	zcat     string
	work     string
}

func runBench(ctx context.Context, o *benchOptions, stdout, stderr io.Writer) error {
	if o.render != "" {
		return renderAgain(o, stdout)
	}
	if o.probes < 0 || o.probes > 1 {
		return usage.Errorf("", "--probe-share must be between 0 and 1")
	}
	if o.lines < 1 || o.files < 1 || o.reps < 1 {
		return usage.Errorf("", "--lines, --files and --reps must be positive")
	}
	if len(o.scales) == 0 || len(o.workers) == 0 {
		return usage.Errorf("", "--scales and --workers need at least one value")
	}
	for _, v := range append(slices.Clone(o.scales), o.workers...) {
		if v < 1 {
			return usage.Errorf("", "--scales and --workers take positive integers")
		}
	}
	tools, err := parseTools(o.tools)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	b := &bench{o: o, logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))}
	rep := newReport(o, tools)
	if b.self, err = os.Executable(); err != nil {
		return fmt.Errorf("find this program: %w", err)
	}
	if b.worker, err = findProgram("benchworker", o.worker, b.self, "./cmd/cflensbench/benchworker"); err != nil {
		return err
	}
	if slices.ContainsFunc(tools, isCflens) {
		if b.cflens, err = findProgram("cflens", o.cflens, b.self, "./cmd/cflens"); err != nil {
			return err
		}
		rep.Machine.Cflens = toolVersion(ctx, b.cflens, "version")
	}
	if slices.Contains(tools, toolGoAccess) {
		b.goaccess, err = exec.LookPath("goaccess")
		if err == nil {
			b.zcat, err = exec.LookPath("zcat")
		}
		if err != nil {
			rep.Notes = append(rep.Notes, "GoAccess was not measured: goaccess or zcat is not installed (.ci/install-goaccess.sh installs it).")
			tools = slices.DeleteFunc(tools, func(t string) bool { return t == toolGoAccess })
			rep.Tools = tools
		} else {
			rep.Machine.GoAccess = toolVersion(ctx, b.goaccess, "--version")
		}
	}
	if slices.ContainsFunc(tools, isDuckDB) {
		var c workerCounts
		if out, err := exec.CommandContext(ctx, b.worker, "duckdb", "--query", "version").Output(); err == nil && json.Unmarshal(out, &c) == nil {
			rep.Machine.DuckDB = c.Version
		}
	}
	corpusRoot := o.corpus
	if corpusRoot == "" {
		if corpusRoot, err = loggen.CacheDir(); err != nil {
			return fmt.Errorf("find a folder for the corpus: %w (use --corpus)", err)
		}
	}
	if b.work, err = os.MkdirTemp("", "cflensbench-"); err != nil {
		return fmt.Errorf("make work folder: %w", err)
	}
	defer os.RemoveAll(b.work)

	rep.Machine.LoadStart = loadAverage()
	if t, err := exec.LookPath("true"); err == nil {
		if s, _, err := measure(ctx, b.self, b.work, exec.CommandContext(ctx, t)); err == nil {
			rep.Machine.RSSFloor = s.MaxRSS
		}
	}
	corpora := map[int]*corpus{}
	var failed []string
	for _, cfg := range plan(o.scales, o.workers) {
		dir := filepath.Join(corpusRoot, fmt.Sprintf("corpus-%d-%d-%d", o.lines*int64(cfg.Scale), o.files*cfg.Scale, o.seed))
		if !o.simple {
			dir += fmt.Sprintf("-real%g", o.probes)
		}
		c := corpora[cfg.Scale]
		if c == nil {
			start := time.Now()
			b.logger.Info("corpus", "scale", cfg.Scale, "lines", o.lines*int64(cfg.Scale), "files", o.files*cfg.Scale, "dir", dir)
			c, err = b.writeCorpus(ctx, dir, o.lines*int64(cfg.Scale), o.files*cfg.Scale, o.seed)
			if err != nil {
				return err
			}
			b.logger.Info("corpus ready", "reused", c.Reused, "bytes", c.Bytes, "took", time.Since(start).Round(time.Millisecond))
			corpora[cfg.Scale] = c
		}
		warm, err := warmCorpus(ctx, dir, c.Names)
		if err != nil {
			return err
		}
		b.logger.Info("corpus read once", "scale", cfg.Scale, "took", warm.Round(time.Millisecond))
		cr, err := b.runConfig(ctx, cfg, c, dir, tools)
		if err != nil {
			return err
		}
		cr.WarmSeconds = warm.Seconds()
		for _, t := range cr.Tools {
			if t.Error != "" {
				failed = append(failed, fmt.Sprintf("%s at %d× with %d workers", t.Tool, cfg.Scale, cfg.Workers))
			}
		}
		rep.Configs = append(rep.Configs, *cr)
	}
	rep.Machine.LoadEnd = loadAverage()
	rep.finish()
	if err := writeReport(rep, o.out, stdout); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d measurements failed: %s", len(failed), strings.Join(failed, "; "))
	}
	return nil
}

// warmCorpus reads every file of a corpus once, so that the runs that
// follow read it from the page cache, whatever ran before: a corpus
// generated long ago, or pushed out of memory by a larger one, would
// otherwise cost its first run the disk's time, and that run only. It
// returns how long the reading took.
func warmCorpus(ctx context.Context, dir string, names []string) (time.Duration, error) {
	start := time.Now()
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			return 0, fmt.Errorf("read corpus: %w", err)
		}
		_, err = io.Copy(io.Discard, f)
		f.Close()
		if err != nil {
			return 0, fmt.Errorf("read corpus %s: %w", n, err)
		}
	}
	return time.Since(start), nil
}

// renderAgain recomputes the summaries, ratios and targets of a
// bench.json from its samples and writes the report again.
func renderAgain(o *benchOptions, stdout io.Writer) error {
	var rep benchReport
	if err := readJSON(o.render, &rep); err != nil {
		return err
	}
	for i := range rep.Configs {
		c := &rep.Configs[i]
		cp := &corpus{Corpus: &loggen.Corpus{Lines: c.Lines, Files: c.Files, Bytes: c.Bytes}}
		for j, t := range c.Tools {
			c.Tools[j] = summarize(t.Tool, t.Samples, t.Error, cp)
		}
	}
	rep.finish()
	return writeReport(&rep, o.out, stdout)
}

// writeReport writes the Markdown to stdout and, with a folder, bench.md
// and bench.json into it.
func writeReport(rep *benchReport, out string, stdout io.Writer) error {
	md := rep.markdown()
	if _, err := io.WriteString(stdout, md); err != nil {
		return err
	}
	if out != "" {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		if err := atomicfile.Write(filepath.Join(out, "bench.md"), []byte(md)); err != nil {
			return err
		}
		js, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fmt.Errorf("encode report: %w", err)
		}
		if err := atomicfile.Write(filepath.Join(out, "bench.json"), append(js, '\n')); err != nil {
			return err
		}
	}
	return nil
}

// findProgram returns the binary of a measured program: the flag's, or
// name beside this program, or name on PATH.
func findProgram(name, flag, self, pkg string) (string, error) {
	hint := fmt.Sprintf("build it with: go build -o bin/ %s (make bench does)", pkg)
	if flag != "" {
		p, err := exec.LookPath(flag)
		if err != nil {
			return "", usage.Errorf(hint, "--%s: %v", name, err)
		}
		return filepath.Abs(p)
	}
	beside := filepath.Join(filepath.Dir(self), name)
	if fi, err := os.Stat(beside); err == nil && fi.Mode().IsRegular() {
		return beside, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return filepath.Abs(p)
	}
	return "", usage.Errorf(hint, "no %s binary beside this program or on PATH", name)
}

// toolVersion returns the first line a program prints for its version.
func toolVersion(ctx context.Context, bin string, args ...string) string {
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(line)
}

// loadAverage returns the 1-minute load average, or -1.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f, _, _ := strings.Cut(string(b), " ")
	v, err := strconv.ParseFloat(f, 64)
	if err != nil {
		return -1
	}
	return v
}

// runConfig measures every tool reps times, interleaved, at one scale and
// worker count.
func (b *bench) runConfig(ctx context.Context, cfg config, c *corpus, dir string, tools []string) (*configResult, error) {
	work := filepath.Join(b.work, fmt.Sprintf("x%d-w%d", cfg.Scale, cfg.Workers))
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, fmt.Errorf("make work folder: %w", err)
	}
	defer os.RemoveAll(work)
	r := &configRun{bench: b, cfg: cfg, corpus: c, dir: dir, work: work}
	if err := r.writeTimeline(); err != nil {
		return nil, err
	}
	cr := &configResult{Scale: cfg.Scale, Workers: cfg.Workers, Lines: c.Lines, Files: c.Files, Bytes: c.Bytes}
	samples := map[string][]sample{}
	errs := map[string]string{}
	for rep := 1; rep <= b.o.reps; rep++ {
		for _, t := range tools {
			if errs[t] != "" {
				continue // a tool that failed once is not run again
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			s, err := r.measure(ctx, t)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				b.logger.Error("measurement failed", "tool", t, "scale", cfg.Scale, "workers", cfg.Workers, "rep", rep, "err", err)
				errs[t] = err.Error()
				continue
			}
			s.Rep = rep
			b.logger.Info("measured", "tool", t, "scale", cfg.Scale, "workers", cfg.Workers, "rep", rep,
				"seconds", fmt.Sprintf("%.3f", s.WallSeconds), "max_rss_mib", s.MaxRSS>>20, "rows", s.Rows)
			samples[t] = append(samples[t], s)
		}
	}
	for _, t := range tools {
		cr.Tools = append(cr.Tools, summarize(t, samples[t], errs[t], c))
	}
	cr.Stems = r.stems
	return cr, nil
}

// corpus is a generated corpus, as benchworker corpus describes it: the
// corpus, whether the folder already held it, and the
// continuous-deployment weight it was generated with.
type corpus struct {
	*loggen.Corpus
	Reused bool    `json:"reused"`
	Weight float64 `json:"weight"`
}

// writeCorpus generates (or reuses) a corpus in a child process, so that
// generating it leaves no mark on this process's memory.
func (b *bench) writeCorpus(ctx context.Context, dir string, lines int64, files int, seed uint64) (*corpus, error) {
	cmd := exec.CommandContext(ctx, b.worker, "corpus", "--dir", dir,
		"--lines", strconv.FormatInt(lines, 10), "--files", strconv.Itoa(files), "--seed", strconv.FormatUint(seed, 10))
	if !b.o.simple {
		cmd.Args = append(cmd.Args, "--realistic", "--probe-share", strconv.FormatFloat(b.o.probes, 'g', -1, 64))
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("write corpus: %w: %s", err, lastLines(stderr.String(), 5))
	}
	var c corpus
	if err := json.Unmarshal(out, &c); err != nil {
		return nil, fmt.Errorf("write corpus: %w", err)
	}
	if c.Lines != lines || len(c.Names) != files {
		return nil, fmt.Errorf("write corpus: got %d lines in %d files, want %d in %d", c.Lines, len(c.Names), lines, files)
	}
	return &c, nil
}
