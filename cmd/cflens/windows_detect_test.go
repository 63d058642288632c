package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/ingest/loggen"
)

func runDetectCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errw bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errw)
	err = root.ExecuteContext(context.Background())
	return out.String(), errw.String(), err
}

// detectScenario writes four days of the motivating case through the
// generator: custom errors off, on production, on staging, on both;
// the policy weight cut from 15% to 5% at noon on the last day; peaks
// 18:00–21:00 UTC every day, in which production gets no 500s.
func detectScenario(t *testing.T) (logs, timeline string, sc *loggen.Scenario) {
	t.Helper()
	sc = loggen.DefaultScenario(1.5)
	sc.Hours = 4 * 24
	sc.Peaks = sc.Peaks[:4]
	w := 0.05
	last := sc.Windows[3]
	last.Start = last.Start.Add(12 * time.Hour)
	last.Weight = &w
	sc.Windows = append(sc.Windows, last)
	dir := t.TempDir()
	logs = filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := loggen.WriteDir(context.Background(), sc, logs); err != nil {
		t.Fatal(err)
	}
	timeline = filepath.Join(dir, "timeline.yaml")
	if err := os.WriteFile(timeline, sc.TimelineYAML(), 0o644); err != nil {
		t.Fatal(err)
	}
	return logs, timeline, sc
}

// TestDetectWindowsEndToEnd runs the generator's logs through 'windows
// detect' and 'analyze': every configuration change is found within two
// buckets, its interval holds it, no other change is reported, the peaks
// are recognised, the output reads back as a timeline, and an analysis
// without a timeline uses the detected windows and says so.
func TestDetectWindowsEndToEnd(t *testing.T) {
	logs, timeline, sc := detectScenario(t)
	ids := []string{"--production", sc.Distributions.Production.ID, "--staging", sc.Distributions.Staging.ID}
	stdout, stderr, err := runDetectCmd(t, append([]string{"windows", "detect", logs, "--compare-detected", "--timeline", timeline}, ids...)...)
	if err != nil {
		t.Fatalf("windows detect: %v\nstderr:\n%s", err, stderr)
	}
	t.Logf("proposed timeline:\n%s", stdout)
	tl, err := analyze.ReadTimeline(strings.NewReader(stdout), "detected.yaml")
	if err != nil {
		t.Fatalf("the output does not read back as a timeline: %v\n%s", err, stdout)
	}
	truth := []time.Time{sc.Windows[1].Start, sc.Windows[2].Start, sc.Windows[3].Start, sc.Windows[4].Start}
	const bucket = 5 * time.Minute
	var got []time.Time
	for _, c := range tl.Changes {
		if !c.Detected || c.CustomErrorResponses != nil || c.ContinuousDeployment != nil {
			t.Errorf("change at %s: want detected and no setting, got %+v", c.At, c)
		}
		got = append(got, c.At)
	}
	if len(got) != len(truth) {
		t.Fatalf("detected %v, want changes at %v\n%s", got, truth, stdout)
	}
	for i := range truth {
		if d := got[i].Sub(truth[i]).Abs(); d > 2*bucket {
			t.Errorf("change %d detected at %s, %s from the true %s", i, got[i], d, truth[i])
		}
	}
	if n := strings.Count(stdout, "(recurring daily)"); n != 4 {
		t.Errorf("%d recurring peaks described, want 4\n%s", n, stdout)
	}
	if !strings.Contains(stdout, "policy") || !strings.Contains(stdout, "staging share 15.") {
		t.Errorf("the weight change is not described as a staging-share change\n%s", stdout)
	}
	if strings.Contains(stdout, "no recorded change explains") || strings.Contains(stdout, "not detected") {
		t.Errorf("the comparison with the recorded timeline does not match every change\n%s", stdout)
	}

	// The proposed timeline drives an analysis.
	file := filepath.Join(t.TempDir(), "detected.yaml")
	if err := os.WriteFile(file, []byte(stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--timeline", file}, nil} {
		stdout, stderr, err := runDetectCmd(t, append(append([]string{"analyze", logs, "--format", "json"}, ids...), args...)...)
		if err != nil {
			t.Fatalf("analyze %v: %v\nstderr:\n%s", args, err, stderr)
		}
		var res analyze.Result
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Windows) != len(truth)+1 {
			t.Fatalf("analyze %v: %d windows, want %d", args, len(res.Windows), len(truth)+1)
		}
		for _, w := range res.Windows {
			st := w.State
			if st.Production.CustomErrorResponses != nil || st.Staging.CustomErrorResponses != nil || st.ContinuousDeployment.Enabled != nil {
				t.Errorf("analyze %v: window %d has a known state %+v", args, w.ID, st)
			}
			if w.ID > 1 && !w.Detected {
				t.Errorf("analyze %v: window %d not marked detected", args, w.ID)
			}
		}
		wantSource := "timeline"
		if args == nil {
			wantSource = "detected"
			if !res.Windows[0].Detected {
				t.Error("analyze without a timeline: window 1 not marked detected")
			}
			said := false
			for _, w := range res.Warnings {
				said = said || strings.Contains(w, "detected in the logs")
			}
			if !said {
				t.Errorf("analyze without a timeline does not say its windows were detected: %q", res.Warnings)
			}
		}
		if res.WindowsSource != wantSource {
			t.Errorf("analyze %v: windows_source %q, want %q", args, res.WindowsSource, wantSource)
		}
	}
	// The text report says so too.
	text, stderr, err := runDetectCmd(t, append([]string{"analyze", logs}, ids...)...)
	if err != nil {
		t.Fatalf("analyze: %v\nstderr:\n%s", err, stderr)
	}
	if !strings.Contains(text, "detected in the logs") || !strings.Contains(text, "detected window: custom errors prod ?") {
		t.Errorf("the text report does not say the windows were detected:\n%s", text)
	}
}

func TestDetectUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"compare without timeline", []string{"windows", "detect", "x", "--compare-detected"}},
		{"timeline without compare", []string{"windows", "detect", "x", "--timeline", "t.yaml"}},
		{"negative penalty", []string{"windows", "detect", "x", "--penalty", "-1"}},
		{"analyze compare without timeline", []string{"analyze", "x", "--compare-detected"}},
		{"negative tolerance", []string{"analyze", "x", "--timeline", "t.yaml", "--compare-detected", "--compare-tolerance", "-1m"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runDetectCmd(t, tc.args...)
			var uerr *usage.Error
			if !errors.As(err, &uerr) {
				t.Errorf("err = %v, want a usage error", err)
			}
		})
	}
}

// TestAnalyzeCompareDetected runs 'analyze --compare-detected' on the
// generator's logs: with the true timeline every recorded change is
// explained by a detected one within two buckets and nothing detected is
// left unexplained; with one change recorded two hours late, that record
// is not explained and the true change is reported as unexplained. Every
// report format shows the comparison.
func TestAnalyzeCompareDetected(t *testing.T) {
	logs, timeline, sc := detectScenario(t)
	ids := []string{"--production", sc.Distributions.Production.ID, "--staging", sc.Distributions.Staging.ID}
	analyzeJSON := func(t *testing.T, timeline string) analyze.Result {
		t.Helper()
		stdout, stderr, err := runDetectCmd(t, append([]string{"analyze", logs, "--format", "json", "--timeline", timeline, "--compare-detected"}, ids...)...)
		if err != nil {
			t.Fatalf("analyze: %v\nstderr:\n%s", err, stderr)
		}
		var res analyze.Result
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatal(err)
		}
		if res.CompareDetected == nil {
			t.Fatal("no compare_detected in the JSON")
		}
		return res
	}
	const bucket = 5 * time.Minute

	res := analyzeJSON(t, timeline)
	c := res.CompareDetected
	if len(c.Recorded) != len(sc.Windows)-1 {
		t.Fatalf("%d recorded changes compared, want %d", len(c.Recorded), len(sc.Windows)-1)
	}
	for i, m := range c.Recorded {
		if !m.At.Equal(sc.Windows[i+1].Start) {
			t.Errorf("recorded change %d at %s, want %s", i, m.At, sc.Windows[i+1].Start)
		}
		if !m.Matched || m.Nearest == nil || m.LagSeconds == nil {
			t.Errorf("recorded change at %s not explained: %+v", m.At, m)
			continue
		}
		if lag := time.Duration(*m.LagSeconds * float64(time.Second)); lag.Abs() > 2*bucket || !m.Nearest.At.Equal(m.At.Add(lag)) {
			t.Errorf("recorded change at %s: nearest detected %s, lag %s", m.At, m.Nearest.At, lag)
		}
	}
	if len(c.Unexplained) != 0 {
		t.Errorf("unexplained detected changes with the true timeline: %+v", c.Unexplained)
	}

	// The second change recorded two hours late.
	late := *sc
	late.Windows = append([]loggen.Window(nil), sc.Windows...)
	late.Windows[2].Start = late.Windows[2].Start.Add(2 * time.Hour)
	lateFile := filepath.Join(t.TempDir(), "late.yaml")
	if err := os.WriteFile(lateFile, late.TimelineYAML(), 0o644); err != nil {
		t.Fatal(err)
	}
	c = analyzeJSON(t, lateFile).CompareDetected
	if len(c.Recorded) != len(sc.Windows)-1 {
		t.Fatalf("%d recorded changes compared, want %d", len(c.Recorded), len(sc.Windows)-1)
	}
	for i, m := range c.Recorded {
		if m.Matched == (i == 1) {
			t.Errorf("recorded change %d at %s: matched %v", i, m.At, m.Matched)
		}
	}
	if m := c.Recorded[1]; m.LagSeconds == nil || time.Duration(*m.LagSeconds*float64(time.Second)) > -2*time.Hour+2*bucket {
		t.Errorf("the late record's lag is %v, want about -2h", m.LagSeconds)
	}
	if len(c.Unexplained) != 1 || c.Unexplained[0].At.Sub(sc.Windows[2].Start).Abs() > 2*bucket {
		t.Errorf("want the true change at %s unexplained, got %+v", sc.Windows[2].Start, c.Unexplained)
	}

	// Every format shows it.
	dir := t.TempDir()
	for _, f := range []string{"text", "markdown", "html", "csv"} {
		out := filepath.Join(dir, f)
		if _, stderr, err := runDetectCmd(t, append([]string{"analyze", logs, "--format", f, "--out", out, "--timeline", lateFile, "--compare-detected"}, ids...)...); err != nil {
			t.Fatalf("analyze --format %s: %v\n%s", f, err, stderr)
		}
		if f == "csv" {
			out = filepath.Join(out, "compare_detected.csv")
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		want := "unexplained"
		if !bytes.Contains(b, []byte(want)) || !bytes.Contains(b, []byte(sc.Windows[2].Start.Format("2006-01-02"))) {
			t.Errorf("the %s report does not show the comparison", f)
		}
	}
}

