package main

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"
)

// reportSchema names the JSON layout; fields are only ever added under it.
const reportSchema = "cflens.bench/v1"

// maxRSSTarget is the peak RSS every cflens tool must stay under.
const maxRSSTarget = 400 << 20

// benchReport is what bench.json holds.
type benchReport struct {
	Schema  string         `json:"schema"`
	Started time.Time      `json:"started"`
	Machine machine        `json:"machine"`
	Params  params         `json:"params"`
	Tools   []string       `json:"tools"`
	Notes   []string       `json:"notes"`
	Configs []configResult `json:"configs"`
	Targets []target       `json:"targets"`
}

type machine struct {
	GOOS     string `json:"goos"`
	GOARCH   string `json:"goarch"`
	CPUs     int    `json:"cpus"`
	Go       string `json:"go"`
	Cflens   string `json:"cflens,omitempty"`
	DuckDB   string `json:"duckdb,omitempty"`
	GoAccess string `json:"goaccess,omitempty"`
	// Load averages (1 minute) before and after: the machine may be
	// shared, and the figures are only as quiet as it was.
	LoadStart float64 `json:"load_start"`
	LoadEnd   float64 `json:"load_end"`
	// RSSFloor is the peak RSS measured for a program that does nothing
	// (/bin/true): every figure includes this much of the spawn process
	// it inherits.
	RSSFloor int64 `json:"rss_floor_bytes"`
}

type params struct {
	Lines   int64  `json:"lines"`
	Files   int    `json:"files"`
	Reps    int    `json:"reps"`
	Scales  []int  `json:"scales"`
	Workers []int  `json:"workers"`
	Seed    uint64 `json:"seed"`
}

// configResult holds the measurements of one scale and worker count.
type configResult struct {
	Scale   int   `json:"scale"`
	Workers int   `json:"workers"`
	Lines   int64 `json:"lines"`
	Files   int   `json:"files"`
	Bytes   int64 `json:"bytes"`
	// Stems is the number of distinct cs-uri-stem values (from a cflens
	// analysis; 0 when none ran).
	Stems int64 `json:"stems,omitempty"`
	// WarmSeconds is how long reading the corpus's files once, before
	// the runs, took (see warmCorpus).
	WarmSeconds float64      `json:"warm_seconds,omitempty"`
	Tools       []toolResult `json:"tools"`
}

// toolResult summarizes the samples of one tool in one configuration.
type toolResult struct {
	Tool          string   `json:"tool"`
	Error         string   `json:"error,omitempty"`
	Samples       []sample `json:"samples"`
	MedianSeconds float64  `json:"median_seconds"`
	MinSeconds    float64  `json:"min_seconds"`
	MaxSeconds    float64  `json:"max_seconds"`
	MedianCPU     float64  `json:"median_cpu_seconds"`
	// LinesPerSecond and MBPerSecond (compressed input, 10^6 bytes) are
	// at the median time.
	LinesPerSecond float64 `json:"lines_per_second"`
	MBPerSecond    float64 `json:"mb_per_second"`
	// PeakRSS is the largest peak RSS of all samples, in bytes.
	PeakRSS int64 `json:"peak_rss_bytes"`
	// VsCeiling and VsDuckDB are throughput ratios (higher is faster);
	// VsDuckDB compares a tool with DuckDB doing its work from its input:
	// analyze-gz with DuckDB's GROUP BY from the .gz files,
	// analyze-parquet with the same GROUP BY from the dataset, ingest with
	// DuckDB's COPY.
	VsCeiling *float64 `json:"vs_ceiling,omitempty"`
	VsDuckDB  *float64 `json:"vs_duckdb,omitempty"`
	// The same ratios by CPU time (user + system) instead of wall time:
	// on a shared machine, where other processes take cores, they are the
	// steadier figure; they do not credit using more cores.
	VsCeilingCPU *float64 `json:"vs_ceiling_cpu,omitempty"`
	VsDuckDBCPU  *float64 `json:"vs_duckdb_cpu,omitempty"`
}

func (t *toolResult) ok() bool { return t.Error == "" && len(t.Samples) > 0 }

