package analyze_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dirsource"
	"github.com/cflens/cflens/ingest/loggen"
)

// readInto reads the .gz logs of dir into a new aggregator of opts.
func readInto(t *testing.T, dir string, opts analyze.Options) *analyze.Aggregator {
	t.Helper()
	agg, err := analyze.NewAggregator(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agg.Release() })
	src, err := dirsource.New(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	iopts := ingest.DefaultOptions()
	iopts.From, iopts.To = opts.From, opts.To
	if _, err := ingest.Run(context.Background(), iopts, []ingest.Source{src}, agg); err != nil {
		t.Fatal(err)
	}
	return agg
}

// writeScenario writes a scenario's logs to a new folder and returns it,
// with the scenario's timeline and the options of an analysis of its
// distributions without a timeline.
func writeScenario(t *testing.T, sc *loggen.Scenario) (dir string, tl *analyze.Timeline, opts analyze.Options) {
	t.Helper()
	dir = t.TempDir()
	if _, err := loggen.WriteDir(context.Background(), sc, dir); err != nil {
		t.Fatal(err)
	}
	tl, err := analyze.ParseTimeline(sc.TimelineYAML(), "timeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	opts = analyze.DefaultOptions()
	opts.Production, opts.Staging = tl.Distributions.Production, tl.Distributions.Staging
	return dir, tl, opts
}

func resultJSON(t *testing.T, res *analyze.Result) string {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestResultForMatchesSecondReading counts the rows of a scenario with
// changes once, without a timeline, then cuts them into other windows:
// the detected ones, the scenario's own and one cut in the middle of an
// hour. Each result equals, byte for byte in JSON, what a second reading
// of the rows under those windows gives, with paths classified by
// their statuses (in memory and spilled) or by a regular expression.
func TestResultForMatchesSecondReading(t *testing.T) {
	t.Parallel()
	sc := loggen.DefaultScenario(0.3)
	dir, truth, base := writeScenario(t, sc)
	for _, mode := range []struct {
		name string
		set  func(*analyze.Options)
	}{
		{"by status", func(*analyze.Options) {}},
		{"by status, spilled", func(o *analyze.Options) { o.MemoryBudget = 16 << 10 }},
		{"by regex", func(o *analyze.Options) {
			o.ErrorPath = regexp.MustCompile(`^/(products/discontinued|blog/2019/|old-page|images/missing)`)
		}},
		{"one range, in Paris", func(o *analyze.Options) {
			o.From, o.To = sc.Start.Add(90*time.Minute), sc.End().Add(-2*time.Hour)
			o.Location, _ = time.LoadLocation("Europe/Paris")
		}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			opts := base
			mode.set(&opts)
			bucketed := opts
			bucketed.BucketCells = true
			once := readInto(t, dir, bucketed)

			// Keeping the cells by bucket changes nothing of the result.
			first := once.Result()
			if got, want := resultJSON(t, first), resultJSON(t, readInto(t, dir, opts).Result()); got != want {
				t.Fatalf("result with cells by bucket differs:\n got %s\nwant %s", got, want)
			}
			d, err := analyze.Detect(first, analyze.DefaultDetectOptions())
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Changes) == 0 {
				t.Fatal("no change detected in a scenario with changes")
			}
			mid := sc.Start.Add(5*time.Hour + 35*time.Minute)
			cut := &analyze.Timeline{Changes: []analyze.Change{{At: mid, Detected: true}}}
			for _, tc := range []struct {
				name string
				tl   *analyze.Timeline
			}{
				{"detected", d.Timeline(analyze.Distributions{})},
				{"the scenario's", truth},
				{"cut at 05:35", cut},
			} {
				got, err := once.ResultFor(tc.tl)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				second := opts
				second.Timeline = tc.tl
				want := readInto(t, dir, second).Result()
				if len(want.Cells) < 2 {
					t.Fatalf("%s: %d cells; the test needs windows", tc.name, len(want.Cells))
				}
				if g, w := resultJSON(t, got), resultJSON(t, want); g != w {
					t.Errorf("%s: cut result differs from a second reading:\n got %s\nwant %s", tc.name, g, w)
				}
			}
		})
	}
}

// TestResultForRefuses: windows that split a bucket, settle margins, or
// cells not kept by bucket need a second reading, and say so.
func TestResultForRefuses(t *testing.T) {
	t.Parallel()
	sc := loggen.DefaultScenario(0.05)
	dir, _, opts := writeScenario(t, sc)
	split := &analyze.Timeline{Changes: []analyze.Change{{At: sc.Start.Add(2*time.Hour + 150*time.Second), Detected: true}}}
	aligned := &analyze.Timeline{Changes: []analyze.Change{{At: sc.Start.Add(2 * time.Hour), Detected: true}}}

	bucketed := opts
	bucketed.BucketCells = true
	if _, err := readInto(t, dir, bucketed).ResultFor(split); !errors.Is(err, analyze.ErrRecut) {
		t.Errorf("a window splitting a bucket: err = %v, want ErrRecut", err)
	}
	if _, err := readInto(t, dir, opts).ResultFor(aligned); !errors.Is(err, analyze.ErrRecut) {
		t.Errorf("cells not kept by bucket: err = %v, want ErrRecut", err)
	}
	settled := bucketed
	settled.Settle = 10 * time.Minute
	if _, err := readInto(t, dir, settled).ResultFor(aligned); !errors.Is(err, analyze.ErrRecut) {
		t.Errorf("settle margins: err = %v, want ErrRecut", err)
	}
}