// scenarioAnalysis returns the options of an analysis, without a
// timeline, of a scenario's logs written to the folder logs.
func scenarioAnalysis(sc *loggen.Scenario, logs string) *analyzeOptions {
	o := &analyzeOptions{}
	o.src.sources = []string{logs}
	o.src.production = []string{sc.Distributions.Production.ID}
	o.src.staging = []string{sc.Distributions.Staging.ID}
	o.timezone, o.bucket, o.maxRejectRate = "UTC", 5*time.Minute, 0.001
	return o
}

// TestAnalyzeNoChangeOnePass checks that an analysis without a timeline
// that detects no change keeps its first pass, and that it equals the
// analysis with the (empty) detected timeline it skipped.
func TestAnalyzeNoChangeOnePass(t *testing.T) {
	sc := loggen.DefaultScenario(1)
	sc.Hours = 24
	sc.Windows = sc.Windows[:1]
	sc.Peaks = nil
	logs := t.TempDir()
	if _, err := loggen.WriteDir(context.Background(), sc, logs); err != nil {
		t.Fatal(err)
	}
	o := scenarioAnalysis(sc, logs)
	var stderr bytes.Buffer
	got, err := analyzeResult(context.Background(), o, &stderr)
	if err != nil {
		t.Fatalf("analyze: %v\n%s", err, stderr.String())
	}
	if got.WindowsSource != "detected" || len(got.Windows) != 1 {
		t.Fatalf("windows_source %q, %d windows: want detected, 1", got.WindowsSource, len(got.Windows))
	}
	first, err := analyzeOnce(context.Background(), o, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	d, err := detectWindows(first, 0)
	if err != nil || len(d.Changes) != 0 {
		t.Fatalf("detection: %v, %d changes, want none", err, len(d.Changes))
	}
	second := *o
	second.detected = d.Timeline(analyze.Distributions{})
	want, err := analyzeOnce(context.Background(), &second, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	analyze.MarkDetected(want, d)
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if !bytes.Equal(gj, wj) {
		t.Errorf("the kept first pass differs from the second pass it skipped:\n got %s\nwant %s", gj, wj)
	}
}

// TestAnalyzeDetectedOnePass checks that an analysis without a timeline
// that detects changes cuts the rows of its first pass into the
// detected windows, without reading the input again, and that the result
// equals that of a second pass. With settle margins it reads the input
// again, and says so.
func TestAnalyzeDetectedOnePass(t *testing.T) {
	sc := loggen.DefaultScenario(0.3)
	logs := t.TempDir()
	if _, err := loggen.WriteDir(context.Background(), sc, logs); err != nil {
		t.Fatal(err)
	}
	for _, settle := range []time.Duration{0, 10 * time.Minute} {
		t.Run(fmt.Sprintf("settle %s", settle), func(t *testing.T) {
			o := scenarioAnalysis(sc, logs)
			o.verbose, o.settle = true, settle
			var stderr bytes.Buffer
			got, err := analyzeResult(context.Background(), o, &stderr)
			if err != nil {
				t.Fatalf("analyze: %v\n%s", err, stderr.String())
			}
			if got.WindowsSource != "detected" || len(got.Windows) < 2 {
				t.Fatalf("windows_source %q, %d windows: want detected, several", got.WindowsSource, len(got.Windows))
			}
			again := strings.Contains(stderr.String(), "reading the input again")
			if again != (settle > 0) {
				t.Errorf("read the input again: %v, want %v; log:\n%s", again, settle > 0, stderr.String())
			}
			two := *o
			two.twoPasses = true
			want, err := analyzeResult(context.Background(), &two, &stderr)
			if err != nil {
				t.Fatal(err)
			}
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want)
			if !bytes.Equal(gj, wj) {
				t.Errorf("one pass differs from two:\n got %s\nwant %s", gj, wj)
			}
		})
	}
}