// target is one of the project's performance goals, as measured.
type target struct {
	Name    string  `json:"name"`
	Scale   int     `json:"scale"`
	Workers int     `json:"workers"`
	Want    string  `json:"want"`
	Got     float64 `json:"got"`
	// GotBest is the ratio of the fastest runs (closest to an idle
	// machine), GotCPU the ratio by CPU time, for throughput targets.
	GotBest *float64 `json:"got_best,omitempty"`
	GotCPU  *float64 `json:"got_cpu,omitempty"`
	// CPUByRep is the lowest and the highest ratio by CPU time of one
	// repetition's runs. The tools of a repetition run one after the
	// other, so each pair shares the machine's state of the moment; the
	// spread shows how far the machine alone moves a ratio.
	CPUByRep *[2]float64 `json:"cpu_by_rep,omitempty"`
	Unit     string      `json:"unit"`
	Met      bool        `json:"met"`
	// Reference marks a ratio reported beside the targets, to read them
	// by, with no target of its own (Want and Met are empty).
	Reference bool `json:"reference,omitempty"`
}

func newReport(o *benchOptions, tools []string) *benchReport {
	return &benchReport{
		Schema:  reportSchema,
		Started: time.Now().UTC().Truncate(time.Second),
		Machine: machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()},
		Params:  params{Lines: o.lines, Files: o.files, Reps: o.reps, Scales: o.scales, Workers: o.workers, Seed: o.seed},
		Tools:   tools,
		Notes:   []string{},
	}
}

// summarize computes a tool's median, range, rates and peak RSS.
func summarize(tool string, samples []sample, errText string, c *corpus) toolResult {
	t := toolResult{Tool: tool, Error: errText, Samples: samples}
	if t.Samples == nil {
		t.Samples = []sample{}
	}
	if len(samples) == 0 {
		return t
	}
	walls := make([]float64, len(samples))
	cpus := make([]float64, len(samples))
	for i, s := range samples {
		walls[i], cpus[i] = s.WallSeconds, s.CPUSeconds
		t.PeakRSS = max(t.PeakRSS, s.MaxRSS)
	}
	t.MedianSeconds = median(walls)
	t.MinSeconds, t.MaxSeconds = slices.Min(walls), slices.Max(walls)
	t.MedianCPU = median(cpus)
	if t.MedianSeconds > 0 {
		t.LinesPerSecond = float64(c.Lines) / t.MedianSeconds
		t.MBPerSecond = float64(c.Bytes) / 1e6 / t.MedianSeconds
	}
	return t
}

// median of a non-empty slice; the mean of the middle two for an even
// count.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (c *configResult) tool(name string) *toolResult {
	for i := range c.Tools {
		if c.Tools[i].Tool == name && c.Tools[i].ok() {
			return &c.Tools[i]
		}
	}
	return nil
}

// ratio returns a's throughput over b's, or nil when either is missing.
func ratio(a, b *toolResult) *float64 {
	if a == nil || b == nil || a.MedianSeconds <= 0 || b.MedianSeconds <= 0 {
		return nil
	}
	r := b.MedianSeconds / a.MedianSeconds
	return &r
}

// bestRatio is ratio by the fastest run of each.
func bestRatio(a, b *toolResult) *float64 {
	if a == nil || b == nil || a.MinSeconds <= 0 || b.MinSeconds <= 0 {
		return nil
	}
	r := b.MinSeconds / a.MinSeconds
	return &r
}

// cpuRatio is ratio by median CPU time.
func cpuRatio(a, b *toolResult) *float64 {
	if a == nil || b == nil || a.MedianCPU <= 0 || b.MedianCPU <= 0 {
		return nil
	}
	r := b.MedianCPU / a.MedianCPU
	return &r
}

// repRange is the range of the ratios by CPU time of the runs of each
// repetition that both tools ran.
func repRange(a, b *toolResult) *[2]float64 {
	if a == nil || b == nil {
		return nil
	}
	cpu := map[int]float64{}
	for _, s := range a.Samples {
		cpu[s.Rep] = s.CPUSeconds
	}
	var out *[2]float64
	for _, s := range b.Samples {
		ca, ok := cpu[s.Rep]
		if !ok || ca <= 0 || s.CPUSeconds <= 0 {
			continue
		}
		r := s.CPUSeconds / ca
		if out == nil {
			out = &[2]float64{r, r}
		}
		out[0], out[1] = min(out[0], r), max(out[1], r)
	}
	return out
}

