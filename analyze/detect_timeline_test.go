package analyze

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDetectedTimeline checks the timeline form of detected changes: a
// detected change sets nothing yet cuts a window (state unknown, marked
// detected), even next to recorded changes; a bad value is refused.
func TestDetectedTimeline(t *testing.T) {
	const doc = `changes:
  - at: 2025-09-10T08:00:00Z
    role: production
    custom_error_responses: true
  - at: 2025-09-10T10:00:00Z
    detected: true
    note: 'detected: production 500 share 0.0% → 15.0%'
  - at: 2025-09-10T12:00:00Z
    role: staging
    detected: yes
`
	tl, err := ParseTimeline([]byte(doc), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := func(n int) time.Time { return time.Date(2025, 9, 10, n, 0, 0, 0, time.UTC) }
	ws, err := Windows(tl, h(0), h(24), 0)
	if err != nil {
		t.Fatal(err)
	}
	type win struct {
		From     time.Time
		Detected bool
		Label    string
	}
	var got []win
	for _, w := range ws {
		got = append(got, win{w.From, w.Detected, w.Label})
	}
	want := []win{
		{h(0), false, "custom errors prod ?, staging ?; policy ?"},
		{h(8), false, "custom errors prod on, staging ?; policy ?"},
		{h(10), true, "detected window: custom errors prod on, staging ?; policy ?"},
		{h(12), true, "detected window: custom errors prod on, staging ?; policy ?"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("windows (-want +got):\n%s", d)
	}
	if _, err := ParseTimeline([]byte("changes:\n  - at: 2025-09-10T08:00:00Z\n    detected: maybe\n"), "t.yaml"); err == nil || !strings.Contains(err.Error(), "t.yaml:3") {
		t.Errorf("err = %v, want one at t.yaml:3", err)
	}
	if _, err := ParseTimeline([]byte("changes:\n  - at: 2025-09-10T08:00:00Z\n    detected: false\n"), "t.yaml"); err == nil {
		t.Error("a change neither detected nor setting anything was accepted")
	}
}

// TestDetectionYAMLRoundTrip writes the detection of a simulated week
// and reads it back: ReadTimeline takes it, with the same changes, and
// the comments carry rates and intervals.
func TestDetectionYAMLRoundTrip(t *testing.T) {
	sc, _ := changingScenario()
	d, err := Detect(sc.result(3), DefaultDetectOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Changes) < 5 {
		t.Fatalf("only %d changes detected in the changing week", len(d.Changes))
	}
	dists := Distributions{Production: "E1EXAMPLE", Staging: "E2EXAMPLE"}
	var buf bytes.Buffer
	if err := d.WriteYAML(&buf, dists, []string{"a head line"}); err != nil {
		t.Fatal(err)
	}
	tl, err := ReadTimeline(bytes.NewReader(buf.Bytes()), "detected.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	want := d.Timeline(dists)
	for i := range tl.Changes {
		tl.Changes[i].Line = 0
	}
	if diff := cmp.Diff(want, tl); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	out := buf.String()
	for _, s := range []string{"# a head line", "95% interval", "before 0.0% [0.0%,", "peak hours", "(recurring daily)", "staging share 15."} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

// TestCompareDetected checks the comparison of recorded and detected
// changes: lags, a recorded change not found, a detected change not
// recorded.
func TestCompareDetected(t *testing.T) {
	h := func(hh, mm int) time.Time { return time.Date(2025, 9, 10, hh, mm, 0, 0, time.UTC) }
	res := &Result{Windows: []Window{{From: h(0, 0), Label: "a"}, {From: h(8, 0), Label: "b"}, {From: h(12, 0), Label: "c"}}}
	eff := func(at time.Time) Effect {
		return Effect{Series: SeriesStagingShare, At: at, Low: at.Add(-5 * time.Minute), High: at}
	}
	d := &Detection{Changes: []DetectedChange{
		{At: h(8, 10), Low: h(8, 5), High: h(8, 10), Effects: []Effect{eff(h(8, 10))}},
		{At: h(16, 0), Low: h(15, 55), High: h(16, 0), Effects: []Effect{eff(h(16, 0))}},
	}}
	c := CompareDetected(res, d, 30*time.Minute)
	if len(c.Recorded) != 2 || !c.Recorded[0].Matched || c.Recorded[0].Lag != 10*time.Minute || c.Recorded[1].Matched {
		t.Errorf("recorded matches: %+v", c.Recorded)
	}
	if len(c.Unexplained) != 1 || !c.Unexplained[0].At.Equal(h(16, 0)) {
		t.Errorf("unexplained: %+v", c.Unexplained)
	}
	text := strings.Join(c.Lines(), "\n")
	for _, s := range []string{"recorded 2025-09-10T08:00:00Z (a → b): detected 2025-09-10T08:10:00Z, lag +10m0s", "recorded 2025-09-10T12:00:00Z (b → c): not detected", "detected 2025-09-10T16:00:00Z (staging share 0.0% → 0.0%): no recorded change explains it"} {
		if !strings.Contains(text, s) {
			t.Errorf("comparison lacks %q:\n%s", s, text)
		}
	}
}
