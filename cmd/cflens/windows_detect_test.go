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