// finish computes the ratios and evaluates the targets.
func (r *benchReport) finish() {
	r.Targets = []target{}
	for i := range r.Configs {
		c := &r.Configs[i]
		ceiling, gz, pq, ing := c.tool(toolCeiling), c.tool(toolAnalyzeGz), c.tool(toolAnalyzeParquet), c.tool(toolIngest)
		group, duckPq, cp, ga := c.tool(toolDuckGroupBy), c.tool(toolDuckParquet), c.tool(toolDuckCopy), c.tool(toolGoAccess)
		pqCeiling := c.tool(toolParquetCeiling)
		for j := range c.Tools {
			t := &c.Tools[j]
			if !t.ok() || t.Tool == toolCeiling {
				continue
			}
			t.VsCeiling, t.VsCeilingCPU = ratio(t, ceiling), cpuRatio(t, ceiling)
			switch t.Tool {
			case toolAnalyzeGz:
				t.VsDuckDB, t.VsDuckDBCPU = ratio(t, group), cpuRatio(t, group)
			case toolAnalyzeParquet:
				t.VsDuckDB, t.VsDuckDBCPU = ratio(t, duckPq), cpuRatio(t, duckPq)
			case toolIngest:
				t.VsDuckDB, t.VsDuckDBCPU = ratio(t, cp), cpuRatio(t, cp)
			}
		}
		add := func(name, want string, min float64, a, b *toolResult) {
			if got := ratio(a, b); got != nil {
				r.Targets = append(r.Targets, target{Name: name, Scale: c.Scale, Workers: c.Workers,
					Want: want, Got: *got, GotBest: bestRatio(a, b), GotCPU: cpuRatio(a, b), CPUByRep: repRange(a, b),
					Unit: "×", Met: *got >= min})
			}
		}
		add("analysis from .gz vs the gzip ceiling", "≥ 0.8×", 0.8, gz, ceiling)
		add("analysis from .gz vs DuckDB GROUP BY", "≥ 1.5×", 1.5, gz, group)
		add("ingest to Parquet vs DuckDB COPY", "≥ 1.5×", 1.5, ing, cp)
		add("analysis from Parquet vs from .gz", "≥ 10×", 10, pq, gz)
		add("analysis from .gz vs GoAccess", "≥ 30×", 30, gz, ga)
		// The 10× target read against references: what DuckDB gains
		// from the dataset over the .gz files doing the same GROUP BY,
		// what reading the dataset with nothing aggregated gains (the
		// most any analysis with cflens's reader can), and how close the
		// analysis comes to that read.
		ref := func(name string, a, b *toolResult) {
			if got := ratio(a, b); got != nil {
				r.Targets = append(r.Targets, target{Name: "for reference: " + name, Scale: c.Scale, Workers: c.Workers,
					Got: *got, GotBest: bestRatio(a, b), GotCPU: cpuRatio(a, b), CPUByRep: repRange(a, b),
					Unit: "×", Reference: true})
			}
		}
		ref("DuckDB GROUP BY from Parquet vs from .gz", duckPq, group)
		ref("the Parquet read ceiling vs analysis from .gz", pqCeiling, gz)
		ref("analysis from Parquet vs the Parquet read ceiling", pq, pqCeiling)
		for _, t := range []*toolResult{gz, ing, pq} {
			if t != nil {
				mib := float64(t.PeakRSS) / (1 << 20)
				r.Targets = append(r.Targets, target{Name: "peak RSS of " + t.Tool, Scale: c.Scale, Workers: c.Workers,
					Want: "≤ 400 MiB", Got: mib, Unit: "MiB", Met: t.PeakRSS <= maxRSSTarget})
			}
		}
	}
}

