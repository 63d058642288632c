package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// configRun measures the tools of one configuration; its files live in work.
type configRun struct {
	*bench
	cfg    config
	corpus *corpus
	dir    string // the corpus folder
	work   string
	stems  int64 // distinct stems, from an analysis
}

// files returns the corpus's files, with their folder.
func (r *configRun) files() []string {
	out := make([]string, len(r.corpus.Names))
	for i, n := range r.corpus.Names {
		out[i] = filepath.Join(r.dir, n)
	}
	return out
}

func (r *configRun) path(name string) string { return filepath.Join(r.work, name) }

// writeTimeline writes the configuration timeline the analyzer needs:
// custom error responses on both distributions and the weighted policy
// from the corpus's first hour, as the corpus was generated.
func (r *configRun) writeTimeline() error {
	c := r.corpus
	at := c.Start.UTC().Format(time.RFC3339)
	yaml := fmt.Sprintf(`distributions: {production: %s, staging: %s}
changes:
  - at: %s
    role: production
    custom_error_responses: true
  - at: %s
    role: staging
    custom_error_responses: true
  - at: %s
    continuous_deployment: {enabled: true, type: weighted, weight: %s}
`, c.Production, c.Staging, at, at, at, strconv.FormatFloat(c.Weight, 'f', -1, 64))
	if err := os.WriteFile(r.path("timeline.yaml"), []byte(yaml), 0o644); err != nil {
		return fmt.Errorf("write timeline: %w", err)
	}
	return nil
}

// cflensCmd returns a cflens command with the configuration's cores.
func (r *configRun) cflensCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, r.cflens, args...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(r.cfg.Workers))
	return cmd
}

func (r *configRun) selfCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, r.self, args...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(r.cfg.Workers))
	return cmd
}

func (r *configRun) duckdbCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, r.worker, append([]string{"duckdb"}, args...)...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(r.cfg.Workers))
	return cmd
}

func (r *configRun) roleArgs() []string {
	return []string{"--production", r.corpus.Production, "--staging", r.corpus.Staging}
}

func (r *configRun) glob() string { return filepath.Join(r.dir, "*.gz") }

// measure runs one tool once and checks the rows it read.
func (r *configRun) measure(ctx context.Context, tool string) (sample, error) {
	w := strconv.Itoa(r.cfg.Workers)
	var (
		cmds  []*exec.Cmd
		check func(stdout []byte) (int64, error)
		after func() error
	)
	switch tool {
	case toolCeiling:
		cmds = []*exec.Cmd{r.selfCmd(ctx, append([]string{"ceiling-worker", "--workers", w}, r.files()...)...)}
		check = func(out []byte) (int64, error) {
			var c workerCounts
			if err := json.Unmarshal(out, &c); err != nil {
				return 0, fmt.Errorf("read ceiling counts: %w", err)
			}
			// Two header lines (#Version, #Fields) per file.
			return c.Lines - 2*int64(r.corpus.Files), nil
		}
	case toolAnalyzeGz:
		out := r.path("analysis-gz.json")
		os.Remove(out)
		args := append([]string{"analyze", r.glob()}, r.roleArgs()...)
		args = append(args, "--timeline", r.path("timeline.yaml"), "--workers", w, "--format", "json", "--out", out)
		cmds = []*exec.Cmd{r.cflensCmd(ctx, args...)}
		check = func([]byte) (int64, error) { return r.analysisRows(out) }
	case toolIngest:
		out, summary := r.path("dataset.new"), r.path("ingest-summary.json")
		if err := os.RemoveAll(out); err != nil {
			return sample{}, err
		}
		os.Remove(summary)
		cmds = []*exec.Cmd{r.ingestCmd(ctx, out, summary)}
		check = func([]byte) (int64, error) { return summaryRows(summary) }
		after = func() error { return r.keepDataset(out) }
	case toolParquetCeiling:
		if err := r.ensureDataset(ctx); err != nil {
			return sample{}, err
		}
		cmds = []*exec.Cmd{r.selfCmd(ctx, "parquet-ceiling-worker", "--workers", w, r.path("dataset"))}
		check = func(out []byte) (int64, error) {
			var c workerCounts
			if err := json.Unmarshal(out, &c); err != nil {
				return 0, fmt.Errorf("read parquet ceiling counts: %w", err)
			}
			return c.Lines, nil
		}
	case toolAnalyzeParquet:
		if err := r.ensureDataset(ctx); err != nil {
			return sample{}, err
		}
		out := r.path("analysis-parquet.json")
		os.Remove(out)
		args := append([]string{"analyze", "--dataset", r.path("dataset")}, r.roleArgs()...)
		args = append(args, "--timeline", r.path("timeline.yaml"), "--workers", w, "--format", "json", "--out", out)
		cmds = []*exec.Cmd{r.cflensCmd(ctx, args...)}
		check = func([]byte) (int64, error) { return r.analysisRows(out) }
	case toolDuckGroupBy, toolDuckParquet, toolDuckCopy:
		args := []string{"--threads", w}
		files := r.files()
		switch tool {
		case toolDuckGroupBy:
			args = append(args, "--query", "groupby")
		case toolDuckParquet:
			if err := r.ensureDataset(ctx); err != nil {
				return sample{}, err
			}
			args = append(args, "--query", "groupby-parquet")
			files = []string{r.path("dataset")}
		default:
			out := r.path("duckdb.parquet")
			os.Remove(out)
			args = append(args, "--query", "copy", "--out", out)
			after = func() error { return os.Remove(out) }
		}
		cmds = []*exec.Cmd{r.duckdbCmd(ctx, append(args, files...)...)}
		check = func(out []byte) (int64, error) {
			var c workerCounts
			if err := json.Unmarshal(out, &c); err != nil {
				return 0, fmt.Errorf("read duckdb counts: %w", err)
			}
			return c.Lines, nil
		}
	case toolGoAccess:
		out := r.path("goaccess.json")
		os.Remove(out)
		zcat := exec.CommandContext(ctx, r.zcat, r.files()...)
		ga := exec.CommandContext(ctx, r.goaccess, "-", "--no-global-config",
			"--log-format=CLOUDFRONT", "--date-format=CLOUDFRONT", "--time-format=CLOUDFRONT",
			"--no-progress", "-o", out)
		cmds = []*exec.Cmd{zcat, ga}
		check = func([]byte) (int64, error) { return goaccessRows(out) }
	default:
		return sample{}, fmt.Errorf("unknown tool %q", tool)
	}
	r.logger.Debug("run", "tool", tool, "cmd", commandLine(cmds[len(cmds)-1]))
	s, stdout, err := measure(ctx, r.self, r.work, cmds...)
	if err != nil {
		return s, err
	}
	if s.Rows, err = check(stdout); err != nil {
		return s, err
	}
	// GoAccess counts what it could parse; every other tool must read
	// every line.
	if tool != toolGoAccess && s.Rows != r.corpus.Lines {
		return s, fmt.Errorf("%s read %d rows, want %d", tool, s.Rows, r.corpus.Lines)
	}
	if after != nil {
		if err := after(); err != nil {
			return s, err
		}
	}
	return s, nil
}

