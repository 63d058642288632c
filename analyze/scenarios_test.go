package analyze_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dirsource"
	"github.com/cflens/cflens/ingest/loggen"
)

// analyzeScenario generates a scenario as .gz logs and analyses them with
// the scenario's timeline, hours in loc.
func analyzeScenario(t *testing.T, sc *loggen.Scenario, loc *time.Location) (*analyze.Result, *loggen.Truth) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	truth, err := loggen.WriteDir(ctx, sc, dir)
	if err != nil {
		t.Fatal(err)
	}
	tl, err := analyze.ParseTimeline(sc.TimelineYAML(), "timeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	opts := analyze.DefaultOptions()
	opts.Timeline = tl
	opts.Location = loc
	opts.From, opts.To = sc.Start, sc.End()
	agg, err := analyze.NewAggregator(opts)
	if err != nil {
		t.Fatal(err)
	}
	src, err := dirsource.New(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	iopts := ingest.DefaultOptions()
	iopts.From, iopts.To = opts.From, opts.To
	if _, err := ingest.Run(ctx, iopts, []ingest.Source{src}, agg); err != nil {
		t.Fatal(err)
	}
	res := agg.Result()
	if res.Input.Analyzed != truth.Records {
		t.Fatalf("analysed %d rows, generated %d", res.Input.Analyzed, truth.Records)
	}
	return res, truth
}

// checkMatrix compares the matrix with a count of the generator's truth:
// per configuration and role, the error-path requests and 500s of the
// windows' hours that were not peaks.
func checkMatrix(t *testing.T, res *analyze.Result, sc *loggen.Scenario, truth *loggen.Truth) {
	t.Helper()
	type key struct {
		prod, stg bool
		role      string
	}
	type tally struct {
		n, x    int64
		windows int
	}
	want := map[key]*tally{}
	for _, prod := range []bool{false, true} {
		for _, stg := range []bool{false, true} {
			for _, role := range []string{"production", "staging"} {
				want[key{prod, stg, role}] = &tally{}
			}
		}
	}
	for i, w := range sc.Windows {
		for _, role := range []string{"production", "staging"} {
			k := key{w.CustomErrors.Production, w.CustomErrors.Staging, role}
			want[k].windows++
			if c, ok := truth.Cell(i, role, false); ok {
				want[k].n += c.ErrorPath
				want[k].x += c.Status500
			}
		}
	}
	if len(res.Matrix.Cells) != 8 {
		t.Fatalf("matrix has %d cells, want 8", len(res.Matrix.Cells))
	}
	for _, c := range res.Matrix.Cells {
		w := want[key{c.ProductionCustomErrors, c.StagingCustomErrors, c.Role}]
		if c.Observed != (w.windows > 0) || len(c.Windows) != w.windows || c.ErrorPathRequests != w.n || c.ErrorPath500 != w.x {
			t.Errorf("matrix prod %v staging %v %s: observed %v, %d windows, %d/%d; generated %d windows, %d/%d",
				c.ProductionCustomErrors, c.StagingCustomErrors, c.Role, c.Observed, len(c.Windows), c.ErrorPath500, c.ErrorPathRequests, w.windows, w.x, w.n)
		}
		if (c.Rate500 == nil) != (c.ErrorPathRequests == 0) {
			t.Errorf("matrix prod %v staging %v %s: rate %v with %d error-path requests", c.ProductionCustomErrors, c.StagingCustomErrors, c.Role, c.Rate500, c.ErrorPathRequests)
		}
	}
}

func findingsOf(res *analyze.Result, kind string) []string {
	var out []string
	for _, f := range res.Findings {
		if kind == "" || f.Kind == kind {
			out = append(out, f.Statement)
		}
	}
	return out
}

func hasFinding(res *analyze.Result, kind, prefix string) bool {
	for _, s := range findingsOf(res, kind) {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func testNamed(t *testing.T, res *analyze.Result, prefix string) []analyze.Test {
	t.Helper()
	var out []analyze.Test
	for _, x := range res.Tests {
		if strings.HasPrefix(x.Name, prefix) {
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no test %q…", prefix)
	}
	return out
}

// TestMotivatingPatternStated: each distribution's 500s follow the other
// distribution's setting, and the findings say so first, each with the
// test behind it.
func TestMotivatingPatternStated(t *testing.T) {
	t.Parallel()
	sc := loggen.DefaultScenario(0.5)
	res, truth := analyzeScenario(t, sc, time.UTC)
	checkMatrix(t, res, sc, truth)
	for _, want := range []string{
		"production's error-path requests got 500 only while staging had custom error responses on (the other distribution's setting)",
		"staging's error-path requests got 500 only while production had custom error responses on (the other distribution's setting)",
	} {
		if !hasFinding(res, "pattern", want) {
			t.Errorf("no finding %q…; findings:\n%s", want, strings.Join(findingsOf(res, ""), "\n"))
		}
	}
	if !hasFinding(res, "custom_errors", "500s appeared in every configuration with custom error responses on at least one distribution") {
		t.Errorf("no finding that 500s appear whenever either distribution has custom errors on")
	}
	if !hasFinding(res, "roles", "staging's error-path requests got 500 more often than production's in the same configuration") {
		t.Errorf("no finding that staging's share is higher than production's")
	}
	for _, s := range findingsOf(res, "pattern") {
		if strings.Contains(s, "only while") && strings.Contains(s, "(its own setting)") {
			t.Errorf("a claim the data does not carry: %q", s)
		}
	}
	for _, f := range res.Findings {
		if f.Kind == "pattern" || f.Kind == "custom_errors" || f.Kind == "roles" {
			if len(f.Tests) == 0 {
				t.Errorf("finding %d has no test behind it: %q", f.Rank, f.Statement)
			}
			for _, name := range f.Tests {
				for _, x := range res.Tests {
					if x.Name == name && (x.PAdjusted == nil || !x.Significant) && strings.HasPrefix(name, "500 vs custom errors") {
						t.Errorf("finding %d rests on a test that is not significant: %+v", f.Rank, x)
					}
				}
			}
		}
		for _, w := range []string{"cause", "because", "due to", "leads to", "makes "} {
			if strings.Contains(f.Statement, w) {
				t.Errorf("finding %d uses a causal word %q: %q", f.Rank, w, f.Statement)
			}
		}
	}
	// Ranked by evidence: the pattern findings first, no test that
	// carries a warning above a cell finding.
	if k := res.Findings[0].Kind; k != "custom_errors" && k != "pattern" {
		t.Errorf("first finding is %s: %q", k, res.Findings[0].Statement)
	}
	seenSmall := false
	for _, f := range res.Findings {
		isSmall := f.Kind == "test" && strings.Contains(f.Statement, "too few")
		seenSmall = seenSmall || isSmall
		if seenSmall && f.Kind == "cell" {
			t.Errorf("cell finding %d ranks below a small-sample test", f.Rank)
		}
	}
	// No restated test takes a rank of its own when a finding holds it.
	grouped := map[string]bool{}
	for _, f := range res.Findings {
		for _, n := range f.Tests {
			if grouped[n] {
				t.Errorf("test %q grouped under two findings", n)
			}
			grouped[n] = true
		}
	}
	// Holm: the adjusted p-values are never below the raw ones.
	for _, x := range res.Tests {
		if x.PAdjusted != nil && *x.PAdjusted < x.PValue {
			t.Errorf("%s: adjusted p %v below p %v", x.Name, *x.PAdjusted, x.PValue)
		}
	}
}

// TestNegativeControlClaimsNothing: 500s independent of configuration
// and role, with the peak hours (no staging traffic, no 500s) only on
// custom-error days. Comparisons that kept the peak hours in would find
// a difference; the analysis must not.
func TestNegativeControlClaimsNothing(t *testing.T) {
	t.Parallel()
	sc := loggen.NegativeControlScenario(0.5, 0.1)
	res, truth := analyzeScenario(t, sc, time.UTC)
	checkMatrix(t, res, sc, truth)

	// The trap is real: production's 500 share by whole window (peak
	// hours in) differs.
	var m [][]int64
	for _, c := range res.Cells {
		if c.Role == "production" {
			m = append(m, []int64{c.ErrorPath500, c.ErrorPathRequests - c.ErrorPath500})
		}
	}
	if p := analyze.ChiSquare(m, false).PValue; p > 0.01 {
		t.Fatalf("scenario without its trap: whole-window production p = %v", p)
	}

	for _, kind := range []string{"pattern", "custom_errors", "roles", "matrix_confounded"} {
		if fs := findingsOf(res, kind); len(fs) > 0 {
			t.Errorf("negative control: %s findings %q", kind, fs)
		}
	}
	if !hasFinding(res, "no_difference", "With the policy enabled and outside peak hours, the 500 share of error paths does not differ") {
		t.Errorf("no statement that the configuration shows no difference; findings:\n%s", strings.Join(findingsOf(res, ""), "\n"))
	}
	for _, prefix := range []string{"500 vs window", "500 vs role", "500 vs custom errors"} {
		for _, x := range testNamed(t, res, prefix) {
			if x.Significant {
				t.Errorf("negative control: %s significant (p %v, adjusted %v)", x.Name, x.PValue, *x.PAdjusted)
			}
		}
	}
	if !hasFinding(res, "peak_hours", "In 12 clock hours") {
		t.Errorf("peak hours finding missing or miscounted: %q", findingsOf(res, "peak_hours"))
	}
}

// TestOwnSettingPattern: each distribution's 500s follow its own setting
// only; no statement ties them to the other's.
func TestOwnSettingPattern(t *testing.T) {
	t.Parallel()
	sc := loggen.OwnSettingScenario(0.5)
	res, truth := analyzeScenario(t, sc, time.UTC)
	checkMatrix(t, res, sc, truth)
	for _, want := range []string{
		"production's error-path requests got 500 only while production had custom error responses on (its own setting)",
		"staging's error-path requests got 500 only while staging had custom error responses on (its own setting)",
	} {
		if !hasFinding(res, "pattern", want) {
			t.Errorf("no finding %q…; findings:\n%s", want, strings.Join(findingsOf(res, ""), "\n"))
		}
	}
	for _, s := range findingsOf(res, "pattern") {
		if strings.Contains(s, "the other distribution's setting") {
			t.Errorf("a claim the data does not carry: %q", s)
		}
	}
}

// TestEmptyCellIsUnknown: a window in which staging got no request has
// no rate, null in JSON, n/a in reports, and a warning names it.
func TestEmptyCellIsUnknown(t *testing.T) {
	t.Parallel()
	sc := loggen.EmptyCellScenario(0.25)
	res, truth := analyzeScenario(t, sc, time.UTC)
	checkMatrix(t, res, sc, truth)
	if len(res.Windows) != 5 {
		t.Fatalf("%d windows, want 5", len(res.Windows))
	}
	var empty analyze.Cell
	for _, c := range res.Cells {
		if c.Window == 5 && c.Role == "staging" {
			empty = c
		}
	}
	if empty.Requests != 0 || empty.Window != 5 {
		t.Fatalf("window 5 staging: %+v, want no requests", empty)
	}
	b, err := json.Marshal(empty)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"rate_500":null,"rate_500_ci95":null`, `"rate_500_all":null,"rate_500_all_ci95":null`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("empty cell JSON lacks %s: %s", want, b)
		}
	}
	found := false
	for _, w := range res.Warnings {
		found = found || strings.Contains(w, "window 5, staging: no requests")
	}
	if !found {
		t.Errorf("no warning names the empty cell: %q", res.Warnings)
	}
}

// TestDSTFallBackHours: the local hour 01:00 that America/New_York has
// twice on 2025-11-02 counts as two clock hours; the peak in the first
// one is found, and only there.
func TestDSTFallBackHours(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	sc := loggen.DSTFallBackScenario(0.5)
	res, truth := analyzeScenario(t, sc, ny)
	edt := time.Date(2025, 11, 2, 5, 0, 0, 0, time.UTC)
	var peaks []time.Time
	for _, p := range res.PeakHours.Hours {
		peaks = append(peaks, p.From)
	}
	if len(peaks) != 1 || !peaks[0].Equal(edt) {
		t.Errorf("peak hours %v, want only %s (01:00 EDT)", peaks, edt)
	}
	var want int64
	for _, h := range truth.Hours {
		if h.Start.In(ny).Hour() == 1 {
			want += h.Production
		}
	}
	for _, h := range res.Hours {
		if h.Role == "production" && h.Hour == 1 {
			if h.Requests != want || h.PeakHours != 1 {
				t.Errorf("hour of day 01: %d requests, %d peak hours; want %d requests (both 01:00 hours), 1 peak hour", h.Requests, h.PeakHours, want)
			}
		}
	}
	if !hasFinding(res, "peak_hours", "In 1 clock hours (hours of day 01, America/New_York") {
		t.Errorf("peak finding: %q", findingsOf(res, "peak_hours"))
	}
}

// TestHiddenErrorsCounted: custom error responses that answer with 200
// are counted per window and role, and their paths stay error paths.
func TestHiddenErrorsCounted(t *testing.T) {
	t.Parallel()
	sc := loggen.HiddenErrorsScenario(0.25)
	res, truth := analyzeScenario(t, sc, time.UTC)
	want := map[[2]int]int64{}
	for _, c := range truth.Cells {
		role := 0
		if c.Role == "staging" {
			role = 1
		}
		want[[2]int{c.Window + 1, role}] += c.CustomErrorResponses
	}
	var total int64
	for _, c := range res.Cells {
		role := 0
		if c.Role == "staging" {
			role = 1
		}
		if c.HiddenErrors != want[[2]int{c.Window, role}] {
			t.Errorf("window %d %s: %d hidden errors, generated %d", c.Window, c.Role, c.HiddenErrors, want[[2]int{c.Window, role}])
		}
		total += c.HiddenErrors
	}
	if total == 0 {
		t.Fatal("scenario without hidden errors")
	}
	if res.ErrorPaths.Error != int64(len(sc.ErrorPaths)) {
		t.Errorf("%d error paths, want %d: a 200 logged as an Error result made a path good", res.ErrorPaths.Error, len(sc.ErrorPaths))
	}
	if !hasFinding(res, "hidden_errors", "") {
		t.Errorf("no hidden errors finding")
	}
}

// TestStickyWarns: with sticky sessions the intervals are too narrow,
// and the analysis says so.
func TestStickyWarns(t *testing.T) {
	t.Parallel()
	res, _ := analyzeScenario(t, loggen.StickyScenario(0.1), time.UTC)
	found := false
	for _, w := range res.Warnings {
		found = found || strings.Contains(w, "sticky sessions") && strings.Contains(w, "too narrow")
	}
	if !found {
		t.Errorf("no sticky-session warning: %q", res.Warnings)
	}
}