// markdown renders the report.
func (r *benchReport) markdown() string {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "# cflens benchmark\n\n")
	fmt.Fprintf(&b, "%s, %s/%s, %d CPUs, %s", r.Started.Format(time.RFC3339), m.GOOS, m.GOARCH, m.CPUs, m.Go)
	for _, v := range []struct{ name, v string }{{"cflens", m.Cflens}, {"DuckDB", m.DuckDB}, {"GoAccess", m.GoAccess}} {
		if v.v != "" {
			fmt.Fprintf(&b, "; %s: %s", v.name, strings.TrimSuffix(v.v, "."))
		}
	}
	fmt.Fprintf(&b, ".\nLoad average (1 min): %.2f before, %.2f after. Peak RSS of a program doing nothing: %.1f MiB. %d repetition%s, interleaved; ",
		m.LoadStart, m.LoadEnd, float64(m.RSSFloor)/(1<<20), r.Params.Reps, plural(r.Params.Reps))
	fmt.Fprintf(&b, "1× corpus: %s lines in %d .gz files, seed %d.\n", group3(r.Params.Lines), r.Params.Files, r.Params.Seed)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n%s\n", n)
	}
	for _, c := range r.Configs {
		fmt.Fprintf(&b, "\n## %d× corpus, %d worker%s: %s lines, %d files, %.1f MB\n\n",
			c.Scale, c.Workers, plural(c.Workers), group3(c.Lines), c.Files, float64(c.Bytes)/1e6)
		if c.WarmSeconds > 0 {
			fmt.Fprintf(&b, "The corpus's files were read once before the runs (%.1f s), so that every run reads them from the page cache.\n\n", c.WarmSeconds)
		}
		b.WriteString("| tool | median s | min–max s | M lines/s | MB/s | × ceiling | × DuckDB | peak RSS MiB | CPU s | × ceiling, CPU | × DuckDB, CPU |\n")
		b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, t := range c.Tools {
			if !t.ok() {
				fmt.Fprintf(&b, "| %s | failed: %s | | | | | | | | | |\n", t.Tool, oneLine(t.Error, 120))
				continue
			}
			fmt.Fprintf(&b, "| %s | %.3f | %.3f–%.3f | %.3f | %.1f | %s | %s | %.0f | %.2f | %s | %s |\n",
				t.Tool, t.MedianSeconds, t.MinSeconds, t.MaxSeconds, t.LinesPerSecond/1e6, t.MBPerSecond,
				fmtRatio(t.VsCeiling), fmtRatio(t.VsDuckDB), float64(t.PeakRSS)/(1<<20), t.MedianCPU,
				fmtRatio(t.VsCeilingCPU), fmtRatio(t.VsDuckDBCPU))
		}
	}
	if len(r.Targets) > 0 {
		b.WriteString("\n## Targets\n\nMet or not by median wall time; beside it the ratio of the fastest runs, the ratio by CPU time, steadier when other processes share the machine, and the lowest and highest ratio by CPU time of one repetition's runs, which ran back to back: how far the machine alone moves the ratio.\n\n")
		b.WriteString("| target | scale | workers | want | median | fastest runs | by CPU time | by CPU, each repetition | met |\n|---|--:|--:|--:|--:|--:|--:|--:|:-:|\n")
		for _, t := range r.Targets {
			got := fmt.Sprintf("%.2f×", t.Got)
			if t.Unit == "MiB" {
				got = fmt.Sprintf("%.0f MiB", t.Got)
			}
			want, met := t.Want, "no"
			switch {
			case t.Reference:
				want, met = "–", "–"
			case t.Met:
				met = "yes"
			}
			fmt.Fprintf(&b, "| %s | %d× | %d | %s | %s | %s | %s | %s | %s |\n", t.Name, t.Scale, t.Workers, want, got,
				fmtTimes(t.GotBest), fmtTimes(t.GotCPU), fmtRange(t.CPUByRep), met)
		}
	}
	r.scalingMarkdown(&b)
	r.workersMarkdown(&b)
	return b.String()
}