func (r *configRun) ingestCmd(ctx context.Context, out, summary string) *exec.Cmd {
	args := append([]string{"ingest", r.glob()}, r.roleArgs()...)
	args = append(args, "--workers", strconv.Itoa(r.cfg.Workers), "--out", out, "--summary", summary)
	return r.cflensCmd(ctx, args...)
}

// keepDataset makes a freshly ingested dataset the one analyze-parquet
// reads.
func (r *configRun) keepDataset(out string) error {
	ds := r.path("dataset")
	if err := os.RemoveAll(ds); err != nil {
		return fmt.Errorf("replace dataset: %w", err)
	}
	if err := os.Rename(out, ds); err != nil {
		return fmt.Errorf("replace dataset: %w", err)
	}
	return nil
}

// ensureDataset ingests the corpus, unmeasured, when no measured ingest
// has left a dataset yet: the input of analyze-parquet and duckdb-parquet.
func (r *configRun) ensureDataset(ctx context.Context) error {
	if _, err := os.Stat(r.path("dataset")); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	out, summary := r.path("dataset.new"), r.path("ingest-summary.json")
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	r.logger.Info("ingest for the dataset's readers (not measured)", "scale", r.cfg.Scale)
	if _, _, err := measure(ctx, r.self, r.work, r.ingestCmd(ctx, out, summary)); err != nil {
		return fmt.Errorf("ingest for the dataset's readers: %w", err)
	}
	return r.keepDataset(out)
}

// analysisRows reads the rows count of a cflens analysis in JSON, and
// keeps its number of distinct stems.
func (r *configRun) analysisRows(path string) (int64, error) {
	var a struct {
		Input struct {
			Rows int64 `json:"rows"`
		} `json:"input"`
		ErrorPaths struct {
			Stems int64 `json:"stems"`
		} `json:"error_paths"`
	}
	if err := readJSON(path, &a); err != nil {
		return 0, err
	}
	r.stems = a.ErrorPaths.Stems
	return a.Input.Rows, nil
}

// summaryRows reads the rows count of an ingest summary.
func summaryRows(path string) (int64, error) {
	var s struct {
		Rows int64 `json:"rows"`
	}
	if err := readJSON(path, &s); err != nil {
		return 0, err
	}
	return s.Rows, nil
}

// goaccessRows reads how many requests GoAccess parsed.
func goaccessRows(path string) (int64, error) {
	var g struct {
		General struct {
			Valid int64 `json:"valid_requests"`
		} `json:"general"`
	}
	if err := readJSON(path, &g); err != nil {
		return 0, err
	}
	if g.General.Valid == 0 {
		return 0, fmt.Errorf("goaccess parsed no request (see %s)", path)
	}
	return g.General.Valid, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read result: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("read result %s: %w", path, err)
	}
	return nil
}
