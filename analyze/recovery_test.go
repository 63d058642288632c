package analyze_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dirsource"
	"github.com/cflens/cflens/ingest/loggen"
)

// TestRecoversScenario generates the motivating scenario (weighted 15%
// policy, four custom-error windows, daily peak hours without staging
// traffic, good and error paths) as .gz logs, runs the ingest pipeline
// into the aggregator, and checks that the analysis recovers what was
// generated: each chosen 500 rate inside its 95% interval, the exact
// counts, the peak hours, and the 500s on error paths only.
func TestRecoversScenario(t *testing.T) {
	ctx := context.Background()
	sc := loggen.DefaultScenario(0.5)
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
	opts.From, opts.To = sc.Start, sc.End()
	agg, err := analyze.NewAggregator(opts)
	if err != nil {
		t.Fatal(err)
	}
	src, err := dirsource.New(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	iopts := ingest.DefaultOptions()
	iopts.From, iopts.To = opts.From, opts.To
	iopts.Allocator = mem
	sum, err := ingest.Run(ctx, iopts, []ingest.Source{src}, agg)
	if err != nil {
		t.Fatal(err)
	}
	res := agg.Result()
	res.AddIngest(sum)

	if res.Input.Analyzed != truth.Records || sum.RejectedLines != 0 {
		t.Fatalf("analysed %d rows (%d rejected), generated %d", res.Input.Analyzed, sum.RejectedLines, truth.Records)
	}
	if len(res.Windows) != len(sc.Windows) {
		t.Fatalf("%d windows, want %d", len(res.Windows), len(sc.Windows))
	}

	// Each window × role × peak cell: exact counts and the chosen rate
	// inside the 95% interval.
	got := map[[3]int]analyze.RateGroup{}
	for _, g := range res.PeakHours.ByWindow {
		role := 0
		if g.Role == "staging" {
			role = 1
		}
		peak := 0
		if g.Peak {
			peak = 1
		}
		got[[3]int{g.Window, role, peak}] = g.RateGroup
	}
	for _, c := range truth.Cells {
		if c.Requests == 0 {
			continue
		}
		role, peak := 0, 0
		if c.Role == "staging" {
			role = 1
		}
		if c.Peak {
			peak = 1
		}
		g := got[[3]int{c.Window + 1, role, peak}]
		name := c.Role + " window " + string(rune('1'+c.Window))
		if c.Peak {
			name += " peak"
		}
		if g.Requests != c.Requests || g.ErrorPathRequests != c.ErrorPath || g.ErrorPath500 != c.Status500 {
			t.Errorf("%s: requests %d, error-path %d, 500 %d; generated %d, %d, %d", name,
				g.Requests, g.ErrorPathRequests, g.ErrorPath500, c.Requests, c.ErrorPath, c.Status500)
		}
		if c.P500 < g.Rate500CI95[0] || c.P500 > g.Rate500CI95[1] {
			t.Errorf("%s: chosen rate %.3f outside the interval %.3f–%.3f (estimate %.3f of %d)", name,
				c.P500, g.Rate500CI95[0], g.Rate500CI95[1], g.Rate500, g.ErrorPathRequests)
		}
	}

	// The peak hours are found, and only they.
	found := map[time.Time]bool{}
	for _, p := range res.PeakHours.Hours {
		found[p.From] = true
	}
	for _, h := range truth.PeakHours {
		if !found[h] {
			t.Errorf("peak hour %s not found", h.Format(time.RFC3339))
		}
		delete(found, h)
	}
	for h := range found {
		t.Errorf("hour %s detected as a peak hour, but was not one", h.Format(time.RFC3339))
	}
	for _, h := range res.Hours {
		if wantPeak := h.Hour >= 18 && h.Hour < 21; wantPeak != (h.PeakHours > 0) {
			t.Errorf("hour of day %d: %d peak hours", h.Hour, h.PeakHours)
		}
	}

	// The 500s are on error paths, and the error paths are the
	// scenario's.
	errorPaths := map[string]bool{}
	for _, p := range sc.ErrorPaths {
		errorPaths[p.Path] = true
	}
	if res.ErrorPaths.Error != int64(len(errorPaths)) {
		t.Errorf("%d error paths found, want %d", res.ErrorPaths.Error, len(errorPaths))
	}
	for _, p := range res.ErrorPaths.Top {
		if !errorPaths[p.Stem] {
			t.Errorf("%s classified as an error path", p.Stem)
		}
	}
	var all500, good500 int64
	for _, c := range res.Cells {
		all500 += c.Status500
		good500 += c.GoodPath500
	}
	if all500 == 0 || good500 != 0 || res.ErrorPaths.Status500 != all500 {
		t.Errorf("500s: %d, on good paths %d, on error paths %d; want all on error paths", all500, good500, res.ErrorPaths.Status500)
	}
	// The findings say it in words, most telling first: the pattern of
	// the matrix, then where and when.
	want := []struct{ kind, prefix string }{
		{"custom_errors", "500s appeared in every configuration with custom error responses on at least one distribution"},
		{"pattern", "production's error-path requests got 500 only while staging had custom error responses on (the other distribution's setting)"},
		{"pattern", "staging's error-path requests got 500 only while production had custom error responses on (the other distribution's setting)"},
	}
	for i, w := range want {
		if i >= len(res.Findings) || res.Findings[i].Kind != w.kind || !strings.HasPrefix(res.Findings[i].Statement, w.prefix) || res.Findings[i].Rank != i+1 {
			t.Errorf("finding %d = %+v, want %s: %q…", i+1, res.Findings[min(i, len(res.Findings)-1)], w.kind, w.prefix)
		}
	}
	for _, kind := range []struct{ kind, prefix string }{
		{"paths", "500s occur only on error paths"},
		{"peak_hours", "In 15 clock hours (hours of day 18, 19, 20, UTC; 2025-09-10 18:00Z to 2025-09-14 21:00Z) the policy was enabled but staging got 0.0% of the requests"},
	} {
		if !slices.ContainsFunc(res.Findings, func(f analyze.Finding) bool {
			return f.Kind == kind.kind && strings.HasPrefix(f.Statement, kind.prefix)
		}) {
			t.Errorf("no %s finding %q…", kind.kind, kind.prefix)
		}
	}
	for _, f := range res.Findings[:min(4, len(res.Findings))] {
		t.Log(f.Rank, f.Statement)
	}
}