// scalingMarkdown shows, per tool, wall and CPU seconds per million lines
// and peak RSS at each scale with the most workers: linear time keeps the
// first two flat, and streaming keeps the third flat. A row of analysis
// over the read it rests on (analyze-parquet less parquet-ceiling) shows
// the analysis's own time per line, without the fixed costs of a run
// (the process's start, opening the dataset) that weigh on the smallest
// scale and that the two share.
func (r *benchReport) scalingMarkdown(b *strings.Builder) {
	most := slices.Max(r.Params.Workers)
	var cs []configResult
	for _, c := range r.Configs {
		if c.Workers == most {
			cs = append(cs, c)
		}
	}
	if len(cs) < 2 {
		return
	}
	fmt.Fprintf(b, "\n## Scaling (%d worker%s)\n\nWall and CPU seconds per million lines, and peak RSS MiB, at each scale (lines and distinct stems in the header); the last two columns are the largest scale's time per line over the smallest's (1.00 is linear).\n\n| tool |", most, plural(most))
	for _, c := range cs {
		fmt.Fprintf(b, " %d×, %s lines, %s stems: wall / CPU s (MiB) |", c.Scale, group3(c.Lines), group3(c.Stems))
	}
	b.WriteString(" linearity, wall | linearity, CPU |\n|---|")
	for range cs {
		b.WriteString("--:|")
	}
	b.WriteString("--:|--:|\n")
	perMillion := func(c configResult, tool string) (wall, cpu float64, rss int64, ok bool) {
		t := c.tool(tool)
		if t == nil {
			return 0, 0, 0, false
		}
		m := float64(c.Lines) / 1e6
		return t.MedianSeconds / m, t.MedianCPU / m, t.PeakRSS, true
	}
	row := func(name string, at func(c configResult) (wall, cpu float64, rss int64, ok bool)) {
		fmt.Fprintf(b, "| %s |", name)
		var first, last, firstCPU, lastCPU float64
		for _, c := range cs {
			perM, cpuPerM, rss, ok := at(c)
			if !ok {
				b.WriteString(" – |")
				continue
			}
			if first == 0 {
				first, firstCPU = perM, cpuPerM
			}
			last, lastCPU = perM, cpuPerM
			if rss < 0 {
				fmt.Fprintf(b, " %.3f / %.3f |", perM, cpuPerM)
			} else {
				fmt.Fprintf(b, " %.3f / %.3f (%.0f) |", perM, cpuPerM, float64(rss)/(1<<20))
			}
		}
		if first > 0 {
			fmt.Fprintf(b, " %.2f |", last/first)
		} else {
			b.WriteString(" – |")
		}
		if firstCPU > 0 {
			fmt.Fprintf(b, " %.2f |\n", lastCPU/firstCPU)
		} else {
			b.WriteString(" – |\n")
		}
	}
	for _, tool := range r.Tools {
		row(tool, func(c configResult) (float64, float64, int64, bool) { return perMillion(c, tool) })
	}
	if slices.Contains(r.Tools, toolAnalyzeParquet) && slices.Contains(r.Tools, toolParquetCeiling) {
		row(toolAnalyzeParquet+" less "+toolParquetCeiling, func(c configResult) (float64, float64, int64, bool) {
			w, cpu, _, ok := perMillion(c, toolAnalyzeParquet)
			rw, rcpu, _, rok := perMillion(c, toolParquetCeiling)
			return w - rw, cpu - rcpu, -1, ok && rok
		})
	}
}

// workersMarkdown compares worker counts at the first scale.
func (r *benchReport) workersMarkdown(b *strings.Builder) {
	if len(r.Params.Workers) < 2 || len(r.Configs) == 0 {
		return
	}
	scale := r.Configs[0].Scale
	var cs []configResult
	for _, c := range r.Configs {
		if c.Scale == scale {
			cs = append(cs, c)
		}
	}
	if len(cs) < 2 {
		return
	}
	fmt.Fprintf(b, "\n## Workers (%d× corpus)\n\nMedian seconds (peak RSS MiB); speed-up is the first column's time over the last's.\n\n| tool |", scale)
	for _, c := range cs {
		fmt.Fprintf(b, " %d worker%s |", c.Workers, plural(c.Workers))
	}
	b.WriteString(" speed-up |\n|---|")
	for range cs {
		b.WriteString("--:|")
	}
	b.WriteString("--:|\n")
	for _, tool := range r.Tools {
		fmt.Fprintf(b, "| %s |", tool)
		var first, last float64
		for _, c := range cs {
			t := c.tool(tool)
			if t == nil {
				b.WriteString(" – |")
				continue
			}
			if first == 0 {
				first = t.MedianSeconds
			}
			last = t.MedianSeconds
			fmt.Fprintf(b, " %.3f (%.0f) |", t.MedianSeconds, float64(t.PeakRSS)/(1<<20))
		}
		if first > 0 && last > 0 {
			fmt.Fprintf(b, " %.2f× |\n", first/last)
		} else {
			b.WriteString(" – |\n")
		}
	}
}

func fmtRatio(r *float64) string {
	if r == nil || math.IsNaN(*r) {
		return "–"
	}
	return fmt.Sprintf("%.2f", *r)
}

func fmtTimes(r *float64) string {
	if r == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f×", *r)
}

func fmtRange(r *[2]float64) string {
	switch {
	case r == nil:
		return "–"
	case fmt.Sprintf("%.2f", r[0]) == fmt.Sprintf("%.2f", r[1]):
		return fmt.Sprintf("%.2f×", r[0])
	}
	return fmt.Sprintf("%.2f–%.2f×", r[0], r[1])
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// group3 writes an integer with thin groups of three digits: 5,000,000.
func group3(n int64) string {
	s := fmt.Sprint(n)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
